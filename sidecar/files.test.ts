import {
  chmodSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_FRAME } from '../protocol/frame';
import { FsPathRules } from '../protocol/fs-paths';
import { Files, openRoot } from './files';

/** What `work` threw or rejected with (its code and message), or code `ok`. */
async function failure(work: () => unknown): Promise<{ code?: string; message?: string }> {
  try {
    await work();
  } catch (error) {
    return { code: (error as { code?: string }).code, message: (error as Error).message };
  }
  return { code: 'ok' };
}

/** A real app root in a temp directory, with a file outside it that nothing may reach. */
describe('changes by path beneath the app root', () => {
  let base: string;
  let root: string;
  let outside: string;
  let files: Files;

  beforeEach(() => {
    base = mkdtempSync(join(tmpdir(), 'mirrord-files-'));
    root = join(base, 'root');
    outside = join(base, 'outside.txt');
    mkdirSync(join(root, 'data'), { recursive: true });
    writeFileSync(join(root, 'data/a.txt'), 'alpha\n');
    writeFileSync(outside, "not the app's\n");
    chmodSync(outside, 0o644);
    symlinkSync(outside, join(root, 'data/escape'));
    symlinkSync('../../outside.txt', join(root, 'data/escape-relative'));
    files = new Files(openRoot(root), ['/']);
    files.writable = true;
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  const code = async (work: () => unknown) => (await failure(work)).code;

  it('mkdir, rename, truncate, chmod, utimes, unlink and rmdir act on the app root', async () => {
    await files.mkdir({ path: '/data/sub', mode: 0o750 });
    expect(statSync(join(root, 'data/sub')).isDirectory()).toBe(true);
    await files.rename({ from: '/data/a.txt', to: '/data/sub/b.txt' });
    expect(readFileSync(join(root, 'data/sub/b.txt'), 'utf8')).toBe('alpha\n');
    await files.truncate({ path: '/data/sub/b.txt', length: 2 });
    expect(readFileSync(join(root, 'data/sub/b.txt'), 'utf8')).toBe('al');
    await files.chmod({ path: '/data/sub/b.txt', mode: 0o600 });
    expect(statSync(join(root, 'data/sub/b.txt')).mode & 0o777).toBe(0o600);
    await files.utimes({ path: '/data/sub/b.txt', atime: 'omit', mtime: 1_000_000_000_000 });
    expect(statSync(join(root, 'data/sub/b.txt')).mtimeMs).toBe(1_000_000_000_000);
    expect((await files.statfs({ path: '/data' })).statfs.bsize).toBeGreaterThan(0);
    await files.unlink({ path: '/data/sub/b.txt' });
    await files.rmdir({ path: '/data/sub' });
    expect(readdirSync(join(root, 'data')).sort()).toEqual(['escape', 'escape-relative']);
  });

  it('rename with RENAME_NOREPLACE refuses to replace, as renameat2 does', async () => {
    writeFileSync(join(root, 'data/b.txt'), 'beta\n');
    expect(await code(() => files.rename({ from: '/data/a.txt', to: '/data/b.txt', flags: 1 }))).toBe('EEXIST');
    expect(readFileSync(join(root, 'data/b.txt'), 'utf8')).toBe('beta\n');
  });

  it('a symlink pointing out of the root is itself removed or renamed, never what it names', async () => {
    await files.unlink({ path: '/data/escape' });
    expect(existsSync(outside)).toBe(true);
    await files.rename({ from: '/data/escape-relative', to: '/data/moved' });
    expect(lstatSync(join(root, 'data/moved')).isSymbolicLink()).toBe(true);
    expect(existsSync(outside)).toBe(true);
  });

  it('chmod, truncate and utimes through a symlink resolve it inside the root, so the file outside stays as it was', async () => {
    // /outside.txt does not exist beneath the root: the link's target is looked up there
    expect(await code(() => files.chmod({ path: '/data/escape', mode: 0o777 }))).toBe('ENOENT');
    expect(await code(() => files.truncate({ path: '/data/escape-relative', length: 0 }))).toBe('ENOENT');
    expect(await code(() => files.utimes({ path: '/data/escape', atime: 'now', mtime: 'now' }))).toBe('ENOENT');
    expect(statSync(outside).mode & 0o777).toBe(0o644);
    expect(readFileSync(outside, 'utf8')).toBe("not the app's\n");
  });

  it('refuses paths that climb out of the root, and changing the root itself', async () => {
    expect(await code(() => files.mkdir({ path: '/../evil', mode: 0o755 }))).toBe('EXDEV');
    expect(await code(() => files.rename({ from: '/data/a.txt', to: '/../../stolen.txt' }))).toBe('EXDEV');
    expect(await code(() => files.rmdir({ path: '/' }))).toBe('EBUSY');
    expect(existsSync(join(base, 'evil'))).toBe(false);
    expect(existsSync(join(root, 'data/a.txt'))).toBe(true);
  });
});

/** An app root holding a mount (/data) and files beside it that no session may reach. */
describe("only the app's mounts, and changes only for a session that may write", () => {
  let root: string;
  let files: Files;
  const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_TRUNC, O_NOFOLLOW } = constants;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'mirrord-mounts-'));
    mkdirSync(join(root, 'data'));
    writeFileSync(join(root, 'data/a.txt'), 'alpha\n');
    writeFileSync(join(root, 'secret.txt'), 'not a mount\n');
    symlinkSync('/secret.txt', join(root, 'data/to-secret'));
    symlinkSync('/', join(root, 'data/to-root'));
    symlinkSync('/created.txt', join(root, 'data/dangling'));
    symlinkSync('/data/a.txt', join(root, 'data/to-a'));
    files = new Files(openRoot(root), ['/data']);
    files.writable = true;
  });
  afterEach(() => {
    files.closeAll();
    rmSync(root, { recursive: true, force: true });
  });

  const open = (path: string, flags: number) => files.open({ path, flags });

  it('refuses a path that is not under a mount once normalised, naming the mounts', async () => {
    expect(await failure(() => open('/data/../secret.txt', O_RDONLY))).toEqual({
      code: 'EACCES',
      message: "/data/../secret.txt is not under the app's mounts (/data): the sidecar serves only those",
    });
    expect((await failure(() => files.stat({ path: '/secret.txt', follow: true }))).code).toBe('EACCES');
    expect((await failure(() => files.readdir({ path: '/' }))).code).toBe('EACCES');
    expect((await failure(() => open('/data/../evil.txt', O_WRONLY | O_CREAT))).code).toBe('EACCES');
    expect(existsSync(join(root, 'evil.txt'))).toBe(false);
  });

  it('refuses a symlink under a mount that leads outside the mounts, and follows one that stays', async () => {
    expect(await failure(() => open('/data/to-secret', O_RDONLY))).toMatchObject({
      code: 'EACCES',
      message: expect.stringMatching(/leads outside the app's mounts/),
    });
    expect((await failure(() => open('/data/to-secret', O_WRONLY | O_TRUNC))).code).toBe('EACCES');
    expect(readFileSync(join(root, 'secret.txt'), 'utf8')).toBe('not a mount\n');
    expect((await failure(() => open('/data/to-root/evil.txt', O_WRONLY | O_CREAT))).code).toBe('EACCES');
    expect((await failure(() => files.mkdir({ path: '/data/to-root/evil', mode: 0o755 }))).code).toBe('EACCES');
    // where a dangling link would lead is not looked at: nothing is created through it
    expect((await failure(() => open('/data/dangling', O_WRONLY | O_CREAT))).code).toBe('ELOOP');
    expect(readdirSync(root).sort()).toEqual(['data', 'secret.txt']);
    // the link itself is under the mount: it may be read as a link
    expect((await files.readlink({ path: '/data/to-secret' })).target).toBe('/secret.txt');
    expect((await files.open({ path: '/data/to-a', flags: O_RDONLY })).stat.size).toBe(6);
  });

  it('creates, truncates and refuses as open(2) does, under a mount', async () => {
    const created = await open('/data/new.txt', O_WRONLY | O_CREAT | O_EXCL);
    expect(created.stat.size).toBe(0);
    expect((await failure(() => open('/data/new.txt', O_WRONLY | O_CREAT | O_EXCL))).code).toBe('EEXIST');
    expect((await failure(() => open('/data/to-a', O_RDONLY | O_NOFOLLOW))).code).toBe('ELOOP');
    expect((await open('/data/a.txt', O_RDONLY | O_NOFOLLOW)).stat.size).toBe(6);
    await open('/data/a.txt', O_WRONLY | O_TRUNC);
    expect(readFileSync(join(root, 'data/a.txt'), 'utf8')).toBe('');
  });

  it('a refused change leaves no fd behind, and a close waits for the reads still running on its fd', async () => {
    // This process's fds on the mounts' files: the test runner's own come and go meanwhile.
    const mounts = realpathSync(root);
    const fds = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`).startsWith(mounts);
        } catch {
          return false; // closed since it was listed
        }
      }).length;
    const before = fds();
    expect(before).toBeGreaterThan(0); // the mounts' own, held open
    for (let i = 0; i < 50; i++) {
      expect((await failure(() => files.rename({ from: '/data/a.txt', to: '/secret.txt' }))).code).toBe('EACCES');
      expect((await failure(() => files.rename({ from: '/data/a.txt', to: '/data' }))).code).toBe('EBUSY');
    }
    expect(fds()).toBe(before);

    const { fd } = await open('/data/a.txt', O_RDONLY);
    const reads = Array.from({ length: 20 }, () => files.read({ fd, length: 6, position: 0 }));
    await files.close({ fd });
    for (const { attachment } of await Promise.all(reads)) expect(attachment.toString()).toBe('alpha\n');
    expect((await failure(() => files.read({ fd, length: 6 }))).code).toBe('EBADF');
  });

  it('access for writing is EROFS in a session that may only read', async () => {
    files.writable = false;
    expect((await failure(() => files.access({ path: '/data/a.txt', mode: constants.W_OK }))).code).toBe('EROFS');
    expect((await failure(() => files.access({ path: '/data/a.txt', mode: constants.R_OK }))).code).toBe('ok');
  });

  it('never changes a mount point itself', async () => {
    expect((await failure(() => files.rmdir({ path: '/data' }))).code).toBe('EBUSY');
    expect((await failure(() => files.rename({ from: '/data', to: '/data/moved' }))).code).toBe('EBUSY');
  });

  it('in a session that may only read, refuses every change with EROFS and leaves the files as they were', async () => {
    files.writable = false;
    for (const flags of [O_WRONLY, O_CREAT, O_RDONLY | O_TRUNC]) {
      expect(await failure(() => open('/data/a.txt', flags))).toMatchObject({ code: 'EROFS', message: expect.stringMatching(/may only read/) });
    }
    expect((await failure(() => open('/data/created.txt', O_RDONLY | O_CREAT))).code).toBe('EROFS');
    expect((await failure(() => files.mkdir({ path: '/data/sub', mode: 0o755 }))).code).toBe('EROFS');
    expect((await failure(() => files.unlink({ path: '/data/a.txt' }))).code).toBe('EROFS');
    expect((await failure(() => files.rename({ from: '/data/a.txt', to: '/data/b.txt' }))).code).toBe('EROFS');
    expect((await failure(() => files.truncate({ path: '/data/a.txt', length: 0 }))).code).toBe('EROFS');
    expect((await failure(() => files.chmod({ path: '/data/a.txt', mode: 0o777 }))).code).toBe('EROFS');
    expect((await failure(() => files.utimes({ path: '/data/a.txt', atime: 'now', mtime: 'now' }))).code).toBe('EROFS');
    expect(readdirSync(join(root, 'data')).sort()).toEqual(['a.txt', 'dangling', 'to-a', 'to-root', 'to-secret']);
    expect(readFileSync(join(root, 'data/a.txt'), 'utf8')).toBe('alpha\n');
    expect((await open('/data/a.txt', O_RDONLY)).stat.size).toBe(6);
  });
});

describe('directory listings in pages', () => {
  let root: string;
  let files: Files;
  const names = Array.from({ length: 20_000 }, (_, i) => `${'n'.repeat(60)}-${i}`);

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'mirrord-listing-'));
    mkdirSync(join(root, 'data/many'), { recursive: true });
    for (const name of names) writeFileSync(join(root, 'data/many', name), '');
    files = new Files(openRoot(root), ['/data']);
  });
  afterAll(() => {
    files.closeAll();
    rmSync(root, { recursive: true, force: true });
  });

  it('lists a large directory page by page, each page far below a frame, every entry once', async () => {
    const seen: string[] = [];
    let page = await files.readdir({ path: '/data/many' });
    let pages = 1;
    for (;;) {
      expect(JSON.stringify(page).length).toBeLessThan(MAX_FRAME / 2);
      seen.push(...page.entries.map((entry) => entry.name));
      if (page.cursor === undefined) break;
      page = await files.readdir({ path: '/data/many', cursor: page.cursor });
      pages++;
    }
    expect(pages).toBeGreaterThan(1);
    expect(seen.sort()).toEqual([...names].sort());
    // a finished listing's cursor is over
    expect(await failure(() => files.readdir({ path: '/data/many', cursor: 1 }))).toMatchObject({
      code: 'EINVAL',
      message: expect.stringMatching(/list again/),
    });
  });

  it('keeps a few unfinished listings, letting the oldest go first', async () => {
    const first = await files.readdir({ path: '/data/many' });
    for (let i = 0; i < 16; i++) await files.readdir({ path: '/data/many' });
    expect((await failure(() => files.readdir({ path: '/data/many', cursor: first.cursor }))).code).toBe('EINVAL');
  });
});

describe("a ticket's path rules", () => {
  let root: string;
  let files: Files;
  const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL } = constants;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'mirrord-paths-'));
    mkdirSync(join(root, 'data/secrets'), { recursive: true });
    writeFileSync(join(root, 'data/secrets/token'), 'hidden\n');
    writeFileSync(join(root, 'data/secrets/readme'), 'hidden too\n');
    writeFileSync(join(root, 'data/plain.txt'), 'plain\n');
    symlinkSync('secrets', join(root, 'data/alias'));
    mkdirSync(join(root, 'data/real'));
    writeFileSync(join(root, 'data/real/key'), 'hidden where it is\n');
    writeFileSync(join(root, 'data/real/other'), 'hidden where it is asked for\n');
    symlinkSync('real', join(root, 'data/shown'));
    files = new Files(openRoot(root), ['/data']);
    files.writable = true;
    files.pathRules = new FsPathRules({
      readOnly: [{ pattern: '^/data/plain', policy: 'p/ro' }],
      local: [],
      notFound: [
        { pattern: '^/data/secrets/', policy: 'p/hide' },
        { pattern: '^/data/real/key$', policy: 'p/hide' },
        { pattern: '^/data/shown/other$', policy: 'p/hide' },
      ],
    });
  });
  afterEach(() => {
    files.closeAll();
    rmSync(root, { recursive: true, force: true });
  });

  it('hides a directory a pattern covers as a directory, and what lies beneath it', async () => {
    expect((await failure(() => files.stat({ path: '/data/secrets', follow: false }))).code).toBe('ENOENT');
    expect((await failure(() => files.readdir({ path: '/data/alias' }))).code).toBe('ENOENT');
    expect((await failure(() => files.open({ path: '/data/alias/token', flags: O_RDONLY }))).code).toBe('ENOENT');
    expect((await files.readdir({ path: '/data' })).entries.map(({ name }) => name).sort()).toEqual(['alias', 'plain.txt', 'real', 'shown']);
  });

  it('leaves a hidden name out of a listing whether the directory was named as asked or as it resolved', async () => {
    expect((await files.readdir({ path: '/data/real' })).entries.map(({ name }) => name).sort()).toEqual(['other']);
    expect((await files.readdir({ path: '/data/shown' })).entries.map(({ name }) => name)).toEqual([]);
  });

  it('renames files, never a directory (EXDEV: mv copies it file by file), so nothing beneath one slips out from under a rule', async () => {
    mkdirSync(join(root, 'data/dir'));
    expect(await failure(() => files.rename({ from: '/data/dir', to: '/data/moved' }))).toMatchObject({
      code: 'EXDEV',
      message: expect.stringContaining('directories are not renamed in a session held to path rules'),
    });
    writeFileSync(join(root, 'data/file.txt'), 'f\n');
    expect((await failure(() => files.rename({ from: '/data/file.txt', to: '/data/dir', flags: 2 }))).code).toBe('EXDEV');
    await files.rename({ from: '/data/file.txt', to: '/data/dir/file.txt' });
    expect(readFileSync(join(root, 'data/dir/file.txt'), 'utf8')).toBe('f\n');
  });

  it('creates nothing under a hidden path, and changes nothing read-only, however the open is asked', async () => {
    for (const flags of [O_WRONLY | O_CREAT, O_WRONLY | O_CREAT | O_EXCL]) {
      expect((await failure(() => files.open({ path: '/data/alias/new', flags, mode: 0o644 }))).code).toBe('ENOENT');
    }
    expect(existsSync(join(root, 'data/secrets/new'))).toBe(false);
    expect((await failure(() => files.open({ path: '/data/plain.txt', flags: O_WRONLY }))).code).toBe('EROFS');
    expect(await failure(() => files.truncate({ path: '/data/plain.txt', length: 0 }))).toMatchObject({
      code: 'EROFS',
      message: expect.stringContaining('p/ro'),
    });
    expect((await failure(() => files.access({ path: '/data/plain.txt', mode: constants.W_OK }))).code).toBe('EROFS');
    expect((await failure(() => files.unlink({ path: '/data/plain.txt' }))).code).toBe('EROFS');
    expect(readFileSync(join(root, 'data/plain.txt'), 'utf8')).toBe('plain\n');
    const { fd } = await files.open({ path: '/data/plain.txt', flags: O_RDONLY });
    await files.close({ fd });
  });
});
