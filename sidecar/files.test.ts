import {
  chmodSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Files, openRoot } from './files';

/** What `work` threw (its code and message), or code `ok`. */
function failure(work: () => unknown): { code?: string; message?: string } {
  try {
    work();
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

  const code = (work: () => unknown) => failure(work).code;

  it('mkdir, rename, truncate, chmod, utimes, unlink and rmdir act on the app root', () => {
    files.mkdir({ path: '/data/sub', mode: 0o750 });
    expect(statSync(join(root, 'data/sub')).isDirectory()).toBe(true);
    files.rename({ from: '/data/a.txt', to: '/data/sub/b.txt' });
    expect(readFileSync(join(root, 'data/sub/b.txt'), 'utf8')).toBe('alpha\n');
    files.truncate({ path: '/data/sub/b.txt', length: 2 });
    expect(readFileSync(join(root, 'data/sub/b.txt'), 'utf8')).toBe('al');
    files.chmod({ path: '/data/sub/b.txt', mode: 0o600 });
    expect(statSync(join(root, 'data/sub/b.txt')).mode & 0o777).toBe(0o600);
    files.utimes({ path: '/data/sub/b.txt', atime: 'omit', mtime: 1_000_000_000_000 });
    expect(statSync(join(root, 'data/sub/b.txt')).mtimeMs).toBe(1_000_000_000_000);
    expect(files.statfs({ path: '/data' }).statfs.bsize).toBeGreaterThan(0);
    files.unlink({ path: '/data/sub/b.txt' });
    files.rmdir({ path: '/data/sub' });
    expect(readdirSync(join(root, 'data')).sort()).toEqual(['escape', 'escape-relative']);
  });

  it('rename with RENAME_NOREPLACE refuses to replace, as renameat2 does', () => {
    writeFileSync(join(root, 'data/b.txt'), 'beta\n');
    expect(code(() => files.rename({ from: '/data/a.txt', to: '/data/b.txt', flags: 1 }))).toBe('EEXIST');
    expect(readFileSync(join(root, 'data/b.txt'), 'utf8')).toBe('beta\n');
  });

  it('a symlink pointing out of the root is itself removed or renamed, never what it names', () => {
    files.unlink({ path: '/data/escape' });
    expect(existsSync(outside)).toBe(true);
    files.rename({ from: '/data/escape-relative', to: '/data/moved' });
    expect(lstatSync(join(root, 'data/moved')).isSymbolicLink()).toBe(true);
    expect(existsSync(outside)).toBe(true);
  });

  it('chmod, truncate and utimes through a symlink resolve it inside the root, so the file outside stays as it was', () => {
    // /outside.txt does not exist beneath the root: the link's target is looked up there
    expect(code(() => files.chmod({ path: '/data/escape', mode: 0o777 }))).toBe('ENOENT');
    expect(code(() => files.truncate({ path: '/data/escape-relative', length: 0 }))).toBe('ENOENT');
    expect(code(() => files.utimes({ path: '/data/escape', atime: 'now', mtime: 'now' }))).toBe('ENOENT');
    expect(statSync(outside).mode & 0o777).toBe(0o644);
    expect(readFileSync(outside, 'utf8')).toBe("not the app's\n");
  });

  it('refuses paths that climb out of the root, and changing the root itself', () => {
    expect(code(() => files.mkdir({ path: '/../evil', mode: 0o755 }))).toBe('EXDEV');
    expect(code(() => files.rename({ from: '/data/a.txt', to: '/../../stolen.txt' }))).toBe('EXDEV');
    expect(code(() => files.rmdir({ path: '/' }))).toBe('EBUSY');
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

  it('refuses a path that is not under a mount once normalised, naming the mounts', () => {
    expect(failure(() => open('/data/../secret.txt', O_RDONLY))).toEqual({
      code: 'EACCES',
      message: "/data/../secret.txt is not under the app's mounts (/data): the sidecar serves only those",
    });
    expect(failure(() => files.stat({ path: '/secret.txt', follow: true })).code).toBe('EACCES');
    expect(failure(() => files.readdir({ path: '/' })).code).toBe('EACCES');
    expect(failure(() => open('/data/../evil.txt', O_WRONLY | O_CREAT)).code).toBe('EACCES');
    expect(existsSync(join(root, 'evil.txt'))).toBe(false);
  });

  it('refuses a symlink under a mount that leads outside the mounts, and follows one that stays', () => {
    expect(failure(() => open('/data/to-secret', O_RDONLY))).toMatchObject({
      code: 'EACCES',
      message: expect.stringMatching(/leads outside the app's mounts/),
    });
    expect(failure(() => open('/data/to-secret', O_WRONLY | O_TRUNC)).code).toBe('EACCES');
    expect(readFileSync(join(root, 'secret.txt'), 'utf8')).toBe('not a mount\n');
    expect(failure(() => open('/data/to-root/evil.txt', O_WRONLY | O_CREAT)).code).toBe('EACCES');
    expect(failure(() => files.mkdir({ path: '/data/to-root/evil', mode: 0o755 })).code).toBe('EACCES');
    // where a dangling link would lead is not looked at: nothing is created through it
    expect(failure(() => open('/data/dangling', O_WRONLY | O_CREAT)).code).toBe('ELOOP');
    expect(readdirSync(root).sort()).toEqual(['data', 'secret.txt']);
    // the link itself is under the mount: it may be read as a link
    expect(files.readlink({ path: '/data/to-secret' }).target).toBe('/secret.txt');
    expect(files.open({ path: '/data/to-a', flags: O_RDONLY }).stat.size).toBe(6);
  });

  it('creates, truncates and refuses as open(2) does, under a mount', () => {
    const created = open('/data/new.txt', O_WRONLY | O_CREAT | O_EXCL);
    expect(created.stat.size).toBe(0);
    expect(failure(() => open('/data/new.txt', O_WRONLY | O_CREAT | O_EXCL)).code).toBe('EEXIST');
    expect(failure(() => open('/data/to-a', O_RDONLY | O_NOFOLLOW)).code).toBe('ELOOP');
    expect(open('/data/a.txt', O_RDONLY | O_NOFOLLOW).stat.size).toBe(6);
    open('/data/a.txt', O_WRONLY | O_TRUNC);
    expect(readFileSync(join(root, 'data/a.txt'), 'utf8')).toBe('');
  });

  it('never changes a mount point itself', () => {
    expect(failure(() => files.rmdir({ path: '/data' })).code).toBe('EBUSY');
    expect(failure(() => files.rename({ from: '/data', to: '/data/moved' })).code).toBe('EBUSY');
  });

  it('in a session that may only read, refuses every change with EROFS and leaves the files as they were', () => {
    files.writable = false;
    for (const flags of [O_WRONLY, O_CREAT, O_RDONLY | O_TRUNC]) {
      expect(failure(() => open('/data/a.txt', flags))).toMatchObject({ code: 'EROFS', message: expect.stringMatching(/may only read/) });
    }
    expect(failure(() => open('/data/created.txt', O_RDONLY | O_CREAT)).code).toBe('EROFS');
    expect(failure(() => files.mkdir({ path: '/data/sub', mode: 0o755 })).code).toBe('EROFS');
    expect(failure(() => files.unlink({ path: '/data/a.txt' })).code).toBe('EROFS');
    expect(failure(() => files.rename({ from: '/data/a.txt', to: '/data/b.txt' })).code).toBe('EROFS');
    expect(failure(() => files.truncate({ path: '/data/a.txt', length: 0 })).code).toBe('EROFS');
    expect(failure(() => files.chmod({ path: '/data/a.txt', mode: 0o777 })).code).toBe('EROFS');
    expect(failure(() => files.utimes({ path: '/data/a.txt', atime: 'now', mtime: 'now' })).code).toBe('EROFS');
    expect(readdirSync(join(root, 'data')).sort()).toEqual(['a.txt', 'dangling', 'to-a', 'to-root', 'to-secret']);
    expect(readFileSync(join(root, 'data/a.txt'), 'utf8')).toBe('alpha\n');
    expect(open('/data/a.txt', O_RDONLY).stat.size).toBe(6);
  });
});
