/**
 * How the session reaches the sidecar: the API server's port-forward to the target's pod, or
 * (for development and tests) a command's stdio or a URL.
 */
import type WebSocket from 'ws';
import type { Settings } from '../config/resolve';
import type { AgentChoice } from '../agent-args';
import { CliError, USAGE_EXIT } from '../errors';
import { connectThroughCommand, signalGroup, type CommandTransport } from './command';
import { connectInNetns, parseNetnsAgent } from './netns';
import { connectToUrl } from './url';
import { DEFAULT_AGENT_PORT } from '../../common/pod-contract';
import { DB_BRANCH_DEFAULT_CREATION_TIMEOUT_S, DB_BRANCH_PENDING_REASON } from '../../protocol/db-branch';
import type { TicketSpec, TicketStatus } from '../../protocol/operator-api';
import type { Kube } from '../kube/cluster';
import { TARGETLESS, type Target } from '../kube/target';
import { userAtHost } from '../who';

export interface Transport {
  socket: WebSocket;
  /** For messages: "the agent command `…`" or the URL. */
  description: string;
  /**
   * What the transport saw go wrong, when it knows better than the socket's error (a write
   * to a command that exited fails with EPIPE; its exit status and stderr say why).
   */
  explain(waitForExit: boolean): Promise<string | undefined>;
  hint: string;
  close(): void;
  /** A new connection made the same way, to the same pod (a reconnection): nothing resolved or loaded again. */
  reopen(): Promise<Transport>;
  /**
   * A new ticket from the operator for a session on this pod (each hello needs its own), or
   * undefined where there is no operator. Absent for transports that don't go through the cluster.
   */
  ticket?(): Promise<string | undefined>;
  /**
   * The workload's other replicas, when the target is a workload: a session subscribes on every
   * Ready injected pod of it. Absent for a pod target and for transports outside the cluster.
   */
  replicas?: ReplicaSource;
  /** Removes what the session made in the cluster (a targetless pod), once it has ended. */
  release?(): Promise<void>;
  /**
   * Queue splitting and database branches: the variables that point the local process at its own
   * queues and branches (from the operator), and what they are, for the user to see.
   */
  ticketEnv?: { env: Record<string, string>; notes: string[] };
}

/** A pod of the workload, oldest first (then by name). */
export interface ReplicaPod {
  name: string;
  /** The sidecar's port in the pod. */
  port: number;
  /** Ready, with a ready sidecar: a session may join it. */
  usable: boolean;
  /** Running and not going away: a session on it stays. */
  present: boolean;
}

export interface ReplicaSource {
  /** The pod the first transport reached: outgoing, DNS, files and env come from it while it lasts. */
  chosen: string;
  /** The workload's pods now, the chosen one included, oldest first. */
  list(): Promise<ReplicaPod[]>;
  /** A transport to one of them (its own port-forward and tickets). */
  open(pod: ReplicaPod): Promise<Transport>;
}

/** What a ticket request says about the session besides its target and pod. */
export type SessionDescription = Omit<TicketSpec, 'target' | 'pod'>;

export type { AgentChoice };

/**
 * A failing transport emits errors (the command's exit, then EPIPE) before anyone awaiting
 * this function can listen; Client.start reports the failure and the transport explains it,
 * so these must only never crash the CLI. Each transport gets this listener as it is made.
 */
function quiet(socket: WebSocket): WebSocket {
  socket.on('error', () => undefined);
  return socket;
}

/**
 * How long the first ticket waits for the workload's rollout onto its split queues, or for its
 * database branches to be made (their creation timeouts, and a margin), and how often it asks.
 */
const SPLIT_ROLLOUT_MS = 180_000;
const PENDING_RETRY_MS = 2_000;

function pendingLimitMs(session: SessionDescription): number {
  const branches = (session.dbBranches ?? []).map((branch) => (branch.creationTimeoutSecs ?? DB_BRANCH_DEFAULT_CREATION_TIMEOUT_S) * 1000 + 30_000);
  return Math.max(session.splitQueues ? SPLIT_ROLLOUT_MS : 0, ...branches);
}

/** What a first ticket brought for the local process: its variables, and a line on each. */
function ticketEnvOf(status: TicketStatus): Transport['ticketEnv'] {
  const split = status.splitQueues?.env ?? {};
  const branches = status.dbBranches;
  if (!status.splitQueues && !branches) return undefined;
  return {
    env: { ...split, ...branches?.env },
    notes: [
      ...Object.entries(split).map(([name, queue]) => `queue split: ${name}=${queue}`),
      // The variables may hold credentials: only their names are shown.
      ...(branches
        ? [`database branches ${branches.branches.map((branch) => branch.name).join(', ')}: ${Object.keys(branches.env).join(', ')} point at them`]
        : []),
    ],
  };
}

