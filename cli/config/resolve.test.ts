import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../errors';
import { parseConfig } from './load';
import { loadSettings, resolveSettings } from './resolve';
import { configSchema, type FileConfig } from './schema';
import { unsupportedKeys } from './unsupported';

/** The settings of a file given as JSON, checked as `attach` checks it. */
const settingsOf = (config: unknown, env: NodeJS.ProcessEnv = {}) => resolveSettings(parseConfig(JSON.stringify(config)), {}, 'mirrord.json', env);
const layerOf = (config: unknown) => settingsOf(config).layer;

describe('settings: defaults, the file, the variables, the flags', () => {
  it("has mirrord's defaults", () => {
    expect(resolveSettings({})).toEqual({
      target: undefined,
      kubeContext: undefined,
      kubeconfig: undefined,
      layer: {
        incoming: { mode: 'mirror', portMapping: [], ignorePorts: [], ignoreLocalhost: false },
        outgoing: { tcp: true, udp: true, ignoreLocalhost: false },
        dns: true,
        fs: { mode: 'read' },
        hostname: true,
      },
      env: { enabled: true },
      interception: 'auto',
      warnings: [],
    });
  });

  it('takes interception from the file, a flag over it', () => {
    expect(settingsOf({ interception: 'syscall' }).interception).toBe('syscall');
    expect(resolveSettings(parseConfig(JSON.stringify({ interception: 'syscall' })), { interception: 'preload' }).interception).toBe('preload');
  });

  it('takes the file as written', () => {
    const settings = settingsOf({
      target: { path: 'deploy/api', namespace: 'shop' },
      kube_context: 'dev',
      feature: {
        network: {
          incoming: {
            mode: 'steal',
            http_filter: { header_filter: '^x-user: me$', method_filter: 'POST' },
            port_mapping: [[8081, 80]],
            ports: [80],
            ignore_ports: [9000],
          },
          outgoing: { udp: false, filter: { remote: '198.18.0.0/15' } },
          dns: { enabled: false },
        },
        fs: { mode: 'write', read_only: '/etc/ssl', local: ['/tmp', '/var'] },
        env: { include: 'APP_*;DB_URL', exclude: ['APP_SECRET'], override: { A: 'b' } },
      },
    });
    expect(settings.target).toEqual({ path: 'deploy/api', namespace: 'shop' });
    expect(settings.kubeContext).toBe('dev');
    expect(settings.layer).toEqual({
      incoming: {
        mode: 'steal',
        httpFilter: { header: '^x-user: me$', method: 'POST' },
        portMapping: [[8081, 80]],
        ports: [80],
        ignorePorts: [9000],
        ignoreLocalhost: false,
      },
      outgoing: { tcp: true, udp: false, filter: { remote: ['198.18.0.0/15'] }, ignoreLocalhost: false },
      dns: false,
      fs: { mode: 'write', readOnly: ['/etc/ssl'], local: ['/tmp', '/var'] },
      hostname: true,
    });
    expect(settings.env).toEqual({ enabled: true, include: ['APP_*', 'DB_URL'], exclude: ['APP_SECRET'], override: { A: 'b' } });
    expect(settings.warnings).toEqual([
      'feature.network.outgoing.filter.remote names destinations for the pod, but remote DNS is off: their names are resolved here',
    ]);
  });

  it('lets flags override the file', () => {
    const config: FileConfig = {
      target: 'deploy/from-file',
      feature: { network: { incoming: { mode: 'steal', ports: [80], port_mapping: [[9000, 443]] } }, fs: 'write', env: { include: 'A', exclude: 'C' } },
    };
    const settings = resolveSettings(config, {
      target: 'pod/from-flag',
      namespace: 'ns',
      mode: 'mirror',
      ports: [{ remote: 8080 }, { remote: 443, local: 8443 }],
      fsMode: 'local',
      envInclude: ['B;C'],
      noOutgoing: true,
      noRemoteDns: true,
    });
    expect(settings.target).toEqual({ path: 'pod/from-flag', namespace: 'ns' });
    expect(settings.layer.incoming).toMatchObject({
      mode: 'mirror',
      ports: [8080, 443],
      portMapping: [
        [9000, 443],
        [8443, 443],
      ],
    });
    expect(settings.layer.outgoing).toEqual({ tcp: false, udp: false, ignoreLocalhost: false });
    expect(settings.layer.dns).toBe(false);
    expect(settings.layer.fs.mode).toBe('local');
    expect(settings.env).toEqual({ enabled: true, include: ['B', 'C'], exclude: ['C'] });
    expect(resolveSettings({}, { noTcpOutgoing: true }).layer.outgoing).toMatchObject({ tcp: false, udp: true });
    expect(resolveSettings({}, { envFile: 'x.env' }).env.file).toBe('x.env');
  });

  it('takes the short forms as mirrord does', () => {
    expect(layerOf({ feature: { network: { incoming: false } } }).incoming.mode).toBe('off');
    expect(layerOf({ feature: { network: { incoming: true } } }).incoming.mode).toBe('mirror');
    expect(layerOf({ feature: { network: { incoming: 'steal' } } }).incoming.mode).toBe('steal');
    const off = layerOf({ feature: { network: false } });
    expect([off.incoming.mode, off.outgoing, off.dns]).toEqual(['off', { tcp: false, udp: false, ignoreLocalhost: false }, false]);
    expect(layerOf({ feature: { network: true } }).outgoing).toEqual({ tcp: true, udp: true, ignoreLocalhost: false });
    expect(layerOf({ feature: { network: { outgoing: false, dns: false } } })).toMatchObject({ outgoing: { tcp: false, udp: false }, dns: false });
    expect(layerOf({ feature: { fs: false } }).fs).toEqual({ mode: 'local' });
    expect(layerOf({ feature: { fs: true } }).fs).toEqual({ mode: 'read' });
    expect(layerOf({ feature: { fs: 'localwithoverrides' } }).fs).toEqual({ mode: 'localwithoverrides' });
    expect(settingsOf({ feature: { env: false } }).env).toEqual({ enabled: false });
    expect(layerOf({ feature: { network: { incoming: { http_filter: false } } } }).incoming.httpFilter).toBeUndefined();
  });

  it('feature.env false leaves the remote environment out, unless --env-include asks for some', () => {
    expect(resolveSettings({ feature: { env: false } }).env.enabled).toBe(false);
    expect(resolveSettings({ feature: { env: false } }, { envInclude: ['A'] }).env).toEqual({ enabled: true, include: ['A'] });
    expect(resolveSettings({ feature: { env: false } }, {}, 'm.json', { MIRRORD_OVERRIDE_ENV_VARS_INCLUDE: 'A;B' }).env).toEqual({
      enabled: true,
      include: ['A', 'B'],
    });
  });

  it('feature.fs: every key, localwithoverrides, not_found and mapping in the file order', () => {
    expect(
      layerOf({
        feature: {
          fs: {
            mode: 'localwithoverrides',
            read_write: '.+\\.json',
            read_only: ['.+\\.yaml', '.+important-file\\.txt'],
            local: ['.+\\.js', '.+\\.mjs'],
            not_found: ['\\.config/gcloud'],
            mapping: { '^/home/(?<user>\\S+)/dev/tomcat': '/etc/tomcat', '^/home/(?<user>\\S+)/dev/config/(?<app>\\S+)': '/mnt/configs/${user}-$app' },
          },
        },
      }).fs,
    ).toEqual({
      mode: 'localwithoverrides',
      readWrite: ['.+\\.json'],
      readOnly: ['.+\\.yaml', '.+important-file\\.txt'],
      local: ['.+\\.js', '.+\\.mjs'],
      notFound: ['\\.config/gcloud'],
      mapping: [
        ['^/home/(?<user>\\S+)/dev/tomcat', '/etc/tomcat'],
        ['^/home/(?<user>\\S+)/dev/config/(?<app>\\S+)', '/mnt/configs/${user}-$app'],
      ],
    });
  });

  it('feature.env: unset, mapping, env_file', () => {
    const { env } = settingsOf({ feature: { env: { unset: 'AWS_PROFILE', mapping: { '.+_TIMEOUT': '10000' }, env_file: '.env.dev' } } });
    expect(env).toEqual({ enabled: true, unset: ['AWS_PROFILE'], mapping: [['.+_TIMEOUT', '10000']], file: '.env.dev' });
  });

  it('feature.hostname and the ignore_localhost keys', () => {
    const layer = layerOf({ feature: { hostname: false, network: { incoming: { ignore_localhost: true }, outgoing: { ignore_localhost: true } } } });
    expect(layer.hostname).toBe(false);
    expect(layer.incoming.ignoreLocalhost).toBe(true);
    expect(layer.outgoing.ignoreLocalhost).toBe(true);
  });

  describe('the target', () => {
    it('takes the string and object forms, and leaves out a container with a warning', () => {
      expect(settingsOf({ target: 'pod/bear-pod' }).target).toEqual({ path: 'pod/bear-pod' });
      expect(settingsOf({ target: { path: 'deployment/api', namespace: 'shop' } }).target).toEqual({ path: 'deployment/api', namespace: 'shop' });
      const container = settingsOf({ target: { path: { pod: 'bear-pod', container: 'bear-pod-container' }, namespace: 'bear-pod-namespace' } });
      expect(container.target).toEqual({ path: 'pod/bear-pod', namespace: 'bear-pod-namespace' });
      expect(container.warnings).toEqual(['the target\'s container ("bear-pod-container") is not supported yet; it is ignored']);
      expect(settingsOf({ target: 'pod/bear-pod/container/bear-pod-container' }).target).toEqual({ path: 'pod/bear-pod' });
      expect(settingsOf({ target: { deployment: 'api' } }).target).toEqual({ path: 'deployment/api' });
    });

    it('keeps targetless, with its namespace: a pod is started there for the session', () => {
      const settings = settingsOf({ target: { path: 'targetless', namespace: 'bear-namespace' } });
      expect(settings.target).toEqual({ path: 'targetless', namespace: 'bear-namespace' });
      expect(settings.warnings).toEqual([]);
    });
  });

  describe('the HTTP filter', () => {
    const incomingOf = (httpFilter: unknown, mode?: string) => settingsOf({ feature: { network: { incoming: { mode, http_filter: httpFilter } } } });

    it('means steal unless a mode says otherwise; in mirror mode it selects the requests copied', () => {
      expect(resolveSettings({}, { headerFilter: '^x: y$' }).layer.incoming).toMatchObject({ mode: 'steal', httpFilter: { header: '^x: y$' } });
      expect(incomingOf({ path_filter: '^/a' }).layer.incoming.mode).toBe('steal');
      const mirrored = incomingOf({ header_filter: 'x-filter: yes' }, 'mirror');
      expect(mirrored.layer.incoming).toEqual({
        mode: 'mirror',
        httpFilter: { header: 'x-filter: yes' },
        portMapping: [],
        ignorePorts: [],
        ignoreLocalhost: false,
      });
      expect(mirrored.warnings).toEqual([]);
      expect(resolveSettings({}, { pathFilter: '^/a', mode: 'mirror' }).layer.incoming).toMatchObject({ mode: 'mirror', httpFilter: { path: '^/a' } });
      const off = incomingOf({ header_filter: 'x-filter: yes' }, 'off');
      expect(off.layer.incoming.httpFilter).toBeUndefined();
      expect(off.warnings).toEqual(['mirrord.json: feature.network.incoming.http_filter selects what is stolen or mirrored; with incoming off it is ignored']);
    });

    it('composes all_of and any_of when the sidecar can apply them', () => {
      expect(
        incomingOf({ all_of: [{ header: '^x-debug-session: 121212$' }, { path: '^/api/my-endpoint$' }, { method: 'post' }] }).layer.incoming.httpFilter,
      ).toEqual({
        header: '^x-debug-session: 121212$',
        path: '^/api/my-endpoint$',
        method: 'post',
      });
      expect(incomingOf({ any_of: [{ header: '^x-user: a$' }, { header: '^x-user: b$' }] }).layer.incoming.httpFilter).toEqual({
        header: '(?:^x-user: a$)|(?:^x-user: b$)',
      });
      expect(incomingOf({ header_filter: 'x', any_of: [{ path: '^/one' }] }).layer.incoming.httpFilter).toEqual({ header: 'x', path: '^/one' });
    });

    it("composes mirrord's any_of, all_of and body filters into one filter: a kind once in its own field, the rest nested", () => {
      const mixed = incomingOf({ any_of: [{ path: '^/api/my-endpoint$' }, { header: '^x-debug-session: 121212$' }] }, 'steal');
      expect(mixed.layer.incoming).toMatchObject({
        mode: 'steal',
        httpFilter: { any: [{ path: '^/api/my-endpoint$' }, { header: '^x-debug-session: 121212$' }] },
      });
      expect(mixed.warnings).toEqual([]);
      const body = { body: 'json', query: '$.library.books[*]', matches: '^\\d{3,5}$' };
      expect(incomingOf({ body_filter: body }).layer.incoming).toMatchObject({
        mode: 'steal',
        httpFilter: { body: { query: '$.library.books[*]', matches: '^\\d{3,5}$' } },
      });
      expect(incomingOf({ all_of: [{ path: '/buildings' }, { body: { type: 'json', query: '$.a', matches: 'x' } }] }).layer.incoming.httpFilter).toEqual({
        path: '/buildings',
        body: { query: '$.a', matches: 'x' },
      });
      expect(incomingOf({ header_filter: 'a', all_of: [{ header: 'b' }] }).layer.incoming.httpFilter).toEqual({ header: 'a', all: [{ header: 'b' }] });
      // The flags' header and path over the file's; its other conditions stay.
      const withFlag = resolveSettings(
        parseConfig('{"feature": {"network": {"incoming": {"http_filter": {"body_filter": {"body": "json", "query": "$", "matches": "x"}}}}}}'),
        { headerFilter: '^x: 1$' },
      );
      expect(withFlag.layer.incoming).toMatchObject({ mode: 'steal', httpFilter: { header: '^x: 1$', body: { query: '$', matches: 'x' } } });
    });

    it('refuses a body filter whose JSONPath it does not understand, naming the key', () => {
      expect(() => incomingOf({ body_filter: { body: 'json', query: '$.items[?(@.id)]', matches: 'x' } })).toThrow(
        /feature\.network\.incoming\.http_filter\.body_filter\.query: filter expressions/,
      );
    });

    it('applies to the ports of http_filter.ports only, every port with "*" or none', () => {
      expect(incomingOf({ header_filter: 'x', ports: [80, 8080] }).layer.incoming).toMatchObject({ httpFilterPorts: [80, 8080] });
      expect(incomingOf({ header_filter: 'x', ports: ['*'] }).layer.incoming.httpFilterPorts).toBeUndefined();
      expect(incomingOf({ header_filter: 'x' }).layer.incoming.httpFilterPorts).toBeUndefined();
    });

    it('refuses a flag regex that cannot work', () => {
      expect(() => resolveSettings({}, { headerFilter: '(' })).toThrow(/^--http-header-filter: not a valid regular expression/);
    });
  });

  describe('the DNS filter', () => {
    it('takes local or remote lists', () => {
      expect(layerOf({ feature: { network: { dns: { filter: { local: ['1.1.1.0/24:1337', '1.1.5.0/24', 'google.com'] } } } } })).toMatchObject({
        dns: true,
        dnsFilter: { local: ['1.1.1.0/24:1337', '1.1.5.0/24', 'google.com'] },
      });
      expect(layerOf({ feature: { network: { dns: { enabled: true, filter: { remote: 'my-service-in-cluster' } } } } }).dnsFilter).toEqual({
        remote: ['my-service-in-cluster'],
      });
    });

    // mirrord's reflect_outgoing_filter_in_dns.
    it('gets the host names of the outgoing filter on their side', () => {
      const dnsOf = (outgoing: unknown, dnsFilter?: unknown) =>
        settingsOf({ feature: { network: { outgoing: { filter: outgoing }, dns: dnsFilter ? { filter: dnsFilter } : true } } });
      expect(dnsOf({ local: ['docker.lala', 'tcp://db:5432', '10.0.0.0/8'] }).layer.dnsFilter).toEqual({ local: ['docker.lala', 'db:5432'] });
      expect(dnsOf({ local: ['docker.lala', 'foo.com'] }, { local: ['foo.com'] }).layer.dnsFilter).toEqual({ local: ['foo.com', 'docker.lala'] });
      expect(dnsOf({ remote: ['svc.internal'] }).layer.dnsFilter).toBeUndefined();
      expect(dnsOf({ remote: ['svc.internal'] }, { remote: ['a'] }).layer.dnsFilter).toEqual({ remote: ['a', 'svc.internal'] });
      const conflict = dnsOf({ local: ['x.com'] }, { remote: ['x.com'] });
      expect(conflict.layer.dnsFilter).toEqual({ remote: ['x.com'] });
      expect(conflict.warnings).toEqual(['feature.network.outgoing.filter sends x.com from here, but feature.network.dns.filter resolves them in the pod']);
    });

    it('a filter with remote DNS off is ignored, with a warning', () => {
      const settings = settingsOf({ feature: { network: { dns: { enabled: false, filter: { local: ['a'] } } } } });
      expect(settings.layer).toMatchObject({ dns: false });
      expect(settings.layer.dnsFilter).toBeUndefined();
      expect(settings.warnings).toEqual(['feature.network.dns.filter is ignored: remote DNS is off']);
    });
  });

  it('warns about a port mapped to itself, as mirrord', () => {
    expect(settingsOf({ feature: { network: { incoming: { port_mapping: [[80, 80]] } } } }).warnings).toEqual([
      'mirrord.json: feature.network.incoming.port_mapping maps port 80 to itself; a mapping is only needed when the local process listens on another port',
    ]);
  });
});

