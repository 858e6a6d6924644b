/**
 * One attached client: its handshake, its requests, and everything it holds (subscriptions,
 * streams, files), all released when the WebSocket closes, drops, or stops answering pings.
 */
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { CloseCode, ErrorCode, RemoteError } from '../protocol/errors';
import { attachmentCapacity, recycleBuffer } from '../protocol/frame';
import { describeIssues, isRequestType, requests, type Params, type RequestType, type Result } from '../protocol/messages';
import type { IncomingRequest, Peer } from '../protocol/peer';
import { FsPathRules } from '../protocol/fs-paths';
import { outgoingRefusal } from '../protocol/outgoing-rules';
import type { MuxStream } from '../protocol/stream';
import { incomingRefusal, withoutExcluded, type TicketClaims } from '../protocol/ticket';
import { atLeast, incompatibility, PROTOCOL_VERSION, TICKETS_SINCE } from '../protocol/version';
import type { TicketVerifier } from './auth';
import { AnsweringWatch } from './answering';
import { Budget } from './budget';
import { Inflow } from './inflow';
import { ThrottledLog } from './throttled-log';
import type { SidecarConfig } from './config';
import { resolve, resolveOne } from './dns';
import { ResolvedNames } from './resolved-names';
import { Files } from './files';
import type { AppView } from './app-view';
import { LIMITS } from './limits';
import type { IncomingRegistry } from './incoming/registry';
import type { IncomingMeta, IncomingSink } from './incoming/subscriber';
import type { Logger } from '../common/log';
import { connectTcp, connectUdp } from './outgoing';
import { VERSION } from '../common/version';

export interface SessionContext {
  config: SidecarConfig;
  incoming: IncomingRegistry;
  /** What a new session sees of the app: the root its files are served beneath, the env. */
  app(): AppView;
  log: Logger;
  /** With `auth: required`: checks each hello's ticket. */
  tickets?: TicketVerifier;
  /** Every live session, for `sessions` listings. */
  sessions(): Session[];
}

/** `onSent`: called once the reply has been written to the transport. */
type Answer = { result: unknown; attachment?: Buffer; onSent?: () => void };
type Handler<T extends RequestType> = (params: Params<T>, attachment?: Buffer) => Promise<Answer> | Answer;

export class Session implements IncomingSink {
  readonly id = randomUUID().slice(0, 8);
  readonly since = new Date();
  client = '';
  private started = false;
  /** A hello is being served (its ticket may wait for the keys): a second one is refused. */
  private greeting = false;
  /** With `auth: required`: the ticket the session attached with, enforced for its whole life. */
  private grant: TicketClaims | undefined;
  /** With outgoing rules in the ticket: the names this session resolved, for host rules on connects to addresses. */
  private readonly resolvedNames = new ResolvedNames();
  private readonly files: Files;
  /** The app as this session sees it (its root and env), let go when it ends. */
  private readonly app: AppView;
  private readonly log: Logger;
  /** The session's refused requests, logged at a bounded rate. */
  private readonly refusals: ThrottledLog;
  readonly ended: Promise<void>;
  /** Whether the client answers, watched while the session steals. */
  private readonly watch: AnsweringWatch;
  /** The stolen connections and requests in flight to the client. */
  private readonly stolen = new Set<MuxStream>();
  /** How much of what the client sends is being served; more is refused (EAGAIN). */
  private readonly inflow: Inflow;
  /** The bytes of file reads under way or waiting to be written to the client. */
  private readonly reading = new Budget(LIMITS.readBytesInFlightPerSession);
  /** Aborted when the session ends: work still waiting for its turn is dropped. */
  private readonly ending = new AbortController();
  /** The session's name look-ups take turns, a few at once (dns.ts). */
  private readonly lookups = { budget: new Budget(LIMITS.lookupsPerSession), signal: this.ending.signal };
  /** TCP connections and UDP sockets open from the pod for the client. */
  private connections = 0;
  /** Stolen streams reset since the client stopped answering. */
  private resetWhileSilent = 0;

