/**
 * The channel between the layer and this proxy: every operation, the fields of its request and
 * the replies it may get, and the one codec between those and the lines on the socket. A request
 * is one line, `OP FIELD…`, answered by one line, `KIND FIELD…`, fields separated by tabs. The
 * layer's side of the same contract is layer/native/channel_ops.h; channel.test.ts checks that
 * the two list the same operations, replies and field counts. docs/layer.md describes it.
 *
 * A field's place on the line is its place in the objects below (their keys keep that order).
 */
import type { FileTime, Stat, Statfs } from '../protocol/messages';

/** How one value travels: as `width` tab-separated fields (an optional one only last, or not at all). */
export interface Field<T> {
  readonly width: number;
  readonly optional?: true;
  encode(value: T): string[];
  /** Throws ChannelError when the fields don't hold a value of this kind. */
  decode(fields: string[]): T;
}

export class ChannelError extends Error {
  /** `unknown`: a request for an operation this side doesn't know; `malformed`: fields that don't fit the contract. */
  constructor(
    message: string,
    readonly reason: 'unknown' | 'malformed',
    readonly op?: string,
  ) {
    super(message);
  }
}

function malformed(message: string): never {
  throw new ChannelError(message, 'malformed');
}

const one = <T>(encode: (value: T) => string, decode: (text: string) => T): Field<T> => ({
  width: 1,
  encode: (value) => [encode(value)],
  decode: ([text]) => decode(text),
});

function integer(text: string): number {
  const value = Number(text);
  return text !== '' && Number.isInteger(value) ? value : malformed(`"${text}" is not an integer`);
}

function plain(text: string): string {
  return /[\t\n]/.test(text) ? malformed(`${JSON.stringify(text)} holds a tab or a line break`) : text;
}

/** An integer (ports, flags, modes, errno values). */
const int = one<number>((value) => String(Math.trunc(value)), integer);
/** Text without tabs or line breaks. */
const text = one<string>(plain, plain);
/** A path the program names (the layer never sends one holding a tab or a line break). */
const path = text;
/** 1 or 0. */
const flag = one<boolean>(
  (value) => (value ? '1' : '0'),
  (t) => (t === '1' ? true : t === '0' ? false : malformed(`"${t}" is not 1 or 0`)),
);
/** One of a few words or numbers. */
function oneOf<const T extends string | number>(...values: T[]): Field<T> {
  return one<T>(String, (t) => values.find((value) => String(value) === t) ?? malformed(`"${t}" is not one of ${values.join(', ')}`));
}
/** A time utimes sets: ms since the epoch (with a fraction), `now` or `omit`. */
const time = one<FileTime>(String, (t) => (t === 'now' || t === 'omit' ? t : Number(t) >= 0 ? Number(t) : malformed(`"${t}" is not a time`)));
/** Comma-separated words (addresses). */
const list = one<string[]>(
  (values) => values.map(plain).join(','),
  (t) => (t ? t.split(',') : []),
);
/** An address and a port: two fields. */
const endpoint: Field<{ address: string; port: number }> = {
  width: 2,
  encode: ({ address, port }) => [plain(address), String(port)],
  decode: ([address, port]) => ({ address: plain(address), port: integer(port) }),
};
/** A record of integers, one field each, in the order of `keys`. */
function integers<K extends string>(keys: readonly K[]): Field<Record<K, number>> {
  return {
    width: keys.length,
    encode: (value) => keys.map((key) => String(Math.trunc(value[key]))),
    decode: (fields) => Object.fromEntries(keys.map((key, i) => [key, integer(fields[i])])) as Record<K, number>,
  };
}
/** A stat: 13 integers, times in whole ms (the layer's struct stat). */
const stat: Field<Stat> = integers([
  'dev',
  'ino',
  'mode',
  'nlink',
  'uid',
  'gid',
  'rdev',
  'size',
  'blksize',
  'blocks',
  'atimeMs',
  'mtimeMs',
  'ctimeMs',
] as const);
/** A statfs: 7 integers. */
const statfs: Field<Statfs> = integers(['type', 'bsize', 'blocks', 'bfree', 'bavail', 'files', 'ffree'] as const);

