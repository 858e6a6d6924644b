import { createPrivateKey } from 'node:crypto';
import { parseJwks, signTicket, verifyTicket, type TicketClaims } from '../../protocol/ticket';
import { currentSigningKey, DEFAULT_KEY_POLICY, nextKeySet, parseSigningKeys, publicKeySet, serializeSigningKeys, type SigningKey } from './signing-keys';

const MIN = 60_000;
const DAY = 86_400_000;
const start = new Date('2026-12-01T00:00:00Z');
const at = (ms: number) => new Date(start.getTime() + ms);

function claims(now: Date): TicketClaims {
  const iat = Math.floor(now.getTime() / 1000);
  return {
    v: 1,
    sub: 'alice',
    groups: [],
    pod: { uid: 'uid-1', namespace: 'shop', name: 'web-0' },
    session: 's1',
    iat,
    exp: iat + 60,
    allow: { incoming: { steal: true, stealWithoutFilter: true, mirror: true }, fs: 'read', env: { exclude: [] } },
    policies: [],
  };
}

describe('signing keys', () => {
  it('start with one key that signs at once, and whose public half verifies its tickets', () => {
    const keys = nextKeySet([], start)!;
    expect(keys).toHaveLength(1);
    expect(nextKeySet(keys, at(MIN))).toBeUndefined();
    const signer = currentSigningKey(keys, start);
    const token = signTicket(claims(start), createPrivateKey(signer.privateKeyPem), signer.kid);
    expect(verifyTicket(token, parseJwks(publicKeySet(keys)), { podUid: 'uid-1', now: start.getTime() }).sub).toBe('alice');
  });

  it('publish a successor after the rotation period, sign with it only once published long enough, then drop the old key', () => {
    const policy = DEFAULT_KEY_POLICY;
    const [first] = nextKeySet([], start)!;
    const rotateAt = policy.publishBeforeSigningMs + policy.rotateAfterMs;
    expect(nextKeySet([first], at(rotateAt - MIN))).toBeUndefined();

    const withSuccessor = nextKeySet([first], at(rotateAt))!;
    expect(withSuccessor.map((key) => key.kid)).toEqual([first.kid, expect.any(String)]);
    const successor = withSuccessor[1];
    // Published but not yet signing: sidecars may not have it.
    expect(currentSigningKey(withSuccessor, at(rotateAt + MIN)).kid).toBe(first.kid);
    expect(nextKeySet(withSuccessor, at(rotateAt + MIN))).toBeUndefined();
    const signsFrom = rotateAt + policy.publishBeforeSigningMs;
    expect(currentSigningKey(withSuccessor, at(signsFrom)).kid).toBe(successor.kid);
    // The old key stays published while its tickets may still be presented...
    expect(nextKeySet(withSuccessor, at(signsFrom + policy.keepAfterSupersededMs - MIN))).toBeUndefined();
    // ...and then goes.
    expect(nextKeySet(withSuccessor, at(signsFrom + policy.keepAfterSupersededMs))!.map((key) => key.kid)).toEqual([successor.kid]);
  });

  it('never rotate twice while a successor waits', () => {
    const keys = nextKeySet([], start)!;
    const later = nextKeySet(keys, at(8 * DAY))!;
    expect(later).toHaveLength(2);
    expect(nextKeySet(later, at(8 * DAY + MIN))).toBeUndefined();
  });

  it('round-trip through their stored text and refuse a damaged one, naming what is wrong', () => {
    const keys = nextKeySet([], start)!;
    expect(parseSigningKeys(serializeSigningKeys(keys))).toEqual(keys);
    expect(() => parseSigningKeys('{}')).toThrow('not a JSON array');
    expect(() => parseSigningKeys(JSON.stringify([{ kid: 'k' }]))).toThrow('signing key 0 lacks kid, privateKeyPem or a created time');
    const rsa: SigningKey = {
      ...keys[0],
      privateKeyPem: require('node:crypto').generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }),
    };
    expect(() => parseSigningKeys(JSON.stringify([rsa]))).toThrow(`signing key ${rsa.kid} is not an Ed25519 key`);
  });
});
