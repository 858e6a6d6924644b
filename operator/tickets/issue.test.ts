import { generateKeyPairSync } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { verifyTicket } from '../../protocol/ticket';
import type { Policy } from '../policy/spec';
import { ApiFailure } from './api-failure';
import { issueTicket, type IssueContext } from './issue';

const keys = generateKeyPairSync('ed25519');
const alice = { user: 'alice', groups: ['devs'] };

/** A pod of deploy/checkout (through its ReplicaSet), injected unless told otherwise. */
function pod(name = 'checkout-7d9f-x2', injected = true): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'shop',
      uid: `uid-${name}`,
      labels: { app: 'checkout' },
      annotations: injected ? { 'mirrord.dev/injected': '0.1.0' } : {},
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'checkout-7d9f', uid: 'rs', controller: true }],
    },
    spec: { containers: [{ name: 'app' }, ...(injected ? [{ name: 'mirrord-agent' }] : [])] },
  };
}

function context(pods: V1Pod[], policies: Policy[] = [], profiles: string[] = []): IssueContext {
  return {
    readPod: async (_namespace, name) => pods.find((p) => p.metadata?.name === name),
    replicaSetOwners: async () => [{ kind: 'Deployment', name: 'checkout' }],
    // A copy's Job names what it copies; a CronJob's Job is controlled by it.
    jobOwners: async (_namespace, name) =>
      name.startsWith('mirrord-copy-') ? [{ kind: 'Deployment', name: 'checkout' }] : name.startsWith('nightly-') ? [{ kind: 'CronJob', name: 'nightly' }] : [],
    policies: async () => policies,
    profileExists: async (_namespace, name) => profiles.includes(name),
    mayDeleteSessions: async ({ user }) => user === 'lead',
    signer: () => ({ kid: 'k1', privateKey: keys.privateKey }),
  };
}

