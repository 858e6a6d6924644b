/**
 * Database branches on the real cluster, per engine (PostgreSQL 15, MariaDB 10.11): a source
 * database `db` (the branch image in server mode, seeded with users and their orders) that the
 * deployed app reaches with DB_URL, or DB_HOST, DB_PORT, DB_USER, DB_PASSWORD and DB_NAME, the URL
 * and the password from the Secret `db-credentials`. A developer's local copy
 * (fixtures/db-client.js) attached with `feature.db_branches` gets its own branch: its writes land
 * there and the source is unchanged; `all` with a table filter copies only the matching rows; two
 * sessions with one id share a branch that `mirrord db-branches status` lists and its TTL deletes;
 * a source that can't be reached and bad config are clear errors that leave nothing behind; a
 * policy can require a branch.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DB_BRANCH_IMAGES, dbBranchImagesReady } from '../harness/db-branch-images';
import { run } from '../harness/run';
import { packagePath } from '../../common/package-root';
import { createNamespaces, deleteNamespaces, kubeconfigPath, kubectl, rolledOut, webhookReady } from './cluster';
import { DEMO_IMAGE, deployment, manifests } from './manifests';
import { eventually, FIXTURES, mirrord, type Mirrord } from './mirrord';
import { stoppedAfterEach } from './stopped-after-each';

const CLIENT = join(FIXTURES, 'db-client.js');
const USER = 'app';
const DATABASE = 'shop';
/** Quotes and a dollar: the password travels through a URL, SQL and shells. */
const PASSWORD = `s3cr'et"$x-91`;
const sessions = stoppedAfterEach();
/** A variable's value from the Secret the source and the app share. */
const fromSecret = (key: string) => ({ valueFrom: { secretKeyRef: { name: 'db-credentials', key } } });

interface Engine {
  type: 'pg' | 'mysql';
  image: string;
  port: number;
  scheme: string;
  /** The engine's client in the source's pod, as the app's user over TCP, running one statement. */
  client(sql: string): string[];
  seed: string[];
}

const users = `('alice'), ('bob'), ('carol'), ('dave'), ('erin')`;
const orders = `(1, 10), (1, 20), (2, 30), (3, 40), (3, 50), (4, 60), (5, 70), (5, 80), (1, 90), (2, 100)`;

const engines: Engine[] = [
  {
    type: 'pg',
    image: DB_BRANCH_IMAGES.pg,
    port: 5432,
    scheme: 'postgres',
    client: (sql) => ['env', `PGPASSWORD=${PASSWORD}`, ...'psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1'.split(' '), '-U', USER, '-d', DATABASE, '-c', sql],
    seed: [
      'CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL)',
      'CREATE TABLE orders (id serial PRIMARY KEY, user_id int NOT NULL, amount int NOT NULL, CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id))',
    ],
  },
  {
    type: 'mysql',
    image: DB_BRANCH_IMAGES.mysql,
    port: 3306,
    scheme: 'mysql',
    client: (sql) => [
      'env',
      `MYSQL_PWD=${PASSWORD}`,
      ...'mariadb --no-defaults --protocol=tcp -h 127.0.0.1 --batch --skip-column-names'.split(' '),
      '-u',
      USER,
      '-e',
      sql,
      DATABASE,
    ],
    seed: [
      'CREATE TABLE users (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL)',
      'CREATE TABLE orders (id int AUTO_INCREMENT PRIMARY KEY, user_id int NOT NULL, amount int NOT NULL, CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id))',
    ],
  },
];

beforeAll(async () => {
  await webhookReady();
  await rolledOut('mirrord-system', 'mirrord-operator', 180);
  // The branch images are built here (nothing is pulled) and loaded into the cluster's containerd.
  const archives = await dbBranchImagesReady();
  await run('bash', [packagePath('kind/cluster.sh'), 'load', ...archives], { timeoutMs: 600_000 });
}, 1_800_000);

