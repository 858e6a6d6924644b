/** A broker that can't be reached, refuses the credentials, or lacks a queue: said as such to the user, the workload untouched. */
export class BrokerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BrokerError';
  }
}

/**
 * A broker client's failure as the user reads it: refused credentials (as the broker says so,
 * `refused`), a port nothing listens on and a host name that doesn't resolve said plainly,
 * anything else as the client said it (`text`).
 */
export function failureReason(text: string, refused: boolean): string {
  if (refused) return 'the credentials were refused';
  if (/ECONNREFUSED/.test(text)) return 'nothing listens there (connection refused)';
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return 'its host name does not resolve';
  return text;
}
