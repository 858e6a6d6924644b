import { createLogger } from '../../common/log';
import type { LeaseRecord } from '../kube/cluster';
import { LeaderElector, leaseAction, type LeaseStore } from './elector';

/** A Lease with the API server's optimistic concurrency: a write based on a stale version loses. */
class MemoryLease implements LeaseStore {
  record: LeaseRecord | undefined;
  private versions = 0;

  constructor(private readonly clock: () => Date) {}

  async readLease(): Promise<LeaseRecord | undefined> {
    return this.record && { ...this.record };
  }

  async writeLease(_ns: string, _name: string, holder: string, durationS: number, basedOn: LeaseRecord | undefined): Promise<boolean> {
    if (this.record?.version !== basedOn?.version) return false;
    this.record = { holder, durationS, renewedAt: this.clock(), version: String(++this.versions) };
    return true;
  }
}

const log = createLogger('error');

describe('leader election', () => {
  it('takes an absent or expired Lease, renews its own, waits on a live one', () => {
    const now = new Date('2026-12-01T00:00:10Z');
    const held = (holder: string, renewedAt: string): LeaseRecord => ({ holder, renewedAt: new Date(renewedAt), durationS: 15, version: '1' });
    expect(leaseAction(undefined, 'a', now)).toBe('take');
    expect(leaseAction(held('a', '2026-12-01T00:00:05Z'), 'a', now)).toBe('renew');
    expect(leaseAction(held('b', '2026-12-01T00:00:05Z'), 'a', now)).toBe('wait');
    expect(leaseAction(held('b', '2026-11-30T23:59:55Z'), 'a', now)).toBe('take');
  });

  it('elects exactly one of two replicas, and the other takes over once the leader stops renewing', async () => {
    let clock = new Date('2026-12-01T00:00:00Z');
    const now = () => clock;
    const lease = new MemoryLease(now);
    // Rounds are driven by the test; the timers they schedule never fire before it ends.
    const options = { store: lease, namespace: 'mirrord-system', name: 'mirrord-operator', durationS: 15, everyMs: 3_600_000, log, now };
    const a = new LeaderElector({ ...options, identity: 'a' });
    const b = new LeaderElector({ ...options, identity: 'b' });
    // Both read the empty Lease before either writes: only one write can succeed.
    await Promise.all([a.round(), b.round()]);
    expect([a.isLeader, b.isLeader].filter(Boolean)).toHaveLength(1);
    const [leader, other] = a.isLeader ? [a, b] : [b, a];

    clock = new Date(clock.getTime() + 10_000);
    await other.round();
    expect(other.isLeader).toBe(false);
    // The leader stops renewing (killed): 15 s after its last renewal the other takes over,
    // and the old one, if it comes back, no longer counts itself leader.
    clock = new Date(clock.getTime() + 6_000);
    expect(leader.isLeader).toBe(false);
    await other.round();
    expect(other.isLeader).toBe(true);
    expect(lease.record?.holder).toBe(other === a ? 'a' : 'b');
    await leader.round();
    expect(leader.isLeader).toBe(false);
    a.stop();
    b.stop();
  });
});
