#!/usr/bin/env node
/** mirrord-operator: the team control plane, an aggregated API that issues session tickets. */
import { stopOnSignals } from '../common/graceful-stop';
import { createLogger, type Logger } from '../common/log';
import { loadOperatorConfig } from './config';
import { connectToCluster } from './kube/cluster';
import { startOperator } from './operator';

async function main(): Promise<void> {
  let log: Logger = createLogger('info', { component: 'operator' });
  process.on('uncaughtException', (error) => log.error('unexpected error (kept running)', { error: error.stack }));
  process.on('unhandledRejection', (error) => log.error('unexpected rejection (kept running)', { error: String(error) }));
  const config = loadOperatorConfig();
  log = createLogger(config.logLevel, { component: 'operator' });
  const operator = await startOperator(config, connectToCluster(), log);
  // Readiness fails at once; the API server stops routing here while in-flight calls finish.
  stopOnSignals(log, (drainMs) => operator.stop(drainMs));
}

main().catch((error: Error) => {
  createLogger('info', { component: 'operator' }).error(`operator failed to start: ${error.message}`);
  process.exit(1);
});
