/**
 * `mirrord attach`: a session to the sidecar of each Ready pod of the target for the lifetime of
 * the user's command, which runs with the chosen pod's environment and, through the layer, the
 * workload's traffic and the chosen pod's network and files. When the command ends the sessions
 * close, and with them the pods' rules for them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { podFsRights } from '../../intproxy/fs-policy';
import { startLayerProxy, type LayerOptions, type LayerProxy } from '../../intproxy/proxy';
import { SyscallSupervisor } from '../../intproxy/syscalls/supervisor';
import { syscallNative } from '../../layer/syscall/native';
import type { ClientApi } from '../../protocol/client';
import { describeFsPaths } from '../../protocol/fs-paths';
import type { Logger } from '../../common/log';
import { agentGiven } from '../agent-args';
import type { AttachArgs } from '../args';
import { loadSettings, type Settings } from '../config/resolve';
import { readEnvFile } from '../env-file';
import { filterEnv, unsetEnv } from '../env-filter';
import { CliError, USAGE_EXIT } from '../errors';
import { adviseProgram } from '../program-kinds';
import { createProgress, type Progress } from '../progress';
import { runCommand, type Launch } from '../run-command';
import { syscallLaunch, syscallModeProblem } from '../syscall-launch';
import { openSession, reconnectTimeoutMs } from '../open-session';
import type { SessionDescription } from '../transport';
import { ticketPorts } from '../kube/ticket-ports';
import { TARGETLESS } from '../kube/target';
import { userAtHost } from '../who';

const CLOSE_GRACE_MS = 2000;

export async function attach(args: AttachArgs): Promise<number> {
  const progress = createProgress(args.quiet);
  try {
    return await attachWith(args, progress);
  } catch (error) {
    progress.done(false); // the error's line must not share the spinner's
    throw error;
  }
}

async function attachWith(args: AttachArgs, progress: Progress): Promise<number> {
  const settings = targetlessAsked(await withProfile(loadSettings(args.configFile, args.overrides), args, progress), args, progress);
  for (const warning of settings.warnings) progress.warn(warning);
  const fromEnvFile = settings.env.file === undefined ? {} : readEnvFile(settings.env.file);

  const reconnectMs = reconnectTimeoutMs();
  const hello = { client: `mirrord attach (${userAtHost()}, pid ${process.pid})`, fs: podFsRights(settings.layer.fs) };
  const session: SessionDescription = {
    ports: ticketPorts(settings.layer.incoming),
    fs: settings.layer.fs.mode === 'local' ? 'local' : hello.fs,
    client: hello.client,
    ...(settings.profile !== undefined && { profile: settings.profile }),
    // One member for the whole attach: its replicas' and reconnections' tickets share its queues.
    ...(needsTarget(settings, args, progress, 'feature.split_queues') && { splitQueues: { member: randomUUID(), queues: settings.splitQueues! } }),
    // A branch without an id gets one for the whole attach: its replicas' and reconnections' tickets share it.
    ...(needsTarget(settings, args, progress, 'feature.db_branches') && {
      dbBranches: settings.dbBranches!.map((branch) => ({ ...branch, id: branch.id ?? `s${randomBytes(4).toString('hex')}`, shared: branch.id !== undefined })),
    }),
  };
  const { client, transport, first, podName } = await openSession({ agent: args.agent, settings, description: session, hello, progress, reconnectMs });
  const { pod } = first.info;
  let proxy: LayerProxy | undefined;
  let ending = false;
  try {
    const { sessionId } = first.info;
    if (first.info.fsPaths) progress.step(describeFsPaths(first.info.fsPaths));
    // Without its session the command would go on with no pod behind it (its listeners no
    // longer subscribed, its connections and files failing): end it and say why, rather than
    // let it look attached.
    const lost = new AbortController();
    let lostReason: string | undefined;
    // Named as the pod that served last: after the first pod went away, another one did.
    let lostWhere = `session ${sessionId} on pod ${podName}`;
    void client.closed().then((reason) => {
      if (ending) return;
      lostReason = reason || 'connection lost';
      lostWhere = lastServed(() => client.info, lostWhere);
      progress.warn(`${lostWhere} ended (${lostReason}); stopping the command`);
      lost.abort();
    });

    const fromPod = settings.env.enabled ? await client.env() : {};
    const remoteEnv = filterEnv(fromPod, settings.env, fromEnvFile);
    if (settings.env.enabled) progress.step(`${Object.keys(remoteEnv).length} environment variables from the pod`);
    // The split's and the branches' variables win over the pod's: there they name the deployed app's queues and databases.
    const ticketEnv = transport.ticketEnv?.env ?? {};
    for (const note of transport.ticketEnv?.notes ?? []) progress.step(note);
    proxy = await startProxy(client, settings.layer, progress.logger);
    progress.done();
    const env = unsetEnv({ ...process.env, ...remoteEnv, ...ticketEnv }, settings.env.unset ?? []);
    const syscallProblem = settings.interception === 'preload' ? undefined : syscallModeProblem();
    if (settings.interception === 'syscall' && syscallProblem)
      throw new CliError(syscallProblem, 'run it with --interception preload (the layer reaches programs that call libc)');
    // Looked at with the environment it will run with: the pod's PATH and GODEBUG count.
    const program = adviseProgram(args.command[0]!, { ...env, ...proxy.env }, settings.layer.dns, process.cwd(), settings.interception, syscallProblem);
    if (program.warning) progress.warn(program.warning);
    let launch: Launch | undefined;
    if (program.interception === 'syscall') {
      progress.logger.info(`${args.command[0]} is intercepted at the system call`);
      launch = syscallLaunch(args.command, await SyscallSupervisor.start(syscallNative(), proxy.syscalls, progress.logger));
    }
    // The syscall mode needs no preload library: the launcher's filter covers the program and its children.
    const code = await runCommand(args.command, launch ? env : program.env, lost.signal, launch);
    if (lostReason !== undefined) {
      throw new CliError(
        `${lostWhere} ended while the command ran (${lostReason}); the command was stopped`,
        lostReason.startsWith('EKILLED')
          ? 'someone ended this session with mirrord sessions kill; attach again when you need it'
          : `the pod may have been deleted or restarted, or the connection to it lost: attach again (kubectl get pods${pod.namespace ? ` -n ${pod.namespace}` : ''} shows the pods)`,
      );
    }
    return code;
  } finally {
    ending = true;
    // A process the command left running in the background may still hold the layer's channel
    // open; it must not keep mirrord from exiting with the command's code.
    if (proxy) await withinGrace(proxy.close().catch(() => undefined));
    client.close();
    await withinGrace(client.closed());
    client.connectionClose();
    await transport.release?.();
  }
}

/**
 * Queue splitting and database branches ask the operator about the target workload (its queues,
 * the databases its container uses): they need one, reached through the cluster. Elsewhere (the
 * agent given directly, targetless, a copy) they are ignored with a warning, as copy_target is
 * without a target.
 */
