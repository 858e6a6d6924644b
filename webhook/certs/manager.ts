/**
 * Keeps the webhook's certificates current: loads them from the store (or creates them),
 * renews them ahead of expiry, adopts what another replica saved, hands the serving pair to
 * the HTTPS server and the CA bundle to the webhook configuration. Runs at start and then
 * periodically; a failed round is retried sooner, and the last good certificate keeps serving.
 */
import type { Logger } from '../../common/log';
import { DEFAULT_POLICY, renew, renewalReason, type RenewalPolicy } from './renewal';
import type { CertificateStore, Stored } from './store';
import type { TlsMaterial } from './tls-material';

export interface CertificateManagerOptions {
  store: CertificateStore;
  dnsNames: string[];
  /** Serve this pair from now on. */
  serve: (material: TlsMaterial) => void;
  /** Make the API server trust this bundle (the webhook configuration's caBundle). */
  publishCaBundle: (caBundlePem: string) => Promise<void>;
  log: Logger;
  policy?: RenewalPolicy;
  now?: () => Date;
  checkEveryMs?: number;
  retryAfterMs?: number;
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

  /** Served and trusted: the webhook can take admissions. */
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
    const policy = this.options.policy ?? DEFAULT_POLICY;
    let stored = await store.load();
    const reason = force
      ? 'rotation was asked for'
      : stored?.material
        ? renewalReason(stored.material, dnsNames, now, policy)
        : 'there are no certificates yet';
    if (reason) {
      log.info('issuing certificates', { reason });
      // On a conflict the store hands back another replica's fresh material: we adopt it.
      stored = await store.save(renew(stored?.material, dnsNames, now, policy), stored);
    }
    const material = stored?.material;
    if (!material) throw new Error('the certificate store returned no certificates after saving');
    this.adopt({ material, version: stored!.version });
    if (this.publishedBundle !== material.caBundlePem) {
      await this.options.publishCaBundle(material.caBundlePem);
      this.publishedBundle = material.caBundlePem;
    }
  }

  private adopt(stored: Stored & { material: TlsMaterial }): void {
    if (this.current?.material.certPem === stored.material.certPem && this.current.material.keyPem === stored.material.keyPem) {
      this.current = stored;
      return;
    }
    this.current = stored;
    this.options.serve(stored.material);
    this.options.log.info('serving a new certificate', { version: stored.version });
  }
}