describe('copy_target', () => {
  const copyOf = (feature: object, flags = {}) => resolveSettings({ target: 'deploy/shop', feature } as FileConfig, flags).target;

  it("is off unless asked for, as mirrord's is; scale_down asks for the copy it is for", () => {
    expect(copyOf({})).toEqual({ path: 'deploy/shop' });
    expect(copyOf({ copy_target: { scale_down: false } })).toEqual({ path: 'deploy/shop' });
    expect(copyOf({ copy_target: true })).toEqual({ path: 'deploy/shop', copy: { scaleDown: false } });
    expect(copyOf({ copy_target: { enabled: true } })).toEqual({ path: 'deploy/shop', copy: { scaleDown: false } });
    expect(copyOf({ copy_target: { scale_down: true } })).toEqual({ path: 'deploy/shop', copy: { scaleDown: true } });
  });

  it('--copy-target and --scale-down ask for it too', () => {
    expect(copyOf({}, { copyTarget: true })).toEqual({ path: 'deploy/shop', copy: { scaleDown: false } });
    expect(copyOf({ copy_target: true }, { scaleDown: true })).toEqual({ path: 'deploy/shop', copy: { scaleDown: true } });
  });

  it('without a target to copy, is ignored with a warning', () => {
    const targetless = resolveSettings({ target: 'targetless', feature: { copy_target: true } });
    expect(targetless.target).toEqual({ path: 'targetless' });
    expect(targetless.warnings).toEqual(['copy_target: a targetless session has no target to copy; it is ignored']);
    expect(resolveSettings({ feature: { copy_target: true } }).warnings).toEqual(['copy_target: there is no target to copy; it is ignored']);
  });
});

