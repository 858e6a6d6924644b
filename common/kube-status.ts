/** The HTTP status of a failed Kubernetes API call (a client-node ApiException), if it is one. */
export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}
