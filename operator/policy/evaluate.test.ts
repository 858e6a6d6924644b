import { incomingRefusal as ticketRefusal } from '../../protocol/ticket';
import { evaluatePolicies, type PolicyGrant } from './evaluate';
import { matchesEveryPath } from './fs';
import type { PolicyRefusal } from './refusal';
import type { Policy, PolicySpec, SessionRequest } from './spec';

const request = (overrides: Partial<SessionRequest> = {}): SessionRequest => ({
  user: 'alice',
  groups: ['dev'],
  target: { kind: 'deploy', name: 'checkout', namespace: 'shop', labels: { app: 'checkout' } },
  incoming: [],
  fs: 'write',
  ...overrides,
});
const shop = (name: string, spec: PolicySpec): Policy => ({ kind: 'MirrordPolicy', namespace: 'shop', name, spec });
const cluster = (name: string, spec: PolicySpec): Policy => ({ kind: 'MirrordClusterPolicy', name, spec });

function granted(req: SessionRequest, policies: Policy[]): PolicyGrant {
  const decision = evaluatePolicies(req, policies);
  if (decision.refused) throw new Error(`expected a grant, got: ${decision.message}`);
  return decision;
}
function refused(req: SessionRequest, policies: Policy[]): PolicyRefusal {
  const decision = evaluatePolicies(req, policies);
  if (!decision.refused) throw new Error(`expected a refusal, got: ${JSON.stringify(decision)}`);
  return decision;
}

const unfiltered = { port: 80, mode: 'steal' as const };
const filtered = (header: string) => ({ port: 80, mode: 'steal' as const, filter: { header } });
const mirror = { port: 80, mode: 'mirror' as const };

describe('no policy', () => {
  it('allows everything the session asks for', () => {
    expect(granted(request({ incoming: [unfiltered] }), [])).toEqual({
      refused: false,
      allow: { incoming: { steal: true, stealWithoutFilter: true, mirror: true }, fs: 'write', env: { exclude: [] } },
      policies: [],
    });
  });
});

describe('block', () => {
  it('steal-without-filter refuses an unfiltered steal, naming the policy and what is allowed', () => {
    const policies = [shop('filtered-only', { block: ['steal-without-filter'] })];
    expect(refused(request({ incoming: [unfiltered] }), policies)).toEqual({
      refused: true,
      policy: 'shop/filtered-only',
      reason: 'steal of port 80 without a filter on deploy/checkout',
      allowed: 'steal with an HTTP filter or mirror',
      message: 'steal of port 80 without a filter on deploy/checkout refused by policy shop/filtered-only; allowed: steal with an HTTP filter or mirror',
    });
    const grant = granted(request({ incoming: [filtered('^x-user: a$'), { port: 81, mode: 'steal', filter: { path: '^/api' } }] }), policies);
    expect(grant.allow.incoming).toEqual({ steal: true, stealWithoutFilter: false, mirror: true });
    expect(grant.policies).toEqual(['shop/filtered-only']);
  });

  it('steal refuses every steal; mirror still allowed', () => {
    const policies = [cluster('no-steal', { block: ['steal'] })];
    const refusal = refused(request({ incoming: [filtered('^x-user: a$')] }), policies);
    expect(refusal.policy).toBe('cluster/no-steal');
    expect(refusal.allowed).toBe('mirror');
    expect(granted(request({ incoming: [mirror] }), policies).allow.incoming).toEqual({ steal: false, stealWithoutFilter: false, mirror: true });
  });

  it('mirror refuses mirroring', () => {
    const refusal = refused(request({ incoming: [mirror] }), [cluster('no-mirror', { block: ['mirror'] })]);
    expect(refusal.message).toBe('mirror of port 80 on deploy/checkout refused by policy cluster/no-mirror; allowed: steal');
  });

  it('everything blocked says nothing incoming is allowed', () => {
    const refusal = refused(request({ incoming: [mirror] }), [cluster('none', { block: ['steal', 'mirror'] })]);
    expect(refusal.allowed).toBe('no incoming traffic (neither steal nor mirror)');
  });
});

