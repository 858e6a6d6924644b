/* The preload layer: hooks libc in the user's process and asks the local proxy (in the
 * mirrord CLI) what to do, over a Unix socket. Connection bytes never pass through here. */
#ifndef MIRRORD_LAYER_H
#define MIRRORD_LAYER_H

#include <dlfcn.h> /* NEXT; the including file defines _GNU_SOURCE first, for RTLD_NEXT */
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "channel_ops.h" /* the channel to the proxy: requests, replies, codec */

/* Real libc functions, resolved once with dlsym(RTLD_NEXT). */
extern int (*real_connect)(int, const struct sockaddr *, socklen_t);
extern int (*real_bind)(int, const struct sockaddr *, socklen_t);
extern int (*real_listen)(int, int);
extern int (*real_close)(int);
extern int (*real_socket)(int, int, int);

/* Configuration the CLI passes in the environment, read once at load. */
struct layer_config {
  int enabled;          /* MIRRORD_LAYER_SOCKET is set */
  int incoming;         /* subscribe ports the app listens on */
  int outgoing_tcp;
  int outgoing_udp;
  int dns;
  int ignore_localhost; /* connections to loopback stay on this machine */
  int fs;               /* any remote files at all (any mode but local); the proxy decides per path */
  char remote_prefixes[4096]; /* ':'-separated absolute paths served by the pod */
};
extern struct layer_config layer_config;

void layer_init(void);

/* The next definition of a libc function (the real one), looked up once per call site: NEXT for
 * a declared function, NEXT_AS for one glibc no longer declares (the __xstat family). */
#define NEXT_AS(type, name) \
  ({ static __typeof__(type) next_; if (!next_) next_ = (__typeof__(type))dlsym(RTLD_NEXT, name); next_; })
#define NEXT(name) NEXT_AS(__typeof__(&name), #name)

/* Remembered per-fd addresses, for getsockname/getpeername. */
void fd_remember_local(int fd, const struct sockaddr *addr, socklen_t len);
void fd_remember_peer(int fd, const struct sockaddr *addr, socklen_t len);
int fd_local(int fd, struct sockaddr *addr, socklen_t *len);
int fd_peer(int fd, struct sockaddr *addr, socklen_t *len);
int fd_requested_port(int fd); /* the port the app bound, or 0 */
void fd_set_requested_port(int fd, int port);
/* A socket whose port the proxy subscribed at listen(). */
void fd_set_listening(int fd);
int fd_listening(int fd);
void fd_forget(int fd);
/* A local copy of a remote file opened for writing: sent back to the pod when closed. */
void fd_set_write_back(int fd);
int fd_write_back(int fd);
/* The next fd after `after` marked for write-back, or -1. */
int fd_next_write_back(int after);
void fd_copy(int from, int to);
/* A local copy of the pod's `path` (a file, or a directory's listing); `st`, when the copy is
 * only read, is the pod's stat of it. */
void fd_set_remote(int fd, const char *path, const struct stat *st);
int fd_remote_path(int fd, char *out, size_t cap);
int fd_remote_stat(int fd, struct stat *out);
/* When `fd` is the channel, closes it (a new one opens on demand) and returns 1. */
int proxy_channel_release(int fd);

/* Unconnected UDP sockets: the relay port standing for a destination (UDP_ROUTE_LOCAL: the
 * destination stays local), and back. */
#define UDP_ROUTE_LOCAL (-1)
int udp_route_relay(int fd, const struct sockaddr *destination, socklen_t len);
void udp_route_add(int fd, int relay_port, const struct sockaddr *destination, socklen_t len);
int udp_route_destination(int fd, int relay_port, struct sockaddr *out, socklen_t *len);
void udp_routes_forget(int fd);

/* Formats an address's IP (an IPv4-mapped IPv6 one as IPv4); returns its port, or -1 for a
 * family other than AF_INET/AF_INET6. */
int format_address(const struct sockaddr *addr, char *ip, size_t cap);
/* Fills `addr` (of `family`) from text; returns its length, or 0. */
socklen_t parse_address(int family, const char *ip, int port, struct sockaddr_storage *addr);

int path_is_remote(const char *path);
/* Sends a copy opened for writing back to the pod: 0, or -1 with errno. */
int write_back_to_pod(int fd);
/* Asks the proxy for a local copy of a remote path, for `op` (OP_OPEN, OP_OPENDIR; the proxy
 * knows which remote paths may be written): 1 with the copy's path in m->reply.copy.path (and
 * with m->kind REPLY_COPY_STAT, the pod's stat of it), 0 when the path stays local, -1 with
 * errno set when the pod says it fails. */
int fetch_copy(struct channel_message *m, enum channel_op op, const char *path, int flags);

/* The path a call relative to `dirfd` names, to decide where it goes: `path` itself when
 * absolute; beneath the working directory for AT_FDCWD (cwd.c); beneath the pod path `dirfd`
 * is a copy of; else `path` (relative to a local directory: local). Built in `buf`. */
const char *path_at(int dirfd, const char *path, char *buf, size_t cap);
/* What the real call gets when a path stays local: `path`, or `target` (path_at's answer) when
 * it is relative to a pod working directory, which the real working directory is not. */
const char *local_path(int dirfd, const char *path, const char *target);

/* The working directory (cwd.c): a relative path made absolute (or `path` when it can't be
 * told), and whether it is a pod directory the program changed into. */
const char *absolute_path(const char *path, char *buf, size_t cap);
int cwd_is_remote(void);
/* The pod working directory, for exec'd programs to inherit, or NULL. */
const char *remote_cwd(void);

/* The hook's answer: the pod's (0, or -1 with errno), or the real call's. */
#define POD_OR(remote, real_call) ({ int remote_ = (remote); remote_ ? (remote_ > 0 ? 0 : -1) : (real_call); })

/* Asks the proxy about path(s) the layer calls remote: `m` holds the request begun with its
 * other fields, the path(s) come last. Returns 1 when the pod answered (m->kind: neither LOCAL
 * nor ERROR), 0 when the call stays local, -1 with errno set. */
int remote_call(struct channel_message *m, const char *path, const char *second_path);
/* The pod's stat of a remote path: 1 filled, 0 local, -1 errno set. */
int remote_stat(const char *path, int follow, struct stat *out);

#endif
