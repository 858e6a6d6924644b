/* Calls that runtimes built on libuv (Node.js) make past the hooks of the other files: libuv
 * stats with the raw statx system call (syscall(SYS_statx, …)), closes with the raw close
 * (so a server's close() must still give the pod's port back, and the fd's records go), and
 * lists directories with scandir, which opens them inside libc. All are routed to the hooks. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "layer.h"

long syscall(long number, ...) {
  va_list args;
  va_start(args, number);
  long a[6];
  /* the kernel takes at most six; reading six is what libc's own syscall() does */
  for (int i = 0; i < 6; i++) a[i] = va_arg(args, long);
  va_end(args);
  if (number == SYS_statx && layer_config.enabled && layer_config.fs) return statx((int)a[0], (const char *)a[1], (int)a[2], (unsigned int)a[3], (struct statx *)a[4]);
  if (number == SYS_close && layer_config.enabled) return close((int)a[0]);
  return NEXT(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* The directory scandir lists: a pod directory's copy (its entries, with their types), or the
 * local path; NULL with errno set when the pod says it fails. */
static const char *listed(const char *path, char *buf, size_t cap, struct channel_message *copy) {
  const char *target = path_at(AT_FDCWD, path, buf, cap);
  int fetched = fetch_copy(copy, OP_OPENDIR, target, O_RDONLY | O_DIRECTORY);
  if (fetched < 0) return NULL;
  return fetched ? copy->reply.copy.path : local_path(AT_FDCWD, path, target);
}

int scandir(const char *path, struct dirent ***names, int (*filter)(const struct dirent *), int (*order)(const struct dirent **, const struct dirent **)) {
  char buf[4096];
  struct channel_message copy;
  const char *dir = listed(path, buf, sizeof buf, &copy);
  return dir ? NEXT(scandir)(dir, names, filter, order) : -1;
}

int scandir64(const char *path, struct dirent64 ***names, int (*filter)(const struct dirent64 *), int (*order)(const struct dirent64 **, const struct dirent64 **)) {
  char buf[4096];
  struct channel_message copy;
  const char *dir = listed(path, buf, sizeof buf, &copy);
  return dir ? NEXT(scandir64)(dir, names, filter, order) : -1;
}
