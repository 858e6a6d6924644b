/* Which paths are the pod's, and how the file hooks ask the proxy about them. Paths under
 * MIRRORD_LAYER_REMOTE_PATHS (the app's mount points, and the literal starts of the config's
 * path patterns) may be the pod's; the proxy decides with the full feature.fs rules. A relative
 * path is resolved first: against a directory fd that is a copy of a pod directory, or against
 * the working directory (cwd.c). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
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

int remote_call(struct channel_message *m, const char *path, const char *second_path) {
  if (!path_is_remote(path) && !path_is_remote(second_path)) return 0;
  channel_put_text(m, path);
  if (second_path) channel_put_text(m, second_path);
  if (channel_ask(m) != 0) return -1;
  return m->kind != REPLY_NONE && m->kind != REPLY_LOCAL;
}

int remote_stat(const char *path, int follow, struct stat *out) {
  struct channel_message m;
  channel_begin(&m, OP_STAT);
  channel_put_int(&m, follow);
  int remote = remote_call(&m, path, NULL);
  if (remote > 0) *out = m.reply.stat;
  return remote;
}
