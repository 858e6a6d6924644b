/**
 * The sidecar's configuration, all from its environment (the webhook sets it). Anything
 * invalid stops the sidecar at start with a message naming the variable.
 */
import { parseLevel, type Level } from '../common/log';
import { LIMITS } from './limits';
import type { MeshMode } from './incoming/mesh';
import { APP_ENV_PREFIX, DEFAULT_AGENT_PORT, DEFAULT_APP_ROOT, SIDECAR_ENV } from '../common/pod-contract';

export interface SidecarConfig {
  /** Loopback port of the session WebSocket. */
  agentPort: number;
  /** Where the app container's volumes are mounted, at their original paths. */
  appRoot: string;
  /** The app's mount paths (as the app sees them): the only paths files are served under, unless `wholeRoot`. */
  appMounts: string[];
  /** Serve every path beneath the app root (the app container's whole file system is there). */
  wholeRoot: boolean;
  /** The whole-container opt-in: the root is the app container's own (implies wholeRoot), the env its process's. */
  wholeContainer: boolean;
  /** The app's environment, prefix removed. */
  appEnv: Record<string, string>;
  pod: { name: string; namespace: string; ip: string };
  /** Who may attach: anyone (`none`), or holders of a ticket the operator signed for this pod (`required`). */
  auth: AuthConfig;
  logLevel: Level;
  /** WebSocket ping period; a session that misses one is ended. */
  heartbeatMs: number;
  /** A connection that sends no hello within this is closed. */
  helloTimeoutMs: number;
  /** One file operation may take this long; then the client gets ETIMEDOUT. */
  fsCallMs: number;
  /** The event loop may stall this long before the watchdog removes the jump to our chain. */
  watchdogMs: number;
  /** A stealing session silent this long has its stolen traffic sent back to the app. */
  unresponsiveMs: number;
  /** The app's HTTP probes: kubelet's requests to these ports and paths always reach the app. */
  probes: HttpProbe[];
  /** Name of the nat chain holding this sidecar's REDIRECT rules. */
  chain: string;
  /** The iptables command. */
  iptables: string;
  /** Connections passed on to the app come from the client's own address (else from the pod's). */
  keepClientAddress: boolean;
  /** Mirrored ports are copied by packet capture, off the app's path (else through the sidecar). */
  mirrorCapture: boolean;
  /** Whether the app's traffic comes through a service mesh's proxy container (incoming/mesh.ts). */
  mesh: MeshMode;
  /** Where the app's TLS certificate and key are (tls.crt, tls.key), when the pod gave them. */
  tlsDir?: string;
}

export interface HttpProbe {
  port: number;
  path: string;
}

