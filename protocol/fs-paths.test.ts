import { describeFsPaths, FsPathRules, fsPathsOrNone } from './fs-paths';

describe('path rules of a ticket', () => {
  const rules = new FsPathRules({
    readOnly: [{ pattern: '^/app/config/', policy: 'shop/ro' }],
    local: [{ pattern: '\\.cache/', policy: 'shop/local' }],
    notFound: [
      { pattern: '^/var/run/secrets/', policy: 'cluster/hide' },
      { pattern: '\\.pem$', policy: 'cluster/hide' },
    ],
  });

  it('hides notFound paths (ENOENT) whatever the use, naming the pattern and the policy', () => {
    expect(rules.refusal('/var/run/secrets/kubernetes.io/token', 'read')).toEqual({
      code: 'ENOENT',
      reason: '/var/run/secrets/kubernetes.io/token does not exist for this session (fs.notFound /^/var/run/secrets// of policy cluster/hide)',
    });
    expect(rules.refusal('/app/tls/KEY.PEM', 'change')?.code).toBe('ENOENT'); // case-insensitive, as mirrord's
    expect(rules.hides('/app/tls/key.pem')).toBe(true);
    expect(rules.hides('/app/tls/key.pem.txt')).toBe(false);
  });

  it('keeps local paths off the pod (EACCES), and refuses only changes of readOnly paths (EROFS)', () => {
    expect(rules.refusal('/home/app/.cache/x', 'read')).toMatchObject({
      code: 'EACCES',
      reason: expect.stringMatching(/own machine, never the pod \(fs.local \/\\.cache\/\/ of policy shop\/local\)/),
    });
    expect(rules.refusal('/app/config/settings.yaml', 'read')).toBeUndefined();
    expect(rules.refusal('/app/config/settings.yaml', 'change')).toMatchObject({
      code: 'EROFS',
      reason: expect.stringMatching(/fs.readOnly \/\^\/app\/config\/\/ of policy shop\/ro/),
    });
    expect(rules.refusal('/app/data/x', 'change')).toBeUndefined();
  });

  it('matches a path as a directory too, and holds what lies beneath a hidden or local one', () => {
    const dirs = new FsPathRules({
      readOnly: [{ pattern: '^/etc/conf/', policy: 'p/ro' }],
      local: [{ pattern: '^/home/me$', policy: 'p/local' }],
      notFound: [{ pattern: '^/data/exact$', policy: 'p/nf' }],
    });
    expect(dirs.refusal('/var/run/secrets', 'read')).toBeUndefined();
    expect(rules.refusal('/var/run/secrets', 'read')?.code).toBe('ENOENT');
    expect(rules.refusal('/var/run/secrets/', 'read')?.code).toBe('ENOENT');
    expect(dirs.refusal('/data/exact/sub/f', 'read')).toMatchObject({ code: 'ENOENT', reason: expect.stringContaining('p/nf') });
    expect(dirs.refusal('/home/me/.bashrc', 'read')?.code).toBe('EACCES');
    expect(dirs.refusal('/etc/conf', 'change')?.code).toBe('EROFS');
    expect(dirs.refusal('/etc/conf', 'read')).toBeUndefined();
    expect(dirs.refusal('/data/exactly', 'read')).toBeUndefined();
    expect(dirs.hides('/data/exact')).toBe(true);
  });

  it('lets notFound win over local, and local over readOnly', () => {
    const both = new FsPathRules({
      readOnly: [{ pattern: '^/a', policy: 'p/ro' }],
      local: [{ pattern: '^/a/b', policy: 'p/local' }],
      notFound: [{ pattern: '^/a/b/c', policy: 'p/nf' }],
    });
    expect(both.refusal('/a/b/c', 'change')?.code).toBe('ENOENT');
    expect(both.refusal('/a/b/x', 'change')?.code).toBe('EACCES');
    expect(both.refusal('/a/x', 'change')?.code).toBe('EROFS');
  });

  it('is carried only when some list holds a rule', () => {
    expect(fsPathsOrNone({ readOnly: [], local: [], notFound: [] })).toBeUndefined();
    const one = { readOnly: [], local: [{ pattern: 'x', policy: 'p' }], notFound: [] };
    expect(fsPathsOrNone(one)).toBe(one);
  });

  it('describes the rules in one line, naming each policy', () => {
    expect(
      describeFsPaths({
        readOnly: [{ pattern: '^/data/', policy: 'shop/ro' }],
        local: [],
        notFound: [
          { pattern: '\\.key$', policy: 'cluster/hide' },
          { pattern: '^/var/run/secrets/', policy: 'shop/hide' },
        ],
      }),
    ).toBe("the policies hold the pod's files: don't exist: /\\.key$/ (cluster/hide), /^/var/run/secrets// (shop/hide); read-only: /^/data// (shop/ro)");
  });
});
