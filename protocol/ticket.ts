/**
 * Session tickets: the contract between the operator that signs them, the CLI that carries one
 * in `hello`, and the sidecar that verifies it and enforces it for the session's whole life.
 *
 * A ticket is a compact JWS (RFC 7515) signed with EdDSA over Ed25519 (RFC 8037):
 * `BASE64URL(header) "." BASE64URL(claims) "." BASE64URL(signature)`, header
 * `{ alg: "EdDSA", kid, typ: "mirrord-ticket" }`. The sidecar learns the operator's public keys
 * as a JSON Web Key Set (RFC 7517) of `{ kty: "OKP", crv: "Ed25519", kid, x }` keys.
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { z } from './zod';
import { ErrorCode, RemoteError } from './errors';
import { describeIssues } from './messages';
import { ticketFsPaths } from './fs-paths';
import { ticketOutgoing } from './outgoing-rules';
import { re2Finds, re2Pattern } from './re2';

export const TICKET_TYPE = 'mirrord-ticket';
/** How far the signer's and the verifier's clocks may disagree, in seconds. */
export const CLOCK_SKEW_S = 30;
/** The longest a ticket may be valid for (`exp - iat`), in seconds: tickets are for starting a session now. */
export const MAX_TICKET_LIFETIME_S = 15 * 60;
/** The claims' version of a ticket with path rules (`allow.fsPaths`). */
export const FS_PATHS_TICKET_VERSION = 2;
/** The longest a token may be; a longer one is refused before it is parsed. */
export const MAX_TICKET_LENGTH = 16 * 1024;

const seconds = z.number().int().min(0);

/** What a session may do. Everything it says is enforced by the sidecar for the session's life. */
export const ticketAllow = z.object({
  incoming: z.object({
    /** Whether the session may steal (take traffic away from the app). */
    steal: z.boolean(),
    /** Whether it may steal without an HTTP filter (the whole port). */
    stealWithoutFilter: z.boolean(),
    /** Whether it may mirror (see a copy of the traffic). */
    mirror: z.boolean(),
    /**
     * A regex every steal's header filter must satisfy: the steal must carry `filter.header`, and
     * this regex must match that filter's text (the pattern as the user wrote it, not the requests).
     * E.g. `^\^?x-user: ` admits `^x-user: alice$` and refuses `^x-team: a$` or a path-only filter.
     * A steal without a header filter is refused when it is set, whatever `stealWithoutFilter` says.
     */
    requiredHeaderFilter: re2Pattern.optional(),
  }),
  /** The pod's files: `write` (create, write, remove), `read` (changes get EROFS) or `none` (every file request gets EACCES). */
  fs: z.enum(['read', 'write', 'none']),
  /** Variables of the app left out of `env`: patterns as mirrord's `feature.env.exclude` (`*` any run, `?` one character). */
  env: z.object({ exclude: z.array(z.string()) }),
  /**
   * Which sessions on the sidecar this one may end (`sessions.kill`): its own user's (`own`, also
   * when absent), or anyone's (`any`: the operator found the user may delete mirrordsessions in
   * the pod's namespace).
   */
  sessions: z.object({ kill: z.enum(['own', 'any']) }).optional(),
  /** Where the session's `connect`s may go from the pod (absent: anywhere). */
  outgoing: ticketOutgoing.optional(),
  /** Paths held to more than `fs` says (absent: none); only in a ticket of `v` 2, which older sidecars refuse. */
  fsPaths: ticketFsPaths.optional(),
});

