/**
 * `mirrord sessions [TARGET]`: the sessions on the sidecars of one target's pods, or of every
 * injected pod in the namespace. `mirrord sessions kill ID [TARGET]` ends one of them.
 */
import type { V1Pod } from '../../common/kube-client';
import type { AdminArgs } from '../admin-args';
import { injectedPods } from '../admin/cluster-admin';
import { operatorName, withPodClient } from '../admin/pod-client';
import { explainUnreachable } from '../admin/reach';
import { sidecarReady } from '../kube/pod-choice';
import { formatSessions, fromSessionList, sessionsJson, type PodSessions } from '../admin/sessions-view';
import { listThroughOperator } from '../kube/operator-sessions';
import { CliError } from '../errors';
import { loadKube, podsOfTarget, type Kube } from '../kube/cluster';
import { parseTarget } from '../kube/target';

async function sidecarPods(kube: Kube, target: string | undefined, namespace: string | undefined = kube.namespace): Promise<V1Pod[]> {
  const pods = target ? await podsOfTarget(kube, parseTarget(target)) : await explainUnreachable(kube, () => injectedPods(kube, namespace));
  // A pod whose sidecar isn't ready can't hold a session: there is nothing to ask.
  return pods.filter((p) => sidecarReady(p) && !p.metadata?.deletionTimestamp);
}

/** Every pod's listing; a pod that can't be asked is reported, not fatal, so the others still show. */
async function collect(kube: Kube, pods: V1Pod[], self?: Set<string>): Promise<PodSessions[]> {
  const name = `mirrord sessions, ${operatorName()}`;
  return Promise.all(
    pods.map(async (pod): Promise<PodSessions> => {
      const where = { namespace: pod.metadata?.namespace ?? kube.namespace, pod: pod.metadata?.name ?? '' };
      try {
        const sessions = await withPodClient(kube, pod, name, async (client) => {
          self?.add(client.info.sessionId);
          return (await client.call('sessions', {})).result.sessions;
        });
        return { ...where, sessions };
      } catch (error) {
        return { ...where, error: (error as Error).message };
      }
    }),
  );
}

export async function sessions(args: Extract<AdminArgs, { kind: 'sessions' }>): Promise<number> {
  const kube = loadKube(args.kube);
  const namespace = args.allNamespaces ? undefined : kube.namespace;
  // With the operator, one call lists them (a TARGET narrows the listing to its pods: asked directly).
  const fromOperator = args.target === undefined ? await explainUnreachable(kube, () => listThroughOperator(kube, namespace)) : undefined;
  const pods = fromOperator ? [] : await sidecarPods(kube, args.target, namespace);
  const self = new Set<string>();
  const listed = fromOperator ? fromSessionList(fromOperator) : await collect(kube, pods, self);
  if (!args.json && !fromOperator && !pods.length) {
    const where = namespace ? ` in namespace ${namespace}` : ' in any namespace';
    process.stdout.write(`no pod with a ready sidecar${args.target ? ` for ${args.target}` : ''}${where}\n`);
    return 0;
  }
  if (args.json) process.stdout.write(sessionsJson(listed, self));
  else process.stdout.write(formatSessions(listed, new Date(), self));
  return listed.some((p) => p.error) ? 1 : 0;
}

export async function killSession(args: Extract<AdminArgs, { kind: 'sessions-kill' }>): Promise<number> {
  const kube = loadKube(args.kube);
  const pods = await sidecarPods(kube, args.target);
  const listed = await collect(kube, pods);
  const holder = listed.find((p) => p.sessions?.some((s) => s.id === args.id));
  if (!holder) {
    const unasked = listed.filter((p) => p.error).map((p) => `${p.pod} (${p.error})`);
    throw new CliError(
      `no session ${args.id} on the sidecars of ${args.target ?? `namespace ${kube.namespace}`}${unasked.length ? `; could not ask ${unasked.join(', ')}` : ''}`,
      `mirrord sessions${args.target ? ` ${args.target}` : ''} -n ${kube.namespace} lists them`,
    );
  }
  const pod = pods.find((p) => p.metadata?.name === holder.pod)!;
  await withPodClient(kube, pod, operatorName(), (client) =>
    client.call('sessions.kill', { id: args.id }).catch((error: unknown) => {
      // A sidecar injected before this request existed: it lists sessions but can't end them.
      if (/unknown request/.test((error as Error).message)) {
        throw new CliError(
          `the sidecar of pod ${holder.namespace}/${holder.pod} is older than this mirrord and cannot end sessions`,
          `update the webhook (mirrord install --wait), then recreate the pod: kubectl delete pod ${holder.pod} -n ${holder.namespace}`,
        );
      }
      throw error;
    }),
  );
  process.stdout.write(`ended session ${args.id} on pod ${holder.namespace}/${holder.pod}; its rules are removed\n`);
  return 0;
}

/**
 * `mirrord sessions kill --all [TARGET]`: ends every session on the sidecars of TARGET's pods (or
 * the namespace's) that this user may end: all of them without the operator; with it, the user's
 * own, and others' with RBAC delete on mirrordsessions. What could not be ended is said, and the
 * exit code is then 1.
 */
export async function killAllSessions(args: Extract<AdminArgs, { kind: 'sessions-kill-all' }>): Promise<number> {
  const kube = loadKube(args.kube);
  const pods = await sidecarPods(kube, args.target);
  const lines = await Promise.all(
    pods.map(async (pod) => {
      const where = `pod ${pod.metadata?.namespace ?? kube.namespace}/${pod.metadata?.name ?? ''}`;
      try {
        return await withPodClient(kube, pod, `mirrord sessions kill --all, ${operatorName()}`, async (client) => {
          const others = (await client.call('sessions', {})).result.sessions.filter((session) => session.id !== client.info.sessionId);
          return Promise.all(
            others.map((session) =>
              client.call('sessions.kill', { id: session.id }).then(
                () => ({ ok: true, text: `ended session ${session.id} on ${where}` }),
                (error: Error) => ({ ok: false, text: `could not end session ${session.id} on ${where}: ${error.message}` }),
              ),
            ),
          );
        });
      } catch (error) {
        return [{ ok: false, text: `could not ask ${where}: ${(error as Error).message}` }];
      }
    }),
  );
  const results = lines.flat();
  for (const { text } of results) process.stdout.write(`${text}\n`);
  if (!results.length) process.stdout.write(`no active sessions on the sidecars of ${args.target ?? `namespace ${kube.namespace}`}\n`);
  return results.every(({ ok }) => ok) ? 0 : 1;
}
