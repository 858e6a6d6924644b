/* Opening files. A remote file is fetched by the proxy into a private cache and the real call
 * opens the copy, so read, lseek and mmap just work; a remote directory is a copy of its
 * listing. The layer remembers which pod path each such fd stands for (calls relative to it,
 * fstat, fstatfs), and sends a copy opened for writing back to the pod at fsync and when it
 * closes. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer.h"

static int wants_write(int flags) { return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC | O_APPEND)); }

int fetch_copy(struct channel_message *m, enum channel_op op, const char *path, int flags) {
  channel_begin(m, op);
  channel_put_int(m, flags);
  return remote_call(m, path, NULL);
}

/* Records what a new fd is: a copy of the pod's `path` (`copy`, fetch_copy's answer), or
 * (fetched == 0) nothing of ours, which clears what a closed fd of that number left (libc closes
 * some, like fclose's, unseen). */
static void remember_open(int fd, int fetched, const char *path, int flags, const struct channel_message *copy) {
  if (fd < 0) return;
  fd_forget(fd);
  if (!fetched) return;
  fd_set_remote(fd, path, copy->kind == REPLY_COPY_STAT && !wants_write(flags) ? &copy->reply.copy.stat : NULL);
  if (wants_write(flags)) fd_set_write_back(fd);
}

static int open_common(int dirfd, const char *path, int flags, mode_t mode) {
  char buf[4096];
  const char *target = path_at(dirfd, path, buf, sizeof buf);
  struct channel_message copy;
  int fetched = fetch_copy(&copy, OP_OPEN, target, flags);
  if (fetched < 0) return -1;
  int fd = NEXT(openat)(dirfd, fetched ? copy.reply.copy.path : local_path(dirfd, path, target), flags, mode);
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

/* What _FORTIFY_SOURCE makes of open() and openat() without O_CREAT (most distribution builds). */
int __open_2(const char *path, int flags) { return open_common(AT_FDCWD, path, flags, 0); }
__typeof__(__open_2) __open64_2 __attribute__((alias("__open_2")));
int __openat_2(int dirfd, const char *path, int flags) { return open_common(dirfd, path, flags, 0); }
__typeof__(__openat_2) __openat64_2 __attribute__((alias("__openat_2")));

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
  char buf[4096];
  const char *target = path_at(AT_FDCWD, path, buf, sizeof buf);
  int flags = fopen_flags(mode);
  struct channel_message copy;
  int fetched = fetch_copy(&copy, OP_OPEN, target, flags);
  if (fetched < 0) return NULL;
  FILE *file = real(fetched ? copy.reply.copy.path : local_path(AT_FDCWD, path, target), mode);
  if (file) remember_open(fileno(file), fetched, target, flags, &copy);
  return file;
}

FILE *fopen(const char *path, const char *mode) { return fopen_common(path, mode, NEXT(fopen)); }
FILE *fopen64(const char *path, const char *mode) { return fopen_common(path, mode, NEXT(fopen64)); }

/* Sends the copy `fd` writes back to the pod, whole. Returns 0, or -1 with errno when the pod
 * refused it (the caller, close or fsync, then reports it, as a failed flush would). */
int write_back_to_pod(int fd) {
  if (!fd_write_back(fd)) return 0;
  char link[64], copy[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = NEXT(readlink)(link, copy, sizeof copy - 1);
  if (n <= 0) return 0;
  copy[n] = '\0';
  struct channel_message m;
  channel_begin(&m, OP_FLUSH);
  channel_put_text(&m, copy);
  return channel_ask(&m);
}

/* A program calls fsync to know its data landed: on a copy being written that means in the pod,
 * so the copy goes there now and its failure (ENOSPC, EIO, ...) is this call's, not only a
 * close() the program may never check. */
int fsync(int fd) { return fd_write_back(fd) ? write_back_to_pod(fd) : NEXT(fsync)(fd); }
int fdatasync(int fd) { return fd_write_back(fd) ? write_back_to_pod(fd) : NEXT(fdatasync)(fd); }

DIR *opendir(const char *path) {
  char buf[4096];
  const char *target = path_at(AT_FDCWD, path, buf, sizeof buf);
  struct channel_message copy;
  int fetched = fetch_copy(&copy, OP_OPENDIR, target, O_RDONLY | O_DIRECTORY);
  if (fetched < 0) return NULL;
  DIR *dir = NEXT(opendir)(fetched ? copy.reply.copy.path : local_path(AT_FDCWD, path, target));
  if (dir) remember_open(dirfd(dir), fetched, target, O_RDONLY, &copy);
  return dir;
}

/* closedir closes its fd inside libc, which the close hook never sees. glibc declares `dir`
 * non-null, but programs pass NULL and get EINVAL from it. */
#pragma GCC diagnostic ignored "-Wnonnull-compare"
int closedir(DIR *dir) {
  if (dir) fd_forget(dirfd(dir));
  return NEXT(closedir)(dir);
}

/* stdio closes through libc's internal close, which the close hook never sees. */
int fclose(FILE *stream) {
  int fd = stream ? fileno(stream) : -1;
  int flushed = 0;
  if (fd >= 0 && fd_write_back(fd)) {
    fflush(stream);
    flushed = write_back_to_pod(fd);
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
  for (int fd = fd_next_write_back(-1); fd >= 0; fd = fd_next_write_back(fd)) write_back_to_pod(fd);
}
