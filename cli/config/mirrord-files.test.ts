/**
 * mirrord.json files as mirrord users write them (the examples of mirrord's reference and the
 * configs of its tests), through the whole path: loaded, resolved, and given to the layer's
 * policies.
 */
import { join } from 'node:path';
import { compileDnsFilter } from '../../intproxy/dns-filter';
import { FsPolicy } from '../../intproxy/fs-policy';
import { compileOutgoingFilter } from '../../intproxy/outgoing-filter';
import { loadSettings } from './resolve';

const load = (file: string) => loadSettings(file, {}, {}, join(__dirname, 'testdata'));

describe("mirrord users' files", () => {
  it('steal-filtered.json: a filtered steal, local destinations by name, subnet and port', () => {
    const settings = load('steal-filtered.json');
    expect(settings.target).toEqual({ path: 'deployment/orders', namespace: 'shop' });
    expect(settings.kubeContext).toBe('staging');
    expect(settings.layer).toEqual({
      incoming: {
        mode: 'steal',
        httpFilter: { header: '^x-debug-session: 121212$', path: '^/api/orders' },
        httpFilterPorts: [8080],
        portMapping: [[9333, 8080]],
        ignorePorts: [9999],
        ignoreLocalhost: false,
      },
      outgoing: { tcp: true, udp: true, filter: { local: ['tcp://1.1.1.0/24:1337', '1.1.5.0/24', 'google.com', ':53', '[::1]:6379'] }, ignoreLocalhost: true },
      dns: true,
      dnsFilter: { local: ['1.1.1.0/24:1337', '1.1.5.0/24', 'google.com'] },
      fs: { mode: 'read' },
      hostname: false,
    });
    expect(settings.env).toEqual({ enabled: true });
    expect(settings.warnings).toEqual([
      'steal-filtered.json: feature.network.incoming.listen_ports is not supported yet; it is ignored',
      'steal-filtered.json: agent is not supported yet; it is ignored',
      'the target\'s container ("app") is not supported yet; it is ignored',
    ]);

    const remote = compileOutgoingFilter(settings.layer.outgoing.filter);
    expect(remote('tcp', '1.1.1.7', 1337, [])).toBe(false);
    expect(remote('udp', '1.1.1.7', 1337, [])).toBe(true);
    expect(remote('tcp', '1.1.5.200', 443, [])).toBe(false);
    expect(remote('tcp', '142.250.1.1', 443, ['google.com'])).toBe(false);
    expect(remote('udp', '10.96.0.10', 53, [])).toBe(false);
    expect(remote('tcp', '::1', 6379, [])).toBe(false);
    expect(remote('tcp', '10.0.0.5', 5432, ['db.shop'])).toBe(true);
    const resolveInPod = compileDnsFilter(settings.layer.dnsFilter);
    expect(resolveInPod('google.com')).toBe(false);
    expect(resolveInPod('db.shop')).toBe(true);
  });

  it("local-with-overrides.json: only the patterns are the pod's; not_found, mapping, env mapping, unset and env_file", () => {
    const settings = load('local-with-overrides.json');
    expect(settings.target).toEqual({ path: 'pod/bear-pod' });
    expect(settings.layer).toEqual({
      incoming: { mode: 'off', portMapping: [], ignorePorts: [], ignoreLocalhost: false },
      outgoing: { tcp: true, udp: true, ignoreLocalhost: false },
      dns: true,
      fs: {
        mode: 'localwithoverrides',
        readWrite: ['.+\\.json'],
        readOnly: ['^/etc/app/.+\\.yaml$', '.+important-file\\.txt'],
        local: ['.+\\.js', '.+\\.mjs'],
        notFound: ['\\.config/gcloud', '^/root/\\.aws'],
        mapping: [
          ['^/home/(?<user>\\S+)/dev/tomcat', '/etc/tomcat'],
          ['^/home/(?<user>\\S+)/dev/config/(?<app>\\S+)', '/mnt/configs/${user}-$app'],
        ],
      },
      hostname: true,
    });
    expect(settings.env).toEqual({
      enabled: true,
      exclude: ['DATABASE_PASSWORD', 'SECRET_*'],
      override: { DATABASE_CONNECTION: 'db://localhost:7777/my-db', LOCAL_BEAR: 'panda' },
      mapping: [
        ['.+_TIMEOUT', '10000'],
        ['LOG_.+_VERBOSITY', 'debug'],
      ],
      unset: ['AWS_PROFILE', 'KUBECONFIG'],
      file: '.env.dev',
    });
    expect(settings.warnings).toEqual([
      'local-with-overrides.json: feature.fs.readonly_file_buffer has no effect here (remote files are copied whole); it is ignored',
      'local-with-overrides.json: experimental is not supported yet; it is ignored',
      'local-with-overrides.json: internal_proxy has no effect here (the local proxy runs inside the mirrord process); it is ignored',
      'the target\'s container ("bear-pod-container") is not supported yet; it is ignored',
    ]);

    const fs = new FsPolicy(settings.layer.fs, ['/etc/app', '/mnt/configs', '/etc/tomcat']);
    expect(fs.access('/etc/app/settings.yaml')).toBe('read');
    expect(fs.access('/etc/app/settings.toml')).toBe('local');
    expect(fs.access('/srv/data/orders.json')).toBe('write');
    expect(fs.access('/srv/app/main.js')).toBe('local');
    expect(fs.access('/home/me/.config/gcloud/credentials.db')).toBe('notfound');
    expect(fs.access('/home/me/dev/config/api/important-file.txt')).toBe('read');
    expect(fs.remotePath('/home/me/dev/config/api/important-file.txt')).toBe('/mnt/configs/me-api/important-file.txt');
  });

  it('outgoing-remote.json: only the listed destinations through the pod, their names resolved there', () => {
    const settings = load('outgoing-remote.json');
    expect(settings.target).toEqual({ path: 'deploy/payments' });
    expect(settings.layer).toEqual({
      incoming: { mode: 'mirror', portMapping: [], ignorePorts: [], ignoreLocalhost: false },
      outgoing: {
        tcp: true,
        udp: false,
        filter: { remote: ['udp://1.1.1.0/24:1337', 'google.com:1337', 'google.com:7331', 'my-service.shop.svc.cluster.local', ':3333'] },
        ignoreLocalhost: false,
      },
      dns: true,
      dnsFilter: { remote: ['my-service-in-cluster', 'google.com:1337', 'google.com:7331', 'my-service.shop.svc.cluster.local'] },
      fs: { mode: 'write', readOnly: ['^/etc/ssl/'] },
      hostname: true,
    });
    expect(settings.env).toEqual({ enabled: true, include: ['DATABASE_USER', 'PUBLIC_ENV', 'MY_APP_*'] });
    expect(settings.warnings).toEqual([
      'outgoing-remote.json: feature.network.outgoing.unix_streams is not supported yet; it is ignored',
      'outgoing-remote.json: feature.network.ipv6 has no effect here (IPv6 is intercepted wherever the pod has it); it is ignored',
      'outgoing-remote.json: skip_processes is not supported yet; it is ignored',
    ]);

    const remote = compileOutgoingFilter(settings.layer.outgoing.filter);
    expect(remote('tcp', '10.0.3.4', 8080, ['my-service.shop.svc.cluster.local'])).toBe(true);
    expect(remote('tcp', '142.250.1.1', 1337, ['google.com'])).toBe(true);
    expect(remote('tcp', '142.250.1.1', 443, ['google.com'])).toBe(false);
    expect(remote('tcp', '203.0.113.9', 3333, [])).toBe(true);
    const resolveInPod = compileDnsFilter(settings.layer.dnsFilter);
    expect(resolveInPod('my-service.shop.svc.cluster.local')).toBe(true);
    expect(resolveInPod('google.com', 1337)).toBe(true);
    expect(resolveInPod('example.com')).toBe(false);
  });

  it("complete.json: the complete example of mirrord's reference", () => {
    const settings = load('complete.json');
    expect(settings.target).toEqual({ path: 'pod/bear-pod', namespace: 'default' });
    expect([settings.kubeContext, settings.kubeconfig]).toEqual(['my-cluster', '~/.kube/config']);
    expect(settings.layer).toEqual({
      incoming: {
        mode: 'steal',
        httpFilter: { header: '^baggage: .*mirrord-session=bear.*$' },
        portMapping: [[7777, 8888]],
        ignorePorts: [9999, 10000],
        ignoreLocalhost: false,
      },
      outgoing: { tcp: true, udp: true, filter: { local: ['tcp://1.1.1.0/24:1337', '1.1.5.0/24', 'google.com', ':53'] }, ignoreLocalhost: false },
      dns: true,
      dnsFilter: { local: ['1.1.1.0/24:1337', '1.1.5.0/24', 'google.com'] },
      fs: { mode: 'write', readWrite: ['.+\\.json'], readOnly: ['.+\\.yaml', '.+important-file\\.txt'], local: ['.+\\.js', '.+\\.mjs'] },
      hostname: true,
    });
    expect(settings.env).toEqual({
      enabled: true,
      include: ['DATABASE_USER', 'PUBLIC_ENV'],
      override: { DATABASE_CONNECTION: 'db://localhost:7777/my-db', LOCAL_BEAR: 'panda' },
      mapping: [['.+_TIMEOUT', '1000']],
    });
    expect(settings.warnings).toEqual([
      'complete.json: feature.network.outgoing.unix_streams is not supported yet; it is ignored',
      'complete.json: agent is not supported yet; it is ignored',
      'complete.json: operator is not supported yet; it is ignored',
      'complete.json: sip_binaries has no effect here (macOS only); it is ignored',
      'complete.json: skip_processes is not supported yet; it is ignored',
      'complete.json: telemetry has no effect here (no telemetry is sent); it is ignored',
    ]);
  });

  it('a templated file: its text is taken as written, with a warning', () => {
    const settings = loadSettings('templated.json', {}, {}, join(__dirname, 'testdata'));
    expect(settings.layer.incoming.httpFilter).toEqual({ header: '^baggage: .*mirrord-session={{ key }}.*$' });
    expect(settings.warnings).toEqual(['templated.json: templates ({{ … }}, {% … %}) are not supported yet; the text is used as written']);
  });
});
