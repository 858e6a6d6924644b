/**
 * How long a database branch takes to be usable (`npm run bench:db-branches`), per engine
 * (PostgreSQL 15 and MariaDB 10.11, the images of operator/db-branch-images, built here), for a
 * source of about 100 MiB (USERS users, orders referencing them with a text column, an index and
 * a foreign key; seeded server-side), against its baseline in the same run: the same data copied
 * by hand with the engine's own tools. Branch: from `docker run` of the image in branch mode to
 * its ready file's mtime (the copy complete, the user let in over TCP with the source's password),
 * per copy mode (empty, schema, all, and all with orders filtered to FILTER: about a tenth of them).
 * By hand: a fresh container of the same image in server mode, from `docker run` to its ready
 * file (server start), then inside it `pg_dump | psql` / `mariadb-dump --single-transaction |
 * mariadb` from the source (dump | restore, timed inside the container); for the filtered mode the
 * other tables whole and the orders' matching rows by COPY / `mariadb-dump --where`. After each
 * run the database is checked (tables, index, rows: every row of the source, or the filter's)
 * over TCP with the password: a broken copy ends the benchmark. Branch and by hand alternate (the
 * one that goes first changes every round) over ROUNDS rounds after one round not counted (the
 * images' and the source's warm-up); medians. See docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { branchModeEnv, DB_BRANCH_IMAGES, DB_BRANCH_READY_FILE, dbBranchImagesReady, serverModeEnv } from '../harness/db-branch-images';
import { run } from '../harness/run';
import { count, fixed, median, table } from './stats';

const ROUNDS = 3;
const USERS = 100_000;
/** Orders per engine: about 100 MiB in all, by the engine's own count (its rows are larger in PostgreSQL). */
const ORDERS = { PostgreSQL: 650_000, MariaDB: 900_000 };
/** The filtered mode's condition on orders: the orders of the first tenth of the users. */
const FILTER = `user_id <= ${USERS / 10}`;
const USER = 'app';
const DATABASE = 'shop';
const PASSWORD = 'bench-secret';
/** Longest a container may take to be ready. */
const READY_TIMEOUT_MS = 600_000;

type Mode = 'empty' | 'schema' | 'all' | 'filtered';
const MODES: Mode[] = ['empty', 'schema', 'all', 'filtered'];
const MODE_NAMES: Record<Mode, string> = {
  empty: 'empty',
  schema: 'schema',
  all: 'all',
  filtered: `all, orders where ${FILTER}`,
};

interface Engine {
  name: keyof typeof ORDERS;
  image: string;
  port: number;
  /** The SQL script that creates and fills the source (the user's, on its database). */
  seed(orders: number): string;
  /** The source's size in bytes, as the engine counts it. */
  sizeQuery: string;
  sizeHow: string;
  /** The client as the user over TCP (`docker exec` options before the container, the command after it): SQL on stdin, or `sqlFlag` and one query. */
  client: { env: string[]; command: string[]; sqlFlag: string };
  /** The number of tables and of orders_user_idx indexes in the user's database. */
  shapeQuery: string;
  /** The commands (bash, inside a fresh server: $SRC the source's address, $FILTER the condition) copying a mode by hand. */
  byHand: Record<Exclude<Mode, 'empty'>, string>;
  /** The environment those commands need (the password of both ends: the same user). */
  byHandEnv: string[];
}

const postgres: Engine = {
  name: 'PostgreSQL',
  image: DB_BRANCH_IMAGES.pg,
  port: 5432,
  seed: (orders) => `
    CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, email text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE orders (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES users (id), amount_cents int NOT NULL,
      created_at timestamptz NOT NULL, note text NOT NULL);
    INSERT INTO users (name, email) SELECT 'user ' || i, 'user' || i || '@example.com' FROM generate_series(1, ${USERS}) i;
    INSERT INTO orders (user_id, amount_cents, created_at, note)
      SELECT i % ${USERS} + 1, i % 10000, timestamptz '2024-01-01' + i * interval '1 minute', md5(i::text) FROM generate_series(1, ${orders}) i;
    CREATE INDEX orders_user_idx ON orders (user_id);
    VACUUM ANALYZE users;
    VACUUM ANALYZE orders;
  `,
  sizeQuery: 'SELECT pg_database_size(current_database())',
  sizeHow: 'pg_database_size',
  client: {
    env: ['-e', `PGPASSWORD=${PASSWORD}`],
    command: ['psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-U', USER, '-d', DATABASE],
    sqlFlag: '-c',
  },
  shapeQuery: `SELECT (SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'), (SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_user_idx')`,
  byHand: (() => {
    const source = `pg_dump -h "$SRC" -U ${USER}`;
    const restore = `psql -X -q -v ON_ERROR_STOP=1 -h /tmp -U ${USER} -d ${DATABASE}`;
    return {
      schema: `${source} --schema-only ${DATABASE} | ${restore} >/dev/null`,
      all: `${source} ${DATABASE} | ${restore} >/dev/null`,
      filtered: [
        `${source} --section=pre-data ${DATABASE} | ${restore} >/dev/null`,
        `${source} --section=data --exclude-table-data=orders ${DATABASE} | ${restore} >/dev/null`,
        `psql -X -q -v ON_ERROR_STOP=1 -h "$SRC" -U ${USER} -d ${DATABASE} -c "COPY (SELECT * FROM orders WHERE $FILTER) TO STDOUT" | ${restore} -c 'COPY orders FROM STDIN'`,
        `${source} --section=post-data ${DATABASE} | ${restore} >/dev/null`,
      ].join('\n'),
    };
  })(),
  byHandEnv: ['-e', `PGPASSWORD=${PASSWORD}`],
};

