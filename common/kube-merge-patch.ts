/** Reading and merge-patching any object by its apiVersion and kind (custom resources too). */
import { KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from './kube-client';
import type { WorkloadApi } from './copy-target';

export function workloadApi(config: KubeConfig, fieldManager: string): WorkloadApi {
  const objects = KubernetesObjectApi.makeApiClient(config);
  return {
    annotations: async (reference) => (await objects.read(reference)).metadata?.annotations,
    mergePatch: async (reference, patch: { metadata?: object }) => {
      // The object names itself in the body: its name and namespace stay beside the patch's labels.
      const body = { ...reference, ...patch, metadata: { ...patch.metadata, ...reference.metadata } };
      await objects.patch(body as KubernetesObject, undefined, undefined, fieldManager, undefined, PatchStrategy.MergePatch);
    },
  };
}
