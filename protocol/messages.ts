/**
 * Control messages: JSON objects carried in CONTROL frames. Requests go from the client to
 * the sidecar and are answered by exactly one `reply` or `error` with the same `id`; events
 * flow from the sidecar to the client unasked. Unknown fields are ignored so that a minor
 * version can add them.
 */
import { z } from './zod';
import { ticketFsPaths } from './fs-paths';

const port = z.number().int().min(1).max(65535);
const streamId = z.number().int().min(1).max(0xffffffff);
const fd = z.number().int().min(0);
/** The most bytes one fs.read asks for and one fs.write carries (a frame holds that and the rest). */
export const FILE_CHUNK = 1 << 20;
/** The longest client name a hello may carry: it is shown in every `sessions` listing. */
export const MAX_CLIENT_NAME = 256;
const address = z.object({ address: z.string(), port: z.number().int().min(0).max(65535) });

/**
 * An HTTP filter: every condition it gives must match. `all` and `any` nest filters (each must
 * match; at least one must), four levels deep at most (protocol 1.6; before, only header, path
 * and method).
 */
export interface HttpFilter {
  /** Regex matched against each `Name: value` header line. */
  header?: string;
  /** Regex matched against the request path (with query). */
  path?: string;
  /** Request method, compared case-insensitively. */
  method?: string;
  /** A JSON body (Content-Type …json): the JSONPath `query` (protocol/json-path.ts) selects values, one of which `matches` (a regex). */
  body?: { query: string; matches: string };
  all?: HttpFilter[];
  any?: HttpFilter[];
}

/** Whether a filter uses what protocol 1.6 added (a sidecar before it would ignore those conditions). */
export function usesNestedFilters(filter: HttpFilter): boolean {
  return filter.body !== undefined || filter.all !== undefined || filter.any !== undefined;
}

const MAX_FILTER_DEPTH = 4;
const filterDepth = (filter: HttpFilter): number => 1 + Math.max(0, ...[...(filter.all ?? []), ...(filter.any ?? [])].map(filterDepth));

export const httpFilter: z.ZodType<HttpFilter> = z.lazy(() =>
  z
    .object({
      header: z.string().optional(),
      path: z.string().optional(),
      method: z.string().optional(),
      body: z.object({ query: z.string().max(1024), matches: z.string() }).optional(),
      all: z.array(httpFilter).min(1).max(16).optional(),
      any: z.array(httpFilter).min(1).max(16).optional(),
    })
    .refine((f) => Object.values(f).some((v) => v !== undefined), { message: 'an HTTP filter needs at least one of header, path, method, body, all, any' })
    .refine((f) => filterDepth(f) <= MAX_FILTER_DEPTH, { message: `an HTTP filter nests ${MAX_FILTER_DEPTH} levels deep at most` }),
);

export const stat = z.object({
  dev: z.number(),
  ino: z.number(),
  mode: z.number(),
  nlink: z.number(),
  uid: z.number(),
  gid: z.number(),
  rdev: z.number(),
  size: z.number(),
  blksize: z.number(),
  blocks: z.number(),
  atimeMs: z.number(),
  mtimeMs: z.number(),
  ctimeMs: z.number(),
});

/** The file system holding a path, as statfs(2) reports it. */
export const statfs = z.object({
  type: z.number(),
  bsize: z.number(),
  blocks: z.number(),
  bfree: z.number(),
  bavail: z.number(),
  files: z.number(),
  ffree: z.number(),
});

/** What a session may do to the pod's files, as the sidecar enforces it. */
export const fsRights = z.enum(['read', 'write']);

const fileTime = z.union([z.number().min(0), z.enum(['now', 'omit'])]);

