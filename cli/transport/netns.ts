/**
 * The agent in a network namespace on this machine (`--agent-netns NAME[:PORT]`): a test pod made
 * with `ip netns add`, or any namespace's file (/proc/PID/ns/net). The CLI connects to the
 * sidecar's port on that namespace's loopback itself (cli/native/netns_connect.cc), so no relay
 * process carries the session, as `--agent-cmd 'ip netns exec NAME socat …'` would. Entering a
 * namespace takes CAP_SYS_ADMIN: root, as `ip netns exec` does.
 */
import net from 'node:net';
import WebSocket from 'ws';
import { packagePath } from '../../common/package-root';
import { DEFAULT_AGENT_PORT } from '../../common/pod-contract';
import { clientSocketOptions } from '../../protocol/socket-options';
import { CliError, USAGE_EXIT } from '../errors';

/** How long the connection to the sidecar's port may take (the namespace is on this machine). */
const CONNECT_TIMEOUT_MS = 3000;

interface CliNative {
  /** An fd of a TCP socket connected to 127.0.0.1:`port` inside the namespace (made off the JS thread); rejects with an errno error. */
  connectInNetns(namespacePath: string, port: number, timeoutMs: number): Promise<number>;
}

export interface NetnsAgent {
  /** The name given (`pod1`) or the namespace file's path. */
  name: string;
  path: string;
  port: number;
}

/** `NAME[:PORT]` or `/PATH[:PORT]`: a name is one of `ip netns list`'s (its file is /run/netns/NAME). */
export function parseNetnsAgent(text: string): NetnsAgent {
  const match = /^(.+?)(?::(\d+))?$/.exec(text);
  const name = match?.[1] ?? '';
  const port = match?.[2] === undefined ? DEFAULT_AGENT_PORT : Number(match[2]);
  const path = name.startsWith('/');
  if (!name || port < 1 || port > 65535 || (!path && !/^[A-Za-z0-9_.-]+$/.test(name)) || name === '.' || name === '..') {
    throw new CliError(
      `--agent-netns ${text}: expected NAME[:PORT] (a name \`ip netns list\` shows) or PATH[:PORT] (e.g. /proc/PID/ns/net)`,
      `e.g. --agent-netns pod1 or --agent-netns pod1:${DEFAULT_AGENT_PORT}`,
      USAGE_EXIT,
    );
  }
  return { name, path: path ? name : `/run/netns/${name}`, port };
}

export async function connectInNetns(agent: NetnsAgent): Promise<WebSocket> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const native = require(packagePath('build/Release/mirrord_cli_native.node')) as CliNative;
  let fd: number;
  try {
    fd = await native.connectInNetns(agent.path, agent.port, CONNECT_TIMEOUT_MS);
  } catch (error) {
    throw netnsError(agent, error as NodeJS.ErrnoException);
  }
  const socket = new net.Socket({ fd, readable: true, writable: true });
  socket.setNoDelay(true);
  return new WebSocket('ws://mirrord-agent/', { createConnection: () => socket as never, ...clientSocketOptions({ privateStream: true }) });
}

/** What went wrong, said for the namespace given, with how to get on. */
export function netnsError(agent: NetnsAgent, error: NodeJS.ErrnoException): CliError {
  const where = `the network namespace ${agent.name}`;
  const denied = error.code === 'EPERM' || error.code === 'EACCES';
  // The relay the CLI would otherwise need, for this namespace: a name for ip netns, a path for nsenter.
  const relay = agent.path === `/run/netns/${agent.name}` ? `sudo ip netns exec ${agent.name}` : `sudo nsenter --net=${agent.path}`;
  const asRoot = `entering a network namespace takes root (CAP_SYS_ADMIN): run mirrord with sudo; or --agent-cmd '${relay} socat - TCP:127.0.0.1:${agent.port}'`;
  switch (error.syscall === 'connect' ? error.code : error.syscall) {
    case 'open':
      return new CliError(
        `cannot open ${where} (${agent.path}): ${error.message}`,
        denied ? asRoot : '`ip netns list` shows the namespaces by name; or give the path of one',
      );
    case 'setns':
      return new CliError(`cannot enter ${where}: ${error.message}`, denied ? asRoot : `is ${agent.path} a network namespace?`);
    case 'ECONNREFUSED':
      return new CliError(`nothing listens on 127.0.0.1:${agent.port} in ${where}`, 'is the sidecar running there, on that port?');
    default:
      return new CliError(`cannot connect to 127.0.0.1:${agent.port} in ${where}: ${error.message}`, 'is the sidecar running there, on that port?');
  }
}
