/**
 * The whole-container opt-in: with the pod annotated mirrord.dev/whole-container: "true", a file
 * that exists only in the app's image is read through the session, and the environment is the
 * app process's own, with what its entrypoint exported. Without it, the same read is refused
 * with one note saying what would serve it, and the env is the spec's.
 */
import { existsSync } from 'node:fs';
import { createNamespaces, deleteNamespaces, kubeconfigPath, kubectl, rolledOut, webhookReady } from './cluster';
import { deployment, manifests } from './manifests';
import { mirrord, type Mirrord } from './mirrord';
import { stoppedAfterEach } from './stopped-after-each';
import { VERSION } from '../../common/version';

const namespace = `e2e-whole-${process.pid}`;
const sessions = stoppedAfterEach();
/** In the sidecar's image (node, bash, the app's files), not in a volume, and not on this machine. */
const IMAGE_FILE = '/app/package.json';

/** The sidecar's image as an app: an entrypoint that exports a variable and then execs the program. */
function app(name: string, wholeContainer: boolean): string {
  const container = {
    name: 'app',
    image: `mirrord-sidecar:${VERSION}`,
    imagePullPolicy: 'Never',
    command: ['/bin/bash', '-c', 'export FROM_ENTRYPOINT=exported; exec /usr/bin/node -e "setInterval(() => {}, 1 << 30)"'],
    env: [{ name: 'SPEC_VAR', value: 'from the spec' }],
  };
  return deployment(
    namespace,
    name,
    { terminationGracePeriodSeconds: 2, containers: [container] },
    wholeContainer ? { 'mirrord.dev/whole-container': 'true' } : undefined,
  );
}

function attach(target: string, command: string): Mirrord {
  const session = mirrord(['attach', target, '-n', namespace, '--kubeconfig', kubeconfigPath(), '--', 'sh', '-c', command], {
    env: { ...process.env, MIRRORD_FILE_READ_ONLY_PATTERN: `^${IMAGE_FILE.replace('.', '\\.')}$` },
  });
  sessions.push(session);
  return session;
}

const SHOW = `echo "FROM_ENTRYPOINT=\${FROM_ENTRYPOINT:-unset} SPEC_VAR=\${SPEC_VAR:-unset}"; grep -m1 '"name"' ${IMAGE_FILE}`;

beforeAll(async () => {
  await webhookReady();
  await createNamespaces({ labeled: [namespace] });
  await kubectl(['apply', '-f', '-'], { input: manifests(app('whole', true), app('plain', false)) });
  await Promise.all([rolledOut(namespace, 'whole', 180), rolledOut(namespace, 'plain', 180)]);
}, 10 * 60_000);

afterAll(async () => {
  await deleteNamespaces(namespace);
}, 10 * 60_000);

test("opted in: a file only in the image is read, and the env is the app process's, entrypoint exports included", async () => {
  expect(existsSync(IMAGE_FILE)).toBe(false);
  const run = await attach('deploy/whole', SHOW).done;
  expect(run.stderr).not.toMatch(/serves only those/);
  expect(run.code).toBe(0);
  expect(run.stdout).toBe('FROM_ENTRYPOINT=exported SPEC_VAR=from the spec\n  "name": "mirrord-ts",\n');
  const pod = (await kubectl(['-n', namespace, 'get', 'pods', '-l', 'app=whole', '-o', 'jsonpath={.items[0].spec.shareProcessNamespace}'])).trim();
  expect(pod).toBe('true');
}, 120_000);

test("without the opt-in: the spec's env, and the image's file refused with one note saying what would serve it", async () => {
  const run = await attach('deploy/plain', SHOW).done;
  expect(run.stdout).toBe('FROM_ENTRYPOINT=unset SPEC_VAR=from the spec\n');
  expect(run.code).not.toBe(0);
  const notes = run.stderr.split('\n').filter((line) => line.includes('mirrord.dev/whole-container'));
  expect(notes).toEqual([
    `mirrord: warning: ${IMAGE_FILE} is not under the app's mounts (/var/run/secrets/kubernetes.io/serviceaccount): the sidecar serves only those; files baked into the image are served when the pod is annotated mirrord.dev/whole-container: "true" (docs/sidecar.md)`,
  ]);
}, 120_000);
