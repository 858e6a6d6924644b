/* Calls that change a path, or ask about its file system. For a path the layer calls remote the
 * proxy decides, as for open: the pod makes the change where the path may be written there
 * (feature.fs), the call runs on this machine where mirrord's mode keeps writes local. Calls
 * relative to a directory fd that is a copy of a pod directory name the pod's path beneath it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <utime.h>

#include "layer.h"

/* glibc declares the paths non-null, but programs pass NULL and get EFAULT or EINVAL from it. */
#pragma GCC diagnostic ignored "-Wnonnull-compare"

/* One change: 1 made in the pod, 0 local, -1 errno set. */
static int change(const char *op, const char *args, const char *path, const char *second_path) {
  char reply[256], *f[2];
  int n = remote_call(op, args, path, second_path, reply, sizeof reply, f, 2);
  return n > 0 ? 1 : n;
}

/* The hook's answer: the pod's (0 or -1), or the real call's. */
#define CHANGE_OR(remote, real_call) ({ int remote_ = (remote); remote_ ? (remote_ > 0 ? 0 : -1) : (real_call); })

static int change_mode(const char *op, const char *path, mode_t mode) {
  char args[16];
  snprintf(args, sizeof args, "%u", (unsigned)(mode & 07777));
  return change(op, args, path, NULL);
}

int mkdir(const char *path, mode_t mode) { return CHANGE_OR(change_mode("mkdir", path, mode), NEXT(mkdir)(path, mode)); }

int mkdirat(int dirfd, const char *path, mode_t mode) {
  char buf[4096];
  return CHANGE_OR(change_mode("mkdir", path_at(dirfd, path, buf, sizeof buf), mode), NEXT(mkdirat)(dirfd, path, mode));
}

int rmdir(const char *path) { return CHANGE_OR(change("rmdir", "", path, NULL), NEXT(rmdir)(path)); }

int unlink(const char *path) { return CHANGE_OR(change("unlink", "", path, NULL), NEXT(unlink)(path)); }

int unlinkat(int dirfd, const char *path, int flags) {
  char buf[4096];
  const char *target = path_at(dirfd, path, buf, sizeof buf);
  return CHANGE_OR(change(flags & AT_REMOVEDIR ? "rmdir" : "unlink", "", target, NULL), NEXT(unlinkat)(dirfd, path, flags));
}

/* remove() unlinks or removes a directory inside libc, past the hooks above. */
int remove(const char *path) {
  struct stat st;
  if (!path_is_remote(path)) return NEXT(remove)(path);
  if (lstat(path, &st) != 0) return -1;
  return S_ISDIR(st.st_mode) ? rmdir(path) : unlink(path);
}

int rename(const char *from, const char *to) { return CHANGE_OR(change("rename", "", from, to), NEXT(rename)(from, to)); }

int renameat(int fromfd, const char *from, int tofd, const char *to) {
  char a[4096], b[4096];
  return CHANGE_OR(change("rename", "", path_at(fromfd, from, a, sizeof a), path_at(tofd, to, b, sizeof b)), NEXT(renameat)(fromfd, from, tofd, to));
}

/* With flags (RENAME_NOREPLACE, RENAME_EXCHANGE) the pod can't promise the same: local paths only. */
int renameat2(int fromfd, const char *from, int tofd, const char *to, unsigned int flags) {
  if (!flags) return renameat(fromfd, from, tofd, to);
  return NEXT(renameat2)(fromfd, from, tofd, to, flags);
}

int truncate(const char *path, off_t length) {
  char args[32];
  snprintf(args, sizeof args, "%lld", (long long)length);
  return CHANGE_OR(change("truncate", args, path, NULL), NEXT(truncate)(path, length));
}
__typeof__(truncate) truncate64 __attribute__((alias("truncate")));

int chmod(const char *path, mode_t mode) { return CHANGE_OR(change_mode("chmod", path, mode), NEXT(chmod)(path, mode)); }

int fchmodat(int dirfd, const char *path, mode_t mode, int flags) {
  char buf[4096];
  return CHANGE_OR(change_mode("chmod", path_at(dirfd, path, buf, sizeof buf), mode), NEXT(fchmodat)(dirfd, path, mode, flags));
}

