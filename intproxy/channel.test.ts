/** The channel's contract: the same on both sides, and lines as docs/layer.md shows them. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChannelError, contractSummary, decodeReply, decodeRequest, encodeReply, encodeRequest, type Op, type Reply, type Request } from './channel';

/** The body of a C macro defined over continued lines, without its comments. */
function macroBody(header: string, name: string): string {
  const start = header.indexOf(`#define ${name}(X)`);
  if (start < 0) throw new Error(`channel_ops.h defines no ${name}`);
  const lines = header.slice(start).split('\n');
  const end = lines.findIndex((line) => !line.trimEnd().endsWith('\\'));
  return lines
    .slice(1, end + 1)
    .join('\n')
    .replace(/\/\*[\s\S]*?\*\//g, '');
}

/** What the layer's header lists: per operation, its request's field count and its replies as `KIND/COUNT`. */
function layerContract(): Record<string, { request: number; replies: string[] }> {
  const header = readFileSync(join(__dirname, '..', 'layer', 'native', 'channel_ops.h'), 'utf8');
  const shapes = new Map<string, string>();
  for (const [, id, kind, count] of macroBody(header, 'CHANNEL_REPLIES').matchAll(/X\((\w+),\s*"(\w+)",\s*(\d+)\)/g)) shapes.set(id, `${kind}/${count}`);
  const ops: Record<string, { request: number; replies: string[] }> = {};
  for (const [, name, count, replies] of macroBody(header, 'CHANNEL_OPS').matchAll(/X\(\w+,\s*"(\w+)",\s*(\d+),\s*((?:R\(\w+\)[\s|]*)+)\)/g)) {
    const ids = [...replies.matchAll(/R\((\w+)\)/g)].map(([, id]) => id);
    ops[name] = {
      request: Number(count),
      replies: ids.map((id) => shapes.get(id) ?? `no reply ${id}`).sort(),
    };
  }
  return ops;
}

it('lists the same operations, request field counts and replies as the layer (channel_ops.h)', () => {
  const layer = layerContract();
  expect(Object.keys(layer).length).toBeGreaterThan(10); // the header was read
  expect(layer).toEqual(contractSummary());
});

it('tells every reply of an operation apart by its kind and field count', () => {
  for (const [op, { replies }] of Object.entries(contractSummary())) expect({ op, replies: new Set(replies).size }).toEqual({ op, replies: replies.length });
});

/** A request as its line, and as the proxy reads it. */
const requests: [string, Request][] = [
  ['connect\ttcp\t10.0.0.7\t5432', { op: 'connect', protocol: 'tcp', address: '10.0.0.7', port: 5432 }],
  ['resolve\tdb.internal\t6', { op: 'resolve', host: 'db.internal', family: 6 }],
  ['bind\t0.0.0.0\t8080', { op: 'bind', address: '0.0.0.0', port: 8080 }],
  ['listen\t8080\t41235', { op: 'listen', port: 8080, localPort: 41235 }],
  ['closed\t8080', { op: 'closed', port: 8080 }],
  ['peer\t50123', { op: 'peer', localPort: 50123 }],
  ['open\t0\t/data/config.yaml', { op: 'open', flags: 0, path: '/data/config.yaml' }],
  ['opendir\t65536\t/data', { op: 'opendir', flags: 65536, path: '/data' }],
  ['flush\t/tmp/mirrord-x/files/3-config.yaml', { op: 'flush', copy: '/tmp/mirrord-x/files/3-config.yaml' }],
  ['stat\t1\t/data/a b', { op: 'stat', follow: true, path: '/data/a b' }],
  ['statfs\t/data', { op: 'statfs', path: '/data' }],
  ['access\t4\t/data', { op: 'access', mode: 4, path: '/data' }],
  ['readlink\t/data/link', { op: 'readlink', path: '/data/link' }],
  ['mkdir\t493\t/data/new', { op: 'mkdir', mode: 493, path: '/data/new' }],
  ['chmod\t384\t/data/new', { op: 'chmod', mode: 384, path: '/data/new' }],
  ['rmdir\t/data/new', { op: 'rmdir', path: '/data/new' }],
  ['unlink\t/data/old', { op: 'unlink', path: '/data/old' }],
  ['truncate\t10\t/data/log', { op: 'truncate', length: 10, path: '/data/log' }],
  ['utimes\t1700000000123.25\tomit\t/data/log', { op: 'utimes', atime: 1700000000123.25, mtime: 'omit', path: '/data/log' }],
  ['rename\t1\t/data/a\t/data/b', { op: 'rename', flags: 1, from: '/data/a', to: '/data/b' }],
];

it.each(requests)('reads and writes the request %j', (line, request) => {
  expect(decodeRequest(line)).toEqual(request);
  expect(encodeRequest(request)).toBe(line);
});

const stat = {
  dev: 2049,
  ino: 131,
  mode: 33188,
  nlink: 1,
  uid: 0,
  gid: 0,
  rdev: 0,
  size: 12,
  blksize: 4096,
  blocks: 8,
  atimeMs: 1700000000123,
  mtimeMs: 1700000000456,
  ctimeMs: 1700000000789,
};
const statLine = '2049\t131\t33188\t1\t0\t0\t0\t12\t4096\t8\t1700000000123\t1700000000456\t1700000000789';

/** A reply as the proxy's handler returns it, and as its line. */
const replies: [Op, Reply<Op>, string][] = [
  ['connect', { kind: 'redirect', relayPort: 40001, podLocal: { address: '10.244.0.5', port: 51000 } }, 'redirect\t40001\t10.244.0.5\t51000'],
  ['connect', { kind: 'listener', localPort: 41235 }, 'listener\t41235'],
  ['connect', { kind: 'error', errno: 111 }, 'error\t111'],
  ['connect', { kind: 'local' }, 'local'],
  ['resolve', { kind: 'ok', addresses: ['10.96.0.10', 'fd00::a'] }, 'ok\t10.96.0.10,fd00::a'],
  ['resolve', { kind: 'error', code: -2 }, 'error\t-2'],
  ['bind', { kind: 'intercept' }, 'intercept'],
  ['listen', { kind: 'ok' }, 'ok'],
  ['listen', { kind: 'error', errno: 98 }, 'error\t98'],
  [
    'peer',
    { kind: 'ok', client: { address: '10.244.0.9', port: 40000 }, pod: { address: '10.244.0.5', port: 8080 } },
    'ok\t10.244.0.9\t40000\t10.244.0.5\t8080',
  ],
  ['peer', { kind: 'unknown' }, 'unknown'],
  ['open', { kind: 'path', copy: '/tmp/m/1-a', stat }, `path\t/tmp/m/1-a\t${statLine}`],
  ['open', { kind: 'path', copy: '/tmp/m/2-a' }, 'path\t/tmp/m/2-a'],
  ['stat', { kind: 'ok', stat }, `ok\t${statLine}`],
  [
    'statfs',
    { kind: 'ok', statfs: { type: 61267, bsize: 4096, blocks: 100, bfree: 50, bavail: 40, files: 1000, ffree: 900 } },
    'ok\t61267\t4096\t100\t50\t40\t1000\t900',
  ],
  ['readlink', { kind: 'ok', target: '../b' }, 'ok\t../b'],
  ['rename', { kind: 'error', errno: 18 }, 'error\t18'],
];

it.each(replies)('writes and reads a reply to %s: %j', (op, reply, line) => {
  expect(encodeReply(op, reply)).toBe(line);
  expect(decodeReply(op, line)).toEqual(reply);
});

it('writes a stat with whole ms, as the layer reads it', () => {
  expect(encodeReply('stat', { kind: 'ok', stat: { ...stat, atimeMs: 1700000000123.9 } })).toBe(`ok\t${statLine}`);
});

it('tells an unknown operation from a malformed request', () => {
  const failure = (line: string) => {
    try {
      decodeRequest(line);
    } catch (error) {
      return { reason: (error as ChannelError).reason, op: (error as ChannelError).op };
    }
    return undefined;
  };
  expect(failure('chown\t0\t0\t/data')).toEqual({ reason: 'unknown', op: 'chown' });
  expect(failure('toString\t1')).toEqual({ reason: 'unknown', op: 'toString' });
  expect(failure('connect\ttcp\t10.0.0.7')).toMatchObject({ reason: 'malformed' }); // a field short
  expect(failure('connect\tsctp\t10.0.0.7\t80')).toMatchObject({ reason: 'malformed' });
  expect(failure('listen\t80\teighty')).toMatchObject({ reason: 'malformed' });
  expect(failure('stat\tyes\t/data')).toMatchObject({ reason: 'malformed' });
});

it('refuses to write a field that would break the line, or a reply the operation cannot get', () => {
  expect(() => encodeReply('readlink', { kind: 'ok', target: 'a\tb' })).toThrow(ChannelError);
  expect(() => encodeReply('closed', { kind: 'local' } as unknown as Reply<'closed'>)).toThrow(ChannelError);
});
