/**
 * The certificate the app serves, with which filtered steals terminate its TLS: read from the
 * files of the Secret the pod names (mirrord.dev/tls-secret, mounted by the webhook), and read
 * again when they change (the kubelet updates a mounted Secret in place), looked at no more than
 * once per CHECK_MS.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import type { Logger } from '../../common/log';

const CHECK_MS = 10_000;

export class AppCertificate {
  private context?: tls.SecureContext;
  /** The files' modification times when last read. */
  private version = '';
  private checkedAt = -Infinity;
  /** Why there is no context, for the notice a session gets. */
  private problem = 'not read yet';

  constructor(
    private readonly dir: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The context to terminate the app's TLS with; undefined while the files are missing or unusable (see `why`). */
  current(): tls.SecureContext | undefined {
    if (this.now() - this.checkedAt < CHECK_MS) return this.context;
    this.checkedAt = this.now();
    const files = [join(this.dir, 'tls.crt'), join(this.dir, 'tls.key')] as const;
    let version: string;
    try {
      version = files.map((file) => statSync(file).mtimeMs).join('/');
    } catch (error) {
      return this.fail(`${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable'}: ${(error as Error).message}`);
    }
    if (version === this.version) return this.context;
    this.version = version;
    try {
      this.context = tls.createSecureContext({ cert: readFileSync(files[0]), key: readFileSync(files[1]) });
      this.log.info("the app's TLS certificate is loaded: filtered steals read its HTTPS requests", { dir: this.dir });
      return this.context;
    } catch (error) {
      return this.fail(`not a certificate and key that go together: ${(error as Error).message}`);
    }
  }

  /** Why current() has no context. */
  why(): string {
    return `the app's certificate in ${this.dir} is ${this.problem}`;
  }

  private fail(problem: string): undefined {
    if (problem !== this.problem)
      this.log.warn(`the app's TLS certificate can't be used; TLS connections reach the app unfiltered`, { dir: this.dir, problem });
    this.problem = problem;
    this.context = undefined;
    this.version = '';
    return undefined;
  }
}
