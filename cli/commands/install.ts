/**
 * `mirrord install`: applies the manifests (server-side apply, so kubectl isn't needed and
 * re-running it is harmless): the webhook, the policy resources and the operator, or with
 * --no-operator manifests/open (and the operator's objects removed, so sidecars injected from
 * then on run open). --wait waits until the Deployments are Available.
 */
import { loadAllYaml, loadYaml } from '../../common/kube-client';
import type { AdminArgs } from '../admin-args';
import { applyObject, deleteObject, waitAvailable } from '../admin/cluster-admin';
import { OPERATOR_DEPLOYMENT, WEBHOOK_DEPLOYMENT, WEBHOOK_NAMESPACE } from '../admin/doctor-checks';
import { deletionOrder, describeObject, renderKustomization, type KubeObject } from '../admin/manifests';
import { explainUnreachable } from '../admin/reach';
import { CliError } from '../errors';
import { loadKube } from '../kube/cluster';
import { INJECTION_LABEL } from '../kube/pod-choice';
import { packagePath } from '../../common/package-root';

const WAIT_MS = 180_000;

/** The objects of the default install (`manifests/`), or of the one without the operator (`manifests/open`). */
export function installManifests(operator = true): KubeObject[] {
  const dir = packagePath(operator ? 'manifests' : 'manifests/open');
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
  const objects = installManifests(args.operator);
  for (const object of objects) {
    const outcome = await explainUnreachable(kube, () => applyObject(kube, object));
    process.stdout.write(`${describeObject(object)} ${outcome}\n`);
  }
  if (!args.operator) {
    // What only the default install has: the operator's objects, its APIService first.
    const kept = new Set(objects.map(describeObject));
    for (const object of deletionOrder(installManifests(true).filter((object) => !kept.has(describeObject(object))))) {
      if ((await explainUnreachable(kube, () => deleteObject(kube, object))) === 'deleted') process.stdout.write(`${describeObject(object)} deleted\n`);
    }
  }
  if (args.wait) {
    const deployments = [WEBHOOK_DEPLOYMENT, ...(args.operator ? [OPERATOR_DEPLOYMENT] : [])];
    for (const deployment of deployments) {
      process.stdout.write(`waiting for Deployment ${WEBHOOK_NAMESPACE}/${deployment} to be available…\n`);
      if (!(await waitAvailable(kube, WEBHOOK_NAMESPACE, deployment, WAIT_MS))) {
        throw new CliError(
          `${deployment} is not available after ${WAIT_MS / 1000}s`,
          `kubectl -n ${WEBHOOK_NAMESPACE} describe deployment ${deployment}; kubectl -n ${WEBHOOK_NAMESPACE} logs deployment/${deployment}`,
        );
      }
    }
    process.stdout.write(args.operator ? 'the webhook and the operator are ready\n' : 'the webhook is ready\n');
  }
  process.stdout.write(
    `next: kubectl label namespace NAMESPACE ${INJECTION_LABEL}=enabled, then restart its workloads (kubectl rollout restart deployment -n NAMESPACE) so that their pods get the sidecar\n`,
  );
  return 0;
}
