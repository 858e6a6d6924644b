import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import { issueServingPair } from '../../common/certs/authority';
import { createLogger } from '../../common/log';
import { AppCertificate } from './app-certificate';

describe("the app's certificate", () => {
  let dir: string;
  let now = 0;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mirrord-cert-'));
    now = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (cert: string, key: string, mtime: number) => {
    for (const [name, text] of [
      ['tls.crt', cert],
      ['tls.key', key],
    ]) {
      writeFileSync(join(dir, name!), text!);
      utimesSync(join(dir, name!), mtime, mtime);
    }
  };

  it('is read from the Secret files, again once they change, and says why when they are missing or unusable', () => {
    const certificate = new AppCertificate(
      dir,
      createLogger('error', {}, () => true),
      () => now,
    );
    expect(certificate.current()).toBeUndefined();
    expect(certificate.why()).toMatch(/^the app's certificate in .* is missing: ENOENT/);

    const first = issueServingPair(['app.test'], 1);
    write(first.certPem, first.keyPem, 1000);
    expect(certificate.current()).toBeUndefined(); // looked at no more than once per 10 s
    now += 10_000;
    const context = certificate.current();
    expect(context).toBeDefined();
    // A real handshake with it: the client sees the certificate the files hold.
    // As the filtered steal uses it: a server-side TLS socket over an accepted connection.
    const server = net.createServer((socket) => new tls.TLSSocket(socket, { isServer: true, secureContext: context! }).on('error', () => undefined));
    return new Promise<void>((resolve, reject) => {
      server.listen(0, '127.0.0.1', () => {
        const client = tls.connect({ port: (server.address() as { port: number }).port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
          try {
            expect(client.getPeerX509Certificate()?.toString()).toBe(new X509Certificate(first.certPem).toString());
          } catch (error) {
            reject(error as Error);
          }
          client.destroy();
          server.close();
          const second = issueServingPair(['app.test'], 1);
          write(second.certPem, first.keyPem, 2000); // a key of another certificate
          now += 10_000;
          expect(certificate.current()).toBeUndefined();
          expect(certificate.why()).toMatch(/is not a certificate and key that go together/);
          write(second.certPem, second.keyPem, 3000);
          now += 10_000;
          expect(certificate.current()).toBeDefined();
          resolve();
        });
        client.on('error', reject);
      });
    });
  });
});
