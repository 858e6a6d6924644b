import type { V1Pod } from '@kubernetes/client-node';
import { sessionTable, wantsTable } from '../api/session-table';
import { ApiFailure } from '../tickets/api-failure';
import { findSession, listSessions, type SidecarAccess } from './sessions';

const pod = (namespace: string, name: string): V1Pod => ({ metadata: { namespace, name } });
const session = (id: string, user?: string) => ({
  id,
  client: 'mirrord attach (ana@laptop, pid 7)',
  since: '2026-12-01T10:00:00.000Z',
  subscriptions: [{ port: 80, mode: 'steal' as const, filter: { header: '^x-user: ana$' } }],
  ...(user && { user }),
});

/** Three pods: two answer, one hangs (its sidecar never does). */
function access(ended: string[] = []): SidecarAccess {
  const pods = [pod('shop', 'web-1'), pod('shop', 'web-2'), pod('shop', 'stuck')];
  return {
    injectedPods: async (namespace) => pods.filter((p) => namespace === undefined || p.metadata?.namespace === namespace),
    sessionsOf: (p) =>
      p.metadata?.name === 'stuck'
        ? new Promise(() => undefined)
        : Promise.resolve(p.metadata?.name === 'web-1' ? [session('a1b2c3d4', 'ana')] : [session('e5f6a7b8')]),
    endSession: async (_p, id) => void ended.push(id),
  };
}

describe('the sessions of the cluster', () => {
  it('are listed from every sidecar, a pod that does not answer reported beside them', async () => {
    const listed = await listSessions(access(), 'shop');
    expect(listed.items.map((item) => [item.metadata.name, item.spec.pod, item.spec.user])).toEqual([
      ['a1b2c3d4', 'web-1', 'ana'],
      ['e5f6a7b8', 'web-2', undefined],
    ]);
    expect(listed.unreachable).toEqual([{ namespace: 'shop', pod: 'stuck', reason: 'the sidecar of pod shop/stuck did not answer within 5 s' }]);
  }, 15_000);

  it('are found by name, or a 404 that says which pods could not be asked', async () => {
    expect((await findSession(access(), 'shop', 'e5f6a7b8')).pod.metadata?.name).toBe('web-2');
    await expect(findSession(access(), 'shop', 'nope')).rejects.toEqual(
      new ApiFailure(404, 'no session nope in namespace shop (could not ask pods stuck)', 'NotFound'),
    );
  }, 15_000);

  it('render as the Table kubectl asks for', async () => {
    expect(wantsTable('application/json;as=Table;v=v1;g=meta.k8s.io,application/json')).toBe(true);
    expect(wantsTable('application/json')).toBe(false);
    const { items } = await listSessions({ ...access(), injectedPods: async () => [pod('shop', 'web-1')] }, 'shop');
    const table = sessionTable(items, new Date('2026-12-01T10:05:00Z')) as { rows: { cells: string[]; object: { metadata: { namespace: string } } }[] };
    expect(table.rows).toEqual([
      {
        cells: ['a1b2c3d4', 'ana', 'web-1', '80/steal(filtered)', 'mirrord attach (ana@laptop, pid 7)', '5m'],
        object: expect.objectContaining({ metadata: expect.objectContaining({ namespace: 'shop' }) }),
      },
    ]);
  });
});
