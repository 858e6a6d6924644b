/**
 * The binary envelope of every WebSocket message. One WebSocket binary message is exactly
 * one frame; byte 0 is its kind. Integers are big-endian.
 *
 *   CONTROL  0 | u32 jsonLength | JSON envelope | attachment bytes (optional)
 *   DATA     1 | u32 stream     | payload (1 .. MAX_DATA bytes)
 *   END      2 | u32 stream                       (no more data from this side: half-close)
 *   CREDIT   3 | u32 stream     | u32 bytes        (the receiver consumed this many bytes)
 *   RESET    4 | u32 stream     | UTF-8 reason     (the stream is gone, both directions)
 */
import { ProtocolError } from './errors';
import { describeIssues, envelope, type Envelope } from './messages';

export const FrameKind = { Control: 0, Data: 1, End: 2, Credit: 3, Reset: 4 } as const;

/** Largest DATA payload; larger writes are split. */
export const MAX_DATA = 64 * 1024;
/** Largest frame either side accepts (a control message with a 1 MiB file chunk fits). */
export const MAX_FRAME = 2 * 1024 * 1024;
const MAX_REASON = 1024;

export type Frame =
  | { kind: typeof FrameKind.Control; message: Envelope; attachment?: Buffer }
  | { kind: typeof FrameKind.Data; stream: number; payload: Buffer }
  | { kind: typeof FrameKind.End; stream: number }
  | { kind: typeof FrameKind.Credit; stream: number; bytes: number }
  | { kind: typeof FrameKind.Reset; stream: number; reason: string };

/** Room before an attachmentBuffer's bytes for its frame's head and JSON (a reply's JSON is short). */
const HEADROOM = 256;
/** The memory of every attachmentBuffer: the bytes before its HEADROOM offset are the codec's. */
const roomy = new WeakSet<ArrayBufferLike>();
/** Attachments from this size up come from (and go back to) the pool, in power-of-two sizes. */
const POOLED_FROM = 64 * 1024;
/** DATA payloads from this size up are framed in pooled memory (each frame 5 + MAX_DATA bytes). */
const POOLED_DATA_FROM = 16 * 1024;

/**
 * Memory for large attachments and DATA frames, lent out and given back once written
 * (recycleBuffer): a client reading a big file, or a bulk stream, then makes its sender allocate
 * nothing per chunk. Each fresh chunk would be garbage for the collector, and counts as external
 * memory to V8, which answers every few tens of MiB of it with a full collection.
 */
const POOL_BYTES = 4 * 1024 * 1024;
const pool = new Map<number, ArrayBuffer[]>();
const lent = new WeakSet<ArrayBufferLike>();
let pooledBytes = 0;

/** Memory of `byteLength` bytes from the pool, or new, lent until recycleBuffer gives it back. */
function borrow(byteLength: number): ArrayBuffer {
  const reused = pool.get(byteLength)?.pop();
  if (reused) pooledBytes -= byteLength;
  const memory = reused ?? new ArrayBuffer(byteLength);
  lent.add(memory);
  return memory;
}

/** Whether `buffer` lies in memory the pool lent (so recycleBuffer will take it back). */
export function fromPool(buffer: Buffer): boolean {
  return lent.has(buffer.buffer);
}

/**
 * Gives the memory of an attachmentBuffer or a DATA frame (or a slice of one) back for reuse,
 * once nothing refers to its bytes any more: its frame has been written to the transport.
 * Anything else is left alone.
 */
export function recycleBuffer(buffer: Buffer): void {
  const memory = buffer.buffer;
  if (!lent.has(memory) || !(memory instanceof ArrayBuffer) || pooledBytes + memory.byteLength > POOL_BYTES) return;
  const free = pool.get(memory.byteLength) ?? [];
  if (free.includes(memory)) return;
  free.push(memory);
  pool.set(memory.byteLength, free);
  pooledBytes += memory.byteLength;
}

/** Lets go of every buffer the pool keeps (the sidecar gives memory back after a burst). */
export function emptyBufferPool(): void {
  pool.clear();
  pooledBytes = 0;
}

/**
 * A buffer for an attachment still to be filled (a file read), with room before it where
 * encodeControl writes the frame's head and JSON instead of copying the attachment after them.
 * Large ones come from the pool.
 */
export function attachmentBuffer(length: number): Buffer {
  const size = attachmentCapacity(length);
  const memory = size >= POOLED_FROM ? borrow(HEADROOM + size) : new ArrayBuffer(HEADROOM + size);
  roomy.add(memory);
  return Buffer.from(memory, HEADROOM, length);
}

/** The bytes an attachmentBuffer of `length` takes: pooled ones are rounded up to a power of two. */
export function attachmentCapacity(length: number): number {
  return length < POOLED_FROM ? length : 2 ** Math.ceil(Math.log2(length));
}

