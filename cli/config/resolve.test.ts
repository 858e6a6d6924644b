import { resolveSettings } from './resolve';

describe('settings: file, then flags on top', () => {
  it("has mirrord's defaults", () => {
    expect(resolveSettings({})).toEqual({
      target: undefined,
      kubeContext: undefined,
      kubeconfig: undefined,
      layer: {
        incoming: { mode: 'mirror', httpFilter: undefined, portMapping: [], ports: undefined, ignorePorts: [] },
        outgoing: { tcp: true, udp: true },
        dns: true,
        fs: { mode: 'read' },
      },
      env: { enabled: true },
    });
  });

  it('takes the file as written', () => {
    const settings = resolveSettings({
      target: { path: 'deploy/api', namespace: 'shop' },
      kube_context: 'dev',
      feature: {
        network: {
          incoming: { mode: 'steal', http_filter: { header_filter: '^x-user: me$', method_filter: 'POST' }, port_mapping: [[8081, 80]], ports: [80], ignore_ports: [9000] },
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
      incoming: { mode: 'steal', httpFilter: { header: '^x-user: me$', method: 'POST' }, portMapping: [[8081, 80]], ports: [80], ignorePorts: [9000] },
      outgoing: { tcp: true, udp: false, filter: { remote: ['198.18.0.0/15'] } },
      dns: false,
      fs: { mode: 'write', readOnly: ['/etc/ssl'], local: ['/tmp', '/var'] },
    });
    expect(settings.env).toEqual({ enabled: true, include: ['APP_*', 'DB_URL'], exclude: ['APP_SECRET'], override: { A: 'b' } });
  });

  it('lets flags override the file', () => {
    const settings = resolveSettings(
      { target: 'deploy/from-file', feature: { network: { incoming: { mode: 'steal', ports: [80], port_mapping: [[9000, 443]] }, outgoing: true }, fs: 'write', env: { include: 'A' } } },
      { target: 'pod/from-flag', namespace: 'ns', mode: 'mirror', ports: [{ remote: 8080 }, { remote: 443, local: 8443 }], fsMode: 'local', envInclude: ['B;C'], envExclude: ['C'], noOutgoing: true, noRemoteDns: true },
    );
    expect(settings.target).toEqual({ path: 'pod/from-flag', namespace: 'ns' });
    expect(settings.layer.incoming).toMatchObject({ mode: 'mirror', ports: [8080, 443], portMapping: [[9000, 443], [8443, 443]] });
    expect(settings.layer.outgoing).toEqual({ tcp: false, udp: false });
    expect(settings.layer.dns).toBe(false);
    expect(settings.layer.fs.mode).toBe('local');
    expect(settings.env).toEqual({ enabled: true, include: ['B', 'C'], exclude: ['C'] });
  });

  it('refuses a feature.fs pattern that is not a regex, naming the key', () => {
    expect(() => resolveSettings({ feature: { fs: { read_write: ['^/data/(out'] } } }, {}, '.mirrord/mirrord.json')).toThrow(
      /^\.mirrord\/mirrord\.json: feature\.fs\.read_write: Invalid regular expression: \/\^\/data\/\(out\/: Unterminated group$/,
    );
  });

  it('an HTTP filter means steal unless a mode says otherwise, which is an error', () => {
    expect(resolveSettings({}, { headerFilter: '^x: y$' }).layer.incoming).toMatchObject({ mode: 'steal', httpFilter: { header: '^x: y$' } });
    expect(resolveSettings({ feature: { network: { incoming: { http_filter: { path_filter: '^/a' } } } } }).layer.incoming.mode).toBe('steal');
    expect(() => resolveSettings({}, { pathFilter: '^/a', mode: 'mirror' })).toThrow('--http-header-filter/--http-path-filter: an HTTP filter only applies in steal mode, and the mode is mirror');
    expect(() => resolveSettings({ feature: { network: { incoming: { mode: 'mirror', http_filter: { path_filter: '^/a' } } } } }, {}, 'm.json')).toThrow(
      'm.json: feature.network.incoming.http_filter: an HTTP filter only applies in steal mode, and the mode is mirror',
    );
  });

  it('rejects filters that cannot work, naming where they came from', () => {
    expect(() => resolveSettings({}, { headerFilter: '(' })).toThrow(/^--http-header-filter: not a valid regular expression/);
    expect(() => resolveSettings({ feature: { network: { incoming: { http_filter: { path_filter: '[' } } } } })).toThrow(/^mirrord\.json: feature\.network\.incoming\.http_filter\.path_filter: not a valid regular expression/);
    expect(() => resolveSettings({ feature: { network: { outgoing: { filter: { local: ['example.com'] } } } } })).toThrow(/^mirrord\.json: feature\.network\.outgoing\.filter: .*"example\.com" is not an IP address/);
  });

  it('feature.env false leaves the remote environment out, unless --env-include asks for some', () => {
    expect(resolveSettings({ feature: { env: false } }).env.enabled).toBe(false);
    expect(resolveSettings({ feature: { env: false } }, { envInclude: ['A'] }).env).toEqual({ enabled: true, include: ['A'] });
  });
});
