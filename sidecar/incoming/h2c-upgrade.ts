/**
 * h2c by `Upgrade` (RFC 7540, section 3.2; how curl's `--http2` starts on `http://`): the client
 * sends an HTTP/1.1 request asking to switch, the server answers `101 Switching Protocols` and
 * both speak HTTP/2, the request that asked being stream 1, whose answer comes over HTTP/2.
 * Node's HTTP/2 server has no such start, so the request is given to it as the HEADERS frame
 * the client would have sent, put right after the client's preface (h2-preface.ts). The frame's
 * header block uses HPACK literals that are never indexed, so the client's own header
 * compression, which knows nothing of this frame, stays in step with the server's.
 */
import type http from 'node:http';
import { frame } from './h2-preface';

export const SWITCHING_TO_H2C = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n';

const HEADERS = 0x1;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
/** The largest frame a peer must accept before SETTINGS say otherwise (SETTINGS_MAX_FRAME_SIZE's default). */
const MAX_FRAME = 16_384;

/** Headers of the HTTP/1.1 request that HTTP/2 carries otherwise, or not at all (RFC 9113, section 8.2.2). */
const NOT_CARRIED = new Set(['host', 'connection', 'upgrade', 'http2-settings', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te']);

/** Whether `req` asks to switch to HTTP/2 in cleartext. */
export function isH2cUpgrade(req: http.IncomingMessage): boolean {
  const tokens = (value: string | undefined) =>
    (value ?? '')
      .toLowerCase()
      .split(',')
      .map((token) => token.trim());
  return tokens(req.headers.upgrade).includes('h2c') && req.headers['http2-settings'] !== undefined;
}

/**
 * The upgraded request as stream 1's HEADERS frame, ending the stream; undefined when it can't be
 * one: a request with a body (which would have to come as DATA frames), or headers past one frame.
 * Such a request is then not upgraded: the connection goes where the request goes, as any upgrade.
 */
export function upgradedRequestFrame(req: http.IncomingMessage): Buffer | undefined {
  if (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined) return undefined;
  const fields: [string, string][] = [
    [':method', req.method ?? 'GET'],
    [':scheme', 'http'],
    [':authority', req.headers.host ?? ''],
    [':path', req.url ?? '/'],
  ];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (!NOT_CARRIED.has(name)) fields.push([name, req.rawHeaders[i + 1]!]);
  }
  const block = Buffer.concat(fields.map(([name, value]) => literalNeverIndexed(name, value)));
  return block.length > MAX_FRAME ? undefined : frame(HEADERS, END_STREAM | END_HEADERS, 1, block);
}

/** An HPACK "literal header field never indexed" with a new name (RFC 7541, section 6.2.3), no Huffman coding. */
function literalNeverIndexed(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x10]), hpackString(name), hpackString(value)]);
}

function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([hpackInteger(bytes.length, 7), bytes]);
}

/** An HPACK integer with an N-bit prefix (RFC 7541, section 5.1), the prefix's other bits zero. */
export function hpackInteger(value: number, prefixBits: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([value]);
  const bytes = [max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}
