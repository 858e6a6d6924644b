/* Socket addresses to and from the text of the proxy's lines. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "layer.h"

int format_address(const struct sockaddr *addr, char *ip, size_t cap) {
  int port;
  if (addr->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
    inet_ntop(AF_INET, &in->sin_addr, ip, cap);
    port = ntohs(in->sin_port);
  } else if (addr->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)addr;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, cap);
    else inet_ntop(AF_INET6, &in6->sin6_addr, ip, cap);
    port = ntohs(in6->sin6_port);
  } else {
    return -1;
  }
  return port;
}

socklen_t parse_address(int family, const char *ip, int port, struct sockaddr_storage *addr) {
  memset(addr, 0, sizeof *addr);
  if (family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)addr;
    in->sin_family = AF_INET;
    in->sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, ip, &in->sin_addr) != 1) return 0;
    return sizeof *in;
  }
  if (family == AF_INET6) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((unsigned short)port);
    if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) return sizeof *in6;
    /* An IPv4 address for an IPv6 socket: the mapped form. */
    struct in_addr v4;
    if (inet_pton(AF_INET, ip, &v4) != 1) return 0;
    in6->sin6_addr.s6_addr[10] = 0xff;
    in6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&in6->sin6_addr.s6_addr[12], &v4, 4);
    return sizeof *in6;
  }
  return 0;
}
