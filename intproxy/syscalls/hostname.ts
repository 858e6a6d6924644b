/**
 * The pod's host name in the syscall mode (feature.hostname), as the layer gives it through
 * gethostname and uname: `uname` fills the program's struct utsname with this machine's system
 * but the pod's node name, and /proc/sys/kernel/hostname (which Go's os.Hostname reads first)
 * is a file saying the pod's name.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { SyscallNative } from '../../layer/syscall/native';
import type { CallHandler } from './supervisor';

/** Each field of struct utsname, NUL-padded (__NEW_UTS_LEN + 1). */
const UTS_FIELD = 65;

/** A directory for the files the program reads instead of this machine's, with the host name's among them when there is one. */
export function hostFiles(dir: string, hostname?: string): { dir: string; files: Map<string, string> } {
  const files = mkdtempSync(join(dir, 'host-'));
  if (hostname === undefined) return { dir: files, files: new Map() };
  const path = join(files, 'hostname');
  writeFileSync(path, `${hostname}\n`);
  return { dir: files, files: new Map([['/proc/sys/kernel/hostname', path]]) };
}

export function hostnameCalls(native: SyscallNative, hostname: string): Record<string, CallHandler> {
  const fields = [os.type(), hostname, os.release(), os.version(), os.machine(), '(none)'];
  const utsname = Buffer.alloc(UTS_FIELD * fields.length);
  fields.forEach((field, i) => utsname.write(field.slice(0, UTS_FIELD - 1), i * UTS_FIELD, 'latin1'));
  return {
    uname: async (call) =>
      native.writeMemory(call.pid, call.args[0]!, utsname) === 0 ? { kind: 'value', value: 0 } : { kind: 'errno', errno: os.constants.errno.EFAULT },
  };
}