export const ticketClaims = z
  .object({
    /** 1, or 2 when `allow.fsPaths` is set: a sidecar that can't enforce path rules refuses the ticket rather than ignore them. */
    v: z.union([z.literal(1), z.literal(FS_PATHS_TICKET_VERSION)]),
    /** The user, as the API server authenticated them. */
    sub: z.string().min(1),
    groups: z.array(z.string()),
    /** The pod the ticket is for: only its sidecar accepts it. */
    pod: z.object({ uid: z.string().min(1), namespace: z.string(), name: z.string() }),
    /** The session's unique id: a sidecar accepts a ticket once. */
    session: z.string().min(1).max(128),
    /** Issued at and expires at, in seconds since the epoch. */
    iat: seconds,
    exp: seconds,
    allow: ticketAllow,
    /** The policies that shaped `allow`, named in refusals. */
    policies: z.array(z.string()),
    /** `admin`: the session may only list and end sessions (`hello`, `sessions`, `sessions.kill`); every other request is refused. */
    purpose: z.literal('admin').optional(),
  })
  .refine((claims) => claims.exp > claims.iat, { message: 'exp must be after iat', path: ['exp'] })
  .refine((claims) => (claims.v === FS_PATHS_TICKET_VERSION) === (claims.allow.fsPaths !== undefined), {
    message: `a ticket with allow.fsPaths is of v ${FS_PATHS_TICKET_VERSION}, one without of v 1`,
    path: ['v'],
  })
  .refine((claims) => claims.exp - claims.iat <= MAX_TICKET_LIFETIME_S, {
    message: `a ticket may be valid for at most ${MAX_TICKET_LIFETIME_S} s`,
    path: ['exp'],
  });

export type TicketClaims = z.infer<typeof ticketClaims>;
export type TicketAllow = z.infer<typeof ticketAllow>;

const ticketHeader = z.object({ alg: z.literal('EdDSA'), kid: z.string().min(1).max(256), typ: z.literal(TICKET_TYPE) });
export type TicketHeader = z.infer<typeof ticketHeader>;

/** The operator's public keys by key id. */
export type TicketKeys = ReadonlyMap<string, KeyObject>;

function refuse(reason: string): never {
  throw new RemoteError(ErrorCode.Auth, `ticket refused: ${reason}`);
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function decode(part: string, what: string): unknown {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) refuse(`malformed ${what} (not base64url)`);
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return refuse(`malformed ${what} (not JSON)`);
  }
}

export function signTicket(claims: TicketClaims, privateKey: KeyObject, kid: string): string {
  const checked = ticketClaims.safeParse(claims);
  if (!checked.success) throw new Error(`invalid ticket claims: ${describeIssues(checked.error)}`);
  const signed = `${encode({ alg: 'EdDSA', kid, typ: TICKET_TYPE })}.${encode(claims)}`;
  const token = `${signed}.${sign(null, Buffer.from(signed), privateKey).toString('base64url')}`;
  // Every verifier would refuse it unread: say so where the policies that made it can be named.
  if (token.length > MAX_TICKET_LENGTH)
    throw new Error(`the ticket would be ${token.length} characters, over ${MAX_TICKET_LENGTH}: the policies' patterns are too many or too long`);
  return token;
}

function split(token: string): [string, string, string] {
  if (token.length > MAX_TICKET_LENGTH) refuse(`malformed (longer than ${MAX_TICKET_LENGTH} characters)`);
  const parts = token.split('.');
  if (parts.length !== 3) refuse('malformed (not a compact JWS of three parts)');
  return parts as [string, string, string];
}

/** The header, unverified: which key signed it (the sidecar reloads its keys for an unknown one). */
export function readTicketHeader(token: string): TicketHeader {
  const header = ticketHeader.safeParse(decode(split(token)[0], 'header'));
  if (!header.success) refuse(`malformed header: ${describeIssues(header.error)}`);
  return header.data;
}

export interface TicketExpectation {
  /** The verifying sidecar's pod UID. */
  podUid: string;
  /** The verifier's clock, in ms since the epoch (`Date.now()`). */
  now: number;
}

