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
});
