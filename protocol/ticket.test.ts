import { generateKeyPairSync, sign } from 'node:crypto';
import {
  CLOCK_SKEW_S,
  incomingRefusal,
  parseJwks,
  publicJwk,
  readTicketHeader,
  signTicket,
  verifyTicket,
  withoutExcluded,
  type TicketAllow,
  type TicketClaims,
} from './ticket';

const NOW = 1_800_000_000_000;
const nowS = NOW / 1000;
const POD = { uid: '2f1c7a4e-0000-4000-8000-000000000001', namespace: 'shop', name: 'checkout-7d9f' };

function claims(overrides: Partial<TicketClaims> = {}): TicketClaims {
  return {
    v: 1,
    sub: 'alice',
    groups: ['dev'],
    pod: POD,
    session: 's-1',
    iat: nowS,
    exp: nowS + 300,
    allow: { incoming: { steal: true, stealWithoutFilter: false, mirror: true }, fs: 'read', env: { exclude: [] } },
    policies: ['shop/no-unfiltered-steal'],
    ...overrides,
  };
}

describe('tickets', () => {
  const operator = generateKeyPairSync('ed25519');
  const other = generateKeyPairSync('ed25519');
  const keys = parseJwks(JSON.stringify({ keys: [publicJwk(operator.publicKey, 'k1')] }));
  const expected = { podUid: POD.uid, now: NOW };
  const refusal = (token: string, at = expected) => {
    try {
      verifyTicket(token, keys, at);
    } catch (error) {
      expect((error as { code: string }).code).toBe('EAUTH');
      return (error as Error).message;
    }
    throw new Error('accepted');
  };

  it('signs a compact JWS with an EdDSA header, and verifies it back to its claims', () => {
    const token = signTicket(claims(), operator.privateKey, 'k1');
    expect(token.split('.')).toHaveLength(3);
    expect(readTicketHeader(token)).toEqual({ alg: 'EdDSA', kid: 'k1', typ: 'mirrord-ticket' });
    expect(verifyTicket(token, keys, expected)).toEqual(claims());
  });

  it('refuses a tampered ticket: changed claims, changed header, changed signature', () => {
    const [header, body, signature] = signTicket(claims(), operator.privateKey, 'k1').split('.');
    const widened = Buffer.from(JSON.stringify({ ...claims(), allow: { ...claims().allow, fs: 'write' } })).toString('base64url');
    expect(refusal(`${header}.${widened}.${signature}`)).toMatch(/bad signature/);
    const otherType = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: 'k1', typ: 'JWT' })).toString('base64url');
    expect(refusal(`${otherType}.${body}.${signature}`)).toMatch(/malformed header: typ/);
    const flipped = Buffer.from(signature!, 'base64url');
    flipped[0] ^= 1;
    expect(refusal(`${header}.${body}.${flipped.toString('base64url')}`)).toMatch(/bad signature/);
    expect(refusal(`${header}.${body}.`)).toMatch(/malformed signature/);
  });

  it('refuses one signed by another key under a known key id, and an unknown key id', () => {
    expect(refusal(signTicket(claims(), other.privateKey, 'k1'))).toMatch(/bad signature/);
    expect(refusal(signTicket(claims(), operator.privateKey, 'k2'))).toMatch(/unknown key id "k2"/);
  });

  it('allows a small clock skew, no more: expired, not yet valid', () => {
    const token = signTicket(claims(), operator.privateKey, 'k1');
    expect(verifyTicket(token, keys, { ...expected, now: NOW + (300 + CLOCK_SKEW_S) * 1000 }).sub).toBe('alice');
    expect(refusal(token, { ...expected, now: NOW + (300 + CLOCK_SKEW_S + 1) * 1000 })).toMatch(/expired 31 s ago/);
    expect(verifyTicket(token, keys, { ...expected, now: NOW - CLOCK_SKEW_S * 1000 }).sub).toBe('alice');
    expect(refusal(token, { ...expected, now: NOW - (CLOCK_SKEW_S + 1) * 1000 })).toMatch(/not yet valid/);
  });

  it("refuses another pod's ticket, naming both", () => {
    const token = signTicket(claims(), operator.privateKey, 'k1');
    expect(refusal(token, { ...expected, podUid: 'another-uid' })).toMatch(/another pod \(shop\/checkout-7d9f, uid 2f1c.*\), not this one \(uid another-uid\)/);
  });

  it('refuses malformed tokens and claims, and signs only valid claims', () => {
    expect(refusal('not-a-ticket')).toMatch(/malformed \(not a compact JWS/);
    expect(refusal('a.b')).toMatch(/malformed/);
    expect(refusal('!!.e30.AA')).toMatch(/malformed header \(not base64url\)/);
    expect(refusal('x'.repeat(20_000))).toMatch(/longer than/);
    // validly signed, but not claims of ours
    const header = Buffer.from(JSON.stringify({ alg: 'EdDSA', kid: 'k1', typ: 'mirrord-ticket' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ v: 3, sub: 'alice' })).toString('base64url');
    const signature = sign(null, Buffer.from(`${header}.${body}`), operator.privateKey).toString('base64url');
    expect(refusal(`${header}.${body}.${signature}`)).toMatch(/malformed claims: v/);
    expect(() => signTicket(claims({ exp: nowS + 3600 }), operator.privateKey, 'k1')).toThrow(/at most 900 s/);
    expect(() => signTicket(claims({ exp: nowS - 1 }), operator.privateKey, 'k1')).toThrow(/exp must be after iat/);
    const badRegex = claims().allow;
    expect(() =>
      signTicket(claims({ allow: { ...badRegex, incoming: { ...badRegex.incoming, requiredHeaderFilter: '(' } } }), operator.privateKey, 'k1'),
    ).toThrow(/requiredHeaderFilter: not a valid RE2 regular expression/);
    // RE2 has no backreferences: a pattern that would need backtracking is not a valid one
    expect(() =>
      signTicket(claims({ allow: { ...badRegex, incoming: { ...badRegex.incoming, requiredHeaderFilter: '^(a)\\1$' } } }), operator.privateKey, 'k1'),
    ).toThrow(/not a valid RE2 regular expression/);
  });

  it('carries path rules only in a ticket of v 2, which a sidecar knowing only v 1 would refuse', () => {
    const fsPaths = { readOnly: [], local: [], notFound: [{ pattern: '^/secrets/', policy: 'shop/hide' }] };
    const withPaths = claims({ v: 2, allow: { ...claims().allow, fsPaths } });
    expect(verifyTicket(signTicket(withPaths, operator.privateKey, 'k1'), keys, expected).allow.fsPaths).toEqual(fsPaths);
    expect(() => signTicket(claims({ allow: { ...claims().allow, fsPaths } }), operator.privateKey, 'k1')).toThrow(/v: a ticket with allow.fsPaths is of v 2/);
    expect(() => signTicket(claims({ v: 2 }), operator.privateKey, 'k1')).toThrow(/v: a ticket with allow.fsPaths is of v 2/);
    const badPattern = { ...fsPaths, notFound: [{ pattern: '(', policy: 'shop/hide' }] };
    expect(() => signTicket(claims({ v: 2, allow: { ...claims().allow, fsPaths: badPattern } }), operator.privateKey, 'k1')).toThrow(
      /fsPaths.notFound.0.pattern: not a valid RE2/,
    );
  });

  it('refuses to sign a ticket longer than a hello may carry, naming its length', () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ pattern: `^/data/${'x'.repeat(60)}${i}`, policy: 'shop/many' }));
    const fsPaths = { readOnly: many, local: [], notFound: [] };
    expect(() => signTicket(claims({ v: 2, allow: { ...claims().allow, fsPaths } }), operator.privateKey, 'k1')).toThrow(
      /ticket would be \d+ characters, over 16384/,
    );
  });

  it('reads a key set of Ed25519 keys and names what is wrong with a bad one', () => {
    expect([...parseJwks(JSON.stringify({ keys: [publicJwk(operator.publicKey, 'a'), publicJwk(other.publicKey, 'b')] })).keys()]).toEqual(['a', 'b']);
    expect(() => parseJwks('{')).toThrow(/not JSON/);
    expect(() => parseJwks(JSON.stringify({ keys: [{ kty: 'RSA', kid: 'r', n: 'x', e: 'AQAB' }] }))).toThrow(/not a key set of Ed25519 keys/);
    const twice = publicJwk(operator.publicKey, 'a');
    expect(() => parseJwks(JSON.stringify({ keys: [twice, twice] }))).toThrow(/"a" appears twice/);
    expect(() => parseJwks(JSON.stringify({ keys: [{ ...twice, x: 'AAAA' }] }))).toThrow(/key "a"/);
  });
});

