/**
 * The Docker engine and the test images the broker and database tests start with
 * testcontainers (test/images/, built from Debian's packages and Maven Central: nothing is
 * pulled), made ready on first use (test/setup-docker.sh, test/images/build.sh); both outlive
 * the run.
 */
import { packagePath } from '../../../common/package-root';
import { run } from '../run';

// testcontainers' reaper (Ryuk) is an image it would pull: the tests stop their containers themselves.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

/** A broker in a container, as a test reaches it. */
export interface RunningBroker {
  /** How a client reaches it (with its credentials, where it has some). */
  url: string;
  stop(): Promise<void>;
}

let ready: Promise<void> | undefined;

/** The Docker engine running and the test images built, once per process. */
export function dockerReady(): Promise<void> {
  ready ??= (async () => {
    await run('bash', [packagePath('test/setup-docker.sh')], { timeoutMs: 600_000 });
    await run('bash', [packagePath('test/images/build.sh')], { timeoutMs: 1_200_000 });
  })();
  return ready;
}
