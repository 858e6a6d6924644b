/**
 * The settings of one run, as mirrord resolves them: defaults, then the file, then the MIRRORD_*
 * variables, then the flags (mirrord's defaults: mirror incoming traffic, outgoing and DNS
 * through the pod, read the app's files remotely, the whole remote environment). Every problem
 * of the three sources is reported at once; what they set that this implementation doesn't do
 * yet comes back as warnings, one per key.
 */
import { TARGETLESS } from '../kube/target';
import type { LayerOptions } from '../../intproxy/proxy';
import type { DnsFilter } from '../../intproxy/dns-filter';
import type { FsMode } from '../../intproxy/fs-policy';
import { compileEntry } from '../../intproxy/outgoing-filter';
import type { DbBranchRequest } from '../../protocol/db-branch';
import type { HttpFilter, Mode } from '../../protocol/messages';
import { splitPatterns, type EnvFilter } from '../env-filter';
import { readEnvironment, type FromEnvironment } from './env-vars';
import { checkFragment } from './fragment';
import { composeHttpFilter } from './http-filter';
import { checkConfigFile, type Loaded } from './load';
import { normalize, overlay, type Normal } from './normalize';
import { problemsError, type Problem } from './problems';
import { configSchema, type DbBranchConfig, type FileConfig, type Interception } from './schema';
import { unsupportedWarnings } from './unsupported';

/** What the command line can set; absent means "as the variables and the file say". */
export interface Overrides {
  target?: string;
  namespace?: string;
  context?: string;
  kubeconfig?: string;
  profile?: string;
  mode?: Mode;
  ports?: { remote: number; local?: number }[];
  headerFilter?: string;
  pathFilter?: string;
  fsMode?: FsMode;
  envInclude?: string[];
  envExclude?: string[];
  envFile?: string;
  noOutgoing?: boolean;
  noTcpOutgoing?: boolean;
  noUdpOutgoing?: boolean;
  noRemoteDns?: boolean;
  /** --copy-target; --scale-down (which asks for the copy too). */
  copyTarget?: boolean;
  scaleDown?: boolean;
  /** mirrord's flags given that this implementation doesn't act on yet. */
  unsupported?: string[];
  interception?: Interception;
}

export interface Settings {
  /** `copy`: the session runs on a copy of the target made for it (feature.copy_target). */
  target?: { path: string; namespace?: string; copy?: { scaleDown: boolean } };
  kubeContext?: string;
  kubeconfig?: string;
  /** The profile to apply (its feature section, fetched from the cluster, over the file's). */
  profile?: string;
  layer: LayerOptions;
  /** How the program is intercepted: `auto` picks per program (cli/program-kinds.ts). */
  interception: Interception;
  /** `file`: a .env file whose variables come over the pod's (feature.env.env_file). */
  env: { enabled: boolean; file?: string } & EnvFilter;
  /** feature.split_queues, as the ticket asks for it: per queue id, its type and the messages that come to this session. */
  splitQueues?: Record<string, { queueType: 'RabbitMQ' | 'Kafka' | 'SQS'; messageFilter: Record<string, string> }>;
  /** feature.db_branches, as the ticket asks for them (an attach gives an id to those that have none). */
  dbBranches?: DbBranchSettings[];
  /** Settings accepted but not acted on, one line each, for the user to see before the session starts. */
  warnings: string[];
}

/** A profile's `feature` section, as the cluster holds it. */
export interface Profile {
  /** How messages name it: `MirrordProfile shop/dev`. */
  name: string;
  feature: unknown;
}

/**
 * The settings of `attach`: the file (-f, MIRRORD_CONFIG_FILE or the default), a profile's
 * feature section over it (checked by the same schema), the variables and the flags.
 */
