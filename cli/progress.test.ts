import { createProgress } from './progress';

describe('progress lines', () => {
  it('prints steps and the proxy\'s info as "mirrord: …" lines; --quiet keeps only warnings and errors', () => {
    for (const quiet of [false, true]) {
      const lines: string[] = [];
      const progress = createProgress(quiet, (text) => void lines.push(text), false);
      progress.step('connecting…');
      progress.logger.info('subscribed port 80 (steal) -> local port 40000');
      progress.logger.debug('noise');
      progress.logger.child({ port: 80 }).warn('could not subscribe');
      progress.warn('the session ended');
      const loud = ['mirrord: connecting…\n', 'mirrord: subscribed port 80 (steal) -> local port 40000\n'];
      expect(lines).toEqual([...(quiet ? [] : loud), 'mirrord: warning: could not subscribe port=80\n', 'mirrord: warning: the session ended\n']);
    }
  });

  it('on a terminal, spins the running step and marks it ✓ when the next starts, ✗ when it failed', () => {
    const out: string[] = [];
    const progress = createProgress(false, (text) => void out.push(text), false, true);
    progress.step('resolving deploy/app…');
    progress.step('connecting…');
    progress.warn('slow');
    progress.done(false);
    progress.done();
    const text = out.join('');
    expect(text).toContain('\r\x1b[K✓ mirrord: resolving deploy/app…\n');
    expect(text).toContain('mirrord: warning: slow\n');
    expect(text.endsWith('\r\x1b[K✗ mirrord: connecting…\n')).toBe(true);
  });
});
