/**
 * A branch's source: the database the target's container connects to, read from the variables
 * and Secrets its config names (`connection.url` or `connection.params`), and the variables that
 * point the local process at the branch instead. Messages name the config key, never a value.
 */
import type { V1Container, V1Pod } from '../../common/kube-client';
import type { DbBranchRequest, DbBranchType, DbValueSource } from '../../protocol/db-branch';
import { containerVariable, type KeyReaders } from '../env/container-variable';

export const ENGINE_PORT: Record<DbBranchType, number> = { pg: 5432, mysql: 3306 };
const URL_SCHEMES: Record<DbBranchType, string[]> = { pg: ['postgres:', 'postgresql:'], mysql: ['mysql:', 'mariadb:'] };

export interface BranchSource {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** The local process's variables, given the branch's host name. */
  env(branchHost: string): Record<string, string>;
}

/** A config problem: the key it is about, and what is wrong. */
export class BranchConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
  }
}

/**
 * The Secrets the pod uses (its containers' env and envFrom, its volumes): the only ones a
 * session may name. Whoever attaches gets the pod's variables anyway; any other Secret of the
 * namespace the operator could read, and the session could not.
 */
export function podSecrets(pod: V1Pod): Set<string> {
  const names = new Set<string>();
  const spec = pod.spec;
  for (const container of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
    for (const entry of container.env ?? []) if (entry.valueFrom?.secretKeyRef?.name) names.add(entry.valueFrom.secretKeyRef.name);
    for (const source of container.envFrom ?? []) if (source.secretRef?.name) names.add(source.secretRef.name);
  }
  for (const volume of spec?.volumes ?? []) {
    if (volume.secret?.secretName) names.add(volume.secret.secretName);
    for (const projected of volume.projected?.sources ?? []) if (projected.secret?.name) names.add(projected.secret.name);
  }
  return names;
}

/** Reads the source of `request` (the `index`th of `feature.db_branches`) from the pod's container that would use it. */
export async function readBranchSource(
  pod: V1Pod,
  container: V1Container,
  request: DbBranchRequest,
  index: number,
  readers: Required<KeyReaders>,
): Promise<BranchSource> {
  const key = `feature.db_branches[${index}]`;
  const usable = podSecrets(pod);
  const read = async (source: DbValueSource, at: string): Promise<string> => {
    if (source.type === 'secret') {
      if (!usable.has(source.name)) {
        throw new BranchConfigError(`${key}.${at}`, `the target's pod uses no Secret ${source.name} (in env, envFrom or volumes): name one it uses`);
      }
      const value = await readers.secret(source.name, source.key);
      if (value === undefined) throw new BranchConfigError(`${key}.${at}`, `no Secret ${source.name} with a key ${source.key} in the target's namespace`);
      return value;
    }
    let found;
    try {
      found = await containerVariable(container, source.variable, readers);
    } catch (error) {
      throw new BranchConfigError(`${key}.${at}`, (error as Error).message);
    }
    if (found === undefined) {
      throw new BranchConfigError(`${key}.${at}`, `container ${container.name} of the target has no variable ${source.variable} (in env or envFrom)`);
    }
    return found.value;
  };

  if ('url' in request.connection) {
    const variable = request.connection.url.variable;
    const text = await read(request.connection.url, 'connection.url');
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new BranchConfigError(`${key}.connection.url`, `${variable} is not a URL`);
    }
    if (!URL_SCHEMES[request.type].includes(url.protocol)) {
      throw new BranchConfigError(
        `${key}.connection.url`,
        `${variable} is a ${url.protocol} URL, not one of ${URL_SCHEMES[request.type].join(' ')} (type ${request.type})`,
      );
    }
    const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || request.name;
    if (!database) throw new BranchConfigError(`${key}.name`, `${variable} names no database: name it here`);
    if (!url.hostname) throw new BranchConfigError(`${key}.connection.url`, `${variable} names no host`);
    return {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : ENGINE_PORT[request.type],
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
      database,
      env: (branchHost) => {
        const pointed = new URL(text);
        pointed.hostname = branchHost;
        return { [variable]: pointed.toString() };
      },
    };
  }

  const { params } = request.connection;
  const host = await read(params.host, 'connection.params.host');
  const portText = params.port ? await read(params.port, 'connection.params.port') : String(ENGINE_PORT[request.type]);
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new BranchConfigError(`${key}.connection.params.port`, 'not a port number');
  const database = (params.database ? await read(params.database, 'connection.params.database') : undefined) || request.name;
  if (!database) throw new BranchConfigError(`${key}.name`, 'the connection names no database: name it here or in connection.params.database');
  return {
    host,
    port,
    user: await read(params.user, 'connection.params.user'),
    password: await read(params.password, 'connection.params.password'),
    database,
    env: (branchHost) => ({ [params.host.variable]: branchHost }),
  };
}
