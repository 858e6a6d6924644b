/**
 * Issuing a ticket: check the pod the CLI chose (it exists, has the sidecar, belongs to the
 * target the user named), apply the policies to what the session asks, and sign what they allow.
 * Every failure is an `ApiFailure` with the HTTP status and a message for the user.
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import type { V1Pod } from '../../common/kube-client';
import { ANNOTATION, SIDECAR_NAME } from '../../common/pod-contract';
import { KUBERNETES_KIND, readTargetPath } from '../../common/target-path';
import type { TicketSpec, TicketStatus } from '../../protocol/operator-api';
import { FS_PATHS_TICKET_VERSION, signTicket, type TicketAllow, type TicketClaims } from '../../protocol/ticket';
import { evaluatePolicies } from '../policy/evaluate';
import type { Policy, Target } from '../policy/spec';
import { ApiFailure, type Caller } from './api-failure';
import { enterDbBranches, type DbBranchEntryContext } from './db-branch-entry';
import { enterSplit, type SplitEntryContext } from './split-entry';

/** How long a ticket is good for starting a session: the CLI uses it at once. */
export const TICKET_LIFETIME_S = 5 * 60;

export interface IssueContext {
  readPod(namespace: string, name: string): Promise<V1Pod | undefined>;
  /** Whether a MirrordProfile of the namespace, or a MirrordClusterProfile, has this name. */
  profileExists(namespace: string, name: string): Promise<boolean>;
  /** Whether RBAC lets the caller delete mirrordsessions in the namespace (a SubjectAccessReview). */
  mayDeleteSessions(caller: Caller, namespace: string): Promise<boolean>;
  replicaSetOwners(namespace: string, name: string): Promise<{ kind: string; name: string }[]>;
  /** A Job's controller (a CronJob), or for a copy's Job the target it copies. */
  jobOwners(namespace: string, name: string): Promise<{ kind: string; name: string }[]>;
  policies(namespace: string): Promise<Policy[]>;
  signer(): { kid: string; privateKey: KeyObject };
  /** Queue splitting's part (absent: tickets that ask for it are refused). */
  splits?: SplitEntryContext;
  /** Database branching's part (absent: tickets that ask for it are refused). */
  dbBranches?: DbBranchEntryContext;
  now?: () => Date;
}

/** The pod and every workload above it, as `{ kind, name }` with Kubernetes' kind names. */
async function ownerChain(context: IssueContext, pod: V1Pod): Promise<{ kind: string; name: string }[]> {
  const namespace = pod.metadata!.namespace!;
  const chain = [{ kind: 'Pod', name: pod.metadata!.name! }];
  const controller = pod.metadata?.ownerReferences?.find((owner) => owner.controller);
  let next = controller ? [{ kind: controller.kind, name: controller.name }] : [];
  // Pod → ReplicaSet → Deployment or Rollout; Pod → Job → CronJob, or a copy's Job → what it copies (→ …).
  for (let depth = 0; next.length && depth < 4; depth++) {
    chain.push(...next);
    const [link] = next;
    next =
      link!.kind === 'ReplicaSet'
        ? await context.replicaSetOwners(namespace, link!.name)
        : link!.kind === 'Job'
          ? await context.jobOwners(namespace, link!.name)
          : [];
  }
  return chain;
}

/** The target's kind as Kubernetes names it (as the pod's owners do), and its name. */
function parseTargetText(text: string): { kind: string; name: string } {
  const target = readTargetPath(text);
  if (!target)
    throw new ApiFailure(
      400,
      `spec.target: "${text}" is not a target (pod/NAME, deploy/NAME, statefulset/NAME, rs/NAME, rollout/NAME, job/NAME or cronjob/NAME)`,
      'BadRequest',
    );
  return { kind: KUBERNETES_KIND[target.kind], name: target.name };
}

/** The container the pod's sidecar serves: the one its annotation names, else the first app container. */
function servedContainer(pod: V1Pod): string | undefined {
  return pod.metadata?.annotations?.[ANNOTATION.targetContainer] ?? pod.spec?.containers.find((container) => container.name !== SIDECAR_NAME)?.name;
}

function checkInjected(pod: V1Pod, where: string): void {
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  if (!pod.metadata?.annotations?.[ANNOTATION.injected] || !containers.some((container) => container.name === SIDECAR_NAME)) {
    throw new ApiFailure(422, `pod ${where} has no mirrord sidecar: label its namespace for injection and restart it`, 'Invalid');
  }
}

