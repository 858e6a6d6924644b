import { Budget, within } from './budget';

const settled = async (promise: Promise<void>) => {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('Budget', () => {
  it('lets work through while it fits, then in order as bytes come back', async () => {
    const budget = new Budget(10);
    expect(await settled(budget.take(6))).toBe(true);
    expect(await settled(budget.take(4))).toBe(true);
    const third = budget.take(3);
    const fourth = budget.take(1);
    expect(await settled(third)).toBe(false);
    budget.give(4); // 6 used: 3 fits, and 1 after it
    expect(await settled(third)).toBe(true);
    expect(await settled(fourth)).toBe(true);
  });

  it('keeps order: a small request does not overtake a waiting large one', async () => {
    const budget = new Budget(10);
    await budget.take(8);
    const large = budget.take(5);
    const small = budget.take(1);
    expect(await settled(small)).toBe(false);
    budget.give(8);
    expect(await settled(large)).toBe(true);
    expect(await settled(small)).toBe(true);
  });

  it('runs a request larger than the whole budget alone', async () => {
    const budget = new Budget(10);
    expect(await settled(budget.take(50))).toBe(true);
    const next = budget.take(1);
    expect(await settled(next)).toBe(false);
    budget.give(50);
    expect(await settled(next)).toBe(true);
  });

  it('within: runs a task once it fits and gives its units back however it ends', async () => {
    const budget = new Budget(1);
    let release!: () => void;
    const first = within(budget, 1, () => new Promise<void>((resolve) => (release = resolve)));
    const second = within(budget, 1, async () => 'second ran');
    expect(await settled(second.then(() => undefined))).toBe(false);
    release();
    await first;
    expect(await second).toBe('second ran');
    await expect(within(budget, 1, () => Promise.reject(new Error('failed')))).rejects.toThrow('failed');
    expect(await within(budget, 1, async () => 'still usable')).toBe('still usable');
  });

  it('a waiter whose signal aborts leaves the queue, and the others move up', async () => {
    const budget = new Budget(1);
    await budget.take(1);
    const leaving = new AbortController();
    const gone = budget.take(1, leaving.signal);
    const next = budget.take(1);
    leaving.abort(new Error('the session ended'));
    await expect(gone).rejects.toThrow('the session ended');
    budget.give(1);
    expect(await settled(next)).toBe(true);
    await expect(budget.take(1, leaving.signal)).rejects.toThrow('the session ended');
  });
});
