/**
 * ElasticMQ (an SQS-compatible server, test/images/elasticmq), which takes any credentials. Its
 * port is published on a host port chosen first, which the server is told, so the queue URLs it
 * hands out reach it from here.
 */
import { GenericContainer, Wait } from 'testcontainers';
import { freePort } from '../free-port';
import { dockerReady, type RunningBroker } from './docker';

/** `host`: the address its queue URLs name (by default the container runtime's host). */
export async function startElasticMq(options: { host?: string } = {}): Promise<RunningBroker> {
  await dockerReady();
  const port = await freePort();
  const container = await new GenericContainer('mirrord-test-elasticmq:local')
    .withExposedPorts({ container: 9324, host: port })
    .withEnvironment({ ELASTICMQ_NODE_PORT: String(port), ...(options.host && { ELASTICMQ_NODE_HOST: options.host }) })
    .withWaitStrategy(Wait.forLogMessage(/ElasticMQ server .* started/))
    .withStartupTimeout(180_000)
    .start();
  return {
    url: `http://${options.host ?? container.getHost()}:${port}`,
    stop: async () => void (await container.stop()),
  };
}
