/* Socket hooks. Outgoing connections to the pod's network are connected to a local endpoint
 * of the proxy, which relays to the sidecar; a listening socket is bound to a free local port
 * and the proxy subscribes the port the app asked for. getsockname/getpeername report the
 * addresses the app expects. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "layer.h"

static int socket_type(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 ? type : -1;
}

/* Loopback, and the unspecified address, which connect() takes to mean this host. */
static int is_loopback(const struct sockaddr *addr) {
  if (addr->sa_family == AF_INET) {
    in_addr_t ip = ntohl(((const struct sockaddr_in *)addr)->sin_addr.s_addr);
    return (ip >> 24) == 127 || ip == INADDR_ANY;
  }
  const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
  return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

static int is_inet(const struct sockaddr *addr) {
  return addr && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6);
}

/* Whether the proxy is asked about a connection or datagram to `addr`; `*type` is the socket's
 * type when it is. Loopback is the pod's too (a database proxy on the pod's localhost), unless
 * ignore_localhost says otherwise; and a TCP connection to loopback may be for a port the
 * program itself listens on, which only the proxy knows (it may be another process's). The
 * socket is only asked its type once nothing cheaper has said no. */
static int asks_proxy(int fd, const struct sockaddr *addr, int *type) {
  if (!layer_config.enabled || !is_inet(addr)) return 0;
  int loopback = is_loopback(addr);
  int tcp = layer_config.outgoing_tcp && !(loopback && layer_config.ignore_localhost);
  int udp = layer_config.outgoing_udp && !(loopback && layer_config.ignore_localhost);
  if (loopback && layer_config.incoming) tcp = 1;
  if (!tcp && !udp) return 0;
  *type = socket_type(fd);
  return (*type == SOCK_STREAM && tcp) || (*type == SOCK_DGRAM && udp);
}

/* Asks the proxy where a connection to `addr` goes: m->kind is REDIRECT (through a relay),
 * LISTENER (to the program's own listener for that port), or anything else for local. Returns
 * -1 with errno set when the pod refused it. */
static int ask_route(int type, const struct sockaddr *addr, struct channel_message *m) {
  channel_begin(m, OP_CONNECT);
  channel_put_text(m, type == SOCK_STREAM ? "tcp" : "udp");
  channel_put_address(m, addr);
  return channel_ask(m);
}

static socklen_t relay_address(int family, int port, struct sockaddr_storage *relay) {
  return parse_address(family, family == AF_INET6 ? "::1" : "127.0.0.1", port, relay);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  layer_init();
  int type;
  if (!asks_proxy(fd, addr, &type)) return real_connect(fd, addr, len);
  struct channel_message m;
  if (ask_route(type, addr, &m) != 0) return -1;
  if (m.kind != REPLY_REDIRECT && m.kind != REPLY_LISTENER) return real_connect(fd, addr, len);
  int relayed = m.kind == REPLY_REDIRECT;
  struct sockaddr_storage relay, pod_local;
  socklen_t relay_len = relay_address(addr->sa_family, relayed ? m.reply.redirect.relay_port : m.reply.listener_port, &relay);
  int rc = real_connect(fd, (struct sockaddr *)&relay, relay_len);
  if (rc == 0 || errno == EINPROGRESS) {
    int saved = errno;
    fd_remember_peer(fd, addr, len);
    /* To the program's own listener the connection is local: its real source address is right. */
    const struct channel_endpoint *source = &m.reply.redirect.pod_local;
    socklen_t local_len = relayed ? parse_address(addr->sa_family, source->ip, source->port, &pod_local) : 0;
    if (local_len) fd_remember_local(fd, (struct sockaddr *)&pod_local, local_len);
    errno = saved;
  }
  return rc;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
  layer_init();
  if (!layer_config.enabled || !layer_config.incoming || !is_inet(addr) || socket_type(fd) != SOCK_STREAM) return real_bind(fd, addr, len);
  int port = ntohs(((const struct sockaddr_in *)addr)->sin_port); /* same offset in sockaddr_in6 */
  if (port == 0) return real_bind(fd, addr, len);
  struct channel_message m;
  channel_begin(&m, OP_BIND);
  channel_put_address(&m, addr);
  if (channel_send(&m) != REPLY_INTERCEPT) return real_bind(fd, addr, len);
  struct sockaddr_storage any_port;
  memcpy(&any_port, addr, len < sizeof any_port ? len : sizeof any_port);
  ((struct sockaddr_in *)&any_port)->sin_port = 0;
  int rc = real_bind(fd, (struct sockaddr *)&any_port, len);
  if (rc == 0) {
    fd_set_requested_port(fd, port);
    fd_remember_local(fd, addr, len);
  }
  return rc;
}

