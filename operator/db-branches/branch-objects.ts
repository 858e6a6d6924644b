/**
 * The objects of a branch, all named `mirrord-db-ID` in the target's namespace: a Secret with the
 * source's connection (the app's own credentials, which the branch's user is given too), the Pod
 * whose server copies the source at start (operator/db-branch-images) and is ready once the copy
 * is done, and a Service at the source's port in front of it, which the local process reaches
 * through the pod's outgoing path. The Pod is never injected with a sidecar.
 */
import type { V1Pod, V1Secret, V1Service } from '../../common/kube-client';
import { ANNOTATION } from '../../common/pod-contract';
import {
  DB_BRANCH_ANNOTATION,
  DB_BRANCH_DEFAULT_CREATION_TIMEOUT_S,
  DB_BRANCH_DEFAULT_TTL_S,
  DB_BRANCH_LABEL,
  dbBranchObjectName,
  ownerLabelValue,
  type DbBranchRequest,
} from '../../protocol/db-branch';
import { BRANCH_CONTAINER } from '../../common/db-branch-pod';
import type { BranchSource } from './source';
import { ENGINE_PORT } from './source';

/** The file the image's script makes once the copy is done and the server takes the user's connections. */
export const READY_FILE = '/tmp/mirrord-branch-ready';

export interface BranchObjects {
  secret: V1Secret;
  pod: V1Pod;
  service: V1Service;
}

export interface BranchPlan {
  namespace: string;
  request: DbBranchRequest;
  source: BranchSource;
  image: string;
  owner: string;
  target: string;
  now: Date;
}

/** Another object of a branch's name that isn't one of its own: nothing of the branch is left. */
export class BranchNameTaken extends Error {}

export function branchLabels(request: DbBranchRequest, owner: string): Record<string, string> {
  return {
    [DB_BRANCH_LABEL.id]: request.id,
    [DB_BRANCH_LABEL.type]: request.type,
    [DB_BRANCH_LABEL.owner]: ownerLabelValue(owner),
    'app.kubernetes.io/managed-by': 'mirrord-operator',
    'app.kubernetes.io/part-of': 'mirrord',
  };
}

/** `user@host:port/database`: what the branch copies (as whom), in listings and when a shared id is asked for again. */
export function sourceLabel(source: BranchSource): string {
  return `${source.user}@${source.host}:${source.port}/${source.database}`;
}

export function branchObjects(plan: BranchPlan): BranchObjects {
  const { namespace, request, source } = plan;
  const name = dbBranchObjectName(request.id);
  const labels = branchLabels(request, plan.owner);
  const secretEnv = (variable: string, key: string) => ({ name: variable, valueFrom: { secretKeyRef: { name, key } } });
  const tables = Object.entries(request.copy.tables ?? {});
  const port = ENGINE_PORT[request.type];
  return {
    secret: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace, labels },
      type: 'Opaque',
      stringData: { host: source.host, port: String(source.port), user: source.user, password: source.password, database: source.database },
    },
    pod: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace,
        labels,
        annotations: {
          [ANNOTATION.inject]: 'false',
          [DB_BRANCH_ANNOTATION.owner]: plan.owner,
          [DB_BRANCH_ANNOTATION.source]: sourceLabel(source),
          [DB_BRANCH_ANNOTATION.target]: plan.target,
          [DB_BRANCH_ANNOTATION.copyMode]: request.copy.mode,
          [DB_BRANCH_ANNOTATION.ttl]: String(request.ttlSecs ?? DB_BRANCH_DEFAULT_TTL_S),
          [DB_BRANCH_ANNOTATION.creationTimeout]: String(request.creationTimeoutSecs ?? DB_BRANCH_DEFAULT_CREATION_TIMEOUT_S),
          [DB_BRANCH_ANNOTATION.shared]: String(request.shared),
          [DB_BRANCH_ANNOTATION.sessions]: '[]',
          [DB_BRANCH_ANNOTATION.joinedAt]: plan.now.toISOString(),
        },
      },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        terminationGracePeriodSeconds: 5,
        containers: [
          {
            name: BRANCH_CONTAINER,
            image: plan.image,
            imagePullPolicy: 'IfNotPresent',
            ports: [{ name: 'database', containerPort: port }],
            env: [
              secretEnv('MIRRORD_BRANCH_SOURCE_HOST', 'host'),
              secretEnv('MIRRORD_BRANCH_SOURCE_PORT', 'port'),
              secretEnv('MIRRORD_BRANCH_SOURCE_USER', 'user'),
              secretEnv('MIRRORD_BRANCH_SOURCE_PASSWORD', 'password'),
              secretEnv('MIRRORD_BRANCH_SOURCE_DATABASE', 'database'),
              { name: 'MIRRORD_BRANCH_COPY_MODE', value: request.copy.mode },
              { name: 'MIRRORD_BRANCH_TABLE_COUNT', value: String(tables.length) },
              ...tables.flatMap(([table, { filter }], i) => [
                { name: `MIRRORD_BRANCH_TABLE_${i}_NAME`, value: table },
                { name: `MIRRORD_BRANCH_TABLE_${i}_FILTER`, value: filter ?? '' },
              ]),
            ],
            readinessProbe: { exec: { command: ['test', '-f', READY_FILE] }, periodSeconds: 1, failureThreshold: 1 },
            terminationMessagePolicy: 'FallbackToLogsOnError',
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    },
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, labels },
      spec: {
        selector: { [DB_BRANCH_LABEL.id]: request.id },
        // The source's port: a URL that names it needs only its host changed.
        ports: [{ name: 'database', port: source.port, targetPort: port }],
      },
    },
  };
}