async function failure(promise: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiFailure) return { status: error.status, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

const spec = { target: 'deploy/checkout', pod: 'checkout-7d9f-x2', ports: [{ port: 80, mode: 'steal' as const }], fs: 'read' as const };
const noUnfiltered: Policy = {
  kind: 'MirrordPolicy',
  namespace: 'shop',
  name: 'filtered',
  spec: { targetPath: 'deploy/checkout', block: ['steal-without-filter'] },
};

describe('issuing a ticket', () => {
  it("signs one bound to the user, the pod's UID and a new session, with what the policies allow", async () => {
    const status = await issueTicket(context([pod()]), alice, 'shop', { ...spec, ports: [{ port: 80, mode: 'mirror' }] });
    const claims = verifyTicket(status.ticket, new Map([['k1', keys.publicKey]]), { podUid: 'uid-checkout-7d9f-x2', now: Date.now() });
    expect(claims).toMatchObject({
      sub: 'alice',
      groups: ['devs'],
      pod: { uid: 'uid-checkout-7d9f-x2', namespace: 'shop', name: 'checkout-7d9f-x2' },
      session: status.session,
    });
    expect(claims.exp - claims.iat).toBe(300);
    expect(status.pod).toEqual({ name: 'checkout-7d9f-x2', uid: 'uid-checkout-7d9f-x2' });
  });

  it("applies a workload's policies however the user names the target", async () => {
    for (const target of ['pod/checkout-7d9f-x2', 'deployment.apps/checkout', 'deployment/checkout', 'rs/checkout-7d9f']) {
      const refusal = await failure(issueTicket(context([pod()], [noUnfiltered]), alice, 'shop', { ...spec, target }));
      expect(refusal).toEqual({ status: 403, message: expect.stringContaining('refused by policy shop/filtered') });
    }
    const filtered = await issueTicket(context([pod()], [noUnfiltered]), alice, 'shop', {
      ...spec,
      ports: [{ port: 80, mode: 'steal', filter: { header: '^x-user: a$' } }],
    });
    expect(filtered.policies).toEqual(['shop/filtered']);
  });

  it("treats a copy's pod as its target's, and a CronJob's Job's pod as the CronJob's", async () => {
    const ofJob = (name: string, job: string): V1Pod => ({
      ...pod(name),
      metadata: { ...pod(name).metadata, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job, uid: 'job', controller: true }] },
    });
    const copy = ofJob('mirrord-copy-1a2b-xk2', 'mirrord-copy-1a2b');
    const refusal = await failure(issueTicket(context([copy], [noUnfiltered]), alice, 'shop', { ...spec, pod: 'mirrord-copy-1a2b-xk2' }));
    expect(refusal).toEqual({ status: 403, message: expect.stringContaining('refused by policy shop/filtered') });
    const run = ofJob('nightly-2961-abc', 'nightly-2961');
    const status = await issueTicket(context([run]), alice, 'shop', { ...spec, target: 'cronjob/nightly', pod: 'nightly-2961-abc' });
    expect(status.pod.name).toBe('nightly-2961-abc');
    expect(await failure(issueTicket(context([run]), alice, 'shop', { ...spec, target: 'deploy/checkout', pod: 'nightly-2961-abc' }))).toMatchObject({
      status: 422,
      message: expect.stringContaining('(it belongs to pod/nightly-2961-abc, job/nightly-2961, cronjob/nightly)'),
    });
  });

  it('refuses a pod that is missing, without the sidecar, or not of the target', async () => {
    expect(await failure(issueTicket(context([]), alice, 'shop', spec))).toEqual({ status: 404, message: 'no pod shop/checkout-7d9f-x2' });
    expect(await failure(issueTicket(context([pod('checkout-7d9f-x2', false)]), alice, 'shop', spec))).toMatchObject({
      status: 422,
      message: expect.stringContaining('has no mirrord sidecar'),
    });
    expect(await failure(issueTicket(context([pod()]), alice, 'shop', { ...spec, target: 'deploy/payments' }))).toEqual({
      status: 422,
      message:
        'pod shop/checkout-7d9f-x2 does not belong to deploy/payments (it belongs to pod/checkout-7d9f-x2, replicaset/checkout-7d9f, deployment/checkout)',
    });
    expect(await failure(issueTicket(context([pod()]), alice, 'shop', { ...spec, target: 'teleport/x' }))).toMatchObject({ status: 400 });
  });

  it("applies a container's policies to the container the sidecar serves, whatever the request names", async () => {
    const appOnly: Policy = { ...noUnfiltered, spec: { ...noUnfiltered.spec, targetPath: 'deploy/checkout/container/app' } };
    expect(await failure(issueTicket(context([pod()], [appOnly]), alice, 'shop', spec))).toMatchObject({ status: 403 });
    expect(await failure(issueTicket(context([pod()], [appOnly]), alice, 'shop', { ...spec, container: 'other' }))).toEqual({
      status: 422,
      message: 'spec.container: the sidecar of pod shop/checkout-7d9f-x2 serves container app, not other',
    });
  });

  it('signs path rules into a ticket of v 2, and refuses one too large for a hello naming the policies', async () => {
    const hiding = (name: string, patterns: string[]): Policy => ({
      ...noUnfiltered,
      name,
      spec: { targetPath: 'deploy/checkout', fs: { notFound: patterns } },
    });
    const mirror = { ...spec, ports: [{ port: 80, mode: 'mirror' as const }] };
    const status = await issueTicket(context([pod()], [hiding('hide', ['^/secrets/'])]), alice, 'shop', mirror);
    const claims = verifyTicket(status.ticket, new Map([['k1', keys.publicKey]]), { podUid: 'uid-checkout-7d9f-x2', now: Date.now() });
    expect(claims).toMatchObject({ v: 2, allow: { fsPaths: { notFound: [{ pattern: '^/secrets/', policy: 'shop/hide' }] } } });
    const many = Array.from({ length: 150 }, (_, i) => `^/data/${'long-directory-name/'.repeat(3)}${i}$`);
    expect(await failure(issueTicket(context([pod()], [hiding('a', many.slice(0, 75)), hiding('b', many.slice(75))]), alice, 'shop', mirror))).toEqual({
      status: 403,
      message: expect.stringMatching(
        /^the policies shop\/a, shop\/b hold this session to more than a ticket can carry \(the ticket would be \d+ characters, over 16384/,
      ),
    });
  });

  it('refuses a profile that does not exist, and accepts one that does', async () => {
    expect(await failure(issueTicket(context([pod()]), alice, 'shop', { ...spec, profile: 'made-up' }))).toEqual({
      status: 422,
      message: 'spec.profile: no profile "made-up" (a MirrordProfile in namespace shop or a MirrordClusterProfile)',
    });
    await issueTicket(context([pod()], [], ['dev']), alice, 'shop', { ...spec, profile: 'dev' });
  });

  it('gives an admin session nothing of the pod, and the right to end anyone’s sessions only with RBAC delete', async () => {
    const admin = { ...spec, ports: [], fs: 'local' as const, purpose: 'admin' as const };
    const own = await issueTicket(context([pod()], [noUnfiltered]), alice, 'shop', admin);
    expect(own.allow).toMatchObject({
      incoming: { steal: false, stealWithoutFilter: false, mirror: false },
      fs: 'none',
      env: { exclude: ['*'] },
      sessions: { kill: 'own' },
    });
    // Nowhere to connect to, and marked admin: the sidecar refuses it anything but sessions.
    expect(own.allow.outgoing?.block.map((rule) => rule.cidr)).toEqual(['0.0.0.0/0', '::/0']);
    const claims = verifyTicket(own.ticket, new Map([['k1', keys.publicKey]]), { podUid: 'uid-checkout-7d9f-x2', now: Date.now() });
    expect(claims.purpose).toBe('admin');
    const lead = await issueTicket(context([pod()]), { user: 'lead', groups: [] }, 'shop', admin);
    expect(lead.allow.sessions).toEqual({ kill: 'any' });
  });
});
