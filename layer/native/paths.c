/* Which paths are the pod's, and how the file hooks ask the proxy about them. Paths under
 * MIRRORD_LAYER_REMOTE_PATHS (the app's mount points, and the literal starts of the config's
 * path patterns) may be the pod's; the proxy decides with the full feature.fs rules. A relative
 * path is resolved first: against a directory fd that is a copy of a pod directory, or against
 * the working directory (cwd.c). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

const char *path_at(int dirfd, const char *path, char *buf, size_t cap) {
  if (!path || path[0] == '/') return path;
  if (dirfd == AT_FDCWD) return absolute_path(path, buf, cap);
  char base[4096];
  if (!fd_remote_path(dirfd, base, sizeof base)) return path;
  if (!path[0]) snprintf(buf, cap, "%s", base); /* AT_EMPTY_PATH: the directory itself */
  else snprintf(buf, cap, "%s/%s", strcmp(base, "/") == 0 ? "" : base, path);
  return buf;
}

const char *local_path(int dirfd, const char *path, const char *target) {
  return dirfd == AT_FDCWD && path && path[0] != '/' && cwd_is_remote() ? target : path;
}

int remote_call(const char *op, const char *args, const char *path, const char *second_path, char *reply, size_t cap, char **f, int max) {
  if (!path_is_remote(path) && !path_is_remote(second_path)) return 0;
  if (!path || strpbrk(path, "\t\n") || (second_path && strpbrk(second_path, "\t\n"))) return 0;
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

int remote_stat(const char *path, int follow, struct stat *out) {
  char reply[1024], *f[14], args[4];
  snprintf(args, sizeof args, "%d", follow);
  int n = remote_call("stat", args, path, NULL, reply, sizeof reply, f, 14);
  if (n <= 0) return n;
  if (n < 14) return 0;
  parse_stat(f + 1, out);
  return 1;
}
