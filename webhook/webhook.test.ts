import { request as httpsRequest } from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Operation } from 'fast-json-patch';
import { createLogger } from '../common/log';
import { issueServingPair } from '../common/certs/authority';
import { MemoryCertificateStore } from '../common/certs/store';
import { serviceDnsNames } from '../common/certs/tls-material';
import { loadWebhookConfig } from './config';
import { loadReview } from './fixtures/fixtures';
import type { Cluster } from './kube/cluster';
import { startWebhook } from './webhook';

const silent = createLogger('error', {}, () => true);
const fast = { retryAfterMs: 50, checkEveryMs: 60_000, filePollMs: 50, presencePollMs: 50 };
const SERVICE = 'mirrord-webhook.mirrord-system.svc';

/** The API server's side of things, kept in memory: what the webhook stores and publishes. */
class InMemoryCluster implements Cluster {
  readonly store = new MemoryCertificateStore();
  readonly bundles: string[] = [];
  failPublishing = 0;
  readonly namespaceAnnotations = new Map<string, Record<string, string>>();
  watchNamespaceAnnotations() {
    return (namespace: string) => this.namespaceAnnotations.get(namespace);
  }
  operator = false;
  operatorKeys: string | undefined;
  async operatorState() {
    return { installed: this.operator, keys: this.operatorKeys };
  }
  constructor(private readonly version: { major: string; minor: string }) {}
  async nativeSidecars() {
    return Number(this.version.minor) >= 29;
  }
  secretStore() {
    return this.store;
  }
  async publishCaBundle(_name: string, bundle: string) {
    if (this.failPublishing-- > 0) throw new Error('the API server is unavailable');
    this.bundles.push(bundle);
  }
}

