/** What a connection on a filtered port speaks, told from the first bytes its client sends. */

/** An HTTP/1.x request line. */
const HTTP_REQUEST_START = /^(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|CONNECT|TRACE) /;
/** HTTP/2's connection preface, as a client with prior knowledge (h2c) starts. */
const H2_PREFACE = 'PRI * HTTP/2.0';

/** A TLS record of the handshake (a ClientHello), of any TLS version (RFC 8446, 5.1). */
const TLS_HANDSHAKE = 0x16;

/** `http1`, `h2` (cleartext, prior knowledge), `tls`, or `other` (nothing yet, anything else). */
export function protocolOf(first: Buffer | undefined): 'http1' | 'h2' | 'tls' | 'other' {
  const start = first?.toString('latin1', 0, 16) ?? '';
  if (HTTP_REQUEST_START.test(start)) return 'http1';
  if (start.startsWith(H2_PREFACE)) return 'h2';
  return first && first.length >= 2 && first[0] === TLS_HANDSHAKE && first[1] === 0x03 ? 'tls' : 'other';
}
