import { X509Certificate } from 'node:crypto';
import { issueServingPair } from './authority';
import { DEFAULT_POLICY, reissueReason, successor } from './renewal';
import { bundleCertificates, serviceDnsNames, type TlsMaterial } from './tls-material';

const names = serviceDnsNames('mirrord-webhook', 'mirrord-system');
const DAY = 86_400_000;
const start = new Date('2026-01-01T00:00:00Z');
const at = (days: number) => new Date(start.getTime() + days * DAY);
const next = (current: TlsMaterial | undefined, now: Date, reason?: string) => successor(current, names, now, DEFAULT_POLICY, reason);
const fingerprints = (bundle: string) => bundleCertificates(bundle).map((ca) => ca.fingerprint256);

/** What the API server checks: some CA of the bundle issued the certificate. */
function verifies(bundle: string, certPem: string): boolean {
  const cert = new X509Certificate(certPem);
  return bundleCertificates(bundle).some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
}

describe('renewal', () => {
  const first = next(undefined, start)!;
  const material = first.material;

  it('starts with a bundle of just a new CA, and a certificate for the Service names that it issued', () => {
    expect(first.reason).toBe('there are no certificates yet');
    expect(bundleCertificates(material.caBundlePem)).toHaveLength(1);
    expect(verifies(material.caBundlePem, material.certPem)).toBe(true);
    expect(next(material, at(1))).toBeUndefined();
  });

  it('renews when a third of the life is left, with a new CA, keeping the previous CA in the bundle', () => {
    expect(next(material, at(240))).toBeUndefined();
    const renewed = next(material, at(245))!;
    expect(renewed.reason).toBe('the serving certificate is close to expiry');
    const [fresh, previous] = fingerprints(renewed.material.caBundlePem);
    expect(previous).toBe(fingerprints(material.caBundlePem)[0]);
    expect(fresh).not.toBe(previous);
    // The API server trusts both the new certificate and the one other replicas still serve.
    expect(verifies(renewed.material.caBundlePem, renewed.material.certPem)).toBe(true);
    expect(verifies(renewed.material.caBundlePem, material.certPem)).toBe(true);
    expect(new X509Certificate(renewed.material.certPem).checkIssued(bundleCertificates(material.caBundlePem)[0])).toBe(false);
  });

  it('drops a replaced CA from the bundle once its successor is older than the overlap, keeping the pair', () => {
    const renewed = next(material, at(245))!.material;
    expect(next(renewed, new Date(at(245).getTime() + DEFAULT_POLICY.overlapMs - 600_000))).toBeUndefined();
    const pruned = next(renewed, new Date(at(245).getTime() + DEFAULT_POLICY.overlapMs))!;
    expect(pruned.reason).toBe('a replaced CA is past its overlap');
    expect(pruned.material).toEqual({ ...renewed, caBundlePem: bundleCertificates(renewed.caBundlePem)[0].toString() });
    expect(verifies(pruned.material.caBundlePem, renewed.certPem)).toBe(true);
    expect(verifies(pruned.material.caBundlePem, material.certPem)).toBe(false);
  });

  it('keeps every CA replaced within the overlap, and only those', () => {
    const rotations = [0, 0.2, 0.4, 1.3].reduce<TlsMaterial[]>((list, day) => [...list, next(list.at(-1), at(day), 'rotation was asked for')!.material], []);
    const issuers = rotations.map((m) => fingerprints(m.caBundlePem)[0]);
    expect(fingerprints(rotations[2].caBundlePem)).toEqual([issuers[2], issuers[1], issuers[0]]);
    // At day 1.3 the CA of day 0.2 was replaced 0.9 days ago; that of day 0, 1.1 days ago.
    expect(fingerprints(rotations[3].caBundlePem)).toEqual([issuers[3], issuers[2], issuers[1]]);
  });

  it('does not keep a replaced CA that has expired', () => {
    const short = successor(undefined, names, start, { ...DEFAULT_POLICY, validDays: 1 })!.material;
    const renewed = next(short, at(2))!;
    expect(renewed.reason).toBe('the serving certificate is close to expiry');
    expect(bundleCertificates(renewed.material.caBundlePem)).toHaveLength(1);
  });

  it('reissues when the Service names changed or the pieces do not belong together', () => {
    const policy = DEFAULT_POLICY;
    const foreign = issueServingPair(names, 365, start);
    expect(reissueReason(material, serviceDnsNames('other', 'mirrord-system'), at(1), policy)).toMatch(/Service names/);
    expect(reissueReason({ ...material, certPem: foreign.certPem }, names, at(1), policy)).toMatch(/not issued by the first CA/);
    expect(reissueReason({ ...material, keyPem: foreign.keyPem }, names, at(1), policy)).toMatch(/key does not match/);
    expect(reissueReason({ ...material, certPem: 'garbage' }, names, at(1), policy)).toMatch(/do not parse/);
    expect(reissueReason({ ...material, caBundlePem: '' }, names, at(1), policy)).toMatch(/do not parse/);
    // The issuer must come first: it is what the doctor and the renewal checks look at.
    expect(reissueReason({ ...material, caBundlePem: foreign.caCertPem + material.caBundlePem }, names, at(1), policy)).toMatch(/not issued by the first CA/);
  });

  it('replaces the pair whatever its state when given a reason', () => {
    const forced = next(material, at(1), 'rotation was asked for')!;
    expect(forced.reason).toBe('rotation was asked for');
    expect(forced.material.certPem).not.toBe(material.certPem);
    expect(fingerprints(forced.material.caBundlePem)[1]).toBe(fingerprints(material.caBundlePem)[0]);
  });
});
