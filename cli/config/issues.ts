/**
 * Turns zod's issues into lines naming the key, every one of them. For a setting that takes
 * either a short form or an object (`"steal"` or `{ "mode": … }`), zod reports every
 * alternative; the one matching the kind of value the user wrote is the one they meant, so its
 * issue is reported.
 */
import type { core } from '../../protocol/zod';
import { keysAt, nearest } from './keys';
import type { Problem } from './problems';

type Issue = core.$ZodIssue;
type Path = PropertyKey[];

export function keyPath(path: Path): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    // A map's key (a regex, a variable name) may hold dots and brackets of its own.
    else if (!/^[A-Za-z_$][\w$-]*$/.test(String(part))) text += `[${JSON.stringify(String(part))}]`;
    else text += text ? `.${String(part)}` : String(part);
  }
  return text || '(top level)';
}

/**
 * Every problem, most specific first within its setting, as `key: what is wrong`; for an
 * unknown key, the keys allowed there and a "did you mean" when one is close.
 */
export function describeIssues(issues: readonly Issue[], schema?: core.$ZodType): Problem[] {
  return issues.flatMap((issue) => describe(issue, [], schema));
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
        return { text: `${keyPath([...path, key])}: unknown key`, hint, guess };
      });
    }
    case 'invalid_union': {
      const branches: Issue[][] = issue.errors;
      const atRoot = (branch: Issue[], codes: string[]) => branch.some((inner) => inner.path.length === 0 && codes.includes(inner.code));
      const sameKind = branches.filter((branch) => !atRoot(branch, ['invalid_type']));
      const meant = sameKind.length > 1 ? sameKind.filter((branch) => !atRoot(branch, ['invalid_value'])) : sameKind;
      // Several forms of the same kind (objects with different keys): the closest one.
      const closest = [...meant].sort((a, b) => a.length - b.length)[0];
      if (closest) return closest.flatMap((inner) => describe(inner, path, schema));
      const expected = branches.flatMap((branch) =>
        branch.filter((inner) => inner.code === 'invalid_type' && inner.path.length === 0).map((inner) => (inner as core.$ZodIssueInvalidType).expected),
      );
      return line(`expected ${[...new Set(expected)].join(' or ')}, got ${kindOf(issue.input)}`);
    }
    case 'invalid_key':
      return issue.issues.flatMap((inner) => describe(inner as Issue, path, schema));
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
