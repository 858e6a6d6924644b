import { runCommand } from './run-command';

describe("running the user's command", () => {
  it('reports its exit code, or 128 + the signal that ended it', async () => {
    expect(await runCommand(['true'], process.env)).toBe(0);
    expect(await runCommand(['sh', '-c', 'exit 3'], process.env)).toBe(3);
    expect(await runCommand(['sh', '-c', 'kill -KILL $$'], process.env)).toBe(128 + 9);
  });

  it('gives it exactly the environment it is handed', async () => {
    expect(await runCommand(['sh', '-c', 'test "$ONLY_HERE" = yes'], { ...process.env, ONLY_HERE: 'yes' })).toBe(0);
  });

  it("explains a command that cannot be found, with the shell's exit code", async () => {
    await expect(runCommand(['no-such-program-here'], process.env)).rejects.toMatchObject({
      message: 'cannot run "no-such-program-here": command not found',
      exitCode: 127,
    });
  });

  it('ends the command when asked to stop', async () => {
    const stop = new AbortController();
    const running = runCommand(['sleep', '30'], process.env, stop.signal);
    stop.abort();
    expect(await running).toBe(128 + 15);
  });

  it('stops forwarding signals once the command has ended', async () => {
    const before = process.listenerCount('SIGTERM');
    await runCommand(['true'], process.env);
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});
