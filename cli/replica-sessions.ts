/**
 * One attach, every replica: a session on each Ready injected pod of the workload, for one
 * local process. Subscriptions (steal, mirror) go to every session, so a request reaches the
 * process whichever replica the Service sends it to; everything else (outgoing, DNS, files, env)
 * goes to one pod, the chosen one while it lasts, then the oldest other. Pods that become Ready
 * join (the ports are subscribed there too), pods that go away leave; the process goes on while
 * any session remains, or one joins within the reconnection window.
 */
import type { Client, ClientApi, IncomingConnection, SessionEnd } from '../protocol/client';
import { CloseCode, ErrorCode, RemoteError } from '../protocol/errors';
import type { Params, RequestType, Subscription } from '../protocol/messages';
import type { ReconnectingClient } from './reconnecting-client';
import type { ReplicaPod, ReplicaSource } from './transport';

export interface ReplicaOptions {
  /** The workload's pods; absent (a pod target, a transport outside the cluster): only the first session. */
  source?: ReplicaSource;
  /** Opens a session on a pod: its transport, its hello (with a ticket of its own) and its reconnections. */
  join(pod: ReplicaPod): Promise<ReconnectingClient>;
  /** How often the workload's pods are listed. */
  pollMs: number;
  /** How long the attach waits for a pod after the last session ended because its pod went away. */
  vacancyMs: number;
  /** How long a pod may take to join (its port-forward, hello and subscriptions) before it is held off; default JOIN_TIMEOUT_MS. */
  joinTimeoutMs?: number;
  warn(text: string): void;
  info(text: string): void;
}

interface Member {
  pod: string;
  client: ReconnectingClient;
}

/**
 * Which pods to join and which to leave: a pod joins once it is usable (Ready, its sidecar
 * ready), and leaves only once it is gone (deleted, going, no longer running): a readiness
 * failure for a while is no reason to drop its session. `held` pods are not joined (again).
 */
export function membershipChanges(
  members: readonly string[],
  joining: readonly string[],
  pods: readonly Pick<ReplicaPod, 'name' | 'usable' | 'present'>[],
  held: readonly string[] = [],
): { join: string[]; leave: string[] } {
  const present = pods.filter((pod) => pod.present).map((pod) => pod.name);
  return {
    join: pods.filter((pod) => pod.usable && !members.includes(pod.name) && !joining.includes(pod.name) && !held.includes(pod.name)).map((pod) => pod.name),
    leave: members.filter((pod) => !present.includes(pod)),
  };
}

/** How long a pod that could not join (or whose session someone ended) is left alone. */
const HOLD_OFF_MS = 30_000;
/** A pod whose port-forward or hello hangs must not hold the program back from starting. */
export const JOIN_TIMEOUT_MS = 15_000;
/** Ends that are the user's (or a version's) word, not a pod going: the whole attach ends with them. */
const FINAL_FOR_ALL = new Set<number>([CloseCode.Killed, CloseCode.Version, CloseCode.Protocol]);

/** The member that serves everything but incoming: the chosen pod while it lasts, then the oldest usable one, then the longest attached. */
export function primaryOf(members: readonly string[], chosen: string, usable: readonly string[]): string | undefined {
  if (members.includes(chosen)) return chosen;
  return usable.find((pod) => members.includes(pod)) ?? members[0];
}

export class ReplicaSessions implements ClientApi {
  private readonly members: Member[] = [];
  private readonly joining = new Set<string>();
  /** Members closed because their pod is no longer usable: their end is the pod's going, whatever its code. */
  private readonly leaving = new Set<Member>();
  /** Pods not to join before the time given (a failed join, a session someone ended). */
  private readonly heldOff = new Map<string, number>();
  /** Subscribe, unsubscribe and a joiner's subscribe-and-admit run one at a time: none misses another's ports. */
  private serial: Promise<unknown> = Promise.resolve();
  private readonly subscriptions = new Map<number, Subscription>();
  private readonly incomingListeners: ((incoming: IncomingConnection) => void)[] = [];
  /** The pods usable at the last listing, oldest first. */
  private usable: string[] = [];
  private primaryPod: string;
  private poller?: NodeJS.Timeout;
  private vacancy?: NodeJS.Timeout;
  private closing = false;
  private over?: SessionEnd;
  private finish!: (end: SessionEnd) => void;
  private readonly end = new Promise<SessionEnd>((resolve) => (this.finish = resolve));

  constructor(
    first: { pod: string; client: ReconnectingClient },
    private readonly options: ReplicaOptions,
  ) {
    this.primaryPod = first.pod;
    this.admit(first);
  }