const mariadb: Engine = {
  name: 'MariaDB',
  image: DB_BRANCH_IMAGES.mysql,
  port: 3306,
  seed: (orders) => `
    CREATE TABLE users (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, email varchar(200) NOT NULL UNIQUE,
      created_at timestamp NOT NULL DEFAULT current_timestamp);
    CREATE TABLE orders (id int AUTO_INCREMENT PRIMARY KEY, user_id int NOT NULL, amount_cents int NOT NULL, created_at datetime NOT NULL,
      note varchar(64) NOT NULL, INDEX orders_user_idx (user_id), CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id));
    INSERT INTO users (name, email) SELECT concat('user ', seq), concat('user', seq, '@example.com') FROM seq_1_to_${USERS};
    INSERT INTO orders (user_id, amount_cents, created_at, note)
      SELECT seq % ${USERS} + 1, seq % 10000, '2024-01-01' + INTERVAL seq MINUTE, md5(seq) FROM seq_1_to_${orders};
    ANALYZE TABLE users, orders;
  `,
  sizeQuery: 'SELECT sum(data_length + index_length) FROM information_schema.tables WHERE table_schema = DATABASE()',
  sizeHow: 'data_length + index_length',
  client: {
    env: ['-e', `MYSQL_PWD=${PASSWORD}`],
    command: ['mariadb', '--protocol=tcp', '-h', '127.0.0.1', '-u', USER, '--batch', '--skip-column-names', DATABASE],
    sqlFlag: '-e',
  },
  shapeQuery: `SELECT (SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()),
    (SELECT count(DISTINCT index_name) FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name = 'orders_user_idx')`,
  byHand: (() => {
    const source = `mariadb-dump --single-transaction -h "$SRC" -u ${USER}`;
    const restore = `mariadb -u ${USER} ${DATABASE}`;
    return {
      schema: `${source} --no-data ${DATABASE} | ${restore}`,
      all: `${source} ${DATABASE} | ${restore}`,
      filtered: [
        `${source} --no-data ${DATABASE} | ${restore}`,
        `${source} --no-create-info --ignore-table=${DATABASE}.orders ${DATABASE} | ${restore}`,
        `${source} --no-create-info --where="$FILTER" ${DATABASE} orders | ${restore}`,
      ].join('\n'),
    };
  })(),
  byHandEnv: ['-e', `MYSQL_PWD=${PASSWORD}`],
};

interface Started {
  id: string;
  /** ms from `docker run` to the ready file. */
  readyMs: number;
}

/** One mode's runs: ms, per counted round. */
interface ModeFigures {
  branch: number[];
  serverStart: number[];
  dumpRestore: number[];
}

interface EngineFigures {
  engine: Engine;
  orders: number;
  filtered: number;
  bytes: number;
  modes: Record<Mode, ModeFigures>;
}

const progress = (text: string) => process.stderr.write(`  · ${text}\n`);

/** Containers started and not yet removed: removed on an interruption too. */
const running = new Set<string>();

async function remove(id: string): Promise<void> {
  await run('docker', ['rm', '-f', id]).catch(() => undefined);
  running.delete(id);
}

/**
 * Waits for a container's line saying it is ready (its log followed: no polling load on the cores
 * the copy uses); a failure line or the container's end is an error carrying its log.
 */
function readyLine(id: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const follow = spawn('docker', ['logs', '-f', id], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      follow.kill();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => settle(new Error(`container ${id} not ready within ${READY_TIMEOUT_MS / 1000} s:\n${log}`)), READY_TIMEOUT_MS);
    const seen = (chunk: Buffer) => {
      log += chunk.toString();
      if (/^mirrord-db-branch: failed: /m.test(log)) settle(new Error(`container ${id} failed:\n${log}`));
      else if (/^mirrord-db-branch: ready /m.test(log)) settle();
    };
    follow.stdout.on('data', seen);
    follow.stderr.on('data', seen);
    follow.on('close', () => settle(new Error(`container ${id} ended before it was ready:\n${log}`)));
  });
}

