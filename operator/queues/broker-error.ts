/** A broker that can't be reached, refuses the credentials, or lacks a queue: said as such to the user, the workload untouched. */
export class BrokerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BrokerError';
  }
}
