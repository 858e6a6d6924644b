/** What `fs.open`'s flags (Linux open(2) flags) mean to both ends of a session. */
import { constants } from 'node:fs';

export const O_ACCMODE = 3;
const { O_CREAT, O_TRUNC } = constants;

/**
 * Whether open() flags ask to change the file or its directory: a write access mode (which
 * O_TMPFILE needs too), O_CREAT or O_TRUNC (which truncates even with O_RDONLY).
 */
export function opensForWriting(flags: number): boolean {
  return (flags & O_ACCMODE) !== 0 || (flags & (O_CREAT | O_TRUNC)) !== 0;
}
