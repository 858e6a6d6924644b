/**
 * A serving certificate (the webhook's, the operator's) and the CA that signs it (node-forge). Each CA signs exactly
 * one serving certificate and its private key is dropped right after: the key never leaves this
 * module, so nothing stored or served can sign a certificate for another name. Renewing means a
 * new CA and a new pair (renewal.ts keeps the previous CA trusted for a while).
 *
 * RSA 2048, because node-forge signs with RSA only. The keys come from Node's crypto:
 * node-forge's own PEM encoding of a private key now and then pads an integer, which OpenSSL 3
 * refuses ("illegal padding") — a key Node wrote is always one Node (and the API server) can read.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import type { ServingPair } from './tls-material';

const DAY_MS = 86_400_000;

/** A serving pair for dnsNames and the certificate of the CA that issued it; both valid for validDays. */
export interface IssuedPair extends ServingPair {
  caCertPem: string;
}

export function issueServingPair(dnsNames: string[], validDays: number, now = new Date()): IssuedPair {
  const caKeys = newKeyPair();
  const caCert = newCertificate(caKeys.publicKey, now, validDays);
  // Named after the service it serves, so a chain in an error message says whose it is.
  const caSubject = [{ name: 'commonName', value: `${dnsNames[0]}-ca` }];
  caCert.setSubject(caSubject);
  caCert.setIssuer(caSubject);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(caKeys.privateKey, forge.md.sha256.create());

  const keys = newKeyPair();
  // Same validity as its CA: the CA serves no other purpose.
  const cert = newCertificate(keys.publicKey, now, validDays);
  cert.setSubject([{ name: 'commonName', value: dnsNames[0] }]);
  cert.setIssuer(caSubject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    // Go's TLS (the API server) checks only the SANs, never the common name.
    { name: 'subjectAltName', altNames: dnsNames.map((value) => ({ type: 2, value })) },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKeys.privateKey, forge.md.sha256.create());
  return { caCertPem: forge.pki.certificateToPem(caCert), certPem: forge.pki.certificateToPem(cert), keyPem: keys.keyPem };
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

/** A certificate for publicKey with a random serial, valid from a little before `now` for validDays (subject, issuer and extensions are the caller's). */
export function newCertificate(publicKey: forge.pki.PublicKey, now: Date, validDays: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerial();
  // Backdated a little: nodes and the API server may run slightly behind our clock.
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60_000);
  cert.validity.notAfter = new Date(now.getTime() + validDays * DAY_MS);
  return cert;
}

/** An RSA key pair made by Node's crypto, as node-forge objects and the private key's PEM (see above). */
export function newKeyPair(): { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey; keyPem: string } {
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
