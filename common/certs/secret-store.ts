/**
 * The certificate store in a Kubernetes Secret, shared by a component's replicas.
 *
 * Only types come from @kubernetes/client-node (an ES module jest can't load): the caller passes
 * its CoreV1Api.
 */
import type { CoreV1Api } from '../kube-client';
import { statusOf } from '../kube-status';
import { fromSecret, toSecret } from './secret-format';
import type { CertificateStore, Stored } from './store';
import type { TlsMaterial } from './tls-material';

/** Create-or-adopt: whichever replica writes first wins; the others get its certificates. */
export class SecretCertificateStore implements CertificateStore {
  /** A Secret's type can't change: replacing one made by hand keeps whatever type it has. */
  private existingType: string | undefined;

  constructor(
    private readonly core: CoreV1Api,
    private readonly namespace: string,
    private readonly name: string,
    /** The component whose certificates they are, for the Secret's labels. */
    private readonly owner: string,
  ) {}

  async load(): Promise<Stored | undefined> {
    try {
      const secret = await this.core.readNamespacedSecret({ name: this.name, namespace: this.namespace });
      this.existingType = secret.type;
      return fromSecret(secret) ?? { version: secret.metadata?.resourceVersion ?? '' };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  async save(material: TlsMaterial, basedOn: Stored | undefined): Promise<Stored> {
    const body = toSecret(material, this.name, this.namespace, this.owner, basedOn?.version);
    if (basedOn && this.existingType) body.type = this.existingType;
    try {
      const saved = basedOn
        ? await this.core.replaceNamespacedSecret({ name: this.name, namespace: this.namespace, body })
        : await this.core.createNamespacedSecret({ namespace: this.namespace, body });
      return fromSecret(saved)!;
    } catch (error) {
      // 409: AlreadyExists on create, Conflict on a stale resourceVersion. Someone else saved.
      if (statusOf(error) !== 409) throw error;
      const theirs = await this.load();
      if (!theirs?.material) throw new Error(`Secret ${this.namespace}/${this.name} changed while saving, and holds no usable certificates`);
      return theirs;
    }
  }
}