export function loadSettings(
  configFile: string | undefined,
  flags: Overrides = {},
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
  profile?: Profile,
): Settings {
  const loaded = checkConfigFile(configFile ?? env.MIRRORD_CONFIG_FILE, cwd);
  if (!profile) return settingsOf(loaded, flags, env);
  const fragment = checkFragment(profile.name, ['feature'], profile.feature);
  if (fragment.problems.length) throw problemsError(fragment.problems, `${profile.name} is the cluster's: whoever keeps it can fix it`);
  return settingsOf({ ...loaded, config: overlay(loaded.config, fragment.config) }, flags, env);
}

/** The settings from a file already checked (`file` names it in messages). */
export function resolveSettings(config: FileConfig, flags: Overrides = {}, file = 'mirrord.json', env: NodeJS.ProcessEnv = {}): Settings {
  return settingsOf({ config, file, problems: [] }, flags, env);
}

/** Every problem of the file, the variables and the flags at once, else the settings they make. */
function settingsOf(loaded: Loaded & { problems: Problem[] }, flags: Overrides, env: NodeJS.ProcessEnv): Settings {
  const fromEnv = readEnvironment(env);
  const problems = [...loaded.problems, ...fromEnv.problems, ...flagProblems(flags)];
  if (problems.length) throw problemsError(problems);
  return settingsFrom(loaded, fromEnv, flags);
}

function settingsFrom({ config, file = 'mirrord.json', warnings: fileWarnings = [] }: Loaded, fromEnv: FromEnvironment, flags: Overrides): Settings {
  const warnings = [
    ...fileWarnings,
    ...unsupportedWarnings(configSchema, config, file),
    ...fromEnv.warnings,
    ...(flags.unsupported ?? []).map((flag) => `${flag} is not supported yet; it is ignored`),
  ];
  const warn = (text: string) => warnings.push(text);
  const merged = overlay(normalize(config), normalize(fromEnv.config));
  const outgoingOptions = outgoing(merged, flags);
  const layer: LayerOptions = {
    incoming: incoming(merged.incoming, flags, file, warn),
    outgoing: outgoingOptions,
    ...dns(merged, flags, outgoingOptions.filter, warn),
    fs: files(merged.fs, flags),
    hostname: merged.hostname ?? true,
  };
  return {
    target: target(merged, flags, warn),
    kubeContext: flags.context ?? merged.kubeContext,
    kubeconfig: flags.kubeconfig ?? merged.kubeconfig,
    profile: flags.profile ?? merged.profile,
    layer,
    interception: flags.interception ?? merged.interception ?? 'auto',
    env: environment(merged.env, flags),
    ...(merged.splitQueues &&
      Object.keys(merged.splitQueues).length > 0 && {
        splitQueues: Object.fromEntries(
          Object.entries(merged.splitQueues).map(([id, queue]) => [id, { queueType: queue.queue_type, messageFilter: queue.message_filter ?? {} }]),
        ),
      }),
    ...(merged.dbBranches?.length && { dbBranches: merged.dbBranches.map(dbBranchSettings) }),
    warnings,
  };
}

export type DbBranchSettings = Omit<DbBranchRequest, 'id' | 'shared'> & { id?: string };

/** A branch as the ticket asks for it: mirrord's snake_case keys in the protocol's camelCase, the defaults filled in. */
function dbBranchSettings(branch: DbBranchConfig): DbBranchSettings {
  return {
    ...(branch.id !== undefined && { id: branch.id }),
    type: branch.type,
    ...(branch.version !== undefined && { version: branch.version }),
    ...(branch.name !== undefined && { name: branch.name }),
    connection: branch.connection,
    copy: { mode: branch.copy?.mode ?? 'empty', ...(branch.copy?.tables && { tables: branch.copy.tables }) },
    ...(branch.ttl_secs !== undefined && { ttlSecs: branch.ttl_secs }),
    ...(branch.creation_timeout_secs !== undefined && { creationTimeoutSecs: branch.creation_timeout_secs }),
  };
}

