/**
 * How the CLI opens its WebSocket to the sidecar, over whichever transport. One binary frame per
 * message up to MAX_FRAME, no compression (the payload is mostly other protocols' bytes, often
 * compressed or encrypted already, and deflate would cost both ends CPU on every byte).
 */
import type { ClientOptions } from 'ws';
import { MAX_FRAME } from './frame';

/**
 * `privateStream`: the WebSocket runs inside a byte stream that only the two ends see (a
 * command's stdio, a Kubernetes port-forward stream), so no HTTP intermediary parses its frames
 * and the masking RFC 6455 asks of clients (against cache poisoning by scripts in browsers)
 * protects nothing. An all-zero key is a valid mask that `ws` skips on both ends: without it
 * the CLI copies and XORs every byte it sends and the sidecar XORs it back. A WebSocket URL may
 * pass through proxies, so it keeps random keys.
 */
export function clientSocketOptions({ privateStream }: { privateStream: boolean }): ClientOptions {
  return { maxPayload: MAX_FRAME, perMessageDeflate: false, ...(privateStream && { generateMask: zeroMask }) };
}

function zeroMask(mask: Buffer): void {
  mask.fill(0);
}
