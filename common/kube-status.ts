/** The HTTP status of a failed Kubernetes API call (a client-node ApiException), if it is one. */
export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** A failed API call in one line: the Status message the API server sent, else the error's own. */
export function apiErrorMessage(error: unknown): string {
  const body = (error as { body?: unknown } | undefined)?.body;
  try {
    const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown } | undefined;
    if (typeof parsed?.message === 'string') return `${statusOf(error) ?? ''} ${parsed.message}`.trim();
  } catch {
    // Not JSON: fall through to the error's message.
  }
  return (error as Error)?.message?.split('\n')[0] ?? String(error);
}
