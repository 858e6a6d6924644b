import { CLIENT_MAGIC, clientFrames, frame, SETTINGS_ACK } from './h2-preface';

describe("a client's frames", () => {
  const settings = frame(0x4, 0, 0, Buffer.from([0, 3, 0, 0, 0, 100]));
  const settingsAck = frame(0x4, 0x1, 0);
  const ping = frame(0x6, 0, 0, Buffer.alloc(8, 1));
  const pingAck = frame(0x6, 0x1, 0, Buffer.alloc(8, 2));
  const data = frame(0x0, 0x1, 1, Buffer.from('body'));
  const extra = Buffer.from('EXTRA');

  /** `bytes` through `pass` cut at `cut`, and byte by byte. */
  const splits = (make: () => (chunk: Buffer) => Buffer, bytes: Buffer): Buffer[] => {
    const results = [];
    for (let cut = 1; cut < bytes.length; cut++) {
      const pass = make();
      results.push(Buffer.concat([pass(bytes.subarray(0, cut)), pass(bytes.subarray(cut))]));
    }
    const bytewise = make();
    results.push(Buffer.concat([...bytes].map((byte) => bytewise(Buffer.from([byte])))));
    return results;
  };

  it('get the insert after the first SETTINGS, however the bytes are split', () => {
    const expected = Buffer.concat([CLIENT_MAGIC, settings, extra, ping, settingsAck]);
    for (const result of splits(() => clientFrames({ insert: extra }), Buffer.concat([CLIENT_MAGIC, settings, ping, settingsAck]))) {
      expect(result).toEqual(expected);
    }
  });

  it('lose their SETTINGS and PING acknowledgements when a copy is parsed, and nothing else', () => {
    const sent = Buffer.concat([CLIENT_MAGIC, settings, settingsAck, ping, data, pingAck, settingsAck, data]);
    const expected = Buffer.concat([CLIENT_MAGIC, settings, SETTINGS_ACK, ping, data, data]);
    for (const result of splits(() => clientFrames({ insert: SETTINGS_ACK, dropAcks: true }), sent)) expect(result).toEqual(expected);
  });

  it('go on unchanged when they are not a preface', () => {
    const http1 = Buffer.from('GET / HTTP/1.1\r\n');
    expect(clientFrames({ insert: extra })(http1)).toEqual(http1);
    const notSettings = Buffer.concat([CLIENT_MAGIC, ping, settings]);
    expect(clientFrames({ insert: extra, dropAcks: true })(notSettings)).toEqual(notSettings);
  });
});
