import { connectBroker } from './connect';
import type { RegisteredQueue } from './registry';

const secrets: Record<string, Record<string, string>> = { rabbit: { url: 'amqp://mirrord:pw@127.0.0.1:1\n' }, aws: { id: 'AKIA', secret: 's' } };
const readSecret = async (name: string, key: string) => secrets[name]?.[key];
const ref = (name: string, key: string) => ({ secretKeyRef: { name, key } });
const queue = (over: Partial<RegisteredQueue>): RegisteredQueue => ({
  queueType: 'RabbitMQ',
  nameSource: { envVar: 'Q' },
  broker: { url: ref('rabbit', 'url') },
  ...over,
});

describe("a registered queue's broker", () => {
  it('is reached with the URL its Secret holds, and a failure never shows the password', async () => {
    const failure = connectBroker('orders', queue({}), readSecret);
    await expect(failure).rejects.toThrow('RabbitMQ at amqp://mirrord:***@127.0.0.1:1: nothing listens there (connection refused)');
  });

  it('names the Secret and key that are missing, and what SQS needs besides', async () => {
    await expect(connectBroker('orders', queue({ broker: { url: ref('rabbit', 'uri') } }), readSecret)).rejects.toThrow(
      'queue "orders": broker.url: the Secret rabbit has no key uri',
    );
    const sqs = (broker: RegisteredQueue['broker']) => connectBroker('audit', queue({ queueType: 'SQS', broker }), readSecret);
    await expect(sqs({ url: ref('rabbit', 'url') })).rejects.toThrow('queue "audit": broker.region: an SQS queue needs its region');
    await expect(sqs({ url: ref('rabbit', 'url'), region: 'eu-west-1', accessKeyId: ref('aws', 'id') })).rejects.toThrow(
      'queue "audit": broker.accessKeyId and broker.secretAccessKey go together',
    );
    await expect(sqs({ url: ref('rabbit', 'url'), region: 'eu-west-1', accessKeyId: ref('aws', 'id'), secretAccessKey: ref('aws', 'nope') })).rejects.toThrow(
      'queue "audit": broker.secretAccessKey: the Secret aws has no key nope',
    );
  });
});