/** `docker run` of the image with this environment, timed to its ready file's mtime. */
async function startTimed(engine: Engine, env: Record<string, string>): Promise<Started> {
  const args = ['run', '-d', '--label', 'mirrord-bench=db-branches', ...Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`]), engine.image];
  const began = Date.now();
  const id = (await run('docker', args)).stdout.trim();
  running.add(id);
  try {
    await readyLine(id);
    // The file's mtime: the kernel's clock, the one Date.now() reads (the engine runs on this machine).
    const mtime = Number((await run('docker', ['exec', id, 'stat', '-c', '%.9Y', DB_BRANCH_READY_FILE])).stdout.trim());
    const readyMs = mtime * 1000 - began;
    if (!(readyMs > 0 && readyMs <= Date.now() - began)) throw new Error(`container ${id}: its ready file's time (${mtime}) is outside the run`);
    return { id, readyMs };
  } catch (error) {
    await remove(id);
    throw error;
  }
}

async function query(engine: Engine, id: string, sql: string): Promise<string[][]> {
  const { env, command, sqlFlag } = engine.client;
  const { stdout } = await run('docker', ['exec', ...env, id, ...command, sqlFlag, sql], { timeoutMs: 120_000 });
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(/[|\t]/));
}

async function number(engine: Engine, id: string, sql: string): Promise<number> {
  return Number((await query(engine, id, sql))[0]?.[0]);
}

/** The copy is what the mode promises: a broken one ends the benchmark. */
async function check(engine: Engine, id: string, mode: Mode, expected: { orders: number; filtered: number }, what: string): Promise<void> {
  const [tables, indexes] = (await query(engine, id, engine.shapeQuery))[0]!.map(Number);
  const want = mode === 'empty' ? { tables: 0, indexes: 0 } : { tables: 2, indexes: 1 };
  const rows = mode === 'empty' ? undefined : (await query(engine, id, 'SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM orders)'))[0]!.map(Number);
  const wantRows = { empty: undefined, schema: [0, 0], all: [USERS, expected.orders], filtered: [USERS, expected.filtered] }[mode];
  if (tables !== want.tables || indexes !== want.indexes || JSON.stringify(rows) !== JSON.stringify(wantRows)) {
    throw new Error(
      `${engine.name} ${what}, mode ${mode}: ${tables} tables, ${indexes} orders_user_idx, rows (users, orders) ${JSON.stringify(rows)}; expected ${want.tables}, ${want.indexes}, ${JSON.stringify(wantRows)}`,
    );
  }
}

const credentials = { user: USER, password: PASSWORD, database: DATABASE };
const serverEnv = serverModeEnv(credentials);

/** Branch mode for the source at `host`: `filtered` is `all` with the orders through FILTER. */
function branchEnv(host: string, engine: Engine, mode: Mode): Record<string, string> {
  const source = { host, port: engine.port, ...credentials };
  return mode === 'filtered' ? branchModeEnv(source, 'all', [['orders', FILTER]]) : branchModeEnv(source, mode);
}

/** A branch of the source in this mode: ms to ready, the copy checked. */
async function branchRun(engine: Engine, source: string, mode: Mode, expected: { orders: number; filtered: number }): Promise<number> {
  const branch = await startTimed(engine, branchEnv(source, engine, mode));
  try {
    await check(engine, branch.id, mode, expected, 'branch');
    return branch.readyMs;
  } finally {
    await remove(branch.id);
  }
}

/** The same by hand: a fresh server (ms to ready), then the engine's dump | restore in it (ms), the copy checked. */
async function byHandRun(engine: Engine, source: string, mode: Mode, expected: { orders: number; filtered: number }) {
  const server = await startTimed(engine, serverEnv);
  try {
    let dumpRestore = 0;
    if (mode !== 'empty') {
      const script = `set -euo pipefail\nstarted=$EPOCHREALTIME\n${engine.byHand[mode]}\necho "$started $EPOCHREALTIME"`;
      const env = [...engine.byHandEnv, '-e', `SRC=${source}`, '-e', `FILTER=${FILTER}`];
      const { stdout } = await run('docker', ['exec', ...env, server.id, 'bash', '-c', script], { timeoutMs: READY_TIMEOUT_MS });
      const [started, ended] = stdout.trim().split('\n').pop()!.split(' ').map(Number);
      dumpRestore = (ended! - started!) * 1000;
    }
    await check(engine, server.id, mode, expected, 'by hand');
    return { serverStart: server.readyMs, dumpRestore };
  } finally {
    await remove(server.id);
  }
}

