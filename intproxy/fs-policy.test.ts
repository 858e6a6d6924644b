import { FsPolicy, podFsRights, type FsMode, type FsOptions } from './fs-policy';

const MOUNTS = ['/etc/config', '/data'];

/** What becomes of an open: the proxy keeps a read-only remote path local when it is opened for writing. */
function decide(policy: FsPolicy, path: string, write: boolean): 'local' | 'remote' | 'notfound' {
  const access = policy.access(path);
  if (access === 'notfound') return 'notfound';
  return access === 'local' || (access === 'read' && write) ? 'local' : 'remote';
}

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

  it('checks read_write, read_only and local in that order, as mirrord', () => {
    const policy = new FsPolicy({ mode: 'read', local: ['\\.lock$'], readWrite: ['^/data/out/'], readOnly: ['^/var/lib/app/.*\\.json$', '^/data/'] }, MOUNTS);
    expect(policy.access('/data/out/report.txt')).toBe('write');
    expect(policy.access('/data/out/report.lock')).toBe('write');
    expect(policy.access('/data/in.lock')).toBe('read');
    expect(policy.access('/etc/config/x.lock')).toBe('local');
    expect(policy.access('/data/in.csv')).toBe('read');
    expect(policy.access('/var/lib/app/settings.json')).toBe('read');
    expect(policy.access('/var/lib/app/settings.yaml')).toBe('local');
    expect(new FsPolicy({ mode: 'write', readOnly: ['^/data/'] }, MOUNTS).access('/data/in.csv')).toBe('read');
  });

  it('matches patterns case-insensitively, and takes the Rust spellings of regexes', () => {
    const policy = new FsPolicy({ mode: 'read', readOnly: ['^/srv/(?P<name>[a-z]+)\\.YAML$'] }, MOUNTS);
    expect(policy.access('/srv/app.yaml')).toBe('read');
  });

  // mirrord's layer tests (file/filter.rs, include_complex_configuration): mode × path × write.
  // Here the mode covers the app's mounts (/a and /pain); /opt is not one, as mirrord keeps it local.
  describe('the decision table of mirrord', () => {
    const options = (mode: FsMode): FsOptions => ({
      mode,
      readWrite: ['/pain/read_write.*\\.a'],
      readOnly: ['/pain/read_only.*\\.a'],
      local: ['/pain/local.*\\.a'],
    });
    const L = 'local';
    const R = 'remote';
    const table: [FsMode, string, boolean, string][] = [
      ['write', '/a/test.a', false, R],
      ['write', '/pain/read_write/test.a', false, R],
      ['write', '/pain/read_only/test.a', false, R],
      ['write', '/pain/write.a', false, R],
      ['write', '/pain/local/test.a', false, L],
      ['write', '/opt/test.a', false, L],
      ['write', '/a/test.a', true, R],
      ['write', '/pain/read_write/test.a', true, R],
      ['write', '/pain/read_only/test.a', true, L],
      ['write', '/pain/write.a', true, R],
      ['write', '/pain/local/test.a', true, L],
      ['write', '/opt/test.a', true, L],
      ['read', '/a/test.a', false, R],
      ['read', '/pain/read_write/test.a', false, R],
      ['read', '/pain/read_only/test.a', false, R],
      ['read', '/pain/write.a', false, R],
      ['read', '/pain/local/test.a', false, L],
      ['read', '/opt/test.a', false, L],
      ['read', '/a/test.a', true, L],
      ['read', '/pain/read_write/test.a', true, R],
      ['read', '/pain/read_only/test.a', true, L],
      ['read', '/pain/write.a', true, L],
      ['read', '/pain/local/test.a', true, L],
      ['read', '/opt/test.a', true, L],
      ['localwithoverrides', '/a/test.a', false, L],
      ['localwithoverrides', '/pain/read_write/test.a', false, R],
      ['localwithoverrides', '/pain/read_only/test.a', false, R],
      ['localwithoverrides', '/pain/write.a', false, L],
      ['localwithoverrides', '/pain/local/test.a', false, L],
      ['localwithoverrides', '/opt/test.a', false, L],
      ['localwithoverrides', '/a/test.a', true, L],
      ['localwithoverrides', '/pain/read_write/test.a', true, R],
      ['localwithoverrides', '/pain/read_only/test.a', true, L],
      ['localwithoverrides', '/pain/write.a', true, L],
      ['localwithoverrides', '/pain/local/test.a', true, L],
      ['localwithoverrides', '/opt/test.a', true, L],
      ['local', '/a/test.a', false, L],
      ['local', '/pain/read_write/test.a', false, L],
      ['local', '/pain/read_only/test.a', false, L],
      ['local', '/pain/write.a', false, L],
      ['local', '/pain/local/test.a', false, L],
      ['local', '/opt/test.a', false, L],
      ['local', '/a/test.a', true, L],
      ['local', '/pain/read_write/test.a', true, L],
      ['local', '/pain/read_only/test.a', true, L],
      ['local', '/pain/write.a', true, L],
      ['local', '/pain/local/test.a', true, L],
      ['local', '/opt/test.a', true, L],
    ];
    it.each(table)('%s %s (write %s) -> %s', (mode, path, write, expected) => {
      expect(decide(new FsPolicy(options(mode), ['/a', '/pain']), path, write)).toBe(expected);
    });
  });

  it('not_found comes first: such paths do not exist, whatever the other lists and the mode say', () => {
    const policy = new FsPolicy({ mode: 'write', notFound: ['\\.config/gcloud', '^/data/secret'], readWrite: ['^/data/'] }, MOUNTS);
    expect(policy.access('/home/me/.config/gcloud/credentials.db')).toBe('notfound');
    expect(policy.access('/data/secret.txt')).toBe('notfound');
    expect(policy.access('/data/public.txt')).toBe('write');
    expect(new FsPolicy({ mode: 'localwithoverrides', notFound: ['^/x'] }, MOUNTS).access('/x/y')).toBe('notfound');
    expect(new FsPolicy({ mode: 'local', notFound: ['^/x'] }, MOUNTS).access('/x/y')).toBe('local');
  });

  it("puts the ticket's notFound and local paths before the config's lists; its readOnly paths are the sidecar's to hold", () => {
    const held = {
      readOnly: [{ pattern: '^/data/', policy: 'shop/ro' }],
      local: [{ pattern: '^/data/cache/', policy: 'shop/local' }],
      notFound: [{ pattern: '\\.pem$', policy: 'cluster/hide' }],
    };
    const policy = new FsPolicy({ mode: 'write', readWrite: ['^/data/'] }, MOUNTS, held);
    expect(policy.access('/data/cache/blob')).toBe('local');
    expect(policy.access('/data/tls/KEY.pem')).toBe('notfound');
    // Asked of the pod, which refuses its changes (EROFS) by the ticket's readOnly rule.
    expect(policy.access('/data/public.txt')).toBe('write');
    expect(new FsPolicy({ mode: 'write', readWrite: ['^/data/'] }, MOUNTS).access('/data/cache/blob')).toBe('write');
    // Matched as the sidecar matches them: normalised, as RE2 reads the pattern, beneath a matching directory too.
    expect(policy.access('/data//cache/./blob')).toBe('local');
    expect(policy.access('/data/cache')).toBe('local');
    const re2Only = new FsPolicy({ mode: 'read' }, MOUNTS, { ...held, notFound: [{ pattern: '(?i:^/DATA/private)', policy: 'p' }] });
    expect(re2Only.access('/data/private/x')).toBe('notfound');
  });
});