function needsTarget(settings: Settings, args: AttachArgs, progress: Progress, key: 'feature.split_queues' | 'feature.db_branches'): boolean {
  if (!(key === 'feature.split_queues' ? settings.splitQueues : settings.dbBranches)) return false;
  const what = key === 'feature.split_queues' ? "consumes no workload's queues" : "uses no workload's databases";
  const why =
    !settings.target || agentGiven(args.agent)
      ? 'a target reached through the cluster (deploy/NAME, statefulset/NAME, rollout/NAME)'
      : settings.target.path === TARGETLESS
        ? `a target (a targetless session ${what})`
        : settings.target.copy
          ? 'the target itself, not a copy (copy_target)'
          : undefined;
  if (why) progress.warn(`${key} needs ${why}; it is ignored`);
  return why === undefined;
}

/**
 * A targetless session has no workload: no incoming traffic to take and no app environment to
 * copy (its pod's is nobody's). Outgoing, DNS and the cluster's files it can reach stay.
 */
function targetlessAsked(settings: Settings, args: AttachArgs, progress: Progress): Settings {
  if (settings.target?.path !== TARGETLESS) return settings;
  if (args.overrides.mode !== undefined || args.overrides.ports !== undefined) {
    progress.warn('a targetless session receives no incoming traffic: --steal, --mirror and --port are ignored');
  }
  return { ...settings, layer: { ...settings.layer, incoming: { ...settings.layer.incoming, mode: 'off' } }, env: { ...settings.env, enabled: false } };
}

/** The settings again with the profile's feature section over the file's, when one is named. */
async function withProfile(settings: Settings, args: AttachArgs, progress: Progress): Promise<Settings> {
  if (settings.profile === undefined) return settings;
  if (!settings.target || agentGiven(args.agent)) {
    throw new CliError(
      `the profile "${settings.profile}" lives in the cluster: it needs a target reached through it`,
      'attach to deploy/NAME (or pod/NAME), or drop --profile',
      USAGE_EXIT,
    );
  }
  // Loaded only here: @kubernetes/client-node is an ES module that the unit tests' runner can't load.
  const { loadKube } = await import('../kube/cluster');
  const { fetchProfile } = await import('../kube/profiles');
  const kube = loadKube({ kubeconfig: settings.kubeconfig, context: settings.kubeContext, namespace: settings.target.namespace });
  progress.step(`profile ${settings.profile}…`);
  const profile = await fetchProfile(kube, settings.profile);
  return loadSettings(args.configFile, args.overrides, process.env, process.cwd(), profile);
}

async function startProxy(client: ClientApi, options: LayerOptions, log: Logger): Promise<LayerProxy> {
  try {
    return await startLayerProxy(client, options, log);
  } catch (error) {
    throw new CliError(
      `cannot start the layer's local proxy: ${(error as Error).message}`,
      'the layer is built by `npm install` (node-gyp); run it again and look for build errors',
    );
  }
}

/** `session ID on pod NS/NAME` for the session that served last, or `fallback` when it can't be told. */
function lastServed(current: () => { sessionId: string; pod: { name: string; namespace?: string } }, fallback: string): string {
  let info;
  try {
    info = current();
  } catch {
    return fallback; // no pod has a session any more
  }
  if (!info.pod.name) return fallback;
  return `session ${info.sessionId} on pod ${info.pod.namespace ? `${info.pod.namespace}/` : ''}${info.pod.name}`;
}

function withinGrace(promise: Promise<unknown>): Promise<unknown> {
  return Promise.race([promise, new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref())]);
}
