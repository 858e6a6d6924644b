/**
 * scale_down's safety net: a workload the CLI scaled to zero for a copy of it is scaled back up
 * once that copy is gone, even when the CLI died before it could do so itself (SIGKILL, a laptop
 * that vanished). The copy's Job ends on its own when the CLI stops extending its deadline
 * (cli/kube/copy-spec.ts); the leader looks every few seconds.
 */
import { apiErrorMessage } from '../../common/kube-status';
import type { Logger } from '../../common/log';
import type { ScaleDownRecord } from '../../common/copy-target';

export interface ScaledWorkload {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  record: ScaleDownRecord;
}

export type CopyState = 'running' | 'finished' | 'gone';

export interface ScaleRestoreCluster {
  /** Workloads labeled as scaled down for a copy, with the record they carry. */
  scaledDown(): Promise<ScaledWorkload[]>;
  copyState(namespace: string, job: string): Promise<CopyState>;
  /** Gives the replicas back, if the workload still carries this record. */
  restore(workload: ScaledWorkload): Promise<void>;
}

/** Restores every workload whose copy is gone or over; returns those restored. */
export async function restoreOrphanedScales(cluster: ScaleRestoreCluster, log: Logger): Promise<ScaledWorkload[]> {
  const restored: ScaledWorkload[] = [];
  for (const workload of await cluster.scaledDown()) {
    const where = `${workload.kind.toLowerCase()}/${workload.name} -n ${workload.namespace}`;
    try {
      const state = await cluster.copyState(workload.namespace, workload.record.job);
      if (state === 'running') continue;
      await cluster.restore(workload);
      restored.push(workload);
      log.info('scaled a workload back up: its copy is over', { workload: where, replicas: workload.record.replicas, job: workload.record.job, copy: state });
    } catch (error) {
      log.warn('could not restore a scaled-down workload; trying again', { workload: where, error: apiErrorMessage(error) });
    }
  }
  return restored;
}
