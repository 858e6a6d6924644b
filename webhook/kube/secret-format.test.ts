import { fromSecret, toSecret } from './secret-format';

const material = { certPem: 'C', keyPem: 'K', caCertPem: 'CA', caKeyPem: 'CAK', caBundlePem: 'B' };

it('round-trips through a kubernetes.io/tls Secret', () => {
  const secret = toSecret(material, 'mirrord-webhook-tls', 'mirrord-system', '42');
  expect(secret.type).toBe('kubernetes.io/tls');
  expect(secret.data!['tls.crt']).toBe(Buffer.from('C').toString('base64'));
  expect(fromSecret(secret)).toEqual({ material, version: '42' });
});

it('treats an incomplete Secret as absent', () => {
  const secret = toSecret(material, 'x', 'y', '1');
  delete secret.data!['ca.key'];
  expect(fromSecret(secret)).toBeUndefined();
  expect(fromSecret({ metadata: { resourceVersion: '1' } })).toBeUndefined();
});