  constructor(
    private readonly peer: Peer,
    private readonly context: SessionContext,
  ) {
    this.log = context.log.child({ session: this.id });
    this.refusals = new ThrottledLog(this.log, LIMITS.refusalLinesPerSecond);
    this.app = context.app();
    this.files = new Files(
      this.app.root,
      context.config.wholeRoot ? ['/'] : context.config.appMounts,
      LIMITS.openFilesPerSession,
      context.config.fsCallMs,
      LIMITS.stuckFileOperationsPerSession,
    );
    this.inflow = new Inflow({ requests: LIMITS.requestsInFlightPerSession, bytes: LIMITS.requestBytesInFlightPerSession });
    this.watch = new AnsweringWatch(peer.socket, context.config.unresponsiveMs, (answering, silentMs) => this.answeringChanged(answering, silentMs));
    peer.on('request', (request) => void this.handle(request));
    const helloDeadline = setTimeout(() => {
      if (!this.started) this.peer.fail(ErrorCode.Protocol, `no hello within ${context.config.helloTimeoutMs / 1000} s`, CloseCode.Timeout);
    }, context.config.helloTimeoutMs);
    this.ended = new Promise((done) =>
      peer.on('close', (code, reason) => {
        clearTimeout(helloDeadline);
        this.watch.stop();
        this.ending.abort(new RemoteError(ErrorCode.Protocol, 'the session ended'));
        // With a ticket, the end is an audit line too: who, which ticket's session, why it ended.
        this.log.info(this.grant ? 'audit: session ended' : 'session ended', {
          code,
          reason,
          ...(this.grant && { audit: 'session-end', user: this.grant.sub, session: this.grant.session }),
        });
        this.files.closeAll();
        this.app.close();
        void context.incoming.release(this).finally(done);
      }),
    );
  }

  /** The user the session's ticket names (sidecars that require tickets). */
  get user(): string | undefined {
    return this.grant?.sub;
  }

  /** The session id the ticket names (the operator's, not this sidecar's). */
  get ticketSession(): string | undefined {
    return this.grant?.session;
  }

  /** Whether the session has said hello (until then it only counts against the pending connections). */
  get isStarted(): boolean {
    return this.started;
  }

  /** While false, the client has been silent too long: its stolen traffic goes to the app. */
  get answering(): boolean {
    return this.watch.answering;
  }

  openIncoming(meta: IncomingMeta): MuxStream | undefined {
    if (!this.peer.isOpen) return undefined;
    const stream = this.peer.openStream();
    if (meta.mode === 'steal') {
      this.stolen.add(stream);
      stream.once('close', () => this.stolen.delete(stream));
    }
    this.peer.emitEvent('incoming', { ...meta, stream: stream.id });
    this.log.debug('incoming', { ...meta, stream: stream.id });
    return stream;
  }

  notice(level: 'info' | 'warn', message: string): void {
    if (this.peer.isOpen) this.peer.emitEvent('notice', { level, message });
  }

  /**
   * A client that stops answering has its stolen connections reset at once (their clients retry
   * and reach the app) rather than left hanging; when it answers again, it hears what happened.
   */
  private answeringChanged(answering: boolean, silentMs: number): void {
    const silence = `${Math.round(silentMs)} ms`;
    if (!answering) {
      this.resetWhileSilent = this.stolen.size;
      this.log.warn(`the client stopped answering (silent for ${silence}): its stolen traffic goes to the app`, { reset: this.stolen.size });
      const error = Object.assign(new Error('the client stopped answering'), { code: 'ECONNRESET' });
      for (const stream of this.stolen) stream.destroy(error);
      return;
    }
    this.log.info(`the client answers again after ${silence}: stealing resumes`);
    this.notice(
      'warn',
      `the sidecar heard nothing from this session for ${silence}: ${this.resetWhileSilent} stolen connection(s) were reset, and new ones went to the app meanwhile`,
    );
  }

  /** Ends the session from the sidecar's side (shutdown, `sessions kill`). */
  end(code: number, reason: string): void {
    this.peer.fail(code === CloseCode.Killed ? ErrorCode.Killed : code === CloseCode.Shutdown ? ErrorCode.Shutdown : ErrorCode.Protocol, reason, code);
  }

