/**
 * The operator's check of a branch's source (operator/db-branches/source-check.ts) against real
 * servers, PostgreSQL 15 and MariaDB 10.11 (the branch images in server mode): the version it
 * runs; a version other than the branch image's, or than the config's; table filters the engine
 * rejects, a table that doesn't exist, and a filter that tries to be two statements — each named
 * by its config key, the source unchanged; a refused password and a port nobody listens on, with
 * no key (nothing about the config is wrong), the password never in the message.
 */
import net from 'node:net';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { checkSource, SourceCheckError, type BranchEngine } from '../../operator/db-branches/source-check';
import type { BranchSource } from '../../operator/db-branches/source';
import { dbBranchRequest, type DbBranchRequest, type DbBranchType } from '../../protocol/db-branch';
import { DB_BRANCH_IMAGES, DB_BRANCH_READY_FILE, dbBranchImagesReady, serverModeEnv } from '../harness/db-branch-images';
import { queryDatabase } from '../harness/db-query';

jest.setTimeout(60_000);

const USER = 'app';
const DATABASE = 'shop';
const PASSWORD = 'pw-3f9c';

interface Engine {
  type: DbBranchType;
  image: string;
  port: number;
  branch: BranchEngine;
  versionPattern: RegExp;
}

const engines: Engine[] = [
  {
    type: 'pg',
    image: DB_BRANCH_IMAGES.pg,
    port: 5432,
    branch: { image: DB_BRANCH_IMAGES.pg, version: '15' },
    versionPattern: /^15\.\d+$/,
  },
  {
    type: 'mysql',
    image: DB_BRANCH_IMAGES.mysql,
    port: 3306,
    branch: { image: DB_BRANCH_IMAGES.mysql, version: '10.11' },
    versionPattern: /^10\.11\.\d+$/,
  },
];

describe.each(engines)('the source check on $type', (engine) => {
  let container: StartedTestContainer;
  let source: BranchSource;

  const request = (extra: Partial<DbBranchRequest> & { tables?: Record<string, { filter?: string }> } = {}): DbBranchRequest => {
    const { tables, ...rest } = extra;
    return dbBranchRequest.parse({
      id: 'check',
      shared: false,
      type: engine.type,
      connection: { url: { type: 'env', variable: 'DB_URL' } },
      copy: { mode: 'all', ...(tables && { tables }) },
      ...rest,
    });
  };
  /** The check's SourceCheckError: its key and message. */
  const failure = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    if (!(error instanceof SourceCheckError)) throw new Error(`expected a SourceCheckError, got ${String(error)}`);
    return { key: error.key, message: error.message };
  };

  beforeAll(async () => {
    await dbBranchImagesReady();
    container = await new GenericContainer(engine.image)
      .withEnvironment(serverModeEnv({ user: USER, password: PASSWORD, database: DATABASE }))
      .withExposedPorts(engine.port)
      .withWaitStrategy(Wait.forSuccessfulCommand(`test -f ${DB_BRANCH_READY_FILE}`))
      .withStartupTimeout(60_000)
      .start();
    // A one-label name is a Service of the app's namespace to the source check: testcontainers'
    // `localhost` (a local Docker engine without a gateway on its bridge) is its address here.
    const host = container.getHost() === 'localhost' ? '127.0.0.1' : container.getHost();
    source = { host, port: container.getMappedPort(engine.port), user: USER, password: PASSWORD, database: DATABASE, env: () => ({}) };
    await queryDatabase(engine.type, source, 'CREATE TABLE orders (id int PRIMARY KEY, user_id int NOT NULL)');
    await queryDatabase(engine.type, source, 'INSERT INTO orders VALUES (1, 1), (2, 2)');
  }, 1_200_000);
  afterAll(() => container?.stop());

  it('answers the version the source runs when all is well, filters included', async () => {
    const version = await checkSource(request({ tables: { orders: { filter: 'user_id = 1' } } }), source, engine.branch, 'ns');
    expect(version).toMatch(engine.versionPattern);
  });

  it('a version other than the config asks for names `version`', async () => {
    const { key, message } = await failure(checkSource(request({ version: '9.6' }), source, engine.branch, 'ns'));
    expect(key).toBe('version');
    expect(message).toMatch(/^9\.6, but the source runs (PostgreSQL|MariaDB) /);
  });

  it("a source of another version than the operator's branch image: no key, what the operator makes", async () => {
    const { key, message } = await failure(checkSource(request(), source, { ...engine.branch, version: '99' }, 'ns'));
    expect(key).toBeUndefined();
    expect(message).toMatch(/and this operator makes (PostgreSQL|MariaDB) 99 branches only$/);
  });

  it('a filter that is not SQL, a column or table that does not exist: the key of that filter or table', async () => {
    const bad = await failure(checkSource(request({ tables: { orders: { filter: 'user_id = = 1' } } }), source, engine.branch, 'ns'));
    expect(bad).toEqual({ key: 'copy.tables.orders.filter', message: expect.stringMatching(/^(PostgreSQL|MariaDB) refuses it: .*syntax/i) });
    const column = await failure(checkSource(request({ tables: { orders: { filter: 'nope = 1' } } }), source, engine.branch, 'ns'));
    expect(column).toEqual({ key: 'copy.tables.orders.filter', message: expect.stringMatching(/nope/) });
    const table = await failure(checkSource(request({ tables: { missing: {} } }), source, engine.branch, 'ns'));
    expect(table).toEqual({ key: 'copy.tables.missing', message: expect.stringMatching(/missing/) });
  });

  it('a filter that smuggles in a second statement is refused and never runs', async () => {
    const { key } = await failure(
      checkSource(request({ tables: { orders: { filter: 'true); DELETE FROM orders; SELECT (1' } } }), source, engine.branch, 'ns'),
    );
    expect(key).toBe('copy.tables.orders.filter');
    expect(await queryDatabase(engine.type, source, 'SELECT id FROM orders ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }]);
  });

  it('a refused password: no key, "refused the credentials", the password not in the message', async () => {
    const wrong = 'wrong-password-77';
    const { key, message } = await failure(checkSource(request(), { ...source, password: wrong }, engine.branch, 'ns'));
    expect(key).toBeUndefined();
    expect(message).toMatch(new RegExp(`^the source database at ${source.host}:${source.port} refused the credentials: `));
    expect(message).not.toContain(wrong);
  });

  it('a port nobody listens on: "could not be reached", at once', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const started = Date.now();
    const { key, message } = await failure(checkSource(request(), { ...source, host: '127.0.0.1', port: closed }, engine.branch, 'ns'));
    expect(key).toBeUndefined();
    expect(message).toMatch(new RegExp(`^the source database at 127\\.0\\.0\\.1:${closed} could not be reached: .*ECONNREFUSED`));
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
