import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Files, openRoot } from './files';

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
    files = new Files(openRoot(root) as number);
    files.writable = true;
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  const code = (work: () => unknown) => {
    try {
      work();
    } catch (error) {
      return (error as { code?: string }).code;
    }
    return 'ok';
  };

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
