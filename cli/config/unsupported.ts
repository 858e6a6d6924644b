/**
 * The keys of mirrord's configuration that this implementation accepts without acting on them:
 * features of later work (`notYet`) and settings that mean nothing here (`moot`). The schema
 * marks them where it declares them, so the list can't drift from the schema, and a file that
 * sets one gets one warning naming it, never silence.
 */
import { z, type core } from '../../protocol/zod';
import { keyPath } from './issues';
import { forms } from './keys';

interface Unsupported {
  /** Why the key has no effect here; absent for a feature not supported yet. */
  why?: string;
  /** The value that asks for what happens here anyway (`"copy_target": false`): no warning. */
  here?: unknown;
}

const registry = z.registry<Unsupported>();

/** A key of a feature not supported yet; `here`: its value that describes this implementation. */
export function notYet<T extends z.ZodType>(schema: T, description: string, here?: unknown): z.ZodOptional<T> {
  const marked = schema.optional().meta({ description: `${description} (not supported yet: ignored, with a warning)` });
  registry.add(marked, here === undefined ? {} : { here });
  return marked;
}

/** A key whose setting has no meaning here; `here`: its value that describes this implementation. */
export function moot<T extends z.ZodType>(schema: T, description: string, why: string, here?: unknown): z.ZodOptional<T> {
  const marked = schema.optional().meta({ description: `${description} (no effect here: ${why})` });
  registry.add(marked, here === undefined ? { why } : { why, here });
  return marked;
}

export interface UnsupportedKey extends Unsupported {
  path: string[];
}

/** Every marked key of `schema`, by its path (through the object forms of short-form settings). */
export function unsupportedKeys(schema: core.$ZodType): UnsupportedKey[] {
  // A key declared in several forms of a setting (union branches) is one key.
  return [...new Map(marked(schema, []).map((key) => [key.path.join('.'), key])).values()];
}

function marked(schema: core.$ZodType, path: string[]): UnsupportedKey[] {
  return forms(schema).flatMap((form) => {
    const def = form._zod.def as core.$ZodTypeDef & Record<string, unknown>;
    if (def.type !== 'object') return [];
    // has(), not get(): a key not supported yet is registered with no reason.
    return Object.entries(def.shape as Record<string, core.$ZodType>).flatMap(([key, child]) =>
      registry.has(child) ? [{ ...registry.get(child), path: [...path, key] }] : marked(child, [...path, key]),
    );
  });
}

/** One line per marked key that `config` sets to something this implementation doesn't do (null counts as unset, as in mirrord). */
export function unsupportedWarnings(schema: core.$ZodType, config: unknown, where: string): string[] {
  return unsupportedKeys(schema)
    .filter(({ path, here }) => {
      const value = valueAt(config, path);
      return value != null && value !== here;
    })
    .map(({ path, why }) => `${where}: ${keyPath(path)} ${why ? `has no effect here (${why})` : 'is not supported yet'}; it is ignored`);
}

function valueAt(value: unknown, path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