  private async handle(request: IncomingRequest): Promise<void> {
    const { id, method } = request;
    if (!isRequestType(method)) return this.refuse(id, method, ErrorCode.Invalid, `unknown request "${method}"`);
    if (!this.started && method !== 'hello') {
      this.peer.fail(ErrorCode.Protocol, `the first request must be hello, not ${method}`, CloseCode.Protocol);
      return;
    }
    const checked = requests[method].params.safeParse(request.params);
    if (!checked.success) return this.refuse(id, method, ErrorCode.Invalid, `invalid ${method}: ${describeIssues(checked.error)}`);
    const denied = this.grant && this.deniedByTicket(this.grant, method, checked.data);
    if (denied) {
      this.refusals.warn('audit: refused', { audit: 'refusal', user: this.grant!.sub, session: this.grant!.session, method, reason: denied });
      this.peer.replyError(id, 'EACCES', denied);
      return;
    }
    try {
      if (method.startsWith('fs.')) this.files.admit(method);
      const handler = this.handlers[method] as Handler<typeof method>;
      const answer = await this.inflow.serve(request.attachment?.length ?? 0, async () => handler(checked.data as never, request.attachment));
      this.peer.reply(id, answer.result, answer.attachment, answer.onSent);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const known = typeof code === 'string' && /^E[A-Z0-9_]+$/.test(code);
      if (!known) this.log.error('request failed', { method, error: (error as Error).stack });
      this.refuse(id, method, known ? code : ErrorCode.Internal, (error as Error).message);
    }
  }

  /** Why the session's ticket doesn't allow the request, or undefined when it does. */
  private deniedByTicket(grant: TicketClaims, method: RequestType, params: unknown): string | undefined {
    const by = grant.policies.length ? `by policy ${grant.policies.join(', ')}` : "by the session's ticket";
    if (grant.purpose === 'admin' && method !== 'sessions' && method !== 'sessions.kill') {
      return `${method}: an admin session (mirrord sessions) only lists and ends sessions`;
    }
    if (method.startsWith('fs.') && grant.allow.fs === 'none') return `${method}: access to the pod's files is blocked ${by}`;
    if (method === 'sessions.kill' && grant.allow.sessions?.kill !== 'any') {
      const victim = this.context.sessions().find((session) => session.id === (params as Params<'sessions.kill'>).id);
      if (victim && victim.user !== grant.sub) {
        return `session ${victim.id} is ${victim.user ?? 'another user'}'s: ending another user's session takes RBAC delete on mirrordsessions.operator.mirrord.dev in namespace ${grant.pod.namespace}`;
      }
    }
    if (method === 'subscribe') {
      const { port, mode, filter } = params as Params<'subscribe'>;
      const why = incomingRefusal(grant.allow.incoming, mode, filter);
      if (why) return `${mode} on port ${port} refused: ${why} ${by}`;
    }
    return undefined;
  }

  /**
   * The connect to make, once the ticket's outgoing rules allow its destination. The name is
   * resolved here, once: the rules and the connection see the same address.
   */
  private async allowedDestination(params: Params<'connect'>): Promise<Params<'connect'>> {
    const rules = this.grant?.allow.outgoing;
    if (!rules) return params;
    const named = isIP(params.host) === 0;
    const address = named ? (await resolveOne(params.host, this.lookups)).address : params.host;
    const names = named ? [params.host] : this.resolvedNames.namesOf(address);
    const why = outgoingRefusal(rules, { names, address, port: params.port });
    if (why) {
      const denied = `connect to ${params.host}:${params.port}${named ? ` (${address})` : ''} refused: ${why}`;
      this.refusals.warn('audit: refused', { audit: 'refusal', user: this.grant!.sub, session: this.grant!.session, method: 'connect', reason: denied });
      throw new RemoteError('EACCES', denied);
    }
    return { ...params, host: address };
  }

