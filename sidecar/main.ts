#!/usr/bin/env node
/** mirrord-sidecar: the agent that runs beside the app in its pod. */
import { loadConfig } from './config';
import { createLogger } from '../common/log';
import { Sidecar } from './server';

async function main(): Promise<void> {
  // More threads than libuv's 4 for file operations and name look-ups (which may take half of
  // them), read when the pool first starts: nothing has used it yet.
  process.env.UV_THREADPOOL_SIZE ||= '24';
  let log = createLogger('info');
  let sidecar: Sidecar | undefined;
  process.on('uncaughtException', (error) => log.error('unexpected error (kept running)', { error: error.stack }));
  process.on('unhandledRejection', (error) => log.error('unexpected rejection (kept running)', { error: String(error) }));
  try {
    const config = loadConfig();
    log = createLogger(config.logLevel, { component: 'sidecar' });
    sidecar = await Sidecar.start(config, log);
  } catch (error) {
    log.error(`sidecar failed to start: ${(error as Error).message}`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    const deadline = setTimeout(() => process.exit(1), 10_000);
    void sidecar!.stop(`sidecar received ${signal}`).then(() => {
      clearTimeout(deadline);
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
