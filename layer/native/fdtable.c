/* What the layer remembers per socket: the addresses the app must see (getsockname,
 * getpeername) and the port it asked to bind, which differ from the real ones. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "layer.h"

#define FD_LIMIT 65536

struct fd_info {
  struct sockaddr_storage local;
  socklen_t local_len;
  struct sockaddr_storage peer;
  socklen_t peer_len;
  int requested_port;
  int listening;
  int write_back;
  /* A local copy (file or directory) of a pod path: the path, and the pod's stat of it when
   * the copy is only read (fstat reports the pod's file, not the copy). */
  char *remote_path;
  struct stat remote_stat;
  int has_remote_stat;
};

static void release(struct fd_info *info) {
  if (!info) return;
  free(info->remote_path);
  free(info);
}

static struct fd_info *table[FD_LIMIT];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

/* Whether `fd` has a record, asked without the lock: most fds (every file and socket of the program
 * that is not the pod's) never get one, and their hooks take no lock. A record another thread is
 * making or dropping meanwhile is a race between that thread's call and this one either way. */
static int has_record(int fd) { return fd >= 0 && fd < FD_LIMIT && table[fd]; }

static struct fd_info *slot(int fd, int create) {
  if (fd < 0 || fd >= FD_LIMIT) return NULL;
  if (!table[fd] && create) table[fd] = calloc(1, sizeof(struct fd_info));
  return table[fd];
}

static void store(struct sockaddr_storage *to, socklen_t *to_len, const struct sockaddr *addr, socklen_t len) {
  if (len > sizeof *to) len = sizeof *to;
  memcpy(to, addr, len);
  *to_len = len;
}

void fd_remember_local(int fd, const struct sockaddr *addr, socklen_t len) {
  pthread_mutex_lock(&table_lock);
  struct fd_info *info = slot(fd, 1);
  if (info) store(&info->local, &info->local_len, addr, len);
  pthread_mutex_unlock(&table_lock);
}

void fd_remember_peer(int fd, const struct sockaddr *addr, socklen_t len) {
  pthread_mutex_lock(&table_lock);
  struct fd_info *info = slot(fd, 1);
  if (info) store(&info->peer, &info->peer_len, addr, len);
  pthread_mutex_unlock(&table_lock);
}

static int load(int fd, int peer, struct sockaddr *addr, socklen_t *len) {
  if (!has_record(fd)) return -1;
  pthread_mutex_lock(&table_lock);
  struct fd_info *info = slot(fd, 0);
  socklen_t stored = info ? (peer ? info->peer_len : info->local_len) : 0;
  if (stored) {
    socklen_t copy = *len < stored ? *len : stored;
    memcpy(addr, peer ? (void *)&info->peer : (void *)&info->local, copy);
    *len = stored;
  }
  pthread_mutex_unlock(&table_lock);
  return stored ? 0 : -1;
}

int fd_local(int fd, struct sockaddr *addr, socklen_t *len) { return load(fd, 0, addr, len); }
int fd_peer(int fd, struct sockaddr *addr, socklen_t *len) { return load(fd, 1, addr, len); }

/* The int fields, each read and written under the lock; a field of an fd without a record is 0. */
static int get_field(int fd, size_t offset) {
  if (!has_record(fd)) return 0;
  pthread_mutex_lock(&table_lock);
  struct fd_info *info = slot(fd, 0);
  int value = info ? *(int *)((char *)info + offset) : 0;
  pthread_mutex_unlock(&table_lock);
  return value;
}

static void set_field(int fd, size_t offset, int value) {
  pthread_mutex_lock(&table_lock);
  struct fd_info *info = slot(fd, 1);
  if (info) *(int *)((char *)info + offset) = value;
  pthread_mutex_unlock(&table_lock);
}

int fd_requested_port(int fd) { return get_field(fd, offsetof(struct fd_info, requested_port)); }
void fd_set_requested_port(int fd, int port) { set_field(fd, offsetof(struct fd_info, requested_port), port); }
int fd_listening(int fd) { return get_field(fd, offsetof(struct fd_info, listening)); }
void fd_set_listening(int fd) { set_field(fd, offsetof(struct fd_info, listening), 1); }
int fd_write_back(int fd) { return get_field(fd, offsetof(struct fd_info, write_back)); }
void fd_set_write_back(int fd) { set_field(fd, offsetof(struct fd_info, write_back), 1); }

