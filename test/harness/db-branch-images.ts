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
