/**
 * Remote files for the layer. A remote file opened for reading is copied into a private cache
 * (a fresh copy per open, so an fd already reading an older copy is never disturbed), and the
 * layer opens the copy: read, lseek, fstat and mmap then need nothing more. A remote directory
 * is materialised as a directory of placeholders so readdir works; stat of its entries asks
 * the pod again.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Client } from '../../protocol/client';
import { errnoNumber } from './errno';

export class RemoteFiles {
  private counter = 0;

  constructor(
    private readonly client: Client,
    private readonly cacheRoot: string,
  ) {
    mkdirSync(cacheRoot, { recursive: true });
  }

  async open(path: string): Promise<string> {
    return this.answer(async () => {
      const content = await this.client.readFile(path);
      const copy = join(this.cacheRoot, `${++this.counter}-${basename(path)}`);
      writeFileSync(copy, content, { mode: 0o600 });
      return `path\t${copy}`;
    });
  }

  async opendir(path: string): Promise<string> {
    return this.answer(async () => {
      const { entries } = (await this.client.call('fs.readdir', { path })).result;
      const dir = mkdtempSync(join(this.cacheRoot, 'dir-'));
      for (const entry of entries) {
        const at = join(dir, entry.name);
        if (entry.type === 'dir') mkdirSync(at);
        else if (entry.type === 'link') symlinkSync((await this.client.call('fs.readlink', { path: join(path, entry.name) })).result.target, at);
        else writeFileSync(at, '');
      }
      return `path\t${dir}`;
    });
  }

  async stat(path: string, follow: boolean): Promise<string> {
    return this.answer(async () => {
      const { stat: s } = (await this.client.call('fs.stat', { path, follow })).result;
      const fields = [s.dev, s.ino, s.mode, s.nlink, s.uid, s.gid, s.rdev, s.size, s.blksize, s.blocks, s.atimeMs, s.mtimeMs, s.ctimeMs];
      return `ok\t${fields.map((n) => Math.trunc(n)).join('\t')}`;
    });
  }

  async access(path: string, mode: number): Promise<string> {
    return this.answer(async () => {
      await this.client.call('fs.access', { path, mode });
      return 'ok';
    });
  }

  async readlink(path: string): Promise<string> {
    return this.answer(async () => `ok\t${(await this.client.call('fs.readlink', { path })).result.target}`);
  }

  dispose(): void {
    rmSync(this.cacheRoot, { recursive: true, force: true });
  }

  private async answer(work: () => Promise<string>): Promise<string> {
    try {
      return await work();
    } catch (error) {
      return `error\t${errnoNumber((error as { code?: string }).code)}`;
    }
  }
}
