/**
 * The keys a schema allows at a path, and the nearest one to a misspelling: an unknown key is
 * most often a typo, and naming the intended key saves a trip to the reference.
 */
import type { core } from '../../protocol/zod';

type Schema = core.$ZodType;

export function keysAt(schema: Schema, path: readonly PropertyKey[]): string[] {
  const objects = objectsAt(schema, path);
  return [...new Set(objects.flatMap((object) => Object.keys((object._zod.def as core.$ZodObjectDef).shape)))];
}

function objectsAt(schema: Schema, path: readonly PropertyKey[]): Schema[] {
  return forms(schema).flatMap((form) => {
    const def = form._zod.def as core.$ZodTypeDef & Record<string, unknown>;
    switch (def.type) {
      case 'object': {
        if (!path.length) return [form];
        const child = (def.shape as Record<string, Schema>)[String(path[0])];
        return child ? objectsAt(child, path.slice(1)) : [];
      }
      case 'array':
        return path.length ? objectsAt(def.element as Schema, path.slice(1)) : [];
      case 'record':
        return path.length ? objectsAt(def.valueType as Schema, path.slice(1)) : [];
      case 'tuple':
        return path.length ? objectsAt((def.items as Schema[])[Number(path[0])], path.slice(1)) : [];
      default:
        return [];
    }
  });
}

/** The schemas a setting may take: through optional, nullable, default and pipe, each member of a union. */
export function forms(schema: Schema): Schema[] {
  const def = schema._zod.def as core.$ZodTypeDef & Record<string, unknown>;
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
      return forms(def.innerType as Schema);
    case 'pipe':
      return forms(def.in as Schema);
    case 'union':
      return (def.options as Schema[]).flatMap(forms);
    default:
      return [schema];
  }
}

/**
 * The one candidate that `word` abbreviates (`header` for `header_filter`), else the one
 * within a couple of edits of it; nothing when that is ambiguous.
 */
export function nearest(word: string, candidates: string[]): string | undefined {
  const lower = word.toLowerCase();
  const extended = candidates.filter((candidate) => lower.length >= 3 && candidate.toLowerCase().startsWith(lower));
  if (extended.length === 1) return extended[0];
  const scored = candidates.map((candidate) => ({ candidate, distance: distance(lower, candidate.toLowerCase()) }));
  const best = Math.min(...scored.map((s) => s.distance));
  const winners = scored.filter((s) => s.distance === best);
  return best <= Math.max(2, Math.floor(word.length / 3)) && winners.length === 1 ? winners[0].candidate : undefined;
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
