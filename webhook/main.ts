#!/usr/bin/env node
/** mirrord-webhook: the mutating admission webhook that injects the mirrord agent sidecar. */
import { createLogger, parseLevel, type Logger } from '../sidecar/log';
import { readServingPair, watchServingPair } from './certs/file-source';
import { CertificateManager } from './certs/manager';
import { serviceDnsNames } from './certs/tls-material';
import { loadWebhookConfig, type WebhookConfig } from './config';
import { connectToCluster, type Cluster } from './kube/cluster';
import { Metrics } from './metrics';
import { startWebhookServer, type WebhookServer } from './server';

async function main(): Promise<void> {
  let log = createLogger('info', { component: 'webhook' });
  process.on('uncaughtException', (error) => log.error('unexpected error (kept running)', { error: error.stack }));
  process.on('unhandledRejection', (error) => log.error('unexpected rejection (kept running)', { error: String(error) }));
  let config: WebhookConfig;
  try {
    config = loadWebhookConfig();
    log = createLogger(parseLevel(process.env.MIRRORD_LOG_LEVEL), { component: 'webhook' });
  } catch (error) {
    log.error(`webhook failed to start: ${(error as Error).message}`);
    process.exit(1);
  }
  // With mounted certificates and a fixed sidecar kind, the webhook never calls the API server.
  const cluster = config.certificateMode === 'self-managed' || config.nativeSidecar === 'auto' ? connectToCluster() : undefined;
  const metrics = new Metrics();
  const nativeSidecar = config.nativeSidecar === 'auto' ? await detectNativeSidecars(cluster!, log) : config.nativeSidecar;
  log.info('starting', { port: config.port, certificates: config.certificateMode, nativeSidecar, image: config.sidecar.image });

  let server: WebhookServer | undefined;
  let stopping = false;
  const certificates = await startCertificates(config, cluster, log, metrics, (pair) => server?.reloadCertificate(pair));
  server = await startWebhookServer({
    host: config.host,
    port: config.port,
    tls: certificates.initial,
    log,
    metrics,
    isReady: () => !stopping && certificates.ready(),
    contextFor: (namespace) => ({ namespace, webhookNamespace: config.namespace, settings: { ...config.sidecar, nativeSidecar } }),
  });
  log.info('serving', { port: server.port });

  process.on('SIGHUP', () => void certificates.rotate());
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    certificates.stop();
    // Endpoints are removed while we still answer: the API server's in-flight calls finish.
    setTimeout(() => void server!.close().then(() => process.exit(0)), 3_000).unref();
    setTimeout(() => process.exit(1), 15_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** A wrong "no" only costs the native-sidecar niceties; a regular container works everywhere. */
async function detectNativeSidecars(cluster: Cluster, log: Logger): Promise<boolean> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    try {
      return await cluster.nativeSidecars();
    } catch (error) {
      log.warn('cannot read the API server version', { attempt, error: (error as Error).message });
      await sleep(attempt * 1_000);
    }
  }
  log.warn('injecting the sidecar as a regular container: the API server version is unknown');
  return false;
}

interface RunningCertificates {
  initial: { certPem: string; keyPem: string };
  ready(): boolean;
  rotate(): Promise<void>;
  stop(): void;
}

async function startCertificates(
  config: WebhookConfig,
  cluster: Cluster | undefined,
  log: Logger,
  metrics: Metrics,
  serve: (pair: { certPem: string; keyPem: string }) => void,
): Promise<RunningCertificates> {
  if (config.certificateMode === 'files') {
    const initial = await retry(() => readServingPair(config.certificateDir), 'reading the mounted certificate', log);
    const stopWatching = watchServingPair(config.certificateDir, initial, serve, log);
    return { initial, ready: () => true, rotate: async () => undefined, stop: stopWatching };
  }
  const kube = cluster!;
  const manager = new CertificateManager({
    store: kube.secretStore(config.namespace, config.secret),
    dnsNames: serviceDnsNames(config.service, config.namespace),
    serve,
    publishCaBundle: (bundle) => kube.publishCaBundle(config.webhookConfiguration, bundle),
    log,
    onError: () => metrics.error('certificates'),
  });
  // Serve as soon as there is a certificate; readiness waits until the API server trusts it.
  while (!manager.material) {
    await manager.sync().catch((error: Error) => {
      metrics.error('certificates');
      log.error('cannot set up the certificates; retrying', { error: error.message });
      return sleep(5_000);
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

async function retry<T>(action: () => Promise<T>, what: string, log: Logger): Promise<T> {
  for (;;) {
    try {
      return await action();
    } catch (error) {
      log.warn(`${what} failed; retrying`, { error: (error as Error).message });
      await sleep(5_000);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().catch((error: Error) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', msg: `webhook failed to start: ${error.message}`, component: 'webhook' })}\n`);
  process.exit(1);
});
