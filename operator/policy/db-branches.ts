/** `requireDbBranches`: a session on the target must work on a branch of the database, never on the target's own. */
import { refusal, type PolicyRefusal } from './refusal';
import type { NamedPolicy } from './spec';

/** The first applying policy that requires a database branch when the session asks for none, or undefined. */
export function dbBranchRefusal(policies: readonly NamedPolicy[], branches: number, targetPath: string): PolicyRefusal | undefined {
  if (branches > 0) return undefined;
  const requiring = policies.find(({ spec }) => spec.requireDbBranches);
  return (
    requiring &&
    refusal(
      requiring.name,
      `a session without a database branch on ${targetPath}`,
      'a session with a database branch (feature.db_branches) for the database it uses',
    )
  );
}
