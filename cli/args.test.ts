import { parseCommandLine, type AttachArgs } from './args';
import { CliError } from './errors';

const attach = (...argv: string[]) => parseCommandLine(argv) as AttachArgs;
const failure = (...argv: string[]): CliError => {
  try {
    parseCommandLine(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }
  throw new Error('no error');
};

describe('command line', () => {
  it('help and version', () => {
    expect(parseCommandLine([])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['help', 'attach'])).toEqual({ kind: 'help', topic: 'attach' });
    expect(parseCommandLine(['attach', '--help'])).toEqual({ kind: 'help', topic: 'attach' });
    expect(parseCommandLine(['exec', '-h'])).toEqual({ kind: 'help', topic: 'attach' });
    expect(parseCommandLine(['--version'])).toEqual({ kind: 'version' });
  });

  it('attach --targetless: the target "targetless", never beside another target', () => {
    expect(attach('attach', '--targetless', '-n', 'dev', '--', 'curl', 'http://api')).toMatchObject({ overrides: { target: 'targetless', namespace: 'dev' } });
    expect(failure('attach', 'deploy/api', '--targetless', '--', 'true').message).toBe('--targetless and a target ("deploy/api") exclude each other');
  });

  it('attach --selector: the pods the label selector matches, never beside another target', () => {
    expect(attach('attach', '--selector', 'app=web,tier in (a,b)', '--', 'true')).toMatchObject({ overrides: { target: 'selector/app=web,tier in (a,b)' } });
    expect(failure('attach', 'deploy/api', '--selector', 'app=web', '--', 'true').message).toBe('--selector and a target ("deploy/api") exclude each other');
    expect(failure('attach', '--targetless', '--selector', 'app=web', '--', 'true').message).toBe('--selector and --targetless exclude each other');
  });

  it('attach --interception auto|preload|syscall, and nothing else', () => {
    for (const mode of ['auto', 'preload', 'syscall']) {
      expect(attach('attach', 'deploy/api', '--interception', mode, '--', './api')).toMatchObject({ overrides: { interception: mode } });
    }
    expect(() => parseCommandLine(['attach', 'deploy/api', '--interception', 'ptrace', '--', './api'])).toThrow(
      '--interception ptrace: expected auto, preload, syscall',
    );
  });

  it('attach --copy-target, --scale-down', () => {
    expect(attach('attach', 'job/migrate', '--copy-target', '--', 'true')).toMatchObject({ overrides: { target: 'job/migrate', copyTarget: true } });
    expect(attach('attach', 'deploy/consumer', '--scale-down', '--', 'true')).toMatchObject({ overrides: { scaleDown: true } });
  });

  it('attach: target, agent, then the command after --, whose own options stay its own', () => {
    expect(attach('attach', 'deploy/api', '--agent-cmd', 'socat - TCP:127.0.0.1:61234', '--', 'sh', '-c', 'echo --steal')).toEqual({
      kind: 'attach',
      agent: { command: 'socat - TCP:127.0.0.1:61234', url: undefined, netns: undefined },
      configFile: undefined,
      quiet: false,
      overrides: { target: 'deploy/api' },
      command: ['sh', '-c', 'echo --steal'],
    });
    expect(attach('attach', '--agent-url', 'ws://127.0.0.1:1', '--', 'true')).toMatchObject({
      agent: { url: 'ws://127.0.0.1:1' },
      overrides: {},
      command: ['true'],
    });
    expect(attach('attach', '--agent-netns', 'pod1:61235', '--', 'true')).toMatchObject({ agent: { netns: 'pod1:61235' }, command: ['true'] });
  });

  it('every flag', () => {
    const args = attach(
      'attach',
      'pod/api-0',
      '-n',
      'shop',
      '--context',
      'dev',
      '--kubeconfig',
      'kc',
      '--agent-cmd',
      'x',
      '--steal',
      '--port',
      '80',
      '--port',
      '443:8443',
      '--http-header-filter',
      '^x-user: me$',
      '--http-path-filter',
      '^/api',
      '--fs-mode',
      'write',
      '--env-include',
      'A;B',
      '--env-exclude',
      'B',
      '--env-exclude',
      'C',
      '--no-outgoing',
      '--no-remote-dns',
      '-f',
      'my.json',
      '--quiet',
      '--',
      'node',
      'app.js',
    );
    expect(args).toMatchObject({ configFile: 'my.json', quiet: true, command: ['node', 'app.js'] });
    expect(args.overrides).toEqual({
      target: 'pod/api-0',
      namespace: 'shop',
      context: 'dev',
      kubeconfig: 'kc',
      mode: 'steal',
      ports: [{ remote: 80 }, { remote: 443, local: 8443 }],
      headerFilter: '^x-user: me$',
      pathFilter: '^/api',
      fsMode: 'write',
      envInclude: ['A;B'],
      envExclude: ['B', 'C'],
      noOutgoing: true,
      noRemoteDns: true,
    });
  });

  it("mirrord exec's own spellings: -s/-x, --target-namespace, --config-file, --fs-mode local-with-overrides", () => {
    const args = attach(
      'exec',
      '-t',
      'deploy/api',
      '--target-namespace',
      'shop',
      '-s',
      'APP_*;DB_URL',
      '--override-env-vars-exclude',
      'SECRET_*',
      '-x',
      'TOKEN',
      '--config-file',
      'm.json',
      '--fs-mode',
      'local-with-overrides',
      '--env-file',
      '.env',
      '--no-tcp-outgoing',
      '--no-udp-outgoing',
      'node',
      'app.js',
    );
    expect(args).toMatchObject({ configFile: 'm.json', command: ['node', 'app.js'] });
    expect(args.overrides).toEqual({
      target: 'deploy/api',
      namespace: 'shop',
      envInclude: ['APP_*;DB_URL'],
      envExclude: ['SECRET_*', 'TOKEN'],
      fsMode: 'localwithoverrides',
      envFile: '.env',
      noTcpOutgoing: true,
      noUdpOutgoing: true,
    });
  });

  it("takes mirrord's other exec flags: the ones with nothing to do silently, the unsupported ones named for a warning", () => {
    const args = attach(
      'exec',
      '-t',
      'pod/api',
      '--no-telemetry',
      '--disable-version-check',
      '-c',
      '--accept-invalid-certificates=false',
      '--skip-processes',
      'bash',
      '-a',
      'agents',
      '-l',
      'debug',
      '-i',
      'ghcr.io/x:1',
      '--agent-ttl',
      '30',
      '--agent-startup-timeout',
      '60',
      '-e',
      '--key',
      'k',
      'node',
      'app.js',
    );
    expect(args.command).toEqual(['node', 'app.js']);
    expect(args.overrides.unsupported).toEqual([
      '--accept-invalid-certificates',
      '--skip-processes',
      '--agent-namespace',
      '--agent-log-level',
      '--agent-image',
      '--agent-ttl',
      '--agent-startup-timeout',
      '--ephemeral-container',
      '--key',
    ]);
    expect(attach('attach', 'pod/api', '--accept-invalid-certificates=true', '--', 'x').overrides.unsupported).toEqual(['--accept-invalid-certificates']);
  });

  it('exec --target, as mirrord spells it, with or without --', () => {
    expect(attach('exec', '--target', 'deploy/api', '--mirror', 'node', 'app.js', '--steal')).toMatchObject({
      kind: 'attach',
      overrides: { target: 'deploy/api', mode: 'mirror' },
      command: ['node', 'app.js', '--steal'],
    });
    expect(attach('exec', '-t', 'deploy/api', '--', '-weird-name')).toMatchObject({ command: ['-weird-name'] });
  });

  it('unknown flags and bad values are usage errors (exit 2) with a hint', () => {
    const unknown = failure('attach', '--stael', '--', 'true');
    expect(unknown).toMatchObject({ message: 'unknown option --stael', exitCode: 2 });
    expect(unknown.hint).toMatch(/--help/);
    expect(failure('attach', '--agent-cmd')).toMatchObject({ message: '--agent-cmd needs a value', exitCode: 2 });
    expect(failure('attach', '--quiet=yes', '--', 'x').message).toBe('--quiet takes no value');
    expect(failure('attach', '--port', '80:x', '--', 'x').message).toMatch(/^--port 80:x: expected PORT or PORT:LOCAL_PORT/);
    expect(failure('attach', '--port', '0', '--', 'x').message).toMatch(/^--port 0:/);
    expect(failure('attach', '--fs-mode', 'rw', '--', 'x').message).toBe('--fs-mode rw: expected local, localwithoverrides, read or write');
    expect(failure('attach', '-n', 'a', '--target-namespace', 'b', '--', 'x').message).toBe(
      '--namespace and --target-namespace say different things ("a" and "b")',
    );
    expect(failure('attach', '--agent-ttl').message).toBe('--agent-ttl needs a value');
    expect(failure('attach', '--ephemeral-container=yes', '--', 'x').message).toBe('--ephemeral-container takes no value');
    expect(failure('attach', '--steal', '--mirror', '--', 'x').message).toBe('--steal and --mirror exclude each other');
    expect(failure('attach', '--agent-cmd', 'a', '--agent-url', 'ws://b', '--', 'x').message).toBe('--agent-cmd and --agent-url exclude each other');
    expect(failure('attach', '--agent-url', 'ws://b', '--agent-netns', 'pod1', '--', 'x').message).toBe('--agent-url and --agent-netns exclude each other');
    expect(failure('port-forward', '--agent-cmd', 'a', '--agent-netns', 'pod1', '-L', '8080:db:5432').message).toBe(
      '--agent-cmd and --agent-netns exclude each other',
    );
    expect(failure('attach', 'deploy/a', '-t', 'deploy/b', '--', 'x').message).toMatch(/target is given twice/);
    expect(failure('frobnicate')).toMatchObject({ message: 'unknown command "frobnicate"', exitCode: 2 });
    expect(failure('--steal')).toMatchObject({ exitCode: 2 });
  });

  it('a command without -- or no command at all is explained', () => {
    const withoutSeparator = failure('attach', 'deploy/api', 'node', 'app.js');
    expect(withoutSeparator.message).toBe('unexpected argument "node"');
    expect(withoutSeparator.hint).toMatch(/after --/);
    expect(failure('attach', 'deploy/api').message).toBe('no command to run');
    expect(failure('exec', '-t', 'deploy/api').message).toBe('no command to run');
  });
});
