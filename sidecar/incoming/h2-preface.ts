/**
 * The start of a client's HTTP/2 connection, and frames put in after it. Two HTTP/2 servers here
 * see a client's bytes with something of their own added where it belongs: after an h2c
 * `Upgrade` (h2c-upgrade.ts) the upgraded request as stream 1, and a mirrored connection's copy
 * (filtered-mirror.ts) the acknowledgement of its own SETTINGS, which the client, answering the
 * app, never sends, and without the acknowledgements the client sends the app. Both go after
 * the client's preface, where the first frame may come.
 */

/** The client connection preface's fixed part (RFC 9113, section 3.4). */
export const CLIENT_MAGIC = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADER = 9;
const SETTINGS = 0x4;
const PING = 0x6;

/** An HTTP/2 frame: its 9-byte header and `payload`. */
export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(FRAME_HEADER);
  header.writeUIntBE(payload.length, 0, 3);
  header.writeUInt8(type, 3);
  header.writeUInt8(flags, 4);
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

/** An empty SETTINGS frame with the ACK flag: a peer's acknowledgement of the SETTINGS sent to it. */
export const SETTINGS_ACK = frame(SETTINGS, 0x1, 0);

/**
 * A function each chunk a client sends is passed through, in order, walking its frames: after
 * the preface (the magic and the first frame, a SETTINGS) it puts `insert`; with `dropAcks`, it
 * leaves out the client's SETTINGS and PING acknowledgements, which answer frames of the app's
 * that a server seeing a copy never sent (and would take as a protocol error). Bytes that don't
 * start with the preface go on unchanged (the HTTP/2 server refuses them).
 */
export function clientFrames({ insert, dropAcks = false }: { insert: Buffer; dropAcks?: boolean }): (chunk: Buffer) => Buffer {
  /** Bytes of the magic, or of a frame header, not yet whole. */
  let held: Buffer = Buffer.alloc(0);
  let state: 'magic' | 'header' | 'payload' | 'skip' | 'raw' = 'magic';
  /** Payload bytes of the current frame still to pass on (or skip). */
  let remaining = 0;
  /** Whether the current frame is the first SETTINGS, after which `insert` goes. */
  let insertAfter = false;
  let inserted = false;
  return (chunk) => {
    const out: Buffer[] = [];
    let bytes: Buffer = held.length ? Buffer.concat([held, chunk]) : chunk;
    held = Buffer.alloc(0);
    while (bytes.length) {
      if (state === 'raw') {
        out.push(bytes);
        break;
      }
      if (state === 'magic') {
        const magic = Math.min(bytes.length, CLIENT_MAGIC.length);
        if (!bytes.subarray(0, magic).equals(CLIENT_MAGIC.subarray(0, magic))) {
          state = 'raw';
          continue;
        }
        if (bytes.length < CLIENT_MAGIC.length) {
          held = bytes;
          break;
        }
        out.push(CLIENT_MAGIC);
        bytes = bytes.subarray(CLIENT_MAGIC.length);
        state = 'header';
      } else if (state === 'header') {
        if (bytes.length < FRAME_HEADER) {
          held = bytes;
          break;
        }
        remaining = bytes.readUIntBE(0, 3);
        const type = bytes[3]!;
        const ack = (bytes[4]! & 0x1) !== 0;
        insertAfter = !inserted && type === SETTINGS && !ack;
        if (!inserted && !insertAfter) {
          // The preface's frame must be a SETTINGS: past anything else, nothing is changed.
          out.push(bytes);
          state = 'raw';
          break;
        }
        const dropped = dropAcks && ack && (type === SETTINGS || type === PING);
        if (!dropped) out.push(bytes.subarray(0, FRAME_HEADER));
        bytes = bytes.subarray(FRAME_HEADER);
        state = dropped ? 'skip' : 'payload';
      } else {
        const take = Math.min(remaining, bytes.length);
        if (state === 'payload') out.push(bytes.subarray(0, take));
        bytes = bytes.subarray(take);
        remaining -= take;
      }
      if ((state === 'payload' || state === 'skip') && remaining === 0) {
        if (insertAfter) {
          out.push(insert);
          inserted = true;
          insertAfter = false;
        }
        // Without acknowledgements to leave out, the rest goes on as it is.
        state = dropAcks ? 'header' : 'raw';
      }
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  };
}
