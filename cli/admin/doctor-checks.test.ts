import type { V1Deployment, V1MutatingWebhookConfiguration, V1Pod } from '@kubernetes/client-node';
import { issueServingPair } from '../../common/certs/authority';
import {
  apiCheck,
  caBundleCheck,
  formatChecks,
  namespaceCheck,
  operatorCheck,
  portForwardCheck,
  targetCheck,
  ticketCheck,
  webhookCheck,
} from './doctor-checks';

const now = new Date('2026-06-01T00:00:00Z');
const issued = issueServingPair(['mirrord-webhook.mirrord-system.svc'], 365, now);
const configuration = (caBundle?: string): V1MutatingWebhookConfiguration => ({
  metadata: { name: 'mirrord-webhook' },
  webhooks: [{ name: 'inject.mirrord.dev', admissionReviewVersions: ['v1'], sideEffects: 'None', clientConfig: { caBundle } }],
});
const b64 = (pem: string) => Buffer.from(pem).toString('base64');
const deployment = (available: boolean): V1Deployment => ({
  spec: { replicas: 2, selector: {}, template: {} },
  status: { availableReplicas: available ? 2 : 0, conditions: [{ type: 'Available', status: available ? 'True' : 'False' }] },
});

describe('doctor verdicts', () => {
  it('API reachable or not', () => {
    expect(apiCheck('https://k:6443', 'v1.34.4')).toEqual({ ok: true, title: 'Kubernetes API reachable', detail: 'https://k:6443, Kubernetes v1.34.4' });
    expect(apiCheck('https://k:6443', undefined, 'connect ECONNREFUSED')).toMatchObject({
      ok: false,
      detail: 'https://k:6443: connect ECONNREFUSED',
      fix: expect.stringMatching(/current-context/),
    });
  });

  it('webhook missing, not available, ready', () => {
    expect(webhookCheck(undefined, undefined)).toMatchObject({
      ok: false,
      detail: 'Deployment mirrord-system/mirrord-webhook and MutatingWebhookConfiguration mirrord-webhook not found',
      fix: 'mirrord install --wait',
    });
    expect(webhookCheck(deployment(false), configuration())).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/not Available \(0\/2 replicas\)/),
      fix: expect.stringMatching(/logs deployment\/mirrord-webhook/),
    });
    expect(webhookCheck(deployment(true), configuration())).toMatchObject({ ok: true, detail: '2 replica(s) available' });
  });

  it('caBundle: a CA certificate valid now', () => {
    expect(caBundleCheck(configuration(b64(issued.caCertPem)), now)).toEqual({ ok: true, title: 'caBundle set and valid' });
    expect(caBundleCheck(configuration(), now)).toMatchObject({
      ok: false,
      detail: 'webhook inject.mirrord.dev has no caBundle',
      fix: expect.stringMatching(/rollout restart deployment\/mirrord-webhook/),
    });
    expect(caBundleCheck(configuration(b64('not a certificate')), now)).toMatchObject({ ok: false, detail: expect.stringMatching(/is not a PEM certificate/) });
    expect(caBundleCheck(configuration(b64(issued.certPem)), now)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/is not a CA certificate \(CN=mirrord-webhook\.mirrord-system\.svc\)/),
    });
    expect(caBundleCheck(configuration(b64(issued.caCertPem)), new Date('2027-07-01T00:00:00Z'))).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/CA expired on 2027-06-01/),
    });
    expect(caBundleCheck(configuration(b64(issued.caCertPem)), new Date('2026-05-01T00:00:00Z'))).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/valid only from .*check the clocks/),
    });
    expect(caBundleCheck(undefined, now)).toMatchObject({ ok: false, fix: 'mirrord install --wait' });
  });

  it('namespace label', () => {
    expect(namespaceCheck('shop', { metadata: { labels: { 'mirrord.dev/injection': 'enabled' } } })).toMatchObject({ ok: true });
    expect(namespaceCheck('shop', { metadata: { labels: {} } })).toMatchObject({
      ok: false,
      detail: 'the label is missing',
      fix: 'kubectl label namespace shop mirrord.dev/injection=enabled --overwrite, then restart the workloads (kubectl rollout restart deployment -n shop)',
    });
    expect(namespaceCheck('shop', { metadata: { labels: { 'mirrord.dev/injection': 'disabled' } } })).toMatchObject({
      ok: false,
      detail: 'the label is "disabled"',
    });
    expect(namespaceCheck('shop', undefined)).toMatchObject({ ok: false, detail: 'namespace shop not found' });
  });

  it('target injected', () => {
    const pod = (sidecar: boolean, ready = true, annotations?: Record<string, string>): V1Pod => ({
      metadata: { name: 'app-1', annotations },
      spec: { containers: [{ name: 'app' }], initContainers: sidecar ? [{ name: 'mirrord-agent' }] : [] },
      status: { initContainerStatuses: sidecar ? [{ name: 'mirrord-agent', ready, image: 'x', imageID: 'x', restartCount: 0 }] : [] },
    });
    expect(targetCheck('deployment/app', 'shop', [pod(true)])).toMatchObject({ ok: true, detail: '1 of 1 pod(s) with a ready sidecar' });
    expect(targetCheck('deployment/app', 'shop', [pod(false)])).toMatchObject({ ok: false, fix: 'kubectl rollout restart deployment/app -n shop' });
    expect(targetCheck('pod/app-1', 'shop', [pod(false)])).toMatchObject({ ok: false, fix: expect.stringMatching(/^kubectl delete pod\/app-1 -n shop/) });
    expect(targetCheck('deployment/app', 'shop', [pod(false, true, { 'mirrord.dev/inject': 'false' })])).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/opt out/),
    });
    expect(targetCheck('deployment/app', 'shop', [pod(true, false)])).toMatchObject({ ok: false, detail: '1 pod(s) carry the sidecar, none is ready' });
    expect(targetCheck('deployment/app', 'shop', [])).toMatchObject({ ok: false, detail: 'it has no pods' });
    expect(targetCheck('deployment/app', 'shop', [], 'deployment/app not found in namespace shop')).toMatchObject({
      ok: false,
      detail: 'deployment/app not found in namespace shop',
    });
  });

  it('port-forward permission, and the printed lines', () => {
    expect(portForwardCheck('shop', true)).toMatchObject({ ok: true });
    const denied = portForwardCheck('shop', false, 'no RBAC policy matched');
    expect(denied).toMatchObject({ ok: false, detail: 'create pods/portforward is denied (no RBAC policy matched)' });
    expect(formatChecks([portForwardCheck('shop', true), denied])).toBe(
      '✓ port-forward permitted in namespace shop\n' +
        '✗ port-forward permitted in namespace shop: create pods/portforward is denied (no RBAC policy matched)\n' +
        '  fix: ask for a Role granting "create" on "pods/portforward" in shop; kubectl auth can-i create pods/portforward -n shop\n',
    );
  });

  it('reports the operator: absent is fine, installed must answer; with it, tickets must be permitted', () => {
    expect(operatorCheck(undefined)).toMatchObject({ ok: true, detail: expect.stringContaining('not installed') });
    const service = (status: string, message?: string) => ({
      metadata: { name: 'v1.operator.mirrord.dev' },
      status: { conditions: [{ type: 'Available', status, message, lastTransitionTime: now }] },
    });
    expect(operatorCheck(service('True') as never)).toMatchObject({ ok: true, detail: 'installed and answering: sessions need its ticket' });
    expect(operatorCheck(service('False', 'failing or missing response from https://10.96.0.9:443') as never)).toMatchObject({
      ok: false,
      detail: "installed but not answering (failing or missing response from https://10.96.0.9:443): new sessions can't start",
    });
    expect(ticketCheck('shop', true)).toMatchObject({ ok: true, title: 'tickets permitted in namespace shop' });
    expect(ticketCheck('shop', false)).toMatchObject({
      ok: false,
      detail: 'create tickets.operator.mirrord.dev is denied',
      fix: expect.stringContaining('mirrord-user'),
    });
  });
});
