/**
 * Leader election on a coordination.k8s.io Lease, for the work one replica must do (publishing
 * the key set, rotating keys): the holder renews it; another replica takes it once it has not
 * been renewed for its duration. Writes are based on the version read, so two replicas racing
 * for an expired Lease can't both win. Tickets need no leader: every replica issues them.
 */
import { apiErrorMessage } from '../../common/kube-status';
import type { Logger } from '../../common/log';
import type { LeaseRecord } from '../kube/cluster';

export interface LeaseStore {
  readLease(namespace: string, name: string): Promise<LeaseRecord | undefined>;
  writeLease(namespace: string, name: string, holder: string, durationS: number, basedOn: LeaseRecord | undefined): Promise<boolean>;
}

export interface ElectorOptions {
  store: LeaseStore;
  namespace: string;
  name: string;
  /** This replica (its pod name). */
  identity: string;
  durationS?: number;
  /** How often the holder renews and the others look: well under the duration. */
  everyMs?: number;
  log: Logger;
  now?: () => Date;
}

/** What a replica does with the Lease as it finds it. */
export function leaseAction(record: LeaseRecord | undefined, identity: string, now: Date): 'take' | 'renew' | 'wait' {
  if (!record || !record.holder) return 'take';
  if (record.holder === identity) return 'renew';
  const expiresAt = record.renewedAt.getTime() + record.durationS * 1000;
  return now.getTime() >= expiresAt ? 'take' : 'wait';
}

export class LeaderElector {
  private leading = false;
  private leadingUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly listeners: ((leading: boolean) => void)[] = [];

  constructor(private readonly options: ElectorOptions) {}

  /** Whether this replica holds the Lease now (and its last renewal has not run out). */
  get isLeader(): boolean {
    return this.leading && this.now().getTime() < this.leadingUntil;
  }

  onChange(listener: (leading: boolean) => void): void {
    this.listeners.push(listener);
  }

  start(): void {
    void this.round();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.set(false);
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /** One look at the Lease; never throws (an API error only means "not leading" until the next round). */
  async round(): Promise<void> {
    const { store, namespace, name, identity, log } = this.options;
    const durationS = this.options.durationS ?? 15;
    try {
      const record = await store.readLease(namespace, name);
      const action = leaseAction(record, identity, this.now());
      if (action === 'wait') this.set(false);
      else {
        const startedAt = this.now().getTime();
        const won = await store.writeLease(namespace, name, identity, durationS, record);
        if (won) this.leadingUntil = startedAt + durationS * 1000;
        this.set(won);
      }
    } catch (error) {
      log.warn('could not read or renew the leader Lease', { lease: `${namespace}/${name}`, error: apiErrorMessage(error) });
      if (!this.isLeader) this.set(false);
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.round(), this.options.everyMs ?? 2_000);
      this.timer.unref();
    }
  }

  private set(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.options.log.info(leading ? 'leading: this replica does the once-only work' : 'not leading', { lease: this.options.name });
    for (const listener of this.listeners) listener(leading);
  }
}
