/**
 * `sessions.kill` (what `mirrord sessions kill` sends): one client ends another's session; the
 * ended client learns who did it (close code 4006), its rules leave the pod at once, and the
 * pod's clients are answered by the app again.
 */
import { noRulesLeft, podSuite } from './suite';
import { forwardIncoming, APP_PORT } from '../harness/pod';

jest.setTimeout(60_000);

describe('sessions.kill', () => {
  const suite = podSuite();

  it('ends the other session with 4006 and removes its rules', async () => {
    const victim = await suite.pod.connect({ client: 'victim' });
    forwardIncoming(victim, suite.local.port);
    await victim.subscribe({ port: APP_PORT, mode: 'steal' });
    expect((await suite.pod.request('/stolen')).body).toBe('local GET /stolen body=0\n');
    const closing = new Promise<number>((resolve) => victim.peer.on('close', (code: number) => resolve(code)));

    const operator = await suite.pod.connect({ client: 'operator' });
    await expect(operator.call('sessions.kill', { id: victim.info.sessionId })).resolves.toEqual({ result: {}, attachment: undefined });
    // The reply comes once the victim's rules are gone.
    expect(await suite.pod.net.natRules()).not.toContain(`--dport ${APP_PORT} -j REDIRECT`);
    expect(await closing).toBe(4006);
    expect(await victim.closed()).toBe('EKILLED: ended by mirrord sessions kill from operator');
    expect((await suite.pod.request('/after')).body).toBe('app GET /after body=0\n');

    const { sessions } = (await operator.call('sessions', {})).result;
    expect(sessions.map((s) => s.id)).toEqual([operator.info.sessionId]);
    operator.close();
    await noRulesLeft(suite.pod);
  });

  it('refuses an unknown id and leaves the session going', async () => {
    const operator = await suite.pod.connect({ client: 'operator' });
    await expect(operator.call('sessions.kill', { id: 'nosuchid' })).rejects.toMatchObject({ code: 'EINVAL', message: 'no session nosuchid on this sidecar' });
    expect((await operator.call('sessions', {})).result.sessions).toHaveLength(1);
    operator.close();
    await operator.closed();
  });
});
