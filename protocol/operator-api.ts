/**
 * The operator's API: the contract between the CLI and the operator, served as a Kubernetes
 * aggregated API (group `operator.mirrord.dev`, version `v1`) through the API server, which
 * authenticates the user and authorizes the call with RBAC before the operator sees it.
 *
 * `tickets` (namespaced, create only, like `tokenreviews`): the CLI posts a `Ticket` with what
 * the session will do; the operator applies the policies and answers with the same object, its
 * `status` holding the signed ticket the CLI presents in `hello` (see ticket.ts). A refusal is a
 * Kubernetes `Status` of code 403 whose message names the policy.
 */
import { z } from './zod';
import { dbBranchRequest } from './db-branch';
import { describeIssues, httpFilter } from './messages';
import { ticketAllow } from './ticket';

export const OPERATOR_GROUP = 'operator.mirrord.dev';
export const OPERATOR_VERSION = 'v1';
export const OPERATOR_API_VERSION = `${OPERATOR_GROUP}/${OPERATOR_VERSION}`;
/** The APIService that routes the group to the operator; its presence means "the operator is installed". */
export const OPERATOR_API_SERVICE = `${OPERATOR_VERSION}.${OPERATOR_GROUP}`;
export const TICKETS_RESOURCE = 'tickets';
/** The sessions on the sidecars; RBAC `delete` on it lets a user end other users' sessions. */
export const SESSIONS_RESOURCE = 'mirrordsessions';

/** The path of a namespaced collection of the operator's API, below the API server's root. */
export function operatorPath(namespace: string, resource: string): string {
  return `/apis/${OPERATOR_API_VERSION}/namespaces/${encodeURIComponent(namespace)}/${resource}`;
}

/** 0: every port the program will listen on, when the session's config names none. */
const port = z.number().int().min(0).max(65535);

export const ticketSpec = z
  .object({
    /** The target as the user named it: `deploy/checkout`, `pod/web-0`. */
    target: z.string().min(1).max(512),
    /** The container the session targets, when the user chose one (policies may be written for it). */
    container: z.string().min(1).max(63).optional(),
    /** The pod the CLI chose among the target's; the operator checks it belongs to the target. */
    pod: z.string().min(1).max(253),
    ports: z.array(z.object({ port, mode: z.enum(['steal', 'mirror']), filter: httpFilter.optional() })).max(64),
    /** The pod's files the session will use: `local` uses none. */
    fs: z.enum(['read', 'write', 'local']),
    /** The profile the session's config was built with (`--profile` or the config's `profile`). */
    profile: z.string().min(1).max(253).optional(),
    /** The CLI's name for itself, shown in session listings. */
    client: z.string().max(256).optional(),
    /**
     * `session` (default): a session that attaches a program, shaped by the policies. `admin`: a
     * session that only lists and ends sessions (`mirrord sessions`): it may do nothing to the
     * pod, so no policy applies, and it may end others' sessions only with RBAC `delete` on
     * `mirrordsessions` in the namespace.
     */
    purpose: z.enum(['session', 'admin']).optional(),
    /**
     * Queue splitting (`feature.split_queues`): which of the workload's registered queues this
     * session takes messages from, and which messages. `member` names the attach (a random id the
     * CLI makes once): the tickets of its replicas and reconnections share one member, so its
     * queues outlive any one session.
     */
    splitQueues: z
      .object({
        member: z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a lowercase UUID'),
        queues: z
          .record(
            z.string().min(1).max(253),
            z.object({ queueType: z.enum(['RabbitMQ', 'Kafka', 'SQS']), messageFilter: z.record(z.string().min(1).max(256), z.string().max(1024)) }).strict(),
          )
          .refine((queues) => Object.keys(queues).length > 0 && Object.keys(queues).length <= 16, 'between 1 and 16 queues'),
      })
      .strict()
      .optional(),
    /**
     * Database branches (`feature.db_branches`): each a private copy of a database the target's
     * container connects to, made (or, for a shared id, reused) before the ticket is issued.
     */
    dbBranches: z.array(dbBranchRequest).min(1).max(8).optional(),
  })
  .strict();

/**
 * The reason of a 409 the operator answers while the workload moves onto (or off) its split
 * queues: nothing is wrong, the CLI asks again for a pod of the new rollout.
 */
export const SPLIT_PENDING_REASON = 'QueueSplitPending';

export const ticketStatus = z.object({
  /** The compact JWS to present in `hello.ticket`, good for one session. */
  ticket: z.string().min(1),
  session: z.string().min(1),
  pod: z.object({ name: z.string(), uid: z.string() }),
  /** When the ticket stops being accepted by a hello (RFC 3339); the session it starts may run on. */
  expiresAt: z.string(),
  allow: ticketAllow,
  policies: z.array(z.string()),
  /** Queue splitting: the variables that point the local process at its own queues. */
  splitQueues: z.object({ env: z.record(z.string(), z.string()) }).optional(),
  /** Database branches: the variables that point the local process at them, and the branches' names. */
  dbBranches: z.object({ env: z.record(z.string(), z.string()), branches: z.array(z.object({ id: z.string(), name: z.string() })) }).optional(),
});

export const ticketObject = z.object({
  apiVersion: z.literal(OPERATOR_API_VERSION),
  kind: z.literal('Ticket'),
  metadata: z.object({ namespace: z.string().optional(), name: z.string().optional() }).passthrough().optional(),
  spec: ticketSpec,
  status: ticketStatus.optional(),
});

export type TicketSpec = z.infer<typeof ticketSpec>;
export type TicketStatus = z.infer<typeof ticketStatus>;
export type TicketObject = z.infer<typeof ticketObject>;

/** The request body the CLI posts. */
export function ticketRequest(namespace: string, spec: TicketSpec): TicketObject {
  return { apiVersion: OPERATOR_API_VERSION, kind: 'Ticket', metadata: { namespace }, spec };
}

/** A parsed body, or an Error naming what is wrong (the operator answers 400 with it; the CLI reports it). */
export function parseTicketObject(body: unknown): TicketObject {
  const parsed = ticketObject.safeParse(body);
  if (!parsed.success) throw new Error(`not a ${OPERATOR_API_VERSION} Ticket: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** A session on a sidecar, as `kubectl get mirrordsessions` and `mirrord sessions` show it. */
export const mirrordSession = z.object({
  apiVersion: z.literal(OPERATOR_API_VERSION),
  kind: z.literal('MirrordSession'),
  metadata: z.object({ name: z.string(), namespace: z.string(), creationTimestamp: z.string() }).passthrough(),
  spec: z.object({
    pod: z.string(),
    user: z.string().optional(),
    /** The session id of the ticket it started with (a queue split's members are followed by it). */
    ticket: z.string().optional(),
    client: z.string(),
    ports: z.array(z.object({ port: z.number(), mode: z.enum(['steal', 'mirror']), filter: httpFilter.optional() })),
  }),
});

export type MirrordSession = z.infer<typeof mirrordSession>;

export const mirrordSessionList = z.object({
  apiVersion: z.literal(OPERATOR_API_VERSION),
  kind: z.literal('MirrordSessionList'),
  metadata: z.object({}).passthrough(),
  items: z.array(mirrordSession),
  /** Pods whose sidecar could not be asked, with why: the list is then partial. */
  unreachable: z.array(z.object({ namespace: z.string(), pod: z.string(), reason: z.string() })).optional(),
});

export type MirrordSessionList = z.infer<typeof mirrordSessionList>;
