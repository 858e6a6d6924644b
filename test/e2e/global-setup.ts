/** One cluster for the whole e2e run: up once here (if none answers), down once in teardown. */
import { ensureCluster } from './cluster';

export default async function globalSetup(): Promise<void> {
  (globalThis as { mirrordClusterUndo?: () => Promise<void> }).mirrordClusterUndo = await ensureCluster();
}
