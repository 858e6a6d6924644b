/**
 * The database branch images (operator/db-branch-images) against real servers, per engine: a
 * source in server mode seeded with a small schema (users, orders referencing users, an order log
 * a trigger fills, indexes, a view), then branches of it in each copy mode (empty, schema, schema
 * with one table's rows filtered, all, all with one table filtered) that the source's user reaches
 * with the source's credentials; sequences go on from the source's, triggers don't fire while
 * rows are copied. A source that can't be reached, a wrong password or a filter the engine rejects
 * end the container with one clear line in /dev/termination-log, never the password.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { branchModeEnv, DB_BRANCH_IMAGES, DB_BRANCH_READY_FILE, dbBranchImagesReady, serverModeEnv } from '../harness/db-branch-images';
import { queryDatabase } from '../harness/db-query';
import { run } from '../harness/run';

jest.setTimeout(120_000);

const USER = 'app';
const DATABASE = 'shop';
/** Quotes of both kinds, a dollar and a backslash: the password travels through SQL and shells. */
const PASSWORD = `s3cr'et"$x\\y-91`;

interface Endpoint {
  host: string;
  port: number;
}

interface Engine {
  name: string;
  image: string;
  port: number;
  seed: string[];
  type: 'pg' | 'mysql';
  tables: string;
  indexes: string;
  /** The row a new user gets (its id comes from the branch's sequence / auto-increment). */
  insertUser: string;
}

const users = `('alice', 'a@x'), ('bob', 'b@x'), ('carol', 'c@x'), ('dave', 'd@x'), ('erin', 'e@x')`;
const orders = `(1, 50), (1, 150), (2, 20), (3, 300), (3, 30), (4, 40), (5, 500), (5, 5)`;