void fd_set_remote(int fd, const char *path, const struct stat *st) {
  pthread_mutex_lock(&table_lock);
  struct fd_info *info = slot(fd, 1);
  if (info) {
    free(info->remote_path);
    info->remote_path = strdup(path);
    info->has_remote_stat = st != NULL;
    if (st) info->remote_stat = *st;
  }
  pthread_mutex_unlock(&table_lock);
}

int fd_remote_path(int fd, char *out, size_t cap) {
  if (!has_record(fd)) return 0;
  pthread_mutex_lock(&table_lock);
  struct fd_info *info = slot(fd, 0);
  int found = info && info->remote_path;
  if (found) snprintf(out, cap, "%s", info->remote_path);
  pthread_mutex_unlock(&table_lock);
  return found;
}

int fd_remote_stat(int fd, struct stat *out) {
  if (!has_record(fd)) return 0;
  pthread_mutex_lock(&table_lock);
  struct fd_info *info = slot(fd, 0);
  int found = info && info->has_remote_stat;
  if (found) *out = info->remote_stat;
  pthread_mutex_unlock(&table_lock);
  return found;
}

void fd_forget(int fd) {
  if (!has_record(fd)) return;
  pthread_mutex_lock(&table_lock);
  release(table[fd]);
  table[fd] = NULL;
  pthread_mutex_unlock(&table_lock);
}

void fd_copy(int from, int to) {
  if (!has_record(from) && !has_record(to)) return;
  pthread_mutex_lock(&table_lock);
  struct fd_info *source = slot(from, 0);
  if (to >= 0 && to < FD_LIMIT) {
    release(table[to]);
    table[to] = NULL;
    if (source) {
      table[to] = malloc(sizeof *source);
      if (table[to]) {
        memcpy(table[to], source, sizeof *source);
        table[to]->remote_path = source->remote_path ? strdup(source->remote_path) : NULL;
      }
    }
  }
  pthread_mutex_unlock(&table_lock);
}

/* Unconnected UDP: per socket, which local relay stands for which pod-side destination. */
#define UDP_ROUTES 16
struct udp_route {
  int fd;
  int relay_port;
  struct sockaddr_storage destination;
  socklen_t length;
};
static struct udp_route routes[UDP_ROUTES * 64];
static size_t route_count;

static int same_destination(const struct udp_route *route, const struct sockaddr *addr, socklen_t len) {
  return route->length == len && memcmp(&route->destination, addr, len) == 0;
}

int udp_route_relay(int fd, const struct sockaddr *destination, socklen_t len) {
  int port = 0;
  pthread_mutex_lock(&table_lock);
  for (size_t i = 0; i < route_count && !port; i++) {
    if (routes[i].fd == fd && same_destination(&routes[i], destination, len)) port = routes[i].relay_port;
  }
  pthread_mutex_unlock(&table_lock);
  return port;
}

void udp_route_add(int fd, int relay_port, const struct sockaddr *destination, socklen_t len) {
  pthread_mutex_lock(&table_lock);
  if (route_count < sizeof routes / sizeof routes[0] && len <= sizeof(struct sockaddr_storage)) {
    routes[route_count] = (struct udp_route){.fd = fd, .relay_port = relay_port, .length = len};
    memcpy(&routes[route_count].destination, destination, len);
    route_count++;
  }
  pthread_mutex_unlock(&table_lock);
}

int udp_route_destination(int fd, int relay_port, struct sockaddr *out, socklen_t *len) {
  int found = 0;
  pthread_mutex_lock(&table_lock);
  for (size_t i = 0; i < route_count && !found; i++) {
    if (routes[i].fd == fd && routes[i].relay_port == relay_port) {
      memcpy(out, &routes[i].destination, *len < routes[i].length ? *len : routes[i].length);
      *len = routes[i].length;
      found = 1;
    }
  }
  pthread_mutex_unlock(&table_lock);
  return found;
}

void udp_routes_forget(int fd) {
  if (!route_count) return; /* every close asks: without the lock while no socket has a route */
  pthread_mutex_lock(&table_lock);
  size_t kept = 0;
  for (size_t i = 0; i < route_count; i++) if (routes[i].fd != fd) routes[kept++] = routes[i];
  route_count = kept;
  pthread_mutex_unlock(&table_lock);
}

int fd_next_write_back(int after) {
  int found = -1;
  pthread_mutex_lock(&table_lock);
  for (int fd = after + 1; fd < FD_LIMIT && found < 0; fd++) if (table[fd] && table[fd]->write_back) found = fd;
  pthread_mutex_unlock(&table_lock);
  return found;
}
