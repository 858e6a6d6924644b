/**
 * Turns zod's issues into one line naming the key. For a setting that takes either a short
 * form or an object (`"steal"` or `{ "mode": … }`), zod reports every alternative; the one
 * matching the kind of value the user wrote is the one they meant, so its issue is reported.
 */
import type { core } from 'zod';
import { keysAt, nearest } from './keys';

type Issue = core.$ZodIssue;
type Path = PropertyKey[];

export function keyPath(path: Path): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text ? `.${String(part)}` : String(part);
  }
  return text || '(top level)';
}

interface Problem {
  text: string;
  /** What to write instead, when it can be told. */
  hint?: string;
}

/**
 * The most specific description of the first problem, as `key: what is wrong`, and for an
 * unknown key the keys allowed there, with a "did you mean" when one is close.
 */
export function describeIssues(issues: readonly Issue[], schema?: core.$ZodType): { message: string; hint?: string } {
  const problems = issues.flatMap((issue) => describe(issue, [], schema));
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return { message: `${problems[0]?.text ?? 'invalid'}${more}`, hint: problems[0]?.hint };
}

function describe(issue: Issue, prefix: Path, schema: core.$ZodType | undefined): Problem[] {
  const path = [...prefix, ...issue.path];
  const line = (text: string): Problem[] => [{ text: `${keyPath(path)}: ${text}` }];
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = schema ? keysAt(schema, path) : [];
      return issue.keys.map((key) => {
        const guess = nearest(key, known);
        const where = path.length ? keyPath(path) : 'the top level';
        const hint = known.length ? `${guess ? `did you mean "${guess}"? ` : ''}the keys of ${where} are ${known.join(', ')}` : undefined;
        return { text: `${keyPath([...path, key])}: unknown key`, hint };
      });
    }
    case 'invalid_union': {
      const branches: Issue[][] = issue.errors;
      const atRoot = (branch: Issue[], codes: string[]) => branch.some((inner) => inner.path.length === 0 && codes.includes(inner.code));
      const sameKind = branches.filter((branch) => !atRoot(branch, ['invalid_type']));
      const meant = sameKind.length > 1 ? sameKind.filter((branch) => !atRoot(branch, ['invalid_value'])) : sameKind;
      if (meant.length === 1) return meant[0].flatMap((inner) => describe(inner, path, schema));
      const expected = branches.flatMap((branch) => branch.filter((inner) => inner.code === 'invalid_type' && inner.path.length === 0).map((inner) => (inner as core.$ZodIssueInvalidType).expected));
      return line(`expected ${[...new Set(expected)].join(' or ')}, got ${kindOf(issue.input)}`);
    }
    case 'invalid_type':
      return line(`expected ${issue.expected}, got ${kindOf(issue.input)}`);
    case 'invalid_value':
      return line(`${JSON.stringify(issue.input)} is not one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`);
    case 'too_small':
    case 'too_big':
      return line(issue.message.replace(/^Too (small|big): expected \w+ to (be|have) /, 'must $2 '));
    default:
      return line(issue.message);
  }
}

function kindOf(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}
