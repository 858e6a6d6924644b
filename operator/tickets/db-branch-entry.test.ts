import type { V1ContainerState, V1Pod } from '../../common/kube-client';
import type { DbBranchRequest } from '../../protocol/db-branch';
import { branchObjects, type BranchObjects } from '../db-branches/branch-objects';
import { SourceCheckError } from '../db-branches/source-check';
import type { DbBranchCluster } from '../kube/db-branch-cluster';
import { ApiFailure } from './api-failure';
import { enterDbBranches, type DbBranchEntry, type DbBranchEntryContext } from './db-branch-entry';

const NOW = new Date('2026-06-01T12:00:00Z');

/** The branches of the namespace as the API server keeps them: a Pod, a Secret and a Service each. */
class MemoryCluster implements DbBranchCluster {
  branches = new Map<string, BranchObjects>();
  version = 0;

  async readBranch(_namespace: string, id: string) {
    const pod = this.branches.get(id)?.pod;
    return pod && structuredClone(pod);
  }
  async createBranch(objects: BranchObjects) {
    const id = objects.pod.metadata!.labels!['mirrord.dev/db-branch']!;
    if (!this.branches.has(id)) {
      const made = structuredClone(objects);
      made.pod.metadata = { ...made.pod.metadata, creationTimestamp: NOW, resourceVersion: String(++this.version) };
      this.branches.set(id, made);
    }
    return this.readBranch('', id);
  }
  async deleteBranch(_namespace: string, id: string) {
    this.branches.delete(id);
  }
  async listBranches() {
    return [...this.branches.values()].map((objects) => objects.pod);
  }
  async annotateBranch(_namespace: string, id: string, annotations: Record<string, string | null>, basedOn: string) {
    const pod = this.branches.get(id)?.pod;
    if (!pod || pod.metadata!.resourceVersion !== basedOn) return false;
    for (const [key, value] of Object.entries(annotations)) {
      if (value === null) delete pod.metadata!.annotations![key];
      else pod.metadata!.annotations![key] = value;
    }
    pod.metadata!.resourceVersion = String(++this.version);
    return true;
  }
  keys() {
    return { configMap: async () => undefined, secret: async () => undefined };
  }
  /** What kubelet reports of the branch's server. */
  setServer(id: string, state: V1ContainerState, ready = false) {
    const pod = this.branches.get(id)!.pod;
    pod.status = { phase: 'Running', containerStatuses: [{ name: 'database', image: 'i', imageID: '', restartCount: 0, ready, state }] };
  }
  annotations(id: string) {
    return this.branches.get(id)?.pod.metadata?.annotations;
  }
}

const target: V1Pod = {
  metadata: { name: 'orders-1', namespace: 'shop' },
  spec: { containers: [{ name: 'app', env: [{ name: 'DATABASE_URL', value: 'postgres://app:pw@db:5432/orders' }] }] },
};
const request: DbBranchRequest = {
  id: 'b1',
  shared: true,
  type: 'pg',
  connection: { url: { type: 'env', variable: 'DATABASE_URL' } },
  copy: { mode: 'empty' },
};
const entry = (requests: DbBranchRequest[] = [request], session = 'sess-1'): DbBranchEntry => ({
  namespace: 'shop',
  pod: target,
  container: 'app',
  target: 'deploy/orders',
  caller: { user: 'alice', groups: [] },
  session,
  requests,
  hiddenVariables: [],
});

function setup(check: DbBranchEntryContext['checkSource'] = async () => '15.3') {
  const cluster = new MemoryCluster();
  const checked: string[] = [];
  // Where the operator tried the branch's Service; `answering` says whether it answers yet.
  const tried: string[] = [];
  const service = { answering: true };
  const context: DbBranchEntryContext = {
    cluster,
    engines: { pg: { image: 'branch-pg:15', version: '15' }, mysql: { image: 'branch-maria:10.11', version: '10.11' } },
    checkSource: async (...args) => {
      checked.push(args[0].id);
      return check(...args);
    },
    branchAnswers: async (host, port) => {
      tried.push(`${host}:${port}`);
      return service.answering;
    },
    now: () => NOW,
  };
  return { cluster, context, checked, tried, service };
}

/** A branch someone made earlier, for `source` (host:port/database). */
async function existing(cluster: MemoryCluster, changes: Partial<DbBranchRequest> = {}, source = { host: 'db', port: 5432, database: 'orders' }) {
  const made = { ...request, ...changes };
  const plan = { namespace: 'shop', request: made, image: 'i', owner: 'bob', target: 'deploy/orders', now: NOW };
  await cluster.createBranch(branchObjects({ ...plan, source: { ...source, user: 'app', password: 'pw', env: () => ({}) } }));
}

