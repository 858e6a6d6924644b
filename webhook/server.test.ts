import { request as httpsRequest, Agent } from 'node:https';
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { applyPatch, type Operation } from 'fast-json-patch';
import type { V1Pod } from '@kubernetes/client-node';
import { createLogger } from '../common/log';
import { issueServingPair } from '../common/certs/authority';
import { FIXTURES, loadReview } from './fixtures/fixtures';
import { DEFAULT_RESOURCES } from './patch/settings';
import { startWebhookServer, type WebhookServer } from './server';

const serving = issueServingPair(['localhost'], 30);
const logLines: Record<string, unknown>[] = [];
const log = createLogger('info', {}, (line) => logLines.push(JSON.parse(line)) > 0);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

let webhook: WebhookServer;
let agent: Agent;

beforeAll(async () => {
  webhook = await startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tls: serving,
    log,
    bodyLimitBytes: 256 * 1024,
    requestTimeoutMs: 1_000,
    contextFor: (namespace) => ({
      namespace,
      webhookNamespace: 'mirrord-system',
      settings: {
        image: 'mirrord-sidecar:test',
        pullPolicy: 'IfNotPresent',
        agentPort: 61234,
        resources: DEFAULT_RESOURCES,
        nativeSidecar: true,
        version: 'test',
        writableVolumes: false,
        auth: 'none',
      },
    }),
  });
  agent = new Agent({ keepAlive: true, ca: serving.caCertPem, maxSockets: 16 });
});

afterAll(async () => {
  agent.destroy();
  await webhook.close();
});

/** A client that trusts only the generated CA and checks the name, like the API server. */
function call(method: string, path: string, body?: Buffer | string, contentType = 'application/json'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: webhook.port,
        method,
        path,
        agent,
        headers: body === undefined ? {} : { 'content-type': contentType },
        timeout: 5_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${path} within 5 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

function patchOf(answer: Answer): Operation[] | undefined {
  const review = JSON.parse(answer.text) as { response: { patch?: string; patchType?: string } };
  if (review.response.patch === undefined) return undefined;
  expect(review.response.patchType).toBe('JSONPatch');
  return JSON.parse(Buffer.from(review.response.patch, 'base64').toString('utf8')) as Operation[];
}

describe('recorded-shape AdmissionReviews over real HTTPS', () => {
  it.each(FIXTURES)('%s gets a well-formed answer for its uid', async (name) => {
    const review = loadReview(name);
    const answer = await call('POST', '/mutate', JSON.stringify(review));
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(answer.text);
    expect(body).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } });
    const patch = patchOf(answer);
    const injected = name === 'deployment-pod' || name === 'multi-container-pod';
    expect(patch !== undefined).toBe(injected);
    if (patch) {
      const pod = applyPatch(review.request.object, patch, true, false).newDocument as V1Pod;
      expect(pod.spec!.initContainers!.at(-1)!.name).toBe('mirrord-agent');
      expect(pod.metadata!.annotations!['mirrord.dev/injected']).toBe('test');
    }
  });

  it('answers the same review for an injected pod without a patch', async () => {
    const review = loadReview('deployment-pod');
    const first = patchOf(await call('POST', '/mutate', JSON.stringify(review)))!;
    review.request.object = applyPatch(review.request.object, first, true, false).newDocument;
    expect(patchOf(await call('POST', '/mutate', JSON.stringify(review)))).toBeUndefined();
  });

  it('relays warnings about unknown annotations, and logs them with the pod they concern', async () => {
    const review = loadReview('multi-container-pod');
    const body = JSON.parse((await call('POST', '/mutate', JSON.stringify(review))).text);
    expect(body.response.warnings).toEqual(['mirrord: unknown annotation mirrord.dev/agnet-image is ignored']);
    expect(logLines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        uid: review.request.uid,
        namespace: 'analytics',
        pod: 'reports-0',
        warnings: ['mirrord: unknown annotation mirrord.dev/agnet-image is ignored'],
      }),
    );
  });

  it('names a Deployment pod by its generateName in the logs', async () => {
    const review = loadReview('deployment-pod');
    await call('POST', '/mutate', JSON.stringify(review));
    expect(logLines).toContainEqual(
      expect.objectContaining({ msg: 'injected the sidecar', uid: review.request.uid, namespace: 'shop', pod: 'checkout-7d9c6b5f4-*' }),
    );
  });
});