/** Each request: what the client sends (`params`) and what the sidecar replies (`result`). */
export const requests = {
  hello: {
    params: z.object({
      version: z.string(),
      client: z.string().max(MAX_CLIENT_NAME).optional(),
      /**
       * What the session may do to the pod's files (since 1.3): `write` lets it create, write and
       * remove them; `read`, and a hello without it, only read them.
       */
      fs: fsRights.optional(),
      /**
       * The operator's ticket for this session (since 1.4; protocol/ticket.ts). A sidecar that
       * runs `auth: required` refuses a hello without a valid one (EAUTH); others ignore it.
       */
      ticket: z
        .string()
        .min(1)
        .max(16 * 1024)
        .optional(),
    }),
    result: z.object({
      sessionId: z.string(),
      protocolVersion: z.string(),
      sidecarVersion: z.string(),
      pod: z.object({ name: z.string(), namespace: z.string(), ip: z.string() }),
      appRoot: z.string(),
      mounts: z.array(z.string()),
      /** The pod's host name (its UTS namespace, shared by its containers); since 1.2. */
      hostname: z.string().optional(),
      /**
       * The path rules the session's ticket holds its file requests to (since 1.5; fs-paths.ts):
       * the client keeps `local` paths on its own machine rather than be refused them.
       */
      fsPaths: ticketFsPaths.optional(),
    }),
  },
  subscribe: {
    params: z.object({ port, mode: z.enum(['steal', 'mirror']), filter: httpFilter.optional() }),
    result: z.object({ port }),
  },
  unsubscribe: {
    params: z.object({ port }),
    result: z.object({}),
  },
  connect: {
    params: z.object({ stream: streamId, protocol: z.enum(['tcp', 'udp']), host: z.string().min(1), port }),
    result: z.object({ local: address, remote: address }),
  },
  resolve: {
    params: z.object({ host: z.string().min(1).max(253), family: z.union([z.literal(0), z.literal(4), z.literal(6)]) }),
    result: z.object({ addresses: z.array(z.object({ address: z.string(), family: z.union([z.literal(4), z.literal(6)]) })) }),
  },
  env: {
    params: z.object({}),
    result: z.object({ env: z.record(z.string(), z.string()) }),
  },
  sessions: {
    params: z.object({}),
    result: z.object({
      sessions: z.array(
        z.object({
          id: z.string(),
          client: z.string(),
          /** Who attached it, as the operator's ticket says (sidecars that require tickets). */
          user: z.string().optional(),
          /** The session id its ticket names: the operator follows a queue split's sessions by it. */
          ticket: z.string().optional(),
          since: z.string(),
          subscriptions: z.array(z.object({ port, mode: z.enum(['steal', 'mirror']), filter: httpFilter.optional() })),
        }),
      ),
    }),
  },
  /**
   * Ends another session on this sidecar (`mirrord sessions kill`). Where tickets are required,
   * only a session of the same user, unless the ticket allows ending anyone's.
   */
  'sessions.kill': {
    params: z.object({ id: z.string().min(1) }),
    result: z.object({}),
  },
  'fs.open': {
    params: z.object({ path: z.string().min(1), flags: z.number().int(), mode: z.number().int().optional() }),
    /** `now`: the pod's clock (ms since the epoch) when it opened the file; since 1.1. */
    result: z.object({ fd, stat, now: z.number().optional() }),
  },
  'fs.read': {
    /** The bytes come back as the reply's attachment. */
    params: z.object({ fd, length: z.number().int().min(0).max(FILE_CHUNK), position: z.number().int().min(0).optional() }),
    result: z.object({ bytesRead: z.number().int() }),
  },
  'fs.write': {
    /** The bytes travel as the request's attachment. */
    params: z.object({ fd, position: z.number().int().min(0).optional() }),
    result: z.object({ bytesWritten: z.number().int() }),
  },
  'fs.seek': {
    params: z.object({ fd, offset: z.number().int(), whence: z.enum(['set', 'cur', 'end']) }),
    result: z.object({ position: z.number().int() }),
  },
  'fs.stat': {
    params: z.object({ path: z.string().min(1), follow: z.boolean() }),
    result: z.object({ stat }),
  },
  'fs.fstat': {
    params: z.object({ fd }),
    result: z.object({ stat }),
  },
  'fs.readdir': {
    // A listing comes in pages: `cursor` (from the previous page's result) asks for the next one.
    params: z.object({ path: z.string().min(1), cursor: z.number().int().min(1).optional() }),
    result: z.object({
      entries: z.array(z.object({ name: z.string(), type: z.enum(['file', 'dir', 'link', 'other']) })),
      /** More entries follow: ask again with this cursor. */
      cursor: z.number().int().min(1).optional(),
    }),
  },
  'fs.readlink': {
    params: z.object({ path: z.string().min(1) }),
    result: z.object({ target: z.string() }),
  },
  'fs.access': {
    params: z.object({ path: z.string().min(1), mode: z.number().int().min(0).max(7) }),
    result: z.object({}),
  },
  'fs.close': {
    params: z.object({ fd }),
    result: z.object({}),
  },
  // Changes by path (since 1.2): each as its system call, beneath the app root.
  'fs.mkdir': {
    params: z.object({ path: z.string().min(1), mode: z.number().int().min(0).max(0o7777) }),
    result: z.object({}),
  },
  'fs.rmdir': {
    params: z.object({ path: z.string().min(1) }),
    result: z.object({}),
  },
  'fs.unlink': {
    params: z.object({ path: z.string().min(1) }),
    result: z.object({}),
  },
  'fs.rename': {
    /** `flags`: renameat2(2)'s RENAME_NOREPLACE (1) and RENAME_EXCHANGE (2). */
    params: z.object({ from: z.string().min(1), to: z.string().min(1), flags: z.number().int().min(0).max(3).optional() }),
    result: z.object({}),
  },
  'fs.truncate': {
    params: z.object({ path: z.string().min(1), length: z.number().int().min(0) }),
    result: z.object({}),
  },
  'fs.chmod': {
    params: z.object({ path: z.string().min(1), mode: z.number().int().min(0).max(0o7777) }),
    result: z.object({}),
  },
  'fs.utimes': {
    /** Each time in ms since the epoch, `now` (the pod's clock) or `omit` (left as it is), as utimensat(2). */
    params: z.object({ path: z.string().min(1), atime: fileTime, mtime: fileTime }),
    result: z.object({}),
  },
  'fs.statfs': {
    params: z.object({ path: z.string().min(1) }),
    result: z.object({ statfs }),
  },
} as const;