export async function issueTicket(context: IssueContext, caller: Caller, namespace: string, spec: TicketSpec): Promise<TicketStatus> {
  const requested = parseTargetText(spec.target);
  const where = `${namespace}/${spec.pod}`;
  // Asked for at once, beside the pod: a ticket costs two round trips to the API server, not four.
  const policies = spec.purpose === 'admin' ? Promise.resolve([]) : context.policies(namespace);
  const killAny = spec.purpose === 'admin' ? context.mayDeleteSessions(caller, namespace) : Promise.resolve(false);
  const profile = spec.profile === undefined ? Promise.resolve(true) : context.profileExists(namespace, spec.profile);
  policies.catch(() => undefined);
  killAny.catch(() => undefined);
  profile.catch(() => undefined);
  const pod = await context.readPod(namespace, spec.pod);
  if (!pod?.metadata?.uid) throw new ApiFailure(404, `no pod ${where}`, 'NotFound');
  checkInjected(pod, where);
  const chain = await ownerChain(context, pod);
  if (!chain.some((link) => link.kind === requested.kind && link.name === requested.name)) {
    throw new ApiFailure(
      422,
      `pod ${where} does not belong to ${spec.target} (it belongs to ${chain.map((link) => `${link.kind.toLowerCase()}/${link.name}`).join(', ')})`,
      'Invalid',
    );
  }
  const container = servedContainer(pod);
  if (spec.container !== undefined && spec.container !== container) {
    throw new ApiFailure(422, `spec.container: the sidecar of pod ${where} serves container ${container ?? '(none)'}, not ${spec.container}`, 'Invalid');
  }
  const target: Target = {
    // The kind as Kubernetes names it, whatever spelling the user chose (deployment.apps, deploy…).
    kind: requested.kind.toLowerCase(),
    name: requested.name,
    namespace,
    labels: pod.metadata.labels ?? {},
    // The container the sidecar serves, not one the request names: a container policy can't be dodged.
    container,
    owners: chain.filter((link) => !(link.kind === requested.kind && link.name === requested.name)),
  };
  if (spec.purpose === 'admin') return sign(context, caller, pod, adminAllow(await killAny), [], 'admin');
  // A policy may require a profile: the name must be a real one, not any word the CLI sends.
  if (!(await profile)) {
    throw new ApiFailure(422, `spec.profile: no profile "${spec.profile}" (a MirrordProfile in namespace ${namespace} or a MirrordClusterProfile)`, 'Invalid');
  }
  const decision = evaluatePolicies(
    { user: caller.user, groups: caller.groups, target, incoming: spec.ports, fs: spec.fs, profile: spec.profile, dbBranches: spec.dbBranches?.length ?? 0 },
    await policies,
  );
  if (decision.refused) throw new ApiFailure(403, decision.message, 'Forbidden');

  const session = randomUUID();
  let dbBranches: TicketStatus['dbBranches'];
  if (spec.dbBranches) {
    if (!context.dbBranches) throw new ApiFailure(422, 'feature.db_branches: this operator does not make database branches', 'Invalid');
    dbBranches = await enterDbBranches(context.dbBranches, {
      namespace,
      pod,
      container,
      target: spec.target,
      caller,
      session,
      requests: spec.dbBranches,
      hiddenVariables: decision.allow.env.exclude,
    });
  }
  let splitQueues: TicketStatus['splitQueues'];
  if (spec.splitQueues) {
    if (!context.splits) throw new ApiFailure(422, 'feature.split_queues: this operator does not split queues', 'Invalid');
    splitQueues = { env: await enterSplit(context.splits, { namespace, pod, chain, caller, session, request: spec.splitQueues }) };
  }
  try {
    return {
      ...sign(context, caller, pod, decision.allow, decision.policies, undefined, session),
      ...(splitQueues && { splitQueues }),
      ...(dbBranches && { dbBranches }),
    };
  } catch (error) {
    // Only the policies' fs patterns can make a ticket too large for a hello: name them.
    throw new ApiFailure(
      403,
      `the policies ${decision.policies.join(', ')} hold this session to more than a ticket can carry (${(error as Error).message}); an administrator can merge or shorten their fs patterns`,
      'Forbidden',
    );
  }
}

/**
 * An admin session lists and ends sessions and may do nothing to the pod (its ticket says
 * `purpose: admin`, and the sidecar refuses it every other request; the allow says the same, for
 * sidecars that read only that). Ending others' sessions takes RBAC `delete` on mirrordsessions.
 */
function adminAllow(killAny: boolean): TicketAllow {
  return {
    incoming: { steal: false, stealWithoutFilter: false, mirror: false },
    fs: 'none',
    env: { exclude: ['*'] },
    sessions: { kill: killAny ? 'any' : 'own' },
    outgoing: {
      block: [
        { cidr: '0.0.0.0/0', policy: 'admin session' },
        { cidr: '::/0', policy: 'admin session' },
      ],
      allow: [],
    },
  };
}

/**
 * The operator's own admin ticket for a pod, to list and end its sessions for `kubectl get|delete
 * mirrordsessions` (RBAC has already judged the caller by then).
 */
export function operatorAdminTicket(context: Pick<IssueContext, 'signer' | 'now'>, operator: Caller, pod: V1Pod): string {
  return sign(context, operator, pod, adminAllow(true), [], 'admin').ticket;
}

function sign(
  context: Pick<IssueContext, 'signer' | 'now'>,
  caller: Caller,
  pod: V1Pod,
  allow: TicketAllow,
  policies: string[],
  purpose?: 'admin',
  session: string = randomUUID(),
): TicketStatus {
  const now = context.now?.() ?? new Date();
  const iat = Math.floor(now.getTime() / 1000);
  const { uid, namespace, name } = pod.metadata as { uid: string; namespace: string; name: string };
  const claims: TicketClaims = {
    v: allow.fsPaths ? FS_PATHS_TICKET_VERSION : 1,
    sub: caller.user,
    groups: caller.groups,
    pod: { uid, namespace, name },
    session,
    iat,
    exp: iat + TICKET_LIFETIME_S,
    allow,
    policies,
    ...(purpose && { purpose }),
  };
  const { kid, privateKey } = context.signer();
  return {
    ticket: signTicket(claims, privateKey, kid),
    session,
    pod: { name, uid },
    expiresAt: new Date(claims.exp * 1000).toISOString(),
    allow,
    policies,
  };
}
