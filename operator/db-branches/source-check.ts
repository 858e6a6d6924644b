/**
 * What the operator checks on the source before it makes anything: that it can be reached with
 * the app's credentials, that its engine and major version are the branch image's, and that every
 * table filter is one valid SQL condition on a table that exists. Each filter is prepared (never
 * run) by the source's own parser, in a read-only transaction: a prepared statement can hold only
 * one statement, so a filter can't smuggle in another.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { DbBranchRequest, DbBranchType } from '../../protocol/db-branch';
import type { BranchSource } from './source';

const CONNECT_TIMEOUT_MS = 5_000;

/** The engine and version a branch image runs: PostgreSQL's major (`15`), MariaDB's major.minor (`10.11`). */
export interface BranchEngine {
  image: string;
  version: string;
}

/** Why a source failed its check: `unreachable` (nothing could be asked of it) or a config key to blame. */
export class SourceCheckError extends Error {
  constructor(
    readonly key: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

const ENGINE_NAME: Record<DbBranchType, string> = { pg: 'PostgreSQL', mysql: 'MariaDB' };

/** The version part a branch must match: PostgreSQL's major, MariaDB's major.minor. */
export function branchVersionOf(type: DbBranchType, version: string): string {
  const parts = version.split('.');
  return type === 'pg' ? parts[0]! : parts.slice(0, 2).join('.');
}

function quoteName(type: DbBranchType, table: string): string {
  const quote = type === 'pg' ? '"' : '`';
  return table
    .split('.')
    .map((part) => quote + part.split(quote).join(quote + quote) + quote)
    .join('.');
}

interface Asker {
  version(): Promise<{ text: string; number: string }>;
  /** Prepares `SELECT … WHERE (filter)` and throws the engine's message when it fails. */
  prepare(index: number, sql: string): Promise<void>;
  close(): Promise<void>;
}

async function pgAsker(source: BranchSource): Promise<Asker> {
  const client = new pg.Client({ ...connectionOf(source), connectionTimeoutMillis: CONNECT_TIMEOUT_MS, statement_timeout: CONNECT_TIMEOUT_MS });
  client.on('error', () => undefined);
  await client.connect();
  return {
    version: async () => {
      const { rows } = await client.query<{ server_version: string; server_version_num: string }>(
        "SELECT current_setting('server_version') AS server_version, current_setting('server_version_num') AS server_version_num",
      );
      const num = Number(rows[0]!.server_version_num);
      return { text: rows[0]!.server_version.split(' ')[0]!, number: `${Math.floor(num / 10000)}.${num % 10000}` };
    },
    prepare: async (index, sql) => {
      await client.query('BEGIN READ ONLY');
      try {
        // A named query is always prepared (the extended protocol): one statement, not run.
        await client.query({ name: `mirrord-filter-${index}`, text: sql });
      } finally {
        await client.query('ROLLBACK').catch(() => undefined);
      }
    },
    close: () => client.end(),
  };
}

async function mysqlAsker(source: BranchSource): Promise<Asker> {
  const connection = await mysql.createConnection({ ...connectionOf(source), connectTimeout: CONNECT_TIMEOUT_MS, multipleStatements: false });
  connection.on('error', () => undefined);
  return {
    version: async () => {
      const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT VERSION() AS version');
      const text = String(rows[0]!.version);
      if (!/mariadb/i.test(text)) throw new SourceCheckError('type', `the source runs MySQL ${text}; mysql branches run MariaDB, and need a MariaDB source`);
      return { text: text.split('-')[0]!, number: text.split('-')[0]! };
    },
    prepare: async (_index, sql) => {
      await connection.query('START TRANSACTION READ ONLY');
      try {
        // prepare() parses and checks the statement (tables, columns) without running it.
        const statement = await connection.prepare(sql);
        await statement.close();
      } finally {
        await connection.query('ROLLBACK').catch(() => undefined);
      }
    },
    close: () => connection.end(),
  };
}

function connectionOf(source: BranchSource) {
  return { host: source.host, port: source.port, user: source.user, password: source.password, database: source.database };
}

/**
 * The source as the operator reaches it: a one-label host name (`db`) is the app's namespace's
 * Service, which the operator, in a namespace of its own, must name in full.
 */
export function reachedFrom(source: BranchSource, namespace: string): BranchSource {
  return source.host.includes('.') || source.host.includes(':') ? source : { ...source, host: `${source.host}.${namespace}.svc` };
}

/** Checks a branch's source (in the app's `namespace`); the engine version it runs, or a SourceCheckError. */
export async function checkSource(request: DbBranchRequest, appSource: BranchSource, engine: BranchEngine, namespace: string): Promise<string> {
  const engineName = ENGINE_NAME[request.type];
  const source = reachedFrom(appSource, namespace);
  let asker: Asker;
  try {
    asker = await (request.type === 'pg' ? pgAsker(source) : mysqlAsker(source));
  } catch (error) {
    const what = refusedLogin(error) ? 'refused the credentials' : 'could not be reached';
    throw new SourceCheckError(undefined, `the source database at ${source.host}:${source.port} ${what}: ${reason(error)}`);
  }
  try {
    let version;
    try {
      version = await asker.version();
    } catch (error) {
      if (error instanceof SourceCheckError) throw error;
      throw new SourceCheckError(undefined, `the source database at ${source.host}:${source.port} did not say its version: ${reason(error)}`);
    }
    const branchVersion = branchVersionOf(request.type, version.number);
    if (request.version !== undefined && branchVersionOf(request.type, request.version) !== branchVersion) {
      throw new SourceCheckError('version', `${request.version}, but the source runs ${engineName} ${version.text}`);
    }
    if (branchVersion !== engine.version) {
      throw new SourceCheckError(
        request.version === undefined ? undefined : 'version',
        `the source runs ${engineName} ${version.text}, and this operator makes ${engineName} ${engine.version} branches only`,
      );
    }
    let index = 0;
    for (const [table, { filter }] of Object.entries(request.copy.tables ?? {})) {
      const sql = `SELECT * FROM ${quoteName(request.type, table)}${filter?.trim() ? ` WHERE (${filter})` : ''} LIMIT 0`;
      try {
        await asker.prepare(index++, sql);
      } catch (error) {
        throw new SourceCheckError(`copy.tables.${table}${filter?.trim() ? '.filter' : ''}`, `${engineName} refuses it: ${reason(error)}`);
      }
    }
    return version.text;
  } finally {
    await asker.close().catch(() => undefined);
  }
}

/** The server answered and refused the user, its password or the database (PostgreSQL's SQLSTATE class 28 and 3D000; MariaDB's 1044, 1045, 1049). */
function refusedLogin(error: unknown): boolean {
  const { code, errno } = error as { code?: string; errno?: number };
  return (typeof code === 'string' && (code.startsWith('28') || code === '3D000')) || errno === 1044 || errno === 1045 || errno === 1049;
}

function reason(error: unknown): string {
  const { message, code } = error as { message?: string; code?: string };
  return (message || code || String(error)).split('\n')[0]!;
}
