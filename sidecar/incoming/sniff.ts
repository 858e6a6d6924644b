/** What a connection on a filtered port speaks, told from the first bytes its client sends. */

/** An HTTP/1.x request line. */
const HTTP_REQUEST_START = /^(GET|HEAD|POST|PUT|DELETE|OPTIONS|PATCH|CONNECT|TRACE) /;
/** HTTP/2's connection preface, as a client with prior knowledge (h2c) starts. */
const H2_PREFACE = 'PRI * HTTP/2.0';

/** `http1`, `h2` (cleartext, prior knowledge), or `other` (TLS, nothing yet, anything else). */
export function protocolOf(first: Buffer | undefined): 'http1' | 'h2' | 'other' {
  const start = first?.toString('latin1', 0, 16) ?? '';
  if (HTTP_REQUEST_START.test(start)) return 'http1';
  return start.startsWith(H2_PREFACE) ? 'h2' : 'other';
}