describe('required header filter', () => {
  const policies = [shop('filtered-only', { network: { incoming: { httpFilter: { headerFilter: '^\\^?x-user:' } } } })];

  it('refuses an unfiltered steal, a path-only steal and a non-matching header filter', () => {
    for (const port of [unfiltered, { port: 80, mode: 'steal' as const, filter: { path: '/a' } }, filtered('^x-team: a$')]) {
      const refusal = refused(request({ incoming: [port] }), policies);
      expect(refusal.policy).toBe('shop/filtered-only');
      expect(refusal.allowed).toBe('steal with a header filter matching /^\\^?x-user:/ or mirror');
    }
    expect(refused(request({ incoming: [filtered('^x-team: a$')] }), policies).reason).toBe(
      'steal of port 80 with the header filter "^x-team: a$" on deploy/checkout',
    );
  });

  it('grants a matching steal and carries the pattern in the ticket', () => {
    const grant = granted(request({ incoming: [filtered('^x-user: alice$'), mirror] }), policies);
    expect(grant.allow.incoming).toEqual({ steal: true, stealWithoutFilter: false, mirror: true, requiredHeaderFilter: '^\\^?x-user:' });
    // The sidecar's check agrees with the operator's.
    expect(ticketRefusal(grant.allow.incoming, 'steal', { header: '^x-user: alice$' })).toBeUndefined();
    expect(ticketRefusal(grant.allow.incoming, 'steal', { header: '^x-team: a$' })).toBeDefined();
  });

  it('from several policies: every one must hold; the ticket admits exactly the checked filters', () => {
    const both = [...policies, cluster('alice-only', { network: { incoming: { httpFilter: { headerFilter: 'alice' } } } })];
    const refusal = refused(request({ incoming: [filtered('^x-user: bob$')] }), both);
    expect(refusal.policy).toBe('cluster/alice-only');
    expect(refusal.allowed).toBe('steal with a header filter matching /alice/ and /^\\^?x-user:/ or mirror');
    expect(refused(request({ incoming: [filtered('^x-team: alice$')] }), both).policy).toBe('shop/filtered-only');

    const grant = granted(request({ incoming: [filtered('^x-user: alice$'), { port: 81, mode: 'steal', filter: { header: 'x-user: alice.*' } }] }), both);
    const allow = grant.allow.incoming;
    expect(ticketRefusal(allow, 'steal', { header: '^x-user: alice$' })).toBeUndefined();
    expect(ticketRefusal(allow, 'steal', { header: 'x-user: alice.*' })).toBeUndefined();
    // Satisfies the first policy only, or a variation of a checked filter: refused by the sidecar.
    expect(ticketRefusal(allow, 'steal', { header: '^x-user: bob$' })).toBeDefined();
    expect(ticketRefusal(allow, 'steal', { header: '^x-user: alice$|.*' })).toBeDefined();
    expect(ticketRefusal(allow, 'steal', undefined)).toBeDefined();

    // Nothing asked to steal: the ticket allows no steal at all.
    expect(granted(request({ incoming: [mirror] }), both).allow.incoming).toEqual({ steal: false, stealWithoutFilter: false, mirror: true });
  });
});

describe('database branches', () => {
  it('requireDbBranches refuses a session that would use the database itself, and grants one with a branch', () => {
    const policies = [shop('branch-only', { requireDbBranches: true })];
    expect(refused(request(), policies).message).toBe(
      'a session without a database branch on deploy/checkout refused by policy shop/branch-only; allowed: a session with a database branch (feature.db_branches) for the database it uses',
    );
    expect(granted(request({ dbBranches: 1 }), policies).policies).toEqual(['shop/branch-only']);
  });
});

describe('profiles', () => {
  it('requireProfile refuses a session without one', () => {
    const refusal = refused(request(), [shop('need-profile', { requireProfile: true })]);
    expect(refusal.message).toBe(
      'a session without a profile on deploy/checkout refused by policy shop/need-profile; allowed: a session with a profile (--profile NAME)',
    );
    expect(granted(request({ profile: 'anything' }), [shop('need-profile', { requireProfile: true })]).policies).toEqual(['shop/need-profile']);
  });

  it('profileAllowlist refuses a profile not on it, and names those every policy allows', () => {
    const policies = [
      shop('profiles', { requireProfile: true, profileAllowlist: ['dev', 'qa'] }),
      cluster('cluster-profiles', { profileAllowlist: ['qa', 'prod'] }),
    ];
    const refusal = refused(request({ profile: 'dev' }), policies);
    expect(refusal.policy).toBe('cluster/cluster-profiles');
    expect(refusal.reason).toBe('a session with the profile "dev" on deploy/checkout');
    expect(refusal.allowed).toBe('a session with one of the profiles qa');
    expect(refused(request(), policies).policy).toBe('shop/profiles');
    expect(granted(request({ profile: 'qa' }), policies).policies).toEqual(['cluster/cluster-profiles', 'shop/profiles']);
    // An allowlist alone does not require a profile.
    expect(granted(request(), [cluster('cluster-profiles', { profileAllowlist: ['qa'] })]).refused).toBe(false);
  });
});

