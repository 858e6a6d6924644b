/**
 * Which files are the pod's, as mirrord's `feature.fs` says (mirrord's layer, `file/filter.rs`):
 * a path the app uses is first rewritten by `mapping`, then `not_found`, `read_write`,
 * `read_only` and `local` (case-insensitive regexes, checked in that order) decide; a path
 * none of them matches follows the mode. Where mirrord's mode covers every path, here it
 * covers the app's mounts (the sidecar serves nothing else): under a mount `read` reads
 * remotely (writes stay local) and `write` reads and writes remotely; elsewhere, and
 * everywhere in `localwithoverrides`, files are local. `local` mode turns all of it off.
 * The layer only asks about paths under the prefixes `layerPrefixes()` gives it, so every
 * open of a library or a source file elsewhere stays a plain local call. The session's ticket
 * may hold paths to more (policies' `fs`, told in `hello`): its `notFound` and `local` paths
 * come first, so the program finds them missing or on this machine, as the policy says, rather
 * than be refused them by the sidecar; its `readOnly` paths are the sidecar's to refuse changes
 * of (EROFS), as a read-only file system would.
 */
import { posix } from 'node:path';
import { FsPathRules, type TicketFsPaths } from '../protocol/fs-paths';
import type { FsRights } from '../protocol/messages';
import { literalPrefix } from '../protocol/re2';
import { compileRustRegex, expandReplacement } from './rust-regex';

export type FsMode = 'local' | 'localwithoverrides' | 'read' | 'write';
/** `read`: read from the pod (opened for writing, it is local); `notfound`: ENOENT without asking the pod. */
export type FsAccess = 'local' | 'read' | 'write' | 'notfound';

export interface FsOptions {
  mode: FsMode;
  readOnly?: string[];
  readWrite?: string[];
  local?: string[];
  notFound?: string[];
  /** [regex, replacement] in the file's order; the first that matches rewrites the path. */
  mapping?: [string, string][];
}

/**
 * What the session asks the sidecar to let it do to the pod's files: `write` where some path
 * may be written there (mode `write`, or a `read_write` pattern), `read` otherwise. The sidecar
 * refuses every change to a session that only reads.
 */
export function podFsRights(options: FsOptions): FsRights {
  if (options.mode === 'local') return 'read';
  return options.mode === 'write' || (options.readWrite?.length ?? 0) > 0 ? 'write' : 'read';
}

/** The size of the layer's buffer for MIRRORD_LAYER_REMOTE_PATHS (layer.h), with its terminating NUL. */
const LAYER_PREFIXES_MAX = 4096;

export class FsPolicy {
  private readonly local: RegExp[];
  private readonly readWrite: RegExp[];
  private readonly readOnly: RegExp[];
  private readonly notFound: RegExp[];
  private readonly mapping: [RegExp, string][];
  /** The ticket's rules, matched as the sidecar matches them (RE2): before the config's. */
  private readonly held: FsPathRules | undefined;

  constructor(
    private readonly options: FsOptions,
    private readonly mounts: string[],
    /** The path rules of the session's ticket, as its hello told them. */
    held?: TicketFsPaths,
  ) {
    this.held = held && new FsPathRules(held);
    this.local = compile(options.local);
    this.readWrite = compile(options.readWrite);
    this.readOnly = compile(options.readOnly);
    this.notFound = compile(options.notFound);
    this.mapping = (options.mapping ?? []).map(([pattern, replacement]) => [compileRustRegex(pattern, 'i'), replacement]);
  }

  /**
   * The path to ask the pod for: `mapping`'s first matching pattern replaces its first match
   * (as Rust's `Regex::replace`). Relative paths are never mapped, as in mirrord.
   */
  remotePath(path: string): string {
    if (!path.startsWith('/')) return path;
    for (const [pattern, replacement] of this.mapping) {
      const match = pattern.exec(path);
      if (match) return path.slice(0, match.index) + expandReplacement(replacement, match) + path.slice(match.index + match[0].length);
    }
    return path;
  }

  /** Where the app's `path` is read and written (a relative path is always this machine's). */
  access(path: string): FsAccess {
    return this.locate(path).access;
  }

  /** access() and remotePath() of `path` together, the mapping applied once (`remote` only matters when `access` isn't local). */
  locate(path: string): { access: FsAccess; remote: string } {
    if (this.options.mode === 'local' || !path.startsWith('/')) return { access: 'local', remote: path };
    const remote = this.remotePath(path);
    return { access: remote.startsWith('/') ? this.accessOf(remote) : 'local', remote };
  }

  /** Where the pod's `remote` (an absolute path, mapped) is read and written. */
  private accessOf(remote: string): FsAccess {
    const matches = (patterns: RegExp[]) => patterns.some((pattern) => pattern.test(remote));
    // Normalised as the sidecar does before it matches: `/data//cache/x` is `/data/cache/x` there.
    const held = this.held?.refusal(posix.normalize(remote), 'read')?.code;
    if (held === 'ENOENT') return 'notfound';
    if (held === 'EACCES') return 'local';
    if (matches(this.notFound)) return 'notfound';
    if (matches(this.readWrite)) return 'write';
    if (matches(this.readOnly)) return 'read';
    if (matches(this.local)) return 'local';
    if (this.options.mode === 'localwithoverrides') return 'local';
    if (this.mounts.some((mount) => isUnder(remote, mount))) return this.options.mode;
    return 'local';
  }

  /**
   * What the layer asks about: every path access() may call something other than local. A
   * mount covers itself and what is beneath it; `TEXT*` (from a pattern) covers every path that
   * starts with TEXT. Mapping patterns are the app's paths, so theirs cover what they rewrite.
   */
  layerPrefixes(): string[] {
    if (this.options.mode === 'local') return [];
    // ':' separates the list; a literal holding one can only be covered by "every path".
    const covering = (literal: string) => `${literal.includes(':') ? '' : literal}*`;
    const mounts = this.options.mode === 'localwithoverrides' ? [] : this.mounts;
    const prefixes = [...new Set([...mounts, ...this.patterns().map((pattern) => covering(literalPrefix(pattern)))])];
    // The layer holds the list in a fixed buffer: one that wouldn't fit is replaced by "every path".
    return prefixes.join(':').length < LAYER_PREFIXES_MAX ? prefixes : ['*'];
  }

  /** The patterns that make the layer ask about every path (no anchored literal start). */
  unanchored(): string[] {
    return this.options.mode === 'local' ? [] : this.patterns().filter((pattern) => literalPrefix(pattern) === '');
  }

  /** The patterns that can make a path something other than local. */
  private patterns(): string[] {
    const { readWrite = [], readOnly = [], notFound = [], mapping = [] } = this.options;
    return [...readWrite, ...readOnly, ...notFound, ...mapping.map(([pattern]) => pattern)];
  }
}

function compile(patterns: string[] | undefined): RegExp[] {
  // mirrord builds these sets case-insensitively.
  return (patterns ?? []).map((pattern) => compileRustRegex(pattern, 'i'));
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}
