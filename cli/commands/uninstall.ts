/**
 * `mirrord uninstall`: deletes what `install` applied, the webhook configuration and the
 * APIService first, and the key sets the operator published in injected namespaces, except the
 * policy and profile definitions (deleting them would delete the team's policies). Pods
 * already injected keep their sidecar until they are recreated; --restart-workloads restarts
 * the Deployments and StatefulSets that own such pods, as `kubectl rollout restart` does.
 * --dry-run asks the API server to check each deletion without doing it, and restarts nothing.
 */
import type { AdminArgs } from '../admin-args';
import { deleteObject, deletePublishedKeys, listPods, listReplicaSets, restartWorkload } from '../admin/cluster-admin';
import { describeObject, deletionOrder } from '../admin/manifests';
import { explainUnreachable } from '../admin/reach';
import { restartPlan } from '../admin/restart';
import { loadKube } from '../kube/cluster';
import { installManifests } from './install';

export async function uninstall(args: Extract<AdminArgs, { kind: 'uninstall' }>): Promise<number> {
  const kube = loadKube(args.kube);
  const would = args.dryRun ? 'would be ' : '';
  // The policy and profile definitions stay: deleting one deletes every policy made from it.
  const objects = installManifests();
  const definitions = objects.filter((object) => object.kind === 'CustomResourceDefinition');
  for (const object of deletionOrder(objects.filter((object) => !definitions.includes(object)))) {
    const outcome = await explainUnreachable(kube, () => deleteObject(kube, object, args.dryRun));
    process.stdout.write(`${describeObject(object)} ${outcome === 'deleted' ? `${would}deleted` : 'already absent'}\n`);
  }
  const keySets = await explainUnreachable(kube, () => deletePublishedKeys(kube, args.dryRun));
  for (const where of keySets) process.stdout.write(`ConfigMap ${where} (the operator's public keys) ${would}deleted\n`);
  if (definitions.length) {
    const names = definitions.map((object) => object.metadata.name).join(' ');
    process.stdout.write(`the policy and profile definitions stay, with the policies made from them; kubectl delete crd ${names} removes them\n`);
  }
  const [pods, replicasets] = await explainUnreachable(kube, () => Promise.all([listPods(kube), listReplicaSets(kube)]));
  const plan = restartPlan(pods, replicasets);
  if (!plan.workloads.length && !plan.unowned.length) {
    process.stdout.write('no pod carries the sidecar any more\n');
    return 0;
  }
  if (!args.restartWorkloads) {
    process.stdout.write('injected pods keep their sidecar until they are recreated (it stays idle: no session, no rules). These workloads have such pods:\n');
    for (const w of plan.workloads) process.stdout.write(`  ${w.kind.toLowerCase()}/${w.name} -n ${w.namespace}\n`);
    for (const pod of plan.unowned) process.stdout.write(`  pod ${pod} (no controller: delete and recreate it yourself)\n`);
    if (plan.workloads.length) process.stdout.write('mirrord uninstall --restart-workloads restarts them (kubectl rollout restart)\n');
    return 0;
  }
  for (const w of plan.workloads) {
    if (!args.dryRun) await explainUnreachable(kube, () => restartWorkload(kube, w));
    process.stdout.write(`${args.dryRun ? 'would restart' : 'restarted'} ${w.kind.toLowerCase()}/${w.name} -n ${w.namespace}\n`);
  }
  for (const pod of plan.unowned) process.stdout.write(`pod ${pod} keeps its sidecar: it has no controller to recreate it\n`);
  return 0;
}