interface OptionalField<T> extends Field<T | undefined> {
  readonly optional: true;
}

function optional<T>(field: Field<T>): OptionalField<T> {
  return {
    ...field,
    optional: true,
    encode: (value) => (value === undefined ? [] : field.encode(value)),
    decode: (fields) => (fields.length ? field.decode(fields) : undefined),
  };
}

type Fields = Record<string, Field<unknown>>;
type Replies = Record<string, Fields>;
interface Operation<Q extends Fields = Fields, R extends Replies = Replies> {
  request: Q;
  replies: R;
}

const operation = <Q extends Fields, R extends Replies>(request: Q, replies: R): Operation<Q, R> => ({ request, replies });

// Replies several operations share.
const local = {};
const ok = {};
const error = { errno: int };
/** What a request about a path may get besides its answer: the errno the pod's call failed with, or "do it locally". */
const failedOrLocal = { error, local };
/** A local copy of the pod's file or directory; with the pod's stat of it when the copy is only read. */
const copy = { copy: text, stat: optional(stat) };

export const CHANNEL = {
  /** A connection (or connected UDP socket) to IP:PORT: from the pod through a local relay, to the program's own listener, or local. */
  connect: operation(
    { protocol: oneOf('tcp', 'udp'), address: text, port: int },
    { local, redirect: { relayPort: int, podLocal: endpoint }, listener: { localPort: int }, error },
  ),
  /** A name look-up (FAMILY 0: any, 4, 6); the error is getaddrinfo's EAI_* code. */
  resolve: operation({ host: text, family: oneOf(0, 4, 6) }, { ok: { addresses: list }, error: { code: int }, local }),
  /** A bind to IP:PORT: intercepted (bound to a free local port, subscribed at listen) or local. */
  bind: operation({ address: text, port: int }, { intercept: {}, local }),
  /** The program listens on LOCAL_PORT for PORT: the pod's PORT is subscribed (or refused, with an errno). */
  listen: operation({ port: int, localPort: int }, { ok, error }),
  /** A descriptor of the listener for PORT closed. */
  closed: operation({ port: int }, { ok }),
  /** Who the connection the program accepted from LOCAL_PORT stands for: the pod-side client and address. */
  peer: operation({ localPort: int }, { ok: { client: endpoint, pod: endpoint }, unknown: {} }),
  open: operation({ flags: int, path }, { path: copy, ...failedOrLocal }),
  opendir: operation({ flags: int, path }, { path: copy, ...failedOrLocal }),
  /** A written copy (a `path` answer to open for writing) goes back to the pod. */
  flush: operation({ copy: text }, { ok, error }),
  stat: operation({ follow: flag, path }, { ok: { stat }, ...failedOrLocal }),
  statfs: operation({ path }, { ok: { statfs }, ...failedOrLocal }),
  access: operation({ mode: int, path }, { ok, ...failedOrLocal }),
  readlink: operation({ path }, { ok: { target: text }, ...failedOrLocal }),
  mkdir: operation({ mode: int, path }, { ok, ...failedOrLocal }),
  chmod: operation({ mode: int, path }, { ok, ...failedOrLocal }),
  rmdir: operation({ path }, { ok, ...failedOrLocal }),
  unlink: operation({ path }, { ok, ...failedOrLocal }),
  truncate: operation({ length: int, path }, { ok, ...failedOrLocal }),
  utimes: operation({ atime: time, mtime: time, path }, { ok, ...failedOrLocal }),
  /** FLAGS: renameat2's (RENAME_NOREPLACE, RENAME_EXCHANGE). */
  rename: operation({ flags: int, from: path, to: path }, { ok, ...failedOrLocal }),
} satisfies Record<string, Operation>;

