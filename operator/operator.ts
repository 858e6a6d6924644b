/**
 * The operator's parts started in order and kept current: the request-header settings it trusts
 * callers by, its serving certificate (and the APIService's caBundle), the signing keys, the
 * leader that publishes and rotates them, and the API server.
 */
import { apiErrorMessage } from '../common/kube-status';
import type { Logger } from '../common/log';
import { OPERATOR_GROUP, SESSIONS_RESOURCE } from '../protocol/operator-api';
import { CertificateManager } from '../common/certs/manager';
import { serviceDnsNames, type ServingPair } from '../common/certs/tls-material';
import { parseRequestHeaderConfig, type RequestHeaderConfig } from './auth/request-header';
import { branchImageVersion, type OperatorConfig } from './config';
import { sweepBranches } from './db-branches/branch-janitor';
import { KeyService } from './keys/key-service';
import { publishKeySet } from './keys/publish';
import { publicKeySet } from './keys/signing-keys';
import type { OperatorCluster } from './kube/cluster';
import { LeaderElector } from './lease/elector';
import { restoreOrphanedScales } from './copies/restore-scale';
import { startOperatorServer, type OperatorServer } from './api/server';
import { operatorAdminTicket } from './tickets/issue';
import { SplitRunner } from './queues/split-runner';
import { listSessions } from './sessions/sessions';

/** How often the request-header settings, the keys and their publication are looked at again. */
const REFRESH_MS = 30_000;

/** How often the leader looks for workloads scaled down for a copy that is over. */
const RESTORE_SCALE_MS = 5_000;

/** How often the leader brings queue splits up to date: a ticket waits for it to join its session. */
const SPLITS_MS = 500;

/** How often the leader looks for database branches whose sessions are over. */
const DB_BRANCHES_MS = 3_000;

/** How the operator names itself in its own tickets: its service account, as the API server would. */
const operatorUser = (config: OperatorConfig) => `system:serviceaccount:${config.namespace}:${config.service}`;

export interface Operator {
  stop(graceMs: number): Promise<void>;
}

async function loadRequestHeader(cluster: OperatorCluster): Promise<RequestHeaderConfig> {
  try {
    return parseRequestHeaderConfig(await cluster.requestHeaderData());
  } catch (error) {
    throw new Error(
      `kube-system/extension-apiserver-authentication: ${apiErrorMessage(error)} (the API server must run with --requestheader-client-ca-file for aggregated APIs)`,
    );
  }
}

