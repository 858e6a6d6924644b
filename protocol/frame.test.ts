import { ProtocolError } from './errors';
import {
  attachmentBuffer,
  decodeFrame,
  encodeControl,
  encodeCredit,
  encodeData,
  encodeEnd,
  encodeReset,
  FrameKind,
  MAX_DATA,
  MAX_FRAME,
  recycleBuffer,
} from './frame';
import type { Envelope } from './messages';

function header(kind: number, word: number, rest: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head[0] = kind;
  head.writeUInt32BE(word, 1);
  return Buffer.concat([head, rest]);
}

function controlOf(json: string, attachment: Buffer = Buffer.alloc(0)): Buffer {
  const body = Buffer.from(json, 'utf8');
  return header(FrameKind.Control, body.length, Buffer.concat([body, attachment]));
}

function rejects(buf: Buffer, message: RegExp | string): void {
  let thrown: unknown;
  try {
    decodeFrame(buf);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ProtocolError);
  expect((thrown as Error).message).toMatch(message);
}

describe('frame round trips', () => {
  const envelopes: Envelope[] = [
    { type: 'request', id: 1, method: 'hello', params: { version: '1.0', client: 'test' } },
    { type: 'request', id: 7, method: 'env', params: {} },
    { type: 'reply', id: 7, result: { env: { A: 'b', é: '€' } } },
    { type: 'error', id: 3, code: 'ENOENT', message: 'no such file' },
    { type: 'error', code: 'EVERSION', message: 'protocol 2.0 is not supported' },
    { type: 'event', event: 'notice', data: { level: 'warn', message: 'hi' } },
  ];

  it.each(envelopes.map((message) => [message.type, message]))('CONTROL %s', (_type, message) => {
    const frame = decodeFrame(encodeControl(message));
    expect(frame).toEqual({ kind: FrameKind.Control, message, attachment: undefined });
  });

  it('CONTROL with an attachment keeps the bytes exactly', () => {
    const attachment = Buffer.from([0, 1, 2, 255, 0x7b, 0x7d]);
    const message: Envelope = { type: 'reply', id: 2, result: { bytesRead: 6 } };
    const frame = decodeFrame(encodeControl(message, attachment));
    expect(frame.kind).toBe(FrameKind.Control);
    if (frame.kind !== FrameKind.Control) return;
    expect(frame.message).toEqual(message);
    expect(frame.attachment).toEqual(attachment);
  });

  it('CONTROL around an attachmentBuffer shares its memory, and falls back to a copy when the JSON is too long for the room', () => {
    const attachment = attachmentBuffer(100_000).fill(7).subarray(0, 90_000);
    const short: Envelope = { type: 'reply', id: 9, result: { bytesRead: 90_000 } };
    const frame = encodeControl(short, attachment);
    expect(frame.buffer).toBe(attachment.buffer); // no copy
    expect(decodeFrame(frame)).toEqual({ kind: FrameKind.Control, message: short, attachment });

    const long: Envelope = { type: 'error', id: 9, code: 'EIO', message: 'x'.repeat(300) };
    const copied = encodeControl(long, attachment);
    expect(copied.buffer).not.toBe(attachment.buffer);
    expect(decodeFrame(copied)).toEqual({ kind: FrameKind.Control, message: long, attachment });
    // A plain buffer is always copied: the bytes before it are not the codec's to write.
    const plain = Buffer.alloc(1000, 1).subarray(300);
    expect(encodeControl(short, plain).buffer).not.toBe(plain.buffer);
  });

  it('a recycled large attachmentBuffer is reused, a small one or a foreign buffer is not', () => {
    const first = attachmentBuffer(1 << 20);
    recycleBuffer(first.subarray(0, 10)); // a slice names the same memory
    const second = attachmentBuffer(600_000); // rounded up to the same 1 MiB size
    expect(second.buffer).toBe(first.buffer);
    expect(second.length).toBe(600_000);
    expect(attachmentBuffer(1 << 20).buffer).not.toBe(first.buffer); // taken once only

    const small = attachmentBuffer(4096);
    recycleBuffer(small);
    expect(attachmentBuffer(4096).buffer).not.toBe(small.buffer);
    const foreign = Buffer.alloc(1 << 20);
    recycleBuffer(foreign);
    expect(attachmentBuffer(1 << 20).buffer).not.toBe(foreign.buffer);
  });

  it('CONTROL with an empty attachment decodes without one', () => {
    const frame = decodeFrame(encodeControl({ type: 'reply', id: 2, result: {} }, Buffer.alloc(0)));
    expect(frame).toEqual({ kind: FrameKind.Control, message: { type: 'reply', id: 2, result: {} }, attachment: undefined });
  });

  it('CONTROL ignores unknown envelope fields (a newer minor may add them)', () => {
    const frame = decodeFrame(controlOf('{"type":"reply","id":4,"result":{},"extra":true}'));
    expect(frame).toEqual({ kind: FrameKind.Control, message: { type: 'reply', id: 4, result: {} }, attachment: undefined });
  });

  it.each([1, 2, 0x7fffffff, 0xffffffff])('DATA on stream %d', (stream) => {
    for (const size of [1, 100, MAX_DATA]) {
      const payload = Buffer.alloc(size, stream & 0xff);
      payload[0] = 42;
      const encoded = encodeData(stream, payload);
      expect(encoded.length).toBe(5 + size);
      const frame = decodeFrame(encoded);
      expect(frame.kind === FrameKind.Data && frame.stream === stream && frame.payload.equals(payload)).toBe(true);
    }
  });

  it('a large DATA frame written and recycled lends its memory to the next one, which carries its own bytes; small or foreign ones are not kept', () => {
    const first = encodeData(1, Buffer.alloc(MAX_DATA, 1));
    recycleBuffer(first);
    const second = encodeData(3, Buffer.alloc(20_000, 2));
    expect(second.buffer).toBe(first.buffer);
    const decoded = decodeFrame(second);
    expect(decoded.kind === FrameKind.Data && decoded.stream === 3 && decoded.payload.equals(Buffer.alloc(20_000, 2))).toBe(true);
    expect(encodeData(5, Buffer.alloc(MAX_DATA)).buffer).not.toBe(first.buffer); // lent once only

    const small = encodeData(1, Buffer.alloc(100));
    recycleBuffer(small);
    expect(encodeData(1, Buffer.alloc(MAX_DATA)).buffer).not.toBe(small.buffer);
    const foreign = Buffer.alloc(5 + MAX_DATA);
    recycleBuffer(foreign);
    expect(encodeData(1, Buffer.alloc(MAX_DATA)).buffer).not.toBe(foreign.buffer);
  });

  it('END', () => {
    expect(encodeEnd(9)).toEqual(Buffer.from([2, 0, 0, 0, 9]));
    expect(decodeFrame(encodeEnd(9))).toEqual({ kind: FrameKind.End, stream: 9 });
  });

  it('CREDIT', () => {
    expect(encodeCredit(3, 0x01020304)).toEqual(Buffer.from([3, 0, 0, 0, 3, 1, 2, 3, 4]));
    expect(decodeFrame(encodeCredit(3, 1))).toEqual({ kind: FrameKind.Credit, stream: 3, bytes: 1 });
    expect(decodeFrame(encodeCredit(0xffffffff, 0xffffffff))).toEqual({ kind: FrameKind.Credit, stream: 0xffffffff, bytes: 0xffffffff });
  });

  it('RESET with a UTF-8 reason, and with none', () => {
    expect(decodeFrame(encodeReset(4, 'connect ECONNREFUSED 10.0.0.1:80 — ü'))).toEqual({
      kind: FrameKind.Reset,
      stream: 4,
      reason: 'connect ECONNREFUSED 10.0.0.1:80 — ü',
    });
    expect(decodeFrame(encodeReset(4, ''))).toEqual({ kind: FrameKind.Reset, stream: 4, reason: '' });
  });

  it('RESET cuts a long reason to 1024 characters, which the receiver accepts', () => {
    const frame = decodeFrame(encodeReset(6, '€'.repeat(5000)));
    expect(frame).toEqual({ kind: FrameKind.Reset, stream: 6, reason: '€'.repeat(1024) });
  });

  it('the header is big-endian: kind byte then a u32', () => {
    const encoded = encodeData(0x01020304, Buffer.from('x'));
    expect([...encoded]).toEqual([1, 1, 2, 3, 4, 0x78]);
    const control = encodeControl({ type: 'reply', id: 1, result: {} });
    expect(control[0]).toBe(0);
    expect(control.readUInt32BE(1)).toBe(control.length - 5);
  });
});

