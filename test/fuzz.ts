/**
 * Fuzzing of decodeFrame: random bytes, random headers, valid frames with bit flips, truncations,
 * extensions and splices, and random JSON envelopes. Every input must either decode to a
 * well-formed Frame or be refused with a ProtocolError; any other outcome is a failure.
 *
 * Each case has its own PRNG, seeded from the run's seed and the case's index, so a failure
 * reproduces from (seed, index) alone.
 *
 *   npm run fuzz [count=1000000] [seed]
 */
import { ProtocolError } from '../protocol/errors';
import { decodeFrame, encodeControl, encodeCredit, encodeData, encodeEnd, encodeReset, FrameKind, MAX_DATA, MAX_FRAME, type Frame } from '../protocol/frame';
import { envelope } from '../protocol/messages';

// ---------------------------------------------------------------------------------------------
// PRNG

export interface Rng {
  /** Uniform 32-bit unsigned integer. */
  u32(): number;
  /** Integer in [0, n). */
  below(n: number): number;
  /** Integer in [min, max]. */
  between(min: number, max: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  bytes(n: number): Buffer;
}

/** sfc32, seeded through splitmix32: small, fast, and good enough to fuzz with. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const splitmix = () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = splitmix();
  const u32 = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) u32();
  /** n at most 2^32. */
  const below = (n: number) => (n <= 1 ? 0 : Math.floor((u32() / 0x100000000) * n));
  return {
    u32,
    below,
    between: (min, max) => min + below(max - min + 1),
    chance: (p) => u32() / 0x100000000 < p,
    pick: (items) => items[below(items.length)],
    bytes: (n) => {
      const buf = Buffer.allocUnsafe(n);
      let i = 0;
      for (; i + 4 <= n; i += 4) buf.writeUInt32LE(u32(), i);
      for (; i < n; i++) buf[i] = u32() & 0xff;
      return buf;
    },
  };
}

/** The seed of case `index` of a run seeded with `seed`. */
export function caseSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Generators

export const strategies = ['random', 'header', 'mutated', 'json'] as const;
export type Strategy = (typeof strategies)[number];