export async function openTransport(
  agent: AgentChoice,
  settings: Pick<Settings, 'target' | 'kubeContext' | 'kubeconfig'>,
  step: (text: string) => void = () => undefined,
  session?: SessionDescription,
): Promise<Transport> {
  const { target } = settings;
  if (agent.command !== undefined) {
    const transport = await connectThroughCommand(agent.command);
    return {
      socket: quiet(transport.socket),
      description: `the agent command \`${agent.command}\``,
      explain: (waitForExit) => explainCommand(transport, waitForExit),
      hint: `the command must connect its stdin/stdout to the sidecar's port, e.g. \`ip netns exec POD socat - TCP:127.0.0.1:${DEFAULT_AGENT_PORT}\`; check that it works and that the sidecar runs`,
      close: () => signalGroup(transport.child, 'SIGTERM'),
      reopen: () => openTransport(agent, settings),
    };
  }
  if (agent.netns !== undefined) {
    const netns = parseNetnsAgent(agent.netns);
    const socket = quiet(await connectInNetns(netns));
    return {
      socket,
      description: `127.0.0.1:${netns.port} in the network namespace ${netns.name}`,
      explain: async () => undefined,
      hint: 'is the sidecar running in that namespace, on that port?',
      close: () => socket.terminate(),
      reopen: () => openTransport(agent, settings),
    };
  }
  if (agent.url !== undefined) {
    const socket = quiet(connectToUrl(agent.url));
    return {
      socket,
      description: agent.url,
      explain: async () => undefined,
      hint: `check that the sidecar's port is forwarded there, e.g. \`kubectl port-forward pod/NAME ${DEFAULT_AGENT_PORT}\``,
      close: () => socket.terminate(),
      reopen: () => openTransport(agent, settings),
    };
  }
  if (target) return openPortForward(target, settings, agent.pod, step, session);
  throw new CliError(
    'nothing to attach to: no target and no agent',
    'mirrord attach --agent-cmd CMD -- CMD ARGS, --agent-url ws://HOST:PORT, or --agent-netns NAME',
    USAGE_EXIT,
  );
}

async function openPortForward(
  target: NonNullable<Settings['target']>,
  settings: Pick<Settings, 'kubeContext' | 'kubeconfig'>,
  pod: string | undefined,
  step: (text: string) => void,
  session: SessionDescription | undefined,
): Promise<Transport> {
  // Loaded only here: @kubernetes/client-node is an ES module that the unit tests' runner can't load.
  const { loadKube, resolvePod } = await import('../kube/cluster');
  const { agentPortOf, usablePods } = await import('../kube/pod-choice');
  const { parseTarget, describeTarget } = await import('../kube/target');
  const { forwardToSidecar } = await import('./port-forward');
  const { requestTicket, TicketPending } = await import('../kube/tickets');
  const kube = loadKube({ kubeconfig: settings.kubeconfig, context: settings.kubeContext, namespace: target.namespace });
  const targetless = target.path === TARGETLESS;
  const parsed = targetless ? undefined : parseTarget(target.path);
  // A cluster without the operator answers the first request so; later sessions don't ask again.
  let operator = true;
  // A targetless pod is its own target; a Service's or a selector's pods are asked for as
  // themselves (their workloads' policies apply through their owners).
  const ticketTarget = (podName: string) => (parsed && parsed.kind !== 'service' && parsed.kind !== 'selector' ? describeTarget(parsed) : `pod/${podName}`);
  const askTicket = async (podName: string) => {
    if (!session || !operator) return undefined;
    const status = await requestTicket(kube, { ...session, target: ticketTarget(podName), pod: podName });
    operator = status !== undefined;
    return status?.ticket;
  };
  /** Transports to one pod: each hello with a ticket of its own, the first asked for while the port-forward opens (or already had). */
  const toPod = (podName: string, podPort: number, had?: string): Promise<Transport> => {
    let first: Promise<string | undefined> | undefined = had === undefined ? askTicket(podName) : Promise.resolve(had);
    first.catch(() => undefined);
    const ticket = () => {
      const next = first ?? askTicket(podName);
      first = undefined;
      return next;
    };
    const forwardToPod = async (): Promise<Transport> => {
      const forward = await forwardToSidecar(kube.config, kube.namespace, podName, podPort);
      // The kubeconfig stays loaded (with its credential plugin's token) and the pod chosen.
      return { ...forward, socket: quiet(forward.socket), reopen: forwardToPod, ticket };
    };
    return forwardToPod();
  };
  if (!parsed) return openTargetless(kube, step, toPod);
  if (target.copy) return openCopy(kube, parsed, target.copy.scaleDown, step, toPod);
  step(`resolving ${describeTarget(parsed)} in namespace ${kube.namespace}…`);
  let resolved = await resolvePod(kube, parsed, pod);
  // Queue splitting: the first ticket waits for the workload to consume its split queues (a
  // rollout); database branches: for the branches to be made.
  let firstTicket: string | undefined;
  let ticketEnv: Transport['ticketEnv'];
  if (session?.splitQueues || session?.dbBranches) {
    const limitMs = pendingLimitMs(session);
    const deadline = Date.now() + limitMs;
    for (;;) {
      try {
        const podName = resolved.pod.metadata?.name ?? '';
        const status = await requestTicket(kube, { ...session, target: ticketTarget(podName), pod: podName });
        if (!status)
          throw new CliError(
            `${session.splitQueues ? 'feature.split_queues: queue splitting' : 'feature.db_branches: database branching'} needs the mirrord operator, and this cluster has none`,
            'mirrord install (without --no-operator) installs it',
          );
        firstTicket = status.ticket;
        ticketEnv = ticketEnvOf(status);
        break;
      } catch (error) {
        if (!(error instanceof TicketPending)) throw error;
        if (Date.now() > deadline)
          throw new CliError(
            `${error.message}, still after ${Math.round(limitMs / 1000)} s`,
            error.reason === DB_BRANCH_PENDING_REASON
              ? `mirrord db-branches status -n ${kube.namespace}`
              : `kubectl rollout status ${describeTarget(parsed)} -n ${kube.namespace}`,
          );
        step(`${error.message}…`);
        await new Promise((resolve) => setTimeout(resolve, PENDING_RETRY_MS));
        resolved = await resolvePod(kube, parsed, pod);
      }
    }
  }
  const { pod: chosen, pods, again } = resolved;
  const name = chosen.metadata?.name ?? '';
  const port = agentPortOf(chosen);
  step(`port-forwarding to pod ${name}, the sidecar's port ${port}…`);
  const primary = toPod(name, port, firstTicket).then((transport) => ({ ...transport, ...(ticketEnv && { ticketEnv }) }));
  if (parsed.kind === 'pod') return primary;
  // The other replicas' port-forwards and tickets start with the chosen pod's, not after it.
  const others = usablePods(pods).filter((p) => p.metadata?.name !== name);
  const early = new Map(others.map((p) => [p.metadata?.name ?? '', toPod(p.metadata?.name ?? '', agentPortOf(p))]));
  for (const opening of early.values()) opening.catch(() => undefined);
  let transport: Transport;
  try {
    transport = await primary;
  } catch (error) {
    for (const opening of early.values())
      void opening.then(
        (other) => other.close(),
        () => undefined,
      );
    throw error;
  }
  let first: typeof pods | undefined = pods;
  const replicas: ReplicaSource = {
    chosen: name,
    // The first listing is the one the pod was chosen from: joining the others costs no round trip more.
    list: async () => {
      const listed = first ?? (await again());
      first = undefined;
      const usable = new Set(usablePods(listed));
      return [...usable, ...listed.filter((p) => !usable.has(p))].map((p) => ({
        name: p.metadata?.name ?? '',
        port: agentPortOf(p),
        usable: usable.has(p),
        present: p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp,
      }));
    },
    open: (replica) => {
      const opened = early.get(replica.name);
      early.delete(replica.name);
      return opened ?? toPod(replica.name, replica.port);
    },
  };
  return { ...transport, replicas };
}

