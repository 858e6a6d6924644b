/**
 * The policies' regular expressions (the required header filter, the fs patterns): RE2, as every
 * pattern that meets a user's input, searched (not anchored) as mirrord's Rust `regex` does.
 */
import { RE2JS } from 're2js';
import { cidrProblem } from '../../protocol/outgoing-rules';
import { re2Problem } from '../../protocol/re2';
import { refusal, type PolicyRefusal } from './refusal';
import type { NamedPolicy } from './spec';

/**
 * A refusal naming the first applying policy with a pattern that does not compile (or an outgoing
 * rule's CIDR that isn't one): a policy that can't be evaluated fails closed (its author, not the
 * session, has to fix it).
 */
export function invalidPatternRefusal(policies: readonly NamedPolicy[]): PolicyRefusal | undefined {
  for (const { name, spec } of policies) {
    const fields: [string, string[]][] = [
      [
        'network.incoming.httpFilter.headerFilter',
        spec.network?.incoming?.httpFilter?.headerFilter === undefined ? [] : [spec.network.incoming.httpFilter.headerFilter],
      ],
      ['fs.readOnly', spec.fs?.readOnly ?? []],
      ['fs.local', spec.fs?.local ?? []],
      ['fs.notFound', spec.fs?.notFound ?? []],
    ];
    for (const kind of ['allow', 'block'] as const) {
      for (const rule of spec.network?.outgoing?.[kind] ?? []) {
        const problem = rule.cidr === undefined ? undefined : cidrProblem(rule.cidr);
        if (problem !== undefined) return refusal(name, `every session (its network.outgoing.${kind} ${problem})`, 'nothing until the policy is fixed');
      }
    }
    for (const [field, patterns] of fields) {
      for (const pattern of patterns) {
        const problem = re2Problem(pattern);
        if (problem !== undefined) {
          return refusal(
            name,
            `every session (its ${field} "${pattern}" is not a valid RE2 regular expression: ${problem})`,
            'nothing until the policy is fixed',
          );
        }
      }
    }
  }
  return undefined;
}

/** A regex that matches exactly one of the texts, whole (each quoted literally). */
export function exactlyOneOf(texts: readonly string[]): string {
  return `^(?:${texts.map((text) => RE2JS.quote(text)).join('|')})$`;
}
