import type { V1Container, V1Pod } from '../../common/kube-client';
import type { DbBranchRequest } from '../../protocol/db-branch';
import { BranchConfigError, podSecrets, readBranchSource, type BranchSource } from './source';

// The target's namespace: a Secret with the database password, a ConfigMap with its user.
const secrets: Record<string, Record<string, string>> = {
  'db-creds': { password: 'p@ss/w', url: 'postgresql://app:pw@pg.data:6000/orders' },
  // Of the namespace, not of the pod: the session may not name it.
  'payments-root': { password: 'root-pw' },
};
const maps: Record<string, Record<string, string>> = { 'db-settings': { user: 'app' } };
const readers = {
  configMap: async (name: string, key: string) => maps[name]?.[key],
  secret: async (name: string, key: string) => secrets[name]?.[key],
};

const container: V1Container = {
  name: 'app',
  env: [
    { name: 'PG_URL', value: 'postgres://app:p%40ss%2Fw@db:6543/orders?sslmode=disable' },
    { name: 'PG_URL_BARE', value: 'postgres://app:pw@db' },
    { name: 'PG_URL_SECRET', valueFrom: { secretKeyRef: { name: 'db-creds', key: 'url' } } },
    { name: 'MYSQL_URL', value: 'mysql://root:pw@maria/shop' },
    { name: 'MARIADB_URL', value: 'mariadb://root:pw@maria:3307/shop' },
    { name: 'NOT_URL', value: 'db.shop.svc/orders' },
    { name: 'GONE_URL', valueFrom: { configMapKeyRef: { name: 'nope', key: 'url' } } },
    { name: 'DB_HOST', value: 'maria' },
    { name: 'DB_PORT', value: '3307' },
    { name: 'DB_USER', valueFrom: { configMapKeyRef: { name: 'db-settings', key: 'user' } } },
    { name: 'DB_NAME', value: 'shop' },
    { name: 'BAD_PORT', value: 'http' },
  ],
};

const pod: V1Pod = { metadata: { name: 'app-1' }, spec: { containers: [container] } };

const env = (variable: string) => ({ type: 'env' as const, variable });
const byUrl = (variable: string, type: DbBranchRequest['type'] = 'pg', extra: Partial<DbBranchRequest> = {}): DbBranchRequest => ({
  id: 'b1',
  shared: false,
  type,
  connection: { url: env(variable) },
  copy: { mode: 'empty' },
  ...extra,
});
const params = (over: Partial<Extract<DbBranchRequest['connection'], { params: unknown }>['params']> = {}, name?: string): DbBranchRequest => ({
  id: 'b1',
  shared: false,
  type: 'mysql',
  ...(name && { name }),
  connection: {
    params: { host: env('DB_HOST'), user: env('DB_USER'), password: { type: 'secret', name: 'db-creds', key: 'password' }, database: env('DB_NAME'), ...over },
  },
  copy: { mode: 'empty' },
});

/** The source without its env function, for toEqual. */
const fields = ({ env: _env, ...rest }: BranchSource) => rest;

/** The BranchConfigError `promise` rejects with: its key and message. */
async function configError(promise: Promise<unknown>): Promise<{ key: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof BranchConfigError)) throw new Error(`expected a BranchConfigError, got ${String(error)}`);
  return { key: error.key, message: error.message };
}