  /** Refuses a hello for its ticket: the client hears why, the session ends, the refusal is audited. */
  private refuseTicket(params: Params<'hello'>, why: string): never {
    this.log.warn('audit: refused', { audit: 'refusal', user: null, client: params.client ?? '', reason: why });
    this.peer.fail(ErrorCode.Auth, why, CloseCode.Auth);
    throw new RemoteError(ErrorCode.Auth, why);
  }

  /** The hello's ticket, verified and used, when the sidecar requires one. */
  private async checkTicket(params: Params<'hello'>): Promise<TicketClaims | undefined> {
    const { tickets } = this.context;
    if (!tickets) return undefined;
    if (params.ticket === undefined) {
      this.refuseTicket(
        params,
        atLeast(params.version, TICKETS_SINCE)
          ? 'this sidecar requires a ticket from the mirrord operator (auth: required) and the hello carries none: attach through the operator'
          : `this sidecar requires a ticket from the mirrord operator (auth: required), which protocol ${params.version} clients cannot present: upgrade the mirrord CLI (protocol ${TICKETS_SINCE} or later) and attach through the operator`,
      );
    }
    try {
      return await tickets.accept(params.ticket);
    } catch (error) {
      if ((error as { code?: unknown }).code !== ErrorCode.Auth) throw error;
      return this.refuseTicket(params, (error as Error).message);
    }
  }

  private refuse(id: number, method: string, code: string, message: string): void {
    this.refusals.warn(`refused ${method}: ${message}`, { code });
    this.peer.replyError(id, code, message);
  }

