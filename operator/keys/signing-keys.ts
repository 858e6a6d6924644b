/**
 * The operator's ticket signing keys: Ed25519 key pairs kept in one Secret that every replica
 * reads (any replica signs), whose public halves are published as a JSON Web Key Set to the
 * sidecars. Pure: when to add, sign with and drop a key is decided here from the clock alone.
 *
 * A sidecar learns a new public key only when the kubelet refreshes its mounted ConfigMap (up to
 * about a minute and a half), so a new key is published first and signs only once every sidecar
 * has had time to see it. An old key stays published while tickets it signed may still be
 * presented.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { CLOCK_SKEW_S, MAX_TICKET_LIFETIME_S, publicJwk } from '../../protocol/ticket';

export interface SigningKey {
  kid: string;
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  /** When it was made (RFC 3339): its age decides when it signs and when it goes. */
  created: string;
}

export interface KeyPolicy {
  /** How long a new key is only published before it signs: longer than the kubelet takes to update a mounted ConfigMap. */
  publishBeforeSigningMs: number;
  /** A key that has signed this long gets a successor. */
  rotateAfterMs: number;
  /** A superseded key stays published this long after its successor started signing: tickets it signed may still be presented. */
  keepAfterSupersededMs: number;
}

export const DEFAULT_KEY_POLICY: KeyPolicy = {
  publishBeforeSigningMs: 3 * 60_000,
  rotateAfterMs: 7 * 86_400_000,
  keepAfterSupersededMs: (MAX_TICKET_LIFETIME_S + CLOCK_SKEW_S) * 1000 + 60_000,
};

export function newSigningKey(now: Date): SigningKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const day = now.toISOString().slice(0, 10).replaceAll('-', '');
  return {
    kid: `${day}-${randomBytes(6).toString('hex')}`,
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    created: now.toISOString(),
  };
}

const age = (key: SigningKey, now: Date) => now.getTime() - Date.parse(key.created);
const byAge = (keys: readonly SigningKey[]) => [...keys].sort((a, b) => Date.parse(a.created) - Date.parse(b.created));

/**
 * The key that signs now: the newest one published long enough, or, when none is (the very first
 * key, just made), the oldest: with no earlier key there is nothing better to sign with, and a
 * sidecar that doesn't know it yet re-reads its key file before refusing.
 */
export function currentSigningKey(keys: readonly SigningKey[], now: Date, policy: KeyPolicy = DEFAULT_KEY_POLICY): SigningKey {
  const sorted = byAge(keys);
  if (!sorted.length) throw new Error('the signing key set is empty');
  const ready = sorted.filter((key) => age(key, now) >= policy.publishBeforeSigningMs);
  return ready.at(-1) ?? sorted[0];
}

/**
 * The key set as it should be now, or undefined when it needs no change: a first key when there
 * is none, a successor for a key that has signed long enough, and superseded keys dropped once no
 * ticket they signed can still be accepted.
 */
export function nextKeySet(keys: readonly SigningKey[], now: Date, policy: KeyPolicy = DEFAULT_KEY_POLICY): SigningKey[] | undefined {
  if (!keys.length) return [newSigningKey(now)];
  const signing = currentSigningKey(keys, now, policy);
  const sorted = byAge(keys);
  const successor = sorted.find((key) => Date.parse(key.created) > Date.parse(signing.created));
  // The signing key began signing when it was old enough to; its predecessors stopped then.
  const signingSince = Date.parse(signing.created) + policy.publishBeforeSigningMs;
  const kept = sorted.filter((key) => Date.parse(key.created) >= Date.parse(signing.created) || now.getTime() - signingSince < policy.keepAfterSupersededMs);
  const rotate = !successor && age(signing, now) >= policy.publishBeforeSigningMs + policy.rotateAfterMs;
  if (!rotate && kept.length === keys.length) return undefined;
  return rotate ? [...kept, newSigningKey(now)] : kept;
}

/** The public halves, as the JSON Web Key Set the sidecars read. */
export function publicKeySet(keys: readonly SigningKey[]): string {
  const jwks = byAge(keys).map((key) => publicJwk(createPublicKey(createPrivateKey(key.privateKeyPem)), key.kid));
  return `${JSON.stringify({ keys: jwks }, null, 2)}\n`;
}

/** The keys' text as stored (a Secret's `keys.json`); throws naming what is wrong. */
export function parseSigningKeys(text: string): SigningKey[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error('the signing keys are not a JSON array');
  return parsed.map((entry: unknown, index) => {
    const key = entry as Partial<SigningKey>;
    if (typeof key?.kid !== 'string' || typeof key.privateKeyPem !== 'string' || typeof key.created !== 'string' || Number.isNaN(Date.parse(key.created))) {
      throw new Error(`signing key ${index} lacks kid, privateKeyPem or a created time`);
    }
    const privateKey = createPrivateKey(key.privateKeyPem);
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`signing key ${key.kid} is not an Ed25519 key`);
    return { kid: key.kid, privateKeyPem: key.privateKeyPem, created: key.created };
  });
}

export function serializeSigningKeys(keys: readonly SigningKey[]): string {
  return JSON.stringify(byAge(keys));
}
