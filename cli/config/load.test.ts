import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../errors';
import { loadConfig, parseConfig } from './load';

const errorOf = (text: string): string => {
  try {
    parseConfig(text);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).hint).toBeTruthy();
    return (error as Error).message;
  }
  throw new Error('no error');
};
const errorFor = (config: unknown) => errorOf(JSON.stringify(config));

describe('mirrord.json', () => {
  it('accepts a mirrord user file with every supported key', () => {
    const config = {
      $schema: './mirrord.schema.json',
      target: { path: 'deploy/api', namespace: 'shop' },
      kube_context: 'dev',
      kubeconfig: '~/.kube/config',
      feature: {
        network: {
          incoming: {
            mode: 'steal',
            http_filter: { header_filter: '^x-user: me$', path_filter: '^/api', method_filter: 'GET' },
            port_mapping: [[8081, 80]],
            ports: [80],
            ignore_ports: [9090],
          },
          outgoing: { tcp: true, udp: false, filter: { local: ['127.0.0.1/8', ':53'] } },
          dns: { enabled: false },
        },
        fs: { mode: 'write', read_only: ['/etc/ssl'], read_write: '/data', local: ['/tmp'] },
        env: { include: 'APP_*;DB_URL', exclude: ['SECRET_*'], override: { LOG_LEVEL: 'debug' } },
      },
    };
    expect(parseConfig(JSON.stringify(config))).toEqual(config);
  });

  it('accepts the short forms', () => {
    const config = { target: 'pod/api-0', feature: { network: { incoming: 'mirror', outgoing: false, dns: true }, fs: 'local', env: false } };
    expect(parseConfig(JSON.stringify(config))).toEqual(config);
  });

  it('names an unknown key by its path, at any depth', () => {
    expect(errorFor({ feature: { network: { incoming: { modee: 'steal' } } } })).toBe('mirrord.json: feature.network.incoming.modee: unknown key');
    expect(errorFor({ targett: 'deploy/x' })).toBe('mirrord.json: targett: unknown key');
    expect(errorFor({ feature: { network: { incoming: { http_filter: { header: 'x' } } } } })).toBe(
      'mirrord.json: feature.network.incoming.http_filter.header: unknown key',
    );
    expect(errorFor({ feature: { envv: true, fss: 'read' } })).toBe(
      'the configuration has 2 problems:\n  mirrord.json: feature.envv: unknown key (did you mean "env"?)\n  mirrord.json: feature.fss: unknown key (did you mean "fs"?)',
    );
    expect(errorFor({ agent: { log_level: 'info' }, feature: { network: { incoming: { on_concurent_steal: 'abort' } } } })).toBe(
      'mirrord.json: feature.network.incoming.on_concurent_steal: unknown key',
    );
  });

  it('checks feature.split_queues before anything starts: the broker type and each filter regex', () => {
    expect(errorFor({ feature: { split_queues: { orders: { queue_type: 'Rabbit', message_filter: {} } } } })).toBe(
      'mirrord.json: feature.split_queues.orders.queue_type: "Rabbit" is not one of "RabbitMQ", "Kafka", "SQS"',
    );
    expect(errorFor({ feature: { split_queues: { orders: { queue_type: 'Kafka', message_filter: { user: '(me' } } } } })).toMatch(
      /^mirrord\.json: feature\.split_queues\.orders\.message_filter\.user: not a valid regular expression/,
    );
    const good = { feature: { split_queues: { orders: { queue_type: 'SQS', message_filter: { user: '^me$' } } } } };
    expect(parseConfig(JSON.stringify(good))).toEqual(good);
  });

  it('lists the keys allowed there, and guesses the one meant', () => {
    const hintFor = (config: unknown) => {
      try {
        parseConfig(JSON.stringify(config));
      } catch (error) {
        return (error as CliError).hint;
      }
    };
    expect(hintFor({ feature: { network: { incoming: { modee: 'steal' } } } })).toBe(
      'did you mean "mode"? the keys of feature.network.incoming are mode, http_filter, port_mapping, ports, ignore_ports, ignore_localhost, listen_ports, on_concurrent_steal, https_delivery, tls_delivery',
    );
    expect(hintFor({ feature: { network: { incoming: { http_filter: { header: 'x' } } } } })).toMatch(/^did you mean "header_filter"\? /);
    expect(hintFor({ Target: 'deploy/x' })).toMatch(
      /^did you mean "target"\? the keys of the top level are \$schema, target, kube_context, kubeconfig, feature, accept_invalid_certificates, agent, /,
    );
    expect(hintFor({ feature: { networking: {} } })).toBe(
      'did you mean "network"? the keys of feature are network, fs, env, hostname, copy_target, split_queues, db_branches, magic, preview',
    );
    expect(hintFor({ feature: { zzz: 1 } })).toBe('the keys of feature are network, fs, env, hostname, copy_target, split_queues, db_branches, magic, preview');
    expect(hintFor({ feature: { fs: { notfound: ['x'] } } })).toMatch(/^did you mean "not_found"\? /);
  });

  it('names the key of a wrong type or value', () => {
    expect(errorFor({ feature: { network: { incoming: 'stel' } } })).toBe(
      'mirrord.json: feature.network.incoming: "stel" is not one of "steal", "mirror", "off"',
    );
    expect(errorFor({ feature: { network: { incoming: { mode: 'stel' } } } })).toBe(
      'mirrord.json: feature.network.incoming.mode: "stel" is not one of "steal", "mirror", "off"',
    );
    expect(errorFor({ feature: { network: { incoming: { ports: ['80'] } } } })).toBe(
      'mirrord.json: feature.network.incoming.ports[0]: expected number, got string "80"',
    );
    expect(errorFor({ feature: { network: { incoming: { ports: [70000] } } } })).toBe('mirrord.json: feature.network.incoming.ports[0]: must be <=65535');
    expect(errorFor({ feature: { network: { incoming: { port_mapping: [[8080]] } } } })).toBe(
      'mirrord.json: feature.network.incoming.port_mapping[0]: must have >=2 items',
    );
    expect(errorFor({ feature: { network: { dns: 'yes' } } })).toBe('mirrord.json: feature.network.dns: expected boolean or object, got string "yes"');
    expect(errorFor({ feature: { fs: { mode: 'localwithoverride' } } })).toBe(
      'mirrord.json: feature.fs.mode: "localwithoverride" is not one of "local", "localwithoverrides", "read", "write"',
    );
    expect(errorFor({ feature: { network: { incoming: { listen_ports: [[80]] } } } })).toBe(
      'mirrord.json: feature.network.incoming.listen_ports[0]: must have >=2 items',
    );
    expect(errorFor({ feature: { network: { outgoing: { filter: { local: ['a'], remote: ['b'] } } } } })).toBe(
      'mirrord.json: feature.network.outgoing.filter: set either local or remote, not both',
    );
    expect(errorFor({ feature: { env: { override: { A: 1 } } } })).toBe('mirrord.json: feature.env.override.A: expected string, got number 1');
    expect(errorFor({ target: 42 })).toBe('mirrord.json: target: expected string or object, got number 42');
    expect(errorFor([])).toBe('mirrord.json: (top level): expected object, got an array');
  });

  it('lists every malformed value at once, each naming its key', () => {
    const message = errorFor({
      target: { path: { pod: 'api', deployment: 'api' } },
      feature: {
        network: {
          incoming: { mode: 'stael', ports: ['80'], http_filter: { header_filter: '(' } },
          outgoing: { filter: { local: ['google.com/24', 'tcp://db:5432', 'meow://x'] } },
          dns: { filter: { remote: ['udp://x'] } },
        },
        fs: { mode: 'rw', read_only: ['^/ok', '^/data/(out'], mapping: { '^/home/(': '/srv' } },
        env: { override: { A: 1 }, mapping: { '[': 'x' } },
      },
      telemetry: 'no',
    });
    expect(message.split('\n')).toEqual([
      'the configuration has 13 problems:',
      '  mirrord.json: target.path: name exactly one of pod, deployment, deploy, rollout, job, cronjob, statefulset, service, replicaset',
      '  mirrord.json: feature.network.incoming.mode: "stael" is not one of "steal", "mirror", "off"',
      '  mirrord.json: feature.network.incoming.http_filter.header_filter: not a valid regular expression (error parsing regexp: missing closing ): `(`)',
      '  mirrord.json: feature.network.incoming.ports[0]: expected number, got string "80"',
      '  mirrord.json: feature.network.outgoing.filter.local[0]: "google.com/24": a subnet needs an IP address before "/24", not "google.com"',
      '  mirrord.json: feature.network.outgoing.filter.local[2]: "meow://x": "meow" is not a protocol (tcp, udp or any)',
      '  mirrord.json: feature.network.dns.filter.remote[0]: "udp://x": "://x" is left over: entries are [PROTOCOL://][NAME|ADDRESS|SUBNET/PREFIX][:PORT], an IPv6 address in brackets',
      '  mirrord.json: feature.fs.mode: "rw" is not one of "local", "localwithoverrides", "read", "write"',
      '  mirrord.json: feature.fs.read_only[1]: not a valid regular expression (Invalid regular expression: /^/data/(out/: Unterminated group)',
      '  mirrord.json: feature.fs.mapping["^/home/("]: not a valid regular expression (Invalid regular expression: /^/home/(/: Unterminated group)',
      '  mirrord.json: feature.env.override.A: expected string, got number 1',
      '  mirrord.json: feature.env.mapping["["]: not a valid regular expression (Invalid regular expression: /[/: Unterminated character class)',
      '  mirrord.json: telemetry: expected boolean, got string "no"',
    ]);
  });

  it('reads null as a key not given, as mirrord', () => {
    expect(parseConfig('{"target": null, "feature": {"network": {"incoming": null, "dns": {"filter": null}}}, "connect_tcp": null}')).toEqual({
      feature: { network: { dns: {} } },
    });
  });

  it('reports a file that is not JSON', () => {
    expect(errorOf('{ "target": "deploy/x", }')).toMatch(/^mirrord\.json: not valid JSON \(/);
  });

  describe('loading', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'mirrord-config-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('reads .mirrord/mirrord.json in the current directory when present, else uses defaults', () => {
      expect(loadConfig(undefined, dir)).toEqual({ config: {} });
      mkdirSync(join(dir, '.mirrord'));
      writeFileSync(join(dir, '.mirrord/mirrord.json'), '{"target": "deploy/x"}');
      expect(loadConfig(undefined, dir)).toEqual({ config: { target: 'deploy/x' }, file: join('.mirrord', 'mirrord.json') });
    });

    it('reads the file given with -f instead, relative to the current directory', () => {
      mkdirSync(join(dir, '.mirrord'));
      writeFileSync(join(dir, '.mirrord/mirrord.json'), '{"target": "deploy/default"}');
      writeFileSync(join(dir, 'other.json'), '{"target": "deploy/other"}');
      expect(loadConfig('other.json', dir).config).toEqual({ target: 'deploy/other' });
      expect(loadConfig(join(dir, 'other.json'), '/').config).toEqual({ target: 'deploy/other' });
    });

    it('says so when the file given with -f cannot be read', () => {
      expect(() => loadConfig('missing.json', dir)).toThrow('cannot read the config file missing.json: ENOENT');
    });

    it('names the file in validation errors', () => {
      writeFileSync(join(dir, 'bad.json'), '{"feature": {"fs": {"mod": "read"}}}');
      expect(() => loadConfig('bad.json', dir)).toThrow('bad.json: feature.fs.mod: unknown key');
    });
  });
});
