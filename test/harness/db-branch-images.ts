/**
 * The database branch images (operator/db-branch-images: mirrord-db-branch-postgres:15 and
 * mirrord-db-branch-mysql:10.11), built once per process with the Docker engine started if needed
 * (test/setup-docker.sh); their archives for a cluster's containerd are saved under build/ too.
 * Both outlive the run.
 */
import { dirname, join } from 'node:path';
import { packagePath } from '../../common/package-root';
import { dockerReady } from './brokers/docker';
import { run } from './run';

export const DB_BRANCH_IMAGES = { pg: 'mirrord-db-branch-postgres:15', mysql: 'mirrord-db-branch-mysql:10.11' } as const;

/** The file a branch container creates once its database is copied and its user can connect. */
export const DB_BRANCH_READY_FILE = '/tmp/mirrord-branch-ready';

let ready: Promise<string[]> | undefined;

/** The images built (and the paths of their archives), once per process. */
export function dbBranchImagesReady(): Promise<string[]> {
  ready ??= (async () => {
    await dockerReady();
    const { stdout } = await run(
      'bash',
      [packagePath('operator/db-branch-images/build.sh'), join(dirname(packagePath('package.json')), 'build/db-branch-images')],
      {
        timeoutMs: 1_200_000,
      },
    );
    return stdout.trim().split('\n');
  })();
  return ready;
}

/** A database as a branch image's contract names it. */
export interface BranchDatabase {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** The variables of server mode: a fresh database of this user (operator/db-branch-images/README.md). */
export function serverModeEnv({ user, password, database }: Pick<BranchDatabase, 'user' | 'password' | 'database'>): Record<string, string> {
  return { MIRRORD_DB_USER: user, MIRRORD_DB_PASSWORD: password, MIRRORD_DB_DATABASE: database };
}

/** The variables of branch mode: the source, the copy mode, and the tables copied through a filter. */
export function branchModeEnv(source: BranchDatabase, mode: string, tables: [string, string][] = []): Record<string, string> {
  const env: Record<string, string> = {
    MIRRORD_BRANCH_SOURCE_HOST: source.host,
    MIRRORD_BRANCH_SOURCE_PORT: String(source.port),
    MIRRORD_BRANCH_SOURCE_USER: source.user,
    MIRRORD_BRANCH_SOURCE_PASSWORD: source.password,
    MIRRORD_BRANCH_SOURCE_DATABASE: source.database,
    MIRRORD_BRANCH_COPY_MODE: mode,
    MIRRORD_BRANCH_TABLE_COUNT: String(tables.length),
  };
  tables.forEach(([name, filter], i) => {
    env[`MIRRORD_BRANCH_TABLE_${i}_NAME`] = name;
    env[`MIRRORD_BRANCH_TABLE_${i}_FILTER`] = filter;
  });
  return env;
}
