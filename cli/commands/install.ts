/**
 * `mirrord install`: applies the webhook's manifests (server-side apply, so kubectl isn't
 * needed and re-running it is harmless), and with --wait waits until the webhook is Available.
 */
import { loadAllYaml, loadYaml } from '@kubernetes/client-node';
import type { AdminArgs } from '../admin-args';
import { applyObject, waitAvailable } from '../admin/cluster-admin';
import { WEBHOOK_DEPLOYMENT, WEBHOOK_NAMESPACE } from '../admin/doctor-checks';
import { describeObject, renderKustomization, type KubeObject } from '../admin/manifests';
import { explainUnreachable } from '../admin/reach';
import { CliError } from '../errors';
import { loadKube } from '../kube/cluster';
import { INJECTION_LABEL } from '../kube/pod-choice';
import { packagePath } from '../../common/package-root';

const WAIT_MS = 180_000;

export function webhookManifests(): KubeObject[] {
  const dir = packagePath('manifests');
  try {
    // The client applies an object through its typed model, which knows fields by the model's
    // names: an object read as plain YAML would lose those named otherwise on the wire (a CRD's
    // `x-kubernetes-preserve-unknown-fields`). loadAllYaml reads each document into its model; a
    // List's items are read the same way.
    return renderKustomization(
      dir,
      (text) => loadAllYaml(text) as unknown[],
      (item) => loadYaml(JSON.stringify(item)),
    );
  } catch (error) {
    throw new CliError(`cannot read the manifests: ${(error as Error).message}`, 'reinstall mirrord; the manifests/ folder ships with it');
  }
}

export async function install(args: Extract<AdminArgs, { kind: 'install' }>): Promise<number> {
  const kube = loadKube(args.kube);
  for (const object of webhookManifests()) {
    const outcome = await explainUnreachable(kube, () => applyObject(kube, object));
    process.stdout.write(`${describeObject(object)} ${outcome}\n`);
  }
  if (args.wait) {
    process.stdout.write(`waiting for Deployment ${WEBHOOK_NAMESPACE}/${WEBHOOK_DEPLOYMENT} to be available…\n`);
    if (!(await waitAvailable(kube, WEBHOOK_NAMESPACE, WEBHOOK_DEPLOYMENT, WAIT_MS))) {
      throw new CliError(
        `the webhook is not available after ${WAIT_MS / 1000}s`,
        `kubectl -n ${WEBHOOK_NAMESPACE} describe deployment ${WEBHOOK_DEPLOYMENT}; kubectl -n ${WEBHOOK_NAMESPACE} logs deployment/${WEBHOOK_DEPLOYMENT}`,
      );
    }
    process.stdout.write('the webhook is ready\n');
  }
  process.stdout.write(
    `next: kubectl label namespace NAMESPACE ${INJECTION_LABEL}=enabled, then restart its workloads (kubectl rollout restart deployment -n NAMESPACE) so that their pods get the sidecar\n`,
  );
  return 0;
}
