/**
 * Where splits are kept (kube/split-cluster.ts keeps them in ConfigMaps), and the
 * read-change-write every writer goes through: two replicas writing at once never lose each
 * other's change, the loser reads again and redoes its own.
 */
import type { SplitState } from './split-state';

export interface StoredSplit {
  namespace: string;
  state: SplitState;
  /** The version a write must be based on. */
  version: string;
}

export interface SplitStore {
  read(namespace: string, name: string): Promise<StoredSplit | undefined>;
  /** Writes against `basedOn` (undefined: create); false when another writer got there first. */
  write(namespace: string, state: SplitState, basedOn: string | undefined): Promise<boolean>;
  remove(namespace: string, name: string): Promise<void>;
  /** Every split of the cluster. */
  list(): Promise<StoredSplit[]>;
}

const ATTEMPTS = 8;

/**
 * Applies `change` to the stored split until the write holds: `change` returns the new state, or
 * undefined to leave it as it is. The state written (or found), or undefined when there is none.
 */
export async function updateSplit(
  store: SplitStore,
  namespace: string,
  name: string,
  change: (state: SplitState) => SplitState | undefined,
): Promise<SplitState | undefined> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const stored = await store.read(namespace, name);
    if (!stored) return undefined;
    const next = change(structuredClone(stored.state));
    if (!next) return stored.state;
    if (await store.write(namespace, next, stored.version)) return next;
  }
  throw new Error(`the split ${namespace}/${name} kept changing while it was written`);
}