const postgres: Engine = {
  name: 'PostgreSQL',
  image: DB_BRANCH_IMAGES.pg,
  port: 5432,
  seed: [
    'CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE)',
    'CREATE INDEX users_name_idx ON users (name)',
    'CREATE TABLE orders (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES users (id), amount int NOT NULL)',
    'CREATE INDEX orders_user_idx ON orders (user_id)',
    'CREATE TABLE order_log (id serial PRIMARY KEY, order_id int NOT NULL)',
    `CREATE FUNCTION log_order() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO order_log (order_id) VALUES (NEW.id); RETURN NEW; END $$`,
    'CREATE TRIGGER orders_log AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION log_order()',
    'CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 100',
    `INSERT INTO users (name, email) VALUES ${users}`,
    `INSERT INTO orders (user_id, amount) VALUES ${orders}`,
  ],
  type: 'pg',
  tables: `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
  indexes: `SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`,
  insertUser: `INSERT INTO users (name) VALUES ('new') RETURNING id`,
};

const mariadb: Engine = {
  name: 'MariaDB',
  image: DB_BRANCH_IMAGES.mysql,
  port: 3306,
  seed: [
    'CREATE TABLE users (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200) UNIQUE, INDEX users_name_idx (name))',
    `CREATE TABLE orders (id int AUTO_INCREMENT PRIMARY KEY, user_id int NOT NULL, amount int NOT NULL, INDEX orders_user_idx (user_id),
       CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id))`,
    'CREATE TABLE order_log (id int AUTO_INCREMENT PRIMARY KEY, order_id int NOT NULL)',
    'CREATE TRIGGER orders_log AFTER INSERT ON orders FOR EACH ROW INSERT INTO order_log (order_id) VALUES (NEW.id)',
    'CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 100',
    `INSERT INTO users (name, email) VALUES ${users}`,
    `INSERT INTO orders (user_id, amount) VALUES ${orders}`,
  ],
  type: 'mysql',
  tables: `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1`,
  indexes: `SELECT DISTINCT index_name AS name FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name <> 'PRIMARY' ORDER BY 1`,
  insertUser: `INSERT INTO users (name) VALUES ('new')`,
};

/** Branch-mode variables: the source, the copy mode, the filtered tables. */
function branchEnv(source: Endpoint, mode: string, tables: [string, string][] = [], password = PASSWORD): Record<string, string> {
  return branchModeEnv({ ...source, user: USER, password, database: DATABASE }, mode, tables);
}

async function startReady(engine: Engine, env: Record<string, string>): Promise<StartedTestContainer> {
  return new GenericContainer(engine.image)
    .withEnvironment(env)
    .withExposedPorts(engine.port)
    .withWaitStrategy(Wait.forSuccessfulCommand(`test -f ${DB_BRANCH_READY_FILE}`))
    .withStartupTimeout(60_000)
    .start();
}

/**
 * A branch container run to its end (docker run, as a pod would: /dev/termination-log a file it
 * can write): its exit code, termination message, log, and how long it ran.
 */
async function runToFailure(engine: Engine, env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'db-branch-'));
  const termination = join(dir, 'termination-log');
  writeFileSync(termination, '');
  chmodSync(dir, 0o755);
  chmodSync(termination, 0o666);
  const envFile = join(dir, 'env');
  writeFileSync(
    envFile,
    Object.entries(env)
      .map(([key, value]) => `${key}=${value}\n`)
      .join(''),
  );
  const started = Date.now();
  const { stdout } = await run('docker', ['run', '-d', '--env-file', envFile, '-v', `${termination}:/dev/termination-log`, engine.image]);
  const id = stdout.trim();
  try {
    const code = Number((await run('docker', ['wait', id], { timeoutMs: 60_000 })).stdout.trim());
    const seconds = (Date.now() - started) / 1000;
    const logs = await run('docker', ['logs', id]);
    return { code, seconds, message: readFileSync(termination, 'utf8'), log: logs.stdout + logs.stderr };
  } finally {
    await run('docker', ['rm', '-f', id]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.each([postgres, mariadb])('the $name branch image', (engine) => {
  let source: StartedTestContainer;
  /** The source as branches reach it (its address on Docker's bridge). */
  let sourceInside: Endpoint;
  const branches: StartedTestContainer[] = [];
  const at = (container: StartedTestContainer): Endpoint => ({ host: container.getHost(), port: container.getMappedPort(engine.port) });
  /** One statement on a container's database, as the source's user (with this password). */
  const query = (to: Endpoint, sql: string, password = PASSWORD) => queryDatabase(engine.type, { ...to, user: USER, password, database: DATABASE }, sql);
  const rows = async (container: StartedTestContainer, sql: string) => query(at(container), sql);
  /** Sorted here: the engines' collations order `_` differently. */
  const names = async (container: StartedTestContainer, sql: string) => (await rows(container, sql)).map((row) => String(row.name)).sort();
  const count = async (container: StartedTestContainer, table: string) => Number((await rows(container, `SELECT count(*) AS n FROM ${table}`))[0].n);
  const branch = async (mode: string, tables: [string, string][] = []) => {
    const started = await startReady(engine, branchEnv(sourceInside, mode, tables));
    branches.push(started);
    return started;
  };

  beforeAll(async () => {
    await dbBranchImagesReady();
    source = await startReady(engine, serverModeEnv({ user: USER, password: PASSWORD, database: DATABASE }));
    for (const statement of engine.seed) await rows(source, statement);
    sourceInside = { host: source.getIpAddress(source.getNetworkNames()[0]), port: engine.port };
  }, 1_200_000);
  afterAll(async () => {
    await Promise.all(branches.map((container) => container.stop({ timeout: 10_000 })));
    await source?.stop();
  });

  it('empty: the database and the user, with the source password, and nothing else', async () => {
    const empty = await branch('empty');
    expect(await names(empty, engine.tables)).toEqual([]);
    await expect(query(at(empty), 'SELECT 1', 'wrong')).rejects.toThrow();
    // The user can create what it needs.
    await rows(empty, 'CREATE TABLE scratch (id int)');
  });

  it('schema: tables, indexes, views, no rows; sequences go on from the source', async () => {
    const schema = await branch('schema');
    expect(await names(schema, engine.tables)).toEqual(['big_orders', 'order_log', 'orders', 'users']);
    expect(await names(schema, engine.indexes)).toEqual(expect.arrayContaining(['orders_user_idx', 'users_name_idx']));
    for (const table of ['users', 'orders', 'order_log']) expect(await count(schema, table)).toBe(0);
    const [created] = await rows(schema, engine.insertUser);
    expect(Number(created.id)).toBe(6);
  });

  it('schema with one table filtered: only its matching rows, the foreign key still checked for new rows', async () => {
    const filtered = await branch('schema', [['users', `id <= 2 or name like 'e%'`]]);
    expect(await names(filtered, 'SELECT name FROM users ORDER BY id')).toEqual(['alice', 'bob', 'erin']);
    expect(await count(filtered, 'orders')).toBe(0);
    await expect(rows(filtered, 'INSERT INTO orders (user_id, amount) VALUES (4, 1)')).rejects.toThrow(/foreign key/i);
    await rows(filtered, 'INSERT INTO orders (user_id, amount) VALUES (5, 1)');
    expect(await count(filtered, 'order_log')).toBe(1);
  });

  it('all: every row, the trigger not fired again by the copy', async () => {
    const all = await branch('all');
    expect(await count(all, 'users')).toBe(5);
    expect(await count(all, 'orders')).toBe(8);
    expect(await count(all, 'order_log')).toBe(8);
    expect(await count(all, 'big_orders')).toBe(3);
    const [created] = await rows(all, engine.insertUser);
    expect(Number(created.id)).toBe(6);
  });

  it('all with one table filtered: that table filtered, the others whole', async () => {
    const filtered = await branch('all', [['users', 'id <= 2']]);
    expect(await names(filtered, 'SELECT name FROM users ORDER BY id')).toEqual(['alice', 'bob']);
    expect(await count(filtered, 'orders')).toBe(8);
    expect(await count(filtered, 'order_log')).toBe(8);
  });

  it('stops within a couple of seconds of SIGTERM', async () => {
    const started = Date.now();
    await branches[0].stop({ timeout: 10_000 });
    branches.shift();
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('a source that cannot be reached: a clear termination message within ~20 s, no password', async () => {
    const result = await runToFailure(engine, branchEnv({ host: sourceInside.host, port: 1 }, 'all'));
    expect(result.code).not.toBe(0);
    expect(result.seconds).toBeLessThan(20);
    expect(result.message).toMatch(new RegExp(`^the source database at ${sourceInside.host.replace(/\./g, '\\.')}:1 could not be reached: .+\\n$`));
    expect(result.log).toContain(result.message.trim());
    expect(result.message + result.log).not.toContain(PASSWORD);
  });

  it('a wrong password: the source refused the user, no password in the message', async () => {
    const wrong = `${PASSWORD}-wrong`;
    const result = await runToFailure(engine, branchEnv(sourceInside, 'schema', [], wrong));
    expect(result.code).not.toBe(0);
    expect(result.message).toMatch(/refused user app/);
    expect(result.message + result.log).not.toContain(wrong);
  });

  it('a filter the engine rejects: a message naming the table and the error', async () => {
    const result = await runToFailure(engine, branchEnv(sourceInside, 'all', [['orders', 'amount > 10 and nope = 1']]));
    expect(result.code).not.toBe(0);
    expect(result.message).toMatch(/^copying table orders with filter "amount > 10 and nope = 1": .*nope/);
    expect(result.message.trim().split('\n')).toHaveLength(1);
    expect(result.message + result.log).not.toContain(PASSWORD);
  });
});
