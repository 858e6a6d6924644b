/**
 * The pod's boundaries for files, enforced by the sidecar itself: a session reaches only the
 * app's mounts (the whole root only with the opt-in), changes files only when it said it may
 * write, and a write that can't land fails at the call that can tell, not only at close().
 */
import { constants, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { constants as os } from 'node:os';
import { join } from 'node:path';
import { layerSuite } from './suite';

jest.setTimeout(60_000);

const { O_RDONLY, O_WRONLY, O_CREAT, O_TRUNC } = constants;

describe("the pod's files, within the pod's bounds", () => {
  const suite = layerSuite();
  const inPod = (path: string) => join(suite.pod.appRoot, path);

  /** A volume at the pod's `path` (under its /srv mount) for the test's length: one that can be full, or read-only. */
  async function withVolume(
    path: string,
    options: string,
    test: (volume: { dir: string; remount(options: string): Promise<void> }) => Promise<void>,
  ): Promise<void> {
    const volume = await suite.pod.mountVolume(path, options);
    try {
      await test(volume);
    } finally {
      await volume.unmount();
      rmSync(inPod('srv'), { recursive: true, force: true });
    }
  }

  describe('a session on its own (no layer)', () => {
    beforeAll(() => {
      writeFileSync(inPod('notmount.txt'), 'in the app root, outside the mounts\n');
      writeFileSync(inPod('etc/hostname'), 'beside the mount\n');
      symlinkSync('/', inPod('etc/config/to-root'));
    });
    afterAll(() => {
      for (const path of ['notmount.txt', 'evil-root.txt', 'etc/hostname', 'etc/config/to-root']) rmSync(inPod(path), { force: true });
    });

    it("reads and writes nothing outside the app's mounts, whatever .. or a symlink says", async () => {
      const client = await suite.pod.connect({ fs: 'write' });
      await expect(client.readFile('/etc/config/../../notmount.txt')).rejects.toMatchObject({
        code: 'EACCES',
        message: "/etc/config/../../notmount.txt is not under the app's mounts (/etc/config, /srv): the sidecar serves only those",
      });
      await expect(client.call('fs.open', { path: '/etc/config/../../evil-root.txt', flags: O_WRONLY | O_CREAT })).rejects.toMatchObject({ code: 'EACCES' });
      await expect(client.writeFile('/etc/config/to-root/evil-root.txt', Buffer.from('evil\n'))).rejects.toMatchObject({
        code: 'EACCES',
        message: expect.stringMatching(/leads outside the app's mounts/),
      });
      // a symlink under the mount whose target, beneath the root, is beside the mount
      await expect(client.readFile('/etc/config/escape-absolute')).rejects.toMatchObject({ code: 'EACCES' });
      await expect(client.call('fs.stat', { path: '/etc/hostname', follow: true })).rejects.toMatchObject({ code: 'EACCES' });
      expect(existsSync(inPod('evil-root.txt'))).toBe(false);
      expect(await client.readFile('/etc/config/app.yaml')).toEqual(Buffer.from('greeting: hello from the pod\n'));
      expect(suite.pod.sidecarLog).toMatch(/refused fs\.open: \/etc\/config\/\.\.\/\.\.\/evil-root\.txt is not under the app's mounts/);
    });

    it('serves the whole app root with the opt-in (MIRRORD_SERVE_WHOLE_ROOT)', async () => {
      await suite.pod.restartSidecar({ MIRRORD_SERVE_WHOLE_ROOT: 'true' });
      try {
        const client = await suite.pod.connect();
        expect((await client.readFile('/etc/config/../../notmount.txt')).toString()).toBe('in the app root, outside the mounts\n');
        expect((await client.readFile('/etc/config/escape-absolute')).toString()).toBe('beside the mount\n');
        expect(client.info.mounts).toEqual(['/etc/config', '/srv']);
      } finally {
        await suite.pod.restartSidecar();
      }
    });

    it('changes nothing for a session that did not ask to write, as the protocol defaults to', async () => {
      for (const fs of [undefined, 'read' as const]) {
        const client = await suite.pod.connect({ fs });
        for (const flags of [O_WRONLY | O_CREAT, O_RDONLY | O_CREAT, O_RDONLY | O_TRUNC]) {
          await expect(client.call('fs.open', { path: '/etc/config/app.yaml', flags })).rejects.toMatchObject({
            code: 'EROFS',
            message: expect.stringMatching(/may only read the pod's files/),
          });
        }
        await expect(client.call('fs.open', { path: '/etc/config/created.txt', flags: O_WRONLY | O_CREAT })).rejects.toMatchObject({ code: 'EROFS' });
        await expect(client.call('fs.mkdir', { path: '/etc/config/dir', mode: 0o755 })).rejects.toMatchObject({ code: 'EROFS' });
        await expect(client.call('fs.unlink', { path: '/etc/config/app.yaml' })).rejects.toMatchObject({ code: 'EROFS' });
        await expect(client.call('fs.truncate', { path: '/etc/config/app.yaml', length: 0 })).rejects.toMatchObject({ code: 'EROFS' });
        expect(existsSync(inPod('etc/config/created.txt'))).toBe(false);
        expect(readFileSync(inPod('etc/config/app.yaml'), 'utf8')).toBe('greeting: hello from the pod\n');
        expect((await client.readFile('/etc/config/app.yaml')).toString()).toBe('greeting: hello from the pod\n');
      }
    });
  });

  describe('programs under the layer', () => {
    it('a read_only pattern beyond the mounts is refused by the pod', async () => {
      mkdirSync(inPod('opt'));
      writeFileSync(inPod('opt/app.conf'), 'outside the mounts\n');
      try {
        await suite.attach({ fs: { mode: 'read', readOnly: ['^/opt/'] } });
        const result = await suite.run('cat', ['/opt/app.conf']);
        expect(result).toMatchObject({ code: 1, stdout: '' });
        expect(result.stderr).toMatch(/Permission denied/);
      } finally {
        rmSync(inPod('opt'), { recursive: true, force: true });
      }
    });

    it('in read mode, a read_write pattern writes its paths in the pod', async () => {
      mkdirSync(inPod('srv/out'), { recursive: true });
      try {
        await suite.attach({ fs: { mode: 'read', readWrite: ['^/srv/out/'] } });
        expect(await suite.run('sh', ['-c', 'echo report > /srv/out/r.txt'])).toMatchObject({ code: 0, stderr: '' });
        expect(readFileSync(inPod('srv/out/r.txt'), 'utf8')).toBe('report\n');
      } finally {
        rmSync(inPod('srv'), { recursive: true, force: true });
      }
    });

    it('opening for writing a file on a read-only volume fails at open(), and the volume is untouched', async () => {
      await withVolume('srv/ro', 'size=1m', async (volume) => {
        writeFileSync(join(volume.dir, 'kept.txt'), 'as it was\n');
        await volume.remount('ro');
        await suite.attach({ fs: { mode: 'write' } });
        // sh never checks close(): only a failed open stops it
        const shell = await suite.run('sh', ['-c', 'echo lost > /srv/ro/new.txt; echo "open: $?"']);
        expect(shell.stdout).toBe('open: 2\n');
        expect(shell.stderr).toMatch(/Read-only file system/);
        const python = await suite.run('python3', ['-c', 'try:\n  open("/srv/ro/kept.txt", "a")\nexcept OSError as e:\n  print("open", e.errno)']);
        expect(python).toMatchObject({ stdout: `open ${os.errno.EROFS}\n`, stderr: '' });
        expect(existsSync(join(volume.dir, 'new.txt'))).toBe(false);
        expect(readFileSync(join(volume.dir, 'kept.txt'), 'utf8')).toBe('as it was\n');
      });
    });

    it('a write the pod has no room for fails at fsync(), and at close() again', async () => {
      await withVolume('srv/small', 'size=64k', async () => {
        await suite.attach({ fs: { mode: 'write' } });
        const script = [
          'import os',
          'f = open("/srv/small/big.bin", "wb")',
          'f.write(b"x" * 1_000_000); f.flush()',
          'for name, call in (("fsync", lambda: os.fsync(f.fileno())), ("close", f.close)):',
          '  try:',
          '    call(); print(name, "ok")',
          '  except OSError as e:',
          '    print(name, e.errno)',
        ].join('\n');
        const result = await suite.run('python3', ['-c', script]);
        const { ENOSPC } = os.errno;
        expect(result).toMatchObject({ stdout: `fsync ${ENOSPC}\nclose ${ENOSPC}\n`, stderr: '' });
      });
    });
  });
});
