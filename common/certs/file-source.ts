/**
 * Certificates from files, for when something else issues them (cert-manager writes a
 * Secret, the Deployment mounts it). The kubelet updates a mounted Secret by swapping a
 * symlink, which file watchers see unreliably; comparing the contents on a timer is certain.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log';
import { isWholePair, samePair, type ServingPair } from './tls-material';

export async function readServingPair(dir: string): Promise<ServingPair> {
  const [certPem, keyPem] = await Promise.all([readFile(join(dir, 'tls.crt'), 'utf8'), readFile(join(dir, 'tls.key'), 'utf8')]);
  return { certPem, keyPem };
}

/** Calls onChange with each new pair; a half-written or unreadable pair is skipped until whole. */
export function watchServingPair(dir: string, current: ServingPair, onChange: (pair: ServingPair) => void, log: Logger, everyMs = 10_000): () => void {
  let last = current;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    readServingPair(dir)
      .then((pair) => {
        if (samePair(pair, last)) return;
        // Caught between the writes of the two files, or in the middle of one.
        if (!isWholePair(pair)) {
          log.debug('the mounted certificate is being replaced; waiting', { dir });
          return;
        }
        try {
          onChange(pair);
          last = pair;
          log.info('serving the certificate from the mounted files', { dir });
        } catch (error) {
          log.warn('the mounted certificate is not usable yet', { dir, error: (error as Error).message });
        }
      })
      .catch((error: Error) => log.warn('cannot read the mounted certificate', { dir, error: error.message }))
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
