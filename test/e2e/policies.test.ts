/**
 * The policy and profile resources (manifests/crds) in the real API server: well-formed ones are
 * stored and listed by their short names, malformed ones are refused with the field named.
 */
import { createNamespaces, deleteNamespaces, kubectl } from './cluster';

const namespace = `e2e-policies-${process.pid}`;

/** What applying `manifest` answered: 'ok', or the API server's refusal. */
async function apply(manifest: object): Promise<string> {
  return kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) }).then(
    () => 'ok',
    (error: Error) => error.message,
  );
}

const policy = (name: string, spec: object, kind = 'MirrordPolicy') => ({
  apiVersion: 'mirrord.dev/v1',
  kind,
  metadata: kind === 'MirrordPolicy' ? { name, namespace } : { name: `${name}-${process.pid}` },
  spec,
});

beforeAll(() => createNamespaces({ unlabeled: [namespace] }), 10 * 60_000);
afterAll(async () => {
  await kubectl(['delete', 'mirrordclusterpolicy', `no-mirror-${process.pid}`, '--ignore-not-found']);
  await deleteNamespaces(namespace);
}, 10 * 60_000);

test('well-formed policies and profiles are stored, and listed by their short names', async () => {
  expect(
    await apply(
      policy('filtered-only', {
        targetPath: 'deploy/checkout*',
        selector: { matchLabels: { team: 'payments' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['web'] }] },
        block: ['steal-without-filter'],
        network: { incoming: { httpFilter: { headerFilter: '^x-user: ' } } },
        env: { exclude: ['DB_*'] },
        fs: { readOnly: ['^/etc'], notFound: ['\\.aws'] },
        requireProfile: true,
        profileAllowlist: ['checkout-dev'],
        subjects: { groups: ['developers'] },
        exemptSubjects: { users: ['alice@example.com'] },
      }),
    ),
  ).toBe('ok');
  expect(await apply(policy('no-mirror', { block: ['mirror'] }, 'MirrordClusterPolicy'))).toBe('ok');
  expect(
    await apply({
      apiVersion: 'mirrord.dev/v1',
      kind: 'MirrordProfile',
      metadata: { name: 'checkout-dev', namespace },
      spec: {
        description: 'steal with my header',
        feature: { network: { incoming: { mode: 'steal', http_filter: { header_filter: '^x-user: me$' } } }, fs: 'read' },
      },
    }),
  ).toBe('ok');
  expect(await kubectl(['-n', namespace, 'get', 'mpol', 'filtered-only', '-o', 'jsonpath={.spec.block[0]}'])).toBe('steal-without-filter');
  expect(await kubectl(['get', 'mcpol', `no-mirror-${process.pid}`, '-o', 'jsonpath={.spec.block[0]}'])).toBe('mirror');
  expect(await kubectl(['-n', namespace, 'get', 'mprof', 'checkout-dev', '-o', 'jsonpath={.spec.feature.fs}'])).toBe('read');
});

test('malformed policies and profiles are refused by the API server, naming the field', async () => {
  expect(await apply(policy('bad-block', { block: ['steal', 'teleport'] }))).toMatch(/spec\.block\[1\]: Unsupported value: "teleport"/);
  expect(await apply(policy('bad-key', { blok: ['steal'] }))).toMatch(/unknown field "spec\.blok"/);
  expect(await apply(policy('bad-path', { targetPath: 'deploy checkout' }))).toMatch(/spec\.targetPath.*should match/);
  expect(await apply(policy('bad-selector', { selector: { matchExpressions: [{ key: 'tier', operator: 'Near' }] } }))).toMatch(
    /spec\.selector\.matchExpressions\[0\]\.operator: Unsupported value: "Near"/,
  );
  expect(await apply(policy('bad-subjects', { subjects: { users: 'alice' } }))).toMatch(/spec\.subjects\.users: Invalid value: "string"/);
  expect(await apply({ apiVersion: 'mirrord.dev/v1', kind: 'MirrordProfile', metadata: { name: 'no-feature', namespace }, spec: {} })).toMatch(
    /spec\.feature: Required value/,
  );
});
