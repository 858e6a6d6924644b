/* The working directory, for relative paths. The layer resolves a relative path against it, so
 * `mkdir -p`, `cd /data && ls` and a program that changes into a directory and opens names in
 * it are served like absolute paths. Changing into a pod directory (chdir, or fchdir to a copy
 * of one) makes the pod's path the working directory without a real chdir: getcwd reports it,
 * and exec'd programs inherit it (MIRRORD_LAYER_CWD). Changing into a local directory is a real
 * chdir. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer.h"

static pthread_mutex_t cwd_lock = PTHREAD_MUTEX_INITIALIZER;
static char cwd[4096];
static int cwd_known;  /* cwd holds this machine's working directory (or the pod's, below) */
static int cwd_remote; /* cwd is a pod directory the program changed into */

__attribute__((constructor)) static void inherit_cwd(void) {
  const char *inherited = getenv("MIRRORD_LAYER_CWD");
  if (!inherited || inherited[0] != '/' || strlen(inherited) >= sizeof cwd) return;
  strcpy(cwd, inherited);
  cwd_known = cwd_remote = 1;
}

int cwd_is_remote(void) { return cwd_remote; }

const char *remote_cwd(void) { return cwd_remote ? cwd : NULL; }

static void set_cwd(const char *path, int remote) {
  pthread_mutex_lock(&cwd_lock);
  snprintf(cwd, sizeof cwd, "%s", path);
  cwd_known = 1;
  cwd_remote = remote;
  pthread_mutex_unlock(&cwd_lock);
}

/* After a real chdir: the next relative path asks getcwd again. */
static void forget_cwd(void) {
  pthread_mutex_lock(&cwd_lock);
  cwd_known = cwd_remote = 0;
  pthread_mutex_unlock(&cwd_lock);
}

/* Appends `path` to the absolute `base` (shorter than the working directory's buffer) in `out`,
 * folding "." and ".." by their names. Every relative path a hook sees comes here, so the parts
 * are copied, not printed. */
static void join_lexically(const char *base, const char *path, char *out, size_t cap) {
  char joined[8192];
  size_t base_len = strlen(base), path_len = strnlen(path, sizeof joined - 2 - base_len);
  memcpy(joined, base, base_len);
  joined[base_len] = '/';
  memcpy(joined + base_len + 1, path, path_len);
  joined[base_len + 1 + path_len] = '\0';
  size_t used = 0;
  out[0] = '\0';
  for (char *save, *part = strtok_r(joined, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
    if (strcmp(part, ".") == 0) continue;
    if (strcmp(part, "..") == 0) {
      char *slash = strrchr(out, '/');
      used = slash ? (size_t)(slash - out) : 0;
      out[used] = '\0';
      continue;
    }
    size_t len = strlen(part);
    if (len + 1 >= cap - used) {
      snprintf(out + used, cap - used, "/%s", part); /* too long: what fits */
      break;
    }
    out[used] = '/';
    memcpy(out + used + 1, part, len + 1);
    used += len + 1;
  }
  if (!used) snprintf(out, cap, "/");
}

/* A relative path as an absolute one, or `path` when the working directory can't be told. */
const char *absolute_path(const char *path, char *buf, size_t cap) {
  if (!path || path[0] == '/' || !layer_config.enabled || !layer_config.fs) return path;
  char base[4096];
  pthread_mutex_lock(&cwd_lock);
  if (!cwd_known) cwd_known = NEXT(getcwd)(cwd, sizeof cwd) != NULL;
  int known = cwd_known;
  if (known) memcpy(base, cwd, strlen(cwd) + 1);
  pthread_mutex_unlock(&cwd_lock);
  if (!known) return path;
  join_lexically(base, path, buf, cap);
  return buf;
}

int chdir(const char *path) {
  char buf[4096];
  const char *target = absolute_path(path, buf, sizeof buf);
  struct stat st;
  int remote = remote_stat(target, 1, &st);
  if (remote < 0) return -1;
  if (remote > 0) {
    if (!S_ISDIR(st.st_mode)) {
      errno = ENOTDIR;
      return -1;
    }
    set_cwd(target, 1);
    return 0;
  }
  int rc = NEXT(chdir)(local_path(AT_FDCWD, path, target));
  if (rc == 0) forget_cwd();
  return rc;
}

int fchdir(int fd) {
  char path[4096];
  if (fd_remote_path(fd, path, sizeof path)) {
    set_cwd(path, 1);
    return 0;
  }
  int rc = NEXT(fchdir)(fd);
  if (rc == 0) forget_cwd();
  return rc;
}

char *getcwd(char *buf, size_t size) {
  char copy[4096];
  pthread_mutex_lock(&cwd_lock);
  int remote = cwd_remote;
  if (remote) memcpy(copy, cwd, sizeof copy);
  pthread_mutex_unlock(&cwd_lock);
  if (!remote) return NEXT(getcwd)(buf, size);
  size_t need = strlen(copy) + 1;
  if (!buf) return strdup(copy); /* glibc's extension: allocated, whatever `size` says */
  if (size < need) {
    errno = ERANGE;
    return NULL;
  }
  memcpy(buf, copy, need);
  return buf;
}
