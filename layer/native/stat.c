/* Questions about a path: stat and its variants, access, readlink. For the pod's paths the pod
 * answers; fstat of a copy of a pod file or directory reports the pod's stat of it (a program
 * compares it with what stat said of the path, as find and shutil.rmtree do), while a copy
 * being written reports its own. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "layer.h"

/* stat of a path relative to `dirfd`: AT_EMPTY_PATH on a copy of the pod's is the pod's stat. */
static int remote_stat_at(int dirfd, const char *path, int flags, struct stat *out, const char **target, char *buf, size_t cap) {
  *target = path_at(dirfd, path, buf, cap);
  if ((flags & AT_EMPTY_PATH) && path && !path[0] && fd_remote_stat(dirfd, out)) return 1;
  return remote_stat(*target, !(flags & AT_SYMLINK_NOFOLLOW), out);
}

int fstat(int fd, struct stat *buf) { return fd_remote_stat(fd, buf) ? 0 : NEXT(fstat)(fd, buf); }
int fstat64(int fd, struct stat64 *buf) { return fstat(fd, (struct stat *)buf); }
int __fxstat(int ver, int fd, struct stat *buf) {
  return fd_remote_stat(fd, buf) ? 0 : NEXT_AS(int (*)(int, int, struct stat *), "__fxstat")(ver, fd, buf);
}
int __fxstat64(int ver, int fd, struct stat64 *buf) { return __fxstat(ver, fd, (struct stat *)buf); }

int fstatat(int dirfd, const char *path, struct stat *buf, int flags) {
  char at[4096];
  const char *target;
  return POD_OR(remote_stat_at(dirfd, path, flags, buf, &target, at, sizeof at), NEXT(fstatat)(dirfd, local_path(dirfd, path, target), buf, flags));
}
int fstatat64(int dirfd, const char *path, struct stat64 *buf, int flags) { return fstatat(dirfd, path, (struct stat *)buf, flags); }
int stat(const char *path, struct stat *buf) { return fstatat(AT_FDCWD, path, buf, 0); }
int lstat(const char *path, struct stat *buf) { return fstatat(AT_FDCWD, path, buf, AT_SYMLINK_NOFOLLOW); }
int stat64(const char *path, struct stat64 *buf) { return stat(path, (struct stat *)buf); }
int lstat64(const char *path, struct stat64 *buf) { return lstat(path, (struct stat *)buf); }

/* glibc before 2.33 routes stat through these. */
int __fxstatat(int ver, int dirfd, const char *path, struct stat *buf, int flags) {
  char at[4096];
  const char *target;
  int remote = remote_stat_at(dirfd, path, flags, buf, &target, at, sizeof at);
  return POD_OR(remote, NEXT_AS(int (*)(int, int, const char *, struct stat *, int), "__fxstatat")(ver, dirfd, local_path(dirfd, path, target), buf, flags));
}
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *buf, int flags) { return __fxstatat(ver, dirfd, path, (struct stat *)buf, flags); }
int __xstat(int ver, const char *path, struct stat *buf) { return __fxstatat(ver, AT_FDCWD, path, buf, 0); }
int __lxstat(int ver, const char *path, struct stat *buf) { return __fxstatat(ver, AT_FDCWD, path, buf, AT_SYMLINK_NOFOLLOW); }
int __xstat64(int ver, const char *path, struct stat64 *buf) { return __xstat(ver, path, (struct stat *)buf); }
int __lxstat64(int ver, const char *path, struct stat64 *buf) { return __lxstat(ver, path, (struct stat *)buf); }

int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf) {
  char at[4096];
  const char *target;
  struct stat st;
  int remote = remote_stat_at(dirfd, path, flags, &st, &target, at, sizeof at);
  if (!remote) return NEXT(statx)(dirfd, local_path(dirfd, path, target), flags, mask, buf);
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

int faccessat(int dirfd, const char *path, int mode, int flags) {
  char at[4096];
  const char *target = path_at(dirfd, path, at, sizeof at);
  struct channel_message m;
  channel_begin(&m, OP_ACCESS);
  channel_put_int(&m, mode);
  int remote = remote_call(&m, target, NULL);
  return POD_OR(remote, NEXT(faccessat)(dirfd, local_path(dirfd, path, target), mode, flags));
}

int access(const char *path, int mode) { return faccessat(AT_FDCWD, path, mode, 0); }

ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size) {
  char at[4096];
  const char *target = path_at(dirfd, path, at, sizeof at);
  struct channel_message m;
  channel_begin(&m, OP_READLINK);
  int remote = remote_call(&m, target, NULL);
  if (remote < 0) return -1;
  if (!remote) return NEXT(readlinkat)(dirfd, local_path(dirfd, path, target), buf, size);
  size_t len = strlen(m.reply.target);
  if (len > size) len = size;
  memcpy(buf, m.reply.target, len);
  return (ssize_t)len;
}

ssize_t readlink(const char *path, char *buf, size_t size) { return readlinkat(AT_FDCWD, path, buf, size); }
