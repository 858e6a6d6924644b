/**
 * Whether the operator is installed, which decides the injected sidecars' auth: a pod created
 * while the operator's APIService exists gets `auth: required`. Looked at periodically and kept
 * in memory, since admission must not wait on the API; until the first look the webhook is not
 * ready (a pod admitted then would get the wrong mode for its whole life).
 */
import { apiErrorMessage } from '../common/kube-status';
import type { Logger } from '../common/log';

export class OperatorPresence {
  private installed: boolean | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly look: () => Promise<boolean>,
    private readonly log: Logger,
    private readonly everyMs = 5_000,
  ) {}

  /** The auth to inject now; undefined until the first look succeeded. */
  get auth(): 'none' | 'required' | undefined {
    return this.installed === undefined ? undefined : this.installed ? 'required' : 'none';
  }

  start(): void {
    void this.round();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  async round(): Promise<void> {
    try {
      const installed = await this.look();
      if (installed !== this.installed)
        this.log.info(installed ? 'the operator is installed: new sidecars require tickets' : 'no operator: new sidecars run auth: none');
      this.installed = installed;
    } catch (error) {
      // The last answer stands: a passing API hiccup must not flip the mode.
      this.log.warn('cannot tell whether the operator is installed', { error: apiErrorMessage(error), keeping: this.auth ?? 'not ready' });
    }
    this.timer = setTimeout(() => void this.round(), this.everyMs);
    this.timer.unref();
  }
}