const INTERESTING_WORDS = [0, 1, 2, 3, 4, 5, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
const WEIRD_STRINGS = [
  '',
  ' ',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'request',
  'reply',
  'error',
  'event',
  'hello',
  'fs.read',
  'incoming',
  'notice',
  'EPROTO',
  '\u0000',
  '\ud800',
  '\udfff',
  '\ud83d\ude00',
  'é',
  '€',
  '\u2028',
  '\ufeff',
  '../..',
  '%s%n',
  '{"type":"reply"}',
];

function word(rng: Rng): number {
  return rng.chance(0.5) ? rng.pick(INTERESTING_WORDS) : rng.chance(0.5) ? rng.between(1, 64) : rng.u32();
}

function randomString(rng: Rng, max = 24): string {
  if (rng.chance(0.3)) return rng.pick(WEIRD_STRINGS);
  const length = rng.below(max + 1);
  let text = '';
  for (let i = 0; i < length; i++) {
    const r = rng.below(100);
    if (r < 70) text += String.fromCharCode(rng.between(0x20, 0x7e));
    else if (r < 80) text += String.fromCharCode(rng.below(0x20));
    else if (r < 90) text += String.fromCharCode(rng.between(0x80, 0xffff));
    else text += rng.pick(WEIRD_STRINGS);
  }
  return text;
}

function randomNumber(rng: Rng): number {
  switch (rng.below(10)) {
    case 0:
      return rng.pick([0, -0, 1, -1, 0.5, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, 5e-324, 65535, 65536]);
    case 1:
      return (rng.u32() / 0x100000000) * 10 ** rng.between(-5, 20) * (rng.chance(0.5) ? 1 : -1);
    case 2:
      return -rng.between(1, 1000);
    default:
      return rng.between(0, rng.chance(0.7) ? 100 : 0xffffffff);
  }
}

function randomJson(rng: Rng, depth = 0): unknown {
  const r = rng.below(depth > 3 ? 6 : 10);
  switch (r) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
    case 3:
      return randomNumber(rng);
    case 4:
    case 5:
      return randomString(rng);
    case 6:
    case 7:
      return Array.from({ length: rng.below(5) }, () => randomJson(rng, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      const keys = rng.below(6);
      for (let i = 0; i < keys; i++) object[randomString(rng, 8)] = randomJson(rng, depth + 1);
      return object;
    }
  }
}

/** A sometimes-valid value for an envelope field. */
function field(rng: Rng, valid: () => unknown): unknown {
  return rng.chance(0.8) ? valid() : randomJson(rng, 2);
}

/** An envelope that is valid most of the time and subtly wrong the rest. */
function randomEnvelope(rng: Rng): Record<string, unknown> {
  const type = rng.chance(0.9) ? rng.pick(['request', 'reply', 'error', 'event'] as const) : randomString(rng, 10);
  const id = () => (rng.chance(0.85) ? rng.between(1, rng.chance(0.5) ? 100 : 2 ** 31) : randomNumber(rng));
  const message: Record<string, unknown> = { type };
  switch (type) {
    case 'request':
      message.id = field(rng, id);
      message.method = field(rng, () => (rng.chance(0.7) ? rng.pick(['hello', 'env', 'connect', 'fs.read', 'subscribe']) : randomString(rng)));
      message.params = randomJson(rng, 1);
      break;
    case 'reply':
      message.id = field(rng, id);
      message.result = randomJson(rng, 1);
      break;
    case 'error':
      if (rng.chance(0.7)) message.id = field(rng, id);
      message.code = field(rng, () => rng.pick(['ENOENT', 'EVERSION', 'EPROTO', 'EINVAL', 'EXDEV']));
      message.message = field(rng, () => randomString(rng, 40));
      break;
    case 'event':
      message.event = field(rng, () => rng.pick(['incoming', 'notice', 'future']));
      message.data = randomJson(rng, 1);
      break;
    default:
      message.id = id();
  }
  // Drop a field, or add unknown ones.
  if (rng.chance(0.1)) delete message[rng.pick(Object.keys(message))];
  if (rng.chance(0.2)) message[randomString(rng, 8)] = randomJson(rng, 2);
  return message;
}

/** A frame that decodeFrame should accept. */
function validFrame(rng: Rng): Buffer {
  const stream = rng.chance(0.8) ? rng.between(1, 64) : rng.between(1, 0xffffffff);
  switch (rng.below(5)) {
    case FrameKind.Control: {
      const attachment = rng.chance(0.3) ? rng.bytes(rng.below(64)) : undefined;
      return encodeControl(validEnvelope(rng), attachment);
    }
    case FrameKind.Data: {
      const size = rng.chance(0.02) ? rng.pick([MAX_DATA, MAX_DATA - 1]) : rng.between(1, rng.chance(0.9) ? 64 : 4096);
      return encodeData(stream, rng.bytes(size));
    }
    case FrameKind.End:
      return encodeEnd(stream);
    case FrameKind.Credit:
      return encodeCredit(stream, rng.between(1, 0xffffffff));
    default:
      return encodeReset(stream, randomString(rng, 40));
  }
}

function validEnvelope(rng: Rng) {
  const id = rng.between(1, 1000);
  switch (rng.below(5)) {
    case 0:
      return { type: 'request' as const, id, method: rng.pick(['hello', 'env', 'fs.read']), params: randomJson(rng, 2) };
    case 1:
      return { type: 'reply' as const, id, result: randomJson(rng, 2) };
    case 2:
      return { type: 'error' as const, id, code: 'ENOENT', message: randomString(rng) };
    case 3:
      return { type: 'error' as const, code: 'EVERSION', message: randomString(rng) };
    default:
      return { type: 'event' as const, event: rng.pick(['incoming', 'notice']), data: randomJson(rng, 2) };
  }
}

function mutate(rng: Rng, input: Buffer): Buffer {
  let buf = Buffer.from(input);
  const rounds = rng.between(1, 3);
  for (let round = 0; round < rounds; round++) {
    switch (rng.below(9)) {
      case 0: {
        // bit flips
        const flips = rng.between(1, 8);
        for (let i = 0; i < flips && buf.length; i++) buf[rng.below(buf.length)] ^= 1 << rng.below(8);
        break;
      }
      case 1:
        // a random byte
        if (buf.length) buf[rng.below(buf.length)] = rng.below(256);
        break;
      case 2:
        // truncation
        buf = buf.subarray(0, rng.below(buf.length + 1));
        break;
      case 3:
        // extension
        buf = Buffer.concat([buf, rng.bytes(rng.between(1, 64))]);
        break;
      case 4: {
        // insertion
        const at = rng.below(buf.length + 1);
        buf = Buffer.concat([buf.subarray(0, at), rng.bytes(rng.between(1, 16)), buf.subarray(at)]);
        break;
      }
      case 5: {
        // deletion
        const at = rng.below(buf.length + 1);
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + rng.between(1, 16))]);
        break;
      }
      case 6:
        // the header's word
        if (buf.length >= 5) buf.writeUInt32BE(rng.chance(0.5) ? (buf.length - 5 + rng.between(-3, 3)) >>> 0 : word(rng), 1);
        break;
      case 7:
        // the kind
        if (buf.length) buf[0] = rng.chance(0.8) ? rng.below(6) : rng.below(256);
        break;
      default:
        // splice with another valid frame
        buf = Buffer.concat([buf.subarray(0, rng.below(buf.length + 1)), validFrame(rng)]);
    }
  }
  return buf;
}

