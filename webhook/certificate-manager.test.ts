import { createPrivateKey, X509Certificate } from 'node:crypto';
import { connect, type PeerCertificate } from 'node:tls';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../common/log';
import { startWebhookServer, type WebhookServer } from './server';
import { DEFAULT_RESOURCES } from './patch/settings';
import { issueServingPair } from '../common/certs/authority';
import { readServingPair, watchServingPair } from '../common/certs/file-source';
import { CertificateManager, type CertificateManagerOptions } from '../common/certs/manager';
import { DEFAULT_POLICY } from '../common/certs/renewal';
import { MemoryCertificateStore, type CertificateStore, type Stored } from '../common/certs/store';
import { bundleCertificates, isWholePair, serviceDnsNames, type TlsMaterial } from '../common/certs/tls-material';

// Every pair is two RSA key generations: a few replicas renewing take seconds on a busy machine.
jest.setTimeout(20_000);

const silent = createLogger('error', {}, () => true);
const names = serviceDnsNames('mirrord-webhook', 'mirrord-system');
const SERVICE_NAME = 'mirrord-webhook.mirrord-system.svc';

/** A real TLS handshake by a client that trusts only `ca`, checking the name as the API server does. */
function handshake(port: number, ca: string, servername = SERVICE_NAME): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, ca }, () => {
      const peer = socket.getPeerCertificate();
      socket.end();
      resolve(peer);
    });
    socket.on('error', reject);
  });
}

function startServer(tls: { certPem: string; keyPem: string }): Promise<WebhookServer> {
  return startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tls,
    log: silent,
    contextFor: (namespace) => ({
      namespace,
      webhookNamespace: 'mirrord-system',
      settings: {
        image: 'x',
        pullPolicy: 'IfNotPresent',
        agentPort: 61234,
        resources: DEFAULT_RESOURCES,
        nativeSidecar: true,
        version: 't',
        writableVolumes: false,
        auth: 'none',
      },
    }),
  });
}

/** What the API server knows: the caBundle last published, and the order things happened in. */
class ApiServer {
  bundle: string | undefined;
  readonly bundles: string[] = [];
  readonly events: string[] = [];
  /** When each event happened, in ms. */
  readonly times: Record<string, number> = {};
  failures = 0;
  readonly publish = async (bundle: string) => {
    if (this.failures-- > 0) throw new Error('forbidden');
    this.bundle = bundle;
    this.bundles.push(bundle);
    this.record(`publish ${bundleCertificates(bundle).length} CA(s), first ${fingerprint(bundle)}`);
  };
  record(event: string): void {
    this.events.push(event);
    this.times[event] = Date.now();
  }
}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

function managerFor(
  store: CertificateStore,
  serve: (m: TlsMaterial) => void,
  api = new ApiServer(),
  options: Partial<CertificateManagerOptions> = {},
): CertificateManager {
  return new CertificateManager({ store, dnsNames: names, serve, publishCaBundle: api.publish, log: silent, settleMs: 0, ...options });
}

/** A replica: a manager and the real HTTPS server it feeds. */
async function startReplica(store: CertificateStore, api: ApiServer, options: Partial<CertificateManagerOptions> = {}) {
  let server: WebhookServer | undefined;
  const manager = managerFor(store, (material) => server?.reloadCertificate(material), api, options);
  await manager.sync();
  server = await startServer(manager.material!);
  return { manager, server };
}

describe('self-managed certificates over real TLS', () => {
  let server: WebhookServer;
  let manager: CertificateManager;
  const api = new ApiServer();
  const store = new MemoryCertificateStore();

  beforeAll(async () => ({ manager, server } = await startReplica(store, api)));
  afterAll(() => server.close());

  it('is trusted by a client that trusts only the published caBundle', async () => {
    expect(manager.ready).toBe(true);
    expect(api.bundles).toEqual([manager.material!.caBundlePem]);
    const peer = await handshake(server.port, api.bundle!);
    expect(peer.subjectaltname).toContain(`DNS:${SERVICE_NAME}`);
  });

  it('is refused by a client that trusts another CA, and for a name it was not issued for', async () => {
    await expect(handshake(server.port, issueServingPair(names, 1).caCertPem)).rejects.toThrow(/self-signed|unable to verify|signature/i);
    await expect(handshake(server.port, api.bundle!, 'evil.example')).rejects.toThrow(/altnames|Hostname/i);
  });

  it('serves the new certificate after a forced rotation, without restarting, trusted through the new caBundle', async () => {
    const before = await handshake(server.port, api.bundle!);
    const oldBundle = api.bundle!;
    await manager.rotate();
    expect(api.bundles).toHaveLength(2);
    const after = await handshake(server.port, api.bundle!);
    expect(after.fingerprint256).not.toBe(before.fingerprint256);
    expect(after.fingerprint256).toBe(fingerprint(manager.material!.certPem));
    // A new CA, and the previous one still trusted.
    expect(bundleCertificates(api.bundle!).map((ca) => ca.fingerprint256)).toEqual([expect.any(String), fingerprint(oldBundle)]);
    await expect(handshake(server.port, oldBundle)).rejects.toThrow(/unable to verify|signature|self-signed/i);
    expect(server.server.listening).toBe(true);
  });

  it('stores no private key but the serving one', async () => {
    await manager.rotate();
    const stored = (await store.load())!.material!;
    expect(Object.keys(stored).sort()).toEqual(['caBundlePem', 'certPem', 'keyPem']);
    expect(Object.values(stored).filter((pem) => pem.includes('PRIVATE KEY'))).toEqual([stored.keyPem]);
    // And that one cannot sign as any CA of the bundle.
    for (const ca of bundleCertificates(stored.caBundlePem)) expect(ca.checkPrivateKey(createPrivateKey(stored.keyPem))).toBe(false);
  });
});

