/**
 * The command lines of the cluster commands: `ls`, `sessions [kill ID]`, `install`,
 * `uninstall`, `doctor`. Each takes kubectl's `-n/--namespace`, `--context`, `--kubeconfig`.
 */
import { parseArgs } from 'node:util';
import { CliError, USAGE_EXIT } from './errors';

export interface KubeFlags {
  namespace?: string;
  context?: string;
  kubeconfig?: string;
}

export type AdminVerb = 'ls' | 'sessions' | 'db-branches' | 'install' | 'uninstall' | 'doctor';

export type AdminArgs =
  | { kind: 'ls'; kube: KubeFlags; allNamespaces: boolean; json: boolean }
  | { kind: 'sessions'; kube: KubeFlags; target?: string; json: boolean; allNamespaces: boolean }
  | { kind: 'sessions-kill'; kube: KubeFlags; id: string; target?: string }
  | { kind: 'sessions-kill-all'; kube: KubeFlags; target?: string }
  | { kind: 'db-branches'; kube: KubeFlags; ids: string[]; json: boolean; allNamespaces: boolean }
  | { kind: 'db-branches-stop'; kube: KubeFlags; ids: string[]; all: boolean; json: boolean; allNamespaces: boolean }
  | { kind: 'install'; kube: KubeFlags; wait: boolean; operator: boolean }
  | { kind: 'uninstall'; kube: KubeFlags; restartWorkloads: boolean; dryRun: boolean }
  | { kind: 'doctor'; kube: KubeFlags; target?: string };

export const ADMIN_VERBS: readonly AdminVerb[] = ['ls', 'sessions', 'db-branches', 'install', 'uninstall', 'doctor'];

const kubeOptions = {
  namespace: { type: 'string', short: 'n' },
  context: { type: 'string' },
  kubeconfig: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const extra = {
  ls: { 'all-namespaces': { type: 'boolean', short: 'A' }, json: { type: 'boolean' } },
  sessions: { json: { type: 'boolean' }, 'all-namespaces': { type: 'boolean', short: 'A' }, all: { type: 'boolean' } },
  'db-branches': { json: { type: 'boolean' }, 'all-namespaces': { type: 'boolean', short: 'A' }, all: { type: 'boolean' } },
  install: { wait: { type: 'boolean' }, 'no-operator': { type: 'boolean' } },
  uninstall: { 'restart-workloads': { type: 'boolean' }, 'dry-run': { type: 'boolean' } },
  doctor: {},
} as const;

/** How many positionals each command takes, and what they are, for the usage errors. */
const usage: Record<AdminVerb, string> = {
  ls: 'mirrord ls [-n NAMESPACE | -A] [--json]',
  sessions: 'mirrord sessions [TARGET] [-n NAMESPACE | -A] [--json] | mirrord sessions kill ID|--all [TARGET]',
  'db-branches': 'mirrord db-branches status [ID...] [-n NAMESPACE | -A] [--json] | mirrord db-branches stop ID...|--all [-n NAMESPACE | -A] [--json]',
  install: 'mirrord install [--wait] [--no-operator]',
  uninstall: 'mirrord uninstall [--restart-workloads] [--dry-run]',
  doctor: 'mirrord doctor [TARGET]',
};

const usageError = (message: string, verb: AdminVerb) => new CliError(message, `usage: ${usage[verb]}`, USAGE_EXIT);

/** `undefined` for `--help`. */
export function parseAdmin(verb: AdminVerb, argv: string[]): AdminArgs | undefined {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...kubeOptions, ...extra[verb] }, allowPositionals: true, strict: true });
  } catch (error) {
    const unknown = /^Unknown option '([^']+)'/.exec((error as Error).message);
    throw usageError(unknown ? `unknown option ${unknown[1]}` : (error as Error).message.split('\n')[0], verb);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const positionals = parsed.positionals;
  if (values.help) return undefined;
  const kube: KubeFlags = Object.fromEntries(
    (['namespace', 'context', 'kubeconfig'] as const).filter((k) => values[k] !== undefined).map((k) => [k, values[k] as string]),
  );
  const atMost = (n: number) => {
    if (positionals.length > n) throw usageError(`unexpected argument "${positionals[n]}"`, verb);
  };
  switch (verb) {
    case 'ls':
      atMost(0);
      if (values['all-namespaces'] && kube.namespace !== undefined) throw usageError('-n and -A exclude each other', verb);
      return { kind: 'ls', kube, allNamespaces: !!values['all-namespaces'], json: !!values.json };
    case 'sessions':
      if (positionals[0] === 'kill') {
        if (values.json || values['all-namespaces']) throw usageError(`${values.json ? '--json' : '-A'} is for listings`, verb);
        if (values.all) {
          if (positionals.length > 2) throw usageError('sessions kill --all takes no ID, at most a TARGET', verb);
          return { kind: 'sessions-kill-all', kube, ...(positionals[1] !== undefined && { target: positionals[1] }) };
        }
        if (positionals[1] === undefined) throw usageError('sessions kill needs the session ID (mirrord sessions lists them), or --all', verb);
        atMost(3);
        return { kind: 'sessions-kill', kube, id: positionals[1], ...(positionals[2] !== undefined && { target: positionals[2] }) };
      }
      atMost(1);
      if (values.all) throw usageError('--all is for sessions kill', verb);
      if (values['all-namespaces'] && (kube.namespace !== undefined || positionals[0] !== undefined))
        throw usageError('-A lists every namespace: no -n and no TARGET with it', verb);
      return {
        kind: 'sessions',
        kube,
        json: !!values.json,
        allNamespaces: !!values['all-namespaces'],
        ...(positionals[0] !== undefined && { target: positionals[0] }),
      };
    case 'db-branches': {
      const [action, ...ids] = positionals;
      if (action !== 'status' && action !== 'stop' && action !== 'destroy')
        throw usageError(`db-branches takes status or stop, not ${action === undefined ? 'nothing' : `"${action}"`}`, verb);
      if (values['all-namespaces'] && kube.namespace !== undefined) throw usageError('-n and -A exclude each other', verb);
      const common = { kube, ids, json: !!values.json, allNamespaces: !!values['all-namespaces'] };
      if (action === 'status') {
        if (values.all) throw usageError('--all is for db-branches stop', verb);
        return { kind: 'db-branches', ...common };
      }
      if (!values.all && ids.length === 0) throw usageError('db-branches stop needs the branch IDs (db-branches status lists them), or --all', verb);
      if (values.all && ids.length) throw usageError('db-branches stop --all takes no ID', verb);
      return { kind: 'db-branches-stop', ...common, all: !!values.all };
    }
    case 'install':
      atMost(0);
      return { kind: 'install', kube, wait: !!values.wait, operator: !values['no-operator'] };
    case 'uninstall':
      atMost(0);
      return { kind: 'uninstall', kube, restartWorkloads: !!values['restart-workloads'], dryRun: !!values['dry-run'] };
    case 'doctor':
      atMost(1);
      return { kind: 'doctor', kube, ...(positionals[0] !== undefined && { target: positionals[0] }) };
  }
}