describe('health, readiness and metrics', () => {
  it('answers /healthz and /readyz', async () => {
    expect(await call('GET', '/healthz')).toMatchObject({ status: 200, text: 'ok\n' });
    expect(await call('GET', '/readyz')).toMatchObject({ status: 200, text: 'ready\n' });
  });

  it('counts requests, injections and skips by reason in Prometheus text', async () => {
    await call('POST', '/mutate', JSON.stringify(loadReview('opted-out-pod')));
    const metrics = await call('GET', '/metrics');
    expect(metrics.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(metrics.text).toMatch(/^mirrord_webhook_requests_total\{code="200"\} [1-9]\d*$/m);
    expect(metrics.text).toMatch(/^mirrord_webhook_injections_total [1-9]\d*$/m);
    expect(metrics.text).toMatch(/^mirrord_webhook_skips_total\{reason="opted-out"\} [1-9]\d*$/m);
    expect(metrics.text).toMatch(/^mirrord_webhook_admission_duration_seconds_count [1-9]\d*$/m);
  });

  it('answers unknown paths with 404', async () => {
    expect((await call('GET', '/mutate')).status).toBe(404);
    expect((await call('POST', '/other', '{}')).status).toBe(404);
  });
});

describe('malformed and random bodies', () => {
  /** Deterministic, so a failure can be replayed. */
  function prng(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const random = prng(20261125);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const randomValue = (depth = 0): unknown => {
    switch (Math.floor(random() * (depth > 2 ? 5 : 7))) {
      case 0:
        return null;
      case 1:
        return random() < 0.5;
      case 2:
        return Math.floor(random() * 2 ** 31) * (random() < 0.5 ? -1 : 1);
      case 3:
        return pick(['', 'Pod', 'CREATE', '$(X)', '$$(', 'mirrord.dev/inject', '\u0000', '\ud800', 'é'.repeat(50), '../../etc']);
      case 4:
        return 1.5e308;
      case 5:
        return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(depth + 1));
      default:
        return Object.fromEntries(
          Array.from({ length: Math.floor(random() * 4) }, (_, i) => [pick(['uid', 'kind', 'spec', 'name', 'env', `k${i}`]), randomValue(depth + 1)]),
        );
    }
  };
  /** Replaces or deletes one random node of a JSON tree. */
  const mutate = (root: unknown): unknown => {
    const copy = structuredClone(root) as Record<string, unknown>;
    let node: Record<string, unknown> = copy;
    for (let depth = 0; depth < 12; depth++) {
      const keys = Object.keys(node);
      if (keys.length === 0) break;
      const key = pick(keys);
      const child = node[key];
      if (typeof child !== 'object' || child === null || random() < 0.25) {
        if (random() < 0.3) delete node[key];
        else node[key] = randomValue();
        break;
      }
      node = child as Record<string, unknown>;
    }
    return copy;
  };

  function malformedBody(index: number): { body: Buffer | string; contentType: string; uid?: string } {
    const review = loadReview(pick(FIXTURES)) as unknown as Record<string, any>;
    switch (index % 12) {
      case 0:
        return {
          body: Buffer.from(Array.from({ length: Math.floor(random() * 2000) }, () => Math.floor(random() * 256))),
          contentType: 'application/octet-stream',
        };
      case 1:
        return { body: JSON.stringify(randomValue()), contentType: 'application/json' };
      case 2: {
        const text = JSON.stringify(review);
        return { body: text.slice(0, Math.floor(random() * text.length)), contentType: 'application/json' };
      }
      case 3:
        review.apiVersion = pick(['admission.k8s.io/v1beta1', 'v1', '', 42]);
        return { body: JSON.stringify(review), contentType: 'application/json', uid: review.request.uid };
      case 4:
        review.kind = pick(['Pod', 'AdmissionRequest', null]);
        return { body: JSON.stringify(review), contentType: 'application/json', uid: review.request.uid };
      case 5:
        review.request.uid = pick([undefined, '', 7, null, {}]);
        return { body: JSON.stringify(review), contentType: 'application/json' };
      case 6:
        review.request.kind = { group: pick(['', 'apps']), version: 'v1', kind: pick(['Deployment', 'Service', 'ConfigMap']) };
        review.request.object = { kind: review.request.kind.kind, apiVersion: 'v1', metadata: { name: 'x' }, spec: {} };
        return { body: JSON.stringify(review), contentType: 'application/json', uid: review.request.uid };
      case 7:
        review.request.object = pick([null, 'pod', [], {}, { spec: null }, { spec: { containers: 'app' } }]);
        return { body: JSON.stringify(review), contentType: 'application/json', uid: review.request.uid };
      case 8:
        review.request.operation = pick(['UPDATE', 'DELETE', 'CONNECT', 'create']);
        return { body: JSON.stringify(review), contentType: 'application/json', uid: review.request.uid };
      case 9:
        return { body: JSON.stringify(review), contentType: pick(['text/plain', '', 'application/x-www-form-urlencoded']), uid: review.request.uid };
      default: {
        if (index % 120 === 10) return { body: Buffer.alloc(300 * 1024, 'x'), contentType: 'application/json' };
        let mutated: unknown = review;
        for (let n = 1 + Math.floor(random() * 4); n > 0; n--) mutated = mutate(mutated);
        const uid = (mutated as any)?.request?.uid;
        return { body: JSON.stringify(mutated), contentType: 'application/json', uid: typeof uid === 'string' && uid ? uid : undefined };
      }
    }
  }

  it('answers 1,200 of them well-formed, with no crash and no hang', async () => {
    const counts = { answered: 0, badRequest: 0, patched: 0 };
    for (let batch = 0; batch < 1200; batch += 24) {
      await Promise.all(
        Array.from({ length: 24 }, async (_, offset) => {
          const index = batch + offset;
          const { body, contentType, uid } = malformedBody(index);
          const answer = await call('POST', '/mutate', body, contentType);
          const parsed = JSON.parse(answer.text) as Record<string, any>;
          if (answer.status === 200) {
            expect(parsed.apiVersion).toBe('admission.k8s.io/v1');
            expect(parsed.kind).toBe('AdmissionReview');
            expect(parsed.response.allowed).toBe(true);
            expect(typeof parsed.response.uid).toBe('string');
            if (uid !== undefined) expect(parsed.response.uid).toBe(uid);
            if (parsed.response.patch !== undefined) {
              // The patch must apply to the object exactly as it was sent.
              const sent = JSON.parse(body.toString()) as Record<string, any>;
              applyPatch(structuredClone(sent.request.object), patchOf(answer)!, true, false);
              counts.patched++;
            }
            counts.answered++;
          } else {
            expect([400, 413]).toContain(answer.status);
            expect(typeof parsed.error).toBe('string');
            expect(uid).toBeUndefined();
            counts.badRequest++;
          }
        }),
      );
    }
    expect(counts.answered + counts.badRequest).toBe(1200);
    // Both kinds of answer were exercised, and some mutated pods were still injectable.
    expect(counts.badRequest).toBeGreaterThan(100);
    expect(counts.answered).toBeGreaterThan(300);
    expect(counts.patched).toBeGreaterThan(10);
    expect(await call('GET', '/healthz')).toMatchObject({ status: 200 });
  }, 120_000);

  it('rejects a body over the limit with 413', async () => {
    const answer = await call('POST', '/mutate', Buffer.alloc(300 * 1024, ' '));
    expect(answer.status).toBe(413);
  });

  it('cuts off a client that never starts its TLS handshake', async () => {
    const started = Date.now();
    await new Promise<void>((resolve) => {
      const socket = tcpConnect({ host: '127.0.0.1', port: webhook.port });
      socket.on('close', () => resolve());
      // Closed or reset: either way the server let go.
      socket.on('error', () => undefined);
    });
    expect(Date.now() - started).toBeLessThan(8_000);
  }, 15_000);

  it('cuts off a client that never finishes its request', async () => {
    const started = Date.now();
    const closed = await new Promise<string>((resolve, reject) => {
      const socket = tlsConnect({ host: '127.0.0.1', port: webhook.port, servername: 'localhost', ca: serving.caCertPem }, () => {
        socket.write('POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"kind":');
      });
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(closed === '' || /^HTTP\/1.1 (408|400)/.test(closed)).toBe(true);
  }, 15_000);
});
