import { createPrivateKey, X509Certificate } from 'node:crypto';
import { issueServingPair, randomSerial } from './authority';
import { serviceDnsNames } from './tls-material';

describe('a serving pair and its CA', () => {
  const issued = issueServingPair(serviceDnsNames('mirrord-webhook', 'mirrord-system'), 365);
  const caCert = new X509Certificate(issued.caCertPem);
  const cert = new X509Certificate(issued.certPem);

  it('has a CA signed by itself', () => {
    expect(caCert.ca).toBe(true);
    expect(caCert.verify(caCert.publicKey)).toBe(true);
  });

  it('has a certificate the CA verifies, for every Service name', () => {
    expect(cert.ca).toBe(false);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.subjectAltName).toBe(
      'DNS:mirrord-webhook, DNS:mirrord-webhook.mirrord-system, DNS:mirrord-webhook.mirrord-system.svc, DNS:mirrord-webhook.mirrord-system.svc.cluster.local',
    );
    expect(cert.checkHost('mirrord-webhook.mirrord-system.svc')).toBe('mirrord-webhook.mirrord-system.svc');
    expect(cert.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
  });

  it("gives out only the serving key: nothing it returns is the CA's key", () => {
    expect(Object.keys(issued).sort()).toEqual(['caCertPem', 'certPem', 'keyPem']);
    expect(cert.checkPrivateKey(createPrivateKey(issued.keyPem))).toBe(true);
    expect(caCert.checkPrivateKey(createPrivateKey(issued.keyPem))).toBe(false);
  });

  it('lives exactly as long as its CA', () => {
    expect(cert.validTo).toBe(caCert.validTo);
    expect(cert.validFrom).toBe(caCert.validFrom);
  });

  it('uses a new CA, and distinct serial numbers and keys, every time', () => {
    const other = issueServingPair(['x'], 1);
    expect(new X509Certificate(other.certPem).serialNumber).not.toBe(cert.serialNumber);
    expect(other.keyPem).not.toBe(issued.keyPem);
    expect(new X509Certificate(other.caCertPem).fingerprint256).not.toBe(caCert.fingerprint256);
    expect(new X509Certificate(other.certPem).checkIssued(caCert)).toBe(false);
  });
});

it('draws serials that DER encodes without padding: 16 bytes, the first from 0x40 to 0x7f', () => {
  for (let i = 0; i < 10_000; i++) expect(randomSerial()).toMatch(/^[4-7][0-9a-f]{31}$/);
  const issued = issueServingPair(['x'], 1);
  for (const pem of [issued.certPem, issued.caCertPem]) expect(new X509Certificate(pem).serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
});
