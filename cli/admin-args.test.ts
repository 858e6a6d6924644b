import { parseCommandLine } from './args';
import { CliError } from './errors';

const usage = (argv: string[]) => {
  try {
    parseCommandLine(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
    return (error as CliError).message;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
};

describe('cluster commands', () => {
  it('ls', () => {
    expect(parseCommandLine(['ls'])).toEqual({ kind: 'admin', args: { kind: 'ls', kube: {}, allNamespaces: false, json: false } });
    expect(parseCommandLine(['ls', '-A', '--json', '--context', 'kind'])).toEqual({
      kind: 'admin',
      args: { kind: 'ls', kube: { context: 'kind' }, allNamespaces: true, json: true },
    });
    expect(parseCommandLine(['ls', '-n', 'shop', '--kubeconfig', '/k'])).toEqual({
      kind: 'admin',
      args: { kind: 'ls', kube: { namespace: 'shop', kubeconfig: '/k' }, allNamespaces: false, json: false },
    });
    expect(usage(['ls', '-n', 'shop', '-A'])).toBe('-n and -A exclude each other');
    expect(usage(['ls', 'deploy/x'])).toBe('unexpected argument "deploy/x"');
  });

  it('sessions and sessions kill', () => {
    expect(parseCommandLine(['sessions', 'deploy/web', '--json'])).toEqual({
      kind: 'admin',
      args: { kind: 'sessions', kube: {}, target: 'deploy/web', json: true, allNamespaces: false },
    });
    expect(parseCommandLine(['sessions', '-n', 'shop'])).toEqual({
      kind: 'admin',
      args: { kind: 'sessions', kube: { namespace: 'shop' }, json: false, allNamespaces: false },
    });
    expect(parseCommandLine(['sessions', '-A'])).toEqual({ kind: 'admin', args: { kind: 'sessions', kube: {}, json: false, allNamespaces: true } });
    expect(() => parseCommandLine(['sessions', '-A', '-n', 'shop'])).toThrow('-A lists every namespace: no -n and no TARGET with it');
    expect(parseCommandLine(['sessions', 'kill', 'a1b2c3d4', 'pod/web-1'])).toEqual({
      kind: 'admin',
      args: { kind: 'sessions-kill', kube: {}, id: 'a1b2c3d4', target: 'pod/web-1' },
    });
    expect(parseCommandLine(['sessions', 'kill', '--all', 'deploy/web', '-n', 'shop'])).toEqual({
      kind: 'admin',
      args: { kind: 'sessions-kill-all', kube: { namespace: 'shop' }, target: 'deploy/web' },
    });
    expect(usage(['sessions', 'kill'])).toMatch(/needs the session ID/);
    expect(usage(['sessions', 'kill', 'x', '--json'])).toBe('--json is for listings');
    expect(usage(['sessions', 'deploy/a', 'deploy/b'])).toBe('unexpected argument "deploy/b"');
  });

  it('install, uninstall, doctor, and their help', () => {
    expect(parseCommandLine(['install', '--wait'])).toEqual({ kind: 'admin', args: { kind: 'install', kube: {}, wait: true, operator: true } });
    expect(parseCommandLine(['install', '--no-operator'])).toEqual({ kind: 'admin', args: { kind: 'install', kube: {}, wait: false, operator: false } });
    expect(parseCommandLine(['uninstall', '--restart-workloads'])).toEqual({
      kind: 'admin',
      args: { kind: 'uninstall', kube: {}, restartWorkloads: true, dryRun: false },
    });
    expect(parseCommandLine(['uninstall', '--dry-run'])).toEqual({
      kind: 'admin',
      args: { kind: 'uninstall', kube: {}, restartWorkloads: false, dryRun: true },
    });
    expect(parseCommandLine(['doctor', 'deploy/web', '-n', 'shop'])).toEqual({
      kind: 'admin',
      args: { kind: 'doctor', kube: { namespace: 'shop' }, target: 'deploy/web' },
    });
    expect(usage(['install', '--restart-workloads'])).toBe('unknown option --restart-workloads');
    expect(parseCommandLine(['doctor', '--help'])).toEqual({ kind: 'help', topic: 'doctor' });
    expect(parseCommandLine(['help', 'sessions'])).toEqual({ kind: 'help', topic: 'sessions' });
  });
});
