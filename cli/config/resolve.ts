/**
 * The settings of one run: the file's values with the command line's on top, defaults filled
 * in (mirrord's: mirror incoming traffic, outgoing and DNS through the pod, read the app's
 * files remotely, the whole remote environment).
 */
import type { LayerOptions } from '../../layer/proxy';
import { compileOutgoingFilter } from '../../layer/proxy/outgoing-filter';
import type { HttpFilter } from '../../protocol/messages';
import { splitPatterns, type EnvFilter } from '../env-filter';
import { CliError } from '../errors';
import type { EnvConfig, FileConfig, FsConfig, IncomingConfig, OutgoingConfig } from './schema';

/** What the command line can set; absent means "as the file says". */
export interface Overrides {
  target?: string;
  namespace?: string;
  context?: string;
  kubeconfig?: string;
  mode?: 'steal' | 'mirror';
  ports?: { remote: number; local?: number }[];
  headerFilter?: string;
  pathFilter?: string;
  fsMode?: 'local' | 'read' | 'write';
  envInclude?: string[];
  envExclude?: string[];
  noOutgoing?: boolean;
  noRemoteDns?: boolean;
}

export interface Settings {
  target?: { path: string; namespace?: string };
  kubeContext?: string;
  kubeconfig?: string;
  layer: LayerOptions;
  env: { enabled: boolean } & EnvFilter;
}

const HINT = 'see the mirrord.json reference in the README ("CLI")';

export function resolveSettings(config: FileConfig, flags: Overrides = {}, file = 'mirrord.json'): Settings {
  const network = config.feature?.network ?? {};
  const fileTarget = typeof config.target === 'string' ? { path: config.target } : config.target;
  const targetPath = flags.target ?? fileTarget?.path;
  return {
    target: targetPath ? { path: targetPath, namespace: flags.namespace ?? fileTarget?.namespace } : undefined,
    kubeContext: flags.context ?? config.kube_context,
    kubeconfig: flags.kubeconfig ?? config.kubeconfig,
    layer: {
      incoming: incoming(network.incoming, flags, file),
      outgoing: outgoing(network.outgoing, flags, file),
      dns: flags.noRemoteDns ? false : typeof network.dns === 'object' ? (network.dns.enabled ?? true) : (network.dns ?? true),
      fs: files(config.feature?.fs, flags, file),
    },
    env: environment(config.feature?.env, flags),
  };
}

function incoming(value: IncomingConfig | undefined, flags: Overrides, file: string): LayerOptions['incoming'] {
  const object = typeof value === 'object' ? value : { mode: value };
  const fileFilter = object.http_filter;
  const filter: HttpFilter = {
    header: flags.headerFilter ?? fileFilter?.header_filter,
    path: flags.pathFilter ?? fileFilter?.path_filter,
    method: fileFilter?.method_filter,
  };
  const filtered = filter.header !== undefined || filter.path !== undefined || filter.method !== undefined;
  const flagFilter = flags.headerFilter !== undefined || flags.pathFilter !== undefined;
  // A filter only selects what is stolen, so asking for one without a mode means steal.
  const mode = flags.mode ?? (flagFilter ? 'steal' : undefined) ?? object.mode ?? (filtered ? 'steal' : 'mirror');
  if (filtered && mode !== 'steal') {
    const where = flagFilter ? '--http-header-filter/--http-path-filter' : `${file}: feature.network.incoming.http_filter`;
    throw new CliError(`${where}: an HTTP filter only applies in steal mode, and the mode is ${mode}`, flagFilter ? 'add --steal' : HINT);
  }
  checkRegex(filter.header, flags.headerFilter !== undefined ? '--http-header-filter' : `${file}: feature.network.incoming.http_filter.header_filter`);
  checkRegex(filter.path, flags.pathFilter !== undefined ? '--http-path-filter' : `${file}: feature.network.incoming.http_filter.path_filter`);

  let ports = object.ports;
  const portMapping = new Map<number, number>((object.port_mapping ?? []).map(([local, remote]) => [local, remote]));
  if (flags.ports?.length) {
    ports = flags.ports.map((p) => p.remote);
    for (const p of flags.ports) if (p.local !== undefined) portMapping.set(p.local, p.remote);
  }
  return {
    mode,
    httpFilter: filtered ? stripUndefined(filter) : undefined,
    portMapping: [...portMapping],
    ports,
    ignorePorts: object.ignore_ports ?? [],
  };
}

function outgoing(value: OutgoingConfig | undefined, flags: Overrides, file: string): LayerOptions['outgoing'] {
  if (flags.noOutgoing || value === false) return { tcp: false, udp: false };
  if (value === undefined || value === true) return { tcp: true, udp: true };
  const filter = value.filter ? { local: splitList(value.filter.local), remote: splitList(value.filter.remote) } : undefined;
  try {
    compileOutgoingFilter(filter);
  } catch (error) {
    throw new CliError(`${file}: feature.network.outgoing.filter: ${(error as Error).message}`, HINT);
  }
  return { tcp: value.tcp ?? true, udp: value.udp ?? true, filter: filter && stripUndefined(filter) };
}

function files(value: FsConfig | undefined, flags: Overrides, file: string): LayerOptions['fs'] {
  const object = typeof value === 'object' ? value : { mode: value };
  const patterns = (key: 'read_only' | 'read_write' | 'local') => {
    const list = splitList(object[key]);
    for (const pattern of list ?? []) {
      try {
        new RegExp(pattern);
      } catch (error) {
        throw new CliError(`${file}: feature.fs.${key}: ${(error as Error).message}`, HINT);
      }
    }
    return list;
  };
  return stripUndefined({
    mode: flags.fsMode ?? object.mode ?? 'read',
    readOnly: patterns('read_only'),
    readWrite: patterns('read_write'),
    local: patterns('local'),
  });
}

function environment(value: EnvConfig | undefined, flags: Overrides): Settings['env'] {
  const object = typeof value === 'object' ? value : {};
  const enabled = value !== false || flags.envInclude !== undefined;
  return stripUndefined({
    enabled,
    include: flags.envInclude ? splitPatterns(flags.envInclude) : splitPatterns(object.include),
    exclude: flags.envExclude ? splitPatterns(flags.envExclude) : splitPatterns(object.exclude),
    override: object.override,
  });
}

function splitList(value: string | string[] | undefined): string[] | undefined {
  return value === undefined ? undefined : Array.isArray(value) ? value : [value];
}

function checkRegex(source: string | undefined, where: string): void {
  if (source === undefined) return;
  try {
    new RegExp(source);
  } catch (error) {
    throw new CliError(`${where}: not a valid regular expression (${(error as Error).message})`, 'filters are JavaScript regular expressions, e.g. "^x-user: alice$"');
  }
}

function stripUndefined<T extends object>(object: T): T {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as T;
}
