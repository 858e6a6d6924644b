/**
 * What the layer can do for the program `mirrord attach` is about to start, said before it
 * starts. The layer is a preload library that hooks libc: a statically linked program has no
 * dynamic loader to load it, and a Go program makes its own system calls, so the only thing
 * of a Go program's that passes through libc is a name look-up with Go's cgo resolver, which
 * is then chosen for it (GODEBUG=netdns=cgo). Either way the user hears it in one line instead
 * of finding a program that silently used this machine's network and files.
 *
 * A program started later by the command (sh -c ./static) is the layer's to warn about, in its
 * exec hook; this covers the command itself, which no hooked process execs.
 */
import type { Interception } from './config/schema';
import { inspectElf, type ElfProgram } from './elf';
import { programPath } from './program-path';

export interface ProgramAdvice {
  /** One line for the user when the layer can't fully serve the program. */
  warning?: string;
  /** The environment to start it with: `env`, with GODEBUG changed for a Go program using cgo. */
  env: NodeJS.ProcessEnv;
  /** How it is intercepted: the preload layer, or at the system call (any program). */
  interception: 'preload' | 'syscall';
}

const LOCAL = "it runs with this machine's network, DNS and files, not the pod's (--interception syscall or auto reaches it)";

/**
 * Advice for running `command` (as typed) with `env`; `remoteDns` is feature.network.dns. With
 * `auto`, a Go or statically linked program (which the layer can't fully reach) is intercepted at
 * the system call, where this machine allows it (`syscallProblem`: why it doesn't).
 */
export function adviseProgram(
  command: string,
  env: NodeJS.ProcessEnv,
  remoteDns: boolean,
  cwd = process.cwd(),
  requested: Interception = 'preload',
  syscallProblem?: string,
): ProgramAdvice {
  if (requested === 'syscall') return { env, interception: 'syscall' };
  const found = programPath(command, env, cwd);
  const elf = found && inspectElf(found.path);
  if (!found || !elf) return { env, interception: 'preload' };
  if (requested === 'auto' && (elf.staticallyLinked || elf.go) && !syscallProblem) return { env, interception: 'syscall' };
  const name = found.script ? `${command} (a script run by ${found.path})` : command;
  return { ...advice(name, elf, env, remoteDns), interception: 'preload' };
}

/** The advice for a program already inspected; `name` is how the message calls it. */
export function advice(name: string, elf: ElfProgram, env: NodeJS.ProcessEnv, remoteDns: boolean): Omit<ProgramAdvice, 'interception'> {
  if (!elf.go) return elf.staticallyLinked ? { warning: `${name} is statically linked, so the layer cannot reach it: ${LOCAL}`, env } : { env };
  const go = `${name} is a Go program${elf.staticallyLinked ? ', statically linked' : elf.go.cgo === false ? ' built without cgo' : ''}: Go makes its own system calls`;
  // cgo unknown (a Go older than 1.18 writes no readable build settings): a dynamically linked
  // Go program almost always is one that uses cgo.
  if (elf.staticallyLinked || elf.go.cgo === false || !remoteDns) return { warning: `${go}, so the layer cannot reach it: ${LOCAL}`, env };
  return {
    warning: `${go}, so only its DNS look-ups go through the pod (with GODEBUG=netdns=cgo); its connections, listening ports and files stay this machine's`,
    env: { ...env, GODEBUG: withCgoResolver(env.GODEBUG) },
  };
}

/**
 * GODEBUG with Go's resolver set to cgo (which calls getaddrinfo, which the layer serves), keeping
 * every other setting and a debug level asked for in netdns (`netdns=go+1` becomes `netdns=cgo+1`).
 */
export function withCgoResolver(godebug: string | undefined): string {
  const settings = (godebug ?? '').split(',').filter(Boolean);
  const netdns = settings.filter((setting) => setting.startsWith('netdns='));
  // Go reads netdns as parts joined by '+': a resolver name and/or a debug level.
  const level = netdns
    .flatMap((setting) => setting.slice('netdns='.length).split('+'))
    .filter((part) => /^\d+$/.test(part))
    .pop();
  return [...settings.filter((setting) => !netdns.includes(setting)), `netdns=cgo${level ? `+${level}` : ''}`].join(',');
}