function probes(env: NodeJS.ProcessEnv): HttpProbe[] {
  const text = env[SIDECAR_ENV.probes];
  if (!text) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${SIDECAR_ENV.probes} is not JSON: ${(error as Error).message}`);
  }
  const valid = (p: unknown): p is HttpProbe => {
    const probe = p as Partial<HttpProbe> | null;
    return !!probe && Number.isInteger(probe.port) && probe.port! >= 1 && probe.port! <= 65535 && typeof probe.path === 'string' && probe.path.startsWith('/');
  };
  if (!Array.isArray(parsed) || !parsed.every(valid))
    throw new Error(`${SIDECAR_ENV.probes} must be a JSON list of { "port": 1-65535, "path": "/…" }: ${text}`);
  return parsed;
}

export type AuthConfig = { mode: 'none' } | { mode: 'required'; keysFile: string; podUid: string; inlineKeys?: string };

export function loadConfig(env: NodeJS.ProcessEnv = process.env): SidecarConfig {
  return {
    agentPort: integer(env, SIDECAR_ENV.agentPort, DEFAULT_AGENT_PORT, 1, 65535),
    appRoot: env[SIDECAR_ENV.appRoot] || DEFAULT_APP_ROOT,
    appMounts: mountPaths(env),
    wholeRoot: boolean(env, SIDECAR_ENV.wholeRoot) || boolean(env, SIDECAR_ENV.wholeContainer),
    wholeContainer: boolean(env, SIDECAR_ENV.wholeContainer),
    appEnv: appEnvironment(env),
    pod: {
      name: env[SIDECAR_ENV.podName] ?? '',
      namespace: env[SIDECAR_ENV.podNamespace] ?? '',
      ip: env[SIDECAR_ENV.podIp] ?? '',
    },
    auth: authConfig(env),
    logLevel: parseLevel(env[SIDECAR_ENV.logLevel]),
    heartbeatMs: integer(env, SIDECAR_ENV.heartbeatMs, 2000, 100, 600_000),
    helloTimeoutMs: integer(env, SIDECAR_ENV.helloTimeoutMs, LIMITS.helloTimeoutMs, 100, 600_000),
    fsCallMs: integer(env, SIDECAR_ENV.fsTimeoutMs, LIMITS.fsCallMs, 100, 600_000),
    watchdogMs: integer(env, SIDECAR_ENV.watchdogMs, LIMITS.watchdogMs, 200, 60_000),
    unresponsiveMs: integer(env, SIDECAR_ENV.unresponsiveMs, LIMITS.unresponsiveMs, 100, 60_000),
    probes: probes(env),
    chain: chainName(env[SIDECAR_ENV.chain] ?? 'MIRRORD_INCOMING'),
    iptables: env[SIDECAR_ENV.iptables] || 'iptables',
    keepClientAddress: boolean(env, SIDECAR_ENV.keepClientAddress, true),
    mirrorCapture: boolean(env, SIDECAR_ENV.mirrorCapture, true),
    mesh: meshMode(env),
    ...(env[SIDECAR_ENV.tlsDir] && { tlsDir: env[SIDECAR_ENV.tlsDir] }),
  };
}

/** The app's variables, copied by the webhook under our prefix; ours are never among them. */
export function appEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith(APP_ENV_PREFIX) && key.length > APP_ENV_PREFIX.length && value !== undefined) {
      result[key.slice(APP_ENV_PREFIX.length)] = value;
    }
  }
  return result;
}

function authConfig(env: NodeJS.ProcessEnv): AuthConfig {
  const mode = env[SIDECAR_ENV.auth] || 'none';
  if (mode === 'none') return { mode };
  if (mode !== 'required') throw new Error(`${SIDECAR_ENV.auth}="${mode}" must be none or required`);
  const keysFile = env[SIDECAR_ENV.authKeysFile] ?? '';
  const podUid = env[SIDECAR_ENV.podUid] ?? '';
  // Without them no ticket could ever be accepted: say so at start rather than refuse every session.
  if (!keysFile.startsWith('/')) throw new Error(`${SIDECAR_ENV.auth}=required needs ${SIDECAR_ENV.authKeysFile}, an absolute path to the operator's key set`);
  if (!podUid) throw new Error(`${SIDECAR_ENV.auth}=required needs ${SIDECAR_ENV.podUid}, the pod's UID (downward API metadata.uid)`);
  const inlineKeys = env[SIDECAR_ENV.authKeys] || undefined;
  return { mode, keysFile, podUid, ...(inlineKeys && { inlineKeys }) };
}

function meshMode(env: NodeJS.ProcessEnv): MeshMode {
  const text = env[SIDECAR_ENV.mesh];
  if (text === undefined || text === '' || text === 'auto') return 'auto';
  if (text === 'true' || text === 'false') return text === 'true' ? 'on' : 'off';
  throw new Error(`${SIDECAR_ENV.mesh}="${text}" must be auto, true or false`);
}

function mountPaths(env: NodeJS.ProcessEnv): string[] {
  const mounts = (env[SIDECAR_ENV.appMounts] ?? '')
    .split(/[,:]/)
    .map((mount) => mount.trim())
    .filter(Boolean);
  // They bound what sessions may reach: a relative one can't be matched against the app's paths.
  const relative = mounts.find((mount) => !mount.startsWith('/'));
  if (relative !== undefined) throw new Error(`${SIDECAR_ENV.appMounts}: "${relative}" is not an absolute path`);
  return mounts;
}

function boolean(env: NodeJS.ProcessEnv, name: string, fallback = false): boolean {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  if (text === 'false') return false;
  if (text === 'true') return true;
  throw new Error(`${name}="${text}" must be true or false`);
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}="${text}" must be an integer from ${min} to ${max}`);
  }
  return value;
}

function chainName(name: string): string {
  if (!/^MIRRORD[A-Z0-9_-]{0,20}$/.test(name)) {
    throw new Error(`MIRRORD_CHAIN="${name}" must start with MIRRORD and use only A-Z, 0-9, _ and - (at most 28 characters)`);
  }
  return name;
}
