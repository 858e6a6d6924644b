/** The HTTP status of a failed Kubernetes API call (a client-node ApiException), if it is one. */
export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The Kubernetes `Status` a failed call got back, or undefined when its body is none. */
function statusBody(error: unknown): { message?: unknown; reason?: unknown } | undefined {
  const body = (error as { body?: unknown } | undefined)?.body;
  try {
    const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { kind?: unknown; message?: unknown; reason?: unknown } | undefined;
    return parsed?.kind === 'Status' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** The message of the Kubernetes `Status` a failed call got back, or undefined when its body is none. */
export function statusMessage(error: unknown): string | undefined {
  const message = statusBody(error)?.message;
  return typeof message === 'string' ? message : undefined;
}

/** The reason of the Kubernetes `Status` a failed call got back (`NotFound`, `Conflict`, or an API's own). */
export function statusReason(error: unknown): string | undefined {
  const reason = statusBody(error)?.reason;
  return typeof reason === 'string' ? reason : undefined;
}

/**
 * Whether the call went to an API group the API server doesn't serve (here: no operator
 * installed): its own 404 is a bare "page not found", where an API's 404 is a `Status`.
 */
export function groupNotServed(error: unknown): boolean {
  return statusOf(error) === 404 && statusMessage(error) === undefined;
}

/** A failed API call in one line: the Status message the API server sent, else the error's own. */
export function apiErrorMessage(error: unknown): string {
  const message = statusMessage(error);
  if (message !== undefined) return `${statusOf(error) ?? ''} ${message}`.trim();
  return (error as Error)?.message?.split('\n')[0] ?? String(error);
}
