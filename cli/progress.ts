/**
 * What the user sees on stderr while attaching: short progress lines (silenced by --quiet)
 * and warnings (never silenced). The layer's proxy logs through the same lines, so that a
 * subscription or a failure it meets reads like the rest of the CLI's output.
 */
import type { Logger } from '../common/log';

export interface Progress {
  step(text: string): void;
  warn(text: string): void;
  /** Ends the running step (✓, or ✗ when it failed); later lines are plain. Idempotent. */
  done(ok?: boolean): void;
  logger: Logger;
}

const FRAMES = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
const CLEAR_LINE = '\r\x1b[K';

export function createProgress(
  quiet: boolean,
  write = (text: string) => void process.stderr.write(text),
  debug = process.env.MIRRORD_LOG_LEVEL === 'debug',
  tty = process.stderr.isTTY === true,
): Progress {
  // On a terminal the running step spins and turns into ✓ when the next one starts; elsewhere
  // (logs, CI, pipes) every step is a plain line.
  let spinning: { text: string; frame: number; timer: NodeJS.Timeout } | undefined;
  const draw = () => spinning && write(`${CLEAR_LINE}${FRAMES[spinning.frame % FRAMES.length]} mirrord: ${spinning.text}`);
  const settle = (mark: string) => {
    if (!spinning) return;
    clearInterval(spinning.timer);
    write(`${CLEAR_LINE}${mark} mirrord: ${spinning.text}\n`);
    spinning = undefined;
  };
  const line = (text: string, fields?: Record<string, unknown>) => {
    const extra =
      fields && Object.keys(fields).length
        ? ` ${Object.entries(fields)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ')}`
        : '';
    if (spinning) write(CLEAR_LINE);
    write(`mirrord: ${text}${extra}\n`);
    draw();
  };
  const logger = (base: Record<string, unknown>): Logger => ({
    debug: (msg, fields) => debug && line(msg, { ...base, ...fields }),
    info: (msg, fields) => !quiet && line(msg, { ...base, ...fields }),
    warn: (msg, fields) => line(`warning: ${msg}`, { ...base, ...fields }),
    error: (msg, fields) => line(`error: ${msg}`, { ...base, ...fields }),
    child: (fields) => logger({ ...base, ...fields }),
  });
  return {
    step: (text) => {
      if (quiet) return;
      if (!tty) return line(text);
      settle('✓');
      spinning = { text, frame: 0, timer: setInterval(() => (spinning && spinning.frame++, draw()), 80) };
      spinning.timer.unref();
      draw();
    },
    warn: (text) => line(`warning: ${text}`),
    done: (ok = true) => settle(ok ? '✓' : '✗'),
    logger: logger({}),
  };
}
