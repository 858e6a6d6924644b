import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../common/log';
import { publicJwk, signTicket, type TicketClaims } from '../protocol/ticket';
import { TicketKeyring, TicketVerifier } from './auth';

const UID = 'pod-uid-1';

describe('ticket keys and verification', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mirrord-auth-'));
  const file = join(dir, 'jwks.json');
  const lines: string[] = [];
  const log = createLogger('debug', {}, (line) => lines.push(line) > 0);
  const first = generateKeyPairSync('ed25519');
  const second = generateKeyPairSync('ed25519');
  let clock = 1_800_000_000_000;
  const now = () => clock;
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const ticket = (kid: string, key = first.privateKey, more: Partial<TicketClaims> = {}) =>
    signTicket(
      {
        v: 1,
        sub: 'alice',
        groups: [],
        pod: { uid: UID, namespace: 'ns', name: 'p' },
        session: randomUUID(),
        iat: Math.floor(clock / 1000),
        exp: Math.floor(clock / 1000) + 60,
        allow: { incoming: { steal: true, stealWithoutFilter: true, mirror: true }, fs: 'read', env: { exclude: [] } },
        policies: [],
        ...more,
      },
      key,
      kid,
    );
  const setup = (keys: object[]) => {
    writeFileSync(file, JSON.stringify({ keys }));
    const keyring = new TicketKeyring(file, log, undefined, now);
    return new TicketVerifier(keyring, UID, now);
  };

  it('accepts a ticket once, and forgets its id only once it could no longer be accepted', async () => {
    const verifier = setup([publicJwk(first.publicKey, 'a')]);
    const token = ticket('a');
    expect((await verifier.accept(token)).sub).toBe('alice');
    await expect(verifier.accept(token)).rejects.toThrow(/already attached with it/);
    clock += 89_000;
    await expect(verifier.accept(token)).rejects.toThrow(/already attached with it/);
    clock += 2000;
    await expect(verifier.accept(token)).rejects.toThrow(/expired 31 s ago/);
  });

  it("verifies with the webhook's copy of the keys until the kubelet mounts the file, then with the file's keys only", async () => {
    rmSync(file, { force: true });
    const keyring = new TicketKeyring(file, log, JSON.stringify({ keys: [publicJwk(first.publicKey, 'a')] }), now);
    const verifier = new TicketVerifier(keyring, UID, now);
    expect((await verifier.accept(ticket('a'))).sub).toBe('alice');
    writeFileSync(file, JSON.stringify({ keys: [publicJwk(second.publicKey, 'b')] }));
    clock += 1000;
    expect((await verifier.accept(ticket('b', second.privateKey))).sub).toBe('alice');
    // From then on the file is the whole truth: a key rotated out of it is refused, even the pod's first.
    clock += 1000;
    await expect(verifier.accept(ticket('a'))).rejects.toThrow(/unknown key id "a"/);
    // a copy that can't be read is ignored, not fatal: the file still counts
    const damaged = new TicketKeyring(file, log, '{"keys": "nope"}', now);
    expect((await new TicketVerifier(damaged, UID, now).accept(ticket('b', second.privateKey))).sub).toBe('alice');
  });

  it('re-reads the key file when a ticket is checked a second after the last read: a key rotated out is refused from then on', async () => {
    const verifier = setup([publicJwk(first.publicKey, 'a')]);
    expect((await verifier.accept(ticket('a'))).sub).toBe('alice');
    writeFileSync(file, JSON.stringify({ keys: [publicJwk(second.publicKey, 'b')] }));
    clock += 999;
    expect((await verifier.accept(ticket('a'))).sub).toBe('alice');
    clock += 1;
    await expect(verifier.accept(ticket('a'))).rejects.toThrow(/unknown key id "a"/);
  });

  it('re-reads the key file for an unknown key id, waiting until the last read is a second old, once for all who wait', async () => {
    const verifier = setup([publicJwk(first.publicKey, 'a')]);
    writeFileSync(file, JSON.stringify({ keys: [publicJwk(second.publicKey, 'b')] }));
    clock += 500;
    // read half a second ago: this one waits for the next read instead of being refused
    expect((await verifier.accept(ticket('b', second.privateKey))).sub).toBe('alice');
    await expect(verifier.accept(ticket('a'))).rejects.toThrow(/unknown key id "a"/);
    // forged key ids all wait for the same read: they can't make the sidecar read in a loop
    const started = Date.now();
    const forged = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        verifier.accept(ticket(`forged-${i}`)).then(
          () => 'accepted',
          (error: Error) => error.message,
        ),
      ),
    );
    expect(forged.every((message) => /unknown key id "forged-/.test(message))).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000); // one read (at most a second away), not ten
  });

  it('keeps the keys it has when the file is broken, and says why it has none', async () => {
    const verifier = setup([publicJwk(first.publicKey, 'a')]);
    writeFileSync(file, '{"keys": [');
    clock += 1000;
    await expect(verifier.accept(ticket('z'))).rejects.toThrow(/unknown key id "z"/);
    expect((await verifier.accept(ticket('a'))).sub).toBe('alice');
    expect(lines.some((line) => line.includes('keeping the 1 known'))).toBe(true);
    const empty = setup([]);
    await expect(empty.accept(ticket('a'))).rejects.toThrow(/this sidecar has no operator keys \(the key set is empty\)/);
    rmSync(file);
    clock += 1000;
    await expect(empty.accept(ticket('a'))).rejects.toThrow(/no operator keys \(.*jwks\.json: ENOENT/);
  });
});
