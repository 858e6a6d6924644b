/** Who runs this command, as sidecar logs and `sessions` listings name a client. */
import { hostname, userInfo } from 'node:os';

/** `user@host`: the user may have no passwd entry (a container's arbitrary uid); the host still says who. */
export function userAtHost(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry
  }
  return `${user}@${hostname()}`;
}