function randomBytes(rng: Rng): Buffer {
  const r = rng.below(10_000);
  if (r < 5) {
    // Just above (or at) the frame limit; only the first bytes are random.
    const buf = Buffer.alloc(MAX_FRAME + rng.between(0, 16));
    rng.bytes(32).copy(buf);
    return buf;
  }
  const max = r < 3000 ? 16 : r < 8000 ? 256 : r < 9900 ? 4096 : 70_000;
  return rng.bytes(rng.below(max + 1));
}

function randomHeader(rng: Rng): Buffer {
  const head = Buffer.alloc(5);
  head[0] = rng.chance(0.9) ? rng.below(6) : rng.below(256);
  head.writeUInt32BE(word(rng), 1);
  const tail = rng.chance(0.2) ? Buffer.alloc(0) : rng.chance(0.5) ? rng.bytes(rng.pick([1, 2, 3, 4, 5, 8])) : rng.bytes(rng.below(200));
  return Buffer.concat([head, tail]);
}

function jsonFrame(rng: Rng): Buffer {
  let text = JSON.stringify(rng.chance(0.9) ? randomEnvelope(rng) : randomJson(rng)) ?? 'null';
  if (rng.chance(0.15)) {
    // Corrupt the JSON text itself.
    const at = rng.below(text.length + 1);
    text = rng.chance(0.5)
      ? text.slice(0, at) + rng.pick(['{', '}', '"', ',', ':', '\\', 'x', '\u00e9', ']']) + text.slice(at)
      : text.slice(0, at) + text.slice(at + 1);
  }
  let json = Buffer.from(text, 'utf8');
  if (rng.chance(0.05)) json = Buffer.concat([json, Buffer.from([rng.pick([0x80, 0xc3, 0xe2, 0xff, 0xed])])]);
  const head = Buffer.alloc(5);
  head[0] = FrameKind.Control;
  let length = json.length;
  if (rng.chance(0.1)) length = Math.max(0, length + rng.between(-4, 4));
  head.writeUInt32BE(length, 1);
  const attachment = rng.chance(0.3) ? rng.bytes(rng.below(48)) : Buffer.alloc(0);
  return Buffer.concat([head, json, attachment]);
}

/** One fuzz input, reproducible from its case seed. */
export function generate(seed: number): { strategy: Strategy; input: Buffer } {
  const rng = createRng(seed);
  const r = rng.below(100);
  if (r < 20) return { strategy: 'random', input: randomBytes(rng) };
  if (r < 35) return { strategy: 'header', input: randomHeader(rng) };
  if (r < 70) return { strategy: 'mutated', input: mutate(rng, validFrame(rng)) };
  return { strategy: 'json', input: jsonFrame(rng) };
}

// ---------------------------------------------------------------------------------------------
// Checking

const isStreamId = (n: unknown) => Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 0xffffffff;

