/**
 * mirrord's short forms (`"incoming": "steal"`, `"fs": false`, `"network": false`, …) as the
 * objects they stand for, so that the file, the MIRRORD_* variables and the flags can be laid
 * over one another key by key (a variable setting `fs.mode` must win over the file's `"fs":
 * "read"` without losing the file's patterns).
 */
import type {
  CopyTargetConfig,
  DnsConfig,
  EnvConfig,
  FileConfig,
  FsConfig,
  HttpFilterConfig,
  IncomingConfig,
  Interception,
  OutgoingConfig,
  SplitQueuesConfig,
  DbBranchConfig,
  TargetPathConfig,
} from './schema';

type ObjectOf<T> = Exclude<T, string | boolean | undefined>;

export interface Normal {
  /** `kind/name[/container/name]` or `targetless`, as mirrord's string form. */
  target: { path?: string; namespace?: string };
  kubeContext?: string;
  kubeconfig?: string;
  profile?: string;
  interception?: Interception;
  incoming: Omit<ObjectOf<IncomingConfig>, 'http_filter'> & { http_filter: ObjectOf<HttpFilterConfig> };
  outgoing: ObjectOf<OutgoingConfig>;
  dns: ObjectOf<DnsConfig>;
  fs: ObjectOf<FsConfig>;
  /** `enabled: false` is `"env": false`: no remote variable unless some are asked for by name. */
  env: ObjectOf<EnvConfig> & { enabled?: boolean };
  hostname?: boolean;
  copyTarget: { enabled?: boolean; scale_down?: boolean };
  splitQueues?: SplitQueuesConfig;
  dbBranches?: DbBranchConfig[];
}

export function normalize(config: FileConfig): Normal {
  const feature = config.feature ?? {};
  const networkOff = feature.network === false;
  const network = typeof feature.network === 'object' ? feature.network : {};
  return {
    target: target(config.target),
    kubeContext: config.kube_context,
    kubeconfig: config.kubeconfig,
    profile: config.profile,
    interception: config.interception,
    // `"network": false` is mirrord's disabled network: no incoming, outgoing or remote DNS.
    incoming: networkOff ? { mode: 'off', http_filter: {} } : incoming(network.incoming),
    outgoing: networkOff
      ? { tcp: false, udp: false }
      : typeof network.outgoing === 'boolean'
        ? { tcp: network.outgoing, udp: network.outgoing }
        : { ...network.outgoing },
    dns: networkOff ? { enabled: false } : typeof network.dns === 'boolean' ? { enabled: network.dns } : { ...network.dns },
    fs: typeof feature.fs === 'string' ? { mode: feature.fs } : typeof feature.fs === 'boolean' ? { mode: feature.fs ? 'read' : 'local' } : { ...feature.fs },
    env: typeof feature.env === 'boolean' ? (feature.env ? {} : { enabled: false }) : { ...feature.env },
    hostname: feature.hostname,
    copyTarget: copyTarget(feature.copy_target),
    splitQueues: feature.split_queues,
    dbBranches: feature.db_branches,
  };
}

/** `true` is `{"enabled": true}`; asking to scale down is asking for the copy it is for. */
function copyTarget(value: CopyTargetConfig | undefined): Normal['copyTarget'] {
  if (typeof value === 'boolean') return { enabled: value };
  if (!value) return {};
  return { ...value, enabled: value.enabled ?? (value.scale_down === true ? true : undefined) };
}

function incoming(value: IncomingConfig | undefined): Normal['incoming'] {
  if (typeof value === 'string') return { mode: value, http_filter: {} };
  // `true` is the default configuration (mirror, or steal with a filter); `false` is off.
  if (typeof value === 'boolean') return { mode: value ? undefined : 'off', http_filter: {} };
  const filter = value?.http_filter;
  return { ...value, http_filter: typeof filter === 'object' ? filter : {} };
}

function target(value: FileConfig['target']): Normal['target'] {
  if (value === undefined) return {};
  // `{"path": …, "namespace": …}`, else the path itself (a string, or `{"pod": …}`).
  const isPath = typeof value === 'string' || Object.keys(value).some((key) => key !== 'path' && key !== 'namespace');
  if (isPath) return { path: targetPath(value as TargetPathConfig) };
  const object = value as { path?: TargetPathConfig; namespace?: string };
  return { path: object.path === undefined ? undefined : targetPath(object.path), namespace: object.namespace };
}

/** `{"deployment": "api", "container": "app"}` is `deployment/api/container/app`. */
function targetPath(path: TargetPathConfig): string {
  if (typeof path === 'string') return path;
  const { container, ...kinds } = path as Record<string, string | undefined>;
  const [kind, name] = Object.entries(kinds).find(([, value]) => value !== undefined) ?? ['', ''];
  return `${kind}/${name}${container === undefined ? '' : `/container/${container}`}`;
}

/** `top` laid over `base`: objects key by key, anything else (lists too) replaced when `top` sets it. */
export function overlay<T>(base: T, top: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(top)) return top === undefined ? base : (top as T);
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(top)) result[key] = overlay(result[key], value);
  return result as T;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
