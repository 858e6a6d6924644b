/**
 * What the user sees on stderr while attaching: short progress lines (silenced by --quiet)
 * and warnings (never silenced). The layer's proxy logs through the same lines, so that a
 * subscription or a failure it meets reads like the rest of the CLI's output.
 */
import type { Logger } from '../sidecar/log';

export interface Progress {
  step(text: string): void;
  warn(text: string): void;
  logger: Logger;
}

export function createProgress(quiet: boolean, write = (text: string) => void process.stderr.write(text), debug = process.env.MIRRORD_LOG_LEVEL === 'debug'): Progress {
  const line = (text: string, fields?: Record<string, unknown>) => {
    const extra = fields && Object.keys(fields).length ? ` ${Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}` : '';
    write(`mirrord: ${text}${extra}\n`);
  };
  const logger = (base: Record<string, unknown>): Logger => ({
    debug: (msg, fields) => debug && line(msg, { ...base, ...fields }),
    info: (msg, fields) => !quiet && line(msg, { ...base, ...fields }),
    warn: (msg, fields) => line(`warning: ${msg}`, { ...base, ...fields }),
    error: (msg, fields) => line(`error: ${msg}`, { ...base, ...fields }),
    child: (fields) => logger({ ...base, ...fields }),
  });
  return {
    step: (text) => !quiet && line(text),
    warn: (text) => line(`warning: ${text}`),
    logger: logger({}),
  };
}
