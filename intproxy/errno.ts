/** errno names from the sidecar (ENOENT, ...) as the numbers libc callers expect. */
import { constants } from 'node:os';
import { ErrorCode } from '../protocol/errors';

/** The sidecar's own codes that have an errno of their meaning; the others are EIO. */
const PROTOCOL_ERRNO: Record<string, number> = {
  // A port another session holds: as a port someone else listens on, so the app stops instead of
  // running as if it received the pod's traffic.
  [ErrorCode.PortConflict]: constants.errno.EADDRINUSE,
};

export function errnoNumber(code: string | undefined): number {
  const value = code ? (PROTOCOL_ERRNO[code] ?? (constants.errno as Record<string, number>)[code]) : undefined;
  return value ?? constants.errno.EIO;
}

/** getaddrinfo's EAI_* codes (glibc values) for a failed remote resolution. */
export function eaiCode(code: string | undefined): number {
  switch (code) {
    case 'ENOTFOUND':
    case 'EAI_NONAME':
      return -2; // EAI_NONAME
    case 'EAI_AGAIN':
    case 'ETIMEOUT':
      return -3; // EAI_AGAIN
    case 'ENODATA':
      return -5; // EAI_NODATA
    default:
      return -4; // EAI_FAIL
  }
}

/** The reply for a request the pod's call failed: the errno it failed with. */
export function errorReply(error: unknown): { kind: 'error'; errno: number } {
  return { kind: 'error', errno: errnoNumber((error as { code?: string }).code) };
}
