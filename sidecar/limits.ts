/**
 * What one client may hold of the sidecar, which serves production traffic beside the app: a
 * connection that never says hello, a flood of them, or one session opening files without end
 * must not take what the others need. Each limit, when reached, is a clear error to the client
 * that reached it; the others go on.
 */
export const LIMITS = {
  /** A connection must send hello within this (then it is closed: 4004); MIRRORD_HELLO_TIMEOUT_MS sets another. */
  helloTimeoutMs: 5000,
  /** Connections waiting for their hello at once; more are closed at once (1013, try again). */
  pendingConnections: 64,
  /** Sessions per sidecar (per pod); a hello beyond them is refused with EBUSY. */
  sessions: 32,
  /**
   * Bytes of file reads one session may have under way or unsent at once; its further reads wait
   * for those replies to leave (a client that asks faster than it reads waits for itself).
   */
  readBytesInFlightPerSession: 2 * 1024 * 1024,
  /** Files one session may hold open; more are refused with EMFILE. */
  openFilesPerSession: 256,
  /** The event loop may stall this long before new connections bypass the sidecar (MIRRORD_WATCHDOG_MS). */
  watchdogMs: 1500,
  /** A stealing session heard from within this is answering; else its traffic goes to the app (MIRRORD_UNRESPONSIVE_MS). */
  unresponsiveMs: 500,
} as const;
