/**
 * The signing keys as every replica sees them: read from their Secret (made by the first replica
 * that finds none; a replica that loses that race adopts the winner's), re-read periodically so a
 * rotation by the leader reaches every replica, and rotated by the leader when the clock says so.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { Logger } from '../../common/log';
import type { Versioned } from '../kube/cluster';
import { currentSigningKey, nextKeySet, parseSigningKeys, serializeSigningKeys, type KeyPolicy, type SigningKey } from './signing-keys';

/** The Secret's key holding the signing keys. */
export const SIGNING_KEYS_FIELD = 'keys.json';

export interface SigningKeyStore {
  readSecretValue(namespace: string, name: string, key: string): Promise<Versioned<string> | undefined>;
  writeSecretValue(namespace: string, name: string, key: string, value: string, basedOn: string | undefined): Promise<boolean>;
}

export class KeyService {
  private keys: SigningKey[] = [];
  private signerCache: { kid: string; privateKey: KeyObject } | undefined;

  constructor(
    private readonly store: SigningKeyStore,
    private readonly namespace: string,
    private readonly secret: string,
    private readonly log: Logger,
    private readonly policy?: KeyPolicy,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get all(): readonly SigningKey[] {
    return this.keys;
  }

  /** The key to sign with now. Throws until the first load succeeded. */
  signer(): { kid: string; privateKey: KeyObject } {
    const key = currentSigningKey(this.keys, this.now(), this.policy);
    if (this.signerCache?.kid !== key.kid) this.signerCache = { kid: key.kid, privateKey: createPrivateKey(key.privateKeyPem) };
    return this.signerCache;
  }

  /**
   * Reads the keys; writes the next key set when they need a change and `mayChange` (the first
   * key, whoever finds none; a rotation, the leader only). A lost write re-reads the winner's.
   */
  async sync(mayChange: (keys: readonly SigningKey[]) => boolean): Promise<void> {
    for (let attempt = 1; attempt <= 3; attempt++) {
      const stored = await this.store.readSecretValue(this.namespace, this.secret, SIGNING_KEYS_FIELD);
      const keys = stored?.value ? parseSigningKeys(stored.value) : [];
      const next = nextKeySet(keys, this.now(), this.policy);
      if (!next || !mayChange(keys)) {
        this.take(keys);
        return;
      }
      if (await this.store.writeSecretValue(this.namespace, this.secret, SIGNING_KEYS_FIELD, serializeSigningKeys(next), stored?.version)) {
        this.log.info('signing keys written', { kids: next.map((key) => key.kid) });
        this.take(next);
        return;
      }
    }
    throw new Error(`Secret ${this.namespace}/${this.secret} kept changing while the signing keys were written`);
  }

  private take(keys: SigningKey[]): void {
    const before = this.keys.map((key) => key.kid).join(',');
    this.keys = keys;
    if (keys.map((key) => key.kid).join(',') !== before) this.log.info('signing keys loaded', { kids: keys.map((key) => key.kid) });
  }
}