  /** Joins the workload's other usable pods (all at once) and starts following its pods. */
  async start(): Promise<void> {
    if (!this.options.source) return;
    await this.poll(false);
    this.poller = setInterval(() => void this.poll(true), this.options.pollMs).unref();
  }

  /** The pods with a session now, the primary first. */
  pods(): string[] {
    const primary = this.primary().pod;
    return [primary, ...this.members.map((member) => member.pod).filter((pod) => pod !== primary)];
  }

  get info(): Client['info'] {
    return this.primary().client.info;
  }

  call<T extends RequestType>(method: T, params: Params<T>, attachment?: Buffer) {
    return this.onPrimary((client) => client.call(method, params, attachment));
  }

  onIncoming(listener: (incoming: IncomingConnection) => void): void {
    this.incomingListeners.push(listener);
    for (const member of this.members) member.client.onIncoming(listener);
  }

  /**
   * Subscribes on every pod with a session, or on none: a refusal by one (another session's
   * unfiltered steal there, a policy) is the program's listen() failing, naming the pod.
   */
  subscribe(subscription: Subscription): Promise<void> {
    return this.exclusive(() => this.subscribeAll(subscription));
  }

  private async subscribeAll(subscription: Subscription): Promise<void> {
    // A member that is leaving (its pod gone) has no say.
    const members = this.members.filter((member) => !this.leaving.has(member));
    const outcomes = await Promise.allSettled(members.map((member) => member.client.subscribe(subscription)));
    const failed = outcomes.findIndex((outcome, i) => outcome.status === 'rejected' && this.members.includes(members[i]!) && !this.leaving.has(members[i]!));
    if (failed >= 0) {
      await Promise.all(
        members.map((member, i) => (outcomes[i].status === 'fulfilled' ? member.client.unsubscribe(subscription.port).catch(() => undefined) : undefined)),
      );
      const error = (outcomes[failed] as PromiseRejectedResult).reason as Error & { code?: string };
      if (members.length === 1) throw error;
      throw new RemoteError(error.code ?? ErrorCode.Internal, `pod ${members[failed].pod}: ${error.message}`);
    }
    this.subscriptions.set(subscription.port, subscription);
    if (members.length > 1) this.options.info(`port ${subscription.port} (${subscription.mode}) subscribed on each of ${members.length} pods`);
  }

  unsubscribe(port: number): Promise<void> {
    return this.exclusive(async () => {
      this.subscriptions.delete(port);
      const primary = this.primary();
      await Promise.all(this.members.filter((member) => member !== primary).map((member) => member.client.unsubscribe(port).catch(() => undefined)));
      await primary.client.unsubscribe(port);
    });
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.serial.then(work, work);
    this.serial = turn.catch(() => undefined);
    return turn;
  }

  connect(protocol: 'tcp' | 'udp', host: string, port: number) {
    return this.onPrimary((client) => client.connect(protocol, host, port));
  }

  resolve(host: string, family: 0 | 4 | 6 = 0) {
    return this.onPrimary((client) => client.resolve(host, family));
  }

  env() {
    return this.onPrimary((client) => client.env());
  }

  readdir(path: string) {
    return this.onPrimary((client) => client.readdir(path));
  }

  fetchFile(path: string, known?: string) {
    return this.onPrimary((client) => client.fetchFile(path, known));
  }

  writeFile(path: string, content: Buffer) {
    return this.onPrimary((client) => client.writeFile(path, content));
  }

  close(): void {
    this.closing = true;
    clearInterval(this.poller);
    clearTimeout(this.vacancy);
    for (const member of this.members) member.client.close();
    if (!this.members.length) this.done({ code: CloseCode.Normal, reason: 'session closed' });
  }

  connectionClose(): void {
    for (const member of this.members) member.client.connectionClose();
  }

  async closed(): Promise<string> {
    return (await this.end).reason;
  }

