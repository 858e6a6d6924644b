/** The agent at a WebSocket URL, e.g. a `kubectl port-forward` of the sidecar's port. */
import WebSocket from 'ws';
import { clientSocketOptions } from '../../protocol/socket-options';
import { CliError, USAGE_EXIT } from '../errors';
import { DEFAULT_AGENT_PORT } from '../../common/pod-contract';

export function connectToUrl(url: string): WebSocket {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    parsed = new URL('invalid:');
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new CliError(
      `--agent-url ${url}: expected ws://HOST:PORT or wss://HOST:PORT`,
      `e.g. --agent-url ws://127.0.0.1:${DEFAULT_AGENT_PORT} after kubectl port-forward pod/NAME ${DEFAULT_AGENT_PORT}`,
      USAGE_EXIT,
    );
  }
  return new WebSocket(url, clientSocketOptions({ privateStream: false }));
}