async function engineFigures(engine: Engine): Promise<EngineFigures> {
  const orders = ORDERS[engine.name];
  progress(`${engine.name}: starting the source, seeding ${count(USERS)} users and ${count(orders)} orders`);
  const source = await startTimed(engine, serverEnv);
  try {
    const { env, command } = engine.client;
    await run('docker', ['exec', '-i', ...env, source.id, ...command], { input: engine.seed(orders), timeoutMs: 600_000 });
    const address = (await run('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', source.id])).stdout.trim();
    const expected = {
      orders: await number(engine, source.id, 'SELECT count(*) FROM orders'),
      filtered: await number(engine, source.id, `SELECT count(*) FROM orders WHERE ${FILTER}`),
    };
    if (expected.orders !== orders) throw new Error(`${engine.name}: the source has ${expected.orders} orders, not ${orders}`);
    const bytes = await number(engine, source.id, engine.sizeQuery);
    progress(`${engine.name}: source at ${address}, ${fixed(bytes / 2 ** 20, 1)} MiB (${engine.sizeHow})`);
    const modes = Object.fromEntries(MODES.map((mode): [Mode, ModeFigures] => [mode, { branch: [], serverStart: [], dumpRestore: [] }])) as Record<
      Mode,
      ModeFigures
    >;
    for (let round = 0; round <= ROUNDS; round++) {
      progress(`${engine.name}: round ${round} of ${ROUNDS}${round === 0 ? ' (warm-up, not counted)' : ''}`);
      for (const mode of MODES) {
        const order = round % 2 ? (['by hand', 'branch'] as const) : (['branch', 'by hand'] as const);
        for (const way of order) {
          if (way === 'branch') {
            const ms = await branchRun(engine, address, mode, expected);
            progress(`${engine.name} ${mode}: branch ready after ${fixed(ms / 1000, 2)} s`);
            if (round) modes[mode].branch.push(ms);
          } else {
            const { serverStart, dumpRestore } = await byHandRun(engine, address, mode, expected);
            progress(`${engine.name} ${mode}: by hand ${fixed(serverStart / 1000, 2)} s server start + ${fixed(dumpRestore / 1000, 2)} s dump | restore`);
            if (round) {
              modes[mode].serverStart.push(serverStart);
              modes[mode].dumpRestore.push(dumpRestore);
            }
          }
        }
      }
    }
    return { engine, orders, filtered: expected.filtered, bytes, modes };
  } finally {
    await remove(source.id);
  }
}

async function main(): Promise<void> {
  const began = Date.now();
  const interrupted = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: removing the containers\n`);
    void Promise.all([...running].map(remove)).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const loadBefore = os.loadavg()[0]!;
  progress('building the images (when absent)');
  await dbBranchImagesReady();
  const figures = [await engineFigures(postgres), await engineFigures(mariadb)];
  const s = (ms: number) => `${fixed(ms / 1000, 2)} s`;
  console.log(
    `Database branches: time to a usable branch, median of ${ROUNDS} rounds after a warm-up, branch and by hand alternated (${os.cpus().length} cores; load average before the run ${fixed(loadBefore, 2)})`,
  );
  console.log(
    "branch: docker run to the ready file; by hand: a fresh server of the same image (docker run to its ready file), then the engine's dump | restore in it\n",
  );
  for (const { engine, orders, filtered, bytes } of figures) {
    console.log(
      `${engine.name} (${engine.image}): ${count(USERS)} users, ${count(orders)} orders (${count(filtered)} where ${FILTER}): ${fixed(bytes / 2 ** 20, 1)} MiB (${engine.sizeHow})`,
    );
  }
  console.log('');
  console.log(
    table(
      ['engine, copy mode', 'branch', 'by hand: server start', 'dump | restore', 'by hand', 'branch / by hand', 'branch rounds', 'by hand rounds'],
      figures.flatMap(({ engine, modes }) =>
        MODES.map((mode) => {
          const { branch, serverStart, dumpRestore } = modes[mode];
          const byHand = serverStart.map((start, i) => start + dumpRestore[i]!);
          return [
            `${engine.name}, ${MODE_NAMES[mode]}`,
            s(median(branch)),
            s(median(serverStart)),
            mode === 'empty' ? '—' : s(median(dumpRestore)),
            s(median(byHand)),
            `${fixed(median(branch) / median(byHand), 2)}×`,
            branch.map((ms) => fixed(ms / 1000, 1)).join(' / '),
            byHand.map((ms) => fixed(ms / 1000, 1)).join(' / '),
          ];
        }),
      ),
    ),
  );
  console.log(`\nwhole run: ${Math.round((Date.now() - began) / 1000)} s`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
