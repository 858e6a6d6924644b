/** Brings the cluster down when global-setup brought it up (and MIRRORD_E2E_KEEP_CLUSTER isn't 1). */
export default async function globalTeardown(): Promise<void> {
  await (globalThis as { mirrordClusterUndo?: () => Promise<void> }).mirrordClusterUndo?.();
}
