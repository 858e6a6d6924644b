import { QUIET_MS, RepeatedNotices } from './repeated-notices';

describe('the sidecar notices the user reads', () => {
  it('are said once, then again after a quiet spell with how many came meanwhile', () => {
    let now = 0;
    const said: string[] = [];
    const notices = new RepeatedNotices(
      (level, text) => said.push(`${level} ${text}`),
      () => now,
    );
    notices.tell('warn', 'pod a: cut off');
    notices.tell('warn', 'pod a: cut off');
    notices.tell('warn', 'pod b: cut off');
    now += QUIET_MS - 1;
    notices.tell('warn', 'pod a: cut off');
    now += 1;
    notices.tell('warn', 'pod a: cut off');
    notices.tell('info', 'pod a: other');
    expect(said).toEqual(['warn pod a: cut off', 'warn pod b: cut off', 'warn pod a: cut off (2 more times since it was last said)', 'info pod a: other']);
  });
});