export type RequestType = keyof typeof requests;
export type Params<T extends RequestType> = z.infer<(typeof requests)[T]['params']>;
export type Result<T extends RequestType> = z.infer<(typeof requests)[T]['result']>;
/** A port a session subscribes, how, and (for steals) which HTTP requests. */
export type Subscription = Params<'subscribe'>;
/** How a subscribed port's traffic reaches the session. */
export type Mode = Subscription['mode'];
export type Stat = z.infer<typeof stat>;
export type Statfs = z.infer<typeof statfs>;
export type FileTime = z.infer<typeof fileTime>;
export type FsRights = z.infer<typeof fsRights>;
export type Address = z.infer<typeof address>;

/** Events the sidecar sends unasked. */
export const events = {
  /** A connection (or, for filtered steals, one HTTP request) arrives on `stream`. */
  incoming: z.object({
    stream: streamId,
    port,
    mode: z.enum(['steal', 'mirror']),
    kind: z.enum(['connection', 'request']),
    remote: address,
    local: address,
    request: z.object({ method: z.string(), path: z.string() }).optional(),
  }),
  /** Something the user should know that isn't an answer to a request. */
  notice: z.object({ level: z.enum(['info', 'warn', 'error']), message: z.string() }),
} as const;

export type EventType = keyof typeof events;
export type Event<T extends EventType> = z.infer<(typeof events)[T]>;

/** The envelope every control message shares. */
export const envelope = z.discriminatedUnion('type', [
  z.object({ type: z.literal('request'), id: z.number().int().min(1), method: z.string(), params: z.unknown() }),
  z.object({ type: z.literal('reply'), id: z.number().int().min(1), result: z.unknown() }),
  z.object({ type: z.literal('error'), id: z.number().int().min(1).optional(), code: z.string(), message: z.string() }),
  z.object({ type: z.literal('event'), event: z.string(), data: z.unknown() }),
]);

export type Envelope = z.infer<typeof envelope>;

export function isRequestType(method: string): method is RequestType {
  return Object.prototype.hasOwnProperty.call(requests, method);
}

export function isEventType(name: string): name is EventType {
  return Object.prototype.hasOwnProperty.call(events, name);
}

/** One line naming what is wrong, for error replies and logs. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message)).join('; ');
}