describe('FsPolicy.remotePath (feature.fs.mapping)', () => {
  // mirrord's documented example.
  const policy = new FsPolicy(
    {
      mode: 'read',
      mapping: [
        ['^/home/(?<user>\\S+)/dev/tomcat', '/etc/tomcat'],
        ['^/home/(?<user>\\S+)/dev/config/(?<app>\\S+)', '/mnt/configs/${user}-$app'],
      ],
    },
    ['/etc/tomcat', '/mnt/configs'],
  );

  it('rewrites the path with the first matching pattern, groups expanded as Rust does', () => {
    expect(policy.remotePath('/home/johndoe/dev/tomcat/context.xml')).toBe('/etc/tomcat/context.xml');
    expect(policy.remotePath('/home/johndoe/dev/config/api/app.conf')).toBe('/mnt/configs/johndoe-api/app.conf');
    expect(policy.remotePath('/srv/other')).toBe('/srv/other');
    expect(policy.remotePath('dev/tomcat/x')).toBe('dev/tomcat/x');
  });

  it('decides on the rewritten path', () => {
    expect(policy.access('/home/johndoe/dev/tomcat/context.xml')).toBe('read');
    expect(policy.access('/home/johndoe/elsewhere')).toBe('local');
  });

  it('expands $1, ${1}, $$ and absent groups', () => {
    const numbered = new FsPolicy({ mode: 'read', mapping: [['^/a/(\\w+)/(\\w+)?', '/b/$1/${2}x$$$9']] }, []);
    expect(numbered.remotePath('/a/one/two/rest')).toBe('/b/one/twox$/rest');
    expect(numbered.remotePath('/a/one/')).toBe('/b/one/x$');
  });
});