export function encodeControl(message: Envelope, attachment?: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(message), 'utf8');
  if (attachment?.length && attachment.byteOffset === HEADROOM && roomy.has(attachment.buffer) && 5 + json.length <= HEADROOM) {
    const frame = Buffer.from(attachment.buffer, HEADROOM - 5 - json.length, 5 + json.length + attachment.length);
    frame[0] = FrameKind.Control;
    frame.writeUInt32BE(json.length, 1);
    json.copy(frame, 5);
    return frame;
  }
  const head = Buffer.allocUnsafe(5);
  head[0] = FrameKind.Control;
  head.writeUInt32BE(json.length, 1);
  return attachment?.length ? Buffer.concat([head, json, attachment]) : Buffer.concat([head, json]);
}

/** A DATA frame; a large one in memory from the pool (give it back with recycleBuffer once written). */
export function encodeData(stream: number, payload: Buffer): Buffer {
  const pooled = payload.length >= POOLED_DATA_FROM && payload.length <= MAX_DATA;
  const frame = pooled ? Buffer.from(borrow(5 + MAX_DATA), 0, 5 + payload.length) : Buffer.allocUnsafe(5 + payload.length);
  frame[0] = FrameKind.Data;
  frame.writeUInt32BE(stream, 1);
  payload.copy(frame, 5);
  return frame;
}

export function encodeEnd(stream: number): Buffer {
  const frame = Buffer.allocUnsafe(5);
  frame[0] = FrameKind.End;
  frame.writeUInt32BE(stream, 1);
  return frame;
}

export function encodeCredit(stream: number, bytes: number): Buffer {
  const frame = Buffer.allocUnsafe(9);
  frame[0] = FrameKind.Credit;
  frame.writeUInt32BE(stream, 1);
  frame.writeUInt32BE(bytes, 5);
  return frame;
}

export function encodeReset(stream: number, reason: string): Buffer {
  const text = Buffer.from(reason.slice(0, MAX_REASON), 'utf8');
  const head = Buffer.allocUnsafe(5);
  head[0] = FrameKind.Reset;
  head.writeUInt32BE(stream, 1);
  return Buffer.concat([head, text]);
}

/** Decodes one frame; anything malformed throws a ProtocolError naming the problem. */
export function decodeFrame(buf: Buffer): Frame {
  if (buf.length < 5) throw new ProtocolError(`frame of ${buf.length} bytes is shorter than its 5-byte header`);
  if (buf.length > MAX_FRAME) throw new ProtocolError(`frame of ${buf.length} bytes exceeds the ${MAX_FRAME}-byte limit`);
  const kind = buf[0];
  const word = buf.readUInt32BE(1);
  switch (kind) {
    case FrameKind.Control:
      return decodeControl(buf, word);
    case FrameKind.Data:
      requireStream(word);
      if (buf.length === 5) throw new ProtocolError(`DATA frame for stream ${word} has no payload`);
      if (buf.length - 5 > MAX_DATA) throw new ProtocolError(`DATA frame for stream ${word} exceeds ${MAX_DATA} bytes`);
      return { kind, stream: word, payload: buf.subarray(5) };
    case FrameKind.End:
      requireStream(word);
      if (buf.length !== 5) throw new ProtocolError(`END frame has ${buf.length - 5} trailing bytes`);
      return { kind, stream: word };
    case FrameKind.Credit: {
      requireStream(word);
      if (buf.length !== 9) throw new ProtocolError(`CREDIT frame is ${buf.length} bytes, expected 9`);
      const bytes = buf.readUInt32BE(5);
      if (bytes === 0) throw new ProtocolError('CREDIT frame grants 0 bytes');
      return { kind, stream: word, bytes };
    }
    case FrameKind.Reset:
      requireStream(word);
      if (buf.length - 5 > MAX_REASON * 4) throw new ProtocolError('RESET reason is too long');
      return { kind, stream: word, reason: buf.toString('utf8', 5) };
    default:
      throw new ProtocolError(`unknown frame kind ${kind}`);
  }
}

function requireStream(stream: number): void {
  if (stream === 0) throw new ProtocolError('stream id 0 is reserved');
}

function decodeControl(buf: Buffer, jsonLength: number): Frame {
  if (jsonLength === 0 || 5 + jsonLength > buf.length) {
    throw new ProtocolError(`CONTROL frame declares ${jsonLength} JSON bytes but carries ${buf.length - 5}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.toString('utf8', 5, 5 + jsonLength));
  } catch (err) {
    throw new ProtocolError(`CONTROL frame is not valid JSON: ${(err as Error).message}`);
  }
  const checked = envelope.safeParse(parsed);
  if (!checked.success) throw new ProtocolError(`invalid control message: ${describeIssues(checked.error)}`);
  const attachment = buf.length > 5 + jsonLength ? buf.subarray(5 + jsonLength) : undefined;
  return { kind: FrameKind.Control, message: checked.data, attachment };
}
