import { X509Certificate } from 'node:crypto';
import { connect, type PeerCertificate } from 'node:tls';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../common/log';
import { startWebhookServer, type WebhookServer } from '../server';
import { DEFAULT_RESOURCES } from '../patch/settings';
import { createCa, issueServingCert } from './authority';
import { readServingPair, watchServingPair } from './file-source';
import { isWholePair } from './tls-material';
import { CertificateManager } from './manager';
import { MemoryCertificateStore, type CertificateStore } from './store';
import { serviceDnsNames, type TlsMaterial } from './tls-material';

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
      },
    }),
  });
}

function managerFor(store: CertificateStore, serve: (m: TlsMaterial) => void, bundles: string[] = []): CertificateManager {
  return new CertificateManager({ store, dnsNames: names, serve, publishCaBundle: async (bundle) => void bundles.push(bundle), log: silent });
}

describe('self-managed certificates over real TLS', () => {
  let server: WebhookServer;
  let manager: CertificateManager;
  const bundles: string[] = [];

  beforeAll(async () => {
    manager = managerFor(new MemoryCertificateStore(), (material) => server?.reloadCertificate(material), bundles);
    await manager.sync();
    server = await startServer(manager.material!);
  });
  afterAll(() => server.close());

  it('is trusted by a client that trusts only the generated CA', async () => {
    expect(manager.ready).toBe(true);
    expect(bundles).toEqual([manager.material!.caBundlePem]);
    const peer = await handshake(server.port, manager.material!.caBundlePem);
    expect(peer.subjectaltname).toContain(`DNS:${SERVICE_NAME}`);
  });

  it('is refused by a client that trusts another CA, and for a name it was not issued for', async () => {
    await expect(handshake(server.port, createCa('other', 1).certPem)).rejects.toThrow(/self-signed|unable to verify|signature/i);
    await expect(handshake(server.port, manager.material!.caBundlePem, 'evil.example')).rejects.toThrow(/altnames|Hostname/i);
  });

  it('serves the new certificate after a forced rotation, without restarting', async () => {
    const before = await handshake(server.port, manager.material!.caBundlePem);
    await manager.rotate();
    const after = await handshake(server.port, manager.material!.caBundlePem);
    expect(after.fingerprint256).not.toBe(before.fingerprint256);
    expect(after.fingerprint256).toBe(new X509Certificate(manager.material!.certPem).fingerprint256);
    // Same CA: the API server's caBundle did not have to change.
    expect(bundles).toHaveLength(1);
    expect(server.server.listening).toBe(true);
  });
});

describe('several replicas', () => {
  it('racing at start all end up serving what one of them stored', async () => {
    const store = new MemoryCertificateStore();
    const served: TlsMaterial[][] = [[], [], []];
    const managers = served.map((list) => managerFor(store, (material) => list.push(material)));
    await Promise.all(managers.map((manager) => manager.sync()));
    const stored = (await store.load())!.material;
    for (const manager of managers) expect(manager.material).toEqual(stored);
    // A replica that lost the race may have served nothing of its own: it adopted the winner's.
    for (const list of served) expect(list.at(-1)).toEqual(stored);
  });

  it('adopt a rotation another replica made', async () => {
    const store = new MemoryCertificateStore();
    const [a, b] = [managerFor(store, () => undefined), managerFor(store, () => undefined)];
    await a.sync();
    await b.sync();
    await a.rotate();
    expect(b.material!.certPem).not.toBe(a.material!.certPem);
    await b.sync();
    expect(b.material).toEqual(a.material);
  });
});

it('is not ready while the CA bundle could not be published, and keeps serving', async () => {
  let fail = true;
  const manager = new CertificateManager({
    store: new MemoryCertificateStore(),
    dnsNames: names,
    serve: () => undefined,
    publishCaBundle: async () => {
      if (fail) throw new Error('forbidden');
    },
    log: silent,
  });
  await expect(manager.sync()).rejects.toThrow('forbidden');
  expect(manager.material).toBeDefined();
  expect(manager.ready).toBe(false);
  fail = false;
  await manager.sync();
  expect(manager.ready).toBe(true);
});

describe('certificates from mounted files (cert-manager)', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'mirrord-webhook-certs-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ignores a pair caught half-written', () => {
    const ca = createCa('ca', 1);
    const [a, b] = [issueServingCert(ca, names, 1), issueServingCert(ca, names, 1)];
    expect(isWholePair(a)).toBe(true);
    expect(isWholePair({ certPem: a.certPem, keyPem: b.keyPem })).toBe(false);
    expect(isWholePair({ certPem: a.certPem.slice(0, 300), keyPem: a.keyPem })).toBe(false);
    expect(isWholePair({ certPem: a.certPem, keyPem: '' })).toBe(false);
  });

  it('serves a replaced pair without restarting', async () => {
    const ca = createCa('cert-manager-ca', 30);
    const write = (pair: { certPem: string; keyPem: string }) => {
      writeFileSync(join(dir, 'tls.crt'), pair.certPem);
      writeFileSync(join(dir, 'tls.key'), pair.keyPem);
    };
    write(issueServingCert(ca, names, 30));
    const first = await readServingPair(dir);
    const server = await startServer(first);
    const changed = new Promise<void>((resolve) => {
      const stop = watchServingPair(
        dir,
        first,
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
      const before = await handshake(server.port, ca.certPem);
      write(issueServingCert(ca, names, 30));
      await changed;
      const after = await handshake(server.port, ca.certPem);
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
