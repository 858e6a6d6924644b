import { createLogger } from '../../common/log';
import { restoreOrphanedScales, type CopyState, type ScaleRestoreCluster, type ScaledWorkload } from './restore-scale';

const log = createLogger('error', {}, () => true);

function workload(name: string, job: string, replicas = 2): ScaledWorkload {
  return { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name, record: { replicas, job } };
}

function cluster(workloads: ScaledWorkload[], states: Record<string, CopyState | Error>, failRestore = new Set<string>()) {
  const restored: string[] = [];
  const api: ScaleRestoreCluster = {
    scaledDown: async () => workloads,
    copyState: async (_namespace, job) => {
      const state = states[job];
      if (state instanceof Error) throw state;
      return state ?? 'gone';
    },
    restore: async (w) => {
      if (failRestore.has(w.name)) throw new Error('conflict');
      restored.push(`${w.name}=${w.record.replicas}`);
    },
  };
  return { api, restored };
}

describe('restoreOrphanedScales', () => {
  it('restores the workloads whose copy is gone or finished, and leaves those whose copy runs', async () => {
    const { api, restored } = cluster([workload('a', 'copy-a', 3), workload('b', 'copy-b'), workload('c', 'copy-c', 1)], {
      'copy-a': 'gone',
      'copy-b': 'running',
      'copy-c': 'finished',
    });
    const result = await restoreOrphanedScales(api, log);
    expect(restored).toEqual(['a=3', 'c=1']);
    expect(result.map((w) => w.name)).toEqual(['a', 'c']);
  });

  it('goes on past a workload it cannot look at or restore, which is tried again next time', async () => {
    const { api, restored } = cluster(
      [workload('a', 'copy-a'), workload('b', 'copy-b'), workload('c', 'copy-c')],
      { 'copy-a': new Error('timeout') },
      new Set(['b']),
    );
    expect((await restoreOrphanedScales(api, log)).map((w) => w.name)).toEqual(['c']);
    expect(restored).toEqual(['c=2']);
  });
});