function get(port: number, path: string, ca: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, servername: SERVICE, ca, agent: false, method: body ? 'POST' : 'GET', headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const patchOf = (text: string) => JSON.parse(Buffer.from(JSON.parse(text).response.patch, 'base64').toString()) as Operation[];
const config = (env: Record<string, string> = {}) => loadWebhookConfig({ MIRRORD_WEBHOOK_PORT: '1', MIRRORD_WEBHOOK_HOST: '127.0.0.1', ...env });

it('self-managed: stores certificates, publishes the CA, serves trusted, injects native sidecars on 1.29+', async () => {
  const cluster = new InMemoryCluster({ major: '1', minor: '31' });
  const webhook = await startWebhook({ ...config(), port: 0 }, silent, cluster, fast);
  try {
    expect(webhook.nativeSidecar).toBe(true);
    const stored = (await cluster.store.load())!.material!;
    expect(cluster.bundles).toEqual([stored.caBundlePem]);
    // The client trusts only what was published as caBundle, as the API server does.
    expect(await get(webhook.server.port, '/readyz', cluster.bundles[0])).toEqual({ status: 200, text: 'ready\n' });
    const answer = await get(webhook.server.port, '/mutate', cluster.bundles[0], JSON.stringify(loadReview('deployment-pod')));
    expect(patchOf(answer.text).map((op) => op.path)).toContain('/spec/initContainers');
  } finally {
    await webhook.stop();
  }
});

it('injects sidecars that require tickets while the operator is installed, and open ones once it is gone', async () => {
  const cluster = new InMemoryCluster({ major: '1', minor: '31' });
  cluster.operator = true;
  cluster.operatorKeys = '{"keys":[]}';
  const webhook = await startWebhook({ ...config(), port: 0 }, silent, cluster, fast);
  const inject = async () => {
    const answer = await get(webhook.server.port, '/mutate', cluster.bundles[0], JSON.stringify(loadReview('deployment-pod')));
    const ops = patchOf(answer.text);
    const sidecar = (
      ops.find((op) => op.path === '/spec/initContainers') as {
        value: { env: { name: string; value?: string }[]; volumeMounts: { name: string; mountPath: string }[] }[];
      }
    ).value[0];
    // Added to a pod that has volumes one by one, to one without as a whole list.
    type Volume = { name: string; configMap?: { name: string; optional: boolean } };
    const volumes = ops.filter((op) => op.path.startsWith('/spec/volumes')).flatMap((op) => (op as { value: Volume | Volume[] }).value);
    return {
      auth: sidecar.env.find((env) => env.name === 'MIRRORD_AUTH')?.value,
      keysFile: sidecar.env.find((env) => env.name === 'MIRRORD_AUTH_KEYS_FILE')?.value,
      keys: sidecar.env.find((env) => env.name === 'MIRRORD_AUTH_KEYS')?.value,
      keysMount: sidecar.volumeMounts.find((mount) => mount.name === 'mirrord-operator-keys')?.mountPath,
      keysVolume: volumes.find((volume) => volume.name === 'mirrord-operator-keys')?.configMap,
    };
  };
  try {
    expect(await inject()).toEqual({
      auth: 'required',
      keysFile: '/mirrord/operator-keys/jwks.json',
      keys: '{"keys":[]}',
      keysMount: '/mirrord/operator-keys',
      keysVolume: { name: 'mirrord-operator-keys', optional: true },
    });
    cluster.operator = false;
    for (let waited = 0; (await inject()).auth !== undefined && waited < 5_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(await inject()).toEqual({ auth: undefined, keysFile: undefined, keys: undefined, keysMount: undefined, keysVolume: undefined });
  } finally {
    await webhook.stop();
  }
});

it("applies the namespace's annotations to its pods", async () => {
  const cluster = new InMemoryCluster({ major: '1', minor: '30' });
  cluster.namespaceAnnotations.set('shop', { 'mirrord.dev/agent-image': 'registry.example/sidecar:shop' });
  const webhook = await startWebhook({ ...config(), port: 0 }, silent, cluster, fast);
  try {
    const answer = await get(webhook.server.port, '/mutate', cluster.bundles[0], JSON.stringify(loadReview('deployment-pod')));
    const sidecar = patchOf(answer.text).find((op) => op.path === '/spec/initContainers') as { value: { image: string }[] };
    expect(sidecar.value[0].image).toBe('registry.example/sidecar:shop');
  } finally {
    await webhook.stop();
  }
});

it('self-managed: serves at once, but is ready only once the API server trusts it', async () => {
  const cluster = new InMemoryCluster({ major: '1', minor: '28' });
  cluster.failPublishing = 3;
  const webhook = await startWebhook({ ...config(), port: 0 }, silent, cluster, fast);
  try {
    expect(webhook.nativeSidecar).toBe(false);
    const ca = (await cluster.store.load())!.material!.caBundlePem;
    expect((await get(webhook.server.port, '/readyz', ca)).status).toBe(503);
    for (let waited = 0; cluster.bundles.length === 0 && waited < 5_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    expect((await get(webhook.server.port, '/readyz', ca)).status).toBe(200);
  } finally {
    await webhook.stop();
  }
});

it('self-managed: a second replica adopts the first one’s certificates', async () => {
  const cluster = new InMemoryCluster({ major: '1', minor: '30' });
  const [a, b] = await Promise.all([
    startWebhook({ ...config(), port: 0 }, silent, cluster, fast),
    startWebhook({ ...config(), port: 0 }, silent, cluster, fast),
  ]);
  try {
    const ca = (await cluster.store.load())!.material!.caBundlePem;
    expect((await get(a.server.port, '/healthz', ca)).status).toBe(200);
    expect((await get(b.server.port, '/healthz', ca)).status).toBe(200);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

it('files mode with a fixed sidecar kind and no namespace defaults needs no cluster at all', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mirrord-webhook-files-'));
  try {
    const pair = issueServingPair(serviceDnsNames('mirrord-webhook', 'mirrord-system'), 1);
    writeFileSync(join(dir, 'tls.crt'), pair.certPem);
    writeFileSync(join(dir, 'tls.key'), pair.keyPem);
    const webhook = await startWebhook(
      {
        ...config({
          MIRRORD_WEBHOOK_CERT_MODE: 'files',
          MIRRORD_WEBHOOK_CERT_DIR: dir,
          MIRRORD_SIDECAR_NATIVE: 'false',
          MIRRORD_WEBHOOK_NAMESPACE_ANNOTATIONS: 'false',
        }),
        port: 0,
      },
      silent,
      undefined,
      fast,
    );
    try {
      const answer = await get(webhook.server.port, '/mutate', pair.caCertPem, JSON.stringify(loadReview('deployment-pod')));
      expect(patchOf(answer.text).map((op) => op.path)).toContain('/spec/containers/1');
    } finally {
      await webhook.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('stopping turns readiness off before closing', async () => {
  const cluster = new InMemoryCluster({ major: '1', minor: '30' });
  const webhook = await startWebhook({ ...config(), port: 0 }, silent, cluster, fast);
  const ca = cluster.bundles[0];
  const stopped = webhook.stop(300);
  expect((await get(webhook.server.port, '/readyz', ca)).status).toBe(503);
  await stopped;
  await expect(get(webhook.server.port, '/healthz', ca)).rejects.toThrow(/ECONNREFUSED/);
});