/** Flag values only the schema can check (regexes). */
function flagProblems(flags: Overrides): Problem[] {
  const httpFilter = ['feature', 'network', 'incoming', 'http_filter'];
  return [
    ...(flags.headerFilter === undefined ? [] : checkFragment('--http-header-filter', [...httpFilter, 'header_filter'], flags.headerFilter).problems),
    ...(flags.pathFilter === undefined ? [] : checkFragment('--http-path-filter', [...httpFilter, 'path_filter'], flags.pathFilter).problems),
  ];
}

function target({ target: value, copyTarget }: Normal, flags: Overrides, warn: (text: string) => void): Settings['target'] {
  let path = flags.target ?? value.path;
  const scaleDown = flags.scaleDown ?? copyTarget.scale_down ?? false;
  const copied = (flags.copyTarget ?? flags.scaleDown ?? copyTarget.enabled ?? false) || scaleDown;
  if (path === undefined) {
    if (copied) warn('copy_target: there is no target to copy; it is ignored');
    return undefined;
  }
  // A pod started for the session (cli/kube/targetless.ts).
  if (path === TARGETLESS) {
    if (copied) warn('copy_target: a targetless session has no target to copy; it is ignored');
    return { path, namespace: flags.namespace ?? value.namespace };
  }
  // mirrord's `KIND/NAME/container/CONTAINER`: the sidecar serves its pod, whatever the container.
  const container = /^(.+?)\/container\/([^/]+)$/.exec(path);
  if (container) {
    warn(`the target's container ("${container[2]}") is not supported yet; it is ignored`);
    path = container[1];
  }
  return { path, namespace: flags.namespace ?? value.namespace, ...(copied && { copy: { scaleDown } }) };
}

function incoming(value: Normal['incoming'], flags: Overrides, file: string, warn: (text: string) => void): LayerOptions['incoming'] {
  const where = `${file}: feature.network.incoming.http_filter`;
  // The flags' header and path over the file's; the file's other conditions stay.
  const filter: HttpFilter = stripUndefined({
    ...composeHttpFilter(value.http_filter),
    ...(flags.headerFilter !== undefined && { header: flags.headerFilter }),
    ...(flags.pathFilter !== undefined && { path: flags.pathFilter }),
  });
  let filtered = Object.keys(filter).length > 0;
  // A filter selects what is stolen or mirrored; asking for one without a mode means steal (as mirrord).
  const mode = flags.mode ?? value.mode ?? (filtered ? 'steal' : 'mirror');
  if (filtered && mode === 'off') {
    warn(`${where} selects what is stolen or mirrored; with incoming off it is ignored`);
    filtered = false;
  }

  let ports = value.ports;
  const portMapping = new Map<number, number>((value.port_mapping ?? []).map(([local, remote]) => [local, remote]));
  if (flags.ports?.length) {
    ports = flags.ports.map((p) => p.remote);
    for (const p of flags.ports) if (p.local !== undefined) portMapping.set(p.local, p.remote);
  }
  for (const [local, remote] of portMapping) {
    if (local === remote)
      warn(
        `${file}: feature.network.incoming.port_mapping maps port ${local} to itself; a mapping is only needed when the local process listens on another port`,
      );
  }
  const filterPorts = value.http_filter.ports;
  return stripUndefined({
    mode,
    httpFilter: filtered ? filter : undefined,
    httpFilterPorts: filtered && filterPorts && !filterPorts.includes('*') ? (filterPorts as number[]) : undefined,
    portMapping: [...portMapping],
    ports,
    ignorePorts: value.ignore_ports ?? [],
    ignoreLocalhost: value.ignore_localhost ?? false,
  });
}

function outgoing(merged: Normal, flags: Overrides): LayerOptions['outgoing'] {
  const value = merged.outgoing;
  const filter = value.filter && stripUndefined({ local: list(value.filter.local), remote: list(value.filter.remote) });
  return stripUndefined({
    tcp: !(flags.noOutgoing || flags.noTcpOutgoing) && (value.tcp ?? true),
    udp: !(flags.noOutgoing || flags.noUdpOutgoing) && (value.udp ?? true),
    filter,
    ignoreLocalhost: value.ignore_localhost ?? false,
  });
}

