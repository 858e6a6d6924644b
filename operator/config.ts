/**
 * The operator's configuration, all from its environment (set by its Deployment). Anything
 * invalid stops it at start with a message naming the variable.
 */
import { hostname } from 'node:os';
import { integer, kubeName } from '../common/env-settings';
import { parseLevel, type Level } from '../common/log';
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
  };
}
