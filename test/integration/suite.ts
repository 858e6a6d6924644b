/** One pod (and one local server) per test file, torn down after it; sessions closed after each test. */
import { spawn, type ChildProcess } from 'node:child_process';
import { startLayerProxy, type LayerOptions, type LayerProxy } from '../../intproxy/proxy';
import { createLogger } from '../../common/log';
import { podFsRights } from '../../intproxy/fs-policy';
import { eventually } from '../harness/eventually';
import { SERVICE_IP, SERVICE_NAME } from '../harness/netns';
import { startLocalServer, TestPod } from '../harness/pod';

export interface PodSuite {
  pod: TestPod;
  local: Awaited<ReturnType<typeof startLocalServer>>;
}

export function podSuite(): PodSuite {
  const suite = {} as PodSuite;
  beforeAll(async () => {
    suite.pod = await TestPod.start();
    suite.local = await startLocalServer();
  });
  afterEach(() => suite.pod.closeClients());
  afterAll(async () => {
    suite.local?.close();
    await suite.pod?.stop();
  });
  return suite;
}

/** Waits until the pod's nat table holds no rule of mirrord's: every session's rules are gone. */
export function noRulesLeft(pod: TestPod, timeoutMs?: number): Promise<void> {
  return eventually(async () => expect(await pod.sidecarRules()).toEqual([]), timeoutMs);
}

export const LAYER_DEFAULTS: LayerOptions = {
  incoming: { mode: 'steal', portMapping: [], ignorePorts: [] },
  outgoing: { tcp: true, udp: true },
  dns: true,
  fs: { mode: 'read' },
};

export interface ProgramResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** A pod suite whose tests run real programs under the layer, with the proxy the CLI would start. */
export interface LayerSuite extends PodSuite {
  /** Opens a session and starts the local proxy for it, in place of the test's previous one (closed after the test). */
  attach(options?: Partial<LayerOptions>): Promise<LayerProxy>;
  /** Starts a program under the layer. */
  spawn(command: string, args: string[], cwd?: string): ChildProcess;
  /** Runs a program under the layer to its end. */
  run(command: string, args: string[], cwd?: string): Promise<ProgramResult>;
}

export function layerSuite(): LayerSuite {
  const suite = podSuite() as LayerSuite;
  let proxy: LayerProxy | undefined;
  const children = new Set<ChildProcess>();
  afterEach(async () => {
    for (const child of children) child.kill('SIGKILL');
    children.clear();
    await proxy?.close();
    proxy = undefined;
  });
  suite.attach = async (options = {}) => {
    await proxy?.close();
    const layer = { ...LAYER_DEFAULTS, ...options };
    const client = await suite.pod.connect({ fs: podFsRights(layer.fs) });
    proxy = await startLayerProxy(client, layer, createLogger('warn'));
    return proxy;
  };
  suite.spawn = (command, args, cwd) => {
    if (!proxy) throw new Error('attach() first');
    const child = spawn(command, args, { env: { ...process.env, ...proxy.env }, cwd });
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  };
  suite.run = (command, args, cwd) =>
    new Promise((resolve) => {
      const child = suite.spawn(command, args, cwd);
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ stdout, stderr, code }));
    });
  return suite;
}

/** The arguments of test/fixtures/probe.c for the pod harness, and what it prints when every call it makes was the pod's. */
export const PROBE_ARGS = [SERVICE_NAME, '7080', '/etc/config/app.yaml'];
export const PROBE_OUTPUT = [
  `getaddrinfo: ${SERVICE_IP} port 7080`,
  `getpeername: ${SERVICE_IP}:7080`,
  'response: svc GET /probe',
  'getsockname: port 9099',
  'read: greeting: hello from the pod',
  'stat: size 29 regular 1',
  '',
].join('\n');
