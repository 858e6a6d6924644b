/**
 * The webhook's HTTPS server: POST /mutate, GET /healthz, /readyz, /metrics. Bounded in every
 * way a misbehaving client could exploit (body size, time to send it, time to answer), and a
 * bad request never takes the process down.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../common/log';
import { admit, type InjectionContextFor } from './admission';
import type { ServingPair } from '../common/certs/tls-material';
import { Metrics, METRICS_CONTENT_TYPE } from './metrics';

export interface ServerOptions {
  host: string;
  port: number;
  tls: ServingPair;
  contextFor: InjectionContextFor;
  log: Logger;
  metrics?: Metrics;
  /** Ready to serve admissions (e.g. certificates stored, caBundle current). */
  isReady?: () => boolean;
  /** A Pod with large env and annotations fits many times over; the API server's own limit is 3 MiB. */
  bodyLimitBytes?: number;
  /** Whole request, headers included; the API server gives up after the webhook's timeoutSeconds anyway. */
  requestTimeoutMs?: number;
}

export interface WebhookServer {
  server: Server;
  port: number;
  /** Serves a new certificate to new connections from now on; no restart. */
  reloadCertificate(tls: ServingPair): void;
  close(): Promise<void>;
}

export async function startWebhookServer(options: ServerOptions): Promise<WebhookServer> {
  const metrics = options.metrics ?? new Metrics();
  const app = createApp(options, metrics);
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const server = createServer(
    {
      cert: options.tls.certPem,
      key: options.tls.keyPem,
      minVersion: 'TLSv1.2',
      // A client that opens a connection and never finishes the handshake.
      handshakeTimeout: Math.min(requestTimeoutMs, 10_000),
      // Node checks request deadlines on this period (30 s by default): a stalled client
      // would hold its connection that long past the deadline.
      connectionsCheckingInterval: Math.max(100, Math.min(1_000, requestTimeoutMs / 2)),
    },
    app,
  );
  server.requestTimeout = requestTimeoutMs;
  server.headersTimeout = Math.min(requestTimeoutMs, 5_000);
  // The API server reuses connections to webhooks; an idle one is closed after this.
  server.keepAliveTimeout = 30_000;
  server.setTimeout(server.keepAliveTimeout + 5_000, (socket) => socket.destroy());
  server.on('tlsClientError', (error) => options.log.debug('TLS client error', { error: error.message }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    reloadCertificate: (tls) => server.setSecureContext({ cert: tls.certPem, key: tls.keyPem, minVersion: 'TLSv1.2' }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function createApp(options: ServerOptions, metrics: Metrics): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Raw bytes for any content type: the API server sends application/json, but a wrong or
  // missing Content-Type must get a clear answer, not an empty body.
  const body = express.raw({ type: () => true, limit: options.bodyLimitBytes ?? 1024 * 1024 });

  const markStart = (_req: Request, res: Response, next: NextFunction) => {
    res.locals.started = process.hrtime.bigint();
    next();
  };

  app.post('/mutate', markStart, body, (req: Request, res: Response) => {
    const review = parseJson(req.body);
    const outcome = admit(review, options.contextFor);
    metrics.observeLatency(Number(process.hrtime.bigint() - (res.locals.started as bigint)) / 1e9);
    metrics.request(outcome.status);
    const log = options.log.child(outcome.status === 200 ? { uid: outcome.body.response.uid, ...podOf(review) } : {});
    const warnings = outcome.status === 200 ? outcome.body.response.warnings : undefined;
    switch (outcome.result) {
      case 'injected':
        metrics.injected();
        log.info('injected the sidecar');
        if (warnings) log.warn('the pod has annotations to fix', { warnings });
        break;
      case 'skipped':
        metrics.skipped(outcome.reason);
        log.debug('left the pod unchanged', { reason: outcome.reason });
        if (warnings) log.warn('left the pod unchanged', { reason: outcome.reason, warnings });
        break;
      case 'invalid':
        metrics.error('invalid-request');
        log.warn('invalid admission request', { problem: outcome.problem });
        break;
      case 'error':
        metrics.error('internal');
        log.error('injection failed; the pod was allowed unchanged', { problem: outcome.problem });
        break;
    }
    res.status(outcome.status).json(outcome.body);
  });

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/readyz', (_req, res) => {
    const ready = options.isReady?.() ?? true;
    res
      .status(ready ? 200 : 503)
      .type('text/plain')
      .send(ready ? 'ready\n' : 'not ready\n');
  });
  app.get('/metrics', (_req, res) => {
    res.type(METRICS_CONTENT_TYPE).send(metrics.render());
  });

  app.use((_req, res) => {
    res.status(404).json({ error: 'not found: the webhook serves POST /mutate, GET /healthz, /readyz and /metrics' });
  });
  // Body-parser errors (too large, bad encoding, client aborted) land here; so would any bug.
  app.use((error: Error & { status?: number; type?: string }, req: Request, res: Response, _next: NextFunction) => {
    const status = typeof error.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (req.path === '/mutate') metrics.request(status);
    metrics.error(status === 500 ? 'internal' : 'invalid-request');
    options.log.warn('request failed', { path: req.path, status, error: error.message });
    if (!res.headersSent) res.status(status).json({ error: status === 413 ? 'the body is too large' : error.message });
  });
  return app;
}

/** Which pod a log line is about; a pod from a Deployment has only its generateName yet. */
function podOf(review: unknown): Record<string, string> {
  const request = (review as { request?: { namespace?: unknown; object?: { metadata?: { name?: unknown; generateName?: unknown } } } })?.request;
  const metadata = request?.object?.metadata;
  const fields: Record<string, string> = {};
  if (typeof request?.namespace === 'string') fields.namespace = request.namespace;
  if (typeof metadata?.name === 'string' && metadata.name) fields.pod = metadata.name;
  else if (typeof metadata?.generateName === 'string') fields.pod = `${metadata.generateName}*`;
  return fields;
}

function parseJson(body: unknown): unknown {
  if (!Buffer.isBuffer(body)) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
