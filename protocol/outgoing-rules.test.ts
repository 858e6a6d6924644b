import { cidrProblem, outgoingRefusal, outgoingRule, ruleMatches } from './outgoing-rules';

const policy = 'shop/egress';

describe('outgoing rules', () => {
  it('match a destination on every part they set: CIDR, host glob, port', () => {
    const db = { names: ['db.shop.svc.cluster.local'], address: '10.96.0.12', port: 5432 };
    expect(ruleMatches({ cidr: '10.96.0.0/12', policy }, db)).toBe(true);
    expect(ruleMatches({ cidr: '10.96.0.12', policy }, db)).toBe(true);
    expect(ruleMatches({ cidr: '192.168.0.0/16', policy }, db)).toBe(false);
    expect(ruleMatches({ host: '*.SVC.cluster.local', policy }, db)).toBe(true);
    expect(ruleMatches({ host: 'db.shop.svc.cluster.local.', policy }, { ...db, names: ['db.shop.svc.cluster.local.'] })).toBe(true);
    expect(ruleMatches({ host: '*.internal', policy }, db)).toBe(false);
    expect(ruleMatches({ host: '*', policy }, { names: [], address: '10.96.0.12', port: 5432 })).toBe(false); // an address nobody resolved has no name
    expect(ruleMatches({ cidr: '10.0.0.0/8', port: 5432, policy }, db)).toBe(true);
    expect(ruleMatches({ cidr: '10.0.0.0/8', port: 6379, policy }, db)).toBe(false);
    expect(ruleMatches({ cidr: 'fd00::/8', policy }, { names: [], address: 'fd12::1', port: 80 })).toBe(true);
    expect(ruleMatches({ cidr: 'fd00::/8', policy }, db)).toBe(false);
  });

  it('refuse a blocked destination and one outside any policy allow list, naming the policy', () => {
    const rules = {
      block: [{ cidr: '169.254.169.254', policy: 'cluster/no-metadata' }],
      allow: [
        [
          { host: '*.svc.cluster.local', policy },
          { cidr: '10.0.0.0/8', policy },
        ],
      ],
    };
    expect(outgoingRefusal(rules, { names: [], address: '169.254.169.254', port: 80 })).toBe('blocked (cidr 169.254.169.254) by policy cluster/no-metadata');
    expect(outgoingRefusal(rules, { names: ['api.example.com'], address: '93.184.216.34', port: 443 })).toBe(
      `not among the destinations policy ${policy} allows (host *.svc.cluster.local; cidr 10.0.0.0/8)`,
    );
    expect(outgoingRefusal(rules, { names: ['other.example', 'db.shop.svc.cluster.local'], address: '10.96.0.12', port: 5432 })).toBeUndefined();
    expect(outgoingRefusal({ block: [], allow: [] }, { names: [], address: '93.184.216.34', port: 443 })).toBeUndefined();
  });

  it('validate CIDR blocks and refuse an empty rule', () => {
    expect(cidrProblem('10.0.0.0/8')).toBeUndefined();
    expect(cidrProblem('::1')).toBeUndefined();
    expect(cidrProblem('10.0.0.0/33')).toBe('"10.0.0.0/33" has an invalid prefix length');
    expect(cidrProblem('ten/8')).toBe('"ten/8" is not an address or a CIDR block');
    expect(outgoingRule.safeParse({ policy }).success).toBe(false);
    expect(outgoingRule.safeParse({ cidr: 'nope', policy }).success).toBe(false);
  });
});
