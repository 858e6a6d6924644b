import { loadWebhookConfig } from './config';

it('has working defaults', () => {
  const config = loadWebhookConfig({});
  expect(config).toMatchObject({ port: 8443, namespace: 'mirrord-system', service: 'mirrord-webhook', certificateMode: 'self-managed', nativeSidecar: 'auto' });
  expect(config.sidecar.image).toMatch(/^mirrord-sidecar:\d+\.\d+\.\d+/);
  expect(config.sidecar.agentPort).toBe(61234);
});

it('reads every setting', () => {
  const config = loadWebhookConfig({
    MIRRORD_WEBHOOK_PORT: '9443',
    MIRRORD_WEBHOOK_NAMESPACE: 'tools',
    MIRRORD_WEBHOOK_CERT_MODE: 'files',
    MIRRORD_SIDECAR_NATIVE: 'false',
    MIRRORD_SIDECAR_IMAGE: 'registry.example/mirrord-sidecar:1',
    MIRRORD_SIDECAR_PULL_POLICY: 'Always',
    MIRRORD_SIDECAR_MEMORY_LIMIT: '1Gi',
  });
  expect(config).toMatchObject({ port: 9443, namespace: 'tools', certificateMode: 'files', nativeSidecar: false });
  expect(config.sidecar).toMatchObject({ image: 'registry.example/mirrord-sidecar:1', pullPolicy: 'Always' });
  expect(config.sidecar.resources.memoryLimit).toBe('1Gi');
});

it.each([
  ['MIRRORD_WEBHOOK_PORT', '0'],
  ['MIRRORD_WEBHOOK_PORT', '80a'],
  ['MIRRORD_WEBHOOK_NAMESPACE', 'Not_A_Name'],
  ['MIRRORD_WEBHOOK_CERT_MODE', 'cert-manager'],
  ['MIRRORD_SIDECAR_PULL_POLICY', 'sometimes'],
  ['MIRRORD_SIDECAR_NATIVE', 'yes'],
  ['MIRRORD_SIDECAR_CPU_LIMIT', 'half'],
  ['MIRRORD_WEBHOOK_NAMESPACE_ANNOTATIONS', 'yes'],
])('rejects %s=%s naming the variable', (key, value) => {
  expect(() => loadWebhookConfig({ [key]: value })).toThrow(key);
});