/**
 * Remote DNS and its filter. As mirrord does, the host names of the outgoing filter join the DNS
 * filter on their side, so that a name kept local (or sent remote) is also resolved there: a
 * local-only name the pod can't resolve would otherwise fail before the outgoing filter runs.
 */
function dns(
  merged: Normal,
  flags: Overrides,
  outgoingFilter: LayerOptions['outgoing']['filter'],
  warn: (text: string) => void,
): Pick<LayerOptions, 'dns' | 'dnsFilter'> {
  const enabled = flags.noRemoteDns ? false : (merged.dns.enabled ?? true);
  const configured = merged.dns.filter;
  if (!enabled) {
    if (configured) warn('feature.network.dns.filter is ignored: remote DNS is off');
    if (outgoingFilter?.remote)
      warn('feature.network.outgoing.filter.remote names destinations for the pod, but remote DNS is off: their names are resolved here');
    return { dns: false };
  }
  let dnsFilter: DnsFilter | undefined = configured && stripUndefined({ local: list(configured.local), remote: list(configured.remote) });
  if (dnsFilter?.local?.length === 0) warn('feature.network.dns.filter.local is empty: every name is resolved in the pod');
  if (dnsFilter?.remote?.length === 0) warn('feature.network.dns.filter.remote is empty: every name is resolved here');
  const side = outgoingFilter?.local ? 'local' : outgoingFilter?.remote ? 'remote' : undefined;
  const names = (outgoingFilter?.local ?? outgoingFilter?.remote ?? [])
    .map(compileEntry)
    .flatMap((rule) => (rule.kind === 'name' ? [rule.port ? `${rule.name}:${rule.port}` : rule.name] : []));
  if (side && names.length) {
    const other = side === 'local' ? 'remote' : 'local';
    const opposite = dnsFilter?.[other];
    if (opposite) {
      const both = names.filter((name) => opposite.includes(name));
      if (both.length)
        warn(
          `feature.network.outgoing.filter sends ${both.join(', ')} ${side === 'local' ? 'from here' : 'through the pod'}, but feature.network.dns.filter resolves them ${side === 'local' ? 'in the pod' : 'here'}`,
        );
    } else if (side === 'local' || dnsFilter?.remote) {
      dnsFilter = { [side]: [...new Set([...(dnsFilter?.[side] ?? []), ...names])] };
    }
  }
  return stripUndefined({ dns: true, dnsFilter });
}

function files(value: Normal['fs'], flags: Overrides): LayerOptions['fs'] {
  return stripUndefined({
    mode: flags.fsMode ?? value.mode ?? 'read',
    readOnly: list(value.read_only),
    readWrite: list(value.read_write),
    local: list(value.local),
    notFound: list(value.not_found),
    mapping: value.mapping && Object.entries(value.mapping),
  });
}

function environment(value: Normal['env'], flags: Overrides): Settings['env'] {
  // With `"env": false` in the file, an include comes from MIRRORD_OVERRIDE_ENV_VARS_INCLUDE or the flag.
  const includeAsked = flags.envInclude !== undefined || value.include !== undefined;
  return stripUndefined({
    // `"env": false` leaves the pod's variables out, unless some are asked for by name.
    enabled: value.enabled !== false || includeAsked,
    include: flags.envInclude ? splitPatterns(flags.envInclude) : splitPatterns(value.include),
    exclude: flags.envExclude ? splitPatterns(flags.envExclude) : splitPatterns(value.exclude),
    override: value.override,
    unset: list(value.unset),
    mapping: value.mapping && Object.entries(value.mapping),
    file: flags.envFile ?? value.env_file,
  });
}

function list(value: string | string[] | undefined): string[] | undefined {
  return value === undefined ? undefined : Array.isArray(value) ? value : [value];
}

function stripUndefined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as T;
}
