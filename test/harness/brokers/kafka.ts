/**
 * Apache Kafka (a single KRaft node, test/images/kafka): PLAINTEXT for `url` (bootstrap
 * host:port), SASL/PLAIN with user mirrord/mirrord for `saslUrl`. Kafka tells its clients the
 * address to reach it by, so the container is told the host ports it is published on: ports
 * picked free here before it starts, not mapped at random.
 */
import { createServer } from 'node:net';
import { GenericContainer, Wait, getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import { dockerReady, type RunningBroker } from './docker';

export interface RunningKafka extends RunningBroker {
  /** kafka://mirrord:mirrord@host:port, the SASL/PLAIN listener. */
  saslUrl: string;
}

/** `host`: the address Kafka tells its clients (by default the container runtime's host). */
export async function startKafka(options: { host?: string } = {}): Promise<RunningKafka> {
  await dockerReady();
  const host = options.host ?? (await getContainerRuntimeClient()).info.containerRuntime.host;
  // A port picked free can be taken before the container binds it: then again with others.
  for (let attempt = 1; ; attempt++) {
    const [plain, sasl] = await Promise.all([freePort(), freePort()]);
    let container: StartedTestContainer;
    try {
      container = await new GenericContainer('mirrord-test-kafka:local')
        .withExposedPorts({ container: 9092, host: plain }, { container: 9094, host: sasl })
        .withEnvironment({ KAFKA_ADVERTISED: `${host}:${plain}`, KAFKA_ADVERTISED_SASL: `${host}:${sasl}` })
        .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
        .withStartupTimeout(180_000)
        .start();
    } catch (error) {
      if (attempt < 3 && /address already in use|port is already allocated/i.test(String(error))) continue;
      throw error;
    }
    return {
      url: `${host}:${plain}`,
      saslUrl: `kafka://mirrord:mirrord@${host}:${sasl}`,
      stop: async () => void (await container.stop()),
    };
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
