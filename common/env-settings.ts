/**
 * Reading a component's settings from its environment (set by its Deployment): each reader
 * refuses a bad value with a message naming the variable, so a component stops at start instead
 * of misbehaving later.
 */
export function integer(env: NodeJS.ProcessEnv, key: string, fallback: number, min: number, max: number): number {
  const text = env[key];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new Error(`${key}="${text}" must be an integer from ${min} to ${max}`);
  return value;
}

/** A DNS-1123 name, as Kubernetes object names are. */
export function kubeName(env: NodeJS.ProcessEnv, key: string, fallback: string): string {
  const value = env[key] || fallback;
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)) throw new Error(`${key}="${value}" is not a valid Kubernetes name`);
  return value;
}

export function oneOf<T extends string>(env: NodeJS.ProcessEnv, key: string, allowed: readonly T[], fallback: T): T {
  const value = env[key] || fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`${key}="${value}" is not one of ${allowed.join(', ')}`);
  return value as T;
}
