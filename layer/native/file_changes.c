/* Calls that change a path, or ask about its file system. For a path the layer calls remote the
 * proxy decides, as for open: the pod makes the change where the path may be written there
 * (feature.fs), the call runs on this machine where mirrord's mode keeps writes local. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <utime.h>

#include "layer.h"

/* glibc declares the paths non-null, but programs pass NULL and get EFAULT or EINVAL from it. */
#pragma GCC diagnostic ignored "-Wnonnull-compare"

/* A change of `path` with no other field: 1 made in the pod, 0 local, -1 errno set. */
static int change(enum channel_op op, const char *path) {
  struct channel_message m;
  channel_begin(&m, op);
  return remote_call(&m, path, NULL);
}

static int change_mode(enum channel_op op, const char *path, mode_t mode) {
  struct channel_message m;
  channel_begin(&m, op);
  channel_put_int(&m, mode & 07777);
  return remote_call(&m, path, NULL);
}

/* `target`: the path relative to `dirfd` as the pod would name it (path_at). */
#define RESOLVE(dirfd, path) \
  char at_[4096];            \
  const char *target = path_at((dirfd), (path), at_, sizeof at_)

int mkdirat(int dirfd, const char *path, mode_t mode) {
  RESOLVE(dirfd, path);
  return POD_OR(change_mode(OP_MKDIR, target, mode), NEXT(mkdirat)(dirfd, local_path(dirfd, path, target), mode));
}
int mkdir(const char *path, mode_t mode) { return mkdirat(AT_FDCWD, path, mode); }

int unlinkat(int dirfd, const char *path, int flags) {
  RESOLVE(dirfd, path);
  return POD_OR(change(flags & AT_REMOVEDIR ? OP_RMDIR : OP_UNLINK, target), NEXT(unlinkat)(dirfd, local_path(dirfd, path, target), flags));
}
int unlink(const char *path) { return unlinkat(AT_FDCWD, path, 0); }
int rmdir(const char *path) { return unlinkat(AT_FDCWD, path, AT_REMOVEDIR); }

/* remove() unlinks or removes a directory inside libc, past the hooks above. */
int remove(const char *path) {
  RESOLVE(AT_FDCWD, path);
  if (!path_is_remote(target)) return NEXT(remove)(local_path(AT_FDCWD, path, target));
  struct stat st;
  if (lstat(path, &st) != 0) return -1;
  return unlinkat(AT_FDCWD, path, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
}

/* flags: RENAME_NOREPLACE, RENAME_EXCHANGE, as the pod's kernel takes them. */
int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned int flags) {
  char a[4096], b[4096];
  const char *source = path_at(fromfd, from, a, sizeof a), *target = path_at(tofd, to, b, sizeof b);
  struct channel_message m;
  channel_begin(&m, OP_RENAME);
  channel_put_int(&m, flags);
  int remote = remote_call(&m, source, target);
  return POD_OR(remote, NEXT(renameat2)(fromfd, local_path(fromfd, from, source), tofd, local_path(tofd, to, target), flags));
}
int renameat(int fromfd, const char *from, int tofd, const char *to) { return renameat2(fromfd, from, tofd, to, 0); }
int rename(const char *from, const char *to) { return renameat2(AT_FDCWD, from, AT_FDCWD, to, 0); }

int truncate(const char *path, off_t length) {
  RESOLVE(AT_FDCWD, path);
  struct channel_message m;
  channel_begin(&m, OP_TRUNCATE);
  channel_put_int(&m, length);
  return POD_OR(remote_call(&m, target, NULL), NEXT(truncate)(local_path(AT_FDCWD, path, target), length));
}
__typeof__(truncate) truncate64 __attribute__((alias("truncate")));

int fchmodat(int dirfd, const char *path, mode_t mode, int flags) {
  RESOLVE(dirfd, path);
  return POD_OR(change_mode(OP_CHMOD, target, mode), NEXT(fchmodat)(dirfd, local_path(dirfd, path, target), mode, flags));
}
int chmod(const char *path, mode_t mode) { return fchmodat(AT_FDCWD, path, mode, 0); }

