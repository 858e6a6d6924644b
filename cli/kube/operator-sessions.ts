/**
 * The cluster's sessions through the operator (`GET …/mirrordsessions`): one call for a namespace
 * or all of them, however many pods. Undefined where there is no operator.
 */
import { CustomObjectsApi } from '../../common/kube-client';
import { apiErrorMessage, groupNotServed, statusOf } from '../../common/kube-status';
import { mirrordSessionList, OPERATOR_GROUP, OPERATOR_VERSION, SESSIONS_RESOURCE, type MirrordSessionList } from '../../protocol/operator-api';
import { CliError } from '../errors';
import type { Kube } from './cluster';

export async function listThroughOperator(kube: Kube, namespace: string | undefined): Promise<MirrordSessionList | undefined> {
  const api = kube.config.makeApiClient(CustomObjectsApi);
  const where = { group: OPERATOR_GROUP, version: OPERATOR_VERSION, plural: SESSIONS_RESOURCE };
  let answer: unknown;
  try {
    answer = namespace ? await api.listNamespacedCustomObject({ ...where, namespace }) : await api.listClusterCustomObject(where);
  } catch (error) {
    if (groupNotServed(error)) return undefined;
    if (statusOf(error) === 403) {
      throw new CliError(
        `not allowed to list sessions: ${apiErrorMessage(error)}`,
        `ask for the mirrord-user ClusterRole${namespace ? ` in namespace ${namespace}` : ' cluster-wide'}`,
      );
    }
    throw new CliError(`the mirrord operator could not list the sessions: ${apiErrorMessage(error)}`, 'mirrord doctor checks the operator');
  }
  const parsed = mirrordSessionList.safeParse(answer);
  if (!parsed.success)
    throw new CliError(
      'the mirrord operator answered with something other than a session list',
      'the operator and this CLI may be different versions: mirrord install updates the operator',
    );
  return parsed.data;
}
