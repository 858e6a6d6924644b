/**
 * The command line: `mirrord attach [target] [flags] -- cmd args`, `mirrord exec --target X
 * [flags] [--] cmd args` (mirrord's spelling), the cluster commands (admin-args.ts), `--help`,
 * `--version`.
 */
import { SELECTOR, TARGETLESS } from './kube/target';
import { parseArgs } from 'node:util';
import { ADMIN_VERBS, parseAdmin, type AdminArgs, type AdminVerb } from './admin-args';
import type { FsMode } from '../intproxy/fs-policy';
import type { Overrides } from './config/resolve';
import type { Interception } from './config/schema';
import { AGENT_OPTIONS, agentChoice, type AgentChoice } from './agent-args';
import { CliError, USAGE_EXIT } from './errors';
import { parsePortForward, type PortForwardArgs } from './port-forward-args';

export interface AttachArgs {
  kind: 'attach';
  agent: AgentChoice;
  configFile?: string;
  quiet: boolean;
  overrides: Overrides;
  command: string[];
}

export type HelpTopic = 'attach' | 'port-forward' | AdminVerb;

export type Invocation = { kind: 'help'; topic?: HelpTopic } | { kind: 'version' } | AttachArgs | PortForwardArgs | { kind: 'admin'; args: AdminArgs };

const isAdminVerb = (word: string | undefined): word is AdminVerb => (ADMIN_VERBS as readonly string[]).includes(word ?? '');

/** mirrord's flags accepted for its users' command lines, not supported yet (a warning names each). */
const unsupportedOptions = {
  'accept-invalid-certificates': { type: 'boolean', short: 'c' },
  'skip-processes': { type: 'string' },
  'agent-namespace': { type: 'string', short: 'a' },
  'agent-log-level': { type: 'string', short: 'l' },
  'agent-image': { type: 'string', short: 'i' },
  'agent-ttl': { type: 'string' },
  'agent-startup-timeout': { type: 'string' },
  'ephemeral-container': { type: 'boolean', short: 'e' },
  key: { type: 'string' },
} as const;

const options = {
  ...AGENT_OPTIONS,
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
  profile: { type: 'string' },
  pod: { type: 'string' },
  targetless: { type: 'boolean' },
  selector: { type: 'string' },
  'copy-target': { type: 'boolean' },
  'scale-down': { type: 'boolean' },
  interception: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  // mirrord exec's spellings of the flags above, and its flags of its own.
  'override-env-vars-include': { type: 'string', short: 's', multiple: true },
  'override-env-vars-exclude': { type: 'string', short: 'x', multiple: true },
  'target-namespace': { type: 'string' },
  'config-file': { type: 'string' },
  'env-file': { type: 'string' },
  'no-tcp-outgoing': { type: 'boolean' },
  'no-udp-outgoing': { type: 'boolean' },
  // Nothing to do: no telemetry is sent and no version is checked.
  'no-telemetry': { type: 'boolean' },
  'disable-version-check': { type: 'boolean' },
  ...unsupportedOptions,
} as const;

const UNSUPPORTED_FLAGS = Object.keys(unsupportedOptions) as (keyof typeof unsupportedOptions)[];

const FS_MODES: readonly FsMode[] = ['local', 'localwithoverrides', 'read', 'write'];

const usageError = (message: string, hint: string) => new CliError(message, hint, USAGE_EXIT);

export function parseCommandLine(argv: string[]): Invocation {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') return { kind: 'help' };
  if (first === 'help') {
    if (rest[0] === 'attach' || rest[0] === 'exec') return { kind: 'help', topic: 'attach' };
    if (rest[0] === 'port-forward') return { kind: 'help', topic: 'port-forward' };
    return isAdminVerb(rest[0]) ? { kind: 'help', topic: rest[0] } : { kind: 'help' };
  }
  if (first === '--version' || first === '-V' || first === 'version') return { kind: 'version' };
  if (first === 'attach' || first === 'exec') return parseAttach(first, rest);
  if (first === 'port-forward') {
    const parsed = parsePortForward(rest);
    return parsed === 'help' ? { kind: 'help', topic: 'port-forward' } : parsed;
  }
  if (isAdminVerb(first)) {
    const args = parseAdmin(first, rest);
    return args ? { kind: 'admin', args } : { kind: 'help', topic: first };
  }
  if (first.startsWith('-')) throw usageError(`unknown option ${first}`, 'options come after the command: mirrord attach [target] [options] -- CMD ARGS');
  throw usageError(
    `unknown command "${first}"`,
    'the commands are attach, exec, port-forward, ls, sessions, db-branches, install, uninstall and doctor; mirrord --help shows them',
  );
}

