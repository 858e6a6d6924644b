/**
 * Where the certificates live between restarts and are shared by the replicas. Saving is
 * optimistic: it succeeds only against the version it was based on, and on a conflict the
 * store returns what the other replica saved, which the caller adopts.
 */
import type { TlsMaterial } from './tls-material';

export interface Stored {
  /** Undefined when the stored object exists but holds no usable certificates (it gets replaced). */
  material?: TlsMaterial;
  /** The store's version of it (a Secret's resourceVersion). */
  version: string;
  /**
   * Why the stored object must be rewritten with a new pair although its certificates are
   * usable: it holds something it must not (a CA private key written by an earlier version).
   */
  outdated?: string;
}

export interface CertificateStore {
  load(): Promise<Stored | undefined>;
  /** Saves, or returns the winner when another writer got there first. */
  save(material: TlsMaterial, basedOn: Stored | undefined): Promise<Stored>;
}

/** The same contract in memory: one process, several replicas' managers sharing it. */
export class MemoryCertificateStore implements CertificateStore {
  private stored: Stored | undefined;
  private versions = 0;

  async load(): Promise<Stored | undefined> {
    await Promise.resolve();
    return this.stored && { ...this.stored, material: this.stored.material && { ...this.stored.material } };
  }

  async save(material: TlsMaterial, basedOn: Stored | undefined): Promise<Stored> {
    await Promise.resolve();
    if (this.stored?.version !== basedOn?.version) return (await this.load())!;
    this.stored = { material: { ...material }, version: String(++this.versions) };
    return (await this.load())!;
  }
}