/** The ticket's claims once its signature, times and pod are right; otherwise a RemoteError (EAUTH) with the reason. */
export function verifyTicket(token: string, keys: TicketKeys, expected: TicketExpectation): TicketClaims {
  const [headerPart, claimsPart, signaturePart] = split(token);
  const header = readTicketHeader(token);
  const key = keys.get(header.kid);
  if (!key) refuse(`unknown key id "${header.kid}" (not among the operator's ${keys.size} public key(s))`);
  if (!/^[A-Za-z0-9_-]+$/.test(signaturePart)) refuse('malformed signature (not base64url)');
  const signature = Buffer.from(signaturePart, 'base64url');
  let valid = false;
  try {
    valid = signature.length === 64 && verify(null, Buffer.from(`${headerPart}.${claimsPart}`), key, signature);
  } catch {
    valid = false;
  }
  if (!valid) refuse(`bad signature (not signed by the operator's key "${header.kid}")`);
  const parsed = ticketClaims.safeParse(decode(claimsPart, 'claims'));
  if (!parsed.success) refuse(`malformed claims: ${describeIssues(parsed.error)}`);
  const claims = parsed.data;
  const now = Math.floor(expected.now / 1000);
  if (claims.iat > now + CLOCK_SKEW_S) refuse(`not yet valid (issued ${claims.iat - now} s in the future; are the clocks apart?)`);
  if (claims.exp + CLOCK_SKEW_S < now) refuse(`expired ${now - claims.exp} s ago (tickets last minutes: ask the operator for a new one)`);
  if (claims.pod.uid !== expected.podUid) {
    refuse(`issued for another pod (${claims.pod.namespace}/${claims.pod.name}, uid ${claims.pod.uid}), not this one (uid ${expected.podUid})`);
  }
  return claims;
}

/** The last moment (ms since the epoch) a verifier accepts the ticket: its session id must be remembered until then. */
export function acceptedUntil(claims: TicketClaims): number {
  return (claims.exp + CLOCK_SKEW_S) * 1000;
}

/** A public key as a JWK of the operator's key set. */
export function publicJwk(publicKey: KeyObject, kid: string): { kty: 'OKP'; crv: 'Ed25519'; kid: string; x: string } {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.x) throw new Error('ticket keys are Ed25519 keys');
  return { kty: 'OKP', crv: 'Ed25519', kid, x: jwk.x };
}

const jwks = z.object({
  keys: z.array(z.object({ kty: z.literal('OKP'), crv: z.literal('Ed25519'), kid: z.string().min(1), x: z.string().min(1) }).passthrough()),
});

/** The public keys of a JSON Web Key Set's text; throws naming what is wrong. */
export function parseJwks(text: string): Map<string, KeyObject> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`not JSON: ${(error as Error).message}`);
  }
  const checked = jwks.safeParse(json);
  if (!checked.success) throw new Error(`not a key set of Ed25519 keys: ${describeIssues(checked.error)}`);
  const keys = new Map<string, KeyObject>();
  for (const { kid, x } of checked.data.keys) {
    if (keys.has(kid)) throw new Error(`key id "${kid}" appears twice`);
    try {
      keys.set(kid, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' }));
    } catch (error) {
      throw new Error(`key "${kid}": ${(error as Error).message}`);
    }
  }
  return keys;
}

/** A pattern of `env.exclude` (mirrord's: `*` any run of characters, `?` one; case-sensitive, whole name). */
export function envPattern(pattern: string): RegExp {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`);
}

/** `env` without the variables the ticket excludes. */
export function withoutExcluded(env: Record<string, string>, exclude: readonly string[]): Record<string, string> {
  if (!exclude.length) return env;
  const patterns = exclude.map(envPattern);
  return Object.fromEntries(Object.entries(env).filter(([name]) => !patterns.some((pattern) => pattern.test(name))));
}

/** Why the ticket doesn't allow a subscription, or undefined when it does. */
export function incomingRefusal(allow: TicketAllow['incoming'], mode: 'steal' | 'mirror', filter: { header?: string } | undefined): string | undefined {
  if (mode === 'mirror') return allow.mirror ? undefined : 'mirroring is blocked';
  if (!allow.steal) return 'stealing is blocked';
  if (allow.requiredHeaderFilter !== undefined) {
    if (filter?.header === undefined) return `a steal must have a header filter matching /${allow.requiredHeaderFilter}/`;
    // The pattern is the policy's, the text the user's: RE2, so no text can make it backtrack for ever.
    if (!re2Finds(allow.requiredHeaderFilter, filter.header)) {
      return `the header filter "${filter.header}" does not match the required /${allow.requiredHeaderFilter}/`;
    }
    return undefined;
  }
  if (!filter && !allow.stealWithoutFilter) return 'stealing without an HTTP filter is blocked: steal with a filter (feature.network.incoming.http_filter)';
  return undefined;
}
