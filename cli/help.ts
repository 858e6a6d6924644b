/** The texts of --help. */
import type { HelpTopic } from './args';

export const MAIN_HELP = `mirrord: run a local process in the context of a Kubernetes pod

usage:
  mirrord attach [TARGET] [OPTIONS] -- CMD [ARGS...]
  mirrord exec --target TARGET [OPTIONS] [--] CMD [ARGS...]
  mirrord port-forward [TARGET] -L [LOCAL:]HOST:PORT... -R LOCAL:POD_PORT...
  mirrord ls [-n NAMESPACE | -A] [--json]
  mirrord sessions [TARGET] [--json]
  mirrord sessions kill ID [TARGET]
  mirrord db-branches status|stop [ID...] [--json]
  mirrord install [--wait]
  mirrord uninstall [--restart-workloads] [--dry-run]
  mirrord doctor [TARGET]
  mirrord --version | --help

commands:
  attach     run CMD with the pod's environment, incoming traffic, network, DNS and files
  exec       the same, with mirrord's spelling (the target is --target)
  port-forward  local ports to destinations reached from the pod (-L), pod ports to local ones (-R)
  ls         the targets of a namespace and whether their pods carry the sidecar
  sessions   the sessions attached to the sidecars; "sessions kill ID" ends one
  db-branches  the database branches (feature.db_branches) and whose they are; "stop ID" deletes one
  install    install the admission webhook that injects the sidecar
  uninstall  remove it
  doctor     check what attach needs, and say how to fix what is missing

mirrord COMMAND --help lists a command's options.
`;

const KUBE_FLAGS = `  -n, --namespace NS         the namespace (default: the context's)
  --context NAME             kubeconfig context
  --kubeconfig FILE          kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
  -h, --help                 this text
`;

export const LS_HELP = `usage: mirrord ls [-n NAMESPACE | -A] [--json]

The Deployments, StatefulSets and pods of a namespace, and whether their pods carry the
mirrord sidecar: injected (all pods, ready), starting (all pods, not all ready yet), partly
(some pods: the others were created before injection was on), no, or no pods.

  -A, --all-namespaces       every namespace
  --json                     {"targets": [{namespace, target, pods, withSidecar, sidecarReady, sidecar}]}
${KUBE_FLAGS}`;

export const SESSIONS_HELP = `usage: mirrord sessions [TARGET] [-n NAMESPACE | -A] [--json]
       mirrord sessions kill ID|--all [TARGET]

The sessions attached to the sidecars of TARGET's pods (deploy/NAME, pod/NAME,
statefulset/NAME), of every injected pod of the namespace, or (-A, through the operator) of
the cluster: id, pod, user, client, ports, mode and start time. "kill ID" ends a session: its
client is told who ended it, and the pod's rules for it are removed before the command
returns; "kill --all" ends every session you may end there. With the operator you may end your
own sessions, and others' with RBAC delete on mirrordsessions.

  -A, --all-namespaces       every namespace (through the operator)
  --json                     {"pods": [{namespace, pod, sessions?: [{id, user?, client, since, subscriptions}], error?}]}
${KUBE_FLAGS}`;

export const INSTALL_HELP = `usage: mirrord install [--wait] [--no-operator]

Applies the manifests of the admission webhook, the policy and profile resources and the
operator (server-side apply: kubectl is not needed, and running it again is harmless),
printing each object and whether it was created, configured or unchanged. Then label a
namespace mirrord.dev/injection=enabled and restart its workloads. With the operator, sessions
need a ticket it issues from the policies (bind users the mirrord-user ClusterRole).

  --wait                     wait until the webhook's and the operator's Deployments are Available
  --no-operator              without the operator (removing it if installed): sidecars injected
                             from then on accept any client allowed to port-forward to the pod
  --context NAME, --kubeconfig FILE, -h/--help
`;

