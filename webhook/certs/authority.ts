/**
 * The webhook's own small CA and the serving certificate it signs (node-forge). RSA 2048,
 * because node-forge signs with RSA only; forge generates the keys with Node's crypto.
 */
import { randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface KeyAndCert {
  certPem: string;
  keyPem: string;
}

const DAY_MS = 86_400_000;

export function createCa(commonName: string, validDays: number, now = new Date()): KeyAndCert {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = newCertificate(keys.publicKey, now, validDays);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return pem(cert, keys.privateKey);
}

export function issueServingCert(ca: KeyAndCert, dnsNames: string[], validDays: number, now = new Date()): KeyAndCert {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  // A serving certificate must not outlive the CA that signed it.
  const cert = newCertificate(keys.publicKey, now, validDays, caCert.validity.notAfter);
  cert.setSubject([{ name: 'commonName', value: dnsNames[0] }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    // Go's TLS (the API server) checks only the SANs, never the common name.
    { name: 'subjectAltName', altNames: dnsNames.map((value) => ({ type: 2, value })) },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return pem(cert, keys.privateKey);
}

/** Validity period of a PEM certificate. */
export function validity(certPem: string): { notBefore: Date; notAfter: Date } {
  const { notBefore, notAfter } = forge.pki.certificateFromPem(certPem).validity;
  return { notBefore, notAfter };
}

function newCertificate(publicKey: forge.pki.PublicKey, now: Date, validDays: number, notAfterAtMost?: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // Positive (high bit clear) and random: serials must be unique per CA.
  cert.serialNumber = `0${randomBytes(15).toString('hex')}`;
  // Backdated a little: nodes and the API server may run slightly behind our clock.
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60_000);
  const notAfter = new Date(now.getTime() + validDays * DAY_MS);
  cert.validity.notAfter = notAfterAtMost && notAfterAtMost < notAfter ? notAfterAtMost : notAfter;
  return cert;
}

function pem(cert: forge.pki.Certificate, key: forge.pki.PrivateKey): KeyAndCert {
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(key) };
}
