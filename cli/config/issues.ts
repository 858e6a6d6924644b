/**
 * Turns zod's issues into one line naming the key. For a setting that takes either a short
 * form or an object (`"steal"` or `{ "mode": … }`), zod reports every alternative; the one
 * matching the kind of value the user wrote is the one they meant, so its issue is reported.
 */
import type { core } from 'zod';

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

/** The most specific description of the first problem, as `key: what is wrong`. */
export function describeIssues(issues: readonly Issue[]): string {
  const lines = issues.flatMap((issue) => describe(issue, []));
  const more = lines.length > 1 ? ` (and ${lines.length - 1} more)` : '';
  return `${lines[0] ?? 'invalid'}${more}`;
}

function describe(issue: Issue, prefix: Path): string[] {
  const path = [...prefix, ...issue.path];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => `${keyPath([...path, key])}: unknown key`);
    case 'invalid_union': {
      const branches: Issue[][] = issue.errors;
      const atRoot = (branch: Issue[], codes: string[]) => branch.some((inner) => inner.path.length === 0 && codes.includes(inner.code));
      const sameKind = branches.filter((branch) => !atRoot(branch, ['invalid_type']));
      const meant = sameKind.length > 1 ? sameKind.filter((branch) => !atRoot(branch, ['invalid_value'])) : sameKind;
      if (meant.length === 1) return meant[0].flatMap((inner) => describe(inner, path));
      const expected = branches.flatMap((branch) => branch.filter((inner) => inner.code === 'invalid_type' && inner.path.length === 0).map((inner) => (inner as core.$ZodIssueInvalidType).expected));
      return [`${keyPath(path)}: expected ${[...new Set(expected)].join(' or ')}, got ${kindOf(issue.input)}`];
    }
    case 'invalid_type':
      return [`${keyPath(path)}: expected ${issue.expected}, got ${kindOf(issue.input)}`];
    case 'invalid_value':
      return [`${keyPath(path)}: ${JSON.stringify(issue.input)} is not one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`];
    case 'too_small':
    case 'too_big':
      return [`${keyPath(path)}: ${issue.message.replace(/^Too (small|big): expected \w+ to (be|have) /, 'must $2 ')}`];
    default:
      return [`${keyPath(path)}: ${issue.message}`];
  }
}

function kindOf(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value)}`;
}
