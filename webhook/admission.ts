/**
 * One AdmissionReview in, one answer out. Every answer allows the pod (the webhook's
 * failurePolicy is Ignore, and a webhook that can't help must never stand in the way): the
 * worst a bad request gets is no patch and a warning, or a 400 when there is no uid to
 * answer to.
 */
import type { V1Pod } from '../common/kube-client';
import { injectSidecar, type InjectionContext } from './patch/inject';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

export interface AdmissionResponse {
  uid: string;
  allowed: true;
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

export interface AdmissionReviewAnswer {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

export type AdmissionOutcome =
  | { status: 200; body: AdmissionReviewAnswer; result: 'injected' }
  | { status: 200; body: AdmissionReviewAnswer; result: 'skipped'; reason: string }
  | { status: 200; body: AdmissionReviewAnswer; result: 'invalid'; problem: string }
  | { status: 200; body: AdmissionReviewAnswer; result: 'error'; problem: string }
  | { status: 400; body: { error: string }; result: 'invalid'; problem: string };

export type InjectionContextFor = (namespace: string) => InjectionContext;

// The API server shows at most a few warnings, each best under 120 characters.
const MAX_WARNINGS = 8;
const MAX_WARNING_LENGTH = 240;

export function admit(review: unknown, contextFor: InjectionContextFor): AdmissionOutcome {
  if (!isObject(review)) return badRequest('the body is not a JSON object');
  const request = review.request;
  const uid = isObject(request) && typeof request.uid === 'string' && request.uid.length > 0 ? request.uid : undefined;
  if (uid === undefined) return badRequest('request.uid is missing: there is nothing to answer to');
  if (review.apiVersion !== ADMISSION_API_VERSION || review.kind !== 'AdmissionReview') {
    return invalid(uid, `expected apiVersion ${ADMISSION_API_VERSION}, kind AdmissionReview; got ${describe(review.apiVersion)}, ${describe(review.kind)}`);
  }
  const req = request as Record<string, unknown>;
  if (!isPodRequest(req)) return invalid(uid, 'the object is not a Pod (the webhook only handles pods)');
  if (req.operation !== 'CREATE') return skipped(uid, 'not-create', []);
  const pod = req.object;
  if (!isObject(pod) || !isObject(pod.spec) || !Array.isArray(pod.spec.containers)) {
    return invalid(uid, 'the Pod has no spec.containers');
  }
  const metadata = isObject(pod.metadata) ? pod.metadata : {};
  const namespace = typeof req.namespace === 'string' && req.namespace ? req.namespace : typeof metadata.namespace === 'string' ? metadata.namespace : '';
  if (!namespace) return invalid(uid, 'the request has no namespace');
  try {
    const result = injectSidecar(pod as V1Pod, contextFor(namespace));
    if (!result.injected) return skipped(uid, result.reason, result.warnings);
    return {
      status: 200,
      result: 'injected',
      body: answer({ uid, allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(result.patch)).toString('base64') }, result.warnings),
    };
  } catch (error) {
    // A pod shaped in a way the injector didn't expect: let it through untouched.
    const problem = `mirrord could not inject this pod: ${(error as Error).message ?? String(error)}`;
    return { status: 200, result: 'error', problem, body: answer({ uid, allowed: true }, [problem]) };
  }
}

function isPodRequest(request: Record<string, unknown>): boolean {
  const kind = request.kind;
  const objectKind = isObject(request.object) ? request.object.kind : undefined;
  return isObject(kind) && kind.group === '' && kind.kind === 'Pod' && (objectKind === undefined || objectKind === 'Pod');
}

function answer(response: AdmissionResponse, warnings: string[]): AdmissionReviewAnswer {
  const kept = warnings
    .slice(0, MAX_WARNINGS)
    .map((warning) => (warning.length > MAX_WARNING_LENGTH ? `${warning.slice(0, MAX_WARNING_LENGTH - 3)}...` : warning));
  if (kept.length > 0) response.warnings = kept.map((warning) => `mirrord: ${warning}`);
  return { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response };
}

function skipped(uid: string, reason: string, warnings: string[]): AdmissionOutcome {
  return { status: 200, result: 'skipped', reason, body: answer({ uid, allowed: true }, warnings) };
}

function invalid(uid: string, problem: string): AdmissionOutcome {
  return { status: 200, result: 'invalid', problem, body: answer({ uid, allowed: true }, [problem]) };
}

function badRequest(problem: string): AdmissionOutcome {
  return { status: 400, result: 'invalid', problem, body: { error: problem } };
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 60)) : typeof value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