describe('env and fs', () => {
  it('env excludes: the union of every applying policy', () => {
    const grant = granted(request(), [shop('a', { env: { exclude: ['DB_*', 'TOKEN'] } }), cluster('b', { env: { exclude: ['TOKEN', 'AWS_?'] } })]);
    expect(grant.allow.env.exclude).toEqual(['TOKEN', 'AWS_?', 'DB_*']);
  });

  it('a readOnly pattern matching every path caps fs at read; others are reported', () => {
    expect(granted(request(), [cluster('ro', { fs: { readOnly: ['.*'] } })]).allow.fs).toBe('read');
    const grant = granted(request(), [cluster('ro', { fs: { readOnly: ['^/etc/', '.*'], local: ['\\.cache'], notFound: ['^/var/run/secrets'] } })]);
    expect(grant.allow.fs).toBe('read');
    // Capped at read, the session changes nothing: its readOnly rules would add nothing.
    expect(grant.allow.fsPaths).toEqual({
      readOnly: [],
      local: [{ pattern: '\\.cache', policy: 'cluster/ro' }],
      notFound: [{ pattern: '^/var/run/secrets', policy: 'cluster/ro' }],
    });
    expect(granted(request(), [cluster('ro', { fs: { readOnly: ['^/etc/'] } })]).allow.fsPaths?.readOnly).toEqual([
      { pattern: '^/etc/', policy: 'cluster/ro' },
    ]);
    expect(granted(request({ fs: 'read' }), [cluster('ro', { fs: { readOnly: ['^/etc/'] } })]).allow).not.toHaveProperty('fsPaths');
    expect(granted(request(), [cluster('ro', { fs: { readOnly: ['^/etc/'] } })]).allow.fs).toBe('write');
  });

  it('carries each path pattern once, with the first policy that wrote it, and none when files are off', () => {
    const grant = granted(request(), [cluster('a', { fs: { notFound: ['^/secrets'] } }), cluster('b', { fs: { notFound: ['^/secrets', '\\.pem$'] } })]);
    expect(grant.allow.fsPaths?.notFound).toEqual([
      { pattern: '^/secrets', policy: 'cluster/a' },
      { pattern: '\\.pem$', policy: 'cluster/b' },
    ]);
    expect(granted(request(), [cluster('a', { fs: { local: ['.*'], notFound: ['^/secrets'] } })]).allow).not.toHaveProperty('fsPaths');
    expect(granted(request(), [cluster('a', {})]).allow).not.toHaveProperty('fsPaths');
  });

  it('local or notFound matching every path: no files; a session asking read or local never gets more', () => {
    expect(granted(request(), [cluster('local', { fs: { local: ['^/'] } })]).allow.fs).toBe('none');
    expect(granted(request(), [cluster('nf', { fs: { notFound: [''] } })]).allow.fs).toBe('none');
    expect(granted(request({ fs: 'read' }), []).allow.fs).toBe('read');
    expect(granted(request({ fs: 'local' }), []).allow.fs).toBe('none');
    expect(granted(request({ fs: 'local' }), [cluster('ro', { fs: { readOnly: ['.*'] } })]).allow.fs).toBe('none');
  });

  it('tells patterns that match every path from those that single some out', () => {
    for (const pattern of ['.*', '^.*$', '^/', '/', '', '.']) expect(matchesEveryPath(pattern)).toBe(true);
    for (const pattern of ['^/etc/', 'secrets', '^/$', '\\.yaml$']) expect(matchesEveryPath(pattern)).toBe(false);
  });
});

