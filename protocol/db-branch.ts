/**
 * Database branches: the part of a ticket request that asks for them (`feature.db_branches`, as
 * the CLI sends it), and the labels and annotations the operator puts on a branch's objects, which
 * `mirrord db-branches` reads. A branch is a Pod running a database server, a Service in front of
 * it and a Secret with the source's credentials, all named `mirrord-db-ID` in the target's
 * namespace and labelled with the branch's id.
 */
import { z } from './zod';

export const DB_BRANCH_TYPES = ['pg', 'mysql'] as const;
export type DbBranchType = (typeof DB_BRANCH_TYPES)[number];
export const DB_COPY_MODES = ['empty', 'schema', 'all'] as const;

/** A branch id names its objects (`mirrord-db-ID`), so it is a DNS label's tail. */
export const DB_BRANCH_ID = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;
export const DB_BRANCH_DEFAULT_TTL_S = 300;
export const DB_BRANCH_MAX_TTL_S = 900;
export const DB_BRANCH_DEFAULT_CREATION_TIMEOUT_S = 60;

/** A value the target's container has: one of its variables, or a Secret's key in its namespace. */
const fromVariable = z.object({ type: z.literal('env'), variable: z.string().min(1).max(253) }).strict();
const fromSecret = z.object({ type: z.literal('secret'), name: z.string().min(1).max(253), key: z.string().min(1).max(253) }).strict();
const valueSource = z.union([fromVariable, fromSecret]);
export type DbValueSource = z.infer<typeof valueSource>;

export const dbBranchRequest = z
  .object({
    id: z.string().regex(DB_BRANCH_ID, 'lowercase letters, digits and dashes, at most 40'),
    /** Whether the user named the id (and may share the branch), or the CLI made it for this attach. */
    shared: z.boolean(),
    type: z.enum(DB_BRANCH_TYPES),
    /** The engine version the user expects (`15`, `10.11`): the source's must have the same major. */
    version: z.string().min(1).max(16).optional(),
    /** The database to branch, when the connection doesn't name it. */
    name: z.string().min(1).max(64).optional(),
    connection: z.union([
      z.object({ url: fromVariable }).strict(),
      z
        .object({
          params: z
            .object({
              // The host is what the branch replaces in the local process's variables.
              host: fromVariable,
              port: valueSource.optional(),
              user: valueSource,
              password: valueSource,
              database: valueSource.optional(),
            })
            .strict(),
        })
        .strict(),
    ]),
    copy: z
      .object({
        mode: z.enum(DB_COPY_MODES),
        tables: z
          .record(
            // Never read as a dump tool's option.
            z.string().min(1).max(128).regex(/^[^-]/, 'a table name does not start with "-"'),
            z.object({ filter: z.string().max(4096).optional() }).strict(),
          )
          .refine((tables) => Object.keys(tables).length <= 64, 'at most 64 tables')
          .optional(),
      })
      .strict(),
    ttlSecs: z.number().int().min(1).max(DB_BRANCH_MAX_TTL_S).optional(),
    creationTimeoutSecs: z.number().int().min(1).max(3600).optional(),
  })
  .strict();

export type DbBranchRequest = z.infer<typeof dbBranchRequest>;

/**
 * The reason of a 409 the operator answers while a branch is being made (its server starting,
 * the source being copied): the CLI asks again.
 */
export const DB_BRANCH_PENDING_REASON = 'DatabaseBranchPending';

/** The labels every object of a branch carries. */
export const DB_BRANCH_LABEL = {
  /** The branch id. */
  id: 'mirrord.dev/db-branch',
  type: 'mirrord.dev/db-branch-type',
  /** The user who made it, as a label value can hold it (the annotation has it whole). */
  owner: 'mirrord.dev/db-branch-owner',
} as const;

export const DB_BRANCH_ANNOTATION = {
  owner: 'mirrord.dev/db-branch-owner',
  /** What the branch copies: `user@host:port/database` (never a password). */
  source: 'mirrord.dev/db-branch-source',
  target: 'mirrord.dev/db-branch-target',
  copyMode: 'mirrord.dev/db-branch-copy',
  ttl: 'mirrord.dev/db-branch-ttl-secs',
  /** The creation timeout its maker asked for: sessions that join while it is made wait as long. */
  creationTimeout: 'mirrord.dev/db-branch-creation-timeout-secs',
  shared: 'mirrord.dev/db-branch-shared',
  /** JSON: the ticket session ids that have used it, newest last. */
  sessions: 'mirrord.dev/db-branch-sessions',
  /** When a session last joined it (RFC 3339). */
  joinedAt: 'mirrord.dev/db-branch-joined-at',
  /** Since when no session of it has been listed on any sidecar (RFC 3339); absent while one is. */
  idleSince: 'mirrord.dev/db-branch-idle-since',
} as const;

/** The objects' name: the pod's, the Service's (what the local process connects to) and the Secret's. */
export function dbBranchObjectName(id: string): string {
  return `mirrord-db-${id}`;
}

/** The branch's Service as the local process reaches it, from the target's pod. */
export function dbBranchHost(id: string, namespace: string): string {
  return `${dbBranchObjectName(id)}.${namespace}.svc`;
}

/** A label value standing for a user name (`system:serviceaccount:ns:sa` → `system.serviceaccount.ns.sa`). */
export function ownerLabelValue(user: string): string {
  const value = user
    .replace(/[^A-Za-z0-9._-]/g, '.')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return value || 'unknown';
}