/** A session from a pod started for it, removed when the session ends. */
async function openTargetless(kube: Kube, step: (text: string) => void, toPod: (name: string, port: number) => Promise<Transport>): Promise<Transport> {
  const { startTargetless } = await import('../kube/targetless');
  const { reconnectTimeoutMs } = await import('../open-session');
  const pod = await startTargetless(kube, userAtHost(), step, reconnectTimeoutMs());
  try {
    step(`port-forwarding to pod ${pod.name}, the sidecar's port ${pod.port}…`);
    return { ...(await toPod(pod.name, pod.port)), release: pod.remove };
  } catch (error) {
    await pod.remove();
    throw error;
  }
}

/** A session on a copy of the target made for it, deleted (and the original scaled back up) when the session ends. */
async function openCopy(
  kube: Kube,
  target: Target,
  scaleDown: boolean,
  step: (text: string) => void,
  toPod: (name: string, port: number) => Promise<Transport>,
): Promise<Transport> {
  const { startCopy } = await import('../kube/copy-target');
  const { reconnectTimeoutMs } = await import('../open-session');
  const copy = await startCopy(kube, { target, scaleDown, startedBy: userAtHost(), reconnectMs: reconnectTimeoutMs(), step, warn: step });
  try {
    step(`port-forwarding to pod ${copy.name} (the copy), the sidecar's port ${copy.port}…`);
    return { ...(await toPod(copy.name, copy.port)), release: copy.release };
  } catch (error) {
    await copy.release();
    throw error;
  }
}

const EXIT_WAIT_MS = 500;

async function explainCommand({ child, stderr }: CommandTransport, waitForExit: boolean): Promise<string | undefined> {
  if (waitForExit && child.exitCode === null && child.signalCode === null) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, EXIT_WAIT_MS);
      child.once('exit', () => resolve(clearTimeout(timer)));
    });
  }
  const output = stderr().trim();
  if (child.exitCode !== null || child.signalCode !== null) {
    return `the command exited (${child.signalCode ?? `code ${child.exitCode}`})${output ? `: ${output}` : ' without output'}`;
  }
  return output || undefined;
}
