/** RabbitMQ (Debian's rabbitmq-server, test/images/rabbitmq), user mirrord/mirrord. */
import { GenericContainer, Wait } from 'testcontainers';
import { dockerReady, type RunningBroker } from './docker';

export async function startRabbitMq(): Promise<RunningBroker> {
  await dockerReady();
  const container = await new GenericContainer('mirrord-test-rabbitmq:local')
    .withExposedPorts(5672)
    .withWaitStrategy(Wait.forLogMessage(/Server startup complete/))
    .withStartupTimeout(180_000)
    .start();
  return {
    url: `amqp://mirrord:mirrord@${container.getHost()}:${container.getMappedPort(5672)}`,
    stop: async () => void (await container.stop()),
  };
}
