/**
 * The MIRRORD_* environment variables mirrord reads for its options (the `env = …` of its
 * config crate), as a config fragment that lies between the file and the flags: a variable
 * wins over the file, a flag over the variable. Each value is checked by the file's own schema,
 * so a bad pattern in a variable is reported as it would be in the file, under the variable's
 * name. Variables of features not supported yet are named in a warning.
 */
import { checkFragment } from './fragment';
import { overlay } from './normalize';
import type { Problem } from './problems';
import type { FileConfig } from './schema';

type Reader = (value: string) => unknown;

const text: Reader = (value) => value;
/** mirrord's lists in a variable are `;`-separated. */
const list: Reader = (value) => value.split(';');
const bool: Reader = (value) => {
  if (value === 'true' || value === 'false') return value === 'true';
  throw new Error(`expected true or false, got ${JSON.stringify(value)}`);
};
const ports: Reader = (value) =>
  value.split(';').map((part) => {
    if (!/^\d+$/.test(part)) throw new Error(`expected ports separated by ";", got ${JSON.stringify(value)}`);
    return Number(part);
  });
/** mirrord's MIRRORD_AGENT_TCP_STEAL_TRAFFIC: true is steal, false is off, or a mode's name. */
const incomingMode: Reader = (value) => (value === 'true' ? 'steal' : value === 'false' ? 'off' : value);

const INCOMING = ['feature', 'network', 'incoming'];
const HTTP_FILTER = [...INCOMING, 'http_filter'];

const VARIABLES: [name: string, path: string[], read: Reader][] = [
  ['MIRRORD_IMPERSONATED_TARGET', ['target', 'path'], text],
  ['MIRRORD_TARGET_NAMESPACE', ['target', 'namespace'], text],
  ['MIRRORD_KUBE_CONTEXT', ['kube_context'], text],
  ['MIRRORD_KUBECONFIG', ['kubeconfig'], text],
  ['MIRRORD_AGENT_TCP_STEAL_TRAFFIC', [...INCOMING, 'mode'], incomingMode],
  ['MIRRORD_HTTP_HEADER_FILTER', [...HTTP_FILTER, 'header_filter'], text],
  ['MIRRORD_HTTP_PATH_FILTER', [...HTTP_FILTER, 'path_filter'], text],
  ['MIRRORD_HTTP_METHOD_FILTER', [...HTTP_FILTER, 'method_filter'], text],
  ['MIRRORD_HTTP_FILTER_PORTS', [...HTTP_FILTER, 'ports'], ports],
  ['MIRRORD_TCP_OUTGOING', ['feature', 'network', 'outgoing', 'tcp'], bool],
  ['MIRRORD_UDP_OUTGOING', ['feature', 'network', 'outgoing', 'udp'], bool],
  ['MIRRORD_REMOTE_DNS', ['feature', 'network', 'dns', 'enabled'], bool],
  ['MIRRORD_FILE_MODE', ['feature', 'fs', 'mode'], text],
  ['MIRRORD_FILE_READ_WRITE_PATTERN', ['feature', 'fs', 'read_write'], list],
  ['MIRRORD_FILE_READ_ONLY_PATTERN', ['feature', 'fs', 'read_only'], list],
  ['MIRRORD_FILE_LOCAL_PATTERN', ['feature', 'fs', 'local'], list],
  ['MIRRORD_OVERRIDE_ENV_VARS_INCLUDE', ['feature', 'env', 'include'], text],
  ['MIRRORD_OVERRIDE_ENV_VARS_EXCLUDE', ['feature', 'env', 'exclude'], text],
  ['MIRRORD_OVERRIDE_ENV_VARS_FILE', ['feature', 'env', 'env_file'], text],
];

/** Variables mirrord reads for features not here; the value says why when the setting means nothing here. */
const UNSUPPORTED: Record<string, string | undefined> = {
  MIRRORD_ACCEPT_INVALID_CERTIFICATES: undefined,
  MIRRORD_SKIP_PROCESSES: undefined,
  MIRRORD_SKIP_BUILD_TOOLS: undefined,
  MIRRORD_SKIP_EXTRA_BUILD_TOOLS: undefined,
  MIRRORD_OPERATOR_ENABLE: undefined,
  MIRRORD_MULTI_CLUSTER: undefined,
  MIRRORD_API: undefined,
  MIRRORD_PROXY: undefined,
  MIRRORD_KEY: undefined,
  MIRRORD_AGENT_RUST_LOG: undefined,
  MIRRORD_AGENT_NAMESPACE: undefined,
  MIRRORD_AGENT_IMAGE: undefined,
  MIRRORD_AGENT_IMAGE_PULL_POLICY: undefined,
  MIRRORD_AGENT_TTL: undefined,
  MIRRORD_AGENT_COMMUNICATION_TIMEOUT: undefined,
  MIRRORD_AGENT_STARTUP_TIMEOUT: undefined,
  MIRRORD_AGENT_NETWORK_INTERFACE: undefined,
  MIRRORD_AGENT_STEALER_FLUSH_CONNECTIONS: undefined,
  MIRRORD_AGENT_DISABLED_CAPABILITIES: undefined,
  MIRRORD_EPHEMERAL_CONTAINER: undefined,
  MIRRORD_OPERATOR_ON_CONCURRENT_STEAL: undefined,
  MIRRORD_OUTGOING_REMOTE_UNIX_STREAMS: undefined,
  MIRRORD_TELEMETRY: 'no telemetry is sent',
  MIRRORD_SKIP_SIP: 'macOS only',
};

export interface FromEnvironment {
  config: FileConfig;
  problems: Problem[];
  warnings: string[];
}

export function readEnvironment(env: NodeJS.ProcessEnv): FromEnvironment {
  const problems: Problem[] = [];
  const fragments: FileConfig[] = [];
  const take = (name: string, path: string[], value: unknown) => {
    const checked = checkFragment(name, path, value);
    if (checked.config) fragments.push(checked.config);
    problems.push(...checked.problems);
  };
  for (const [name, path, read] of VARIABLES) {
    const raw = env[name];
    if (raw === undefined) continue;
    try {
      take(name, path, read(raw));
    } catch (error) {
      problems.push({ text: `${name}: ${(error as Error).message}` });
    }
  }
  try {
    const legacy = legacyFileMode(env);
    if (legacy && env.MIRRORD_FILE_MODE === undefined) take('MIRRORD_FILE_OPS/MIRRORD_FILE_RO_OPS', ['feature', 'fs', 'mode'], legacy);
  } catch (error) {
    problems.push({ text: (error as Error).message });
  }
  const warnings = Object.entries(UNSUPPORTED)
    .filter(([name]) => env[name] !== undefined)
    .map(([name, why]) => `${name} ${why ? `has no effect here (${why})` : 'is not supported yet'}; it is ignored`);
  return { config: fragments.reduce<FileConfig>((merged, fragment) => overlay(merged, fragment), {}), problems, warnings };
}

/** mirrord's older MIRRORD_FILE_OPS (read and write) and MIRRORD_FILE_RO_OPS (read only). */
function legacyFileMode(env: NodeJS.ProcessEnv): string | undefined {
  const flag = (name: string) => {
    const value = env[name];
    if (value === undefined) return undefined;
    try {
      return bool(value) as boolean;
    } catch (error) {
      throw new Error(`${name}: ${(error as Error).message}`);
    }
  };
  const readWrite = flag('MIRRORD_FILE_OPS');
  const readOnly = flag('MIRRORD_FILE_RO_OPS');
  if (readWrite) return 'write';
  if (readOnly) return 'read';
  return readWrite === false || readOnly === false ? 'local' : undefined;
}
