/**
 * The variables a queue split points elsewhere (`mirrord.dev/split-queues`, which the operator
 * puts on the workload's pod template while it splits: `{"CONTAINER": {"VARIABLE": "QUEUE"}}`):
 * set in the pod's containers, replacing their value or reference, before the sidecar is built,
 * so the sidecar's copy of the app's environment (which sessions read) names the same queue the
 * app consumes. An annotation that doesn't parse, or names a container the pod doesn't have,
 * changes nothing and is warned about.
 */
import type { V1Pod } from '../../common/kube-client';
import { ANNOTATION } from '../../common/pod-contract';

export function withSplitQueues(pod: V1Pod): { pod: V1Pod; warnings: string[] } {
  const text = pod.metadata?.annotations?.[ANNOTATION.splitQueues];
  if (text === undefined) return { pod, warnings: [] };
  let wanted: unknown;
  try {
    wanted = JSON.parse(text);
  } catch {
    wanted = undefined;
  }
  if (!isVariablesByContainer(wanted)) {
    return { pod, warnings: [`${ANNOTATION.splitQueues} is not {"CONTAINER": {"VARIABLE": "QUEUE"}}: the queues' variables are left as they are`] };
  }
  const copy = structuredClone(pod);
  const warnings: string[] = [];
  for (const [name, variables] of Object.entries(wanted)) {
    const container = copy.spec?.containers.find((c) => c.name === name);
    if (!container) {
      warnings.push(`${ANNOTATION.splitQueues} names container ${name}, which the pod doesn't have`);
      continue;
    }
    const others = (container.env ?? []).filter((variable) => !(variable.name in variables));
    container.env = [...others, ...Object.entries(variables).map(([variable, value]) => ({ name: variable, value }))];
  }
  return { pod: copy, warnings };
}

function isVariablesByContainer(value: unknown): value is Record<string, Record<string, string>> {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  return isObject(value) && Object.values(value).every((variables) => isObject(variables) && Object.values(variables).every((v) => typeof v === 'string'));
}