int utimensat(int dirfd, const char *path, const struct timespec times[2], int flags) {
  if (!path) return NEXT(utimensat)(dirfd, path, times, flags); /* futimens(dirfd): the fd's own file */
  RESOLVE(dirfd, path);
  struct channel_message m;
  channel_begin(&m, OP_UTIMES);
  channel_put_time(&m, times ? &times[0] : NULL);
  channel_put_time(&m, times ? &times[1] : NULL);
  return POD_OR(remote_call(&m, target, NULL), NEXT(utimensat)(dirfd, local_path(dirfd, path, target), times, flags));
}

int utimes(const char *path, const struct timeval times[2]) {
  struct timespec spec[2];
  if (times) for (int i = 0; i < 2; i++) spec[i] = (struct timespec){times[i].tv_sec, times[i].tv_usec * 1000};
  return utimensat(AT_FDCWD, path, times ? spec : NULL, 0);
}

int utime(const char *path, const struct utimbuf *times) {
  struct timespec spec[2] = {{times ? times->actime : 0, 0}, {times ? times->modtime : 0, 0}};
  return utimensat(AT_FDCWD, path, times ? spec : NULL, 0);
}

/* The pod's file system of a remote path: 1 filled, 0 local, -1 errno set. */
static int remote_statfs(const char *path, struct statfs *out) {
  struct channel_message m;
  channel_begin(&m, OP_STATFS);
  int remote = remote_call(&m, path, NULL);
  if (remote <= 0) return remote;
  *out = m.reply.statfs;
  out->f_frsize = out->f_bsize;
  out->f_namelen = 255;
  return 1;
}

static void to_statvfs(const struct statfs *in, struct statvfs *out) {
  memset(out, 0, sizeof *out);
  out->f_bsize = in->f_bsize;
  out->f_frsize = in->f_frsize;
  out->f_blocks = in->f_blocks;
  out->f_bfree = in->f_bfree;
  out->f_bavail = in->f_bavail;
  out->f_files = in->f_files;
  out->f_ffree = out->f_favail = in->f_ffree;
  out->f_namemax = in->f_namelen;
}

/* The pod path an fd is a copy of, when it is one. */
static const char *fd_path(int fd, char *buf, size_t cap) { return fd_remote_path(fd, buf, cap) ? buf : NULL; }

int statfs(const char *path, struct statfs *buf) {
  RESOLVE(AT_FDCWD, path);
  return POD_OR(remote_statfs(target, buf), NEXT(statfs)(local_path(AT_FDCWD, path, target), buf));
}
int statfs64(const char *path, struct statfs64 *buf) { return statfs(path, (struct statfs *)buf); }

int fstatfs(int fd, struct statfs *buf) {
  char path[4096];
  return POD_OR(remote_statfs(fd_path(fd, path, sizeof path), buf), NEXT(fstatfs)(fd, buf));
}
int fstatfs64(int fd, struct statfs64 *buf) { return fstatfs(fd, (struct statfs *)buf); }

/* Local calls go to the real statvfs, which also reports the mount's flags. */
int statvfs(const char *path, struct statvfs *buf) {
  RESOLVE(AT_FDCWD, path);
  struct statfs fs;
  int remote = remote_statfs(target, &fs);
  if (remote > 0) to_statvfs(&fs, buf);
  return POD_OR(remote, NEXT(statvfs)(local_path(AT_FDCWD, path, target), buf));
}
int statvfs64(const char *path, struct statvfs64 *buf) { return statvfs(path, (struct statvfs *)buf); }

int fstatvfs(int fd, struct statvfs *buf) {
  char path[4096];
  struct statfs fs;
  int remote = remote_statfs(fd_path(fd, path, sizeof path), &fs);
  if (remote > 0) to_statvfs(&fs, buf);
  return POD_OR(remote, NEXT(fstatvfs)(fd, buf));
}
int fstatvfs64(int fd, struct statvfs64 *buf) { return fstatvfs(fd, (struct statvfs *)buf); }