/** Why `frame`, decoded from `input`, is not a well-formed Frame; undefined when it is. */
export function malformation(frame: Frame, input: Buffer): string | undefined {
  switch (frame.kind) {
    case FrameKind.Control: {
      if (!envelope.safeParse(frame.message).success) return 'CONTROL message does not satisfy the envelope schema';
      const json = input.readUInt32BE(1);
      const attached = frame.attachment?.length ?? 0;
      if (frame.attachment !== undefined && (!Buffer.isBuffer(frame.attachment) || attached === 0)) return 'CONTROL attachment is empty';
      if (input.length !== 5 + json + attached) return 'CONTROL attachment does not cover the rest of the frame';
      if (frame.attachment && !frame.attachment.equals(input.subarray(5 + json))) return 'CONTROL attachment differs from the bytes sent';
      const again = encodeControl(frame.message, frame.attachment);
      if (again.length <= MAX_FRAME) {
        const redecoded = decodeFrame(again);
        if (redecoded.kind !== FrameKind.Control || JSON.stringify(redecoded.message) !== JSON.stringify(frame.message)) {
          return 'CONTROL message does not survive re-encoding';
        }
      }
      return undefined;
    }
    case FrameKind.Data:
      if (!isStreamId(frame.stream)) return `DATA stream ${frame.stream}`;
      if (!Buffer.isBuffer(frame.payload) || frame.payload.length < 1 || frame.payload.length > MAX_DATA) return 'DATA payload size';
      return encodeData(frame.stream, frame.payload).equals(input) ? undefined : 'DATA does not re-encode to its input';
    case FrameKind.End:
      if (!isStreamId(frame.stream)) return `END stream ${frame.stream}`;
      return encodeEnd(frame.stream).equals(input) ? undefined : 'END does not re-encode to its input';
    case FrameKind.Credit:
      if (!isStreamId(frame.stream)) return `CREDIT stream ${frame.stream}`;
      if (!Number.isInteger(frame.bytes) || frame.bytes < 1 || frame.bytes > 0xffffffff) return `CREDIT of ${frame.bytes} bytes`;
      return encodeCredit(frame.stream, frame.bytes).equals(input) ? undefined : 'CREDIT does not re-encode to its input';
    case FrameKind.Reset: {
      if (!isStreamId(frame.stream)) return `RESET stream ${frame.stream}`;
      if (typeof frame.reason !== 'string' || input.length - 5 > 4096) return 'RESET reason';
      const redecoded = decodeFrame(encodeReset(frame.stream, frame.reason));
      return redecoded.kind === FrameKind.Reset && redecoded.stream === frame.stream ? undefined : 'RESET does not re-encode';
    }
    default:
      return `unknown kind ${(frame as { kind: unknown }).kind}`;
  }
}

export interface Failure {
  index: number;
  caseSeed: number;
  strategy: Strategy;
  problem: string;
  /** The input, hex (at most its first 128 bytes). */
  input: string;
  length: number;
}

export interface FuzzResult {
  seed: number;
  count: number;
  decoded: number;
  rejected: number;
  ms: number;
  byStrategy: Record<Strategy, { decoded: number; rejected: number }>;
  /** Decoded frames by kind name. */
  byKind: Record<string, number>;
  /** Rejection messages with numbers blanked out, and how often each came. */
  reasons: Map<string, number>;
  failures: Failure[];
}

const KIND_NAMES = ['CONTROL', 'DATA', 'END', 'CREDIT', 'RESET'];

