/** A failed API call of the operator: the HTTP status, and a message for the user. */
export class ApiFailure extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 422 | 424 | 500 | 503,
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** Who calls, as the API server authenticated them. */
export interface Caller {
  user: string;
  groups: string[];
}