export const UNINSTALL_HELP = `usage: mirrord uninstall [--restart-workloads] [--dry-run]

Deletes the webhook and the operator (the webhook configuration and the APIService first, the
namespace last) and the key sets the operator published. Pods injected before keep their
sidecar, idle, until they are recreated; uninstall lists the workloads that own them.

  --restart-workloads        restart those Deployments and StatefulSets (as kubectl rollout
                             restart does) so that their new pods come without the sidecar
  --dry-run                  let the API server check each deletion without doing it, and
                             restart nothing: what would happen, and whether you may do it
  --context NAME, --kubeconfig FILE, -h/--help
`;

export const DOCTOR_HELP = `usage: mirrord doctor [TARGET]

Checks what mirrord attach needs, one line each, ✓ or ✗ with the fix: the API is reachable,
the webhook is installed and ready, its caBundle is a valid CA certificate, the namespace is
labeled for injection, TARGET's pods carry the sidecar (when TARGET is given), and you may
port-forward in the namespace. The exit code is 0 when every check passes, 1 otherwise.

${KUBE_FLAGS}`;

export const DB_BRANCHES_HELP = `usage: mirrord db-branches status [ID...] [-n NAMESPACE | -A] [--json]
       mirrord db-branches stop ID...|--all [-n NAMESPACE | -A] [--json]

The database branches the operator made for sessions (feature.db_branches): a Pod, a Service
and a Secret each, named mirrord-db-ID. status lists them: their engine, the source they copy,
who made them, whether they are ready, their sessions, and when an idle one is deleted (its TTL
after its last session). stop deletes them at once (destroy is the same); a session still using
one loses its database. Both need RBAC on pods (get, list; delete for stop) in the namespace.

  -A, --all-namespaces       every namespace
  --all                      (stop) every branch of the namespace
  --json                     {"branches": [{namespace, id, name, type, owner, source, target, copy, state, message?, sessions, ttlSecs, idleSince?, created}]}
\${KUBE_FLAGS}`;

export function helpText(topic: HelpTopic | undefined): string {
  switch (topic) {
    case 'attach':
      return ATTACH_HELP;
    case 'port-forward':
      return PORT_FORWARD_HELP;
    case 'ls':
      return LS_HELP;
    case 'sessions':
      return SESSIONS_HELP;
    case 'db-branches':
      return DB_BRANCHES_HELP;
    case 'install':
      return INSTALL_HELP;
    case 'uninstall':
      return UNINSTALL_HELP;
    case 'doctor':
      return DOCTOR_HELP;
    default:
      return MAIN_HELP;
  }
}

export const PORT_FORWARD_HELP = `usage: mirrord port-forward [TARGET] [OPTIONS] -L [LOCAL:]HOST:PORT... -R LOCAL:POD_PORT...

-L forwards 127.0.0.1:LOCAL of this machine to HOST:PORT as the pod reaches it (its DNS, its
network; LOCAL defaults to PORT). -R brings the traffic of the pod's port POD_PORT (on every
Ready pod of a workload) to 127.0.0.1:LOCAL: stolen (the default, with the HTTP filters) or,
with --mirror, copied. Both repeat; --targetless gives -L a pod of its own. Runs until Ctrl-C.

  -L [LOCAL:]HOST:PORT       a local port to a destination reached from the pod
  -R LOCAL:POD_PORT          a pod port's traffic to a local port
  --steal | --mirror         what -R does with the pod port's traffic (default: steal)
  --http-header-filter RE    -R steals (or mirrors) only requests with a header line matching RE
  --http-path-filter RE      -R steals (or mirrors) only requests whose path matches RE
  -t, --target TARGET        the target (also the first argument)
  --pod NAME                 this pod of the workload for -L
  --targetless               a pod started for the session (-L only)
  --agent-cmd CMD, --agent-url URL, --agent-netns NAME[:PORT]
                             reach a sidecar directly
  -f, --config FILE          mirrord.json (the target, the namespace, the HTTP filter)
  -q, --quiet                no progress lines
${KUBE_FLAGS}`;