describe("a branch's source from a URL variable", () => {
  it('reads host, port, user, the percent-decoded password and the database', async () => {
    const source = await readBranchSource(pod, container, byUrl('PG_URL'), 0, readers);
    expect(fields(source)).toEqual({ host: 'db', port: 6543, user: 'app', password: 'p@ss/w', database: 'orders' });
  });

  it("takes each scheme of its type, with the engine's default port", async () => {
    expect(fields(await readBranchSource(pod, container, byUrl('PG_URL_BARE', 'pg', { name: 'main' }), 0, readers))).toMatchObject({
      port: 5432,
      database: 'main',
    });
    expect(fields(await readBranchSource(pod, container, byUrl('PG_URL_SECRET'), 0, readers))).toEqual({
      host: 'pg.data',
      port: 6000,
      user: 'app',
      password: 'pw',
      database: 'orders',
    });
    expect(fields(await readBranchSource(pod, container, byUrl('MYSQL_URL', 'mysql'), 0, readers))).toEqual({
      host: 'maria',
      port: 3306,
      user: 'root',
      password: 'pw',
      database: 'shop',
    });
    expect(fields(await readBranchSource(pod, container, byUrl('MARIADB_URL', 'mysql'), 0, readers))).toMatchObject({ port: 3307 });
  });

  it("points the variable at the branch: only the host changes (the branch's Service listens on the source's port)", async () => {
    const source = await readBranchSource(pod, container, byUrl('PG_URL'), 0, readers);
    expect(source.env('mirrord-db-b1.shop.svc')).toEqual({ PG_URL: 'postgres://app:p%40ss%2Fw@mirrord-db-b1.shop.svc:6543/orders?sslmode=disable' });
  });

  it('names the key of the config at fault, and never the value', async () => {
    expect(await configError(readBranchSource(pod, container, byUrl('DATABASE_URL'), 2, readers))).toEqual({
      key: 'feature.db_branches[2].connection.url',
      message: 'feature.db_branches[2].connection.url: container app of the target has no variable DATABASE_URL (in env or envFrom)',
    });
    expect(await configError(readBranchSource(pod, container, byUrl('GONE_URL'), 0, readers))).toEqual({
      key: 'feature.db_branches[0].connection.url',
      message: 'feature.db_branches[0].connection.url: container app takes GONE_URL from ConfigMap nope, key url, which does not exist',
    });
    // A mysql URL for a pg branch: the message must not echo the URL, whose password it holds.
    expect(await configError(readBranchSource(pod, container, byUrl('MYSQL_URL', 'pg'), 0, readers))).toEqual({
      key: 'feature.db_branches[0].connection.url',
      message: 'feature.db_branches[0].connection.url: MYSQL_URL is a mysql: URL, not one of postgres: postgresql: (type pg)',
    });
    expect((await configError(readBranchSource(pod, container, byUrl('PG_URL', 'mysql'), 0, readers))).message).toBe(
      'feature.db_branches[0].connection.url: PG_URL is a postgres: URL, not one of mysql: mariadb: (type mysql)',
    );
    expect((await configError(readBranchSource(pod, container, byUrl('NOT_URL'), 0, readers))).message).toBe(
      'feature.db_branches[0].connection.url: NOT_URL is not a URL',
    );
    expect(await configError(readBranchSource(pod, container, byUrl('PG_URL_BARE'), 1, readers))).toEqual({
      key: 'feature.db_branches[1].name',
      message: 'feature.db_branches[1].name: PG_URL_BARE names no database: name it here',
    });
  });
});

describe("a branch's source from params", () => {
  it("reads each from a variable (value or ConfigMap) or a Secret; the port defaults to the engine's", async () => {
    const source = await readBranchSource(pod, container, params(), 0, readers);
    expect(fields(source)).toEqual({ host: 'maria', port: 3306, user: 'app', password: 'p@ss/w', database: 'shop' });
    expect(fields(await readBranchSource(pod, container, params({ port: env('DB_PORT') }), 0, readers)).port).toBe(3307);
    expect(fields(await readBranchSource(pod, container, params({ database: undefined }, 'other'), 0, readers)).database).toBe('other');
  });

  it("points only the host's variable at the branch", async () => {
    const source = await readBranchSource(pod, container, params(), 0, readers);
    expect(source.env('mirrord-db-b1.shop.svc')).toEqual({ DB_HOST: 'mirrord-db-b1.shop.svc' });
  });

  it('names the key of the config at fault', async () => {
    expect(await configError(readBranchSource(pod, container, params({ password: { type: 'secret', name: 'db-creds', key: 'pw' } }), 3, readers))).toEqual({
      key: 'feature.db_branches[3].connection.params.password',
      message: "feature.db_branches[3].connection.params.password: no Secret db-creds with a key pw in the target's namespace",
    });
    expect((await configError(readBranchSource(pod, container, params({ host: env('PGHOST') }), 0, readers))).key).toBe(
      'feature.db_branches[0].connection.params.host',
    );
    expect((await configError(readBranchSource(pod, container, params({ port: env('BAD_PORT') }), 0, readers))).message).toBe(
      'feature.db_branches[0].connection.params.port: not a port number',
    );
    expect((await configError(readBranchSource(pod, container, params({ database: undefined }), 0, readers))).message).toBe(
      'feature.db_branches[0].name: the connection names no database: name it here or in connection.params.database',
    );
  });
});

describe('the Secrets a session may name', () => {
  it("are the pod's own: env, envFrom, volumes and projected volumes of every container", () => {
    const used: V1Pod = {
      spec: {
        initContainers: [{ name: 'migrate', envFrom: [{ secretRef: { name: 'migrations' } }] }],
        containers: [{ name: 'app', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'db', key: 'pw' } } }] }],
        volumes: [
          { name: 'tls', secret: { secretName: 'tls' } },
          { name: 'all', projected: { sources: [{ secret: { name: 'api-key' } }] } },
        ],
      },
    };
    expect([...podSecrets(used)].sort()).toEqual(['api-key', 'db', 'migrations', 'tls']);
  });

  it('another Secret of the namespace is refused by name, its value never read', async () => {
    const read: string[] = [];
    const watching = { ...readers, secret: async (name: string, key: string) => (read.push(name), secrets[name]?.[key]) };
    const request = params({ password: { type: 'secret', name: 'payments-root', key: 'password' } });
    expect(await configError(readBranchSource(pod, container, request, 0, watching))).toEqual({
      key: 'feature.db_branches[0].connection.params.password',
      message:
        "feature.db_branches[0].connection.params.password: the target's pod uses no Secret payments-root (in env, envFrom or volumes): name one it uses",
    });
    expect(read).toEqual([]);
  });
});
