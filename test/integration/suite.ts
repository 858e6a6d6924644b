/** One pod (and one local server) per test file, torn down after it; sessions closed after each test. */
import { eventually } from '../harness/eventually';
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
  return eventually(async () => expect(await pod.net.natRules()).not.toContain('MIRRORD'), timeoutMs);
}
