import { createLogger } from '../common/log';
import { ThrottledLog } from './throttled-log';

describe('ThrottledLog', () => {
  it('writes the first lines of each second, and how many it left out with the next one', () => {
    const lines: Record<string, unknown>[] = [];
    const throttled = new ThrottledLog(
      createLogger('info', {}, (line) => lines.push(JSON.parse(line) as Record<string, unknown>) > 0),
      3,
    );
    const now = jest.spyOn(Date, 'now').mockReturnValue(10_000);
    for (let i = 0; i < 100; i++) throttled.warn(`refused ${i}`);
    expect(lines.map((line) => line.msg)).toEqual(['refused 0', 'refused 1', 'refused 2']);
    now.mockReturnValue(11_000);
    throttled.warn('refused again');
    expect(lines[3]).toMatchObject({ msg: 'refused again', suppressedBefore: 97 });
    throttled.warn('and once more');
    expect(lines[4]).not.toHaveProperty('suppressedBefore');
    now.mockRestore();
  });
});
