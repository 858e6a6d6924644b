/**
 * The layer's file requests. The policy (feature.fs) says whether the call is the pod's, for the
 * path(s) it names, and a call that changes something is the pod's only where the path may be
 * written there: elsewhere it runs on this machine, as mirrord does in `read` mode. So a path is
 * never half local and half remote: what is read from the pod is changed in the pod, or not at
 * all there.
 */
import type { ChannelHandlers } from './channel';
import { errnoNumber } from './errno';
import { opensForWriting } from '../protocol/open-flags';
import type { RemoteFiles } from './files';
import type { FsPolicy } from './fs-policy';

type FileOp = 'open' | 'opendir' | 'stat' | 'access' | 'readlink' | 'statfs' | 'mkdir' | 'rmdir' | 'unlink' | 'truncate' | 'chmod' | 'utimes' | 'rename';

/** The handlers of the file requests. */
export function fileHandlers(files: RemoteFiles, policy: FsPolicy): Pick<ChannelHandlers, FileOp> {
  /** Runs a request naming `paths` in the pod (with the pod's paths for them), or says where else it goes. */
  const serve = <R>(paths: string[], writes: boolean, run: (remote: string[]) => Promise<R>) => decide(policy, paths, writes, run);
  const reads = false;
  const changes = true;
  return {
    open: ({ flags, path }) => serve([path], opensForWriting(flags), ([remote]) => files.open(remote, flags)),
    opendir: ({ path }) => serve([path], reads, ([remote]) => files.opendir(remote)),
    stat: ({ follow, path }) => serve([path], reads, ([remote]) => files.stat(remote, follow)),
    access: ({ mode, path }) => serve([path], reads, ([remote]) => files.access(remote, mode)),
    readlink: ({ path }) => serve([path], reads, ([remote]) => files.readlink(remote)),
    statfs: ({ path }) => serve([path], reads, ([remote]) => files.statfs(remote)),
    mkdir: ({ mode, path }) => serve([path], changes, ([remote]) => files.mkdir(remote, mode)),
    rmdir: ({ path }) => serve([path], changes, ([remote]) => files.rmdir(remote)),
    unlink: ({ path }) => serve([path], changes, ([remote]) => files.unlink(remote)),
    truncate: ({ length, path }) => serve([path], changes, ([remote]) => files.truncate(remote, length)),
    chmod: ({ mode, path }) => serve([path], changes, ([remote]) => files.chmod(remote, mode)),
    utimes: ({ atime, mtime, path }) => serve([path], changes, ([remote]) => files.utimes(remote, atime, mtime)),
    rename: ({ flags, from, to }) => serve([from, to], changes, ([remoteFrom, remoteTo]) => files.rename(remoteFrom, remoteTo, flags)),
  };
}

async function decide<R>(
  policy: FsPolicy,
  paths: string[],
  writes: boolean,
  run: (remote: string[]) => Promise<R>,
): Promise<R | { kind: 'error'; errno: number } | { kind: 'local' }> {
  // feature.fs.mapping: `remote` is the pod's path for the one the program uses.
  const located = paths.map((path) => policy.locate(path));
  // feature.fs.not_found: such a path doesn't exist, for reading or writing.
  if (located.some(({ access }) => access === 'notfound')) return { kind: 'error', errno: errnoNumber('ENOENT') };
  const inPod = located.map(({ access }) => access !== 'local' && (!writes || access === 'write'));
  if (inPod.every((pod) => !pod)) return { kind: 'local' };
  // A rename between the pod and this machine: across devices, as rename(2) says; mv copies instead.
  if (!inPod.every(Boolean)) return { kind: 'error', errno: errnoNumber('EXDEV') };
  return run(located.map(({ remote }) => remote));
}
