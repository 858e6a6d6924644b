/**
 * RE2 regular expressions (linear time): every pattern a policy writes and a user's input meets
 * (a header filter's text, a file's path) is compiled by RE2, so no input can make it backtrack
 * for ever. Searched, not anchored, as mirrord's Rust `regex` does.
 */
import { RE2JS } from 're2js';
import { z } from 'zod';

/** Why `source` is not an RE2 regular expression, or undefined when it compiles. */
export function re2Problem(source: string): string | undefined {
  try {
    RE2JS.compile(source);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** A pattern of the contracts, checked to compile as RE2. */
export const re2Pattern = z.string().refine((source) => re2Problem(source) === undefined, { message: 'not a valid RE2 regular expression' });

/** Whether RE2 `pattern` matches somewhere in `text`. */
export function re2Finds(pattern: string, text: string): boolean {
  return RE2JS.compile(pattern).matcher(text).find();
}

/** `pattern` compiled once, case-insensitive (as mirrord's fs patterns), for many searches. */
export function re2Searcher(pattern: string): (text: string) => boolean {
  const compiled = RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE);
  return (text) => compiled.matcher(text).find();
}
