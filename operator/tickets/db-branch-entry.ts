/**
 * A ticket that asks for database branches (`spec.dbBranches`): each source read from the target
 * container's variables and Secrets and checked (reachable, the branch image's engine and
 * version, every table filter valid) before anything is made; then the branch made, or a live one
 * of the same id reused; then the session joined to it once it is ready.
 *
 * While a branch is being made, the answer is a 409 with reason `DatabaseBranchPending`: the CLI
 * asks again. A branch that fails (or isn't ready within its creation timeout) is deleted and
 * the answer says why; nothing is left behind.
 */
import type { V1Container, V1Pod } from '../../common/kube-client';
import {
  DB_BRANCH_ANNOTATION,
  DB_BRANCH_DEFAULT_CREATION_TIMEOUT_S,
  DB_BRANCH_LABEL,
  DB_BRANCH_PENDING_REASON,
  dbBranchHost,
  dbBranchObjectName,
} from '../../protocol/db-branch';
import type { DbBranchRequest, DbBranchType } from '../../protocol/db-branch';
import type { TicketStatus } from '../../protocol/operator-api';
import { envPattern } from '../../protocol/ticket';
import { branchPodState, sessionsOf } from '../../common/db-branch-pod';
import { BranchNameTaken, branchObjects, sourceLabel } from '../db-branches/branch-objects';
import { branchAnswers } from '../db-branches/branch-reachable';
import { checkSource, SourceCheckError, type BranchEngine } from '../db-branches/source-check';
import { BranchConfigError, readBranchSource, type BranchSource } from '../db-branches/source';
import type { DbBranchCluster } from '../kube/db-branch-cluster';
import { ApiFailure, type Caller } from './api-failure';

export interface DbBranchEntryContext {
  cluster: DbBranchCluster;
  /** The image and version each type of branch runs. */
  engines: Record<DbBranchType, BranchEngine>;
  /** The source check (replaced in tests of what happens around it). */
  checkSource?: typeof checkSource;
  /** Whether a ready branch answers at its Service (likewise). */
  branchAnswers?: typeof branchAnswers;
  now?: () => Date;
}

export interface DbBranchEntry {
  namespace: string;
  pod: V1Pod;
  /** The container the session targets: its variables lead to the sources. */
  container: string | undefined;
  /** The target as the user named it, recorded on the branch. */
  target: string;
  caller: Caller;
  session: string;
  requests: DbBranchRequest[];
  /** The policies' `env.exclude` patterns: a variable they hide can't lead to a source either. */
  hiddenVariables: readonly string[];
}

/**
 * How many of a branch's sessions it remembers (the newest): enough to see whether one is still
 * on, with every replica and reconnection of each joining as a session of its own.
 */
const REMEMBERED_SESSIONS = 256;

/** The variables that point the local process at its branches, and the branches; or an ApiFailure saying why not (yet). */
export async function enterDbBranches(context: DbBranchEntryContext, entry: DbBranchEntry): Promise<NonNullable<TicketStatus['dbBranches']>> {
  const { namespace, requests } = entry;
  const container = entry.pod.spec?.containers.find((c) => c.name === entry.container);
  if (!container) throw new ApiFailure(422, `feature.db_branches: the target has no container ${entry.container ?? ''}`.trim(), 'Invalid');
  refuseHiddenVariables(requests, entry.hiddenVariables);
  const keys = context.cluster.keys(namespace);
  const sources = await Promise.all(requests.map((request, index) => readSource(entry.pod, container, request, index, keys)));

  const pending: string[] = [];
  for (const [index, request] of requests.entries()) {
    const state = await ensureBranch(context, entry, request, index, sources[index]!);
    if (state) pending.push(state);
  }
  if (pending.length) throw new ApiFailure(409, pending.join('; '), DB_BRANCH_PENDING_REASON);

  const env: Record<string, string> = {};
  for (const [index, request] of requests.entries()) {
    await join(context, namespace, request.id, entry.session);
    Object.assign(env, sources[index]!.env(dbBranchHost(request.id, namespace)));
  }
  return { env, branches: requests.map((request) => ({ id: request.id, name: dbBranchObjectName(request.id) })) };
}

/** A branch of a variable the policies hide would hand the session its value (rewritten): refused. */
function refuseHiddenVariables(requests: DbBranchRequest[], hidden: readonly string[]): void {
  if (!hidden.length) return;
  const patterns = hidden.map(envPattern);
  for (const [index, request] of requests.entries()) {
    const values = 'url' in request.connection ? { url: request.connection.url } : request.connection.params;
    for (const [field, value] of Object.entries(values)) {
      if (value?.type !== 'env' || !patterns.some((pattern) => pattern.test(value.variable))) continue;
      const at = 'url' in request.connection ? 'connection.url' : `connection.params.${field}`;
      throw new ApiFailure(
        403,
        `feature.db_branches[${index}].${at}: the policies hide the variable ${value.variable} from sessions (env.exclude)`,
        'Forbidden',
      );
    }
  }
}

async function readSource(
  pod: V1Pod,
  container: V1Container,
  request: DbBranchRequest,
  index: number,
  keys: ReturnType<DbBranchCluster['keys']>,
): Promise<BranchSource> {
  try {
    return await readBranchSource(pod, container, request, index, keys);
  } catch (error) {
    if (error instanceof BranchConfigError) throw new ApiFailure(422, error.message, 'Invalid');
    throw error;
  }
}

