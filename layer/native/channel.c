/* The layer's side of the channel to the local proxy, and the configuration it reads. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "layer.h"

struct layer_config layer_config;

int (*real_connect)(int, const struct sockaddr *, socklen_t);
int (*real_bind)(int, const struct sockaddr *, socklen_t);
int (*real_listen)(int, int);
int (*real_close)(int);
int (*real_socket)(int, int, int);

static pthread_mutex_t channel_lock = PTHREAD_MUTEX_INITIALIZER;
static int channel_fd = -1;
static pid_t channel_pid;
/* High fd numbers keep the channel out of the way of programs that dup2 onto low ones. */
#define CHANNEL_FD_FLOOR 900

static int env_flag(const char *name, int fallback) {
  const char *value = getenv(name);
  return value ? strcmp(value, "0") != 0 : fallback;
}

static void after_fork_in_child(void) {
  /* The inherited channel belongs to the parent; close our copy and connect anew on demand. */
  pthread_mutex_init(&channel_lock, NULL);
  if (channel_fd >= 0) real_close(channel_fd);
  channel_fd = -1;
}

__attribute__((constructor)) void layer_init(void) {
  static int done;
  if (done) return;
  done = 1;
  real_connect = dlsym(RTLD_NEXT, "connect");
  real_bind = dlsym(RTLD_NEXT, "bind");
  real_listen = dlsym(RTLD_NEXT, "listen");
  real_close = dlsym(RTLD_NEXT, "close");
  real_socket = dlsym(RTLD_NEXT, "socket");
  layer_config.enabled = getenv("MIRRORD_LAYER_SOCKET") != NULL;
  layer_config.incoming = env_flag("MIRRORD_LAYER_INCOMING", 1);
  layer_config.outgoing_tcp = env_flag("MIRRORD_LAYER_OUTGOING_TCP", 1);
  layer_config.outgoing_udp = env_flag("MIRRORD_LAYER_OUTGOING_UDP", 1);
  layer_config.dns = env_flag("MIRRORD_LAYER_DNS", 1);
  layer_config.ignore_localhost = env_flag("MIRRORD_LAYER_IGNORE_LOCALHOST", 0);
  const char *fs = getenv("MIRRORD_LAYER_FS");
  /* Every mode but local can make some path the pod's (localwithoverrides: only its patterns). */
  layer_config.fs = fs && (strcmp(fs, "read") == 0 || strcmp(fs, "write") == 0 || strcmp(fs, "localwithoverrides") == 0);
  const char *prefixes = getenv("MIRRORD_LAYER_REMOTE_PATHS");
  snprintf(layer_config.remote_prefixes, sizeof layer_config.remote_prefixes, "%s", prefixes ? prefixes : "");
  pthread_atfork(NULL, NULL, after_fork_in_child);
}

static int channel_open(void) {
  const char *path = getenv("MIRRORD_LAYER_SOCKET");
  if (!path || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) return -1;
  int fd = real_socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strcpy(addr.sun_path, path);
  if (real_connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
    real_close(fd);
    return -1;
  }
  int high = fcntl(fd, F_DUPFD_CLOEXEC, CHANNEL_FD_FLOOR);
  if (high >= 0) {
    real_close(fd);
    fd = high;
  }
  channel_pid = getpid();
  return fd;
}

static int write_all(int fd, const char *data, size_t len) {
  while (len) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* One request and its "\n" in one system call (the rest plainly, after a short write). */
static int write_line(int fd, const char *text) {
  size_t len = strlen(text);
  struct iovec parts[2] = {{(void *)text, len}, {(void *)"\n", 1}};
  ssize_t n;
  do n = writev(fd, parts, 2);
  while (n < 0 && errno == EINTR);
  if (n < 0) return -1;
  size_t done = (size_t)n;
  if (done < len && write_all(fd, text + done, len - done) != 0) return -1;
  return done <= len ? write_all(fd, "\n", 1) : 0;
}

/* Reads one reply line, in chunks: the proxy sends exactly one line per request and the
 * channel lock is held from request to reply, so nothing follows the '\n' to be read too far. */
static int read_line(int fd, char *out, size_t cap) {
  size_t used = 0;
  char chunk[512];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    char *end = memchr(chunk, '\n', (size_t)n);
    size_t take = end ? (size_t)(end - chunk) : (size_t)n;
    if (take > cap - 1 - used) take = cap - 1 - used; /* a longer line is cut */
    memcpy(out + used, chunk, take);
    used += take;
    if (end) break;
  }
  out[used] = '\0';
  return 0;
}

int proxy_request(const char *request, char *reply, size_t cap) {
  if (!layer_config.enabled) return -1;
  int saved_errno = errno;
  pthread_mutex_lock(&channel_lock);
  if (channel_fd >= 0 && channel_pid != getpid()) channel_fd = -1; /* forked without atfork (vfork) */
  if (channel_fd < 0) channel_fd = channel_open();
  int result = -1;
  if (channel_fd >= 0) {
    result = write_line(channel_fd, request) == 0 && read_line(channel_fd, reply, cap) == 0 ? 0 : -1;
    if (result != 0) {
      real_close(channel_fd);
      channel_fd = -1;
    }
  }
  pthread_mutex_unlock(&channel_lock);
  errno = saved_errno;
  return result;
}

int proxy_ask(const char *request, char *reply, size_t cap, char **fields, int max) {
  if (proxy_request(request, reply, cap) != 0) return 0;
  int n = split_fields(reply, fields, max);
  if (n >= 2 && strcmp(fields[0], "error") == 0) {
    errno = atoi(fields[1]);
    return -1;
  }
  return n;
}

int proxy_channel_release(int fd) {
  if (fd < 0 || fd != channel_fd) return 0;
  pthread_mutex_lock(&channel_lock);
  int released = fd == channel_fd;
  if (released) {
    real_close(channel_fd);
    channel_fd = -1;
  }
  pthread_mutex_unlock(&channel_lock);
  return released;
}

int split_fields(char *line, char **fields, int max) {
  int count = 0;
  char *cursor = line;
  while (count < max) {
    fields[count++] = cursor;
    char *tab = strchr(cursor, '\t');
    if (!tab) break;
    *tab = '\0';
    cursor = tab + 1;
  }
  return count;
}
