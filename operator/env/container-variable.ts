/**
 * A container's variable as its spec gives it: a value, a ConfigMap's or a Secret's key
 * (`valueFrom`), or a whole ConfigMap or Secret (`envFrom`, with its prefix); `$(NAME)` in a
 * value expanded as the kubelet does. Variables the image sets are not in the spec, and are not
 * found here.
 */
import type { V1Container } from '../../common/kube-client';

/** Reads a key of a ConfigMap or a Secret in the pod's namespace (undefined when the object or the key isn't there). */
export type KeyReader = (name: string, key: string) => Promise<string | undefined>;

export interface KeyReaders {
  configMap: KeyReader;
  /** Absent: a variable that comes from a Secret is reported as not found. */
  secret?: KeyReader;
}

/** Where a variable's value comes from, said for a message (never the value). */
export type VariableOrigin = { kind: 'value' } | { kind: 'configMap' | 'secret'; name: string; key: string };

export interface ContainerVariable {
  value: string;
  origin: VariableOrigin;
}

function describeOrigin(origin: VariableOrigin): string {
  return origin.kind === 'value' ? 'a value' : `${origin.kind === 'secret' ? 'Secret' : 'ConfigMap'} ${origin.name}, key ${origin.key}`;
}

/**
 * The variable's value and where it came from; undefined when the spec doesn't define it. An
 * Error when it is defined but can't be read, saying where it was looked for. Later definitions
 * win, as in a running container: `env` over `envFrom`, and a later `envFrom` over an earlier one.
 */
export async function containerVariable(container: V1Container, variable: string, readers: KeyReaders): Promise<ContainerVariable | undefined> {
  const defined = [...(container.env ?? [])].reverse().find((entry) => entry.name === variable);
  let origin: VariableOrigin | undefined;
  if (defined) {
    const { configMapKeyRef: fromMap, secretKeyRef: fromSecret } = defined.valueFrom ?? {};
    if (defined.value !== undefined || !defined.valueFrom) {
      // `$(NAME)` in a value is a variable defined before it, as the kubelet expands it.
      const earlier = { ...container, env: container.env!.slice(0, container.env!.lastIndexOf(defined)) };
      return { value: await expand(defined.value ?? '', (name) => containerVariable(earlier, name, readers)), origin: { kind: 'value' } };
    }
    if (fromMap?.name && fromMap.key) origin = { kind: 'configMap', name: fromMap.name, key: fromMap.key };
    else if (fromSecret?.name && fromSecret.key) origin = { kind: 'secret', name: fromSecret.name, key: fromSecret.key };
    else throw new Error(`container ${container.name} takes ${variable} from a source other than a value, a ConfigMap key or a Secret key`);
  } else {
    for (const source of [...(container.envFrom ?? [])].reverse()) {
      const prefix = source.prefix ?? '';
      if (!variable.startsWith(prefix)) continue;
      const key = variable.slice(prefix.length);
      const name = source.secretRef?.name ?? source.configMapRef?.name;
      if (!name) continue;
      const kind = source.secretRef ? 'secret' : 'configMap';
      const value = await read(readers, kind, name, key);
      if (value !== undefined) return { value, origin: { kind, name, key } };
    }
    return undefined;
  }
  const value = await read(readers, origin.kind, origin.name, origin.key);
  if (value === undefined) throw new Error(`container ${container.name} takes ${variable} from ${describeOrigin(origin)}, which does not exist`);
  return { value, origin };
}

/**
 * The kubelet's expansion of a value: `$(NAME)` becomes NAME's value where it is defined (else it
 * stays as written), `$$` a `$`.
 */
async function expand(value: string, lookUp: (name: string) => Promise<ContainerVariable | undefined>): Promise<string> {
  let expanded = '';
  let at = 0;
  for (const match of value.matchAll(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g)) {
    const name = match[1];
    const found = name === undefined ? undefined : await lookUp(name);
    expanded += value.slice(at, match.index) + (name === undefined ? '$' : (found?.value ?? match[0]));
    at = match.index + match[0].length;
  }
  return expanded + value.slice(at);
}

function read(readers: KeyReaders, kind: 'configMap' | 'secret', name: string, key: string): Promise<string | undefined> {
  if (kind === 'configMap') return readers.configMap(name, key);
  if (!readers.secret) throw new Error(`the value comes from Secret ${name}, key ${key}, which is not read for this`);
  return readers.secret(name, key);
}
