/**
 * Whether the operator is installed, which decides the injected sidecars' auth: a pod created
 * while the operator's APIService exists gets `auth: required`, and the operator's public keys as
 * they are then (so it verifies tickets before the kubelet mounts its namespace's copy). Looked at
 * periodically and kept in memory, since admission must not wait on the API; until the first look
 * the webhook is not ready (a pod admitted then would get the wrong mode for its whole life).
 */

export interface OperatorState {
  installed: boolean;
  /** The key set the operator published in the webhook's namespace (a JSON Web Key Set). */
  keys?: string;
}
import { apiErrorMessage } from '../common/kube-status';
import type { Logger } from '../common/log';

export class OperatorPresence {
  private state: OperatorState | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly look: () => Promise<OperatorState>,
    private readonly log: Logger,
    private readonly everyMs = 5_000,
  ) {}

  /** The auth to inject now; undefined until the first look succeeded. */
  get auth(): 'none' | 'required' | undefined {
    return this.state === undefined ? undefined : this.state.installed ? 'required' : 'none';
  }

  /** The operator's key set as last seen, for `auth: required` sidecars. */
  get keys(): string | undefined {
    return this.state?.installed ? this.state.keys : undefined;
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
      const state = await this.look();
      if (state.installed !== this.state?.installed) {
        this.log.info(state.installed ? 'the operator is installed: new sidecars require tickets' : 'no operator: new sidecars run auth: none');
      }
      this.state = state;
    } catch (error) {
      // The last answer stands: a passing API hiccup must not flip the mode.
      this.log.warn('cannot tell whether the operator is installed', { error: apiErrorMessage(error), keeping: this.auth ?? 'not ready' });
    }
    this.timer = setTimeout(() => void this.round(), this.everyMs);
    this.timer.unref();
  }
}
