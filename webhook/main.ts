#!/usr/bin/env node
/** mirrord-webhook: the mutating admission webhook that injects the mirrord agent sidecar. */
import { stopOnSignals } from '../common/graceful-stop';
import { createLogger } from '../common/log';
import { loadWebhookConfig, type WebhookConfig } from './config';
import { connectToCluster } from './kube/cluster';
import { startWebhook } from './webhook';

async function main(): Promise<void> {
  let log = createLogger('info', { component: 'webhook' });
  process.on('uncaughtException', (error) => log.error('unexpected error (kept running)', { error: error.stack }));
  process.on('unhandledRejection', (error) => log.error('unexpected rejection (kept running)', { error: String(error) }));
  let config: WebhookConfig;
  try {
    config = loadWebhookConfig();
    log = createLogger(config.logLevel, { component: 'webhook' });
  } catch (error) {
    log.error(`webhook failed to start: ${(error as Error).message}`);
    process.exit(1);
  }
  // With mounted certificates, a fixed sidecar kind and auth, and no namespace defaults, the
  // webhook never calls the API server.
  const needsCluster = config.certificateMode === 'self-managed' || config.nativeSidecar === 'auto' || config.namespaceAnnotations || config.auth === 'auto';
  const cluster = needsCluster ? connectToCluster() : undefined;
  const webhook = await startWebhook(config, log, cluster);

  process.on('SIGHUP', () => void webhook.rotate());
  // Readiness fails at once; endpoints are removed while we still answer in-flight calls.
  stopOnSignals(log, (drainMs) => webhook.stop(drainMs));
}

main().catch((error: Error) => {
  createLogger('info', { component: 'webhook' }).error(`webhook failed to start: ${error.message}`);
  process.exit(1);
});
