/**
 * The agent through a command's stdio, like ssh's ProxyCommand: the command's stdin and
 * stdout carry the WebSocket (e.g. `ip netns exec pod1 socat - TCP:127.0.0.1:61234`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Duplex } from 'node:stream';
import WebSocket from 'ws';
import { clientSocketOptions } from '../../protocol/socket-options';

export interface CommandTransport {
  socket: WebSocket;
  child: ChildProcess;
  /** The command's stderr so far, for error messages. */
  stderr(): string;
}

export function connectThroughCommand(command: string): CommandTransport {
  // Its own process group, so that ending the session ends the whole pipeline the shell runs.
  const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => (stderr = (stderr + text).slice(-4096)));
  const duplex = Duplex.from({ readable: child.stdout, writable: child.stdin });
  const socket = new WebSocket('ws://mirrord-agent/', { createConnection: () => duplex as never, ...clientSocketOptions({ privateStream: true }) });
  child.once('exit', (code, signal) => {
    // While the WebSocket is closing, the command ending is the end of that close, not a failure.
    if (socket.readyState === WebSocket.CLOSING) socket.terminate();
    else if (socket.readyState !== WebSocket.CLOSED) {
      socket.emit('error', new Error(`agent command exited (${signal ?? `code ${code}`})${stderr ? `: ${stderr.trim()}` : ''}`));
      socket.terminate();
    }
  });
  child.on('error', (error) => socket.emit('error', new Error(`agent command failed to start: ${error.message}`)));
  socket.once('close', () => signalGroup(child, 'SIGTERM'));
  return { socket, child, stderr: () => stderr };
}

/** Sends `signal` to the command and everything it started. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}