int listen(int fd, int backlog) {
  layer_init();
  int rc = real_listen(fd, backlog);
  int port = rc == 0 ? fd_requested_port(fd) : 0;
  if (!port) return rc;
  struct sockaddr_storage real_addr;
  socklen_t len = sizeof real_addr;
  if (NEXT(getsockname)(fd, (struct sockaddr *)&real_addr, &len) != 0) return rc;
  struct channel_message m;
  channel_begin(&m, OP_LISTEN);
  channel_put_int(&m, port);
  channel_put_int(&m, ntohs(((struct sockaddr_in *)&real_addr)->sin_port));
  /* A refused subscription (the proxy has said why on mirrord's stderr): the port is the pod's
   * and someone else holds it, so the app is told as it would be of a local port in use. */
  if (channel_ask(&m) != 0) return -1;
  fd_set_listening(fd);
  return rc;
}

/* A connection the proxy made for an incoming one: report the pod-side client and address. */
static void describe_accepted(int listener, int fd, struct sockaddr *addr, socklen_t *len) {
  if (fd < 0 || !fd_requested_port(listener)) return;
  struct sockaddr_storage relay;
  socklen_t relay_len = sizeof relay;
  if (NEXT(getpeername)(fd, (struct sockaddr *)&relay, &relay_len) != 0) return;
  struct channel_message m;
  channel_begin(&m, OP_PEER);
  channel_put_int(&m, ntohs(((struct sockaddr_in *)&relay)->sin_port));
  enum channel_reply_kind kind = channel_send(&m);
  if (kind == REPLY_NONE) return;
  if (kind != REPLY_PEER) {
    /* A local client (the program's own, through its port): it reached the port the program
     * asked for, so that is the address the accepted socket reports. */
    struct sockaddr_storage local;
    socklen_t local_len = sizeof local;
    if (NEXT(getsockname)(fd, (struct sockaddr *)&local, &local_len) != 0) return;
    ((struct sockaddr_in *)&local)->sin_port = htons((unsigned short)fd_requested_port(listener)); /* same offset in sockaddr_in6 */
    fd_remember_local(fd, (struct sockaddr *)&local, local_len);
    return;
  }
  struct sockaddr_storage peer, local;
  socklen_t peer_len = parse_address(relay.ss_family, m.reply.peer.client.ip, m.reply.peer.client.port, &peer);
  socklen_t local_len = parse_address(relay.ss_family, m.reply.peer.pod.ip, m.reply.peer.pod.port, &local);
  if (peer_len) {
    fd_remember_peer(fd, (struct sockaddr *)&peer, peer_len);
    if (addr && len) {
      memcpy(addr, &peer, *len < peer_len ? *len : peer_len);
      *len = peer_len;
    }
  }
  if (local_len) fd_remember_local(fd, (struct sockaddr *)&local, local_len);
}

int accept(int fd, struct sockaddr *addr, socklen_t *len) {
  int accepted = NEXT(accept)(fd, addr, len);
  describe_accepted(fd, accepted, addr, len);
  return accepted;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  int accepted = NEXT(accept4)(fd, addr, len, flags);
  describe_accepted(fd, accepted, addr, len);
  return accepted;
}

int getsockname(int fd, struct sockaddr *addr, socklen_t *len) {
  if (fd_local(fd, addr, len) == 0) return 0;
  return NEXT(getsockname)(fd, addr, len);
}

int getpeername(int fd, struct sockaddr *addr, socklen_t *len) {
  if (fd_peer(fd, addr, len) == 0) return 0;
  return NEXT(getpeername)(fd, addr, len);
}

/* After a listener's descriptor closes: the proxy gives the pod's port back once no descriptor
 * of that socket (a dup, a forked child's copy) still listens. */
static void listener_closed(int port) {
  struct channel_message m;
  channel_begin(&m, OP_CLOSED);
  channel_put_int(&m, port);
  channel_send(&m);
}

int close(int fd) {
  layer_init();
  if (proxy_channel_release(fd)) return 0; /* the app's fd sweep must not take our channel */
  int flushed = write_back_to_pod(fd);
  int saved = errno;
  int listener_port = fd_listening(fd) ? fd_requested_port(fd) : 0;
  fd_forget(fd);
  udp_routes_forget(fd);
  int rc = real_close(fd);
  if (listener_port) listener_closed(listener_port);
  if (flushed != 0) {
    errno = saved;
    return -1;
  }
  return rc;
}