  private readonly handlers: { [T in RequestType]: Handler<T> } = {
    hello: async (params) => {
      if (this.started || this.greeting) throw new RemoteError(ErrorCode.Invalid, 'hello was already sent');
      const why = incompatibility(params.version);
      if (why) {
        this.log.warn(`refused hello: ${why}`);
        this.peer.fail(ErrorCode.Version, why, CloseCode.Version);
        throw new RemoteError(ErrorCode.Version, why);
      }
      const others = this.context.sessions().filter((session) => session !== this && session.isStarted).length;
      if (others >= LIMITS.sessions) {
        throw new RemoteError('EBUSY', `this sidecar already serves ${others} sessions, its limit; end one (mirrord sessions) and attach again`);
      }
      this.greeting = true;
      let grant: TicketClaims | undefined;
      try {
        grant = await this.checkTicket(params);
      } finally {
        this.greeting = false;
      }
      this.started = true;
      this.grant = grant;
      this.client = params.client ?? '';
      const { config } = this.context;
      if (grant) {
        // The ticket decides; a hello can only ask for less.
        this.files.writable = grant.allow.fs === 'write' && params.fs !== 'read';
        if (grant.allow.fs === 'read') this.files.readOnlyReason = `its ticket allows only reading, by policy ${grant.policies.join(', ') || '(none named)'}`;
        if (grant.allow.fsPaths) this.files.pathRules = new FsPathRules(grant.allow.fsPaths);
        this.log.info('audit: session started', {
          audit: 'session-start',
          user: grant.sub,
          groups: grant.groups,
          pod: grant.pod,
          session: grant.session,
          client: this.client,
          version: params.version,
          fs: this.files.writable ? 'write' : grant.allow.fs === 'none' ? 'none' : 'read',
          policies: grant.policies,
        });
      } else {
        // A client that doesn't say (an older one included) only reads.
        this.files.writable = params.fs === 'write';
        this.log.info('session started', { client: this.client, version: params.version, fs: params.fs ?? 'read' });
      }
      const result: Result<'hello'> = {
        sessionId: this.id,
        protocolVersion: PROTOCOL_VERSION,
        sidecarVersion: VERSION,
        pod: config.pod,
        appRoot: config.appRoot,
        mounts: config.appMounts,
        hostname: hostname(),
        ...(grant?.allow.fsPaths && { fsPaths: grant.allow.fsPaths }),
      };
      return { result };
    },
    subscribe: async ({ port, mode, filter }) => {
      await this.context.incoming.subscribe(this, { port, mode, filter });
      if (mode === 'steal') this.watch.start();
      this.log.info('subscribed', { port, mode, filter });
      return { result: { port } };
    },
    unsubscribe: async ({ port }) => {
      if (!(await this.context.incoming.unsubscribe(this, port))) {
        throw new RemoteError(ErrorCode.Invalid, `port ${port} is not subscribed by this session`);
      }
      return { result: {} };
    },
    connect: async (params) => {
      if (this.connections >= LIMITS.connectionsPerSession) {
        throw new RemoteError('EMFILE', `this session has ${this.connections} connections open from the pod, its limit: close some first`);
      }
      const stream = this.peer.adoptStream(params.stream);
      this.connections++;
      stream.once('close', () => this.connections--);
      try {
        const allowed = await this.allowedDestination(params);
        const result = await (params.protocol === 'tcp' ? connectTcp(allowed, stream, this.lookups) : connectUdp(allowed, stream, this.lookups));
        return { result };
      } catch (error) {
        stream.destroy();
        throw error;
      }
    },
    resolve: async (params) => {
      const result = await resolve(params, this.lookups);
      if (this.grant?.allow.outgoing)
        this.resolvedNames.remember(
          params.host,
          result.addresses.map(({ address }) => address),
        );
      return { result };
    },
    env: () => ({ result: { env: withoutExcluded(this.app.env, this.grant?.allow.env.exclude ?? []) } }),
    sessions: () => ({
      result: {
        sessions: this.context.sessions().map((session) => ({
          id: session.id,
          client: session.client,
          ...(session.user !== undefined && { user: session.user }),
          ...(session.ticketSession !== undefined && { ticket: session.ticketSession }),
          since: session.since.toISOString(),
          subscriptions: this.context.incoming.subscriptionsOf(session),
        })),
      },
    }),
    'sessions.kill': async ({ id }) => {
      const victim = this.context.sessions().find((session) => session.id === id);
      if (!victim) throw new RemoteError(ErrorCode.Invalid, `no session ${id} on this sidecar`);
      const by = this.client || `session ${this.id}`;
      this.log.info('ending a session on request', { victim: id, by });
      victim.end(CloseCode.Killed, `ended by mirrord sessions kill from ${by}`);
      // Answer once its rules are gone, so the operator's next listing (or request) sees a clean pod.
      await victim.ended;
      return { result: {} };
    },
    'fs.open': async (params) => ({ result: { ...(await this.files.open(params)), now: Date.now() } }),
    'fs.read': async (params) => {
      // What the read's buffer really takes (pooled ones are rounded up), not only what it asks for.
      const bytes = attachmentCapacity(params.length);
      await this.reading.take(bytes);
      let answer: Awaited<ReturnType<Files['read']>>;
      try {
        answer = await this.files.read(params);
      } catch (error) {
        this.reading.give(bytes);
        throw error;
      }
      const onSent = () => {
        recycleBuffer(answer.attachment);
        this.reading.give(bytes);
      };
      return { ...answer, onSent };
    },
    'fs.write': async (params, data) => ({ result: await this.files.write(params, data) }),
    'fs.seek': async (params) => ({ result: await this.files.seek(params) }),
    'fs.stat': async (params) => ({ result: await this.files.stat(params) }),
    'fs.fstat': async (params) => ({ result: await this.files.fstat(params) }),
    'fs.readdir': async (params) => ({ result: await this.files.readdir(params) }),
    'fs.readlink': async (params) => ({ result: await this.files.readlink(params) }),
    'fs.access': async (params) => ({ result: await this.files.access(params) }),
    'fs.close': async (params) => ({ result: await this.files.close(params) }),
    'fs.mkdir': async (params) => ({ result: await this.files.mkdir(params) }),
    'fs.rmdir': async (params) => ({ result: await this.files.rmdir(params) }),
    'fs.unlink': async (params) => ({ result: await this.files.unlink(params) }),
    'fs.rename': async (params) => ({ result: await this.files.rename(params) }),
    'fs.truncate': async (params) => ({ result: await this.files.truncate(params) }),
    'fs.chmod': async (params) => ({ result: await this.files.chmod(params) }),
    'fs.utimes': async (params) => ({ result: await this.files.utimes(params) }),
    'fs.statfs': async (params) => ({ result: await this.files.statfs(params) }),
  };
}
