/**
 * The layer's file requests. Each names its path(s) last; the policy (feature.fs) says whether
 * the call is the pod's, and a call that changes something is the pod's only where the path
 * may be written there: elsewhere it runs on this machine, as mirrord does in `read` mode.
 * So a path is never half local and half remote: what is read from the pod is changed in the
 * pod, or not at all there.
 */
import type { FileTime } from '../protocol/messages';
import { errnoNumber } from './errno';
import { opensForWriting, type RemoteFiles } from './files';
import type { FsPolicy } from './fs-policy';

type Handler = (files: RemoteFiles, args: string[], paths: string[]) => Promise<string>;

interface FileRequest {
  /** How many of the request's last fields are paths. */
  paths: 1 | 2;
  /** Whether the call changes the paths, given its other fields. */
  writes: (args: string[]) => boolean;
  run: Handler;
}

const reads = () => false;
const changes = () => true;

const fileTime = (text: string): FileTime => (text === 'now' || text === 'omit' ? text : Number(text));

/** The requests: `OP ARGS… PATH` (rename: `rename FLAGS FROM TO`). */
const REQUESTS: Record<string, FileRequest> = {
  open: { paths: 1, writes: ([flags]) => opensForWriting(Number(flags)), run: (files, [flags], [path]) => files.open(path, Number(flags)) },
  opendir: { paths: 1, writes: reads, run: (files, _, [path]) => files.opendir(path) },
  stat: { paths: 1, writes: reads, run: (files, [follow], [path]) => files.stat(path, follow === '1') },
  access: { paths: 1, writes: reads, run: (files, [mode], [path]) => files.access(path, Number(mode)) },
  readlink: { paths: 1, writes: reads, run: (files, _, [path]) => files.readlink(path) },
  statfs: { paths: 1, writes: reads, run: (files, _, [path]) => files.statfs(path) },
  mkdir: { paths: 1, writes: changes, run: (files, [mode], [path]) => files.mkdir(path, Number(mode)) },
  rmdir: { paths: 1, writes: changes, run: (files, _, [path]) => files.rmdir(path) },
  unlink: { paths: 1, writes: changes, run: (files, _, [path]) => files.unlink(path) },
  truncate: { paths: 1, writes: changes, run: (files, [length], [path]) => files.truncate(path, Number(length)) },
  chmod: { paths: 1, writes: changes, run: (files, [mode], [path]) => files.chmod(path, Number(mode)) },
  utimes: { paths: 1, writes: changes, run: (files, [atime, mtime], [path]) => files.utimes(path, fileTime(atime), fileTime(mtime)) },
  rename: { paths: 2, writes: changes, run: (files, [flags], [from, to]) => files.rename(from, to, Number(flags)) },
};

export function isFileRequest(op: string): boolean {
  return Object.prototype.hasOwnProperty.call(REQUESTS, op);
}

/** Answers a file request: the pod's answer, `error\tERRNO`, or `local`. */
export async function answerFileRequest(op: string, fields: string[], files: RemoteFiles, policy: FsPolicy): Promise<string> {
  const request = REQUESTS[op];
  const args = fields.slice(0, fields.length - request.paths);
  const paths = fields.slice(fields.length - request.paths);
  const writes = request.writes(args);
  const access = paths.map((path) => policy.access(path));
  // feature.fs.not_found: such a path doesn't exist, for reading or writing.
  if (access.includes('notfound')) return `error\t${errnoNumber('ENOENT')}`;
  const inPod = access.map((where) => where !== 'local' && (!writes || where === 'write'));
  if (inPod.every((pod) => !pod)) return 'local';
  // A rename between the pod and this machine: across devices, as rename(2) says; mv copies instead.
  if (!inPod.every(Boolean)) return `error\t${errnoNumber('EXDEV')}`;
  // feature.fs.mapping: the pod's path for the one the program uses.
  return request.run(files, args, paths.map((path) => policy.remotePath(path)));
}

