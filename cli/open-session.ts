/**
 * A session as `attach` and `port-forward` hold it: the transport to the target's chosen pod (or
 * a sidecar reached directly), its hello with a ticket of its own, reconnections to the same pod,
 * and for a workload a session on every other Ready pod, joined before this returns.
 */
import type { Client } from '../protocol/client';
import type { FsRights } from '../protocol/messages';
import type { Settings } from './config/resolve';
import { CliError, USAGE_EXIT } from './errors';
import type { Progress } from './progress';
import { ReconnectingClient } from './reconnecting-client';
import { RepeatedNotices } from './repeated-notices';
import { ReplicaSessions } from './replica-sessions';
import { startClient } from './start-client';
import { openTransport, type AgentChoice, type SessionDescription, type Transport } from './transport';

/** How often the workload's pods are listed, for replicas that join or leave. */
const REPLICA_POLL_MS = 2000;

export interface SessionRequest {
  agent: AgentChoice;
  settings: Pick<Settings, 'target' | 'kubeContext' | 'kubeconfig'>;
  /** What a ticket request says about the session besides its target and pod. */
  description: SessionDescription;
  hello: { client: string; fs: FsRights };
  progress: Progress;
  /** How long a dropped connection is retried (0: never); also how long the workload may have no pod. */
  reconnectMs: number;
}

export interface OpenedSession {
  client: ReplicaSessions;
  transport: Transport;
  /** The chosen pod's first session. */
  first: Client;
  /** `namespace/name` of the chosen pod, for messages. */
  podName: string;
}

export async function openSession({ agent, settings, description, hello, progress, reconnectMs }: SessionRequest): Promise<OpenedSession> {
  const transport = await openTransport(agent, settings, (text) => progress.step(text), description);
  progress.step(`connecting to ${transport.description}…`);
  // Each hello presents a ticket of its own (where the operator issues them): a reconnection too.
  const helloWithTicket = async (over: Transport) => ({ ...hello, ticket: await over.ticket?.() });
  let first: Client;
  try {
    first = await startClient(transport, await helloWithTicket(transport));
  } catch (error) {
    await transport.release?.();
    throw error;
  }
  const { pod } = first.info;
  const podName = `${pod.namespace ? `${pod.namespace}/` : ''}${pod.name || '(unnamed)'}`;
  const notices = new RepeatedNotices((level, text) => (level === 'info' ? progress.logger.info(text) : progress.warn(text)));
  /** A pod's session that outlives its connection: a drop reconnects to the same pod, never another. */
  const reconnecting = (over: Transport, session: Client, name: string, replica = false) =>
    new ReconnectingClient(
      { client: session, close: () => over.close() },
      {
        timeoutMs: reconnectMs,
        connect: async () => {
          const again = await over.reopen();
          return { client: await startClient(again, await helloWithTicket(again)), close: () => again.close() };
        },
        warn: (text) => progress.warn(replica ? `pod ${name}: ${text}` : text),
        notice: (level, message) => notices.tell(level, `pod ${name}: ${message}`),
        reconnected: (again, attempts) =>
          progress.warn(
            `reconnected after ${attempts} attempt${attempts === 1 ? '' : 's'}: session ${again.info.sessionId} on pod ${name}; connections open before the drop were reset`,
          ),
      },
    );
  const replicas = transport.replicas;
  const client = new ReplicaSessions(
    { pod: replicas?.chosen ?? pod.name, client: reconnecting(transport, first, podName) },
    {
      source: replicas,
      join: async (replica) => {
        const over = await replicas!.open(replica);
        return reconnecting(over, await startClient(over, await helloWithTicket(over)), replica.name, true);
      },
      pollMs: REPLICA_POLL_MS,
      vacancyMs: reconnectMs || DEFAULT_VACANCY_MS,
      warn: (text) => progress.warn(text),
      info: (text) => progress.logger.info(text),
    },
  );
  progress.step(`session ${first.info.sessionId} on pod ${podName}${pod.ip ? ` (${pod.ip})` : ''}`);
  if (replicas) {
    try {
      // Every other replica joins before the program starts, so its first listen() covers them all.
      await client.start();
    } catch (error) {
      client.close();
      await transport.release?.();
      throw error;
    }
    const pods = client.pods();
    if (pods.length > 1) progress.step(`sessions on ${pods.length} pods of the workload: ${pods.join(', ')}`);
  }
  return { client, transport, first, podName };
}

const DEFAULT_RECONNECT_S = 30;
/** How long a workload may have no pod when reconnections are off. */
const DEFAULT_VACANCY_MS = DEFAULT_RECONNECT_S * 1000;

/** MIRRORD_RECONNECT_TIMEOUT: seconds to keep trying after the connection to the pod drops (0: never). */
export function reconnectTimeoutMs(): number {
  const text = process.env.MIRRORD_RECONNECT_TIMEOUT;
  const seconds = text === undefined || text === '' ? DEFAULT_RECONNECT_S : Number(text);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new CliError(
      `MIRRORD_RECONNECT_TIMEOUT=${text}: expected a number of seconds`,
      'e.g. MIRRORD_RECONNECT_TIMEOUT=30, or 0 to end the command when the connection drops',
      USAGE_EXIT,
    );
  }
  return seconds * 1000;
}