  /** `work` on the primary's session; a rejection when there is none. */
  private onPrimary<T>(work: (client: ReconnectingClient) => Promise<T>): Promise<T> {
    try {
      return work(this.primary().client);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The member serving everything but incoming; while none is attached (a pod going, the next coming), the last one's calls fail as a dropped session's do. */
  private primary(): Member {
    const pod = primaryOf(
      this.members.filter((member) => !this.leaving.has(member)).map((member) => member.pod),
      this.primaryPod,
      this.usable,
    );
    const member = this.members.find((m) => m.pod === pod);
    if (!member) throw new RemoteError(ErrorCode.Shutdown, `no pod of the workload has a session now${this.over ? `: ${this.over.reason}` : ''}`);
    if (pod !== this.primaryPod) {
      this.options.warn(`pod ${this.primaryPod} went away: outgoing, DNS and files now come from pod ${pod}`);
      this.primaryPod = pod!;
    }
    return member;
  }

  /** A member, its incoming listeners already set (they must be before anything is subscribed there). */
  private admit(member: Member): void {
    this.members.push(member);
    clearTimeout(this.vacancy);
    this.vacancy = undefined;
    void member.client.ended().then((end) => this.left(member, end));
  }

  private left(member: Member, end: SessionEnd): void {
    const at = this.members.indexOf(member);
    if (at >= 0) this.members.splice(at, 1);
    const podGone = this.leaving.delete(member) || end.code === CloseCode.Shutdown;
    if (this.closing) {
      if (!this.members.length) this.done(end);
      return;
    }
    if (FINAL_FOR_ALL.has(end.code)) {
      // `mirrord sessions kill` of one replica's session ends the attach, as it does with one pod:
      // with this end, recorded before closing the others (whose ends would say "session closed").
      this.done(end);
      this.close();
      return;
    }
    if (this.members.length) {
      this.options.info(`pod ${member.pod} left (${end.reason}); ${this.members.length} pod${this.members.length === 1 ? '' : 's'} remain`);
      return;
    }
    // The last one: ended on purpose (sessions kill, a version refusal), or no pod to go on with.
    if (!this.options.source || !podGone) return this.done(end);
    this.options.warn(`pod ${member.pod} went away (${end.reason}); waiting for another pod of the workload…`);
    this.vacancy = setTimeout(
      () => this.done({ code: end.code, reason: `${end.reason}; no other pod of the workload became ready within ${this.options.vacancyMs / 1000} s` }),
      this.options.vacancyMs,
    );
  }

  private done(end: SessionEnd): void {
    if (this.over) return;
    this.over = end;
    clearInterval(this.poller);
    clearTimeout(this.vacancy);
    this.finish(end);
  }

  /** Lists the workload's pods; joins the new ones (saying so when `tell`), leaves those no longer usable. */
  private async poll(tell: boolean): Promise<void> {
    if (!this.options.source || this.closing || this.over) return;
    let pods: ReplicaPod[];
    try {
      pods = await this.options.source.list();
    } catch (error) {
      this.options.warn(`could not list the workload's pods: ${(error as Error).message}`);
      return;
    }
    this.usable = pods.filter((pod) => pod.usable).map((pod) => pod.name);
    const now = Date.now();
    for (const [pod, until] of this.heldOff) if (until <= now) this.heldOff.delete(pod);
    const { join, leave } = membershipChanges(
      this.members.map((member) => member.pod),
      [...this.joining],
      pods,
      [...this.heldOff.keys()],
    );
    for (const member of this.members.filter((m) => leave.includes(m.pod))) {
      this.leaving.add(member);
      member.client.close();
    }
    await Promise.all(pods.filter((pod) => join.includes(pod.name)).map((pod) => this.joinPod(pod, tell)));
  }

  /** The pod's session, or an error once it has taken too long; one that comes later is closed. */
  private joinWithin(pod: ReplicaPod): Promise<ReconnectingClient> {
    const limit = this.options.joinTimeoutMs ?? JOIN_TIMEOUT_MS;
    const joining = this.options.join(pod);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        joining.then(
          (late) => late.close(),
          () => undefined,
        );
        reject(new Error(`no session within ${limit / 1000} s`));
      }, limit);
      joining.then(
        (client) => (clearTimeout(timer), resolve(client)),
        (error: unknown) => (clearTimeout(timer), reject(error)),
      );
    });
  }

  private async joinPod(pod: ReplicaPod, tell: boolean): Promise<void> {
    this.joining.add(pod.name);
    let client: ReconnectingClient | undefined;
    try {
      client = await this.joinWithin(pod);
      for (const listener of this.incomingListeners) client.onIncoming(listener);
      const joined = client;
      // The ports subscribed when it is admitted, not when it started joining.
      await this.exclusive(async () => {
        for (const subscription of this.subscriptions.values()) await joined.subscribe(subscription);
        if (this.closing || this.over) throw new Error('the session ended meanwhile');
        this.admit({ pod: pod.name, client: joined });
      });
    } catch (error) {
      client?.close();
      if (this.closing || this.over) return;
      this.heldOff.set(pod.name, Date.now() + HOLD_OFF_MS);
      this.options.warn(`pod ${pod.name} could not join the session (trying again in ${HOLD_OFF_MS / 1000} s): ${(error as Error).message}`);
      return;
    } finally {
      this.joining.delete(pod.name);
    }
    if (tell) this.options.info(`pod ${pod.name} joined (${this.members.length} pods)`);
  }
}
