import { literalPrefix, re2Searcher } from './re2';

describe('literalPrefix', () => {
  it.each([
    ['^/var/lib/app/.*\\.json$', '/var/lib/app/'],
    ['^/etc/app\\.yaml$', '/etc/app.yaml'],
    ['^/data', '/data'],
    ['^\\/srv\\/www\\/', '/srv/www/'],
    ['^/a/b?/c', '/a/'],
    ['^/a/?b', '/a'],
    ['^/opt/[a-z]+/bin/', '/opt/'],
    ['^/opt/\\d+/', '/opt/'],
    ['^/app(/|$)', '/app'],
    ['\\.json$', ''],
    ['^/a/|^/b/', ''],
  ])('%s -> %s', (pattern, prefix) => expect(literalPrefix(pattern)).toBe(prefix));

  it('covers every path its pattern matches', () => {
    const paths = ['/var/lib/app/x.json', '/etc/app.yaml', '/data/x', '/database', '/ab', '/a/c', '/opt/tool/bin/run', '/opt/12/x', '/b/x', '/app', '/app/x'];
    const patterns = [
      '^/var/lib/app/.*\\.json$',
      '^/etc/app\\.yaml$',
      '^/data',
      '^/a/?b',
      '^/a/b?/c',
      '^/opt/[a-z]+/bin/',
      '^/opt/\\d+/',
      '^/a/|^/b/',
      '^/app(/|$)',
    ];
    for (const pattern of patterns) {
      for (const path of paths.filter((p) => new RegExp(pattern).test(p))) expect(path.startsWith(literalPrefix(pattern))).toBe(true);
    }
  });
});

describe('re2Searcher', () => {
  it('searches case-insensitively, and answers as the regex would when the literal start rules a text out', () => {
    const secrets = re2Searcher('^/var/run/secrets/');
    expect(secrets('/var/run/secrets/token')).toBe(true);
    expect(secrets('/VAR/Run/secrets/token')).toBe(true);
    expect(secrets('/var/run/secret')).toBe(false);
    expect(secrets('/etc/var/run/secrets/')).toBe(false);
    // RE2 folds the Kelvin sign onto k: a text that isn't ASCII where the literal is goes to the regex.
    expect(re2Searcher('^/k')('/\u212a')).toBe(true);
    expect(re2Searcher('\\.key$')('/a/b.KEY')).toBe(true);
    expect(re2Searcher('^/a/|^/b/')('/b/x')).toBe(true);
  });
});
