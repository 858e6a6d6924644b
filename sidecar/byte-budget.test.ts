import { ByteBudget } from './byte-budget';

const settled = async (promise: Promise<void>) => {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('ByteBudget', () => {
  it('lets work through while it fits, then in order as bytes come back', async () => {
    const budget = new ByteBudget(10);
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
    const budget = new ByteBudget(10);
    await budget.take(8);
    const large = budget.take(5);
    const small = budget.take(1);
    expect(await settled(small)).toBe(false);
    budget.give(8);
    expect(await settled(large)).toBe(true);
    expect(await settled(small)).toBe(true);
  });

  it('runs a request larger than the whole budget alone', async () => {
    const budget = new ByteBudget(10);
    expect(await settled(budget.take(50))).toBe(true);
    const next = budget.take(1);
    expect(await settled(next)).toBe(false);
    budget.give(50);
    expect(await settled(next)).toBe(true);
  });
});
