import type { V1ContainerState, V1Pod } from '../../common/kube-client';
import { branchRow, formatBranches } from './db-branches-view';

const now = Date.parse('2026-06-01T12:00:00Z');

/** A branch Pod as the operator makes it, made `ageS` seconds ago, its server in `state`. */
function branch(id: string, ageS: number, state: V1ContainerState, ready: boolean, annotations: Record<string, string> = {}): V1Pod {
  return {
    metadata: {
      name: `mirrord-db-${id}`,
      namespace: 'shop',
      creationTimestamp: new Date(now - ageS * 1000),
      labels: { 'mirrord.dev/db-branch': id, 'mirrord.dev/db-branch-type': 'pg' },
      annotations: {
        'mirrord.dev/db-branch-owner': 'alice',
        'mirrord.dev/db-branch-source': 'db:5432/orders',
        'mirrord.dev/db-branch-target': 'deploy/orders',
        'mirrord.dev/db-branch-copy': 'schema',
        'mirrord.dev/db-branch-ttl-secs': '60',
        'mirrord.dev/db-branch-sessions': '["s1","s2"]',
        'mirrord.dev/db-branch-joined-at': new Date(now - ageS * 1000).toISOString(),
        ...annotations,
      },
    },
    status: { phase: 'Running', containerStatuses: [{ name: 'database', image: 'i', imageID: '', restartCount: 0, ready, state }] },
  };
}

const live = branch('feat-x', 600, { running: {} }, true);
const idle = branch('old', 9_000, { running: {} }, true, { 'mirrord.dev/db-branch-idle-since': new Date(now - 20_000).toISOString() });
const copying = branch('new', 5, { running: {} }, false);
const failed = branch('bad', 30, { terminated: { exitCode: 1, message: 'pg_dump: permission denied' } }, false);

describe('database branches', () => {
  it('are read from their Pods: state, sessions, and when an idle one is deleted', () => {
    expect(branchRow(live)).toEqual({
      namespace: 'shop',
      id: 'feat-x',
      name: 'mirrord-db-feat-x',
      type: 'pg',
      owner: 'alice',
      source: 'db:5432/orders',
      target: 'deploy/orders',
      copy: 'schema',
      state: 'ready',
      sessions: 2,
      ttlSecs: 60,
      created: '2026-06-01T11:50:00.000Z',
    });
    // Idle 20 s of a 60 s TTL: deleted 40 s from now.
    expect(branchRow(idle)).toMatchObject({ idleSince: '2026-06-01T11:59:40.000Z', deleteAt: '2026-06-01T12:00:40.000Z' });
    expect(branchRow(copying)).toMatchObject({ state: 'making', message: 'copying the source' });
    expect(branchRow(failed)).toMatchObject({ state: 'failed', message: 'pg_dump: permission denied' });
  });

  it('print as a table, with when each is deleted', () => {
    const rows = [live, idle, copying, failed].map(branchRow);
    expect(formatBranches(rows, false, now)).toBe(
      'ID      TYPE  STATE                               OWNER  SOURCE          COPY    SESSIONS  DELETED                     AGE\n' +
        'feat-x  pg    ready                               alice  db:5432/orders  schema  2         60s after its last session  10m\n' +
        'old     pg    ready                               alice  db:5432/orders  schema  2         in 40s                      3h\n' +
        'new     pg    making: copying the source          alice  db:5432/orders  schema  2         60s after its last session  5s\n' +
        'bad     pg    failed: pg_dump: permission denied  alice  db:5432/orders  schema  2         60s after its last session  30s\n',
    );
    expect(formatBranches([branchRow(live)], true, now).split('\n')[0]).toMatch(/^NAMESPACE  ID /);
    expect(formatBranches([], true, now)).toBe('no database branches\n');
  });
});