describe('FsPolicy.unanchored', () => {
  it('leaves relative paths here, and names the patterns without an anchored literal start', () => {
    const policy = new FsPolicy({ mode: 'write', readOnly: ['.+\\.yaml$', '^/srv/'], notFound: ['gcloud'], mapping: [['^/home/', '/srv/']] }, MOUNTS);
    expect(policy.access('config.yaml')).toBe('local');
    expect(policy.access('/x/config.yaml')).toBe('read');
    expect(policy.unanchored()).toEqual(['.+\\.yaml$', 'gcloud']);
  });

  it('covers a literal holding the list separator, or a list too long for the layer, with every path', () => {
    expect(new FsPolicy({ mode: 'read', readOnly: ['^/data/a:b'] }, MOUNTS).layerPrefixes()).toEqual(['/etc/config', '/data', '*']);
    const many = Array.from({ length: 300 }, (_, i) => `^/srv/service-number-${i}/`);
    expect(new FsPolicy({ mode: 'read', readOnly: many }, MOUNTS).layerPrefixes()).toEqual(['*']);
  });

  it('gives the layer the mounts and the prefixes of every pattern that can make a path remote or missing', () => {
    expect(new FsPolicy({ mode: 'read', readOnly: ['^/srv/'], readWrite: ['^/data/out/'] }, MOUNTS).layerPrefixes()).toEqual([
      '/etc/config',
      '/data',
      '/data/out/*',
      '/srv/*',
    ]);
    expect(new FsPolicy({ mode: 'read', notFound: ['^/home/me/\\.aws'], mapping: [['^/home/(\\w+)/dev', '/srv']] }, MOUNTS).layerPrefixes()).toEqual([
      '/etc/config',
      '/data',
      '/home/me/.aws*',
      '/home/*',
    ]);
    expect(new FsPolicy({ mode: 'local', readOnly: ['^/srv/'] }, MOUNTS).layerPrefixes()).toEqual([]);
  });

  it('in localwithoverrides, only the patterns, not the mounts', () => {
    expect(new FsPolicy({ mode: 'localwithoverrides', readOnly: ['^/etc/config/app\\.yaml$'] }, MOUNTS).layerPrefixes()).toEqual(['/etc/config/app.yaml*']);
    expect(new FsPolicy({ mode: 'localwithoverrides' }, MOUNTS).layerPrefixes()).toEqual([]);
  });
});

describe('what the session asks the sidecar to allow', () => {
  it('write where some path may be written in the pod, read otherwise', () => {
    expect(podFsRights({ mode: 'write' })).toBe('write');
    expect(podFsRights({ mode: 'read', readWrite: ['^/srv/out/'] })).toBe('write');
    expect(podFsRights({ mode: 'localwithoverrides', readWrite: ['^/srv/out/'] })).toBe('write');
    expect(podFsRights({ mode: 'read', readOnly: ['^/srv/'] })).toBe('read');
    expect(podFsRights({ mode: 'localwithoverrides' })).toBe('read');
    expect(podFsRights({ mode: 'local', readWrite: ['^/srv/out/'] })).toBe('read');
  });
});
