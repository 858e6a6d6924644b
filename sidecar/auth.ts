/**
 * `auth: required`: the operator's public keys (a JSON Web Key Set in a file, mounted from a
 * ConfigMap or Secret, so the sidecar needs no Kubernetes credentials; and the set the webhook
 * saw at admission, from the environment) and the tickets already used on this sidecar. The file
 * is re-read when a ticket is checked and the last read is a second old (the kubelet updates
 * mounted volumes in place, so keys rotate without restarting pods: a key rotated out is refused
 * from the next hello on), and when a ticket names a key id it doesn't know. Read on use, not
 * polled: an idle sidecar reads nothing.
 */
import { readFileSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { ErrorCode, RemoteError } from '../protocol/errors';
import { acceptedUntil, parseJwks, readTicketHeader, verifyTicket, type TicketClaims } from '../protocol/ticket';
import type { Logger } from '../common/log';

/**
 * The key file is read again for a ticket checked this long after the last read, and no more
 * often than this for unknown key ids (forged tickets can't make the sidecar read in a loop).
 */
const READ_INTERVAL_MS = 1000;
/** The most ticket ids remembered; beyond it the sidecar refuses new tickets until old ones expire. */
const MAX_REMEMBERED = 100_000;

export class TicketKeyring {
  private keys = new Map<string, KeyObject>();
  /** Why the file could not be read the last time it was, while no keys are known. */
  private problem: string | undefined;
  private loadedAt = 0;
  /** The re-read an unknown key id is waiting for, shared by every hello that waits. */
  private reloading?: Promise<void>;

  /** The keys from the environment: the pod's keys until the file first reads (the kubelet mounts it a little later). */
  private readonly inline: Map<string, KeyObject>;

  constructor(
    private readonly file: string,
    private readonly log: Logger,
    inlineKeys?: string,
    private readonly now: () => number = Date.now,
  ) {
    this.inline = this.parseInline(inlineKeys);
    this.keys = new Map(this.inline);
    this.load('start');
  }

  /**
   * The keys to verify a ticket signed with `kid` against, re-reading the file first if it is new
   * to us: at once, or when the last read is a second old (a ticket of a key rotated in just after
   * another read waits for the next one rather than being refused).
   */
  async keysFor(kid: string): Promise<ReadonlyMap<string, KeyObject>> {
    // By path (not an open file): the kubelet swaps a symlink to a new directory on update.
    const stale = this.now() - this.loadedAt >= READ_INTERVAL_MS;
    if (stale) this.load('a ticket to check');
    // Unknown after the read just made: refused at once; else the next read is waited for.
    if (!stale && !this.keys.has(kid)) await this.reloadFor(kid);
    if (this.keys.size === 0) {
      throw new RemoteError(ErrorCode.Auth, `ticket refused: this sidecar has no operator keys (${this.problem ?? 'the key set is empty'})`);
    }
    return this.keys;
  }

  /** A bad value must not stop the sidecar (the app's pod waits for it): the file may still bring keys. */
  private parseInline(text: string | undefined): Map<string, KeyObject> {
    if (text === undefined) return new Map();
    try {
      return parseJwks(text);
    } catch (error) {
      this.log.warn("ignoring the key set from the environment (the webhook's copy): it can't be read", { error: (error as Error).message });
      return new Map();
    }
  }

  private reloadFor(kid: string): Promise<void> {
    this.reloading ??= (async () => {
      const wait = this.loadedAt + READ_INTERVAL_MS - this.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait).unref());
      if (!this.keys.has(kid)) this.load(`unknown key id "${kid}"`);
    })().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private load(why: string): void {
    this.loadedAt = this.now();
    try {
      // Once the file reads, it is the whole truth: a key rotated out of it (a leaked one) goes,
      // even one this pod was given at admission.
      const keys = parseJwks(readFileSync(this.file, 'utf8'));
      const before = [...this.keys.keys()].join(',');
      this.keys = keys;
      this.problem = undefined;
      const after = [...keys.keys()].join(',');
      if (after !== before) this.log.info('operator keys loaded', { why, kids: [...keys.keys()] });
    } catch (error) {
      // A half-written or briefly missing file keeps the keys we have.
      this.problem = `${this.file}: ${(error as Error).message}`;
      this.log.warn(`could not read the operator's keys, keeping the ${this.keys.size} known`, { why, error: this.problem });
    }
  }
}

/** Verifies hellos' tickets for one pod; each ticket's session id is accepted once. */
export class TicketVerifier {
  /** Session ids already used, with the moment their tickets stop being accepted anyway. */
  private readonly used = new Map<string, number>();

  constructor(
    private readonly keyring: TicketKeyring,
    private readonly podUid: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The claims of a valid, unused ticket (its id is then used), or a RemoteError (EAUTH) with the reason. */
  async accept(token: string): Promise<TicketClaims> {
    const { kid } = readTicketHeader(token);
    const keys = await this.keyring.keysFor(kid);
    const now = this.now();
    const claims = verifyTicket(token, keys, { podUid: this.podUid, now });
    this.forgetExpired(now);
    if (this.used.has(claims.session)) {
      throw new RemoteError(
        ErrorCode.Auth,
        `ticket refused: session ${claims.session} already attached with it (a ticket is good for one session: ask the operator for a new one)`,
      );
    }
    if (this.used.size >= MAX_REMEMBERED)
      throw new RemoteError(ErrorCode.Auth, 'ticket refused: too many recent tickets on this sidecar; try again in a minute');
    this.used.set(claims.session, acceptedUntil(claims));
    return claims;
  }

  private forgetExpired(now: number): void {
    for (const [session, until] of this.used) if (until < now) this.used.delete(session);
  }
}
