/** The texts of --help. */
export const MAIN_HELP = `mirrord: run a local process in the context of a Kubernetes pod

usage:
  mirrord attach [TARGET] [OPTIONS] -- CMD [ARGS...]
  mirrord exec --target TARGET [OPTIONS] [--] CMD [ARGS...]
  mirrord --version | --help

commands:
  attach   run CMD with the pod's environment, incoming traffic, network, DNS and files
  exec     the same, with mirrord's spelling (the target is --target)

mirrord attach --help lists the options.
`;

export const ATTACH_HELP = `usage: mirrord attach [TARGET] [OPTIONS] -- CMD [ARGS...]
       mirrord exec --target TARGET [OPTIONS] [--] CMD [ARGS...]

TARGET is deploy/NAME, pod/NAME or statefulset/NAME (reached through the cluster in a later
version; for now give --agent-cmd or --agent-url).

reaching the agent:
  --agent-cmd CMD            speak to the sidecar over CMD's stdin/stdout
                             (e.g. "ip netns exec POD socat - TCP:127.0.0.1:61234")
  --agent-url URL            speak to the sidecar at ws://HOST:PORT
  -t, --target TARGET        the target (exec's spelling)
  -n, --namespace NS         the target's namespace
  --context NAME             kubeconfig context
  --kubeconfig FILE          kubeconfig file

incoming traffic:
  --steal                    the local process takes the traffic of the ports it listens on
  --mirror                   it gets a copy while the app answers (the default)
  --port P[:LOCAL]           only the pod's port P (repeatable); :LOCAL is the port the local
                             process listens on when it differs
  --http-header-filter RE    steal only requests with a header line matching RE
  --http-path-filter RE      steal only requests whose path matches RE

the rest:
  --fs-mode MODE             local, read (default: the app's mounts are read from the pod)
                             or write
  --env-include PATTERNS     only these remote variables (";"-separated, * wildcards)
  --env-exclude PATTERNS     not these remote variables
  --no-outgoing              outgoing connections stay local
  --no-remote-dns            name look-ups stay local
  -f, --config FILE          mirrord.json (default: .mirrord/mirrord.json when present)
  -q, --quiet                no progress lines
  -h, --help                 this text

Flags override the config file. The exit code is CMD's.
`;
