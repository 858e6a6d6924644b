/**
 * The webhook's own small CA and the serving certificate it signs (node-forge). RSA 2048,
 * because node-forge signs with RSA only. The keys come from Node's crypto: node-forge's own
 * PEM encoding of a private key now and then pads an integer, which OpenSSL 3 refuses
 * ("illegal padding") — a key Node wrote is always one Node (and the API server) can read.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import type { ServingPair } from './tls-material';

const DAY_MS = 86_400_000;

export function createCa(commonName: string, validDays: number, now = new Date()): ServingPair {
  const keys = newKeyPair();
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
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem };
}

export function issueServingCert(ca: ServingPair, dnsNames: string[], validDays: number, now = new Date()): ServingPair {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = newKeyPair();
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
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem };
}

/** Validity period of a PEM certificate. */
export function validity(certPem: string): { notBefore: Date; notAfter: Date } {
  const { notBefore, notAfter } = forge.pki.certificateFromPem(certPem).validity;
  return { notBefore, notAfter };
}

/**
 * 16 random bytes, unique per CA, as DER wants an INTEGER: positive (high bit clear) and with
 * no leading zero byte. The serial used to be an odd-length hex string, which node-forge gave a
 * leading zero byte now and then; OpenSSL 3 refuses that encoding ("illegal padding"), so such a
 * certificate did not parse and was renewed at once.
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x40;
  return bytes.toString('hex');
}

function newCertificate(publicKey: forge.pki.PublicKey, now: Date, validDays: number, notAfterAtMost?: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerial();
  // Backdated a little: nodes and the API server may run slightly behind our clock.
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60_000);
  const notAfter = new Date(now.getTime() + validDays * DAY_MS);
  cert.validity.notAfter = notAfterAtMost && notAfterAtMost < notAfter ? notAfterAtMost : notAfter;
  return cert;
}

function newKeyPair(): { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey; keyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey) as forge.pki.rsa.PublicKey,
    privateKey: forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey,
    keyPem: privateKey,
  };
}
