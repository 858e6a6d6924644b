/* File hooks. Paths under MIRRORD_LAYER_REMOTE_PATHS (the app's mount points, and the literal
 * starts of the config's path patterns) may be the pod's; the proxy decides, and fetches a
 * remote file into a private cache whose copy the layer opens, so read, lseek, fstat and mmap
 * just work; stat-like calls are answered from the pod. Everything else is untouched. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "layer.h"

int path_is_remote(const char *path) {
  if (!layer_config.enabled || !layer_config.fs || !path || path[0] != '/' || strpbrk(path, "\t\n")) return 0;
  const char *cursor = layer_config.remote_prefixes;
  while (*cursor) {
    const char *end = strchr(cursor, ':');
    size_t len = end ? (size_t)(end - cursor) : strlen(cursor);
    /* "TEXT*" covers any path starting with TEXT; a directory covers itself and what is beneath */
    int raw = len && cursor[len - 1] == '*';
    if (raw && strncmp(path, cursor, len - 1) == 0) return 1;
    if (!raw && len && strncmp(path, cursor, len) == 0 && (path[len] == '\0' || path[len] == '/' || cursor[len - 1] == '/')) return 1;
    if (!end) break;
    cursor = end + 1;
  }
  return 0;
}

static int wants_write(int flags) { return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC | O_APPEND)); }

const char *path_at(int dirfd, const char *path, char *buf, size_t cap) {
  if (!path || path[0] == '/' || dirfd == AT_FDCWD) return path;
  char base[4096];
  if (!fd_remote_path(dirfd, base, sizeof base)) return path;
  if (!path[0]) snprintf(buf, cap, "%s", base); /* AT_EMPTY_PATH: the directory itself */
  else snprintf(buf, cap, "%s/%s", strcmp(base, "/") == 0 ? "" : base, path);
  return buf;
}

int remote_call(const char *op, const char *args, const char *path, const char *second_path, char *reply, size_t cap, char **f, int max) {
  if (!path_is_remote(path) && !(second_path && path_is_remote(second_path))) return 0;
  if (!path || (second_path && strpbrk(second_path, "\t\n")) || strpbrk(path, "\t\n")) return 0;
  char request[8400];
  int len = snprintf(request, sizeof request, "%s\t%s%s%s", op, args, args[0] ? "\t" : "", path);
  if (second_path) len += snprintf(request + len, sizeof request - (size_t)len, "\t%s", second_path);
  if ((size_t)len >= sizeof request) return 0;
  int n = proxy_ask(request, reply, cap, f, max);
  if (n < 0) return -1;
  return n >= 1 && strcmp(f[0], "ok") == 0 ? n : 0;
}

void parse_stat(char **f, struct stat *out) {
  memset(out, 0, sizeof *out);
  out->st_dev = strtoull(f[0], NULL, 10);
  out->st_ino = strtoull(f[1], NULL, 10);
  out->st_mode = strtoul(f[2], NULL, 10);
  out->st_nlink = strtoul(f[3], NULL, 10);
  out->st_uid = strtoul(f[4], NULL, 10);
  out->st_gid = strtoul(f[5], NULL, 10);
  out->st_rdev = strtoull(f[6], NULL, 10);
  out->st_size = strtoll(f[7], NULL, 10);
  out->st_blksize = strtol(f[8], NULL, 10);
  out->st_blocks = strtoll(f[9], NULL, 10);
  long long times[3] = {strtoll(f[10], NULL, 10), strtoll(f[11], NULL, 10), strtoll(f[12], NULL, 10)};
  struct timespec *fields[3] = {&out->st_atim, &out->st_mtim, &out->st_ctim};
  for (int i = 0; i < 3; i++) *fields[i] = (struct timespec){times[i] / 1000, (times[i] % 1000) * 1000000};
}

/* A local copy of a remote path: `path LOCAL_COPY [STAT…]` (the pod's stat comes with copies
 * that are only read). */
struct copy {
  char local[4096];
  struct stat st;
  int has_stat;
};

/* Asks the proxy for a local copy of a remote path. Returns 1 with `copy` filled, 0 when the
 * path stays local, -1 with errno set when the pod says it fails. */
