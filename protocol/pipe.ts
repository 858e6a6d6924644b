/** Joins two byte streams both ways, keeping half-closes, and tears both down on an abort. */
import type { Duplex } from 'node:stream';

export function pipeBothWays(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  abortTogether(a, b);
  abortTogether(b, a);
}

/**
 * Feeds `from` into `to` one way only: what `to` answers is read and dropped, and its end ends
 * `from`'s writable side. For a mirrored copy, whose answers the sidecar would only drop: they
 * are never sent back.
 */
export function pipeOneWay(from: Duplex, to: Duplex): void {
  from.pipe(to);
  to.resume();
  to.once('end', () => from.end());
  abortTogether(from, to);
  abortTogether(to, from);
}

/** When `from` ends abnormally (error, reset, destroyed before its end), `to` is destroyed too. */
export function abortTogether(from: Duplex, to: Duplex): void {
  from.on('error', () => {
    /* surfaces as an abnormal close below */
  });
  from.once('close', () => {
    if (from.errored || !from.readableEnded) to.destroy();
  });
}
