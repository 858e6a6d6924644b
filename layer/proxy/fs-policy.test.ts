import { FsPolicy, literalPrefix } from './fs-policy';

const MOUNTS = ['/etc/config', '/data'];

describe('FsPolicy.access', () => {
  it('serves the mounts by mode, and nothing else', () => {
    const read = new FsPolicy({ mode: 'read' }, MOUNTS);
    expect(read.access('/etc/config/app.yaml')).toBe('read');
    expect(read.access('/etc/config')).toBe('read');
    expect(read.access('/etc/configuration')).toBe('local');
    expect(read.access('/usr/lib/libc.so.6')).toBe('local');
    expect(new FsPolicy({ mode: 'write' }, MOUNTS).access('/data/x')).toBe('write');
    expect(new FsPolicy({ mode: 'local', readWrite: ['^/data'] }, MOUNTS).access('/data/x')).toBe('local');
  });

  it('applies local, read_write and read_only as regexes, in that order', () => {
    const policy = new FsPolicy({ mode: 'read', local: ['\\.lock$'], readWrite: ['^/data/out/'], readOnly: ['^/var/lib/app/.*\\.json$', '^/data/'] }, MOUNTS);
    expect(policy.access('/data/out/report.txt')).toBe('write');
    expect(policy.access('/data/out/report.lock')).toBe('local');
    expect(policy.access('/data/in.csv')).toBe('read');
    expect(policy.access('/var/lib/app/settings.json')).toBe('read');
    expect(policy.access('/var/lib/app/settings.yaml')).toBe('local');
    expect(new FsPolicy({ mode: 'write', readOnly: ['^/data/'] }, MOUNTS).access('/data/in.csv')).toBe('read');
  });
});

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
    const patterns = ['^/var/lib/app/.*\\.json$', '^/etc/app\\.yaml$', '^/data', '^/a/?b', '^/a/b?/c', '^/opt/[a-z]+/bin/', '^/opt/\\d+/', '^/a/|^/b/', '^/app(/|$)'];
    for (const pattern of patterns) {
      for (const path of paths.filter((p) => new RegExp(pattern).test(p))) expect(path.startsWith(literalPrefix(pattern))).toBe(true);
    }
  });

  it('leaves relative paths here, and names the patterns without an anchored literal start', () => {
    const policy = new FsPolicy({ mode: 'write', readOnly: ['.+\\.yaml$', '^/srv/'] }, MOUNTS);
    expect(policy.access('config.yaml')).toBe('local');
    expect(policy.access('/x/config.yaml')).toBe('read');
    expect(policy.unanchored()).toEqual(['.+\\.yaml$']);
  });

  it('covers a literal holding the list separator, or a list too long for the layer, with every path', () => {
    expect(new FsPolicy({ mode: 'read', readOnly: ['^/data/a:b'] }, MOUNTS).layerPrefixes()).toEqual(['/etc/config', '/data', '*']);
    const many = Array.from({ length: 300 }, (_, i) => `^/srv/service-number-${i}/`);
    expect(new FsPolicy({ mode: 'read', readOnly: many }, MOUNTS).layerPrefixes()).toEqual(['*']);
  });

  it('gives the layer the mounts and the patterns’ prefixes, none in local mode', () => {
    expect(new FsPolicy({ mode: 'read', readOnly: ['^/srv/'], readWrite: ['^/data/out/'] }, MOUNTS).layerPrefixes()).toEqual(['/etc/config', '/data', '/data/out/*', '/srv/*']);
    expect(new FsPolicy({ mode: 'local', readOnly: ['^/srv/'] }, MOUNTS).layerPrefixes()).toEqual([]);
  });
});