export const ATTACH_HELP = `usage: mirrord attach [TARGET] [OPTIONS] -- CMD [ARGS...]
       mirrord exec --target TARGET [OPTIONS] [--] CMD [ARGS...]

TARGET is pod/NAME, deploy/NAME, statefulset/NAME, rs/NAME, svc/NAME, rollout/NAME or
job/NAME (or --selector LABELS), reached through the API server's port-forward to its
injected pods: a workload means a session on every Ready one of them (the ports it listens on
are subscribed on each; outgoing, DNS, files and env come from the oldest, or --pod NAME). --copy-target runs the session on a
copy of the target's pod instead (cronjob/NAME too); --targetless on a pod started for it
(outgoing and DNS only); --agent-cmd, --agent-url or --agent-netns reach a sidecar directly.

reaching the agent:
  --agent-cmd CMD            speak to the sidecar over CMD's stdin/stdout
                             (e.g. "ip netns exec POD socat - TCP:127.0.0.1:61234")
  --agent-url URL            speak to the sidecar at ws://HOST:PORT
  --agent-netns NAME[:PORT]  speak to the sidecar on the loopback of a network namespace of this
                             machine (an \`ip netns\` name or a path; needs root), no relay process
  -t, --target TARGET        the target (exec's spelling)
  --pod NAME                 this pod of the workload for outgoing, DNS, files and env
  --targetless               no target: a pod in the namespace (labeled for injection) started
                             for the session and deleted after it
  --selector LABELS          the target is the pods the label selector matches
                             (app=web,tier!=cache), whatever owns them
  --copy-target              a copy of the target's pod made for the session (no probes, none
                             of its labels), deleted after it (also feature.copy_target)
  --scale-down               with the copy, the workload scaled to zero for the session and
                             back after (needs the operator; feature.copy_target.scale_down)
  -n, --namespace NS         the target's namespace (also --target-namespace)
  --context NAME             kubeconfig context
  --kubeconfig FILE          kubeconfig file
  --profile NAME             apply the cluster's MirrordProfile NAME (of the target's namespace,
                             else the MirrordClusterProfile NAME) over the config file

incoming traffic:
  --steal                    the local process takes the traffic of the ports it listens on
  --mirror                   it gets a copy while the app answers (the default)
  --port P[:LOCAL]           only the pod's port P (repeatable); :LOCAL is the port the local
                             process listens on when it differs
  --http-header-filter RE    steal (with --mirror: copy) only requests with a header line matching RE
  --http-path-filter RE      steal (with --mirror: copy) only requests whose path matches RE

the rest:
  --fs-mode MODE             local, localwithoverrides, read (default: the app's mounts are
                             read from the pod) or write
  -s, --env-include PATTERNS only these remote variables (";"-separated, * wildcards;
                             also --override-env-vars-include)
  -x, --env-exclude PATTERNS not these remote variables (also --override-env-vars-exclude)
  --env-file FILE            a .env file whose variables come over the pod's
  --no-outgoing              outgoing connections stay local (--no-tcp-outgoing,
                             --no-udp-outgoing: one protocol)
  --no-remote-dns            name look-ups stay local
  --interception MODE        preload (the layer: programs that call libc), syscall (a seccomp
                             filter: any program and all it starts), or auto (the default:
                             syscall for Go and statically linked programs)
  -f, --config FILE          mirrord.json (default: .mirrord/mirrord.json when present;
                             also --config-file, or MIRRORD_CONFIG_FILE)
  -q, --quiet                no progress lines
  -h, --help                 this text

mirrord's other exec flags are accepted: --no-telemetry and --disable-version-check have
nothing to do here; -c/--accept-invalid-certificates, --skip-processes, --key and the agent
flags (-a, -l, -i, --agent-ttl, --agent-startup-timeout, -e) are not supported yet and say so.

Flags override the MIRRORD_* variables, which override the config file. The exit code is
CMD's.
`;
