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

/* Asks the proxy for a local copy of a remote path. Returns 1 with `local` filled, 0 when the
 * path stays local, -1 with errno set when the pod says it fails. */
static int fetch(const char *op, const char *path, int flags, char *local, size_t cap) {
  if (!path_is_remote(path)) return 0; /* the proxy knows which remote paths may be written */
  char request[4200], reply[4200], *f[2];
  snprintf(request, sizeof request, "%s\t%d\t%s", op, flags, path);
  int n = proxy_ask(request, reply, sizeof reply, f, 2);
  if (n < 0) return -1;
  if (n < 2 || strcmp(f[0], "path") != 0) return 0;
  snprintf(local, cap, "%s", f[1]);
  return 1;
}

static int open_common(int dirfd, const char *path, int flags, mode_t mode) {
  char local[4096];
  int fetched = fetch("open", path, flags, local, sizeof local);
  if (fetched < 0) return -1;
  int fd = NEXT(openat)(dirfd, fetched ? local : path, flags, mode);
  if (fd >= 0 && fetched && wants_write(flags)) fd_set_write_back(fd);
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
  char local[4096];
  int fetched = fetch("open", path, fopen_flags(mode), local, sizeof local);
  if (fetched < 0) return NULL;
  return real(fetched ? local : path, mode);
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
  char local[4096];
  int fetched = fetch("opendir", path, O_RDONLY, local, sizeof local);
  if (fetched < 0) return NULL;
  return NEXT(opendir)(fetched ? local : path);
}

/* Remote stat: 1 filled, 0 local, -1 errno set. */
static int remote_stat(const char *path, int follow, struct stat *out) {
  if (!path_is_remote(path)) return 0;
  char request[4200], reply[1024], *f[14];
  snprintf(request, sizeof request, "stat\t%d\t%s", follow, path);
  int n = proxy_ask(request, reply, sizeof reply, f, 14);
  if (n < 0) return -1;
  if (n < 14 || strcmp(f[0], "ok") != 0) return 0;
  memset(out, 0, sizeof *out);
  out->st_dev = strtoull(f[1], NULL, 10);
  out->st_ino = strtoull(f[2], NULL, 10);
  out->st_mode = strtoul(f[3], NULL, 10);
  out->st_nlink = strtoul(f[4], NULL, 10);
  out->st_uid = strtoul(f[5], NULL, 10);
  out->st_gid = strtoul(f[6], NULL, 10);
  out->st_rdev = strtoull(f[7], NULL, 10);
  out->st_size = strtoll(f[8], NULL, 10);
  out->st_blksize = strtol(f[9], NULL, 10);
  out->st_blocks = strtoll(f[10], NULL, 10);
  long long times[3] = {strtoll(f[11], NULL, 10), strtoll(f[12], NULL, 10), strtoll(f[13], NULL, 10)};
  struct timespec *fields[3] = {&out->st_atim, &out->st_mtim, &out->st_ctim};
  for (int i = 0; i < 3; i++) *fields[i] = (struct timespec){times[i] / 1000, (times[i] % 1000) * 1000000};
  return 1;
}

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
  int remote = remote_stat(path, !(flags & AT_SYMLINK_NOFOLLOW), buf);
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
  int remote = remote_stat(path, !(flags & AT_SYMLINK_NOFOLLOW), buf);
  if (remote) return remote > 0 ? 0 : -1;
  return NEXT_AS(int (*)(int, int, const char *, struct stat *, int), "__fxstatat")(ver, dirfd, path, buf, flags);
}
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *buf, int flags) { return __fxstatat(ver, dirfd, path, (struct stat *)buf, flags); }

int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf) {
  struct stat st;
  int remote = remote_stat(path, !(flags & AT_SYMLINK_NOFOLLOW), &st);
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
  if (!path_is_remote(path)) return 0;
  char request[4200], reply[256], *f[2];
  snprintf(request, sizeof request, "access\t%d\t%s", mode, path);
  int n = proxy_ask(request, reply, sizeof reply, f, 2);
  if (n < 0) return -1;
  return n >= 1 && strcmp(f[0], "ok") == 0;
}

int access(const char *path, int mode) {
  int remote = remote_access(path, mode);
  if (remote) return remote > 0 ? 0 : -1;
  return NEXT(access)(path, mode);
}

int faccessat(int dirfd, const char *path, int mode, int flags) {
  int remote = remote_access(path, mode);
  if (remote) return remote > 0 ? 0 : -1;
  return NEXT(faccessat)(dirfd, path, mode, flags);
}

ssize_t readlink(const char *path, char *buf, size_t size) {
  if (path_is_remote(path)) {
    char request[4200], reply[4200], *f[2];
    snprintf(request, sizeof request, "readlink\t%s", path);
    int n = proxy_ask(request, reply, sizeof reply, f, 2);
    if (n < 0) return -1;
    if (n == 2 && strcmp(f[0], "ok") == 0) {
      size_t len = strlen(f[1]);
      if (len > size) len = size;
      memcpy(buf, f[1], len);
      return (ssize_t)len;
    }
  }
  return NEXT(readlink)(path, buf, size);
}

/* stdio closes through libc's internal close, which the close hook never sees. */
int fclose(FILE *stream) {
  int fd = stream ? fileno(stream) : -1;
  int flushed = 0;
  if (fd >= 0 && fd_write_back(fd)) {
    fflush(stream);
    flushed = write_back_before_close(fd);
    fd_forget(fd);
  }
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