function parseAttach(verb: 'attach' | 'exec', argv: string[]): Invocation {
  const { head, command } = splitCommand(verb, argv);
  let parsed;
  try {
    parsed = parseArgs({ args: head.map(withoutBooleanValue), options, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError(parseErrorMessage(error as Error & { code?: string }), `mirrord ${verb} --help lists the options; the command's own options go after --`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help', topic: 'attach' };
  if (positionals.length > (verb === 'attach' ? 1 : 0)) {
    const extra = positionals[verb === 'attach' ? 1 : 0];
    throw usageError(
      `unexpected argument "${extra}"`,
      `put the command to run after --: mirrord ${verb} ${verb === 'attach' ? 'deploy/NAME' : '--target deploy/NAME'} -- CMD ARGS`,
    );
  }
  if (positionals[0] !== undefined && values.target !== undefined) {
    throw usageError(`the target is given twice ("${positionals[0]}" and --target ${values.target})`, 'give it once');
  }
  if (values.selector !== undefined && (values.targetless || (positionals[0] ?? values.target) !== undefined)) {
    throw usageError(
      `--selector and ${values.targetless ? '--targetless' : `a target ("${positionals[0] ?? values.target}")`} exclude each other`,
      'the selector names the pods to attach to: give it alone',
    );
  }
  if (values.targetless && (positionals[0] ?? values.target) !== undefined) {
    throw usageError(
      `--targetless and a target ("${positionals[0] ?? values.target}") exclude each other`,
      'a targetless session runs from a pod started for it',
    );
  }
  if (values.steal && values.mirror) throw usageError('--steal and --mirror exclude each other', 'choose one');
  const fsMode = parseFsMode(values['fs-mode']);
  if (!command.length) throw usageError('no command to run', `mirrord ${verb} ${verb === 'attach' ? 'deploy/NAME' : '--target deploy/NAME'} -- CMD ARGS`);

  const envInclude = joinLists(values['env-include'], values['override-env-vars-include']);
  const envExclude = joinLists(values['env-exclude'], values['override-env-vars-exclude']);
  const unsupported = UNSUPPORTED_FLAGS.filter((flag) => values[flag] !== undefined).map((flag) => `--${flag}`);
  const overrides: Overrides = {
    target: values.targetless ? TARGETLESS : values.selector !== undefined ? `${SELECTOR}/${values.selector}` : (positionals[0] ?? values.target),
    namespace: same('--namespace', values.namespace, '--target-namespace', values['target-namespace']),
    context: values.context,
    kubeconfig: values.kubeconfig,
    profile: values.profile,
    mode: values.steal ? 'steal' : values.mirror ? 'mirror' : undefined,
    ports: values.port?.map(parsePort),
    headerFilter: values['http-header-filter'],
    pathFilter: values['http-path-filter'],
    fsMode,
    envInclude,
    envExclude,
    envFile: values['env-file'],
    noOutgoing: values['no-outgoing'],
    noTcpOutgoing: values['no-tcp-outgoing'],
    noUdpOutgoing: values['no-udp-outgoing'],
    noRemoteDns: values['no-remote-dns'],
    copyTarget: values['copy-target'],
    scaleDown: values['scale-down'],
    interception: interceptionFlag(values.interception),
    unsupported: unsupported.length ? unsupported : undefined,
  };
  return {
    kind: 'attach',
    agent: agentChoice(values, values.pod),
    configFile: same('-f/--config', values.config, '--config-file', values['config-file']),
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

/** mirrord's `-c`/`--accept-invalid-certificates` takes `=true`/`=false`; the flag alone is enough here (it only warns). */
function withoutBooleanValue(arg: string): string {
  const match = /^(--accept-invalid-certificates|-c)=(true|false)$/.exec(arg);
  return match ? match[1] : arg;
}

/** mirrord spells it `localwithoverrides` in its config and `local-with-overrides` on its command line. */
function parseFsMode(text: string | undefined): FsMode | undefined {
  if (text === undefined) return undefined;
  const mode = text === 'local-with-overrides' ? 'localwithoverrides' : text;
  if (!(FS_MODES as readonly string[]).includes(mode)) {
    throw usageError(`--fs-mode ${text}: expected local, localwithoverrides, read or write`, "read (the default) reads the app's mounts from the pod");
  }
  return mode as FsMode;
}

/** A setting with two spellings (ours and mirrord's): given once, or twice the same. */
function same(name: string, value: string | undefined, other: string, otherValue: string | undefined): string | undefined {
  if (value !== undefined && otherValue !== undefined && value !== otherValue)
    throw usageError(`${name} and ${other} say different things ("${value}" and "${otherValue}")`, 'give one of them');
  return value ?? otherValue;
}

function joinLists(a: string[] | undefined, b: string[] | undefined): string[] | undefined {
  return a || b ? [...(a ?? []), ...(b ?? [])] : undefined;
}

function parsePort(text: string): { remote: number; local?: number } {
  const match = /^(\d+)(?::(\d+))?$/.exec(text);
  const valid = (n: number) => Number.isInteger(n) && n >= 1 && n <= 65535;
  const remote = Number(match?.[1]);
  const local = match?.[2] === undefined ? undefined : Number(match[2]);
  if (!match || !valid(remote) || (local !== undefined && !valid(local))) {
    throw usageError(
      `--port ${text}: expected PORT or PORT:LOCAL_PORT (1-65535)`,
      "--port 80 subscribes the pod's port 80; --port 80:8080 delivers it to a local process listening on 8080",
    );
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

const INTERCEPTIONS = ['auto', 'preload', 'syscall'] as const;

function interceptionFlag(text: string | undefined): Interception | undefined {
  if (text === undefined) return undefined;
  if ((INTERCEPTIONS as readonly string[]).includes(text)) return text as Interception;
  throw usageError(
    `--interception ${text}: expected ${INTERCEPTIONS.join(', ')}`,
    'preload hooks libc (most programs); syscall intercepts system calls (any program, Go and static ones too); auto picks per program',
  );
}
