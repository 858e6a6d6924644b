/**
 * The app container's environment, copied into the sidecar under APP_ENV_PREFIX. Kubernetes
 * resolves each copy exactly as it resolves the original (same ConfigMaps, Secrets, downward
 * API), and the sidecar's own runtime never sees the app's variables under their real names.
 */
import type { V1Container, V1EnvFromSource, V1EnvVar } from '../../common/kube-client';
import { APP_ENV_PREFIX } from '../../common/pod-contract';

export function copyAppEnv(app: V1Container): V1EnvVar[] {
  // Variables from envFrom can be referenced too, but their names are unknown here.
  const anyNameMayExist = (app.envFrom ?? []).length > 0;
  const defined = new Set<string>();
  return (app.env ?? []).map((variable) => {
    const copy: V1EnvVar = { ...variable, name: APP_ENV_PREFIX + variable.name };
    if (variable.value !== undefined) {
      copy.value = rewriteReferences(variable.value, (name) => anyNameMayExist || defined.has(name));
    }
    const resourceField = variable.valueFrom?.resourceFieldRef;
    if (resourceField && !resourceField.containerName) {
      // Without a container name it means "this container": the sidecar's limits, not the app's.
      copy.valueFrom = { ...variable.valueFrom, resourceFieldRef: { ...resourceField, containerName: app.name } };
    }
    defined.add(variable.name);
    return copy;
  });
}

/** Our prefix goes first so every copied name starts with it; the app's own prefix follows. */
export function copyAppEnvFrom(app: V1Container): V1EnvFromSource[] {
  return (app.envFrom ?? []).map((source) => ({ ...source, prefix: APP_ENV_PREFIX + (source.prefix ?? '') }));
}

/**
 * Points `$(NAME)` at the prefixed copy. Kubernetes expands a reference only to a variable
 * defined before it (else leaves the text as is), and `$$` is an escaped `$`; a reference
 * that wouldn't expand for the app is left alone so it stays the same literal text.
 */
export function rewriteReferences(value: string, isDefined: (name: string) => boolean): string {
  let result = '';
  for (let i = 0; i < value.length; i++) {
    const char = value[i];
    if (char === '$' && value[i + 1] === '$') {
      result += '$$';
      i++;
      continue;
    }
    if (char === '$' && value[i + 1] === '(') {
      const close = value.indexOf(')', i + 2);
      if (close > 0) {
        const name = value.slice(i + 2, close);
        if (name.length > 0 && isDefined(name)) {
          result += `$(${APP_ENV_PREFIX}${name})`;
          i = close;
          continue;
        }
      }
    }
    result += char;
  }
  return result;
}