type Channel = typeof CHANNEL;
export type Op = keyof Channel;

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type ValueOf<F> = F extends Field<infer T> ? T : never;
type OptionalKeys<F> = { [K in keyof F]: F[K] extends OptionalField<unknown> ? K : never }[keyof F];
type Values<F> = Simplify<{ [K in Exclude<keyof F, OptionalKeys<F>>]: ValueOf<F[K]> } & { [K in OptionalKeys<F>]?: Exclude<ValueOf<F[K]>, undefined> }>;

/** A request of operation `O` (any, by default): `{ op, …its fields }`. */
export type Request<O extends Op = Op> = { [K in O]: Simplify<{ op: K } & Values<Channel[K]['request']>> }[O];
/** The replies operation `O` may get: `{ kind, …its fields }`. */
export type Reply<O extends Op> = O extends Op
  ? { [K in keyof Channel[O]['replies'] & string]: Simplify<{ kind: K } & Values<Channel[O]['replies'][K]>> }[keyof Channel[O]['replies'] & string]
  : never;

/** Answers every operation. */
export type ChannelHandlers = { [O in Op]: (request: Request<O>) => Reply<O> | Promise<Reply<O>> };

/** What a request gets when this side can't serve it (unknown, malformed, or its handler failed): the layer does the call as without mirrord. */
export const FALLBACK_REPLY = 'local';

/** A field list's width: required fields, and the optional last one. */
function widths(fields: Fields): number[] {
  const all = Object.values(fields);
  const required = all.filter((field) => !field.optional).reduce((sum, field) => sum + field.width, 0);
  const last = all.find((field) => field.optional);
  return last ? [required, required + last.width] : [required];
}

function encodeFields(head: string, fields: Fields, values: Record<string, unknown>): string {
  const parts = [head];
  for (const [name, field] of Object.entries(fields)) parts.push(...field.encode(values[name]));
  return parts.join('\t');
}

function decodeFields(fields: Fields, parts: string[], what: string): Record<string, unknown> {
  if (!widths(fields).includes(parts.length)) malformed(`${what}: ${parts.length} fields, expected ${widths(fields).join(' or ')}`);
  const values: Record<string, unknown> = {};
  let at = 0;
  for (const [name, field] of Object.entries(fields)) {
    const value = field.decode(parts.slice(at, at + field.width));
    at += field.width;
    if (value !== undefined) values[name] = value;
  }
  return values;
}

function operationOf(op: string): Operation {
  if (!Object.prototype.hasOwnProperty.call(CHANNEL, op)) throw new ChannelError(`unknown operation "${op}"`, 'unknown', op);
  return CHANNEL[op as Op];
}

export function encodeRequest(request: Request): string {
  return encodeFields(request.op, operationOf(request.op).request, request);
}

/** A request line as the layer sent it; throws ChannelError when it is unknown or malformed. */
export function decodeRequest(line: string): Request {
  const [op, ...parts] = line.split('\t');
  return { op, ...decodeFields(operationOf(op).request, parts, op) } as Request;
}

function replyFields(op: Op, kind: string): Fields {
  const { replies } = operationOf(op);
  return Object.prototype.hasOwnProperty.call(replies, kind) ? replies[kind] : malformed(`${op} has no reply "${kind}"`);
}

export function encodeReply<O extends Op>(op: O, reply: Reply<O>): string {
  return encodeFields(reply.kind, replyFields(op, reply.kind), reply);
}

/** A reply line as this side sent it; throws ChannelError when operation `op` has no such reply. */
export function decodeReply<O extends Op>(op: O, line: string): Reply<O> {
  const [kind, ...parts] = line.split('\t');
  return { kind, ...decodeFields(replyFields(op, kind), parts, `${op} ${kind}`) } as Reply<O>;
}

/** Every operation's request field count and reply field counts, as `KIND/COUNT` (for comparison with the layer's list). */
export function contractSummary(): Record<string, { request: number; replies: string[] }> {
  return Object.fromEntries(
    Object.entries(CHANNEL).map(([op, { request, replies }]) => [
      op,
      {
        request: widths(request as Fields)[0],
        replies: Object.entries(replies as Replies)
          .flatMap(([kind, fields]) => widths(fields).map((count) => `${kind}/${count}`))
          .sort(),
      },
    ]),
  );
}
