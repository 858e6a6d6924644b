/**
 * `--profile NAME` (or the config's `profile`): the `MirrordProfile` of the target's namespace
 * by that name, else the `MirrordClusterProfile`; its `feature` section applies over the config.
 */
import { CustomObjectsApi } from '../../common/kube-client';
import type { Profile } from '../config/resolve';
import { CliError } from '../errors';
import { apiErrorMessage } from '../../common/kube-status';
import { statusOf, type Kube } from './cluster';

type ProfileObject = { spec?: { feature?: unknown } };

const GROUP = 'mirrord.dev';
const VERSION = 'v1';

/** The object, undefined when there is none, or `forbidden` when the user may not read that kind (there, or cluster-wide). */
async function orNothing<T>(read: Promise<T>): Promise<T | undefined | 'forbidden'> {
  try {
    return await read;
  } catch (error) {
    // 404: no such profile, or (the resources not installed) no such kind.
    if (statusOf(error) === 404) return undefined;
    if (statusOf(error) === 403) return 'forbidden';
    throw new CliError(`could not read the profile: ${apiErrorMessage(error)}`, 'mirrord doctor checks the connection to the cluster');
  }
}

export async function fetchProfile(kube: Kube, name: string): Promise<Profile> {
  const api = kube.config.makeApiClient(CustomObjectsApi);
  const namespaced = (await orNothing(
    api.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: kube.namespace, plural: 'mirrordprofiles', name }),
  )) as ProfileObject | undefined | 'forbidden';
  if (namespaced && namespaced !== 'forbidden') return { name: `MirrordProfile ${kube.namespace}/${name}`, feature: namespaced.spec?.feature ?? {} };
  const cluster = (await orNothing(api.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'mirrordclusterprofiles', name }))) as
    ProfileObject | undefined | 'forbidden';
  if (cluster && cluster !== 'forbidden') return { name: `MirrordClusterProfile ${name}`, feature: cluster.spec?.feature ?? {} };
  const unreadable = [
    namespaced === 'forbidden' && `MirrordProfiles in namespace ${kube.namespace}`,
    cluster === 'forbidden' && 'MirrordClusterProfiles',
  ].filter(Boolean);
  throw new CliError(
    `no profile "${name}": neither a MirrordProfile in namespace ${kube.namespace} nor a MirrordClusterProfile${unreadable.length ? ` (you may not read ${unreadable.join(' or ')})` : ''}`,
    `kubectl get mprof -n ${kube.namespace}; kubectl get mcprof`,
  );
}