describe('split_queues', () => {
  it("becomes the ticket's request: each queue's type and filter (none: no messages)", () => {
    const settings = resolveSettings({
      target: 'deploy/orders',
      feature: { split_queues: { orders: { queue_type: 'RabbitMQ', message_filter: { user: '^me$' } }, audit: { queue_type: 'SQS' } } },
    } as FileConfig);
    expect(settings.splitQueues).toEqual({
      orders: { queueType: 'RabbitMQ', messageFilter: { user: '^me$' } },
      audit: { queueType: 'SQS', messageFilter: {} },
    });
    expect(settings.warnings).toEqual([]);
    expect(resolveSettings({ target: 'deploy/orders', feature: { split_queues: {} } } as FileConfig).splitQueues).toBeUndefined();
  });
});

describe('db_branches', () => {
  const url = { url: { type: 'env', variable: 'DATABASE_URL' } };
  const params = {
    params: { host: { type: 'env', variable: 'DB_HOST' }, user: { type: 'env', variable: 'DB_USER' }, password: { type: 'secret', name: 'db', key: 'pw' } },
  };
  const copy = { mode: 'all', tables: { users: { filter: "email LIKE '%@example.com'" } } };

  it("becomes the ticket's request: copy mode empty by default, the TTL left to the operator (300 s), an id only where the user named one", () => {
    const settings = settingsOf({
      target: 'deploy/orders',
      feature: {
        db_branches: [
          { type: 'pg', connection: url },
          {
            id: 'team-db',
            type: 'mysql',
            version: '10.11',
            name: 'shop',
            ttl_secs: 120,
            creation_timeout_secs: 90,
            connection: params,
            copy,
          },
        ],
      },
    });
    // The same entries, in the ticket's camelCase.
    expect(settings.dbBranches).toEqual([
      { type: 'pg', connection: url, copy: { mode: 'empty' } },
      { id: 'team-db', type: 'mysql', version: '10.11', name: 'shop', ttlSecs: 120, creationTimeoutSecs: 90, connection: params, copy },
    ]);
    expect(settings.warnings).toEqual([]);
    expect(settingsOf({ target: 'deploy/orders', feature: { db_branches: [] } }).dbBranches).toBeUndefined();
  });

  it('names the key of each bad value', () => {
    const branches = [
      { type: 'oracle', connection: url },
      { id: 'Team_DB', type: 'pg', connection: url },
      { type: 'pg', ttl_secs: 901, connection: url },
    ];
    expect(() => settingsOf({ target: 'deploy/orders', feature: { db_branches: branches } })).toThrow(
      [
        'the configuration has 3 problems:',
        '  mirrord.json: feature.db_branches[0].type: "oracle" is not one of "pg", "mysql"',
        '  mirrord.json: feature.db_branches[1].id: lowercase letters, digits and dashes, at most 40',
        '  mirrord.json: feature.db_branches[2].ttl_secs: must be <=900',
      ].join('\n'),
    );
  });
});

