/**
 * The running webhook: certificates (self-managed or mounted), the sidecar kind for this
 * cluster, and the HTTPS server, wired together. main.ts only adds the process around it.
 */
import type { Logger } from '../common/log';
import { readServingPair, watchServingPair } from '../common/certs/file-source';
import type { ServingPair } from '../common/certs/tls-material';
import { CertificateManager } from '../common/certs/manager';
import { serviceDnsNames } from '../common/certs/tls-material';
import type { WebhookConfig } from './config';
import type { Cluster } from './kube/cluster';
import { Metrics } from './metrics';
import { OperatorPresence } from './operator-presence';
import { startWebhookServer, type WebhookServer } from './server';

export interface RunningWebhook {
  server: WebhookServer;
  nativeSidecar: boolean;
  /** Replaces the serving certificate now (self-managed mode). */
  rotate(): Promise<void>;
  /** Not ready from now on, then closed after drainMs: in-flight calls finish. */
  stop(drainMs?: number): Promise<void>;
}

export interface Timing {
  retryAfterMs: number;
  checkEveryMs: number;
  filePollMs: number;
  /** How often the operator's presence is looked at. */
  presencePollMs: number;
}

const DEFAULT_TIMING: Timing = { retryAfterMs: 5_000, checkEveryMs: 3_600_000, filePollMs: 10_000, presencePollMs: 5_000 };

/** cluster may be undefined only with mounted certificates and a fixed sidecar kind. */
export async function startWebhook(config: WebhookConfig, log: Logger, cluster: Cluster | undefined, timing: Timing = DEFAULT_TIMING): Promise<RunningWebhook> {
  const metrics = new Metrics();
  const nativeSidecar = config.nativeSidecar === 'auto' ? await detectNativeSidecars(need(cluster), log, timing) : config.nativeSidecar;
  log.info('starting', { port: config.port, certificates: config.certificateMode, nativeSidecar, image: config.sidecar.image });

  const namespaceAnnotations = cluster && config.namespaceAnnotations ? cluster.watchNamespaceAnnotations(log) : () => undefined;
  const presence = config.auth === 'auto' ? new OperatorPresence(() => need(cluster).operatorState(config.namespace), log, timing.presencePollMs) : undefined;
  presence?.start();
  const auth = () => (config.auth === 'auto' ? presence!.auth : config.auth);
  let server: WebhookServer | undefined;
  let stopping = false;
  const serve = (pair: ServingPair) => server?.reloadCertificate(pair);
  const certificates =
    config.certificateMode === 'files'
      ? await mountedCertificates(config, log, serve, timing)
      : await selfManagedCertificates(config, need(cluster), log, metrics, serve, timing);
  server = await startWebhookServer({
    host: config.host,
    port: config.port,
    tls: certificates.initial,
    log,
    metrics,
    isReady: () => !stopping && certificates.ready() && auth() !== undefined,
    contextFor: (namespace) => ({
      namespace,
      webhookNamespace: config.namespace,
      // Not ready until the auth is known, so the API server sends no admission before then.
      settings: { ...config.sidecar, nativeSidecar, auth: auth() ?? 'required', authKeys: presence?.keys },
      namespaceAnnotations: namespaceAnnotations(namespace),
    }),
  });
  log.info('serving', { port: server.port });
  const running = server;
  return {
    server: running,
    nativeSidecar,
    rotate: certificates.rotate,
    stop: async (drainMs = 0) => {
      stopping = true;
      certificates.stop();
      presence?.stop();
      await sleep(drainMs);
      await running.close();
    },
  };
}

interface Certificates {
  initial: ServingPair;
  ready(): boolean;
  rotate(): Promise<void>;
  stop(): void;
}

async function mountedCertificates(config: WebhookConfig, log: Logger, serve: (pair: ServingPair) => void, timing: Timing): Promise<Certificates> {
  const initial = await retry(() => readServingPair(config.certificateDir), 'reading the mounted certificate', log, timing);
  const stop = watchServingPair(config.certificateDir, initial, serve, log, timing.filePollMs);
  // Whoever mounts the files (cert-manager) also keeps the caBundle current.
  return { initial, ready: () => true, rotate: async () => undefined, stop };
}

async function selfManagedCertificates(
  config: WebhookConfig,
  cluster: Cluster,
  log: Logger,
  metrics: Metrics,
  serve: (pair: ServingPair) => void,
  timing: Timing,
): Promise<Certificates> {
  const manager = new CertificateManager({
    store: cluster.secretStore(config.namespace, config.secret),
    dnsNames: serviceDnsNames(config.service, config.namespace),
    serve,
    publishCaBundle: (bundle) => cluster.publishCaBundle(config.webhookConfiguration, bundle),
    log,
    checkEveryMs: timing.checkEveryMs,
    retryAfterMs: timing.retryAfterMs,
    onError: () => metrics.error('certificates'),
  });
  // Serve as soon as there is a certificate; readiness waits until the API server trusts it.
  while (!manager.material) {
    await manager.sync().catch((error: Error) => {
      metrics.error('certificates');
      log.error('cannot set up the certificates; retrying', { error: error.message });
      if (!manager.material) return sleep(timing.retryAfterMs);
    });
  }
  manager.startPeriodic();
  return {
    initial: manager.material,
    ready: () => manager.ready,
    rotate: () => manager.rotate().catch((error: Error) => log.error('rotation failed', { error: error.message })),
    stop: () => manager.stop(),
  };
}

/** A wrong "no" only costs the native-sidecar niceties; a regular container works everywhere. */
async function detectNativeSidecars(cluster: Cluster, log: Logger, timing: Timing): Promise<boolean> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      return await cluster.nativeSidecars();
    } catch (error) {
      log.warn('cannot read the API server version', { attempt, error: (error as Error).message });
      await sleep(Math.min(attempt * 1_000, timing.retryAfterMs));
    }
  }
  log.warn('injecting the sidecar as a regular container: the API server version is unknown');
  return false;
}

async function retry<T>(action: () => Promise<T>, what: string, log: Logger, timing: Timing): Promise<T> {
  for (;;) {
    try {
      return await action();
    } catch (error) {
      log.warn(`${what} failed; retrying`, { error: (error as Error).message });
      await sleep(timing.retryAfterMs);
    }
  }
}

function need(cluster: Cluster | undefined): Cluster {
  if (!cluster) throw new Error('this configuration needs the Kubernetes API');
  return cluster;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
