/**
 * The pod's host name in the syscall mode (feature.hostname), as the layer gives it through
 * gethostname and uname: `uname` fills the program's struct utsname with this machine's system
 * but the pod's node name, and /proc/sys/kernel/hostname (which Go's os.Hostname reads first)
 * is a file saying the pod's name.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { SyscallNative } from '../../layer/syscall/native';
import { afterWrite, type CallHandler } from './answer';

/** Each field of struct utsname, NUL-padded (__NEW_UTS_LEN + 1). */
const UTS_FIELD = 65;

/** The file saying `hostname`, written in `dir`, by the path the program opens; none without a host name. */
export function hostnameFiles(dir: string, hostname?: string): Map<string, string> {
  if (hostname === undefined) return new Map();
  const path = join(dir, 'hostname');
  writeFileSync(path, `${hostname}\n`);
  return new Map([['/proc/sys/kernel/hostname', path]]);
}

export function hostnameCalls(native: SyscallNative, hostname: string): Record<string, CallHandler> {
  const fields = [os.type(), hostname, os.release(), os.version(), os.machine(), '(none)'];
  const utsname = Buffer.alloc(UTS_FIELD * fields.length);
  fields.forEach((field, i) => utsname.write(field.slice(0, UTS_FIELD - 1), i * UTS_FIELD, 'latin1'));
  return { uname: async (call) => afterWrite(native.writeMemory(call.pid, call.args[0]!, utsname), 0) };
}