async function failure(promise: Promise<unknown>): Promise<{ status: number; message: string; reason: string }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (error instanceof ApiFailure) return { status: error.status, message: error.message, reason: error.reason };
  throw new Error(`expected an ApiFailure, got ${String(error)}`);
}

describe('entering database branches', () => {
  it('makes a new branch after checking its source, answers 409 while it is made, then joins the session to it', async () => {
    const { cluster, context, checked, tried, service } = setup();
    expect(await failure(enterDbBranches(context, entry()))).toEqual({
      status: 409,
      message: 'database branch mirrord-db-b1: starting its server',
      reason: 'DatabaseBranchPending',
    });
    expect(checked).toEqual(['b1']);
    const made = cluster.branches.get('b1')!;
    expect([made.secret, made.pod, made.service].map((object) => `${object.kind} ${object.metadata!.name}`)).toEqual([
      'Secret mirrord-db-b1',
      'Pod mirrord-db-b1',
      'Service mirrord-db-b1',
    ]);
    expect(made.pod.metadata!.annotations).toMatchObject({ 'mirrord.dev/db-branch-owner': 'alice', 'mirrord.dev/db-branch-source': 'app@db:5432/orders' });

    cluster.setServer('b1', { running: {} });
    expect((await failure(enterDbBranches(context, entry()))).message).toBe('database branch mirrord-db-b1: copying the source');

    // Ready, but its Service doesn't route to it yet: the local process's connection would be refused.
    cluster.setServer('b1', { running: {} }, true);
    service.answering = false;
    expect((await failure(enterDbBranches(context, entry()))).message).toBe('database branch mirrord-db-b1: waiting for its Service to answer');
    expect(tried).toEqual(['mirrord-db-b1.shop.svc:5432']);
    expect(cluster.annotations('b1')!['mirrord.dev/db-branch-sessions']).toBe('[]');

    service.answering = true;
    expect(await enterDbBranches(context, entry())).toEqual({
      env: { DATABASE_URL: 'postgres://app:pw@mirrord-db-b1.shop.svc:5432/orders' },
      branches: [{ id: 'b1', name: 'mirrord-db-b1' }],
    });
    expect(cluster.annotations('b1')!['mirrord.dev/db-branch-sessions']).toBe('["sess-1"]');
    expect(checked).toEqual(['b1']); // a branch that exists is not checked again
  });

  it('joins a ready branch of the same id and source: the session is appended, and it is no longer idle', async () => {
    const { cluster, context, checked } = setup();
    await existing(cluster);
    cluster.setServer('b1', { running: {} }, true);
    Object.assign(cluster.annotations('b1')!, {
      'mirrord.dev/db-branch-sessions': '["bob-1","sess-2"]',
      'mirrord.dev/db-branch-joined-at': '2026-06-01T11:00:00.000Z',
      'mirrord.dev/db-branch-idle-since': '2026-06-01T11:30:00.000Z',
    });
    const status = await enterDbBranches(context, entry([request], 'sess-2'));
    expect(status.env).toEqual({ DATABASE_URL: 'postgres://app:pw@mirrord-db-b1.shop.svc:5432/orders' });
    expect(cluster.annotations('b1')).toMatchObject({
      'mirrord.dev/db-branch-sessions': '["bob-1","sess-2"]',
      'mirrord.dev/db-branch-joined-at': NOW.toISOString(),
    });
    expect(cluster.annotations('b1')!['mirrord.dev/db-branch-idle-since']).toBeUndefined();
    await enterDbBranches(context, entry([request], 'sess-3'));
    expect(cluster.annotations('b1')!['mirrord.dev/db-branch-sessions']).toBe('["bob-1","sess-2","sess-3"]');
    expect(checked).toEqual([]);
  });

  it('refuses a shared id whose branch is of another type or copies another source', async () => {
    const { cluster, context } = setup();
    await existing(cluster, { type: 'mysql' });
    expect(await failure(enterDbBranches(context, entry()))).toEqual({
      status: 409,
      message: 'feature.db_branches[0].id: the branch mirrord-db-b1 (id b1) is a mysql branch, not pg',
      reason: 'Conflict',
    });
    cluster.branches.clear();
    await existing(cluster, {}, { host: 'db', port: 5432, database: 'billing' });
    // Neither database is named: the session's values are not echoed.
    expect((await failure(enterDbBranches(context, entry()))).message).toBe(
      'feature.db_branches[0].id: the branch mirrord-db-b1 (id b1) copies another database, or as another user: choose another id',
    );
  });

  it("refuses another user's session a branch made without a shared id; its maker's sessions join it", async () => {
    const { cluster, context } = setup();
    await existing(cluster, { shared: false });
    cluster.setServer('b1', { running: {} }, true);
    expect(await failure(enterDbBranches(context, entry()))).toEqual({
      status: 403,
      message: "feature.db_branches[0].id: the branch mirrord-db-b1 belongs to another user's session (made without a shared id)",
      reason: 'Forbidden',
    });
    const bob = { ...entry([{ ...request, shared: false }]), caller: { user: 'bob', groups: [] } };
    expect((await enterDbBranches(context, bob)).branches).toEqual([{ id: 'b1', name: 'mirrord-db-b1' }]);
  });

  it('refuses a branch of a variable the policies hide from sessions, before reading anything', async () => {
    const { cluster, context, checked } = setup();
    expect(await failure(enterDbBranches(context, { ...entry(), hiddenVariables: ['DATABASE_*'] }))).toEqual({
      status: 403,
      message: 'feature.db_branches[0].connection.url: the policies hide the variable DATABASE_URL from sessions (env.exclude)',
      reason: 'Forbidden',
    });
    expect(cluster.branches.size).toBe(0);
    expect(checked).toEqual([]);
  });

  it('answers 422 naming the key of a config error, and makes nothing', async () => {
    const { cluster, context, checked } = setup();
    const missing = { ...request, connection: { url: { type: 'env' as const, variable: 'PG_URL' } } };
    expect(await failure(enterDbBranches(context, entry([request, missing])))).toEqual({
      status: 422,
      message: 'feature.db_branches[1].connection.url: container app of the target has no variable PG_URL (in env or envFrom)',
      reason: 'Invalid',
    });
    expect(await failure(enterDbBranches(context, { ...entry(), container: 'worker' }))).toEqual({
      status: 422,
      message: 'feature.db_branches: the target has no container worker',
      reason: 'Invalid',
    });
    expect(cluster.branches.size).toBe(0);
    expect(checked).toEqual([]);
  });

  it('answers 424 when the source fails its check with no key to blame, 422 with one; no branch is made', async () => {
    const unreachable = setup(async () => {
      throw new SourceCheckError(undefined, 'the source database at db.shop.svc:5432 could not be reached: ECONNREFUSED');
    });
    expect(await failure(enterDbBranches(unreachable.context, entry()))).toEqual({
      status: 424,
      message: 'feature.db_branches[0]: the source database at db.shop.svc:5432 could not be reached: ECONNREFUSED; no branch was made',
      reason: 'FailedDependency',
    });
    expect(unreachable.cluster.branches.size).toBe(0);

    const badFilter = setup(async () => {
      throw new SourceCheckError('copy.tables.users.filter', 'PostgreSQL refuses it: column "emial" does not exist');
    });
    expect(await failure(enterDbBranches(badFilter.context, entry()))).toEqual({
      status: 422,
      message: 'feature.db_branches[0].copy.tables.users.filter: PostgreSQL refuses it: column "emial" does not exist',
      reason: 'Invalid',
    });
    expect(badFilter.cluster.branches.size).toBe(0);
  });

  it("says why a branch failed (424) and leaves it for the leader, so that every waiting session reads why; deletes one not ready in its maker's time", async () => {
    const { cluster, context } = setup();
    await existing(cluster);
    cluster.setServer('b1', { terminated: { exitCode: 1, message: 'copying\npg_dump: permission denied for table users' } });
    const failed = {
      status: 424,
      message: 'feature.db_branches[0]: the branch mirrord-db-b1 could not be made: pg_dump: permission denied for table users',
      reason: 'FailedDependency',
    };
    expect(await failure(enterDbBranches(context, entry()))).toEqual(failed);
    expect(await failure(enterDbBranches(context, entry([request], 'sess-2')))).toEqual(failed);
    expect(cluster.branches.size).toBe(1);

    cluster.branches.clear();
    await existing(cluster, { creationTimeoutSecs: 90 });
    cluster.setServer('b1', { running: {} });
    // A joiner's own (default, 60 s) timeout doesn't cut short the maker's 90 s.
    const sooner = { ...context, now: () => new Date(NOW.getTime() + 61_000) };
    expect((await failure(enterDbBranches(sooner, entry()))).message).toBe('database branch mirrord-db-b1: copying the source');
    const later = { ...context, now: () => new Date(NOW.getTime() + 91_000) };
    expect((await failure(enterDbBranches(later, entry()))).message).toBe(
      'feature.db_branches[0]: the branch mirrord-db-b1 could not be made: it was not ready within 90 s (creation_timeout_secs); it was deleted',
    );
    expect(cluster.branches.size).toBe(0);
  });
});
