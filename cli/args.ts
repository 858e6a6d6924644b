/**
 * The command line: `mirrord attach [target] [flags] -- cmd args`, `mirrord exec --target X
 * [flags] [--] cmd args` (mirrord's spelling), the cluster commands (admin-args.ts), `--help`,
 * `--version`.
 */
import { parseArgs } from 'node:util';
import { ADMIN_VERBS, parseAdmin, type AdminArgs, type AdminVerb } from './admin-args';
import type { Overrides } from './config/resolve';
import { CliError, USAGE_EXIT } from './errors';

export interface AttachArgs {
  kind: 'attach';
  /** How to reach the sidecar: a command, a URL, or (neither) the target's pod, `pod` picking one. */
  agent: { command?: string; url?: string; pod?: string };
  configFile?: string;
  quiet: boolean;
  overrides: Overrides;
  command: string[];
}

export type HelpTopic = 'attach' | AdminVerb;

export type Invocation = { kind: 'help'; topic?: HelpTopic } | { kind: 'version' } | AttachArgs | { kind: 'admin'; args: AdminArgs };

const isAdminVerb = (word: string | undefined): word is AdminVerb => (ADMIN_VERBS as readonly string[]).includes(word ?? '');

const options = {
  'agent-cmd': { type: 'string' },
  'agent-url': { type: 'string' },
  steal: { type: 'boolean' },
  mirror: { type: 'boolean' },
  port: { type: 'string', multiple: true },
  'http-header-filter': { type: 'string' },
  'http-path-filter': { type: 'string' },
  'fs-mode': { type: 'string' },
  'env-include': { type: 'string', multiple: true },
  'env-exclude': { type: 'string', multiple: true },
  'no-outgoing': { type: 'boolean' },
  'no-remote-dns': { type: 'boolean' },
  config: { type: 'string', short: 'f' },
  quiet: { type: 'boolean', short: 'q' },
  target: { type: 'string', short: 't' },
  namespace: { type: 'string', short: 'n' },
  context: { type: 'string' },
  kubeconfig: { type: 'string' },
  pod: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const usageError = (message: string, hint: string) => new CliError(message, hint, USAGE_EXIT);

export function parseCommandLine(argv: string[]): Invocation {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') return { kind: 'help' };
  if (first === 'help') {
    if (rest[0] === 'attach' || rest[0] === 'exec') return { kind: 'help', topic: 'attach' };
    return isAdminVerb(rest[0]) ? { kind: 'help', topic: rest[0] } : { kind: 'help' };
  }
  if (first === '--version' || first === '-V' || first === 'version') return { kind: 'version' };
  if (first === 'attach' || first === 'exec') return parseAttach(first, rest);
  if (isAdminVerb(first)) {
    const args = parseAdmin(first, rest);
    return args ? { kind: 'admin', args } : { kind: 'help', topic: first };
  }
  if (first.startsWith('-')) throw usageError(`unknown option ${first}`, 'options come after the command: mirrord attach [target] [options] -- CMD ARGS');
  throw usageError(`unknown command "${first}"`, 'the commands are attach, exec, ls, sessions, install, uninstall and doctor; mirrord --help shows them');
}

function parseAttach(verb: 'attach' | 'exec', argv: string[]): Invocation {
  const { head, command } = splitCommand(verb, argv);
  let parsed;
  try {
    parsed = parseArgs({ args: head, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError(parseErrorMessage(error as Error & { code?: string }), `mirrord ${verb} --help lists the options; the command's own options go after --`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help', topic: 'attach' };
  if (positionals.length > (verb === 'attach' ? 1 : 0)) {
    const extra = positionals[verb === 'attach' ? 1 : 0];
    throw usageError(`unexpected argument "${extra}"`, `put the command to run after --: mirrord ${verb} ${verb === 'attach' ? 'deploy/NAME' : '--target deploy/NAME'} -- CMD ARGS`);
  }
  if (positionals[0] !== undefined && values.target !== undefined) {
    throw usageError(`the target is given twice ("${positionals[0]}" and --target ${values.target})`, 'give it once');
  }
  if (values.steal && values.mirror) throw usageError('--steal and --mirror exclude each other', 'choose one');
  if (values['agent-cmd'] !== undefined && values['agent-url'] !== undefined) throw usageError('--agent-cmd and --agent-url exclude each other', 'choose one way to reach the agent');
  const fsMode = values['fs-mode'];
  if (fsMode !== undefined && fsMode !== 'local' && fsMode !== 'read' && fsMode !== 'write') {
    throw usageError(`--fs-mode ${fsMode}: expected local, read or write`, 'read (the default) reads the app\'s mounts from the pod');
  }
  if (!command.length) throw usageError('no command to run', `mirrord ${verb} ${verb === 'attach' ? 'deploy/NAME' : '--target deploy/NAME'} -- CMD ARGS`);

  const overrides: Overrides = {
    target: positionals[0] ?? values.target,
    namespace: values.namespace,
    context: values.context,
    kubeconfig: values.kubeconfig,
    mode: values.steal ? 'steal' : values.mirror ? 'mirror' : undefined,
    ports: values.port?.map(parsePort),
    headerFilter: values['http-header-filter'],
    pathFilter: values['http-path-filter'],
    fsMode,
    envInclude: values['env-include'],
    envExclude: values['env-exclude'],
    noOutgoing: values['no-outgoing'],
    noRemoteDns: values['no-remote-dns'],
  };
  return {
    kind: 'attach',
    agent: { command: values['agent-cmd'], url: values['agent-url'], pod: values.pod },
    configFile: values.config,
    quiet: values.quiet ?? false,
    overrides: Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Overrides,
    command,
  };
}

/**
 * Where the user's command starts: after `--`, or (for exec, as in mirrord) at the first
 * argument that is neither an option nor an option's value, so that the command's own
 * options are never taken for ours.
 */
function splitCommand(verb: 'attach' | 'exec', argv: string[]): { head: string[]; command: string[] } {
  const { tokens } = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  const terminator = tokens.find((token) => token.kind === 'option-terminator');
  if (verb === 'exec') {
    const start = tokens.find((token) => token.kind === 'positional' && (!terminator || token.index < terminator.index));
    if (start) return { head: argv.slice(0, start.index), command: argv.slice(start.index) };
  }
  if (terminator) return { head: argv.slice(0, terminator.index), command: argv.slice(terminator.index + 1) };
  return { head: argv, command: [] };
}

function parsePort(text: string): { remote: number; local?: number } {
  const match = /^(\d+)(?::(\d+))?$/.exec(text);
  const valid = (n: number) => Number.isInteger(n) && n >= 1 && n <= 65535;
  const remote = Number(match?.[1]);
  const local = match?.[2] === undefined ? undefined : Number(match[2]);
  if (!match || !valid(remote) || (local !== undefined && !valid(local))) {
    throw usageError(`--port ${text}: expected PORT or PORT:LOCAL_PORT (1-65535)`, '--port 80 subscribes the pod\'s port 80; --port 80:8080 delivers it to a local process listening on 8080');
  }
  return local === undefined ? { remote } : { remote, local };
}

function parseErrorMessage(error: Error & { code?: string }): string {
  const unknown = /^Unknown option '([^']+)'/.exec(error.message);
  if (unknown) return `unknown option ${unknown[1]}`;
  const missing = /^Option '(?:-\w, )?(--[\w-]+)[^']*' argument missing/.exec(error.message);
  if (missing) return `${missing[1]} needs a value`;
  const noValue = /^Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(error.message);
  if (noValue) return `${noValue[1]} takes no value`;
  return error.message.split('\n')[0];
}
