/**
 * Path rules of a ticket: which of the pod's files a session may not change (`readOnly`), must
 * read from its own machine (`local`), or must not see at all (`notFound`). Written by the
 * operator from the policies' `fs` patterns, checked by the sidecar on every file request, on
 * the path asked for and on where the kernel resolved it (a symlink can't lead around a rule).
 * The sidecar tells the client the rules in `hello`, so its `local` paths stay on its machine.
 */
import { z } from './zod';
import { re2Pattern, re2Searcher } from './re2';

export const fsPathRule = z.object({
  /** An RE2 regex searched in the absolute path, case-insensitively (as mirrord's fs patterns). */
  pattern: re2Pattern,
  /** The policy the rule comes from, named in refusals. */
  policy: z.string(),
});

const rules = z.array(fsPathRule).max(256);

export const ticketFsPaths = z.object({
  /** Paths the session may read but not change: a change gets EROFS. */
  readOnly: rules,
  /** Paths the session reads from its own machine: the pod's answer EACCES. */
  local: rules,
  /** Paths that don't exist for the session: ENOENT, and left out of directory listings. */
  notFound: rules,
});

export type FsPathRule = z.infer<typeof fsPathRule>;
export type TicketFsPaths = z.infer<typeof ticketFsPaths>;

/** Whether a request reads what the path names or changes it (creates, writes, removes, renames, chmods). */
export type PathUse = 'read' | 'change';

export interface FsPathRefusal {
  code: 'ENOENT' | 'EACCES' | 'EROFS';
  reason: string;
}

type Compiled = { rule: FsPathRule; finds: (path: string) => boolean }[];

/** A ticket's path rules compiled once, for a session's every file request. */
export class FsPathRules {
  private readonly readOnly: Compiled;
  private readonly local: Compiled;
  private readonly notFound: Compiled;

  constructor(paths: TicketFsPaths) {
    const compile = (list: FsPathRule[]): Compiled => list.map((rule) => ({ rule, finds: re2Searcher(rule.pattern) }));
    this.readOnly = compile(paths.readOnly);
    this.local = compile(paths.local);
    this.notFound = compile(paths.notFound);
  }

  /**
   * Why `path` (absolute, normalised) may not be used so, or undefined when it may. `notFound`
   * wins over `local`, `local` over `readOnly`. A path is matched as it is and as a directory
   * (`^/data/secrets/` covers `/data/secrets` itself); what lies beneath a `notFound` or a
   * `local` path is too (nothing exists under a directory that doesn't).
   */
  refusal(path: string, use: PathUse): FsPathRefusal | undefined {
    const own = forms(path);
    const withAncestors = [...ancestors(path).flatMap(forms), ...own];
    const hit = (list: Compiled, candidates: string[]) => list.find(({ finds }) => candidates.some(finds))?.rule;
    const by = (rule: FsPathRule, field: string) => `fs.${field} /${rule.pattern}/ of policy ${rule.policy}`;
    const hidden = hit(this.notFound, withAncestors);
    if (hidden) return { code: 'ENOENT', reason: `${path} does not exist for this session (${by(hidden, 'notFound')})` };
    const local = hit(this.local, withAncestors);
    if (local) return { code: 'EACCES', reason: `${path} is read from the session's own machine, never the pod (${by(local, 'local')})` };
    const readOnly = use === 'change' ? hit(this.readOnly, own) : undefined;
    if (readOnly) return { code: 'EROFS', reason: `${path} may only be read by this session (${by(readOnly, 'readOnly')})` };
    return undefined;
  }

  /** Whether the entry `path` (in a directory already allowed) is left out of listings: a `notFound` path. */
  hides(path: string): boolean {
    const own = forms(path);
    return this.notFound.some(({ finds }) => own.some(finds));
  }
}

/** `path` as a file and as a directory: `/a/b` and `/a/b/` (`/` is both). */
function forms(path: string): string[] {
  const bare = path.length > 1 ? path.replace(/\/+$/, '') : path;
  return bare === '/' ? ['/'] : [bare, `${bare}/`];
}

/** The directories above `path`, below `/`: `/a/b/c` gives `/a`, `/a/b`. */
function ancestors(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

/** The rules of `paths` that a ticket carries, or undefined when there are none. */
export function fsPathsOrNone(paths: TicketFsPaths): TicketFsPaths | undefined {
  return paths.readOnly.length || paths.local.length || paths.notFound.length ? paths : undefined;
}

/** One line for the developer: which paths the policies hold, and by which policy. */
export function describeFsPaths(paths: TicketFsPaths): string {
  const list = (what: string, rules: FsPathRule[]) =>
    rules.length ? [`${what} ${rules.map(({ pattern, policy }) => `/${pattern}/ (${policy})`).join(', ')}`] : [];
  const parts = [...list("don't exist:", paths.notFound), ...list('read from this machine:', paths.local), ...list('read-only:', paths.readOnly)];
  return `the policies hold the pod's files: ${parts.join('; ')}`;
}
