/**
 * The operator's HTTPS server: the aggregated API under /apis (every request authenticated by
 * the front proxy's client certificate before its identity headers are read), and /healthz,
 * /readyz for the kubelet. Bodies and time are bounded: the API server is the only client, but a
 * pod of the cluster can reach the Service too.
 */
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../../common/log';
import type { ServingPair } from '../../common/certs/tls-material';
import { parseTicketObject, SESSIONS_RESOURCE, TICKETS_RESOURCE, OPERATOR_API_VERSION, OPERATOR_GROUP, type TicketObject } from '../../protocol/operator-api';
import { findSession, listSessions, type SidecarAccess } from '../sessions/sessions';
import { sessionTable, wantsTable } from './session-table';
import { FrontProxyTrust } from '../auth/front-proxy';
import type { RequestHeaderConfig } from '../auth/request-header';
import { ApiFailure, type Caller } from '../tickets/api-failure';
import { issueTicket, type IssueContext } from '../tickets/issue';
import { withinDeadline } from '../deadline';
import { API_GROUP, API_GROUP_LIST, API_RESOURCE_LIST } from './discovery';
import { failureStatus } from './status';

export interface OperatorServerOptions {
  host: string;
  port: number;
  serving: ServingPair;
  requestHeader: RequestHeaderConfig;
  issue: IssueContext;
  sessions: SidecarAccess;
  log: Logger;
  isReady: () => boolean;
}

export interface OperatorServer {
  port: number;
  trust: FrontProxyTrust;
  close(): Promise<void>;
}

/** How long a request may take: the API calls and sidecars behind it can stall, and the aggregator's caller waits. */
const REQUEST_DEADLINE_MS = 10_000;

const withinRequestDeadline = <T>(work: Promise<T>) =>
  withinDeadline(
    work,
    REQUEST_DEADLINE_MS,
    () =>
      new ApiFailure(503, `the operator could not answer within ${REQUEST_DEADLINE_MS / 1000} s (the API server or a sidecar is slow)`, 'ServiceUnavailable'),
  );

function fail(res: Response, code: number, reason: string, message: string): void {
  res.status(code).json(failureStatus(code, reason, message));
}

function createApp(options: OperatorServerOptions, trust: () => FrontProxyTrust): express.Express {
  const { log } = options;
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => void res.type('text/plain').send('ok'));
  app.get('/readyz', (_req, res) => void (options.isReady() ? res.type('text/plain').send('ok') : res.status(503).type('text/plain').send('not ready')));

  // Everything else is the API: only the front proxy may call it, for an authenticated user.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const identity = trust().authenticate(req);
    if (!identity.ok) {
      log.warn('refused an unauthenticated request', { path: req.path, reason: identity.reason });
      return fail(res, 401, 'Unauthorized', identity.reason);
    }
    res.locals.caller = { user: identity.user, groups: identity.groups } satisfies Caller;
    next();
  });
  app.get('/apis', (_req, res) => void res.json(API_GROUP_LIST));
  app.get(`/apis/${OPERATOR_GROUP}`, (_req, res) => void res.json(API_GROUP));
  app.get(`/apis/${OPERATOR_API_VERSION}`, (_req, res) => void res.json(API_RESOURCE_LIST));
  app.post(`/apis/${OPERATOR_API_VERSION}/namespaces/:namespace/${TICKETS_RESOURCE}`, express.json({ limit: '64kb' }), async (req: Request, res: Response) => {
    const caller = res.locals.caller as Caller;
    const namespace = String(req.params.namespace);
    let ticket: TicketObject;
    try {
      ticket = parseTicketObject(req.body);
    } catch (error) {
      return fail(res, 400, 'BadRequest', (error as Error).message);
    }
    try {
      const status = await withinRequestDeadline(issueTicket(options.issue, caller, namespace, ticket.spec));
      log.info('audit: ticket issued', {
        audit: 'ticket',
        user: caller.user,
        groups: caller.groups,
        namespace,
        target: ticket.spec.target,
        pod: ticket.spec.pod,
        session: status.session,
        policies: status.policies,
      });
      res.status(201).json({ ...ticket, metadata: { namespace, name: status.session }, status });
    } catch (error) {
      if (error instanceof ApiFailure) {
        log.info('audit: refused', {
          audit: 'refusal',
          user: caller.user,
          namespace,
          target: ticket.spec.target,
          pod: ticket.spec.pod,
          status: error.status,
          reason: error.message,
        });
        return fail(res, error.status, error.reason, error.message);
      }
      log.error('ticket request failed', { error: (error as Error).stack });
      fail(res, 500, 'InternalError', `the operator could not issue a ticket: ${(error as Error).message}`);
    }
  });
  const sessionsPath = `/apis/${OPERATOR_API_VERSION}/namespaces/:namespace/${SESSIONS_RESOURCE}`;
  const answer = async (res: Response, work: () => Promise<unknown>) => {
    try {
      res.json(await withinRequestDeadline(work()));
    } catch (error) {
      if (error instanceof ApiFailure) return fail(res, error.status, error.reason, error.message);
      log.error('sessions request failed', { error: (error as Error).stack });
      fail(res, 500, 'InternalError', (error as Error).message);
    }
  };
  const list = (req: Request, res: Response, namespace?: string) =>
    answer(res, async () => {
      const listed = await listSessions(options.sessions, namespace);
      return wantsTable(req.headers.accept) ? sessionTable(listed.items) : listed;
    });
  app.get(`/apis/${OPERATOR_API_VERSION}/${SESSIONS_RESOURCE}`, (req, res) => list(req, res));
  app.get(sessionsPath, (req, res) => list(req, res, String(req.params.namespace)));
  app.get(`${sessionsPath}/:name`, (req, res) =>
    answer(res, async () => {
      const { session } = await findSession(options.sessions, String(req.params.namespace), String(req.params.name));
      return wantsTable(req.headers.accept) ? sessionTable([session]) : session;
    }),
  );
  // RBAC `delete` on mirrordsessions was checked by the API server before the call came here.
  app.delete(`${sessionsPath}/:name`, (req, res) =>
    answer(res, async () => {
      const caller = res.locals.caller as Caller;
      const { pod, session } = await findSession(options.sessions, String(req.params.namespace), String(req.params.name));
      await options.sessions.endSession(pod, session.metadata.name);
      log.info('audit: session ended', {
        audit: 'session-kill',
        user: caller.user,
        session: session.metadata.name,
        of: session.spec.user,
        pod: session.spec.pod,
      });
      return session;
    }),
  );
  app.use((req: Request, res: Response) => fail(res, 404, 'NotFound', `the mirrord operator serves no ${req.method} ${req.path}`));
  // A body that isn't JSON, or too large: the client's fault, answered as the API server would.
  app.use((error: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    const code = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
    fail(res, code, code === 413 ? 'RequestEntityTooLarge' : code < 500 ? 'BadRequest' : 'InternalError', error.message);
  });
  return app;
}

export async function startOperatorServer(options: OperatorServerOptions): Promise<OperatorServer> {
  let trust: FrontProxyTrust | undefined;
  const app = createApp(options, () => trust!);
  trust = new FrontProxyTrust(options.serving, options.requestHeader, app);
  const { server } = trust;
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 30_000;
  server.on('tlsClientError', (error) => options.log.debug('TLS client error', { error: error.message }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    trust,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