describe('keys accepted but not acted on', () => {
  /** A value of each such key, as mirrord's reference writes it. */
  const SAMPLES: Record<string, unknown> = {
    'feature.network.incoming.listen_ports': [[80, 8111]],
    'feature.network.incoming.on_concurrent_steal': 'override',
    'feature.network.incoming.https_delivery': { protocol: 'tcp' },
    'feature.network.incoming.tls_delivery': { protocol: 'tls', server_name: 'my.test.server.name' },
    'feature.network.outgoing.unix_streams': 'bear.+',
    'feature.network.ipv6': false,
    'feature.fs.readonly_file_buffer': 128000,
    'feature.env.load_from_process': true,
    'feature.magic': { aws: true },
    'feature.preview': { image: 'my-registry/my-app:latest', ttl_mins: 60 },
    accept_invalid_certificates: true,
    agent: { log_level: 'info', namespace: 'default', ttl: 30, ephemeral: false },
    api: true,
    baggage: 'k=v',
    ci: { output_dir: '/tmp/mirrord/' },
    container: { cli_image: 'ghcr.io/metalbear-co/mirrord-cli:3' },
    experimental: { readlink: true, tcp_ping4_mock: true },
    external_proxy: { start_idle_timeout: 30, idle_timeout: 5 },
    internal_proxy: { start_idle_timeout: 30, idle_timeout: 5 },
    key: 'my-session-key',
    multi_cluster: true,
    operator: true,
    sip_binaries: ['bash', 'python'],
    skip_build_tools: true,
    skip_extra_build_tools: ['bash', 'node'],
    skip_processes: 'ide-debugger',
    skip_sip: 'git',
    startup_retry: { min_ms: 500, max_ms: 5000, max_retries: 2 },
    telemetry: true,
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    use_proxy: false,
    connect_tcp: '10.0.0.1:7777',
    pause: true,
  };
  const keys = unsupportedKeys(configSchema).map((key) => ({ ...key, name: key.path.join('.') }));

  it('are the keys of the samples, no more, no less', () => {
    expect(keys.map((key) => key.name).sort()).toEqual(Object.keys(SAMPLES).sort());
  });

  it('set to what happens here anyway, they need no warning', () => {
    const config = {
      operator: false,
      telemetry: false,
      accept_invalid_certificates: false,
      feature: { copy_target: false, network: { ipv6: true, incoming: { on_concurrent_steal: 'abort' } } },
    };
    expect(settingsOf(config).warnings).toEqual([]);
  });

  it.each(keys.map((key) => [key.name, key.why] as const))('%s: accepted with exactly one warning naming it', (name, why) => {
    const config = name.split('.').reduceRight<unknown>((inner, part) => ({ [part]: inner }), SAMPLES[name]);
    expect(settingsOf(config).warnings).toEqual([
      why ? `mirrord.json: ${name} has no effect here (${why}); it is ignored` : `mirrord.json: ${name} is not supported yet; it is ignored`,
    ]);
  });
});

