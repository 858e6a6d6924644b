/**
 * Asking the operator for a session's ticket, through the API server (which authenticates the
 * user from the kubeconfig and checks RBAC before the operator sees the request). A cluster
 * without the operator answers that the group doesn't exist: the session then goes without a
 * ticket, as sidecars there don't require one.
 */
import { CustomObjectsApi } from '../../common/kube-client';
import {
  OPERATOR_GROUP,
  OPERATOR_VERSION,
  SPLIT_PENDING_REASON,
  TICKETS_RESOURCE,
  ticketObject,
  ticketRequest,
  type TicketSpec,
  type TicketStatus,
} from '../../protocol/operator-api';
import { DB_BRANCH_PENDING_REASON } from '../../protocol/db-branch';
import { CliError } from '../errors';
import { groupNotServed, statusMessage, statusOf, statusReason } from '../../common/kube-status';
import type { Kube } from './cluster';

/**
 * Not yet: the workload is moving onto (or off) its split queues (ask again, for a pod of the new
 * rollout), or a database branch is being made.
 */
export class TicketPending extends Error {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

const PENDING_REASONS = [SPLIT_PENDING_REASON, DB_BRANCH_PENDING_REASON];

/** The ticket, or undefined when the cluster has no operator. */
export async function requestTicket(kube: Kube, spec: TicketSpec): Promise<TicketStatus | undefined> {
  const api = kube.config.makeApiClient(CustomObjectsApi);
  let answer: unknown;
  try {
    answer = await api.createNamespacedCustomObject({
      group: OPERATOR_GROUP,
      version: OPERATOR_VERSION,
      namespace: kube.namespace,
      plural: TICKETS_RESOURCE,
      body: ticketRequest(kube.namespace, spec),
    });
  } catch (error) {
    const code = statusOf(error);
    const message = statusMessage(error);
    if (groupNotServed(error)) return undefined;
    const reason = statusReason(error);
    if (code === 409 && reason && PENDING_REASONS.includes(reason)) throw new TicketPending(message ?? 'not ready yet', reason);
    if (code === 403 && message?.includes('cannot create resource "tickets"')) {
      throw new CliError(
        `the API server refused the ticket request: ${message}`,
        `ask an administrator to bind you the mirrord-user ClusterRole in namespace ${kube.namespace}`,
      );
    }
    if (code === 403)
      throw new CliError(
        `the mirrord operator refused this session: ${message ?? 'forbidden'}`,
        'mirrord.json or the flags can ask for what the policy allows',
      );
    if (code === 503 || code === 502 || code === undefined) {
      throw new CliError(
        `the mirrord operator is installed but not answering (${message ?? (error as Error).message}): running sessions go on, new ones can't start`,
        'kubectl -n mirrord-system get pods -l app.kubernetes.io/name=mirrord-operator; kubectl get apiservice v1.operator.mirrord.dev',
      );
    }
    throw new CliError(
      `the mirrord operator refused the ticket request (${code}): ${message ?? (error as Error).message}`,
      'mirrord doctor TARGET checks the setup',
    );
  }
  const parsed = ticketObject.safeParse(answer);
  if (!parsed.success || !parsed.data.status)
    throw new CliError(
      'the mirrord operator answered without a ticket',
      'the operator and this CLI may be different versions: mirrord install updates the operator',
    );
  return parsed.data.status;
}