/** Makes the branch or finds it; a description of it while it isn't ready yet, undefined once it is. */
async function ensureBranch(
  context: DbBranchEntryContext,
  entry: DbBranchEntry,
  request: DbBranchRequest,
  index: number,
  source: BranchSource,
): Promise<string | undefined> {
  const { namespace } = entry;
  const key = `feature.db_branches[${index}]`;
  const name = dbBranchObjectName(request.id);
  const now = context.now?.() ?? new Date();
  let pod = await context.cluster.readBranch(namespace, request.id);
  if (!pod) {
    const engine = context.engines[request.type];
    try {
      await (context.checkSource ?? checkSource)(request, source, engine, namespace);
    } catch (error) {
      if (!(error instanceof SourceCheckError)) throw error;
      if (error.key === undefined) throw new ApiFailure(424, `${key}: ${error.message}; no branch was made`, 'FailedDependency');
      throw new ApiFailure(422, `${key}.${error.key}: ${error.message}`, 'Invalid');
    }
    const objects = branchObjects({ namespace, request, source, image: engine.image, owner: entry.caller.user, target: entry.target, now });
    try {
      // Made here, or by a request for the same id a moment before: checked like any other below.
      pod = await context.cluster.createBranch(objects);
    } catch (error) {
      if (error instanceof BranchNameTaken) throw new ApiFailure(409, `${key}.id: ${error.message}`, 'Conflict');
      throw error;
    }
    if (!pod) throw new ApiFailure(409, `${key}: the branch ${name} was deleted while it was made; try again`, 'Conflict');
  }
  refuseToJoin(pod, request, source, entry.caller.user, key, name);
  const state = branchPodState(pod);
  if (state.phase === 'ready') {
    // A ready branch is never deleted here: others may be using it (the CLI's wait has its own end).
    const answers = await (context.branchAnswers ?? branchAnswers)(dbBranchHost(request.id, namespace), source.port);
    return answers ? undefined : `database branch ${name}: waiting for its Service to answer`;
  }
  if (state.phase === 'failed') {
    // Left for the leader to delete a little later: every session waiting on it reads why.
    throw new ApiFailure(424, `${key}: the branch ${name} could not be made: ${state.message}`, 'FailedDependency');
  }
  const made = new Date(pod.metadata?.creationTimestamp ?? now).getTime();
  // Its maker's timeout: a session joining meanwhile doesn't cut it short.
  const timeoutS = Number(pod.metadata?.annotations?.[DB_BRANCH_ANNOTATION.creationTimeout]) || DB_BRANCH_DEFAULT_CREATION_TIMEOUT_S;
  if (now.getTime() - made > timeoutS * 1000) {
    await context.cluster.deleteBranch(namespace, request.id);
    throw new ApiFailure(
      424,
      `${key}: the branch ${name} could not be made: it was not ready within ${timeoutS} s (creation_timeout_secs); it was deleted`,
      'FailedDependency',
    );
  }
  return `database branch ${name}: ${state.step}`;
}

/**
 * Whether this session may use the existing branch: of its type, copying its source as its user
 * (the branch has that user only), and shared — or, made without a shared id, its maker's.
 * The messages say what differs, never the session's values.
 */
function refuseToJoin(pod: V1Pod, request: DbBranchRequest, source: BranchSource, user: string, key: string, name: string): void {
  const annotations = pod.metadata?.annotations ?? {};
  const type = pod.metadata?.labels?.[DB_BRANCH_LABEL.type];
  if (type !== request.type) throw new ApiFailure(409, `${key}.id: the branch ${name} (id ${request.id}) is a ${type} branch, not ${request.type}`, 'Conflict');
  const shared = annotations[DB_BRANCH_ANNOTATION.shared] === 'true' && request.shared;
  if (!shared && annotations[DB_BRANCH_ANNOTATION.owner] !== user) {
    throw new ApiFailure(403, `${key}.id: the branch ${name} belongs to another user's session (made without a shared id)`, 'Forbidden');
  }
  if (annotations[DB_BRANCH_ANNOTATION.source] !== sourceLabel(source)) {
    throw new ApiFailure(409, `${key}.id: the branch ${name} (id ${request.id}) copies another database, or as another user: choose another id`, 'Conflict');
  }
}

/** Adds the session to the branch's, so the branch lives on while it does. */
async function join(context: DbBranchEntryContext, namespace: string, id: string, session: string): Promise<void> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const pod = await context.cluster.readBranch(namespace, id);
    if (!pod) throw new ApiFailure(409, `the branch ${dbBranchObjectName(id)} was deleted as the session joined it; try again`, 'Conflict');
    const sessions = [...sessionsOf(pod).filter((known) => known !== session), session].slice(-REMEMBERED_SESSIONS);
    const now = (context.now?.() ?? new Date()).toISOString();
    const annotations = {
      [DB_BRANCH_ANNOTATION.sessions]: JSON.stringify(sessions),
      [DB_BRANCH_ANNOTATION.joinedAt]: now,
      [DB_BRANCH_ANNOTATION.idleSince]: null,
    };
    if (await context.cluster.annotateBranch(namespace, id, annotations, pod.metadata?.resourceVersion ?? '')) return;
  }
  throw new ApiFailure(409, `the branch ${dbBranchObjectName(id)} kept changing as the session joined it; try again`, 'Conflict');
}