describe.each(engines)('database branches of $type', (engine) => {
  const namespace = `e2e-dbb-${engine.type}-${process.pid}`;
  const url = `${engine.scheme}://${USER}:${encodeURIComponent(PASSWORD)}@db:${engine.port}/${DATABASE}`;

  /** One statement on the source, in its pod: the rows, one line each. */
  const onSource = async (sql: string) =>
    (await kubectl(['-n', namespace, 'exec', 'deploy/db', '--', ...engine.client(sql)])).trim().split('\n').filter(Boolean);
  const branchObjects = async () =>
    (await kubectl(['-n', namespace, 'get', 'pods,services,secrets', '-l', 'mirrord.dev/db-branch', '-o', 'name'])).trim().split('\n').filter(Boolean);

  /** The source: the branch image in server mode, never given a sidecar. */
  function source(): string[] {
    const server = {
      name: 'db',
      image: engine.image,
      imagePullPolicy: 'Never',
      env: [
        { name: 'MIRRORD_DB_USER', value: USER },
        { name: 'MIRRORD_DB_PASSWORD', ...fromSecret('password') },
        { name: 'MIRRORD_DB_DATABASE', value: DATABASE },
      ],
      readinessProbe: { exec: { command: ['test', '-f', '/tmp/mirrord-branch-ready'] }, periodSeconds: 1 },
    };
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'db', namespace },
      spec: { selector: { app: 'db' }, ports: [{ port: engine.port }] },
    };
    return [
      deployment(namespace, 'db', { terminationGracePeriodSeconds: 2, containers: [server] }, { 'mirrord.dev/inject': 'false' }),
      JSON.stringify(service),
    ];
  }

  /** The app: the demo image, with the variables an app of this database has (DB_URL from `urlKey` of the Secret). */
  function app(name: string, host: string, urlKey: string): string {
    const variables = { DB_TYPE: engine.type, DB_HOST: host, DB_PORT: String(engine.port), DB_USER: USER, DB_NAME: DATABASE };
    const container = {
      name: 'app',
      image: DEMO_IMAGE,
      imagePullPolicy: 'Never',
      args: ['serve'],
      env: [
        ...Object.entries(variables).map(([key, value]) => ({ name: key, value })),
        { name: 'DB_URL', ...fromSecret(urlKey) },
        { name: 'DB_PASSWORD', ...fromSecret('password') },
      ],
    };
    return deployment(namespace, name, { terminationGracePeriodSeconds: 2, containers: [container] });
  }

  function configFile(name: string, branches: unknown): string {
    const path = join(tmpdir(), `mirrord-e2e-dbb-${process.pid}-${engine.type}-${name}.json`);
    writeFileSync(path, JSON.stringify({ feature: { db_branches: branches, network: { incoming: 'off' } } }));
    return path;
  }

  const urlBranch = (extra: object = {}) => ({ type: engine.type, connection: { url: { type: 'env', variable: 'DB_URL' } }, ...extra });

  /**
   * A developer's local db-client attached to deploy/TARGET with these branches, connecting by
   * `connect` (url or params) and running SQL; HOLD keeps it (and the session) running.
   */
  function developer(name: string, branches: unknown, sql: string[], options: { connect?: 'url' | 'params'; hold?: boolean; target?: string } = {}): Mirrord {
    const config = configFile(name, branches);
    const command = ['node', CLIENT, options.connect ?? 'url', ...sql];
    const session = mirrord(['attach', options.target ?? 'deploy/app', '-n', namespace, '--kubeconfig', kubeconfigPath(), '-f', config, '--', ...command], {
      env: { ...process.env, DB_TYPE: engine.type, ...(options.hold ? { HOLD: '1' } : {}) },
    });
    sessions.push(session);
    return session;
  }

  /** The JSON lines db-client printed: the host first, then each statement's rows. */
  function printed(stdout: string): { host: string; results: { sql: string; rows: Record<string, unknown>[] }[] } {
    const lines = stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { host: String(lines[0]?.host), results: lines.slice(1) as { sql: string; rows: Record<string, unknown>[] }[] };
  }

  const finished = async (session: Mirrord) => {
    const result = await session.done;
    if (result.code !== 0) throw new Error(`the session failed (${result.code})\n${result.stdout}\n${result.stderr}`);
    return printed(result.stdout);
  };
  const count = (rows: Record<string, unknown>[]) => Number(Object.values(rows[0]!)[0]);

  beforeAll(async () => {
    await createNamespaces({ labeled: [namespace] });
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db-credentials', namespace },
      stringData: { password: PASSWORD, url, 'unreachable-url': url.replace('@db:', '@db-down:') },
    };
    // A Secret of the namespace the app doesn't use: no session may have the operator read it.
    const unused = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'admin-credentials', namespace }, stringData: { password: 'admin-pw' } };
    // db-down: a Service with no pod behind it.
    const down = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'db-down', namespace },
      spec: { selector: { app: 'nothing' }, ports: [{ port: engine.port }] },
    };
    await kubectl(['apply', '-f', '-'], {
      input: manifests(
        JSON.stringify(secret),
        JSON.stringify(unused),
        JSON.stringify(down),
        ...source(),
        app('app', 'db', 'url'),
        app('app-down', 'db-down', 'unreachable-url'),
      ),
    });
    await Promise.all([rolledOut(namespace, 'db', 180), rolledOut(namespace, 'app', 180), rolledOut(namespace, 'app-down', 180)]);
    for (const sql of engine.seed) await onSource(sql);
    await onSource(`INSERT INTO users (name) VALUES ${users}`);
    await onSource(`INSERT INTO orders (user_id, amount) VALUES ${orders}`);
  }, 600_000);

  afterAll(() => deleteNamespaces(namespace), 180_000);

  it("schema: the local process's writes land in its own branch, the source is unchanged; db-branches stop deletes it", async () => {
    const result = await finished(
      developer(
        'schema',
        [urlBranch({ copy: { mode: 'schema' } })],
        ['SELECT count(*) AS n FROM orders', "INSERT INTO users (name) VALUES ('local')", 'SELECT id, name FROM users'],
      ),
    );
    expect(result.host).toMatch(new RegExp(`^mirrord-db-s[0-9a-f]{8}\\.${namespace}\\.svc$`));
    expect(count(result.results[0]!.rows)).toBe(0);
    // The branch's sequence goes on from the source's: a new row doesn't reuse a source id.
    expect(result.results[2]!.rows).toEqual([{ id: 6, name: 'local' }]);
    expect(await onSource("SELECT count(*) FROM users WHERE name = 'local'")).toEqual(['0']);
    expect(await onSource('SELECT count(*) FROM orders')).toEqual(['10']);

    const id = result.host.split('.')[0]!.replace(/^mirrord-db-/, '');
    const status = mirrord(['db-branches', 'status', id, '--json', '-n', namespace, '--kubeconfig', kubeconfigPath()]);
    const listed = JSON.parse((await status.done).stdout) as { branches: { id: string; type: string; copy: string; state: string; owner: string }[] };
    expect(listed.branches).toEqual([expect.objectContaining({ id, type: engine.type, copy: 'schema', state: 'ready' })]);
    expect(listed.branches[0]!.owner).not.toBe('');
    const stop = await mirrord(['db-branches', 'stop', id, '--json', '-n', namespace, '--kubeconfig', kubeconfigPath()]).done;
    expect(JSON.parse(stop.stdout)).toEqual({ stopped: [expect.objectContaining({ id, namespace })] });
    await eventually(async () => {
      const left = await branchObjects();
      if (left.length) throw new Error(`left: ${left.join(', ')}`);
    }, 60_000);
  }, 300_000);

  it('all with a table filter: only the matching rows of that table, the others whole; params with the password from a Secret', async () => {
    const branch = {
      type: engine.type,
      connection: {
        params: {
          host: { type: 'env', variable: 'DB_HOST' },
          port: { type: 'env', variable: 'DB_PORT' },
          user: { type: 'env', variable: 'DB_USER' },
          password: { type: 'secret', name: 'db-credentials', key: 'password' },
          database: { type: 'env', variable: 'DB_NAME' },
        },
      },
      copy: { mode: 'all', tables: { orders: { filter: 'user_id = 1' } } },
      ttl_secs: 5,
    };
    const result = await finished(
      developer('filtered', [branch], ['SELECT user_id, amount FROM orders ORDER BY id', 'SELECT count(*) AS n FROM users'], { connect: 'params' }),
    );
    expect(result.host).toMatch(/^mirrord-db-s[0-9a-f]{8}\./);
    expect(result.results[0]!.rows).toEqual([
      { user_id: 1, amount: 10 },
      { user_id: 1, amount: 20 },
      { user_id: 1, amount: 90 },
    ]);
    expect(count(result.results[1]!.rows)).toBe(5);
  }, 300_000);

  it('two sessions with one id share a branch, listed by db-branches status; its TTL deletes it after the last', async () => {
    const id = `team-${engine.type}-${process.pid % 10_000}`;
    const branches = [urlBranch({ id, copy: { mode: 'schema' }, ttl_secs: 3 })];
    const first = developer('shared-1', branches, ["INSERT INTO users (name) VALUES ('shared')"], { hold: true });
    await first.waitFor(/"sql"/, 'stdout', 240_000);
    const second = developer('shared-2', branches, ["SELECT name FROM users WHERE name = 'shared'"], { hold: true });
    await second.waitFor(/"sql"/, 'stdout', 240_000);
    expect(printed(second.output().stdout).results[0]!.rows).toEqual([{ name: 'shared' }]);
    expect(printed(second.output().stdout).host).toBe(`mirrord-db-${id}.${namespace}.svc`);

    const status = await mirrord(['db-branches', 'status', '--json', '-n', namespace, '--kubeconfig', kubeconfigPath()]).done;
    const rows = (JSON.parse(status.stdout) as { branches: { id: string; sessions: number; state: string }[] }).branches;
    expect(rows.find((row) => row.id === id)).toEqual(expect.objectContaining({ sessions: 2, state: 'ready' }));

    await first.stop();
    // One session left: the branch stays.
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    expect(await branchObjects()).toEqual(expect.arrayContaining([`pod/mirrord-db-${id}`]));
    await second.stop();
    await eventually(
      async () => {
        const left = (await branchObjects()).filter((name) => name.endsWith(`/mirrord-db-${id}`));
        if (left.length) throw new Error(`left: ${left.join(', ')}`);
      },
      120_000,
      1000,
    );
  }, 600_000);

  it('a source that cannot be reached: a clear error, and no branch left', async () => {
    const before = await branchObjects();
    const session = developer('down', [urlBranch({ copy: { mode: 'schema' } })], ['SELECT 1'], { target: 'deploy/app-down' });
    const { code, stderr } = await session.done;
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/feature\.db_branches\[0\]: .*db-down.*(could not be reached|refused|timed out).*no branch was made/);
    expect(stderr).not.toContain(PASSWORD);
    expect(await branchObjects()).toEqual(before);
  }, 180_000);

  it("bad config names the key, and nothing is created: an unknown variable, a filter that is not SQL, a Secret the app doesn't use, an unknown type", async () => {
    const before = await branchObjects();
    const missing = await developer('missing', [{ type: engine.type, connection: { url: { type: 'env', variable: 'NO_SUCH_URL' } } }], ['SELECT 1']).done;
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('feature.db_branches[0].connection.url: container app of the target has no variable NO_SUCH_URL');

    const badFilter = await developer('bad-filter', [urlBranch({ copy: { mode: 'all', tables: { orders: { filter: 'user_id = = 1' } } } })], ['SELECT 1']).done;
    expect(badFilter.code).not.toBe(0);
    expect(badFilter.stderr).toMatch(/feature\.db_branches\[0\]\.copy\.tables\.orders\.filter: (PostgreSQL|MariaDB) refuses it/);

    const params = (password: object) => ({
      host: { type: 'env', variable: 'DB_HOST' },
      user: { type: 'env', variable: 'DB_USER' },
      password,
      database: { type: 'env', variable: 'DB_NAME' },
    });
    const otherSecret = await developer(
      'other-secret',
      [{ type: engine.type, connection: { params: params({ type: 'secret', name: 'admin-credentials', key: 'password' }) } }],
      ['SELECT 1'],
    ).done;
    expect(otherSecret.code).not.toBe(0);
    expect(otherSecret.stderr).toContain("feature.db_branches[0].connection.params.password: the target's pod uses no Secret admin-credentials");
    expect(otherSecret.stderr).not.toContain('admin-pw');

    const unknownType = await developer('unknown-type', [{ type: 'oracle', connection: { url: { type: 'env', variable: 'DB_URL' } } }], ['SELECT 1']).done;
    expect(unknownType.code).not.toBe(0);
    expect(unknownType.stderr).toMatch(/feature\.db_branches\[0\]\.type/);
    expect(await branchObjects()).toEqual(before);
  }, 300_000);

  it('a policy requiring a branch refuses a session without one', async () => {
    const policy = {
      apiVersion: 'mirrord.dev/v1',
      kind: 'MirrordPolicy',
      metadata: { name: 'branch-required', namespace },
      spec: { targetPath: 'deploy/app', requireDbBranches: true },
    };
    await kubectl(['apply', '-f', '-'], { input: JSON.stringify(policy) });
    try {
      const config = join(tmpdir(), `mirrord-e2e-dbb-${process.pid}-${engine.type}-nobranch.json`);
      writeFileSync(config, JSON.stringify({ feature: { network: { incoming: 'off' } } }));
      const session = mirrord([
        'attach',
        'deploy/app',
        '-n',
        namespace,
        '--kubeconfig',
        kubeconfigPath(),
        '-f',
        config,
        '--',
        'node',
        CLIENT,
        'url',
        'SELECT 1',
      ]);
      sessions.push(session);
      const { code, stderr } = await session.done;
      expect(code).not.toBe(0);
      expect(stderr).toMatch(new RegExp(`a session without a database branch on deployment/app\\S* refused by policy ${namespace}/branch-required`));
    } finally {
      await kubectl(['-n', namespace, 'delete', 'mirrordpolicy', 'branch-required', '--ignore-not-found']);
    }
  }, 180_000);
});