describe('MIRRORD_* variables: over the file, under the flags', () => {
  const file: FileConfig = {
    target: { path: 'deploy/file', namespace: 'file-ns' },
    kube_context: 'file-ctx',
    feature: {
      network: { incoming: 'mirror', outgoing: { tcp: true, udp: true }, dns: true },
      fs: { mode: 'read', read_only: ['^/file'] },
      env: { include: 'FILE_*' },
    },
  };
  const env = {
    MIRRORD_IMPERSONATED_TARGET: 'pod/env',
    MIRRORD_TARGET_NAMESPACE: 'env-ns',
    MIRRORD_KUBE_CONTEXT: 'env-ctx',
    MIRRORD_KUBECONFIG: '/env/kubeconfig',
    MIRRORD_AGENT_TCP_STEAL_TRAFFIC: 'true',
    MIRRORD_HTTP_HEADER_FILTER: '^x-env: 1$',
    MIRRORD_HTTP_FILTER_PORTS: '80;8080',
    MIRRORD_TCP_OUTGOING: 'false',
    MIRRORD_REMOTE_DNS: 'false',
    MIRRORD_FILE_MODE: 'localwithoverrides',
    MIRRORD_FILE_READ_ONLY_PATTERN: '^/env/a;^/env/b',
    MIRRORD_FILE_READ_WRITE_PATTERN: '^/rw',
    MIRRORD_FILE_LOCAL_PATTERN: '\\.lock$',
    MIRRORD_OVERRIDE_ENV_VARS_INCLUDE: 'ENV_*',
    MIRRORD_OVERRIDE_ENV_VARS_FILE: 'env.env',
  };

  it('win over the file, keeping what they do not set', () => {
    const settings = resolveSettings(file, {}, 'm.json', env);
    expect(settings.target).toEqual({ path: 'pod/env', namespace: 'env-ns' });
    expect([settings.kubeContext, settings.kubeconfig]).toEqual(['env-ctx', '/env/kubeconfig']);
    expect(settings.layer.incoming).toMatchObject({ mode: 'steal', httpFilter: { header: '^x-env: 1$' }, httpFilterPorts: [80, 8080] });
    expect(settings.layer.outgoing).toMatchObject({ tcp: false, udp: true });
    expect(settings.layer.dns).toBe(false);
    expect(settings.layer.fs).toEqual({ mode: 'localwithoverrides', readOnly: ['^/env/a', '^/env/b'], readWrite: ['^/rw'], local: ['\\.lock$'] });
    expect(settings.env).toEqual({ enabled: true, include: ['ENV_*'], file: 'env.env' });
  });

  it('lose to the flags', () => {
    const settings = resolveSettings(
      file,
      { target: 'deploy/flag', namespace: 'flag-ns', context: 'flag-ctx', mode: 'mirror', fsMode: 'write', envInclude: ['FLAG_*'], envFile: 'flag.env' },
      'm.json',
      {
        ...env,
        MIRRORD_HTTP_HEADER_FILTER: undefined,
      },
    );
    expect(settings.target).toEqual({ path: 'deploy/flag', namespace: 'flag-ns' });
    expect(settings.kubeContext).toBe('flag-ctx');
    expect(settings.layer.incoming.mode).toBe('mirror');
    expect(settings.layer.fs.mode).toBe('write');
    expect(settings.env).toMatchObject({ include: ['FLAG_*'], file: 'flag.env' });
  });

  it("MIRRORD_AGENT_TCP_STEAL_TRAFFIC takes mirrord's values", () => {
    const mode = (value: string) => resolveSettings({}, {}, 'm.json', { MIRRORD_AGENT_TCP_STEAL_TRAFFIC: value }).layer.incoming.mode;
    expect([mode('true'), mode('false'), mode('steal'), mode('mirror'), mode('off')]).toEqual(['steal', 'off', 'steal', 'mirror', 'off']);
  });

  it("the older MIRRORD_FILE_OPS and MIRRORD_FILE_RO_OPS, as mirrord's FsModeConfig reads them", () => {
    const mode = (variables: NodeJS.ProcessEnv) => resolveSettings({}, {}, 'm.json', variables).layer.fs.mode;
    expect(mode({ MIRRORD_FILE_OPS: 'true' })).toBe('write');
    expect(mode({ MIRRORD_FILE_OPS: 'false', MIRRORD_FILE_RO_OPS: 'true' })).toBe('read');
    expect(mode({ MIRRORD_FILE_RO_OPS: 'false' })).toBe('local');
    expect(mode({ MIRRORD_FILE_OPS: 'true', MIRRORD_FILE_MODE: 'read' })).toBe('read');
  });

  it('a bad value is an error under its name, every one listed', () => {
    let error: CliError | undefined;
    try {
      resolveSettings({}, { headerFilter: '[' }, 'm.json', {
        MIRRORD_FILE_MODE: 'rw',
        MIRRORD_TCP_OUTGOING: 'yes',
        MIRRORD_FILE_READ_ONLY_PATTERN: '^/ok;^/(bad',
        MIRRORD_HTTP_FILTER_PORTS: '80;http',
        MIRRORD_AGENT_TCP_STEAL_TRAFFIC: 'always',
      });
    } catch (caught) {
      error = caught as CliError;
    }
    expect(error).toBeInstanceOf(CliError);
    expect(error?.message.split('\n')).toEqual([
      'the configuration has 6 problems:',
      '  MIRRORD_AGENT_TCP_STEAL_TRAFFIC: "always" is not one of "steal", "mirror", "off"',
      '  MIRRORD_HTTP_FILTER_PORTS: expected ports separated by ";", got "80;http"',
      '  MIRRORD_TCP_OUTGOING: expected true or false, got "yes"',
      '  MIRRORD_FILE_MODE: "rw" is not one of "local", "localwithoverrides", "read", "write"',
      '  MIRRORD_FILE_READ_ONLY_PATTERN[1]: not a valid regular expression (Invalid regular expression: /^/(bad/: Unterminated group)',
      '  --http-header-filter: not a valid regular expression (error parsing regexp: missing closing ]: `[`)',
    ]);
    expect(error?.hint).toMatch(/mirrord\.schema\.json/);
  });

  it('names the variables of features not supported yet', () => {
    expect(resolveSettings({}, {}, 'm.json', { MIRRORD_AGENT_IMAGE: 'x', MIRRORD_TELEMETRY: 'false', MIRRORD_RECONNECT_TIMEOUT: '5' }).warnings).toEqual([
      'MIRRORD_AGENT_IMAGE is not supported yet; it is ignored',
      'MIRRORD_TELEMETRY has no effect here (no telemetry is sent); it is ignored',
    ]);
    expect(resolveSettings({}, { unsupported: ['--agent-image'] }).warnings).toEqual(['--agent-image is not supported yet; it is ignored']);
  });

  describe('loadSettings', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'mirrord-settings-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('reads the file of MIRRORD_CONFIG_FILE, unless -f names another', () => {
      writeFileSync(join(dir, 'env.json'), '{"target": "deploy/from-env-file"}');
      writeFileSync(join(dir, 'flag.json'), '{"target": "deploy/from-flag-file"}');
      expect(loadSettings(undefined, {}, { MIRRORD_CONFIG_FILE: 'env.json' }, dir).target).toEqual({ path: 'deploy/from-env-file' });
      expect(loadSettings('flag.json', {}, { MIRRORD_CONFIG_FILE: 'env.json' }, dir).target).toEqual({ path: 'deploy/from-flag-file' });
    });

    it("applies a profile's feature section over the file's, checked by the file's schema", () => {
      writeFileSync(join(dir, 'mirrord.json'), JSON.stringify({ profile: 'dev', feature: { network: { incoming: { mode: 'mirror' } }, fs: 'write' } }));
      const profile = {
        name: 'MirrordProfile shop/dev',
        feature: { network: { incoming: { mode: 'steal', http_filter: { header_filter: '^x-user: me$' } } } },
      };
      const settings = loadSettings('mirrord.json', {}, {}, dir, profile);
      expect(settings.profile).toBe('dev');
      expect(settings.layer.incoming).toMatchObject({ mode: 'steal', httpFilter: { header: '^x-user: me$' } });
      expect(settings.layer.fs.mode).toBe('write'); // what the profile doesn't say stays the file's
      expect(() => loadSettings('mirrord.json', {}, {}, dir, { name: 'MirrordClusterProfile team', feature: { fs: { mode: 'sideways' } } })).toThrow(
        /MirrordClusterProfile team\.fs\.mode: "sideways" is not one of/,
      );
      expect(loadSettings('mirrord.json', { profile: 'other' }, {}, dir).profile).toBe('other');
    });

    it("lists the file's problems with the variables' and the flags'", () => {
      writeFileSync(join(dir, 'bad.json'), '{"feature": {"fs": {"mod": "read"}, "network": {"incoming": {"mode": "stel"}}}}');
      expect(() => loadSettings('bad.json', { pathFilter: '(' }, { MIRRORD_REMOTE_DNS: 'no' }, dir)).toThrow(
        [
          'the configuration has 4 problems:',
          '  bad.json: feature.network.incoming.mode: "stel" is not one of "steal", "mirror", "off"',
          '  bad.json: feature.fs.mod: unknown key (did you mean "mode"?)',
          '  MIRRORD_REMOTE_DNS: expected true or false, got "no"',
          '  --http-path-filter: not a valid regular expression (error parsing regexp: missing closing ): `(`)',
        ].join('\n'),
      );
    });

    it('returns the warnings of the file, the variables and the flags together', () => {
      writeFileSync(join(dir, 'm.json'), '{"agent": {"ttl": 30}}');
      expect(loadSettings('m.json', { unsupported: ['--key'] }, { MIRRORD_AGENT_TTL: '30' }, dir).warnings).toEqual([
        'm.json: agent is not supported yet; it is ignored',
        'MIRRORD_AGENT_TTL is not supported yet; it is ignored',
        '--key is not supported yet; it is ignored',
      ]);
    });
  });
});
