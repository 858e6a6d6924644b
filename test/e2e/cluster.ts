/**
 * The cluster the end-to-end suites run against: the one `npm run cluster:up` made (kind or the
 * assembled one), or one brought up here when none answers. kubectl is driven as a program so the
 * suites exercise the same path a user's commands take.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { packagePath } from '../../common/package-root';
import { eventually } from '../harness/eventually';

// Found from the sources (jest) and from dist/ (the demo) alike.
const repo = dirname(packagePath('package.json'));
const cache = process.env.MIRRORD_K8S_CACHE ?? '/var/cache/mirrord-k8s';

function k8sVersion(): string {
  const mod = readFileSync(join(repo, 'kind', 'k8s', 'go.mod'), 'utf8');
  const match = /^\s*k8s\.io\/kubernetes (v[0-9.]+)/m.exec(mod);
  if (!match) throw new Error('kind/k8s/go.mod names no k8s.io/kubernetes version');
  return match[1];
}

export function kubeconfigPath(): string {
  const candidates = [process.env.MIRRORD_KUBECONFIG, '/var/lib/mirrord-cluster/admin.kubeconfig', join(homedir(), '.kube', 'mirrord-kind.kubeconfig')];
  return candidates.find((p): p is string => !!p && existsSync(p)) ?? candidates[1]!;
}

function kubectlPath(): string {
  if (process.env.MIRRORD_KUBECTL) return process.env.MIRRORD_KUBECTL;
  const built = join(cache, 'bin', k8sVersion(), 'kubectl');
  return existsSync(built) ? built : 'kubectl';
}

/** The demo app's static binary the cluster's demo image was built from (kind/images/build.sh): a gRPC client too. */
export function demoProgram(): string {
  return join(cache, 'bin', 'demo');
}

export interface KubectlOptions {
  input?: string;
  timeoutMs?: number;
  /** Another user's kubeconfig (the admin's by default). */
  kubeconfig?: string;
}

/** Runs kubectl against the cluster; rejects with its stderr when it fails. */
export function kubectl(args: string[], options: KubectlOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      kubectlPath(),
      ['--kubeconfig', options.kubeconfig ?? kubeconfigPath(), ...args],
      { timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
        else resolve(stdout);
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

async function clusterAnswers(): Promise<boolean> {
  try {
    await kubectl(['get', '--raw', '/readyz'], { timeoutMs: 10_000 });
    return true;
  } catch {
    return false;
  }
}

function clusterScript(action: 'up' | 'down'): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(repo, 'kind', 'cluster.sh'), action], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cluster:${action} exited with ${code}`))));
  });
}

/**
 * Makes sure a cluster answers. Returns a function that undoes what this call did: it brings the
 * cluster down only when this call brought it up (and MIRRORD_E2E_KEEP_CLUSTER isn't 1).
 */
export async function ensureCluster(): Promise<() => Promise<void>> {
  if (await clusterAnswers()) return async () => {};
  await clusterScript('up');
  if (!(await clusterAnswers())) throw new Error(`cluster:up finished but ${kubeconfigPath()} does not answer`);
  return async () => {
    if (process.env.MIRRORD_E2E_KEEP_CLUSTER !== '1') await clusterScript('down');
  };
}

/** Waits until the Deployment `name` in `namespace` has rolled out. */
export async function rolledOut(namespace: string, name: string, seconds = 120): Promise<void> {
  await kubectl(['-n', namespace, 'rollout', 'status', `deployment/${name}`, `--timeout=${seconds}s`], { timeoutMs: (seconds + 10) * 1000 });
}

/** Waits until the pod `name` in `namespace` is Ready. */
export async function podReady(namespace: string, name: string, seconds = 120): Promise<void> {
  await kubectl(['-n', namespace, 'wait', '--for=condition=Ready', `pod/${name}`, `--timeout=${seconds}s`], { timeoutMs: (seconds + 10) * 1000 });
}

/** The webhook from manifests/ (installed by cluster:up) has rolled out. */
export function webhookReady(seconds = 120): Promise<void> {
  return rolledOut('mirrord-system', 'mirrord-webhook', seconds);
}

/**
 * Creates the namespaces, those in `labeled` labeled for injection. Where the operator runs, a
 * labeled namespace is ready once the operator has published its keys there: a pod created
 * before that gets a sidecar without them (the optional ConfigMap is mounted only when the
 * kubelet next syncs the pod's volumes, up to a minute later), which refuses the operator's
 * tickets meanwhile.
 */
export async function createNamespaces({ labeled = [], unlabeled = [] }: { labeled?: string[]; unlabeled?: string[] }): Promise<void> {
  const operator =
    labeled.length > 0 &&
    (await kubectl(['-n', 'mirrord-system', 'get', 'deployment', 'mirrord-operator']).then(
      () => true,
      () => false,
    ));
  for (const namespace of labeled) {
    await kubectl(['create', 'namespace', namespace]);
    await kubectl(['label', 'namespace', namespace, 'mirrord.dev/injection=enabled']);
  }
  for (const namespace of unlabeled) await kubectl(['create', 'namespace', namespace]);
  if (!operator) return;
  for (const namespace of labeled) await operatorKeysIn(namespace);
}

/** Waits until the operator has published its public keys in `namespace`. */
async function operatorKeysIn(namespace: string, seconds = 90): Promise<void> {
  await eventually(() => kubectl(['-n', namespace, 'get', 'configmap', 'mirrord-operator-keys']), seconds * 1000, 500).catch(() => {
    throw new Error(`the operator did not publish its keys in namespace ${namespace} within ${seconds} s`);
  });
}

/** Deletes the namespaces without waiting (the next run's names differ); a failure is not the test's. */
export async function deleteNamespaces(...namespaces: string[]): Promise<void> {
  for (const namespace of namespaces) await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => undefined);
}