/** Runs cases [0, count) of `seed`; never throws for a bad case, it records it. */
export function fuzz(count: number, seed: number, options: { maxFailures?: number; onProgress?: (done: number) => void } = {}): FuzzResult {
  const result: FuzzResult = {
    seed,
    count: 0,
    decoded: 0,
    rejected: 0,
    ms: 0,
    byStrategy: Object.fromEntries(strategies.map((s) => [s, { decoded: 0, rejected: 0 }])) as FuzzResult['byStrategy'],
    byKind: Object.fromEntries(KIND_NAMES.map((k) => [k, 0])),
    reasons: new Map(),
    failures: [],
  };
  const maxFailures = options.maxFailures ?? 20;
  const started = process.hrtime.bigint();
  for (let index = 0; index < count; index++) {
    const seedOfCase = caseSeed(seed, index);
    const { strategy, input } = generate(seedOfCase);
    const fail = (problem: string) =>
      result.failures.length < maxFailures &&
      result.failures.push({ index, caseSeed: seedOfCase, strategy, problem, input: input.subarray(0, 128).toString('hex'), length: input.length });
    let frame: Frame | undefined;
    try {
      frame = decodeFrame(input);
    } catch (error) {
      if (error instanceof ProtocolError && typeof error.message === 'string' && error.message.length > 0) {
        result.rejected++;
        result.byStrategy[strategy].rejected++;
        const reason = error.message.replace(/\d+/g, 'N').slice(0, 72);
        result.reasons.set(reason, (result.reasons.get(reason) ?? 0) + 1);
      } else {
        fail(`threw ${(error as Error)?.name ?? typeof error}: ${(error as Error)?.message ?? String(error)}`);
      }
    }
    if (frame) {
      let problem: string | undefined;
      try {
        problem = malformation(frame, input);
      } catch (error) {
        problem = `checking the decoded frame threw: ${(error as Error).message}`;
      }
      if (problem) fail(`decoded to a malformed frame: ${problem}`);
      result.decoded++;
      result.byStrategy[strategy].decoded++;
      result.byKind[KIND_NAMES[frame.kind] ?? String(frame.kind)]++;
    }
    result.count++;
    if (options.onProgress && (index & 0xffff) === 0xffff) options.onProgress(index + 1);
  }
  result.ms = Number(process.hrtime.bigint() - started) / 1e6;
  return result;
}

export function formatFailure(seed: number, failure: Failure): string {
  return (
    `case ${failure.index} of seed ${seed} (case seed ${failure.caseSeed}, ${failure.strategy}, ${failure.length} bytes): ${failure.problem}\n` +
    `  input: ${failure.input}${failure.length > 128 ? '…' : ''}`
  );
}

// ---------------------------------------------------------------------------------------------
// Script

function main(argv: string[]): number {
  const count = argv[2] === undefined ? 1_000_000 : Number(argv[2]);
  const seed = argv[3] === undefined ? (Date.now() ^ (process.pid << 16)) >>> 0 : Number(argv[3]);
  if (!Number.isInteger(count) || count < 1) {
    process.stderr.write(`usage: npm run fuzz [count] [seed]   (count must be a positive integer, got "${argv[2]}")\n`);
    return 2;
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    process.stderr.write(`usage: npm run fuzz [count] [seed]   (seed must be an integer from 0 to 4294967295, got "${argv[3]}")\n`);
    return 2;
  }
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out(`fuzzing decodeFrame: ${count.toLocaleString('en-US')} frames, seed ${seed}`);
  const progress = process.stderr.isTTY;
  const result = fuzz(count, seed, {
    onProgress: progress ? (done) => process.stderr.write(`\r  ${((done / count) * 100).toFixed(0).padStart(3)}%`) : undefined,
  });
  if (progress) process.stderr.write('\r      \r');
  const pct = (n: number) => `${((n / result.count) * 100).toFixed(1)}%`;
  out(
    `${result.count.toLocaleString('en-US')} frames in ${(result.ms / 1000).toFixed(2)} s: ${Math.round(result.count / (result.ms / 1000)).toLocaleString('en-US')} frames/s`,
  );
  out(`decoded  ${String(result.decoded).padStart(9)}  ${pct(result.decoded)}`);
  out(`rejected ${String(result.rejected).padStart(9)}  ${pct(result.rejected)}`);
  out();
  out('by generator        decoded   rejected');
  for (const s of strategies)
    out(`  ${s.padEnd(12)} ${String(result.byStrategy[s].decoded).padStart(10)} ${String(result.byStrategy[s].rejected).padStart(10)}`);
  out();
  out('decoded by kind');
  for (const [kind, n] of Object.entries(result.byKind)) out(`  ${kind.padEnd(8)} ${String(n).padStart(9)}`);
  out();
  out('most frequent rejections');
  for (const [reason, n] of [...result.reasons].sort((a, b) => b[1] - a[1]).slice(0, 12)) out(`  ${String(n).padStart(9)}  ${reason}`);
  out();
  if (result.failures.length) {
    out(
      `FAILED: ${result.failures.length}${result.failures.length >= 20 ? '+' : ''} inputs were neither decoded to a well-formed frame nor refused with a ProtocolError`,
    );
    for (const failure of result.failures) out(formatFailure(seed, failure));
    out(`reproduce: npm run fuzz ${count} ${seed}`);
    return 1;
  }
  out('ok: every input decoded to a well-formed frame or was refused with a ProtocolError');
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv);
