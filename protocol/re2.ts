/**
 * RE2 regular expressions (linear time): every pattern a policy writes and a user's input meets
 * (a header filter's text, a file's path) is compiled by RE2, so no input can make it backtrack
 * for ever. Searched, not anchored, as mirrord's Rust `regex` does.
 */
import type { RE2JS as Re2Js } from 're2js';
import { z } from './zod';

let loaded: typeof Re2Js | undefined;
/**
 * The library, loaded by the first pattern compiled: a session without filters or path rules
 * (the common one) never needs it, and loading it takes the CLI as long as its own start-up code.
 */
function re2(): typeof Re2Js {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (loaded ??= (require('re2js') as typeof import('re2js')).RE2JS);
}

/** `source` compiled as RE2, or its error thrown. */
export function re2Compile(source: string): void {
  re2().compile(source);
}

/** Why `source` is not an RE2 regular expression, or undefined when it compiles. */
export function re2Problem(source: string): string | undefined {
  try {
    re2Compile(source);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** A pattern of the contracts, checked to compile as RE2. */
export const re2Pattern = z.string().refine((source) => re2Problem(source) === undefined, { message: 'not a valid RE2 regular expression' });

/** Whether RE2 `pattern` matches somewhere in `text`. */
export function re2Finds(pattern: string, text: string): boolean {
  return re2().compile(pattern).matcher(text).find();
}

const ASCII = /^[\x00-\x7f]*$/;

/**
 * `pattern` compiled once, case-insensitive (as mirrord's fs patterns), for many searches. A
 * text that can't start with the pattern's literal start is answered without the regex, which
 * costs microseconds a search: most path patterns are `^/literal…`. Only ASCII is compared so:
 * RE2 folds a few other characters onto ASCII letters (the Kelvin sign onto `k`).
 */
export function re2Searcher(pattern: string): (text: string) => boolean {
  const compiled = re2().compile(pattern, re2().CASE_INSENSITIVE);
  const prefix = literalPrefix(pattern).toLowerCase();
  const start = ASCII.test(prefix) ? prefix : '';
  return (text) => {
    if (start) {
      const head = text.slice(0, start.length);
      if (ASCII.test(head) && head.toLowerCase() !== start) return false;
    }
    return compiled.matcher(text).find();
  };
}

const QUANTIFIER = new Set(['?', '*', '+', '{']);
const SPECIAL = new Set(['.', '(', ')', '[', ']', '|', '$', '^', ...QUANTIFIER]);

/**
 * The text every path matching `pattern` starts with: the literal start of an anchored regex.
 * A pattern it can't vouch for (unanchored, or with an alternative) gives '', so the layer asks
 * about every absolute path.
 */
export function literalPrefix(pattern: string): string {
  if (!pattern.startsWith('^') || hasTopLevelAlternative(pattern)) return '';
  let literal = '';
  for (let i = 1; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '\\') {
      const next = pattern[i + 1];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) break; // \d, \w, \b… are classes, not characters
      literal += next;
      i++;
      continue;
    }
    if (SPECIAL.has(char)) {
      if (QUANTIFIER.has(char)) literal = literal.slice(0, -1); // the character before it may be absent
      break;
    }
    literal += char;
  }
  return literal;
}

/** `^/a|/b`: the anchor and the literal only hold for the first alternative. */
function hasTopLevelAlternative(pattern: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '\\') i++;
    else if (inClass) inClass = char !== ']';
    else if (char === '[') inClass = true;
    else if (char === '(') depth++;
    else if (char === ')') depth--;
    else if (char === '|' && depth === 0) return true;
  }
  return false;
}
