/**
 * The `mirrord.json` schema: every key of mirrord's configuration, with mirrord's names, types
 * and short forms, so that a mirrord user's file works unchanged. Keys of features this
 * implementation has are typed in full, their patterns and filter entries checked; keys of the
 * features it has not yet are accepted (with their type where it is simple) and reported with a
 * warning by the resolver (unsupported.ts). Objects are strict: a misspelt key is an error
 * rather than a silently ignored setting. `mirrord.schema.json` is generated from this.
 */
import { z } from '../../protocol/zod';
import { compileDnsEntry } from '../../intproxy/dns-filter';
import { compileEntry } from '../../intproxy/outgoing-filter';
import { parseJsonPath } from '../../protocol/json-path';
import { re2Compile } from '../../protocol/re2';
import { compileRustRegex } from '../../intproxy/rust-regex';
import {
  DB_BRANCH_DEFAULT_CREATION_TIMEOUT_S,
  DB_BRANCH_DEFAULT_TTL_S,
  DB_BRANCH_ID,
  DB_BRANCH_MAX_TTL_S,
  DB_BRANCH_TYPES,
  DB_COPY_MODES,
} from '../../protocol/db-branch';
import { moot, notYet } from './unsupported';

const port = z.number().int().min(1).max(65535);
const portPair = z.tuple([port, port]);

/** mirrord accepts a single item wherever it takes a list. */
const oneOrManyOf = <T extends z.ZodType>(item: T) => z.union([item, z.array(item)]);
const oneOrMany = oneOrManyOf(z.string());