describe('decodeFrame rejects malformed frames with a ProtocolError', () => {
  it('truncated: shorter than the 5-byte header', () => {
    rejects(Buffer.alloc(0), 'frame of 0 bytes is shorter than its 5-byte header');
    rejects(Buffer.from([1, 0, 0, 1]), 'frame of 4 bytes is shorter than its 5-byte header');
  });

  it('truncated: CONTROL shorter than its declared JSON', () => {
    const full = encodeControl({ type: 'reply', id: 1, result: {} });
    rejects(full.subarray(0, full.length - 1), /CONTROL frame declares \d+ JSON bytes but carries \d+/);
    rejects(header(FrameKind.Control, 0xffffffff), 'CONTROL frame declares 4294967295 JSON bytes but carries 0');
  });

  it('truncated: CONTROL with no JSON at all', () => {
    rejects(header(FrameKind.Control, 0, Buffer.from('{}')), 'CONTROL frame declares 0 JSON bytes but carries 2');
  });

  it('truncated: CREDIT without its byte count', () => {
    rejects(header(FrameKind.Credit, 1, Buffer.from([0, 0])), 'CREDIT frame is 7 bytes, expected 9');
    rejects(header(FrameKind.Credit, 1, Buffer.from([0, 0, 0, 1, 0])), 'CREDIT frame is 10 bytes, expected 9');
  });

  it.each([5, 6, 200, 255])('unknown kind %d', (kind) => {
    rejects(header(kind, 1, Buffer.from('x')), `unknown frame kind ${kind}`);
  });

  it.each([
    ['DATA', header(FrameKind.Data, 0, Buffer.from('x'))],
    ['END', header(FrameKind.End, 0)],
    ['CREDIT', encodeCredit(0, 10)],
    ['RESET', header(FrameKind.Reset, 0, Buffer.from('why'))],
  ])('stream 0 in %s', (_name, buf) => {
    rejects(buf, 'stream id 0 is reserved');
  });

  it('oversize: a frame above MAX_FRAME', () => {
    rejects(Buffer.alloc(MAX_FRAME + 1), `frame of ${MAX_FRAME + 1} bytes exceeds the ${MAX_FRAME}-byte limit`);
  });

  it('oversize: DATA above MAX_DATA', () => {
    rejects(encodeData(1, Buffer.alloc(MAX_DATA + 1)), `DATA frame for stream 1 exceeds ${MAX_DATA} bytes`);
  });

  it('oversize: a RESET reason above 4096 bytes', () => {
    rejects(header(FrameKind.Reset, 1, Buffer.alloc(4097, 0x61)), 'RESET reason is too long');
    expect(decodeFrame(header(FrameKind.Reset, 1, Buffer.alloc(4096, 0x61))).kind).toBe(FrameKind.Reset);
  });

  it('END with trailing bytes', () => {
    rejects(header(FrameKind.End, 1, Buffer.from([0])), 'END frame has 1 trailing bytes');
  });

  it.each(['{', '{"type":"reply",', 'nul', '\u00e9', '{"a":1}}', ''])('bad JSON %j', (json) => {
    const buf = json === '' ? header(FrameKind.Control, 1, Buffer.from([0xff])) : controlOf(json);
    rejects(buf, /^CONTROL frame is not valid JSON: /);
  });

  it.each([
    ['not an object', '42', /invalid control message: /],
    ['no type', '{"id":1}', /invalid control message: /],
    ['unknown type', '{"type":"shout","id":1}', /invalid control message: /],
    ['prototype name as type', '{"type":"constructor"}', /invalid control message: /],
    ['request without method', '{"type":"request","id":1,"params":{}}', /invalid control message: method: /],
    ['request id 0', '{"type":"request","id":0,"method":"env","params":{}}', /invalid control message: id: /],
    ['reply id not an integer', '{"type":"reply","id":1.5,"result":{}}', /invalid control message: id: /],
    ['reply id as a string', '{"type":"reply","id":"1","result":{}}', /invalid control message: id: /],
    ['error without code', '{"type":"error","id":1,"message":"x"}', /invalid control message: code: /],
    ['event without name', '{"type":"event","data":{}}', /invalid control message: event: /],
  ])('invalid envelope: %s', (_name, json, message) => {
    rejects(controlOf(json), message);
  });

  it('zero credit', () => {
    rejects(encodeCredit(1, 0), 'CREDIT frame grants 0 bytes');
  });

  it('DATA without payload', () => {
    rejects(header(FrameKind.Data, 3), 'DATA frame for stream 3 has no payload');
  });
});
