/**
 * Real brokers for the queue-splitting tests, each in a container of an image built here
 * (test/images/, from Debian's packages: nothing is pulled) and started with testcontainers. The
 * Docker engine and the images are made ready on first use (test/setup-docker.sh,
 * test/images/build.sh); both outlive the run.
 */
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { packagePath } from '../../common/package-root';
import { run } from './run';

export interface RunningBroker {
  /** How a client reaches it, with its credentials. */
  url: string;
  /** Stops the broker (a test of a broker going down), keeping the container for start(). */
  container: StartedTestContainer;
  stop(): Promise<void>;
}

// testcontainers' reaper (Ryuk) is an image it would pull: the tests stop their containers themselves.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';

let ready: Promise<void> | undefined;

/** The Docker engine running and the test images built, once per process. */
export function dockerReady(): Promise<void> {
  ready ??= (async () => {
    await run('bash', [packagePath('test/setup-docker.sh')], { timeoutMs: 600_000 });
    await run('bash', [packagePath('test/images/build.sh')], { timeoutMs: 1_200_000 });
  })();
  return ready;
}

/** RabbitMQ (Debian's rabbitmq-server), user mirrord/mirrord. */
export async function startRabbitMq(): Promise<RunningBroker> {
  await dockerReady();
  const container = await new GenericContainer('mirrord-test-rabbitmq:local')
    .withExposedPorts(5672)
    .withWaitStrategy(Wait.forLogMessage(/Server startup complete/))
    .withStartupTimeout(180_000)
    .start();
  return {
    url: `amqp://mirrord:mirrord@${container.getHost()}:${container.getMappedPort(5672)}`,
    container,
    stop: async () => void (await container.stop()),
  };
}
