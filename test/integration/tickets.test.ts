import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicJwk, signTicket, type TicketAllow, type TicketClaims } from '../../protocol/ticket';
import { eventually } from '../harness/eventually';
import { SERVICE_IP, SERVICE_NAME } from '../harness/netns';
import { APP_PORT, forwardIncoming, startLocalServer, TestPod } from '../harness/pod';
import { createLogger } from '../../common/log';
import { startLayerProxy } from '../../intproxy/proxy';
import { run } from '../harness/run';
import { LAYER_DEFAULTS, noRulesLeft } from './suite';

jest.setTimeout(60_000);

const POD_UID = '6c0d2a1e-7b7e-4d55-9a3c-0a1b2c3d4e5f';
const POLICY = 'default/steal-only-filtered';

describe('auth: required', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mirrord-keys-'));
  const keysFile = join(dir, 'jwks.json');
  let operator = generateKeyPairSync('ed25519');
  let kid = 'key-1';
  const forger = generateKeyPairSync('ed25519');
  let pod: TestPod;
  let local: Awaited<ReturnType<typeof startLocalServer>>;

  /** Replaces the key set the way the kubelet updates a mounted volume: a new file moved over the old. */
  const publish = (...keys: { publicKey: KeyObject; kid: string }[]) => {
    writeFileSync(`${keysFile}.new`, JSON.stringify({ keys: keys.map((key) => publicJwk(key.publicKey, key.kid)) }));
    renameSync(`${keysFile}.new`, keysFile);
  };

  const allow = (more: Partial<TicketAllow> = {}): TicketAllow => ({
    incoming: { steal: true, stealWithoutFilter: false, mirror: true, requiredHeaderFilter: '^\\^?x-user: ' },
    fs: 'read',
    env: { exclude: [] },
    ...more,
  });

  const ticket = (overrides: Partial<TicketClaims> = {}, key: KeyObject = operator.privateKey, keyId = kid) => {
    const now = Math.floor(Date.now() / 1000);
    return signTicket(
      {
        v: 1,
        sub: 'alice@example.com',
        groups: ['dev'],
        pod: { uid: POD_UID, namespace: 'default', name: 'test-pod' },
        session: randomUUID(),
        iat: now,
        exp: now + 120,
        allow: allow(),
        policies: [POLICY],
        ...overrides,
      },
      key,
      keyId,
    );
  };

  beforeAll(async () => {
    publish({ publicKey: operator.publicKey, kid });
    pod = await TestPod.start({ MIRRORD_AUTH: 'required', MIRRORD_AUTH_KEYS_FILE: keysFile, MIRRORD_POD_UID: POD_UID });
    local = await startLocalServer();
  });
  afterEach(() => pod.closeClients());
  afterAll(async () => {
    local?.close();
    await pod?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('attaches with a valid ticket, audits the start, and steals with the required filter', async () => {
    const session = randomUUID();
    const client = await pod.connect({ ticket: ticket({ session }) });
    expect(client.info.pod.name).toBe('test-pod');
    const audit = pod.sidecarLog.split('\n').find((line) => line.includes('"session-start"') && line.includes(session));
    expect(JSON.parse(audit!)).toMatchObject({ level: 'info', user: 'alice@example.com', pod: { uid: POD_UID }, session, policies: [POLICY] });
    forwardIncoming(client, local.port);
    await client.subscribe({ port: APP_PORT, mode: 'steal', filter: { header: '^x-user: alice$' } });
    expect((await pod.request('/mine', { 'x-user': 'alice' })).body).toBe('local GET /mine body=0\n');
    expect((await pod.request('/theirs', { 'x-user': 'bob' })).body).toBe('app GET /theirs body=0\n');
  });

  it('refuses an unfiltered steal and a filter off the required pattern, naming the policy; the session goes on', async () => {
    const client = await pod.connect({ ticket: ticket() });
    await expect(client.subscribe({ port: APP_PORT, mode: 'steal' })).rejects.toMatchObject({
      code: 'EACCES',
      message: expect.stringMatching(new RegExp(`steal on port ${APP_PORT} refused: a steal must have a header filter .* by policy ${POLICY}`)),
    });
    await expect(client.subscribe({ port: APP_PORT, mode: 'steal', filter: { header: '^x-team: a$' } })).rejects.toMatchObject({
      code: 'EACCES',
      message: expect.stringContaining('does not match the required'),
    });
    expect(await pod.net.natRules()).not.toContain('REDIRECT');
    await client.subscribe({ port: APP_PORT, mode: 'steal', filter: { header: '^x-user: alice$' } });
    expect(await pod.net.natRules()).toContain('REDIRECT');
    // an unfiltered steal is refused by stealWithoutFilter alone when no pattern is required
    const open = await pod.connect({ ticket: ticket({ allow: allow({ incoming: { steal: true, stealWithoutFilter: false, mirror: false } }) }) });
    await expect(open.subscribe({ port: 9999, mode: 'steal' })).rejects.toMatchObject({
      code: 'EACCES',
      message: expect.stringContaining('without an HTTP filter is blocked'),
    });
    await expect(open.subscribe({ port: 9999, mode: 'mirror' })).rejects.toMatchObject({
      code: 'EACCES',
      message: expect.stringContaining('mirroring is blocked'),
    });
    expect(pod.sidecarLog).toMatch(/"audit":"refusal","user":"alice@example.com"/);
  });

  it.each([
    ['no ticket at all', () => undefined, /requires a ticket from the mirrord operator .* carries none: attach through the operator/],
    ['a forged ticket (another key)', () => ticket({}, forger.privateKey), /bad signature/],
    ['an unknown key id', () => ticket({}, forger.privateKey, 'key-forged'), /unknown key id "key-forged"/],
    ['an expired ticket', () => ticket({ iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 300 }), /expired 3\d\d s ago/],
    ["another pod's ticket", () => ticket({ pod: { uid: 'another-uid', namespace: 'default', name: 'test-pod' } }), /issued for another pod .*uid another-uid/],
    ['garbage', () => 'not.a.ticket', /malformed/],
  ])('refuses %s with EAUTH and the reason, and closes the session', async (_what, make, reason) => {
    const token = make();
    await expect(pod.connect(token === undefined ? {} : { ticket: token })).rejects.toMatchObject({ code: 'EAUTH', message: expect.stringMatching(reason) });
    expect(pod.sidecarLog).toMatch(/"audit":"refusal"/);
  });

  it('refuses a ticket whose session id was already used, even after that session ended', async () => {
    const token = ticket();
    const first = await pod.connect({ ticket: token });
    await expect(pod.connect({ ticket: token })).rejects.toMatchObject({ code: 'EAUTH', message: expect.stringMatching(/already attached with it/) });
    first.close();
    await first.closed();
    await expect(pod.connect({ ticket: token })).rejects.toMatchObject({ code: 'EAUTH', message: expect.stringMatching(/already attached with it/) });
  });

  it('tells an older client to upgrade and attach through the operator', async () => {
    await expect(pod.connect({ version: '1.3' })).rejects.toMatchObject({
      code: 'EAUTH',
      message: expect.stringMatching(/protocol 1\.3 clients cannot present.*upgrade the mirrord CLI \(protocol 1\.4 or later\)/),
    });
  });

  it("hides the ticket's excluded variables", async () => {
    const client = await pod.connect({ ticket: ticket({ allow: allow({ env: { exclude: ['DATABASE_*'] } }) }) });
    expect(await client.env()).toEqual({ GREETING: 'hello from the pod' });
    const all = await pod.connect({ ticket: ticket() });
    expect(Object.keys(await all.env()).sort()).toEqual(['DATABASE_URL', 'GREETING']);
  });

  it('takes the fs right from the ticket: read makes writes EROFS whatever the hello asks, none refuses every file request', async () => {
    const newFile = { path: '/etc/config/new.txt', flags: constants.O_WRONLY | constants.O_CREAT, mode: 0o644 };
    const reader = await pod.connect({ fs: 'write', ticket: ticket() });
    expect((await reader.fetchFile('/etc/config/app.yaml')).content?.toString()).toContain('hello from the pod');
    await expect(reader.call('fs.open', newFile)).rejects.toMatchObject({
      code: 'EROFS',
      message: expect.stringContaining(`its ticket allows only reading, by policy ${POLICY}`),
    });
    const none = await pod.connect({ ticket: ticket({ allow: allow({ fs: 'none' }) }) });
    await expect(none.call('fs.stat', { path: '/etc/config/app.yaml', follow: true })).rejects.toMatchObject({
      code: 'EACCES',
      message: `fs.stat: access to the pod's files is blocked by policy ${POLICY}`,
    });
    const writer = await pod.connect({ fs: 'write', ticket: ticket({ allow: allow({ fs: 'write' }) }) });
    const { fd } = (await writer.call('fs.open', newFile)).result;
    await writer.call('fs.close', { fd });
    await writer.call('fs.unlink', { path: newFile.path });
  });

  it("holds every file request to the ticket's path rules, where the path leads included, and tells the client the rules", async () => {
    writeFileSync(join(pod.appRoot, 'etc/config/secret.key'), 'the pod secret\n');
    symlinkSync('secret.key', join(pod.appRoot, 'etc/config/innocent-name'));
    mkdirSync(join(pod.appRoot, 'etc/config/.cache'), { recursive: true });
    writeFileSync(join(pod.appRoot, 'etc/config/.cache/blob'), 'cached\n');
    const fsPaths = {
      readOnly: [{ pattern: '^/etc/config/app\\.yaml$', policy: 'default/ro' }],
      local: [{ pattern: '/\\.cache/', policy: 'default/local' }],
      notFound: [{ pattern: '\\.key$', policy: 'default/hide' }],
    };
    const client = await pod.connect({ fs: 'write', ticket: ticket({ v: 2, allow: allow({ fs: 'write', fsPaths }) }) });
    expect(client.info.fsPaths).toEqual(fsPaths);
    const refused = (code: string, text: string) => ({ code, message: expect.stringContaining(text) });
    await expect(client.call('fs.stat', { path: '/etc/config/secret.key', follow: true })).rejects.toMatchObject(
      refused('ENOENT', 'fs.notFound /\\.key$/ of policy default/hide'),
    );
    // A symlink whose own name matches nothing still leads to the hidden file.
    await expect(client.fetchFile('/etc/config/innocent-name')).rejects.toMatchObject(refused('ENOENT', '/etc/config/secret.key does not exist'));
    const names = (await client.call('fs.readdir', { path: '/etc/config' })).result.entries.map(({ name }) => name);
    expect(names).toContain('app.yaml');
    expect(names).not.toContain('secret.key');
    await expect(client.fetchFile('/etc/config/.cache/blob')).rejects.toMatchObject(refused('EACCES', "read from the session's own machine"));
    expect((await client.fetchFile('/etc/config/app.yaml')).content?.toString()).toContain('hello from the pod');
    const writing = { path: '/etc/config/app.yaml', flags: constants.O_WRONLY | constants.O_TRUNC, mode: 0 };
    await expect(client.call('fs.open', writing)).rejects.toMatchObject(refused('EROFS', 'may only be read by this session (fs.readOnly'));
    await expect(client.call('fs.rename', { from: '/etc/config/app.yaml', to: '/etc/config/moved.yaml' })).rejects.toMatchObject(
      refused('EROFS', 'default/ro'),
    );
    await expect(client.call('fs.rename', { from: '/etc/config/innocent-name', to: '/etc/config/other.key' })).rejects.toMatchObject(
      refused('ENOENT', 'default/hide'),
    );
    expect(readFileSync(join(pod.appRoot, 'etc/config/app.yaml'), 'utf8')).toContain('hello from the pod');
    // What no rule holds is written as the ticket's fs allows.
    const { fd } = (await client.call('fs.open', { path: '/etc/config/new.txt', flags: constants.O_WRONLY | constants.O_CREAT, mode: 0o644 })).result;
    await client.call('fs.close', { fd });
    await client.call('fs.unlink', { path: '/etc/config/new.txt' });

    // A real program under the layer: the listing leaves the hidden key out and keeps the local
    // link, whose target the pod won't tell; the local paths are looked for on this machine.
    symlinkSync('app.yaml', join(pod.appRoot, 'etc/config/local-link'));
    const local = { pattern: '/\\.cache/|/local-link$', policy: 'default/local' };
    const layered = await pod.connect({ ticket: ticket({ v: 2, allow: allow({ fsPaths: { ...fsPaths, local: [local] } }) }) });
    const proxy = await startLayerProxy(layered, LAYER_DEFAULTS, createLogger('error'));
    try {
      const script = 'ls /etc/config; cat /etc/config/innocent-name /etc/config/local-link /etc/config/.cache/blob 2>&1; true';
      const { stdout } = await run('sh', ['-c', script], { env: { ...process.env, ...proxy.env } });
      expect(stdout).toBe(
        [
          'app.yaml',
          'escape-absolute',
          'escape-relative',
          'innocent-name',
          'local-link',
          'cat: /etc/config/innocent-name: No such file or directory',
          'cat: /etc/config/local-link: No such file or directory',
          'cat: /etc/config/.cache/blob: No such file or directory',
          '',
        ].join('\n'),
      );
    } finally {
      await proxy.close();
    }
  });

  it("lists who attached; ends a user's own sessions, another user's only with a ticket that allows it", async () => {
    const alice = await pod.connect({ ticket: ticket() });
    const bob = await pod.connect({ ticket: ticket({ sub: 'bob@example.com' }) });
    const listed = (await bob.call('sessions', {})).result.sessions;
    expect(listed.find((session) => session.id === alice.info.sessionId)?.user).toBe('alice@example.com');
    await expect(bob.call('sessions.kill', { id: alice.info.sessionId })).rejects.toMatchObject({
      code: 'EACCES',
      message: expect.stringContaining(
        `session ${alice.info.sessionId} is alice@example.com's: ending another user's session takes RBAC delete on mirrordsessions`,
      ),
    });
    const alicesOther = await pod.connect({ ticket: ticket() });
    await alicesOther.call('sessions.kill', { id: alice.info.sessionId });
    await alice.closed();
    await eventually(async () => expect(pod.sidecarLog).toMatch(/"msg":"audit: session ended".*"audit":"session-end","user":"alice@example.com"/));
    const admin = await pod.connect({ ticket: ticket({ sub: 'carol@example.com', purpose: 'admin', allow: allow({ sessions: { kill: 'any' } }) }) });
    // An admin ticket lists and ends sessions, and nothing else.
    await expect(admin.call('env', {})).rejects.toMatchObject({
      code: 'EACCES',
      message: 'env: an admin session (mirrord sessions) only lists and ends sessions',
    });
    await expect(admin.connect('tcp', SERVICE_IP, 7000)).rejects.toMatchObject({ code: 'EACCES' });
    await admin.call('sessions.kill', { id: bob.info.sessionId });
    expect(await bob.closed()).toMatch(/^EKILLED/);
  });

  it("refuses a connect its ticket's outgoing rules don't allow, naming the policy, after resolving the name once", async () => {
    const outgoing = {
      block: [
        { cidr: `${SERVICE_IP}/32`, port: 7001, policy: 'cluster/no-udp-7001' },
        { host: SERVICE_NAME, port: 7002, policy: 'cluster/no-7002' },
      ],
      allow: [
        [
          { host: SERVICE_NAME, policy: POLICY },
          { cidr: `${SERVICE_IP}/32`, policy: POLICY },
        ],
      ],
    };
    const client = await pod.connect({ ticket: ticket({ allow: allow({ outgoing }) }) });
    // allowed by name, and the connection goes to the address the rules saw
    const { stream, remote } = await client.connect('tcp', SERVICE_NAME, 7000);
    expect(remote).toEqual({ address: SERVICE_IP, port: 7000 });
    stream.destroy();
    await expect(client.connect('udp', SERVICE_IP, 7001)).rejects.toMatchObject({
      code: 'EACCES',
      message: `connect to ${SERVICE_IP}:7001 refused: blocked (cidr ${SERVICE_IP}/32 port 7001) by policy cluster/no-udp-7001`,
    });
    await expect(client.connect('tcp', '127.0.0.1', 7000)).rejects.toMatchObject({
      code: 'EACCES',
      message: expect.stringContaining(`connect to 127.0.0.1:7000 refused: not among the destinations policy ${POLICY} allows`),
    });
    // A program resolves first and connects to the address: the host rule still sees the name.
    const addresses = await client.resolve(SERVICE_NAME, 0);
    expect(addresses.map(({ address }) => address)).toContain(SERVICE_IP);
    await expect(client.connect('tcp', SERVICE_IP, 7002)).rejects.toMatchObject({
      code: 'EACCES',
      message: `connect to ${SERVICE_IP}:7002 refused: blocked (host ${SERVICE_NAME} port 7002) by policy cluster/no-7002`,
    });
    expect(pod.sidecarLog).toMatch(/"audit":"refusal".*"method":"connect"/);
    // the session goes on
    const again = await client.connect('tcp', SERVICE_IP, 7000);
    again.stream.destroy();
  });

  it('accepts tickets of a rotated key without a restart, and no longer those of the old key', async () => {
    const old = { ...operator, kid };
    const oldTicket = ticket();
    operator = generateKeyPairSync('ed25519');
    kid = 'key-2';
    publish({ publicKey: operator.publicKey, kid });
    // at once, through the unknown key id
    await pod.connect({ ticket: ticket() });
    // the old key is gone once the file is seen to have changed
    await eventually(async () => {
      await expect(pod.connect({ ticket: oldTicket })).rejects.toMatchObject({
        code: 'EAUTH',
        message: expect.stringContaining(`unknown key id "${old.kid}"`),
      });
    });
    expect(pod.sidecarLog).toMatch(/"msg":"operator keys loaded".*"kids":\["key-2"\]/);
    await noRulesLeft(pod);
  });
});