describe('several replicas', () => {
  it('racing at start all end up serving what one of them stored', async () => {
    const store = new MemoryCertificateStore();
    const api = new ApiServer();
    const served: TlsMaterial[][] = [[], [], []];
    const managers = served.map((list) => managerFor(store, (material) => list.push(material), api));
    await Promise.all(managers.map((manager) => manager.sync()));
    const stored = (await store.load())!.material;
    for (const manager of managers) expect(manager.material).toEqual(stored);
    // A replica that lost the race may have served nothing of its own: it adopted the winner's.
    for (const list of served) expect(list.at(-1)).toEqual(stored);
    expect(api.bundle).toBe(stored!.caBundlePem);
  });

  it('racing to renew at expiry all end up serving one new pair, trusted by the published bundle', async () => {
    const store = new MemoryCertificateStore();
    const api = new ApiServer();
    let now = new Date();
    const managers = [0, 1].map(() => managerFor(store, () => undefined, api, { now: () => now }));
    await Promise.all(managers.map((manager) => manager.sync()));
    const before = (await store.load())!.material!;
    now = new Date(now.getTime() + 300 * 86_400_000);
    await Promise.all(managers.map((manager) => manager.sync()));
    const after = (await store.load())!.material!;
    expect(after.certPem).not.toBe(before.certPem);
    for (const manager of managers) expect(manager.material).toEqual(after);
    expect(api.bundle).toBe(after.caBundlePem);
    expect(bundleCertificates(after.caBundlePem)).toHaveLength(2);
  });

  it('during a rotation by one, the published caBundle trusts what each serves; after the overlap only the new CA', async () => {
    const store = new MemoryCertificateStore();
    const api = new ApiServer();
    let now = new Date();
    const options = { now: () => now };
    const [a, b] = [await startReplica(store, api, options), await startReplica(store, api, options)];
    try {
      const old = await handshake(b.server.port, api.bundle!);
      await a.manager.rotate();
      // b has not checked yet: it still serves the previous certificate, and is still trusted.
      expect((await handshake(b.server.port, api.bundle!)).fingerprint256).toBe(old.fingerprint256);
      expect((await handshake(a.server.port, api.bundle!)).fingerprint256).not.toBe(old.fingerprint256);
      await b.manager.sync();
      expect((await handshake(b.server.port, api.bundle!)).fingerprint256).toBe(fingerprint(a.manager.material!.certPem));

      now = new Date(now.getTime() + DEFAULT_POLICY.overlapMs + 60_000);
      await b.manager.sync();
      await a.manager.sync();
      expect(bundleCertificates(api.bundle!)).toHaveLength(1);
      expect(a.manager.material).toEqual(b.manager.material);
      for (const { server } of [a, b]) expect((await handshake(server.port, api.bundle!)).fingerprint256).toBe(fingerprint(a.manager.material!.certPem));
      expect(a.manager.ready && b.manager.ready).toBe(true);
    } finally {
      await Promise.all([a.server.close(), b.server.close()]);
    }
  });
});

