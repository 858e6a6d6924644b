import { X509Certificate } from 'node:crypto';
import { createCa, issueServingCert, randomSerial, validity } from './authority';
import { serviceDnsNames } from './tls-material';

describe('the CA and the serving certificate', () => {
  const ca = createCa('mirrord-webhook-ca', 3650);
  const serving = issueServingCert(ca, serviceDnsNames('mirrord-webhook', 'mirrord-system'), 365);
  const caCert = new X509Certificate(ca.certPem);
  const cert = new X509Certificate(serving.certPem);

  it('is a CA signed by itself', () => {
    expect(caCert.ca).toBe(true);
    expect(caCert.verify(caCert.publicKey)).toBe(true);
  });

  it('issues a certificate the CA verifies, for every Service name', () => {
    expect(cert.ca).toBe(false);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.subjectAltName).toBe(
      'DNS:mirrord-webhook, DNS:mirrord-webhook.mirrord-system, DNS:mirrord-webhook.mirrord-system.svc, DNS:mirrord-webhook.mirrord-system.svc.cluster.local',
    );
    expect(cert.checkHost('mirrord-webhook.mirrord-system.svc')).toBe('mirrord-webhook.mirrord-system.svc');
    expect(cert.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
  });

  it('never outlives its CA', () => {
    const shortCa = createCa('short', 10);
    const long = issueServingCert(shortCa, ['x'], 365);
    expect(validity(long.certPem).notAfter.getTime()).toBe(validity(shortCa.certPem).notAfter.getTime());
  });

  it('uses distinct serial numbers and keys', () => {
    const other = issueServingCert(ca, ['x'], 1);
    expect(new X509Certificate(other.certPem).serialNumber).not.toBe(cert.serialNumber);
    expect(other.keyPem).not.toBe(serving.keyPem);
  });
});

it('draws serials that DER encodes without padding: 16 bytes, the first from 0x40 to 0x7f', () => {
  for (let i = 0; i < 10_000; i++) expect(randomSerial()).toMatch(/^[4-7][0-9a-f]{31}$/);
  const serial = new X509Certificate(issueServingCert(createCa('ca', 1), ['x'], 1).certPem).serialNumber;
  expect(serial).toMatch(/^[4-7][0-9A-F]{31}$/);
});
