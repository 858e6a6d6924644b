import { applyAnnotationOverrides as applyPodOverrides, quantityValue } from './annotation-overrides';
import { DEFAULT_RESOURCES, type InjectionSettings } from './settings';

const base: InjectionSettings = {
  image: 'mirrord-sidecar:0.1.0',
  pullPolicy: 'IfNotPresent',
  agentPort: 61234,
  resources: DEFAULT_RESOURCES,
  nativeSidecar: true,
  version: '0.1.0',
  writableVolumes: false,
  auth: 'none',
};

it('takes valid overrides', () => {
  const { settings, warnings } = applyPodOverrides(base, {
    'mirrord.dev/agent-port': '7000',
    'mirrord.dev/agent-image': 'registry.example:5000/team/mirrord-sidecar:dev@sha256:' + 'a'.repeat(64),
    'mirrord.dev/agent-cpu-request': '0.1',
    'mirrord.dev/agent-memory-request': '64Mi',
  });
  expect(warnings).toEqual([]);
  expect(settings.agentPort).toBe(7000);
  expect(settings.image).toMatch(/^registry.example:5000\/team/);
  expect(settings.resources).toEqual({ ...DEFAULT_RESOURCES, cpuRequest: '0.1', memoryRequest: '64Mi' });
  expect(base.resources).toBe(DEFAULT_RESOURCES);
});

it('keeps the defaults and says why for invalid values', () => {
  const { settings, warnings } = applyPodOverrides(base, {
    'mirrord.dev/agent-port': '70000',
    'mirrord.dev/agent-image': 'bad image; rm -rf /',
    'mirrord.dev/agent-cpu-limit': 'lots',
    'mirrord.dev/writable-volumes': 'yes',
  });
  expect(settings).toEqual(base);
  expect(warnings).toHaveLength(4);
  expect(warnings.join('\n')).toMatch(/agent-port.*70000[\s\S]*agent-image[\s\S]*agent-cpu-limit.*lots[\s\S]*writable-volumes/);
});

it('raises a limit below its request, which the API server would reject', () => {
  const { settings, warnings } = applyPodOverrides(base, { 'mirrord.dev/agent-memory-request': '1Gi' });
  expect(settings.resources.memoryLimit).toBe('1Gi');
  expect(warnings[0]).toMatch(/memoryRequest 1Gi exceeds its memoryLimit/);
});

it('warns about unknown mirrord.dev annotations only', () => {
  expect(applyPodOverrides(base, { 'mirrord.dev/injet': 'false', 'example.com/x': '1' }).warnings).toEqual(['unknown annotation mirrord.dev/injet is ignored']);
});

it.each([
  ['500m', 0.5],
  ['1', 1],
  ['1.5', 1.5],
  ['64Mi', 64 * 2 ** 20],
  ['1G', 1e9],
  ['1e3', 1000],
  ['x', NaN],
])('quantity %s = %d', (text, value) => {
  expect(quantityValue(text)).toBe(value);
});

describe('namespace annotations', () => {
  it('set the sidecar settings namespaces may set', () => {
    const { settings, warnings } = applyPodOverrides(
      base,
      { 'mirrord.dev/agent-image': 'registry.example/sidecar:2', 'mirrord.dev/writable-volumes': 'true' },
      'namespace',
    );
    expect(warnings).toEqual([]);
    expect(settings).toMatchObject({ image: 'registry.example/sidecar:2', writableVolumes: true });
  });

  it('warn about pod-only and unknown keys, saying they come from the namespace', () => {
    const { warnings } = applyPodOverrides(base, { 'mirrord.dev/inject': 'false', 'mirrord.dev/agent-prot': '1', 'mirrord.dev/agent-port': 'x' }, 'namespace');
    expect(warnings).toEqual([
      'namespace: unknown annotation mirrord.dev/agent-prot is ignored',
      'namespace: annotation mirrord.dev/inject only applies to pods and is ignored',
      'namespace: mirrord.dev/agent-port: "x" is not a port (1-65535); using 61234',
    ]);
  });
});
