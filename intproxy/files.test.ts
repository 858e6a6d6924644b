/** The layer's remote files against the sidecar's real Session, over a loopback WebSocket. */
import { constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { Client } from '../protocol/client';
import { startTestSidecar, type TestSidecar } from '../test/harness/test-sidecar';
import { RemoteFiles } from './files';

let sidecar: TestSidecar;
let client: Client;
let files: RemoteFiles;
let warnings: string[];

beforeAll(async () => {
  sidecar = await startTestSidecar();
  client = await Client.start(new WebSocket(sidecar.url), { fs: 'write' });
});
const cache = () => join(mkdtempSync(join(tmpdir(), 'mirrord-files-')), 'cache');
beforeEach(() => {
  warnings = [];
  files = new RemoteFiles(client, cache(), (text) => warnings.push(text));
});
afterEach(() => files.dispose());
afterAll(async () => {
  client.close();
  await sidecar.close();
});

/** The local copy the layer would open, and what it holds. */
async function open(path: string, flags = 0): Promise<{ copy: string; content: string }> {
  const reply = await files.open(path, flags);
  if (reply.kind !== 'path') throw new Error(`open ${path}: ${JSON.stringify(reply)}`);
  return { copy: reply.copy, content: readFileSync(reply.copy, 'utf8') };
}

/** Long enough for a file's last change to be older than a second by the pod's clock. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 1100));

it('reuses the copy of an unchanged file, and makes a new one when the pod changes it', async () => {
  writeFileSync(join(sidecar.root, 'config.yaml'), 'version: 1\n');
  // changed within the last second: a same-size rewrite could keep its times, so no reuse yet
  expect((await open('/config.yaml')).copy).not.toBe((await open('/config.yaml')).copy);
  await settle();
  const first = await open('/config.yaml');
  expect(first.content).toBe('version: 1\n');
  expect(await open('/config.yaml')).toEqual(first);

  writeFileSync(join(sidecar.root, 'config.yaml'), 'version: 2, longer\n');
  const second = await open('/config.yaml');
  expect(second.content).toBe('version: 2, longer\n');
  expect(second.copy).not.toBe(first.copy);
  expect(readFileSync(first.copy, 'utf8')).toBe('version: 1\n'); // an fd on the old copy still reads what it read
  rmSync(join(sidecar.root, 'config.yaml'));
  expect(await files.open('/config.yaml', 0)).toEqual({ kind: 'error', errno: 2 }); // ENOENT
});

it('never reuses a copy for writing, nor the copy of an empty file', async () => {
  writeFileSync(join(sidecar.root, 'empty'), '');
  await settle();
  expect((await open('/empty')).copy).not.toBe((await open('/empty')).copy);
  const read = await open('/hello.txt');
  const written = await open('/hello.txt', 2 /* O_RDWR */);
  expect(written.copy).not.toBe(read.copy);
  expect(written.content).toBe('hello from the pod\n');
});

it('opens a file for writing in the pod first, so what the pod refuses fails the open and O_CREAT creates it then', async () => {
  const { O_WRONLY, O_CREAT, O_EXCL, O_TRUNC } = constants;
  const { EEXIST, EROFS } = osConstants.errno;
  expect(await files.open('/hello.txt', O_WRONLY | O_CREAT | O_EXCL)).toEqual({ kind: 'error', errno: EEXIST });
  await open('/created.txt', O_WRONLY | O_CREAT);
  expect(existsSync(join(sidecar.root, 'created.txt'))).toBe(true);

  const reader = await Client.start(new WebSocket(sidecar.url)); // asks for nothing: it only reads
  const readOnly = new RemoteFiles(reader, cache(), (text) => warnings.push(text));
  try {
    expect(await readOnly.open('/hello.txt', O_WRONLY | O_TRUNC)).toEqual({ kind: 'error', errno: EROFS });
    expect(await readOnly.open('/new.txt', O_WRONLY | O_CREAT)).toEqual({ kind: 'error', errno: EROFS });
    expect(readFileSync(join(sidecar.root, 'hello.txt'), 'utf8')).toBe('hello from the pod\n');
    expect(existsSync(join(sidecar.root, 'new.txt'))).toBe(false);
  } finally {
    readOnly.dispose();
    reader.close();
  }
  rmSync(join(sidecar.root, 'created.txt'));
});

it('a written copy the pod no longer takes fails its flush, and the user is told which file lost its writes', async () => {
  mkdirSync(join(sidecar.root, 'gone'));
  const { copy } = await open('/gone/out.txt', constants.O_WRONLY | constants.O_CREAT);
  writeFileSync(copy, 'never lands\n');
  rmSync(join(sidecar.root, 'gone'), { recursive: true });
  expect(await files.flush(copy)).toEqual({ kind: 'error', errno: osConstants.errno.ENOENT });
  expect(warnings).toEqual([expect.stringMatching(/^the program's writes to \/gone\/out\.txt did not reach the pod: /)]);
});