describe('what a ticket allows', () => {
  const incoming = (more: Partial<TicketAllow['incoming']> = {}): TicketAllow['incoming'] => ({ steal: true, stealWithoutFilter: true, mirror: true, ...more });

  it('blocks modes and unfiltered steals', () => {
    expect(incomingRefusal(incoming(), 'steal', undefined)).toBeUndefined();
    expect(incomingRefusal(incoming({ mirror: false }), 'mirror', undefined)).toMatch(/mirroring is blocked/);
    expect(incomingRefusal(incoming({ steal: false }), 'steal', { header: 'x' })).toMatch(/stealing is blocked/);
    expect(incomingRefusal(incoming({ stealWithoutFilter: false }), 'steal', undefined)).toMatch(/without an HTTP filter is blocked/);
    expect(incomingRefusal(incoming({ stealWithoutFilter: false }), 'steal', { header: 'x' })).toBeUndefined();
    expect(incomingRefusal(incoming({ stealWithoutFilter: false, steal: true, mirror: false }), 'mirror', undefined)).toMatch(/mirroring/);
  });

  it('requires a header filter matching the required pattern for every steal', () => {
    const required = incoming({ requiredHeaderFilter: '^\\^?x-user: ' });
    expect(incomingRefusal(required, 'steal', { header: '^x-user: alice$' })).toBeUndefined();
    expect(incomingRefusal(required, 'steal', { header: 'x-user: bob' })).toBeUndefined();
    expect(incomingRefusal(required, 'steal', { header: '^x-team: a$' })).toMatch(/does not match the required/);
    expect(incomingRefusal(required, 'steal', undefined)).toMatch(/must have a header filter/);
    expect(incomingRefusal(required, 'steal', {})).toMatch(/must have a header filter/);
    expect(incomingRefusal(required, 'mirror', undefined)).toBeUndefined();
  });

  it('drops excluded variables by mirrord patterns', () => {
    const env = { DB_PASSWORD: 'p', DB_HOST: 'h', API_KEY: 'k', APIX_KEY: 'x', home: '/' };
    expect(withoutExcluded(env, ['*_PASSWORD', 'API_?EY', 'HOME'])).toEqual({ DB_HOST: 'h', APIX_KEY: 'x', home: '/' });
    expect(withoutExcluded(env, [])).toBe(env);
  });
});