int dup(int fd) {
  int copy = NEXT(dup)(fd);
  if (copy >= 0) fd_copy(fd, copy);
  return copy;
}

int dup2(int fd, int target) {
  proxy_channel_release(target);
  if (target != fd) write_back_to_pod(target); /* dup2 closes what `target` was */
  int copy = NEXT(dup2)(fd, target);
  if (copy >= 0 && copy != fd) fd_copy(fd, copy);
  return copy;
}

/* fcntl's F_DUPFD is dup by another name (find and rm copy directory fds with it). */
int fcntl(int fd, int cmd, ...) {
  va_list args;
  va_start(args, cmd);
  void *arg = va_arg(args, void *); /* an int or a pointer: passed on as the same register */
  va_end(args);
  int rc = NEXT(fcntl)(fd, cmd, arg);
  if (rc >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)) fd_copy(fd, rc);
  return rc;
}
__typeof__(fcntl) fcntl64 __attribute__((alias("fcntl")));

int dup3(int fd, int target, int flags) {
  proxy_channel_release(target);
  write_back_to_pod(target);
  int copy = NEXT(dup3)(fd, target, flags);
  if (copy >= 0) fd_copy(fd, copy);
  return copy;
}

/* The relay standing for `destination` on an unconnected UDP socket (made on first use), or 0. */
static int udp_relay_for(int fd, const struct sockaddr *destination, socklen_t len, struct sockaddr_storage *relay, socklen_t *relay_len) {
  int type;
  if (!destination || !asks_proxy(fd, destination, &type) || type != SOCK_DGRAM) return 0;
  int port = udp_route_relay(fd, destination, len);
  if (!port) {
    struct channel_message m;
    if (ask_route(type, destination, &m) != 0) return -1;
    /* A destination that stays local is remembered too, so its next datagram asks nobody. */
    port = m.kind == REPLY_REDIRECT ? m.reply.redirect.relay_port : UDP_ROUTE_LOCAL;
    udp_route_add(fd, port, destination, len);
  }
  if (port == UDP_ROUTE_LOCAL) return 0;
  *relay_len = relay_address(destination->sa_family, port, relay);
  return 1;
}

/* A datagram from a relay: report the pod-side address it stands for. */
static void udp_rewrite_source(int fd, struct sockaddr *source, socklen_t *len) {
  if (!source || !len || !is_inet(source) || !is_loopback(source)) return;
  udp_route_destination(fd, ntohs(((struct sockaddr_in *)source)->sin_port), source, len);
}

ssize_t sendto(int fd, const void *buf, size_t size, int flags, const struct sockaddr *destination, socklen_t len) {
  layer_init();
  struct sockaddr_storage relay;
  socklen_t relay_len;
  int relayed = udp_relay_for(fd, destination, len, &relay, &relay_len);
  if (relayed < 0) return -1;
  return relayed ? NEXT(sendto)(fd, buf, size, flags, (struct sockaddr *)&relay, relay_len) : NEXT(sendto)(fd, buf, size, flags, destination, len);
}

ssize_t recvfrom(int fd, void *buf, size_t size, int flags, struct sockaddr *source, socklen_t *len) {
  ssize_t n = NEXT(recvfrom)(fd, buf, size, flags, source, len);
  if (n >= 0) udp_rewrite_source(fd, source, len);
  return n;
}

ssize_t sendmsg(int fd, const struct msghdr *message, int flags) {
  layer_init();
  struct sockaddr_storage relay;
  socklen_t relay_len;
  int relayed = message ? udp_relay_for(fd, message->msg_name, message->msg_namelen, &relay, &relay_len) : 0;
  if (relayed < 0) return -1;
  if (!relayed) return NEXT(sendmsg)(fd, message, flags);
  struct msghdr copy = *message;
  copy.msg_name = &relay;
  copy.msg_namelen = relay_len;
  return NEXT(sendmsg)(fd, &copy, flags);
}

ssize_t recvmsg(int fd, struct msghdr *message, int flags) {
  ssize_t n = NEXT(recvmsg)(fd, message, flags);
  if (n >= 0 && message) udp_rewrite_source(fd, message->msg_name, &message->msg_namelen);
  return n;
}