/** Checks a string with `check`, which throws an Error saying what is wrong. */
const checked = (check: (value: string) => unknown) =>
  z.string().superRefine((value, ctx) => {
    try {
      check(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

/** A regular expression, valid when `compile` takes it. */
const regexOf = (compile: (source: string) => unknown) =>
  checked((source) => {
    try {
      compile(source);
    } catch (error) {
      throw new Error(`not a valid regular expression (${(error as Error).message})`);
    }
  });

const regex = regexOf(compileRustRegex);
const regexes = oneOrManyOf(regex);
/** The sidecar runs HTTP filters on RE2 (linear time), whose syntax is mirrord's Rust regex's. */
const httpRegex = regexOf(re2Compile);

/** An object of a feature not supported yet: any content (its keys change with mirrord's versions). */
const anyObject = z.record(z.string(), z.unknown());

/** feature.split_queues: per queue id (the workload's registry names them), which broker and which of its messages come to this session. */
const splitQueues = z.record(
  z.string(),
  z.strictObject({
    queue_type: z.enum(['RabbitMQ', 'Kafka', 'SQS']).meta({ description: "the broker, as the workload's MirrordWorkloadQueueRegistry declares the queue" }),
    message_filter: z.record(z.string(), httpRegex).optional().meta({
      description: 'header (RabbitMQ, Kafka) or message attribute (SQS) name to an RE2 regex its value must match; all must match; none: no messages',
    }),
  }),
);

/** A value of the target's: one of its container's variables, or a key of a Secret of its namespace. */
const branchVariable = z.strictObject({
  type: z.literal('env'),
  variable: z.string().min(1).meta({ description: "a variable of the target's container" }),
});
const branchValue = z.union([
  branchVariable,
  z.strictObject({
    type: z.literal('secret'),
    name: z.string().min(1).meta({ description: "a Secret of the target's namespace" }),
    key: z.string().min(1),
  }),
]);

/** feature.db_branches: mirrord's database branches (PostgreSQL, MySQL/MariaDB), made by the operator. */
const dbBranch = z.strictObject({
  id: z
    .string()
    .regex(DB_BRANCH_ID, 'lowercase letters, digits and dashes, at most 40')
    .optional()
    .meta({ description: 'names the branch: sessions with the same id (any developer) share it while it lives; none: a branch for this session alone' }),
  type: z.enum(DB_BRANCH_TYPES).meta({ description: 'pg (PostgreSQL) or mysql (MariaDB)' }),
  version: z.string().optional().meta({ description: "the engine version expected (15, 10.11); the source's must match" }),
  name: z.string().min(1).optional().meta({ description: 'the database to branch, when the connection does not name it' }),
  connection: z.union([
    z.strictObject({ url: branchVariable.meta({ description: 'the variable holding the connection URL; the local process gets it pointed at the branch' }) }),
    z.strictObject({
      params: z.strictObject({
        host: branchVariable.meta({ description: 'the variable holding the host; the local process gets it pointed at the branch' }),
        port: branchValue.optional(),
        user: branchValue,
        password: branchValue,
        database: branchValue.optional(),
      }),
    }),
  ]),
  copy: z
    .strictObject({
      mode: z.enum(DB_COPY_MODES).optional().meta({ description: 'empty (the database and user), schema (no rows), all (every row); default empty' }),
      tables: z
        .record(
          z.string().min(1).regex(/^[^-]/, 'a table name does not start with "-"'),
          z.strictObject({ filter: z.string().optional().meta({ description: 'an SQL condition the copied rows match' }) }),
        )
        .optional()
        .meta({ description: 'tables whose rows are copied only where their filter holds (with schema: these rows, and no others)' }),
    })
    .optional(),
  ttl_secs: z
    .number()
    .int()
    .min(1)
    .max(DB_BRANCH_MAX_TTL_S)
    .optional()
    .meta({ description: `how long the branch lives after its last session ends (default ${DB_BRANCH_DEFAULT_TTL_S}, at most ${DB_BRANCH_MAX_TTL_S})` }),
  creation_timeout_secs: z
    .number()
    .int()
    .min(1)
    .max(3600)
    .optional()
    .meta({ description: `how long making the branch (and copying) may take (default ${DB_BRANCH_DEFAULT_CREATION_TIMEOUT_S})` }),
});

const incomingMode = z.enum(['steal', 'mirror', 'off']).meta({
  description: 'steal: the local process takes the traffic; mirror: it gets a copy while the app answers; off: no incoming traffic',
});

/** mirrord's JSONPath (RFC 9535) of a JSON body filter, in the part protocol/json-path.ts understands. */
const jsonPathQuery = z
  .string()
  .superRefine((query, context) => {
    const parsed = parseJsonPath(query);
    if (parsed instanceof Error) context.addIssue({ code: 'custom', message: parsed.message });
  })
  .meta({ description: "JSONPath of the values to match: $, .name, ['name'], [0], [*], ..name" });
const bodyMatches = httpRegex.meta({ description: 'regex one of the selected values must match (strings as they are, other values as JSON)' });

const innerFilter = z.union([
  z.strictObject({ header: httpRegex.meta({ description: 'regex matched against each "Name: value" header line' }) }),
  z.strictObject({ path: httpRegex.meta({ description: 'regex matched against the request path (with query)' }) }),
  z.strictObject({ method: z.string().meta({ description: 'HTTP method, compared case-insensitively' }) }),
  z
    .strictObject({ body: z.strictObject({ type: z.literal('json'), query: jsonPathQuery, matches: bodyMatches }) })
    .meta({ description: 'a JSON request body (Content-Type …json) whose values at query match' }),
]);

const httpFilter = z.union([
  z.boolean(),
  z
    .strictObject({
      header_filter: httpRegex.optional().meta({ description: 'regex matched against each "Name: value" header line' }),
      path_filter: httpRegex.optional().meta({ description: 'regex matched against the request path (with query)' }),
      method_filter: z.string().optional().meta({ description: 'HTTP method, compared case-insensitively' }),
      all_of: z.array(innerFilter).min(1).optional().meta({ description: 'the requests that match every one of these ({header}, {path}, {method}, {body})' }),
      any_of: z
        .array(innerFilter)
        .min(1)
        .optional()
        .meta({ description: 'the requests that match at least one of these ({header}, {path}, {method}, {body})' }),
      body_filter: z
        .strictObject({ body: z.literal('json'), query: jsonPathQuery, matches: bodyMatches })
        .optional()
        .meta({ description: 'a JSON request body (Content-Type …json) whose values at query match' }),
      ports: z
        .array(z.union([port, z.literal('*')]))
        .optional()
        .meta({ description: 'filter only on these (remote) ports; the others are stolen whole. ["*"] or absent: every port' }),
    })
    .meta({ description: 'steal (or, in mirror mode, copy) only the HTTP requests that match; the others reach the app alone' }),
]);

const incoming = z.union([
  incomingMode,
  z.boolean().meta({ description: 'true: the default (mirror); false: off' }),
  z.strictObject({
    mode: incomingMode.optional(),
    http_filter: httpFilter.optional(),
    port_mapping: z
      .array(portPair)
      .optional()
      .meta({ description: "[local, remote] pairs: the local process listening on `local` receives the pod's port `remote`" }),
    ports: z.array(port).optional().meta({ description: 'only these (remote) ports are subscribed' }),
    ignore_ports: z.array(port).optional().meta({ description: 'local ports that stay local' }),
    ignore_localhost: z.boolean().optional().meta({ description: 'a listener bound to localhost stays local' }),
    listen_ports: notYet(z.array(portPair), '[app port, local port] pairs: the local port to really listen on'),
    // The sidecar refuses a steal that conflicts with another session's: mirrord's abort.
    on_concurrent_steal: notYet(z.enum(['abort', 'continue', 'override']), 'what to do when another session steals the port', 'abort'),
    https_delivery: notYet(anyObject, 'deprecated form of tls_delivery'),
    tls_delivery: notYet(anyObject, 'how stolen TLS traffic reaches the local process'),
  }),
]);

const filterEntries = (check: (entry: string) => unknown) => {
  const entry = checked(check);
  return z.union([entry, z.array(entry).min(1)]);
};

const outgoingFilter = z
  .strictObject({
    local: filterEntries(compileEntry)
      .optional()
      .meta({ description: 'destinations that stay on this machine: [tcp://|udp://][NAME|ADDRESS|SUBNET/PREFIX][:PORT]' }),
    remote: filterEntries(compileEntry).optional().meta({ description: 'only these destinations go through the pod' }),
  })
  .refine((filter) => filter.local === undefined || filter.remote === undefined, { message: 'set either local or remote, not both' });

const outgoing = z
  .union([
    z.boolean(),
    z.strictObject({
      tcp: z.boolean().optional().meta({ description: 'TCP connections leave from the pod' }),
      udp: z.boolean().optional().meta({ description: 'UDP sockets send from the pod' }),
      filter: outgoingFilter.optional(),
      ignore_localhost: z.boolean().optional().meta({ description: 'connections to localhost stay local' }),
      unix_streams: notYet(oneOrMany, 'regexes of unix socket paths connected in the pod'),
    }),
  ])
  .meta({ description: 'true: outgoing connections leave from the pod; false: they stay local' });

const dnsFilter = z
  .strictObject({
    local: oneOrManyOf(checked(compileDnsEntry)).optional().meta({ description: 'queries resolved on this machine: [NAME|ADDRESS|SUBNET/PREFIX][:PORT]' }),
    remote: oneOrManyOf(checked(compileDnsEntry)).optional().meta({ description: 'only these queries are resolved in the pod' }),
  })
  .refine((filter) => filter.local === undefined || filter.remote === undefined, { message: 'set either local or remote, not both' });

const dns = z
  .union([z.boolean(), z.strictObject({ enabled: z.boolean().optional(), filter: dnsFilter.optional() })])
  .meta({ description: "name look-ups use the pod's resolver" });

const network = z.union([
  z.boolean().meta({ description: 'false: incoming, outgoing and DNS all off' }),
  z.strictObject({
    incoming: incoming.optional(),
    outgoing: outgoing.optional(),
    dns: dns.optional(),
    ipv6: moot(z.boolean(), 'IPv6 listeners and connections', 'IPv6 is intercepted wherever the pod has it', true),
  }),
]);

const fsMode = z.enum(['local', 'localwithoverrides', 'read', 'write']).meta({
  description:
    "read: the app's mounts are read from the pod; write: also written back; localwithoverrides: only the read_only/read_write patterns are the pod's; local: every file stays local",
});

const fs = z.union([
  fsMode,
  z.boolean().meta({ description: 'true: read; false: local' }),
  z.strictObject({
    mode: fsMode.optional(),
    read_only: regexes.optional().meta({ description: 'regexes of paths read from the pod (opened for writing, they stay local)' }),
    read_write: regexes.optional().meta({ description: 'regexes of paths read from and written to the pod, whatever the mode' }),
    local: regexes.optional().meta({ description: 'regexes of paths that stay local, whatever the mode' }),
    not_found: regexes.optional().meta({ description: 'regexes of paths that do not exist for the process' }),
    mapping: z.record(regex, z.string()).optional().meta({ description: 'regex -> replacement ($1, ${name}): the path asked of the pod' }),
    readonly_file_buffer: moot(z.number().int().min(0), 'read buffer size', 'remote files are copied whole'),
  }),
]);

const env = z.union([
  z.boolean(),
  z.strictObject({
    include: oneOrMany.optional().meta({ description: 'only these remote variables; ";"-separated, * and ? wildcards' }),
    exclude: oneOrMany.optional().meta({ description: 'remote variables left out; ";"-separated, * and ? wildcards' }),
    override: z.record(z.string(), z.string()).optional().meta({ description: 'variables set to these values whatever the pod has' }),
    unset: oneOrMany.optional().meta({ description: 'variables removed from the process environment (names compared case-insensitively)' }),
    env_file: z.string().optional().meta({ description: 'a .env file whose variables override the remote ones (override still wins)' }),
    mapping: z.record(regex, z.string()).optional().meta({ description: 'regex on a variable name -> the value it gets' }),
    load_from_process: moot(z.boolean(), 'fetch the variables after the process starts', 'the variables are fetched before the process starts', false),
  }),
]);

const TARGET_KINDS = ['pod', 'deployment', 'deploy', 'rollout', 'job', 'cronjob', 'statefulset', 'service', 'replicaset'] as const;

const targetPath = z.union([
  z.string().meta({ description: 'e.g. deploy/NAME, pod/NAME, statefulset/NAME (with /container/NAME), or targetless' }),
  z
    .strictObject({ ...Object.fromEntries(TARGET_KINDS.map((kind) => [kind, z.string().optional()])), container: z.string().optional() })
    .refine((path) => TARGET_KINDS.filter((kind) => (path as Record<string, unknown>)[kind] !== undefined).length === 1, {
      message: `name exactly one of ${TARGET_KINDS.join(', ')}`,
    })
    .meta({ description: 'e.g. {"deployment": "api", "container": "app"}' }),
]);

const copyTarget = z
  .union([
    z.boolean(),
    z.strictObject({
      enabled: z.boolean().optional().meta({ description: 'run on the copy (default: true when scale_down is)' }),
      scale_down: z.boolean().optional().meta({ description: 'scale the original workload to zero for the session, and back after (needs the operator)' }),
    }),
  ])
  .meta({ description: "run on a copy of the target's pod made for the session (no probes, none of its labels), deleted after" });

const target = z.union([
  targetPath,
  z.strictObject({
    path: targetPath.optional(),
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
        network: network.optional(),
        fs: fs.optional(),
        env: env.optional(),
        hostname: z.boolean().optional().meta({ description: "gethostname() returns the pod's name (default true)" }),
        copy_target: copyTarget.optional(),
        split_queues: splitQueues.optional().meta({
          description: "queue splitting: per queue id of the target's MirrordWorkloadQueueRegistry, the messages this session consumes (needs the operator)",
        }),
        db_branches: z.array(dbBranch).max(8).optional().meta({
          description: 'database branches: a private copy of each database the target uses, which the local process is pointed at (needs the operator)',
        }),
        magic: notYet(anyObject, "mirrord's presets (AWS)"),
        preview: notYet(anyObject, 'preview environments'),
      })
      .optional(),
    accept_invalid_certificates: notYet(z.boolean(), "accept the API server's invalid TLS certificate", false),
    agent: notYet(anyObject, 'settings of the agent pod mirrord spawns (here the webhook injects the sidecar)'),
    api: notYet(z.boolean(), 'the local session monitor API', false),
    baggage: notYet(z.string(), 'OpenTelemetry baggage for the operator'),
    ci: notYet(anyObject, 'mirrord for CI'),
    container: notYet(anyObject, '`mirrord container`'),
    experimental: notYet(anyObject, 'experimental switches'),
    external_proxy: notYet(anyObject, "`mirrord container`'s external proxy"),
    internal_proxy: moot(anyObject, "the local proxy's timeouts and logs", 'the local proxy runs inside the mirrord process'),
    key: notYet(z.string(), 'the session key for templates'),
    multi_cluster: notYet(z.boolean(), 'multi-cluster operator sessions', false),
    operator: notYet(z.boolean(), 'use the operator', false),
    interception: z.enum(['auto', 'preload', 'syscall']).optional().meta({
      description:
        'how the program is intercepted: preload (the layer, for programs that call libc), syscall (a seccomp filter: any Linux program, Go and static ones too), auto (syscall for Go and statically linked programs, preload for the others; the default)',
    }),
    profile: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'a MirrordProfile of the target namespace (or a MirrordClusterProfile) whose feature section applies over this file' }),
    sip_binaries: moot(oneOrMany, 'binaries to patch for macOS SIP', 'macOS only'),
    skip_build_tools: notYet(z.boolean(), 'skip build tools', false),
    skip_extra_build_tools: notYet(oneOrMany, 'skip these build tools'),
    skip_processes: notYet(oneOrMany, 'processes the layer leaves alone'),
    skip_sip: moot(oneOrMany, 'binaries not to patch for macOS SIP', 'macOS only'),
    startup_retry: notYet(anyObject, 'retries of the first Kubernetes requests'),
    telemetry: moot(z.boolean(), 'telemetry', 'no telemetry is sent', false),
    traceparent: notYet(z.string(), 'OpenTelemetry trace context for the operator'),
    use_proxy: notYet(z.boolean(), 'use HTTP[S]_PROXY for the Kubernetes API'),
    connect_tcp: moot(z.string(), 'an agent address', 'a key of older mirrord versions'),
    pause: moot(z.boolean(), 'pause the target', 'a key of older mirrord versions', false),
  })
  .meta({ title: 'mirrord.json', description: 'Configuration of `mirrord attach` (mirrord key names).' });

/** How the program is intercepted (`interception`, `--interception`). */
export type Interception = NonNullable<FileConfig['interception']>;
export type FileConfig = z.infer<typeof configSchema>;
export type TargetConfig = z.infer<typeof target>;
export type TargetPathConfig = z.infer<typeof targetPath>;
export type NetworkConfig = z.infer<typeof network>;
export type IncomingConfig = z.infer<typeof incoming>;
export type HttpFilterConfig = z.infer<typeof httpFilter>;
export type InnerFilterConfig = z.infer<typeof innerFilter>;
export type OutgoingConfig = z.infer<typeof outgoing>;
export type DnsConfig = z.infer<typeof dns>;
export type FsConfig = z.infer<typeof fs>;
export type EnvConfig = z.infer<typeof env>;
export type CopyTargetConfig = z.infer<typeof copyTarget>;
export type SplitQueuesConfig = z.infer<typeof splitQueues>;
export type DbBranchConfig = z.infer<typeof dbBranch>;