export async function startOperator(config: OperatorConfig, cluster: OperatorCluster, log: Logger): Promise<Operator> {
  let stopping = false;
  let server: OperatorServer | undefined;
  let serving: ServingPair | undefined;
  const certificates = new CertificateManager({
    store: cluster.certificateStore(config.namespace, config.tlsSecret),
    dnsNames: serviceDnsNames(config.service, config.namespace),
    serve: (material) => {
      serving = material;
      server?.trust.updateServing(material);
    },
    publishCaBundle: (caBundlePem) => cluster.publishApiServiceCaBundle(config.apiService, caBundlePem),
    log: log.child({ part: 'certificates' }),
  });
  const elector = new LeaderElector({ store: cluster, namespace: config.namespace, name: config.lease, identity: config.identity, log });
  const keys = new KeyService(cluster, config.namespace, config.keysSecret, log.child({ part: 'keys' }));
  // Whoever finds no key makes the first; only the leader rotates.
  const syncKeys = () => keys.sync((current) => current.length === 0 || elector.isLeader);
  const publish = async () => {
    if (!elector.isLeader || !keys.all.length) return;
    await publishKeySet(cluster, publicKeySet(keys.all), config.namespace, log.child({ part: 'keys' }));
  };

  // The operator's own admin tickets: whoever calls has passed RBAC for get, list or delete.
  const sidecars = cluster.sidecars((pod) => operatorAdminTicket({ signer: () => keys.signer() }, { user: operatorUser(config), groups: [] }, pod));
  // The ticket session ids on the namespace's sidecars: queue split members and database branches live while theirs do.
  const liveSessions = async (namespace: string) => {
    const listed = await listSessions(sidecars, namespace);
    return listed.unreachable ? undefined : new Set(listed.items.flatMap((session) => (session.spec.ticket ? [session.spec.ticket] : [])));
  };
  const splits = new SplitRunner({ ...cluster.splits, liveSessions }, log.child({ part: 'queues' }));

  const requestHeader = await loadRequestHeader(cluster);
  await syncKeys();
  await certificates.sync();
  server = await startOperatorServer({
    host: config.host,
    port: config.port,
    serving: serving!,
    requestHeader,
    log,
    isReady: () => !stopping && certificates.ready && keys.all.length > 0,
    sessions: sidecars,
    issue: {
      readPod: cluster.readPod,
      mayDeleteSessions: ({ user, groups }, namespace) => cluster.mayDo(user, groups, 'delete', OPERATOR_GROUP, SESSIONS_RESOURCE, namespace),
      replicaSetOwners: cluster.replicaSetOwners,
      jobOwners: cluster.jobOwners,
      policies: cluster.policies,
      profileExists: cluster.profileExists,
      signer: () => keys.signer(),
      dbBranches: {
        cluster: cluster.dbBranches,
        engines: {
          pg: { image: config.dbBranchImages.pg, version: branchImageVersion(config.dbBranchImages.pg) },
          mysql: { image: config.dbBranchImages.mysql, version: branchImageVersion(config.dbBranchImages.mysql) },
        },
      },
      splits: {
        splits: cluster.splits.store,
        queueRegistries: cluster.splits.queueRegistries,
        workloadTemplate: cluster.splits.workloadTemplate,
        configMapKeys: cluster.splits.configMapKeys,
        podsOffSplit: cluster.splits.podsOffSplit,
      },
    },
  });
  certificates.startPeriodic();
  // A new leader reads the keys first: another replica may have written some since its last read.
  elector.onChange((leading) => {
    if (!leading) return void splits.stopAll();
    syncKeys()
      .then(publish)
      .catch((error: unknown) => log.warn('publishing the key set failed', { error: apiErrorMessage(error) }));
  });
  elector.start();
  log.info('operator started', { port: server.port, identity: config.identity });

  const refresh = setInterval(() => {
    void (async () => {
      try {
        const next = await loadRequestHeader(cluster);
        if (JSON.stringify(next) !== JSON.stringify(server!.trust.config)) {
          server!.trust.update(next);
          log.info('request-header settings changed');
        }
        await syncKeys();
        await publish();
      } catch (error) {
        log.warn('refresh failed; the current settings and keys stay', { error: apiErrorMessage(error) });
      }
    })();
  }, REFRESH_MS);
  refresh.unref();
  // scale_down's safety net: only the leader scales workloads back up.
  let restoring = false;
  const restoreScales = setInterval(() => {
    if (!elector.isLeader || restoring) return;
    restoring = true;
    restoreOrphanedScales(cluster.scaleRestore, log.child({ part: 'scale-down' }))
      .catch((error: unknown) => log.warn('looking for scaled-down workloads failed', { error: apiErrorMessage(error) }))
      .finally(() => (restoring = false));
  }, RESTORE_SCALE_MS);
  restoreScales.unref();
  // Queue splits: only the leader moves messages.
  let splitting = false;
  const runSplits = setInterval(() => {
    if (!elector.isLeader || splitting) return;
    splitting = true;
    splits
      .tick()
      .catch((error: unknown) => log.warn('looking at the queue splits failed', { error: apiErrorMessage(error) }))
      .finally(() => (splitting = false));
  }, SPLITS_MS);
  runSplits.unref();
  // Database branches: only the leader deletes them.
  let sweeping = false;
  const sweepDbBranches = setInterval(() => {
    if (!elector.isLeader || sweeping) return;
    sweeping = true;
    sweepBranches({ ...cluster.dbBranches, liveSessions }, log.child({ part: 'db-branches' }))
      .catch((error: unknown) => log.warn('looking at the database branches failed', { error: apiErrorMessage(error) }))
      .finally(() => (sweeping = false));
  }, DB_BRANCHES_MS);
  sweepDbBranches.unref();

  return {
    stop: async (graceMs) => {
      stopping = true;
      clearInterval(refresh);
      clearInterval(restoreScales);
      clearInterval(runSplits);
      clearInterval(sweepDbBranches);
      await splits.stopAll();
      certificates.stop();
      elector.stop();
      await new Promise((resolve) => setTimeout(resolve, graceMs));
      await server!.close();
    },
  };
}
