/**
 * decodeFrame under 100,000 random and mutated inputs: each must decode to a well-formed Frame
 * or be refused with a ProtocolError. The seed is fixed so runs are repeatable; set FUZZ_SEED to
 * try another (and FUZZ_COUNT for more cases). `npm run fuzz` runs the same generator longer.
 */
import { decodeFrame, MAX_FRAME } from './frame';
import { caseSeed, createRng, formatFailure, fuzz, generate, strategies } from '../test/fuzz';

const seed = process.env.FUZZ_SEED === undefined ? 0x5eed1234 : Number(process.env.FUZZ_SEED);
const count = process.env.FUZZ_COUNT === undefined ? 100_000 : Number(process.env.FUZZ_COUNT);

describe('fuzzing decodeFrame', () => {
  it('the generator is deterministic per seed and case', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 8 }, () => a.u32());
    expect(Array.from({ length: 8 }, () => b.u32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.u32())).not.toEqual(xs);
    for (const index of [0, 1, 999]) {
      expect(generate(caseSeed(seed, index))).toEqual(generate(caseSeed(seed, index)));
    }
    expect(caseSeed(seed, 0)).not.toBe(caseSeed(seed, 1));
  });

  it(`${count.toLocaleString('en-US')} inputs (seed ${seed}): each decodes to a well-formed frame or throws a ProtocolError`, () => {
    process.stdout.write(`fuzz seed ${seed} (set FUZZ_SEED=${seed} to reproduce)\n`);
    const result = fuzz(count, seed);
    const report = result.failures.map((failure) => formatFailure(seed, failure)).join('\n');
    expect(report).toBe('');
    expect(result.count).toBe(count);
    expect(result.decoded + result.rejected).toBe(count);
    // Every generator produced both outcomes (except pure noise, which almost never decodes),
    // and every frame kind was decoded: the inputs reach past the first checks.
    for (const strategy of strategies) expect(result.byStrategy[strategy].rejected).toBeGreaterThan(0);
    for (const strategy of ['header', 'mutated', 'json'] as const) expect(result.byStrategy[strategy].decoded).toBeGreaterThan(count / 100);
    for (const kind of Object.keys(result.byKind)) expect(result.byKind[kind]).toBeGreaterThan(count / 200);
  }, 120_000);

  it('a decoder fed the largest legal frame and one byte more stays within its contract', () => {
    const legal = Buffer.alloc(MAX_FRAME);
    const json = Buffer.from('{"type":"reply","id":1,"result":{}}');
    legal.writeUInt32BE(json.length, 1);
    json.copy(legal, 5);
    const frame = decodeFrame(legal);
    expect(frame.kind === 0 && frame.attachment?.length).toBe(MAX_FRAME - 5 - json.length);
    expect(() => decodeFrame(Buffer.concat([legal, Buffer.alloc(1)]))).toThrow(`exceeds the ${MAX_FRAME}-byte limit`);
  });
});
