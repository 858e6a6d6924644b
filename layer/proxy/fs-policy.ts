/**
 * Which files are the pod's, as mirrord's `feature.fs` says: `local`, `read_write` and
 * `read_only` are regexes of paths (checked in that order), and a path none of them matches is
 * remote when it lies under one of the app's mounts (read, or read and written in `write` mode).
 * The layer only asks about paths under the prefixes `layerPrefixes()` gives it, so every open
 * of a library or a source file elsewhere stays a plain local call.
 */
export type FsMode = 'local' | 'read' | 'write';
export type FsAccess = 'local' | 'read' | 'write';

export interface FsOptions {
  mode: FsMode;
  readOnly?: string[];
  readWrite?: string[];
  local?: string[];
}

/** The size of the layer's buffer for MIRRORD_LAYER_REMOTE_PATHS (layer.h), with its terminating NUL. */
const LAYER_PREFIXES_MAX = 4096;

export class FsPolicy {
  private readonly local: RegExp[];
  private readonly readWrite: RegExp[];
  private readonly readOnly: RegExp[];

  constructor(
    private readonly options: FsOptions,
    private readonly mounts: string[],
  ) {
    this.local = compile(options.local);
    this.readWrite = compile(options.readWrite);
    this.readOnly = compile(options.readOnly);
  }

  /** Where `path` is read and written (a relative path is always this machine's). */
  access(path: string): FsAccess {
    if (this.options.mode === 'local' || !path.startsWith('/') || this.local.some((pattern) => pattern.test(path))) return 'local';
    if (this.readWrite.some((pattern) => pattern.test(path))) return 'write';
    if (this.readOnly.some((pattern) => pattern.test(path))) return 'read';
    if (this.mounts.some((mount) => isUnder(path, mount))) return this.options.mode;
    return 'local';
  }

  /**
   * What the layer asks about: every path access() may call remote. A mount covers itself and
   * what is beneath it; `TEXT*` (from a pattern) covers every path that starts with TEXT.
   */
  layerPrefixes(): string[] {
    if (this.options.mode === 'local') return [];
    // ':' separates the list; a literal holding one can only be covered by "every path".
    const covering = (literal: string) => `${literal.includes(':') ? '' : literal}*`;
    const prefixes = [...new Set([...this.mounts, ...this.patterns().map((pattern) => covering(literalPrefix(pattern)))])];
    // The layer holds the list in a fixed buffer: one that wouldn't fit is replaced by "every path".
    return prefixes.join(':').length < LAYER_PREFIXES_MAX ? prefixes : ['*'];
  }

  /** The read_only/read_write patterns that make the layer ask about every path (no anchored literal start). */
  unanchored(): string[] {
    return this.options.mode === 'local' ? [] : this.patterns().filter((pattern) => literalPrefix(pattern) === '');
  }

  private patterns(): string[] {
    return [...(this.options.readWrite ?? []), ...(this.options.readOnly ?? [])];
  }
}

function compile(patterns: string[] | undefined): RegExp[] {
  return (patterns ?? []).map((pattern) => new RegExp(pattern));
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
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
