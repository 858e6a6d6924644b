/**
 * One setting given outside the file (a MIRRORD_* variable, a flag) as the file fragment it
 * stands for, checked by the file's schema, so that a bad value reads as it would in the file
 * but under the name the user wrote.
 */
import { describeIssues, keyPath } from './issues';
import type { Problem } from './problems';
import { configSchema, type FileConfig } from './schema';

export function checkFragment(name: string, path: string[], value: unknown): { config?: FileConfig; problems: Problem[] } {
  const fragment = path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);
  const result = configSchema.safeParse(fragment, { reportInput: true });
  if (result.success) return { config: result.data, problems: [] };
  const problems = describeIssues(result.error.issues, configSchema).map((problem) => ({ ...problem, text: problem.text.replace(keyPath(path), name) }));
  return { problems };
}
