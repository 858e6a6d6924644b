/**
 * The pod's boundaries for files, enforced by the sidecar itself: a session changes files only
 * when it said it may write.
 */
import { constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { layerSuite } from './suite';

jest.setTimeout(60_000);

const { O_RDONLY, O_WRONLY, O_CREAT, O_TRUNC } = constants;

describe("the pod's files, within the pod's bounds", () => {
  const suite = layerSuite();
  const inPod = (path: string) => join(suite.pod.appRoot, path);

  describe('a session on its own (no layer)', () => {
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
});