static int fetch(const char *op, const char *path, int flags, struct copy *copy) {
  if (!path_is_remote(path)) return 0; /* the proxy knows which remote paths may be written */
  char request[4200], reply[4400], *f[15];
  snprintf(request, sizeof request, "%s\t%d\t%s", op, flags, path);
  int n = proxy_ask(request, reply, sizeof reply, f, 15);
  if (n < 0) return -1;
  if (n < 2 || strcmp(f[0], "path") != 0) return 0;
  snprintf(copy->local, sizeof copy->local, "%s", f[1]);
  copy->has_stat = n == 15;
  if (copy->has_stat) parse_stat(f + 2, &copy->st);
  return 1;
}

/* Records what a new fd is: a copy of the pod's `path`, or (fetched == 0) nothing of ours, which
 * clears what a closed fd of that number left (libc closes some, like closedir's, unseen). */
static void remember_open(int fd, int fetched, const char *path, int flags, const struct copy *copy) {
  if (fd < 0) return;
  fd_forget(fd);
  if (!fetched) return;
  fd_set_remote(fd, path, copy->has_stat && !wants_write(flags) ? &copy->st : NULL);
  if (wants_write(flags)) fd_set_write_back(fd);
}

static int open_common(int dirfd, const char *path, int flags, mode_t mode) {
  char buf[4096];
  const char *target = path_at(dirfd, path, buf, sizeof buf);
  struct copy copy;
  int fetched = fetch("open", target, flags, &copy);
  if (fetched < 0) return -1;
  int fd = NEXT(openat)(dirfd, fetched ? copy.local : path, flags, mode);
  remember_open(fd, fetched, target, flags, &copy);
  return fd;
}

static mode_t mode_arg(int flags, va_list args) { return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(args, int) : 0; }

int open(const char *path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  mode_t mode = mode_arg(flags, args);
  va_end(args);
  return open_common(AT_FDCWD, path, flags, mode);
}

/* Without _FILE_OFFSET_BITS the 64-bit names are the same calls on x86_64 and arm64. */
__typeof__(open) open64 __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...) {
  va_list args;
  va_start(args, flags);
  mode_t mode = mode_arg(flags, args);
  va_end(args);
  return open_common(dirfd, path, flags, mode);
}

__typeof__(openat) openat64 __attribute__((alias("openat")));

int creat(const char *path, mode_t mode) { return open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode); }
__typeof__(creat) creat64 __attribute__((alias("creat")));

