/**
 * Keeps a server's certificates current (the webhook's, the operator's): loads them from the
 * store (or creates them), renews them ahead of expiry, adopts what another replica saved, hands
 * the serving pair to the HTTPS server and the CA bundle to whatever the API server trusts it by
 * (the webhook configuration, the APIService). Runs at start and then
 * periodically; a failed round is retried sooner, and the last good certificate keeps serving.
 *
 * A new pair comes with a new CA, so the order matters: the bundle with the new CA is
 * published first, and the new certificate is served only once the API server trusts it.
 */
import type { Logger } from '../log';
import { DEFAULT_POLICY, successor, type RenewalPolicy } from './renewal';
import type { CertificateStore, Stored } from './store';
import { samePair, type TlsMaterial } from './tls-material';

export interface CertificateManagerOptions {
  store: CertificateStore;
  dnsNames: string[];
  /** Serve this pair from now on. */
  serve: (material: TlsMaterial) => void;
  /** Make the API server trust this bundle (a webhook configuration's or an APIService's caBundle). */
  publishCaBundle: (caBundlePem: string) => Promise<void>;
  log: Logger;
  policy?: RenewalPolicy;
  now?: () => Date;
  checkEveryMs?: number;
  retryAfterMs?: number;
  /**
   * After publishing a bundle with a new CA, how long to wait before serving a certificate it
   * issued: each API server learns the new caBundle through a watch, a moment later.
   */
  settleMs?: number;
  onError?: (error: Error) => void;
}

export class CertificateManager {
  private current: (Stored & { material: TlsMaterial }) | undefined;
  private publishedBundle: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: CertificateManagerOptions) {}

  /** The pair being served; undefined until the first round succeeded. */
  get material(): TlsMaterial | undefined {
    return this.current?.material;
  }

  /** Served and trusted: the server can take the API server's calls. */
  get ready(): boolean {
    return this.current !== undefined && this.publishedBundle === this.current.material.caBundlePem;
  }

  /** One round now; rejects if it failed (the caller decides whether to retry). */
  sync(force = false): Promise<void> {
    // Rounds never overlap: a timer tick during a slow round waits for it.
    const round = (this.running ?? Promise.resolve()).then(() => this.round(force));
    this.running = round.catch(() => undefined);
    return round;
  }

  /** Replaces the serving certificate now, whatever its expiry. */
  rotate(): Promise<void> {
    return this.sync(true);
  }

  /** Checks periodically from now on; soon if the last round left us not ready. */
  startPeriodic(): void {
    this.schedule(this.ready ? (this.options.checkEveryMs ?? 3_600_000) : (this.options.retryAfterMs ?? 30_000));
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    this.stop();
    this.timer = setTimeout(() => {
      this.sync().then(
        () => this.schedule(this.options.checkEveryMs ?? 3_600_000),
        (error: Error) => {
          this.options.log.error('certificate check failed; the current certificate keeps serving', { error: error.message });
          this.options.onError?.(error);
          this.schedule(this.options.retryAfterMs ?? 30_000);
        },
      );
    }, delayMs);
    this.timer.unref();
  }

  private async round(force: boolean): Promise<void> {
    const { store, dnsNames, log } = this.options;
    const now = this.options.now?.() ?? new Date();
    let stored = await store.load();
    const next = successor(stored?.material, dnsNames, now, this.options.policy ?? DEFAULT_POLICY, force ? 'rotation was asked for' : stored?.outdated);
    if (next) {
      log.info('storing new certificates', { reason: next.reason });
      // On a conflict the store hands back another replica's fresh material: we adopt it.
      stored = await store.save(next.material, stored);
    }
    const material = stored?.material;
    if (!material) throw new Error('the certificate store returned no certificates after saving');
    await this.take({ material, version: stored!.version });
  }

  /** Serves what is stored, never before the API server trusts it (but at once when nothing is served yet). */
  private async take(stored: Stored & { material: TlsMaterial }): Promise<void> {
    const { material } = stored;
    // The first certificate is served at once: readiness waits for the bundle instead.
    if (!this.current) this.serve(stored);
    if (this.publishedBundle !== material.caBundlePem) {
      await this.options.publishCaBundle(material.caBundlePem);
      if (!samePair(this.current!.material, material)) await sleep(this.options.settleMs ?? 5_000);
    }
    this.serve(stored);
    this.publishedBundle = material.caBundlePem;
  }

  private serve(stored: Stored & { material: TlsMaterial }): void {
    const served = this.current?.material;
    this.current = stored;
    if (served && samePair(served, stored.material)) return;
    this.options.serve(stored.material);
    this.options.log.info('serving a new certificate', { version: stored.version });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