describe('the order of publishing and serving', () => {
  it('publishes a bundle with the new CA before serving a certificate it issued, and waits for the API servers to see it', async () => {
    const api = new ApiServer();
    const serve = (material: TlsMaterial) => api.record(`serve, issued by ${fingerprint(material.caBundlePem)}`);
    const manager = managerFor(new MemoryCertificateStore(), serve, api, { settleMs: 200 });
    await manager.sync();
    const first = fingerprint(manager.material!.caBundlePem);
    // The first certificate is served at once: nothing else is being served, readiness waits.
    expect(api.events).toEqual([`serve, issued by ${first}`, `publish 1 CA(s), first ${first}`]);
    await manager.rotate();
    const second = fingerprint(manager.material!.caBundlePem);
    const [published, served] = [`publish 2 CA(s), first ${second}`, `serve, issued by ${second}`];
    expect(api.events.slice(2)).toEqual([published, served]);
    expect(api.times[served] - api.times[published]).toBeGreaterThanOrEqual(190);
  });

  it('keeps serving the previous certificate, and stays ready, while the new bundle cannot be published', async () => {
    const api = new ApiServer();
    const served: TlsMaterial[] = [];
    const manager = managerFor(new MemoryCertificateStore(), (material) => served.push(material), api);
    await manager.sync();
    const before = manager.material!;
    api.failures = 1;
    await expect(manager.rotate()).rejects.toThrow('forbidden');
    expect(served).toEqual([before]);
    expect(manager.material).toEqual(before);
    expect(manager.ready).toBe(true);
    // The next round finds the new pair stored, publishes its bundle, then serves it.
    await manager.sync();
    expect(served).toHaveLength(2);
    expect(api.bundle).toBe(manager.material!.caBundlePem);
    expect(manager.ready).toBe(true);
  });
});

it('is not ready while the CA bundle could not be published, and keeps serving', async () => {
  const api = new ApiServer();
  api.failures = 1;
  const manager = managerFor(new MemoryCertificateStore(), () => undefined, api);
  await expect(manager.sync()).rejects.toThrow('forbidden');
  expect(manager.material).toBeDefined();
  expect(manager.ready).toBe(false);
  await manager.sync();
  expect(manager.ready).toBe(true);
});

it('replaces a stored object that still holds a CA key with a new pair, trusting the previous CA during the overlap', async () => {
  const legacy = issueServingPair(names, 3650);
  let stored: Stored = {
    material: { caBundlePem: legacy.caCertPem, certPem: legacy.certPem, keyPem: legacy.keyPem },
    version: '1',
    outdated: 'holds a CA key',
  };
  const store: CertificateStore = {
    load: async () => stored,
    save: async (material, basedOn) => {
      expect(basedOn?.version).toBe(stored.version);
      stored = { material, version: String(Number(stored.version) + 1) };
      return stored;
    },
  };
  const api = new ApiServer();
  const manager = managerFor(store, () => undefined, api);
  await manager.sync();
  expect(stored.version).toBe('2');
  expect(manager.material!.certPem).not.toBe(legacy.certPem);
  expect(bundleCertificates(api.bundle!).map((ca) => ca.fingerprint256)).toEqual([fingerprint(manager.material!.caBundlePem), fingerprint(legacy.caCertPem)]);
  await manager.sync();
  expect(stored.version).toBe('2');
});

describe('certificates from mounted files (cert-manager)', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'mirrord-webhook-certs-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ignores a pair caught half-written', () => {
    const [a, b] = [issueServingPair(names, 1), issueServingPair(names, 1)];
    expect(isWholePair(a)).toBe(true);
    expect(isWholePair({ certPem: a.certPem, keyPem: b.keyPem })).toBe(false);
    expect(isWholePair({ certPem: a.certPem.slice(0, 300), keyPem: a.keyPem })).toBe(false);
    expect(isWholePair({ certPem: a.certPem, keyPem: '' })).toBe(false);
  });

  it('serves a replaced pair without restarting', async () => {
    // cert-manager's issuer signs both; a client trusting both CAs plays the API server here.
    const [first, second] = [issueServingPair(names, 30), issueServingPair(names, 30)];
    const ca = first.caCertPem + second.caCertPem;
    const write = (pair: { certPem: string; keyPem: string }) => {
      writeFileSync(join(dir, 'tls.crt'), pair.certPem);
      writeFileSync(join(dir, 'tls.key'), pair.keyPem);
    };
    write(first);
    const initial = await readServingPair(dir);
    const server = await startServer(initial);
    const changed = new Promise<void>((resolve) => {
      const stop = watchServingPair(
        dir,
        initial,
        (pair) => {
          server.reloadCertificate(pair);
          stop();
          resolve();
        },
        silent,
        50,
      );
    });
    try {
      const before = await handshake(server.port, ca);
      write(second);
      await changed;
      const after = await handshake(server.port, ca);
      expect(after.fingerprint256).not.toBe(before.fingerprint256);
    } finally {
      await server.close();
    }
  });
});

it('replaces a stored object that holds no usable certificates', async () => {
  // A Secret created empty by hand: it exists (so create would conflict) but has no data.
  const saves: (string | undefined)[] = [];
  let stored: { material?: TlsMaterial; version: string } = { version: '7' };
  const store: CertificateStore = {
    load: async () => stored,
    save: async (material, basedOn) => {
      saves.push(basedOn?.version);
      stored = { material, version: '8' };
      return stored;
    },
  };
  const manager = managerFor(store, () => undefined);
  await manager.sync();
  expect(saves).toEqual(['7']);
  expect(manager.material).toEqual(stored.material);
});
