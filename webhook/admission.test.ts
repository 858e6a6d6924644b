import { admit, type AdmissionOutcome } from './admission';
import { loadReview } from './fixtures/fixtures';
import type { InjectionContext } from './patch/inject';
import { DEFAULT_RESOURCES } from './patch/settings';

const contextFor = (namespace: string): InjectionContext => ({
  namespace,
  webhookNamespace: 'mirrord-system',
  settings: {
    image: 'i',
    pullPolicy: 'IfNotPresent',
    agentPort: 61234,
    resources: DEFAULT_RESOURCES,
    nativeSidecar: true,
    version: 'v',
    writableVolumes: false,
    auth: 'none',
  },
});

const warningsOf = (outcome: AdmissionOutcome) => (outcome.status === 200 ? outcome.body.response.warnings : undefined);

it('answers to the uid, allows, and carries the patch as base64 JSON', () => {
  const review = loadReview('deployment-pod');
  const outcome = admit(review, contextFor);
  expect(outcome).toMatchObject({ status: 200, result: 'injected' });
  if (outcome.status !== 200) throw new Error('unreachable');
  expect(outcome.body).toMatchObject({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: review.request.uid, allowed: true, patchType: 'JSONPatch' },
  });
  expect(Array.isArray(JSON.parse(Buffer.from(outcome.body.response.patch!, 'base64').toString()))).toBe(true);
});

it('leaves other operations alone without a warning', () => {
  const review = loadReview('deployment-pod');
  review.request.operation = 'UPDATE';
  const outcome = admit(review, contextFor);
  expect(outcome).toMatchObject({ status: 200, result: 'skipped', reason: 'not-create' });
  expect(warningsOf(outcome)).toBeUndefined();
});

it('allows a non-Pod object unchanged, saying why', () => {
  const review = loadReview('deployment-pod') as any;
  review.request.kind = { group: 'apps', version: 'v1', kind: 'Deployment' };
  const outcome = admit(review, contextFor);
  expect(outcome).toMatchObject({ status: 200, result: 'invalid' });
  expect(warningsOf(outcome)).toEqual(['mirrord: the object is not a Pod (the webhook only handles pods)']);
});

it('allows an old AdmissionReview version unchanged when it can still answer to the uid', () => {
  const review = loadReview('deployment-pod') as any;
  review.apiVersion = 'admission.k8s.io/v1beta1';
  expect(admit(review, contextFor)).toMatchObject({ status: 200, result: 'invalid', body: { response: { uid: review.request.uid, allowed: true } } });
});

it('gives 400 when there is no uid to answer to', () => {
  expect(admit(undefined, contextFor)).toMatchObject({ status: 400 });
  expect(admit([], contextFor)).toMatchObject({ status: 400 });
  expect(admit({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: '' } }, contextFor)).toMatchObject({ status: 400 });
});

it('allows the pod unchanged when the injector fails on an unexpected shape', () => {
  const review = loadReview('deployment-pod') as any;
  review.request.object.spec.containers = [null];
  const outcome = admit(review, contextFor);
  expect(outcome).toMatchObject({ status: 200, result: 'error', body: { response: { allowed: true } } });
  if (outcome.status === 200) expect(outcome.body.response.patch).toBeUndefined();
});

it('keeps warnings few and short', () => {
  const review = loadReview('deployment-pod');
  review.request.object.metadata!.annotations = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`mirrord.dev/typo-${i}-${'x'.repeat(300)}`, '1']));
  const warnings = warningsOf(admit(review, contextFor))!;
  expect(warnings.length).toBeLessThanOrEqual(8);
  for (const warning of warnings) expect(warning.length).toBeLessThanOrEqual(260);
});
