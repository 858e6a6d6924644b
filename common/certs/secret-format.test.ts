import { issueServingPair } from './authority';
import { fromSecret, toSecret } from './secret-format';

const material = { certPem: 'C', keyPem: 'K', caBundlePem: 'B' };

it('round-trips through a kubernetes.io/tls Secret', () => {
  const secret = toSecret(material, 'mirrord-webhook-tls', 'mirrord-system', 'mirrord-webhook', '42');
  expect(secret.type).toBe('kubernetes.io/tls');
  expect(secret.data!['tls.crt']).toBe(Buffer.from('C').toString('base64'));
  expect(fromSecret(secret)).toEqual({ material, version: '42' });
});

it('holds the serving pair and the caBundle, and no other private key', () => {
  const { caCertPem, certPem, keyPem } = issueServingPair(['x'], 1);
  const secret = toSecret({ caBundlePem: caCertPem, certPem, keyPem }, 'x', 'y', 'mirrord-webhook', '1');
  expect(Object.keys(secret.data!).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
  const privateKeys = Object.entries(secret.data!).filter(([, value]) => Buffer.from(value, 'base64').toString().includes('PRIVATE KEY'));
  expect(privateKeys.map(([key]) => key)).toEqual(['tls.key']);
});

it('treats an incomplete Secret as absent', () => {
  const secret = toSecret(material, 'x', 'y', 'mirrord-webhook', '1');
  delete secret.data!['ca.crt'];
  expect(fromSecret(secret)).toBeUndefined();
  expect(fromSecret({ metadata: { resourceVersion: '1' } })).toBeUndefined();
});

it("marks a Secret that also holds a CA's private key (as earlier versions wrote) as outdated", () => {
  const secret = toSecret(material, 'x', 'y', 'mirrord-webhook', '3');
  secret.data!['ca.key'] = Buffer.from('-----BEGIN RSA PRIVATE KEY-----\n…').toString('base64');
  secret.data!['ca-bundle.crt'] = Buffer.from('B').toString('base64');
  expect(fromSecret(secret)).toEqual({ material, version: '3', outdated: 'the Secret holds a private key besides the serving key (ca.key)' });
});