static int fopen_flags(const char *mode) {
  int plus = strchr(mode, '+') != NULL;
  switch (mode[0]) {
    case 'r': return plus ? O_RDWR : O_RDONLY;
    case 'w': return (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC;
    case 'a': return (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND;
    default: return O_RDONLY;
  }
}

static FILE *fopen_common(const char *path, const char *mode, FILE *(*real)(const char *, const char *)) {
  struct copy copy;
  int fetched = fetch("open", path, fopen_flags(mode), &copy);
  if (fetched < 0) return NULL;
  FILE *file = real(fetched ? copy.local : path, mode);
  if (file) remember_open(fileno(file), fetched, path, fopen_flags(mode), &copy);
  return file;
}

FILE *fopen(const char *path, const char *mode) { return fopen_common(path, mode, NEXT(fopen)); }
FILE *fopen64(const char *path, const char *mode) { return fopen_common(path, mode, NEXT(fopen64)); }

/* Called before `fd` closes: a written copy goes back to the pod. Returns 0, or -1 with errno
 * when the pod refused the write (close then reports it, as a failed flush would). */
int write_back_before_close(int fd) {
  if (!fd_write_back(fd)) return 0;
  char link[64], copy[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = NEXT(readlink)(link, copy, sizeof copy - 1);
  if (n <= 0) return 0;
  copy[n] = '\0';
  fsync(fd);
  char request[4200], reply[256], *f[2];
  snprintf(request, sizeof request, "flush\t%s", copy);
  return proxy_ask(request, reply, sizeof reply, f, 2) < 0 ? -1 : 0;
}

DIR *opendir(const char *path) {
  struct copy copy;
  int fetched = fetch("opendir", path, O_RDONLY | O_DIRECTORY, &copy);
  if (fetched < 0) return NULL;
  DIR *dir = NEXT(opendir)(fetched ? copy.local : path);
  if (dir) remember_open(dirfd(dir), fetched, path, O_RDONLY, &copy);
  return dir;
}

/* closedir closes its fd inside libc, which the close hook never sees. glibc declares `dir`
 * non-null, but programs pass NULL and get EINVAL from it. */
#pragma GCC diagnostic ignored "-Wnonnull-compare"
int closedir(DIR *dir) {
  if (dir) fd_forget(dirfd(dir));
  return NEXT(closedir)(dir);
}

/* Remote stat: 1 filled, 0 local, -1 errno set. */
static int remote_stat(const char *path, int follow, struct stat *out) {
  char reply[1024], *f[14], args[4];
  snprintf(args, sizeof args, "%d", follow);
  int n = remote_call("stat", args, path, NULL, reply, sizeof reply, f, 14);
  if (n <= 0) return n;
  if (n < 14) return 0;
  parse_stat(f + 1, out);
  return 1;
}

/* stat of a path relative to `dirfd`: AT_EMPTY_PATH on a copy of the pod's is the pod's stat. */
static int remote_stat_at(int dirfd, const char *path, int flags, struct stat *out) {
  if ((flags & AT_EMPTY_PATH) && path && !path[0] && fd_remote_stat(dirfd, out)) return 1;
  char buf[4096];
  return remote_stat(path_at(dirfd, path, buf, sizeof buf), !(flags & AT_SYMLINK_NOFOLLOW), out);
}

/* fstat of a copy of the pod's file or directory reports the pod's (a program compares it with
 * what stat said of the path, as find and shutil.rmtree do); a copy being written, its own. */
int fstat(int fd, struct stat *buf) {
  if (fd_remote_stat(fd, buf)) return 0;
  return NEXT(fstat)(fd, buf);
}
int fstat64(int fd, struct stat64 *buf) { return fstat(fd, (struct stat *)buf); }
int __fxstat(int ver, int fd, struct stat *buf) {
  if (fd_remote_stat(fd, buf)) return 0;
  return NEXT_AS(int (*)(int, int, struct stat *), "__fxstat")(ver, fd, buf);
}
int __fxstat64(int ver, int fd, struct stat64 *buf) { return __fxstat(ver, fd, (struct stat *)buf); }

#define STAT_HOOK(name, follow)                                   \
  int name(const char *path, struct stat *buf) {                   \
    int remote = remote_stat(path, follow, buf);                   \
    if (remote) return remote > 0 ? 0 : -1;                        \
    return NEXT(name)(path, buf);                                  \
  }
STAT_HOOK(stat, 1)
STAT_HOOK(lstat, 0)
int stat64(const char *path, struct stat64 *buf) { return stat(path, (struct stat *)buf); }
int lstat64(const char *path, struct stat64 *buf) { return lstat(path, (struct stat *)buf); }

int fstatat(int dirfd, const char *path, struct stat *buf, int flags) {
  int remote = remote_stat_at(dirfd, path, flags, buf);
  if (remote) return remote > 0 ? 0 : -1;
  return NEXT(fstatat)(dirfd, path, buf, flags);
}
int fstatat64(int dirfd, const char *path, struct stat64 *buf, int flags) { return fstatat(dirfd, path, (struct stat *)buf, flags); }

/* glibc before 2.33 routes stat through these. */
int __xstat(int ver, const char *path, struct stat *buf) {
  int remote = remote_stat(path, 1, buf);
  if (remote) return remote > 0 ? 0 : -1;
  return NEXT_AS(int (*)(int, const char *, struct stat *), "__xstat")(ver, path, buf);
}
int __lxstat(int ver, const char *path, struct stat *buf) {
  int remote = remote_stat(path, 0, buf);
  if (remote) return remote > 0 ? 0 : -1;
  return NEXT_AS(int (*)(int, const char *, struct stat *), "__lxstat")(ver, path, buf);
}
int __xstat64(int ver, const char *path, struct stat64 *buf) { return __xstat(ver, path, (struct stat *)buf); }
int __lxstat64(int ver, const char *path, struct stat64 *buf) { return __lxstat(ver, path, (struct stat *)buf); }
int __fxstatat(int ver, int dirfd, const char *path, struct stat *buf, int flags) {
  int remote = remote_stat_at(dirfd, path, flags, buf);
  if (remote) return remote > 0 ? 0 : -1;
  return NEXT_AS(int (*)(int, int, const char *, struct stat *, int), "__fxstatat")(ver, dirfd, path, buf, flags);
}
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *buf, int flags) { return __fxstatat(ver, dirfd, path, (struct stat *)buf, flags); }

int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf) {
  struct stat st;
  int remote = remote_stat_at(dirfd, path, flags, &st);
  if (!remote) return NEXT(statx)(dirfd, path, flags, mask, buf);
  if (remote < 0) return -1;
  memset(buf, 0, sizeof *buf);
  buf->stx_mask = STATX_BASIC_STATS;
  buf->stx_blksize = st.st_blksize;
  buf->stx_nlink = st.st_nlink;
  buf->stx_uid = st.st_uid;
  buf->stx_gid = st.st_gid;
  buf->stx_mode = st.st_mode;
  buf->stx_ino = st.st_ino;
  buf->stx_size = st.st_size;
  buf->stx_blocks = st.st_blocks;
  buf->stx_atime = (struct statx_timestamp){.tv_sec = st.st_atim.tv_sec, .tv_nsec = st.st_atim.tv_nsec};
  buf->stx_mtime = (struct statx_timestamp){.tv_sec = st.st_mtim.tv_sec, .tv_nsec = st.st_mtim.tv_nsec};
  buf->stx_ctime = (struct statx_timestamp){.tv_sec = st.st_ctim.tv_sec, .tv_nsec = st.st_ctim.tv_nsec};
  buf->stx_dev_major = major(st.st_dev);
  buf->stx_dev_minor = minor(st.st_dev);
  return 0;
}

static int remote_access(const char *path, int mode) {
  char reply[256], *f[2], args[16];
  snprintf(args, sizeof args, "%d", mode);
  int n = remote_call("access", args, path, NULL, reply, sizeof reply, f, 2);
  return n > 0 ? 1 : n;
}

int access(const char *path, int mode) {
  int remote = remote_access(path, mode);
  if (remote) return remote > 0 ? 0 : -1;
  return NEXT(access)(path, mode);
}

int faccessat(int dirfd, const char *path, int mode, int flags) {
  char buf[4096];
  int remote = remote_access(path_at(dirfd, path, buf, sizeof buf), mode);
  if (remote) return remote > 0 ? 0 : -1;
  return NEXT(faccessat)(dirfd, path, mode, flags);
}

/* Remote readlink: the length copied, 0 local (a link's target is never empty), -1 errno set. */
static ssize_t remote_readlink(const char *path, char *buf, size_t size) {
  char reply[4200], *f[2];
  int n = remote_call("readlink", "", path, NULL, reply, sizeof reply, f, 2);
  if (n <= 0) return n;
  if (n < 2) return 0;
  size_t len = strlen(f[1]);
  if (len > size) len = size;
  memcpy(buf, f[1], len);
  return (ssize_t)len;
}

ssize_t readlink(const char *path, char *buf, size_t size) {
  ssize_t remote = remote_readlink(path, buf, size);
  return remote ? remote : NEXT(readlink)(path, buf, size);
}

ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size) {
  char at[4096];
  ssize_t remote = remote_readlink(path_at(dirfd, path, at, sizeof at), buf, size);
  return remote ? remote : NEXT(readlinkat)(dirfd, path, buf, size);
}

/* stdio closes through libc's internal close, which the close hook never sees. */
int fclose(FILE *stream) {
  int fd = stream ? fileno(stream) : -1;
  int flushed = 0;
  if (fd >= 0 && fd_write_back(fd)) {
    fflush(stream);
    flushed = write_back_before_close(fd);
  }
  fd_forget(fd);
  int saved = errno;
  int rc = NEXT(fclose)(stream);
  if (flushed != 0) {
    errno = saved;
    return EOF;
  }
  return rc;
}

/* A program that exits without closing its files still has them sent back. Destructors run
 * before libc flushes stdio at exit, so flush it here first. */
__attribute__((destructor)) static void write_back_at_exit(void) {
  if (fd_next_write_back(-1) < 0) return;
  fflush(NULL);
  for (int fd = fd_next_write_back(-1); fd >= 0; fd = fd_next_write_back(fd)) write_back_before_close(fd);
}