describe('which policies apply', () => {
  it('skips policies of other targets, namespaces and subjects, and exempt users', () => {
    const policies = [
      shop('other-target', { targetPath: 'deploy/cart', block: ['steal'] }),
      shop('other-labels', { selector: { matchLabels: { app: 'cart' } }, block: ['steal'] }),
      { kind: 'MirrordPolicy' as const, namespace: 'other', name: 'elsewhere', spec: { block: ['steal' as const] } },
      cluster('ops-only', { subjects: { groups: ['ops'] }, block: ['steal'] }),
      cluster('not-alice', { exemptSubjects: { users: ['alice'] }, block: ['steal'] }),
      shop('this-one', { targetPath: 'deploy/check*', env: { exclude: ['X'] } }),
    ];
    const grant = granted(request({ incoming: [unfiltered] }), policies);
    expect(grant.policies).toEqual(['shop/this-one']);
    expect(grant.allow.env.exclude).toEqual(['X']);
    expect(refused(request({ user: 'bob', incoming: [unfiltered] }), policies).policy).toBe('cluster/not-alice');
    expect(refused(request({ groups: ['ops'], incoming: [unfiltered] }), policies).policy).toBe('cluster/ops-only');
  });

  it('combines several restrictively, naming the first refusing policy (cluster ones first)', () => {
    const policies = [shop('a-no-mirror', { block: ['mirror'] }), cluster('z-filtered', { block: ['steal-without-filter'] })];
    const grant = granted(request({ incoming: [filtered('x')] }), policies);
    expect(grant.allow.incoming).toEqual({ steal: true, stealWithoutFilter: false, mirror: false });
    expect(grant.policies).toEqual(['cluster/z-filtered', 'shop/a-no-mirror']);
    expect(refused(request({ incoming: [mirror] }), policies).allowed).toBe('steal with an HTTP filter');
  });

  it('names a cluster policy before a namespaced one whatever their names', () => {
    const target = { kind: 'deploy', name: 'checkout', namespace: 'a-team', labels: {} };
    const policies: Policy[] = [cluster('z', { block: ['steal'] }), { kind: 'MirrordPolicy', namespace: 'a-team', name: 'a', spec: { block: ['steal'] } }];
    expect(refused(request({ target, incoming: [unfiltered] }), policies).policy).toBe('cluster/z');
    expect(granted(request({ target }), policies).policies).toEqual(['cluster/z', 'a-team/a']);
  });

  it('fails closed on a policy whose pattern does not compile', () => {
    const refusal = refused(request(), [cluster('broken', { network: { incoming: { httpFilter: { headerFilter: '(' } } } })]);
    expect(refusal.policy).toBe('cluster/broken');
    expect(refusal.reason).toMatch(/^every session \(its network\.incoming\.httpFilter\.headerFilter "\(" is not a valid RE2 regular expression/);
    expect(refused(request(), [cluster('broken', { fs: { readOnly: ['(?<=a)b'] } })]).reason).toMatch(/fs\.readOnly/);
  });
});

describe('network.outgoing', () => {
  it("carries every policy's blocks and each policy's allow list, naming the policies, for the sidecar to check", () => {
    const grant = granted(request(), [
      cluster('no-metadata', { network: { outgoing: { block: [{ cidr: '169.254.169.254' }] } } }),
      shop('egress', { network: { outgoing: { allow: [{ host: '*.svc.cluster.local' }, { cidr: '10.0.0.0/8', port: 5432 }] } } }),
      shop('quiet', { env: { exclude: ['X'] } }),
    ]);
    expect(grant.allow.outgoing).toEqual({
      block: [{ cidr: '169.254.169.254', policy: 'cluster/no-metadata' }],
      allow: [
        [
          { host: '*.svc.cluster.local', policy: 'shop/egress' },
          { cidr: '10.0.0.0/8', port: 5432, policy: 'shop/egress' },
        ],
      ],
    });
    expect(granted(request(), [shop('quiet', { env: { exclude: ['X'] } })]).allow.outgoing).toBeUndefined();
  });

  it('fails closed on a rule whose CIDR is not one', () => {
    expect(refused(request(), [shop('typo', { network: { outgoing: { block: [{ cidr: '10.0.0/8' }] } } })]).message).toBe(
      'every session (its network.outgoing.block "10.0.0/8" is not an address or a CIDR block) refused by policy shop/typo; allowed: nothing until the policy is fixed',
    );
  });
});
