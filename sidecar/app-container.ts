/**
 * The whole-container opt-in: the app container as its processes see it. The pod shares one PID
 * namespace (the webhook set shareProcessNamespace), so the app's processes are in our /proc; the
 * webhook marked the app container's environment (APP_CONTAINER_MARK), which tells them from the
 * pause process, the sidecar and other containers. Through one of them the sidecar reaches the
 * container's root file system (/proc/PID/root: the image's files and its volumes, as the app sees
 * them) and its runtime environment (/proc/PID/environ: what the process really has, including
 * what its entrypoint exported before exec). Both need CAP_SYS_PTRACE, which the opt-in adds.
 */
import fs from 'node:fs';
import { APP_CONTAINER_MARK } from '../common/pod-contract';

export interface AppProcess {
  pid: number;
  /** Its environment, the mark removed. */
  env: Record<string, string>;
}

function environOf(procRoot: string, pid: number): Record<string, string> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`${procRoot}/${pid}/environ`, 'utf8');
  } catch {
    return undefined; // gone, or not ours to read
  }
  const env: Record<string, string> = {};
  for (const entry of text.split('\0')) {
    const equals = entry.indexOf('=');
    if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  return env;
}

/**
 * The app container's process whose environment is the fullest (an entrypoint script that
 * exports and then starts the app has fewer variables than the app it started), lowest PID
 * first among equals; an Error saying why when there is none.
 */
export function findAppProcess(procRoot = '/proc', self = process.pid): AppProcess | Error {
  let best: AppProcess | undefined;
  let unreadable = 0;
  const pids = fs
    .readdirSync(procRoot)
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => pid !== self)
    .sort((a, b) => a - b);
  for (const pid of pids) {
    const env = environOf(procRoot, pid);
    if (!env) {
      unreadable++;
      continue;
    }
    if (env[APP_CONTAINER_MARK] === undefined) continue;
    delete env[APP_CONTAINER_MARK];
    if (!best || Object.keys(env).length > Object.keys(best.env).length) best = { pid, env };
  }
  if (best) return best;
  return new Error(
    unreadable === pids.length && pids.length > 0
      ? `the app container's processes can't be read (${unreadable} unreadable): the sidecar needs CAP_SYS_PTRACE, which the webhook adds with the whole-container annotation`
      : 'no process of the app container is running (is it started? does the pod share its process namespace?)',
  );
}
