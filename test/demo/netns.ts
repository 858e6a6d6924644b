/**
 * The demo: a pod (network namespaces on this machine) running an app with the mirrord
 * sidecar, and a "laptop" process that attaches to the sidecar and takes over the pod's
 * traffic, reaches a service only the pod can reach, and reads the pod's files and env.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { forwardIncoming, APP_PORT, TestPod } from '../harness/pod';
import { SERVICE_NAME } from '../harness/netns';

const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const step = (text: string) => console.log(`\n${bold('▸')} ${text}`);
const show = (label: string, text: string) => console.log(`  ${label.padEnd(26)} ${text.trim()}`);

async function main(): Promise<void> {
  step('Starting a pod: an HTTP app on :8080 with the mirrord sidecar beside it (network namespaces)');
  const pod = await TestPod.start();
  const local = http.createServer((req, res) => res.end(`hello from your laptop: ${req.method} ${req.url}\n`));
  try {
    await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
    show('another workload asks:', (await pod.request('/hello')).body);

    step(`Attaching to the sidecar (${pod.agentCommand})`);
    const started = Date.now();
    const session = await pod.connect({ client: 'demo' });
    show('attached in:', `${Date.now() - started} ms, session ${session.info.sessionId}, pod ${session.info.pod.name}`);

    step('Stealing requests with header "x-debug: me" on port 8080; the rest still reach the app');
    forwardIncoming(session, (local.address() as AddressInfo).port);
    await session.subscribe({ port: APP_PORT, mode: 'steal', filter: { header: '^x-debug: me$' } });
    show('with the header:', (await pod.request('/hello', { 'x-debug': 'me' })).body);
    show('without it:', (await pod.request('/hello')).body);

    step(`Reaching ${SERVICE_NAME}:7000, a service only the pod can reach`);
    const { stream, remote } = await session.connect('tcp', SERVICE_NAME, 7000);
    const echoed = new Promise<string>((resolve) => stream.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    stream.write('ping from the laptop');
    show(`echo from ${remote.address}:`, await echoed);
    stream.end();

    step("Reading the pod's files and environment");
    show('/etc/config/app.yaml:', (await session.readFile('/etc/config/app.yaml')).toString());
    show('GREETING:', (await session.env()).GREETING ?? '(unset)');

    step('Detaching: the sidecar removes its rules, the app gets all traffic again');
    session.close();
    await session.closed();
    await pod.closeClients();
    show('another workload asks:', (await pod.request('/hello', { 'x-debug': 'me' })).body);
    show('nat rules of mirrord left:', (await pod.net.natRules()).includes('MIRRORD') ? 'some (bug!)' : 'none');
  } finally {
    local.close();
    await pod.stop();
  }
  console.log(`\n${bold('Done.')} The same session runs under \`mirrord attach\` for any local program:`);
  console.log('  mirrord attach deploy/NAME -- <your command>    # npm run demo brings up a cluster to try it on');
  console.log('  mirrord --help');
}

main().catch((error: Error) => {
  console.error(`demo failed: ${error.message}`);
  process.exit(1);
});
