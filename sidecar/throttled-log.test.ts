import { createLogger } from '../common/log';
import { ThrottledLog } from './throttled-log';

describe('ThrottledLog', () => {
  it('writes the first lines of each second, and then how many it left out', () => {
    jest.useFakeTimers({ now: 10_000 });
    try {
      const lines: Record<string, unknown>[] = [];
      const throttled = new ThrottledLog(
        createLogger('info', {}, (line) => lines.push(JSON.parse(line) as Record<string, unknown>) > 0),
        3,
      );
      for (let i = 0; i < 100; i++) throttled.warn(`refused ${i}`);
      expect(lines.map((line) => line.msg)).toEqual(['refused 0', 'refused 1', 'refused 2']);
      jest.advanceTimersByTime(1000);
      expect(lines[3]).toMatchObject({ msg: '97 more like this were left out in one second (the last: refused 99)', suppressed: 97 });
      throttled.warn('a new second');
      expect(lines.map((line) => line.msg)).toHaveLength(5);
    } finally {
      jest.useRealTimers();
    }
  });
});
