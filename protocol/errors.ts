/**
 * An error that crosses the wire: `code` is an errno name (ENOENT, EACCES, ...) for
 * file, socket and DNS failures, or one of the protocol codes below.
 */
export class RemoteError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RemoteError';
  }
}

/** The peer sent something that isn't a valid frame or message; the session is closed. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export const ErrorCode = {
  /** Client and sidecar speak different major protocol versions. */
  Version: 'EVERSION',
  /** A malformed frame or message. */
  Protocol: 'EPROTO',
  /** The port is taken in a way that conflicts with the request (e.g. unfiltered steal). */
  PortConflict: 'EPORTCONFLICT',
  /** The request's arguments are invalid (bad port, bad regex, ...). */
  Invalid: 'EINVAL',
  /** A path leaves the app root. */
  Escape: 'EXDEV',
  /** Something failed inside the sidecar. */
  Internal: 'EINTERNAL',
  /** The sidecar is stopping (its pod is being deleted or restarted). */
  Shutdown: 'ESHUTDOWN',
  /** `mirrord sessions kill` ended the session. */
  Killed: 'EKILLED',
  /** The sidecar requires a ticket from the operator and the hello's is missing, invalid or refused. */
  Auth: 'EAUTH',
} as const;

/** WebSocket close codes the sidecar uses (4000-4999 is the application range). */
export const CloseCode = {
  Normal: 1000,
  Protocol: 4002,
  Version: 4003,
  Timeout: 4004,
  Shutdown: 4005,
  Killed: 4006,
  /** The hello's ticket was missing, invalid or refused. */
  Auth: 4007,
} as const;

/**
 * How the sidecar ends the EACCES for a path outside the app's mounts, which the client
 * recognises to say once what would serve such a path.
 */
export const OUTSIDE_MOUNTS = 'the sidecar serves only those';
