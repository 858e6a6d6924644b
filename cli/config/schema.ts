/**
 * The `mirrord.json` schema, with mirrord's key names for the features this implementation
 * has, so that a mirrord user's file works unchanged. Objects are strict: a misspelt key is an
 * error rather than a silently ignored setting. `mirrord.schema.json` is generated from this.
 */
import { z } from 'zod';

const port = z.number().int().min(1).max(65535);

/** mirrord accepts a single string wherever it takes a list. */
const oneOrMany = z.union([z.string(), z.array(z.string())]);

const incomingMode = z.enum(['steal', 'mirror', 'off']).meta({
  description: 'steal: the local process takes the traffic; mirror: it gets a copy while the app answers; off: no incoming traffic',
});

const httpFilter = z
  .strictObject({
    header_filter: z.string().optional().meta({ description: 'regex matched against each "Name: value" header line' }),
    path_filter: z.string().optional().meta({ description: 'regex matched against the request path (with query)' }),
    method_filter: z.string().optional().meta({ description: 'HTTP method, compared case-insensitively' }),
  })
  .meta({ description: 'steal only the HTTP requests that match; the others reach the app' });

const incoming = z.union([
  incomingMode,
  z.strictObject({
    mode: incomingMode.optional(),
    http_filter: httpFilter.optional(),
    port_mapping: z
      .array(z.tuple([port, port]))
      .optional()
      .meta({ description: '[local, remote] pairs: the local process listening on `local` receives the pod\'s port `remote`' }),
    ports: z.array(port).optional().meta({ description: 'only these (remote) ports are subscribed' }),
    ignore_ports: z.array(port).optional().meta({ description: 'local ports that stay local' }),
  }),
]);

const outgoingFilter = z
  .strictObject({
    local: oneOrMany.optional().meta({ description: 'destinations that stay on this machine: ADDRESS[/PREFIX][:PORT] or :PORT' }),
    remote: oneOrMany.optional().meta({ description: 'only these destinations go through the pod' }),
  })
  .refine((filter) => filter.local === undefined || filter.remote === undefined, { message: 'set either local or remote, not both' });

const outgoing = z.union([
  z.boolean(),
  z.strictObject({
    tcp: z.boolean().optional().meta({ description: 'TCP connections leave from the pod' }),
    udp: z.boolean().optional().meta({ description: 'UDP sockets send from the pod' }),
    filter: outgoingFilter.optional(),
  }),
]).meta({ description: 'true: outgoing connections leave from the pod; false: they stay local' });

const dns = z.union([z.boolean(), z.strictObject({ enabled: z.boolean().optional() })]).meta({ description: "name look-ups use the pod's resolver" });

const fsMode = z.enum(['local', 'read', 'write']).meta({
  description: "read: the app's mounts are read from the pod; write: also written back; local: every file stays local",
});

const fs = z.union([
  fsMode,
  z.strictObject({
    mode: fsMode.optional(),
    read_only: oneOrMany.optional().meta({ description: 'regexes of paths read from the pod (opened for writing, they stay local)' }),
    read_write: oneOrMany.optional().meta({ description: 'regexes of paths read from and written to the pod, whatever the mode' }),
    local: oneOrMany.optional().meta({ description: 'regexes of paths that stay local, whatever the mode' }),
  }),
]);

const env = z.union([
  z.boolean(),
  z.strictObject({
    include: oneOrMany.optional().meta({ description: 'only these remote variables; ";"-separated, * and ? wildcards' }),
    exclude: oneOrMany.optional().meta({ description: 'remote variables left out; ";"-separated, * and ? wildcards' }),
    override: z.record(z.string(), z.string()).optional().meta({ description: 'variables set to these values whatever the pod has' }),
  }),
]);

const target = z.union([
  z.string().meta({ description: 'e.g. deploy/NAME, pod/NAME, statefulset/NAME' }),
  z.strictObject({
    path: z.string().optional().meta({ description: 'e.g. deploy/NAME, pod/NAME, statefulset/NAME' }),
    namespace: z.string().optional().meta({ description: "the target's namespace" }),
  }),
]);

export const configSchema = z
  .strictObject({
    $schema: z.string().optional().meta({ description: 'for editors: the URL or path of this schema' }),
    target: target.optional(),
    kube_context: z.string().optional().meta({ description: 'kubeconfig context' }),
    kubeconfig: z.string().optional().meta({ description: 'kubeconfig file' }),
    feature: z
      .strictObject({
        network: z
          .strictObject({
            incoming: incoming.optional(),
            outgoing: outgoing.optional(),
            dns: dns.optional(),
          })
          .optional(),
        fs: fs.optional(),
        env: env.optional(),
      })
      .optional(),
  })
  .meta({ title: 'mirrord.json', description: 'Configuration of `mirrord attach` (mirrord key names).' });

export type FileConfig = z.infer<typeof configSchema>;
export type IncomingConfig = z.infer<typeof incoming>;
export type OutgoingConfig = z.infer<typeof outgoing>;
export type FsConfig = z.infer<typeof fs>;
export type EnvConfig = z.infer<typeof env>;
