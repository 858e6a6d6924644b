/**
 * The operator's configuration, all from its environment (set by its Deployment). Anything
 * invalid stops it at start with a message naming the variable.
 */
import { hostname } from 'node:os';
import { integer, kubeName } from '../common/env-settings';
import { parseLevel, type Level } from '../common/log';
import type { DbBranchType } from '../protocol/db-branch';
import { OPERATOR_API_SERVICE } from '../protocol/operator-api';

export interface OperatorConfig {
  port: number;
  host: string;
  /** Its own namespace (downward API): its Secrets and Lease live there. */
  namespace: string;
  /** This replica's name in the leader Lease (its pod name). */
  identity: string;
  /** The Service the API server calls: the serving certificate's names. */
  service: string;
  /** The APIService whose caBundle is kept current. */
  apiService: string;
  /** The Secret holding the serving certificate. */
  tlsSecret: string;
  /** The Secret holding the ticket signing keys (only the operator reads it). */
  keysSecret: string;
  /** The Lease electing the replica that publishes and rotates keys. */
  lease: string;
  logLevel: Level;
  /** The image each type of database branch runs; its tag is the engine version it branches. */
  dbBranchImages: Record<DbBranchType, string>;
}

export function loadOperatorConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  return {
    port: integer(env, 'MIRRORD_OPERATOR_PORT', 8443, 1, 65535),
    host: env.MIRRORD_OPERATOR_HOST || '0.0.0.0',
    namespace: kubeName(env, 'MIRRORD_OPERATOR_NAMESPACE', 'mirrord-system'),
    identity: env.MIRRORD_OPERATOR_POD || hostname(),
    service: kubeName(env, 'MIRRORD_OPERATOR_SERVICE', 'mirrord-operator'),
    apiService: env.MIRRORD_OPERATOR_APISERVICE || OPERATOR_API_SERVICE,
    tlsSecret: kubeName(env, 'MIRRORD_OPERATOR_TLS_SECRET', 'mirrord-operator-tls'),
    keysSecret: kubeName(env, 'MIRRORD_OPERATOR_KEYS_SECRET', 'mirrord-operator-signing-keys'),
    lease: kubeName(env, 'MIRRORD_OPERATOR_LEASE', 'mirrord-operator'),
    logLevel: parseLevel(env.MIRRORD_LOG_LEVEL),
    dbBranchImages: {
      pg: branchImage(env, 'MIRRORD_DB_BRANCH_PG_IMAGE', 'mirrord-db-branch-postgres:15'),
      mysql: branchImage(env, 'MIRRORD_DB_BRANCH_MYSQL_IMAGE', 'mirrord-db-branch-mysql:10.11'),
    },
  };
}

/** A branch image reference whose tag is a version (`NAME:15`, `NAME:10.11`). */
function branchImage(env: NodeJS.ProcessEnv, variable: string, fallback: string): string {
  const image = env[variable] || fallback;
  if (!/:\d+(\.\d+)?$/.test(image)) throw new Error(`${variable}: ${image} is not an image whose tag is the engine version it runs (NAME:15, NAME:10.11)`);
  return image;
}

/** The engine version a branch image runs: its tag. */
export function branchImageVersion(image: string): string {
  return image.slice(image.lastIndexOf(':') + 1);
}
