/** errno names from the sidecar (ENOENT, ...) as the numbers libc callers expect. */
import { constants } from 'node:os';

export function errnoNumber(code: string | undefined): number {
  const value = code ? (constants.errno as Record<string, number>)[code] : undefined;
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
