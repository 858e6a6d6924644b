import { X509Certificate } from 'node:crypto';
import { DEFAULT_POLICY, renew, renewalReason } from './renewal';
import { serviceDnsNames } from './tls-material';

const names = serviceDnsNames('mirrord-webhook', 'mirrord-system');
const DAY = 86_400_000;
const start = new Date('2026-01-01T00:00:00Z');
const at = (days: number) => new Date(start.getTime() + days * DAY);

describe('renewal', () => {
  const material = renew(undefined, names, start, DEFAULT_POLICY);

  it('starts with a CA, a bundle of just that CA and a certificate for the Service names', () => {
    expect(material.caBundlePem).toBe(material.caCertPem);
    expect(renewalReason(material, names, at(1), DEFAULT_POLICY)).toBeUndefined();
  });

  it('renews the serving certificate when a third of its life is left, keeping the CA', () => {
    expect(renewalReason(material, names, at(240), DEFAULT_POLICY)).toBeUndefined();
    expect(renewalReason(material, names, at(245), DEFAULT_POLICY)).toBe('the serving certificate is close to expiry');
    const renewed = renew(material, names, at(245), DEFAULT_POLICY);
    expect(renewed.caCertPem).toBe(material.caCertPem);
    expect(renewed.certPem).not.toBe(material.certPem);
    expect(renewalReason(renewed, names, at(246), DEFAULT_POLICY)).toBeUndefined();
  });

  it('renews the CA ahead of its expiry and keeps trusting the old one meanwhile', () => {
    const late = at(2500);
    expect(renewalReason(material, names, late, DEFAULT_POLICY)).toBe('the CA is close to expiry');
    const renewed = renew(material, names, late, DEFAULT_POLICY);
    expect(renewed.caCertPem).not.toBe(material.caCertPem);
    expect(renewed.caBundlePem).toBe(renewed.caCertPem + new X509Certificate(material.caCertPem).toString());
    expect(new X509Certificate(renewed.certPem).checkIssued(new X509Certificate(renewed.caCertPem))).toBe(true);
  });

  it('reissues when the Service names changed or the pair does not belong together', () => {
    expect(renewalReason(material, serviceDnsNames('other', 'mirrord-system'), at(1), DEFAULT_POLICY)).toMatch(/Service names/);
    const foreign = renew(undefined, names, start, DEFAULT_POLICY);
    expect(renewalReason({ ...material, certPem: foreign.certPem }, names, at(1), DEFAULT_POLICY)).toMatch(/not issued by the CA/);
    expect(renewalReason({ ...material, keyPem: foreign.keyPem }, names, at(1), DEFAULT_POLICY)).toMatch(/key does not match/);
    expect(renewalReason({ ...material, certPem: 'garbage' }, names, at(1), DEFAULT_POLICY)).toMatch(/do not parse/);
  });
});
