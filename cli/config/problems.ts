/**
 * Everything wrong with one run's configuration, reported at once: the file, the MIRRORD_*
 * variables and the flags are all checked before anything starts, so that the user fixes every
 * mistake in one go instead of meeting them one run at a time.
 */
import { CliError } from '../errors';

export interface Problem {
  /** `where: key: what is wrong`, where is the file, the variable or the flag. */
  text: string;
  /** What to write instead, when it can be told. */
  hint?: string;
  /** For an unknown key: the key probably meant. */
  guess?: string;
}

export const REFERENCE_HINT = 'the keys and their types are listed in cli/config/mirrord.schema.json and in the README ("mirrord.json")';

/** One problem reads as before (its line and its hint); several are listed one per line. */
export function problemsError(problems: readonly Problem[], hint = REFERENCE_HINT, exitCode?: number): CliError {
  if (problems.length === 1) return new CliError(problems[0].text, problems[0].hint ?? hint, exitCode);
  const lines = problems.map((problem) => `  ${problem.text}${problem.guess ? ` (did you mean "${problem.guess}"?)` : ''}`);
  return new CliError(`the configuration has ${problems.length} problems:\n${lines.join('\n')}`, hint, exitCode);
}

/** Prefixes each problem with where it was found. */
export function locate(where: string, problems: readonly Problem[]): Problem[] {
  return problems.map((problem) => ({ ...problem, text: `${where}: ${problem.text}` }));
}
