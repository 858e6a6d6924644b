/**
 * The file the kernel will run for a command line, found before it is started: the name is
 * looked up on PATH as execvp does, and a `#!` script leads to its interpreter (directly, or
 * through `/usr/bin/env NAME`), since that is the program that ends up running.
 */
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';

export interface ProgramPath {
  /** The executable that runs: the command itself, or the interpreter of the script it names. */
  path: string;
  /** When the command is a `#!` script: the script, as found on PATH. */
  script?: string;
}

/** What execvp falls back to when the environment has no PATH (glibc's confstr(_CS_PATH)). */
const DEFAULT_PATH = '/bin:/usr/bin';
/** The kernel reads only this much of a `#!` line (BINPRM_BUF_SIZE). */
const SHEBANG_MAX = 256;
/** The kernel follows at most this many interpreters that are scripts themselves. */
const MAX_SCRIPTS = 4;

/** The program `name` runs with `env`, from `cwd`; undefined when none is found (running it will say why). */
export function programPath(name: string, env: NodeJS.ProcessEnv, cwd = process.cwd()): ProgramPath | undefined {
  const command = findExecutable(name, env, cwd);
  if (command === undefined) return undefined;
  let path = command;
  for (let depth = 0; depth < MAX_SCRIPTS; depth++) {
    const next = interpreterOf(path, env, cwd);
    if (next === undefined) break;
    path = next;
  }
  return path === command ? { path } : { path, script: command };
}

/** `name` as execvp finds it: as given when it holds a slash, otherwise the first executable file on PATH. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv, cwd = process.cwd()): string | undefined {
  if (name === '') return undefined;
  if (name.includes('/')) return isExecutableFile(resolve(cwd, name)) ? resolve(cwd, name) : undefined;
  for (const dir of (env.PATH ?? DEFAULT_PATH).split(':')) {
    // An empty PATH entry means the current directory, as it does for execvp.
    const candidate = resolve(cwd, dir || '.', name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The interpreter a `#!` script names: its path, or for `#!/usr/bin/env NAME` the NAME found on
 * PATH; undefined when the file is no script, or its line is one we won't second-guess (env
 * with options or assignments).
 */
function interpreterOf(path: string, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  const line = shebang(path);
  if (line === undefined) return undefined;
  // Linux splits the line once: the interpreter, then everything else as a single argument.
  const [interpreter, ...rest] = line.trim().split(/[ \t]+/);
  if (!interpreter) return undefined;
  const absolute = isAbsolute(interpreter) ? interpreter : resolve(cwd, interpreter);
  if (basename(interpreter) !== 'env') return absolute;
  if (rest.length !== 1 || rest[0]!.startsWith('-') || rest[0]!.includes('=')) return undefined;
  return findExecutable(rest[0]!, env, cwd);
}

/** The text after `#!` on the first line, or undefined when the file doesn't start with `#!`. */
function shebang(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const head = Buffer.alloc(SHEBANG_MAX);
    const text = head.subarray(0, readSync(fd, head, 0, SHEBANG_MAX, 0)).toString('latin1');
    return text.startsWith('#!') ? text.slice(2).split('\n')[0] : undefined;
  } finally {
    closeSync(fd);
  }
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
