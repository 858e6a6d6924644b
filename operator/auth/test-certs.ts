/**
 * Certificates for the front-proxy tests only (no production code imports this): CAs that keep
 * their keys, so one CA can sign several client certificates and a serving one. Keys and
 * certificates start as common/certs/authority.ts makes them.
 */
import forge from 'node-forge';
import { newCertificate as newValidCertificate, newKeyPair } from '../../common/certs/authority';

export interface TestPair {
  certPem: string;
  keyPem: string;
}

export interface TestAuthority extends TestPair {
  /** A certificate for commonName signed by this CA: a client one, or a server one for 127.0.0.1 and localhost. */
  issue(commonName: string, use: 'client' | 'server'): TestPair;
}

export function newAuthority(commonName: string): TestAuthority {
  const caKeys = newKeyPair();
  const subject = [{ name: 'commonName', value: commonName }];
  const caCert = newCertificate(caKeys.publicKey, subject, subject);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(caKeys.privateKey, forge.md.sha256.create());
  return {
    certPem: forge.pki.certificateToPem(caCert),
    keyPem: caKeys.keyPem,
    issue(leafName, use) {
      const keys = newKeyPair();
      const cert = newCertificate(keys.publicKey, [{ name: 'commonName', value: leafName }], subject);
      cert.setExtensions([
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        use === 'client' ? { name: 'extKeyUsage', clientAuth: true } : { name: 'extKeyUsage', serverAuth: true },
        ...(use === 'server'
          ? [
              {
                name: 'subjectAltName',
                altNames: [
                  { type: 2, value: 'localhost' },
                  { type: 7, ip: '127.0.0.1' },
                ],
              },
            ]
          : []),
        { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
      ]);
      cert.sign(caKeys.privateKey, forge.md.sha256.create());
      return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem };
    },
  };
}

function newCertificate(publicKey: forge.pki.PublicKey, subject: forge.pki.CertificateField[], issuer: forge.pki.CertificateField[]): forge.pki.Certificate {
  const cert = newValidCertificate(publicKey, new Date(), 1);
  cert.setSubject(subject);
  cert.setIssuer(issuer);
  return cert;
}
