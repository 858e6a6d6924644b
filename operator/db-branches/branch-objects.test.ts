import type { DbBranchRequest } from '../../protocol/db-branch';
import { branchObjects, READY_FILE, type BranchPlan } from './branch-objects';
import type { BranchSource } from './source';

const PASSWORD = 'hunter2-in-the-secret-only';
const source: BranchSource = { host: 'db', port: 6543, user: 'app', password: PASSWORD, database: 'orders', env: () => ({}) };
const request: DbBranchRequest = {
  id: 'feat-x',
  shared: true,
  type: 'pg',
  connection: { url: { type: 'env', variable: 'DATABASE_URL' } },
  copy: { mode: 'schema', tables: { users: { filter: "email LIKE '%@example.com'" }, 'public.plans': {} } },
};
const plan: BranchPlan = {
  namespace: 'shop',
  request,
  source,
  image: 'mirrord-db-branch-postgres:15',
  owner: 'system:serviceaccount:ci:runner',
  target: 'deploy/orders',
  now: new Date('2026-06-01T12:00:00Z'),
};

describe("a branch's objects", () => {
  const { secret, pod, service } = branchObjects(plan);

  it('are all named mirrord-db-ID in the namespace, with the same labels', () => {
    const labels = {
      'mirrord.dev/db-branch': 'feat-x',
      'mirrord.dev/db-branch-type': 'pg',
      // A label value can't hold ':': the owner's full name is in the annotation.
      'mirrord.dev/db-branch-owner': 'system.serviceaccount.ci.runner',
      'app.kubernetes.io/managed-by': 'mirrord-operator',
      'app.kubernetes.io/part-of': 'mirrord',
    };
    for (const object of [secret, pod, service]) expect(object.metadata).toMatchObject({ name: 'mirrord-db-feat-x', namespace: 'shop', labels });
  });

  it("hold the source's credentials in the Secret alone: the Pod reads them from it", () => {
    expect(secret.stringData).toEqual({ host: 'db', port: '6543', user: 'app', password: PASSWORD, database: 'orders' });
    expect(JSON.stringify(pod)).not.toContain(PASSWORD);
    const env = pod.spec!.containers[0]!.env!;
    const fromSecret = (name: string, key: string) => ({ name, valueFrom: { secretKeyRef: { name: 'mirrord-db-feat-x', key } } });
    expect(env.slice(0, 5)).toEqual([
      fromSecret('MIRRORD_BRANCH_SOURCE_HOST', 'host'),
      fromSecret('MIRRORD_BRANCH_SOURCE_PORT', 'port'),
      fromSecret('MIRRORD_BRANCH_SOURCE_USER', 'user'),
      fromSecret('MIRRORD_BRANCH_SOURCE_PASSWORD', 'password'),
      fromSecret('MIRRORD_BRANCH_SOURCE_DATABASE', 'database'),
    ]);
  });

  it("tell the image's script the copy mode and each table's filter", () => {
    expect(pod.spec!.containers[0]!.env!.slice(5)).toEqual([
      { name: 'MIRRORD_BRANCH_COPY_MODE', value: 'schema' },
      { name: 'MIRRORD_BRANCH_TABLE_COUNT', value: '2' },
      { name: 'MIRRORD_BRANCH_TABLE_0_NAME', value: 'users' },
      { name: 'MIRRORD_BRANCH_TABLE_0_FILTER', value: "email LIKE '%@example.com'" },
      { name: 'MIRRORD_BRANCH_TABLE_1_NAME', value: 'public.plans' },
      { name: 'MIRRORD_BRANCH_TABLE_1_FILTER', value: '' },
    ]);
  });

  it('make a Pod the webhook leaves alone, ready once the copy is done, with what listings show', () => {
    // Without this annotation, the webhook would inject a sidecar into the branch in an injected namespace.
    expect(pod.metadata!.annotations).toEqual({
      'mirrord.dev/inject': 'false',
      'mirrord.dev/db-branch-owner': 'system:serviceaccount:ci:runner',
      'mirrord.dev/db-branch-source': 'app@db:6543/orders',
      'mirrord.dev/db-branch-target': 'deploy/orders',
      'mirrord.dev/db-branch-copy': 'schema',
      'mirrord.dev/db-branch-ttl-secs': '300',
      'mirrord.dev/db-branch-creation-timeout-secs': '60',
      'mirrord.dev/db-branch-shared': 'true',
      'mirrord.dev/db-branch-sessions': '[]',
      'mirrord.dev/db-branch-joined-at': '2026-06-01T12:00:00.000Z',
    });
    const container = pod.spec!.containers[0]!;
    expect(pod.spec).toMatchObject({ restartPolicy: 'Never', automountServiceAccountToken: false });
    expect(container).toMatchObject({ name: 'database', image: 'mirrord-db-branch-postgres:15', ports: [{ name: 'database', containerPort: 5432 }] });
    expect(READY_FILE).toBe('/tmp/mirrord-branch-ready'); // what operator/db-branch-images/common.sh writes
    expect(container.readinessProbe?.exec?.command).toEqual(['test', '-f', READY_FILE]);
  });

  it("put a Service at the source's port in front of the engine's, so a URL needs only its host changed", () => {
    expect(service.spec).toEqual({
      selector: { 'mirrord.dev/db-branch': 'feat-x' },
      ports: [{ name: 'database', port: 6543, targetPort: 5432 }],
    });
  });

  it("keep a mysql branch's TTL and copy mode, with MariaDB's port", () => {
    const mysql = branchObjects({ ...plan, request: { ...request, type: 'mysql', shared: false, ttlSecs: 60, copy: { mode: 'empty' } } });
    expect(mysql.pod.metadata!.annotations).toMatchObject({
      'mirrord.dev/db-branch-ttl-secs': '60',
      'mirrord.dev/db-branch-shared': 'false',
      'mirrord.dev/db-branch-copy': 'empty',
    });
    expect(mysql.pod.spec!.containers[0]!.ports).toEqual([{ name: 'database', containerPort: 3306 }]);
    expect(mysql.pod.spec!.containers[0]!.env).toContainEqual({ name: 'MIRRORD_BRANCH_TABLE_COUNT', value: '0' });
    expect(mysql.service.spec!.ports).toEqual([{ name: 'database', port: 6543, targetPort: 3306 }]);
  });
});
