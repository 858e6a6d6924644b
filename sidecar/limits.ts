/**
 * What one client may hold of the sidecar, which serves production traffic beside the app: a
 * connection that never says hello, a flood of them, or one session opening files without end
 * must not take what the others need. Each limit, when reached, is a clear error to the client
 * that reached it; the others go on.
 */
export const LIMITS = {
  /** A connection must send hello within this (then it is closed: 4004); MIRRORD_HELLO_TIMEOUT_MS sets another. */
  helloTimeoutMs: 5000,
  /** Connections waiting for their hello at once; more are refused before the handshake (HTTP 503, try again). */
  pendingConnections: 64,
  /** Sessions per sidecar (per pod); a hello beyond them is refused with EBUSY. */
  sessions: 32,
  /**
   * Requests of one session under way at once, and the bytes their attachments (file writes)
   * hold; one beyond either is refused with EAGAIN.
   */
  requestsInFlightPerSession: 1024,
  requestBytesInFlightPerSession: 16 * 1024 * 1024,
  /** TCP connections and UDP sockets one session may have open from the pod; more are refused with EMFILE. */
  connectionsPerSession: 1024,
  /** Name look-ups of one session running at once (each holds a thread of a shared pool); more wait their turn. */
  lookupsPerSession: 2,
  /** Name look-ups of all sessions running at once: a third of the pool's 24 threads, the rest stay for files. */
  lookupsAtOnce: 8,
  /**
   * Bytes of file reads one session may have under way or unsent at once; its further reads wait
   * for those replies to leave (a client that asks faster than it reads waits for itself).
   */
  readBytesInFlightPerSession: 2 * 1024 * 1024,
  /** One file operation may take this long; then its client gets ETIMEDOUT (MIRRORD_FS_TIMEOUT_MS). */
  fsCallMs: 10_000,
  /** Timed-out file operations of one session still holding a thread; beyond, its new ones get EAGAIN. */
  stuckFileOperationsPerSession: 4,
  /** Refused requests of one session written to the log each second; the rest are counted. */
  refusalLinesPerSecond: 20,
  /** Files one session may hold open; more are refused with EMFILE. */
  openFilesPerSession: 256,
  /** The event loop may stall this long before new connections bypass the sidecar (MIRRORD_WATCHDOG_MS). */
  watchdogMs: 1500,
  /** A stealing session heard from within this is answering; else its traffic goes to the app (MIRRORD_UNRESPONSIVE_MS). */
  unresponsiveMs: 500,
} as const;
