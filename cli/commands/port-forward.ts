/**
 * `mirrord port-forward`: `-L` listens on this machine and connects each connection from the
 * pod (names resolved in the pod, as `attach`'s outgoing connections are); `-R` subscribes a pod
 * port (on every replica of a workload) and delivers its connections or requests to a port of
 * this machine. It runs until interrupted, or until the session is lost.
 */
import net from 'node:net';
import type { IncomingConnection } from '../../protocol/client';
import { pipeBothWays } from '../../protocol/pipe';
import { loadSettings } from '../config/resolve';
import { CliError } from '../errors';
import { openSession, reconnectTimeoutMs } from '../open-session';
import type { LocalForward, PortForwardArgs } from '../port-forward-args';
import { createProgress } from '../progress';
import { userAtHost } from '../who';

export async function portForward(args: PortForwardArgs): Promise<number> {
  const progress = createProgress(args.quiet);
  const settings = loadSettings(args.configFile, args.overrides);
  for (const warning of settings.warnings) progress.warn(warning);
  const { mode, httpFilter } = settings.layer.incoming;
  const filter = mode === 'steal' ? httpFilter : undefined;
  const hello = { client: `mirrord port-forward (${userAtHost()}, pid ${process.pid})`, fs: 'read' as const };
  const description = {
    ports: args.remote.map(({ pod }) => ({ port: pod, mode: mode === 'mirror' ? ('mirror' as const) : ('steal' as const), ...(filter && { filter }) })),
    fs: 'local' as const,
    client: hello.client,
  };
  let opened;
  try {
    opened = await openSession({ agent: args.agent, settings, description, hello, progress, reconnectMs: reconnectTimeoutMs() });
  } catch (error) {
    progress.done(false);
    throw error;
  }
  const { client, transport, podName } = opened;
  const servers: net.Server[] = [];
  try {
    for (const forward of args.local)
      servers.push(await listenLocally(forward, (socket) => void throughPod(socket, forward, client, progress.warn), progress.warn));
    const targets = new Map(args.remote.map(({ pod, local }) => [pod, local]));
    client.onIncoming((incoming) => deliver(incoming, targets));
    for (const { pod } of args.remote) {
      await client.subscribe({ port: pod, mode: mode === 'mirror' ? 'mirror' : 'steal', ...(filter && { filter }) });
    }
    progress.done();
    for (const { local, host, port } of args.local) progress.logger.info(`127.0.0.1:${local} -> ${host}:${port}, from pod ${podName}`);
    for (const { pod, local } of args.remote)
      progress.logger.info(`pod port ${pod} (${mode === 'mirror' ? 'mirror' : filter ? 'steal, HTTP filter' : 'steal'}) -> 127.0.0.1:${local}`);
    const reason = await untilStopped(client.closed());
    if (reason !== undefined) throw new CliError(`the session on pod ${podName} ended (${reason}); the forwards stopped`, 'run mirrord port-forward again');
    return 0;
  } finally {
    for (const server of servers) server.close();
    client.close();
    await Promise.race([client.closed(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    client.connectionClose();
    await transport.release?.();
  }
}

function listenLocally(forward: LocalForward, onConnection: (socket: net.Socket) => void, warn: (text: string) => void): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, onConnection);
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new CliError(
          `-L ${forward.local}:${forward.host}:${forward.port}: cannot listen on 127.0.0.1:${forward.local} (${error.code ?? error.message})`,
          'choose another local port',
        ),
      ),
    );
    server.listen(forward.local, '127.0.0.1', () => {
      // Listening, an error (accept failing for want of file descriptors) is told, never fatal.
      server.removeAllListeners('error');
      server.on('error', (error: NodeJS.ErrnoException) => warn(`-L ${forward.local}:${forward.host}:${forward.port}: ${error.code ?? error.message}`));
      resolve(server);
    });
  });
}

async function throughPod(
  socket: net.Socket,
  { host, port }: LocalForward,
  client: Awaited<ReturnType<typeof openSession>>['client'],
  warn: (text: string) => void,
): Promise<void> {
  socket.on('error', () => undefined);
  socket.pause();
  try {
    const { stream } = await client.connect('tcp', host, port);
    pipeBothWays(socket, stream);
    socket.resume();
  } catch (error) {
    warn(`${host}:${port} from the pod: ${(error as Error).message}`);
    socket.destroy();
  }
}

function deliver({ socket, port }: IncomingConnection, targets: ReadonlyMap<number, number>): void {
  const local = targets.get(port);
  if (local === undefined) return void socket.destroy();
  pipeBothWays(socket, net.connect({ host: '127.0.0.1', port: local, allowHalfOpen: true, noDelay: true }));
}

/** Undefined when interrupted (SIGINT, SIGTERM), or the reason the session ended. */
function untilStopped(ended: Promise<string>): Promise<string | undefined> {
  return new Promise((resolve) => {
    const stop = () => resolve(undefined);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    void ended.then((reason) => resolve(reason));
  });
}
