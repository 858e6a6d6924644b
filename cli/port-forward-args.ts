/**
 * `mirrord port-forward [TARGET] -L [LOCAL:]HOST:PORT … -R LOCAL:POD_PORT …`: ports of this
 * machine that reach destinations through the pod (names resolved there), and pod ports whose
 * traffic comes to this machine.
 */
import { parseArgs } from 'node:util';
import type { Overrides } from './config/resolve';
import { AGENT_OPTIONS, agentChoice, type AgentChoice } from './agent-args';
import { CliError, USAGE_EXIT } from './errors';
import { TARGETLESS } from './kube/target';

/** `-L`: connections to 127.0.0.1:local go to host:port, from the pod. */
export interface LocalForward {
  local: number;
  host: string;
  port: number;
}

/** `-R`: the pod's port `pod` (stolen or mirrored) comes to 127.0.0.1:local. */
export interface RemoteForward {
  local: number;
  pod: number;
}

export interface PortForwardArgs {
  kind: 'port-forward';
  agent: AgentChoice;
  configFile?: string;
  quiet: boolean;
  overrides: Overrides;
  local: LocalForward[];
  remote: RemoteForward[];
}

const usageError = (message: string, hint: string) => new CliError(message, hint, USAGE_EXIT);

const options = {
  L: { type: 'string', multiple: true },
  R: { type: 'string', multiple: true },
  ...AGENT_OPTIONS,
  target: { type: 'string', short: 't' },
  namespace: { type: 'string', short: 'n' },
  context: { type: 'string' },
  kubeconfig: { type: 'string' },
  pod: { type: 'string' },
  targetless: { type: 'boolean' },
  steal: { type: 'boolean' },
  mirror: { type: 'boolean' },
  'http-header-filter': { type: 'string' },
  'http-path-filter': { type: 'string' },
  config: { type: 'string', short: 'f' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function parsePortForward(argv: string[]): PortForwardArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError((error as Error).message, 'mirrord port-forward --help lists the options');
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length > 1) throw usageError(`unexpected argument "${positionals[1]}"`, 'mirrord port-forward deploy/NAME -L 5432:db:5432');
  const target = positionals[0] ?? values.target;
  if (values.targetless && target !== undefined) throw usageError(`--targetless and a target ("${target}") exclude each other`, 'give one');
  if (values.steal && values.mirror) throw usageError('--steal and --mirror exclude each other', 'choose one');
  const local = (values.L ?? []).map(parseLocal);
  const remote = (values.R ?? []).map(parseRemote);
  if (!local.length && !remote.length) throw usageError('nothing to forward', 'give -L [LOCAL:]HOST:PORT or -R LOCAL:POD_PORT (each repeatable)');
  if (values.targetless && remote.length)
    throw usageError('-R needs a target: a targetless pod receives no traffic', 'give the workload whose port to forward');
  const taken = [...local.map((l) => l.local)].filter((port, i, all) => all.indexOf(port) !== i);
  if (taken.length) throw usageError(`local port ${taken[0]} is given to two -L forwards`, 'one local port per forward');
  // A pod port's traffic can go to one place: a second -R for it would subscribe it twice.
  const twice = remote.map((r) => r.pod).filter((pod, i, all) => all.indexOf(pod) !== i);
  if (twice.length) throw usageError(`pod port ${twice[0]} is given to two -R forwards`, 'one -R per pod port');
  const overrides: Overrides = {
    target: values.targetless ? TARGETLESS : target,
    namespace: values.namespace,
    context: values.context,
    kubeconfig: values.kubeconfig,
    mode: values.mirror ? 'mirror' : 'steal',
    headerFilter: values['http-header-filter'],
    pathFilter: values['http-path-filter'],
  };
  return {
    kind: 'port-forward',
    agent: agentChoice(values, values.pod),
    configFile: values.config,
    quiet: values.quiet ?? false,
    overrides: Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Overrides,
    local,
    remote,
  };
}

function port(text: string, what: string, spec: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1 && value <= 65535)) throw usageError(`-${spec}: ${what} "${text}" is not a port (1-65535)`, specHint(spec));
  return value;
}

const specHint = (flag: string) =>
  flag.startsWith('L') ? 'e.g. -L 5432:db.internal:5432, or -L db:5432 (the same port here)' : "e.g. -R 8080:80: the pod's port 80 comes to 127.0.0.1:8080";

/** `[LOCAL:]HOST:PORT`, HOST an IPv6 address in brackets. */
export function parseLocal(text: string): LocalForward {
  const match = /^(?:(\d+):)?(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d+)$/.exec(text);
  if (!match) throw usageError(`-L ${text}: expected [LOCAL_PORT:]HOST:PORT`, specHint('L'));
  const remotePort = port(match[3]!, 'port', `L ${text}`);
  const host = match[2]!.replace(/^\[(.*)\]$/, '$1');
  return { local: match[1] === undefined ? remotePort : port(match[1], 'local port', `L ${text}`), host, port: remotePort };
}

/** `LOCAL:POD_PORT`. */
export function parseRemote(text: string): RemoteForward {
  const match = /^(\d+):(\d+)$/.exec(text);
  if (!match) throw usageError(`-R ${text}: expected LOCAL_PORT:POD_PORT`, specHint('R'));
  return { local: port(match[1]!, 'local port', `R ${text}`), pod: port(match[2]!, 'pod port', `R ${text}`) };
}
