import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APP_CONTAINER_MARK } from '../common/pod-contract';
import { findAppProcess } from './app-container';

const children: ChildProcess[] = [];

/** A real process with exactly this environment. */
async function running(env: Record<string, string>): Promise<number> {
  const child = spawn('/bin/sleep', ['30'], { env, stdio: 'ignore' });
  children.push(child);
  await once(child, 'spawn');
  return child.pid!;
}

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

describe('findAppProcess', () => {
  it('finds the marked process with the fullest environment, and gives that environment without the mark', async () => {
    await running({ OTHER_CONTAINER: '1', A: '1', B: '2', C: '3' });
    await running({ [APP_CONTAINER_MARK]: 'true', PATH: '/usr/bin' });
    const app = await running({ [APP_CONTAINER_MARK]: 'true', PATH: '/usr/bin', FROM_ENTRYPOINT: 'exported' });
    const found = findAppProcess();
    expect(found).toEqual({ pid: app, env: { PATH: '/usr/bin', FROM_ENTRYPOINT: 'exported' } });
  });

  it('says no process of the app container runs when none is marked', () => {
    const found = findAppProcess(mkdtempSync(join(tmpdir(), 'proc-')));
    expect(found).toBeInstanceOf(Error);
    expect((found as Error).message).toMatch(/no process of the app container is running/);
  });
});
