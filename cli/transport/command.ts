/**
 * The agent through a command's stdio, like ssh's ProxyCommand: the command's stdin and
 * stdout carry the WebSocket (e.g. `ip netns exec pod1 socat - TCP:127.0.0.1:61234`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { clientSocketOptions } from '../../protocol/socket-options';

export interface CommandTransport {
  socket: WebSocket;
  child: ChildProcess;
  /** The command's stderr so far, for error messages. */
  stderr(): string;
}

/** How long after the command exits its output may still be read before the session is failed. */
const EXIT_GRACE_MS = 1000;

export async function connectThroughCommand(command: string): Promise<CommandTransport> {
  const [ours, theirs] = await socketPair();
  // Its own process group, so that ending the session ends the whole pipeline the shell runs.
  // Its stdin and stdout are one end of a socket pair, the WebSocket runs on the other: a real
  // socket, so a turn's frames leave in one writev rather than a write each through stream wrappers.
  const child = spawn('sh', ['-c', command], { stdio: [theirs, theirs, 'pipe'], detached: true });
  theirs.destroy(); // the command has its own copy
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => (stderr = (stderr + text).slice(-4096)));
  const socket = new WebSocket('ws://mirrord-agent/', { createConnection: () => ours as never, ...clientSocketOptions({ privateStream: true }) });
  child.once('exit', (code, signal) => {
    const ended = () => {
      // While the WebSocket is closing, the command ending is the end of that close, not a failure.
      if (socket.readyState === WebSocket.CLOSING) socket.terminate();
      // A handshake whose transport has ended fails by itself (and the caller tells the command's exit and stderr).
      else if (socket.readyState === WebSocket.CONNECTING && ours.closed) return;
      else if (socket.readyState !== WebSocket.CLOSED) {
        socket.emit('error', new Error(`agent command exited (${signal ?? `code ${code}`})${stderr ? `: ${stderr.trim()}` : ''}`));
        socket.terminate();
      }
    };
    // What the command wrote before it exited (a refusal the sidecar answered, say) is read first,
    // unless something it started still holds its end of the pair.
    if (ours.closed) return ended();
    const late = setTimeout(ended, EXIT_GRACE_MS);
    ours.once('close', () => (clearTimeout(late), ended()));
  });
  child.on('error', (error) => socket.emit('error', new Error(`agent command failed to start: ${error.message}`)));
  socket.once('close', () => signalGroup(child, 'SIGTERM'));
  return { socket, child, stderr: () => stderr };
}

/**
 * Two connected UNIX stream sockets (Node has no socketpair()): a listener in a directory only
 * this user can enter, one connection to it, then neither the listener nor its path is left.
 */
async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const dir = mkdtempSync(join(tmpdir(), 'mirrord-agent-'));
  const server = net.createServer({ allowHalfOpen: true });
  try {
    const path = join(dir, 'socket');
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    const ours = net.connect({ path, allowHalfOpen: true });
    const [[theirs]] = await Promise.all([accepted, once(ours, 'connect')]);
    return [ours, theirs];
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Sends `signal` to the command and everything it started. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}
