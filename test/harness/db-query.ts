/** One SQL statement on a PostgreSQL or MariaDB database, over a connection of its own, as the tests and their apps ask. */
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { BranchDatabase } from './db-branch-images';

/** The statement's rows; a MariaDB statement without rows answers `[{ id: insertId }]`, as `INSERT … RETURNING id` does in PostgreSQL. */
export async function queryDatabase(type: 'pg' | 'mysql', at: BranchDatabase, sql: string): Promise<Record<string, unknown>[]> {
  // Only these: mysql2 warns of any other option.
  const { host, port, user, password, database } = at;
  if (type === 'pg') {
    const client = new pg.Client({ host, port, user, password, database });
    await client.connect();
    try {
      return (await client.query(sql)).rows as Record<string, unknown>[];
    } finally {
      await client.end();
    }
  }
  const connection = await mysql.createConnection({ host, port, user, password, database });
  try {
    const [result] = await connection.query(sql);
    return Array.isArray(result) ? (result as Record<string, unknown>[]) : [{ id: (result as mysql.ResultSetHeader).insertId }];
  } finally {
    await connection.end();
  }
}
