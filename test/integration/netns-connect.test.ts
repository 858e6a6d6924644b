/**
 * `--agent-netns`'s connection (cli/native/netns_connect.cc) is made off the JS thread: a sidecar
 * port that doesn't answer (here a namespace of the test's own whose firewall drops the SYN) costs
 * the connection timeout, while the CLI's event loop goes on (its session's other streams, its
 * other replicas, its heartbeats). And the CLI's own threads stay in the host's namespace.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { CliError } from '../../cli/errors';
import { connectInNetns, parseNetnsAgent } from '../../cli/transport/netns';
import { run } from '../harness/run';

jest.setTimeout(30_000);

const NAMESPACE = `mnc${process.pid}`;
const SILENT_PORT = 9;

beforeAll(async () => {
  await run('ip', ['netns', 'add', NAMESPACE]);
  await run('ip', ['-n', NAMESPACE, 'link', 'set', 'lo', 'up']);
  await run('ip', ['netns', 'exec', NAMESPACE, 'iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', String(SILENT_PORT), '-j', 'DROP']);
});

afterAll(async () => {
  await run('ip', ['netns', 'del', NAMESPACE]).catch(() => undefined);
});

it('a port that never answers: the connection times out while the event loop runs on, and no thread is left in the namespace', async () => {
  const before = readlinkSync('/proc/self/ns/net');
  let ticks = 0;
  const ticking = setInterval(() => ticks++, 50);
  const started = Date.now();
  let failure: unknown;
  try {
    await connectInNetns(parseNetnsAgent(`${NAMESPACE}:${SILENT_PORT}`));
  } catch (error) {
    failure = error;
  } finally {
    clearInterval(ticking);
  }
  const waitedMs = Date.now() - started;
  expect(failure).toBeInstanceOf(CliError);
  expect((failure as CliError).message).toBe(`cannot connect to 127.0.0.1:${SILENT_PORT} in the network namespace ${NAMESPACE}: connect: Connection timed out`);
  expect(waitedMs).toBeGreaterThanOrEqual(2900);
  // A 50 ms timer over about 3 s: a loop blocked for the connection would have ticked at most once.
  expect(ticks).toBeGreaterThan(10);
  for (const task of readdirSync('/proc/self/task')) {
    expect([task, readlinkSync(`/proc/self/task/${task}/ns/net`)]).toEqual([task, before]);
  }
});