/* A time as the proxy takes it: ms since the epoch, "now" or "omit". */
static void format_time(const struct timespec *time, char *out, size_t cap) {
  if (!time || time->tv_nsec == UTIME_NOW) snprintf(out, cap, "now");
  else if (time->tv_nsec == UTIME_OMIT) snprintf(out, cap, "omit");
  else snprintf(out, cap, "%lld.%06ld", (long long)time->tv_sec * 1000 + time->tv_nsec / 1000000, time->tv_nsec % 1000000);
}

static int change_times(const char *path, const struct timespec times[2]) {
  char atime[48], mtime[48], args[100];
  format_time(times ? &times[0] : NULL, atime, sizeof atime);
  format_time(times ? &times[1] : NULL, mtime, sizeof mtime);
  snprintf(args, sizeof args, "%s\t%s", atime, mtime);
  return change("utimes", args, path, NULL);
}

int utimensat(int dirfd, const char *path, const struct timespec times[2], int flags) {
  char buf[4096];
  /* a NULL path is futimens(dirfd): the fd's own file, local */
  int remote = path ? change_times(path_at(dirfd, path, buf, sizeof buf), times) : 0;
  return CHANGE_OR(remote, NEXT(utimensat)(dirfd, path, times, flags));
}

int utimes(const char *path, const struct timeval times[2]) {
  struct timespec spec[2];
  if (times) for (int i = 0; i < 2; i++) spec[i] = (struct timespec){times[i].tv_sec, times[i].tv_usec * 1000};
  return CHANGE_OR(change_times(path, times ? spec : NULL), NEXT(utimes)(path, times));
}

int utime(const char *path, const struct utimbuf *times) {
  struct timespec spec[2];
  if (times) {
    spec[0] = (struct timespec){times->actime, 0};
    spec[1] = (struct timespec){times->modtime, 0};
  }
  return CHANGE_OR(change_times(path, times ? spec : NULL), NEXT(utime)(path, times));
}

/* The pod's file system of a remote path: 1 filled, 0 local, -1 errno set. */
static int remote_statfs(const char *path, struct statfs *out) {
  char reply[512], *f[8];
  int n = remote_call("statfs", "", path, NULL, reply, sizeof reply, f, 8);
  if (n <= 0) return n;
  if (n < 8) return 0;
  memset(out, 0, sizeof *out);
  out->f_type = strtol(f[1], NULL, 10);
  out->f_bsize = out->f_frsize = strtol(f[2], NULL, 10);
  out->f_blocks = strtoull(f[3], NULL, 10);
  out->f_bfree = strtoull(f[4], NULL, 10);
  out->f_bavail = strtoull(f[5], NULL, 10);
  out->f_files = strtoull(f[6], NULL, 10);
  out->f_ffree = strtoull(f[7], NULL, 10);
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

int statfs(const char *path, struct statfs *buf) { return CHANGE_OR(remote_statfs(path, buf), NEXT(statfs)(path, buf)); }
int statfs64(const char *path, struct statfs64 *buf) { return statfs(path, (struct statfs *)buf); }

int fstatfs(int fd, struct statfs *buf) {
  char path[4096];
  return CHANGE_OR(remote_statfs(fd_path(fd, path, sizeof path), buf), NEXT(fstatfs)(fd, buf));
}
int fstatfs64(int fd, struct statfs64 *buf) { return fstatfs(fd, (struct statfs *)buf); }

int statvfs(const char *path, struct statvfs *buf) {
  struct statfs fs;
  int remote = remote_statfs(path, &fs);
  if (remote > 0) to_statvfs(&fs, buf);
  return CHANGE_OR(remote, NEXT(statvfs)(path, buf));
}
int statvfs64(const char *path, struct statvfs64 *buf) { return statvfs(path, (struct statvfs *)buf); }

int fstatvfs(int fd, struct statvfs *buf) {
  char path[4096];
  struct statfs fs;
  int remote = remote_statfs(fd_path(fd, path, sizeof path), &fs);
  if (remote > 0) to_statvfs(&fs, buf);
  return CHANGE_OR(remote, NEXT(fstatvfs)(fd, buf));
}
int fstatvfs64(int fd, struct statvfs64 *buf) { return fstatvfs(fd, (struct statvfs *)buf); }
