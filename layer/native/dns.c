/* Name resolution in the pod: getaddrinfo and gethostbyname ask the proxy, which asks the
 * sidecar (the pod's resolv.conf and hosts). Ports, socket types and protocols come from the
 * real getaddrinfo run on a numeric template address, so services and hints behave as usual. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layer.h"

static int (*real_getaddrinfo)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
static void (*real_freeaddrinfo)(struct addrinfo *);

/* Lists this file allocated, so freeaddrinfo frees them itself. */
struct owned { struct addrinfo *head; struct owned *next; };
static struct owned *owned_lists;
static pthread_mutex_t owned_lock = PTHREAD_MUTEX_INITIALIZER;

static void resolve_real(void) {
  if (!real_getaddrinfo) real_getaddrinfo = dlsym(RTLD_NEXT, "getaddrinfo");
  if (!real_freeaddrinfo) real_freeaddrinfo = dlsym(RTLD_NEXT, "freeaddrinfo");
}

static int is_numeric_host(const char *host) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int stays_local(const char *node, const struct addrinfo *hints) {
  return !layer_config.enabled || !layer_config.dns || !node || is_numeric_host(node) || strcmp(node, "localhost") == 0 ||
         (hints && (hints->ai_flags & AI_NUMERICHOST));
}

/* Copies each template entry once per address of its family. */
static struct addrinfo *expand(struct addrinfo *templates, char **addresses, int count, const char *canon) {
  struct addrinfo *head = NULL, **tail = &head;
  for (int i = 0; i < count; i++) {
    int family = strchr(addresses[i], ':') ? AF_INET6 : AF_INET;
    for (struct addrinfo *t = templates; t; t = t->ai_next) {
      if (t->ai_family != family) continue;
      struct addrinfo *entry = calloc(1, sizeof *entry + sizeof(struct sockaddr_storage));
      if (!entry) break;
      *entry = *t;
      entry->ai_next = NULL;
      entry->ai_canonname = NULL;
      entry->ai_addr = (struct sockaddr *)(entry + 1);
      int port = ntohs(((struct sockaddr_in *)t->ai_addr)->sin_port);
      entry->ai_addrlen = parse_address(family, addresses[i], port, (struct sockaddr_storage *)entry->ai_addr);
      *tail = entry;
      tail = &entry->ai_next;
    }
  }
  if (head && canon) head->ai_canonname = strdup(canon);
  return head;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
  layer_init();
  resolve_real();
  if (stays_local(node, hints)) return real_getaddrinfo(node, service, hints, res);
  int family = hints ? hints->ai_family : AF_UNSPEC;
  struct channel_message m;
  channel_begin(&m, OP_RESOLVE);
  channel_put_text(&m, node);
  channel_put_int(&m, family == AF_INET ? 4 : family == AF_INET6 ? 6 : 0);
  enum channel_reply_kind kind = channel_send(&m);
  if (kind == REPLY_ERROR) return m.reply.error; /* an EAI_* code */
  if (kind != REPLY_ADDRESSES) return real_getaddrinfo(node, service, hints, res);

  char *addresses[64];
  int count = 0;
  for (char *save, *token = strtok_r(m.reply.addresses, ",", &save); token && count < 64; token = strtok_r(NULL, ",", &save)) addresses[count++] = token;
  if (!count) return EAI_NONAME;

  struct addrinfo template_hints = hints ? *hints : (struct addrinfo){0};
  template_hints.ai_flags = (template_hints.ai_flags | AI_NUMERICHOST) & ~(AI_CANONNAME | AI_ADDRCONFIG);
  struct addrinfo *v4 = NULL, *v6 = NULL;
  int rc4 = family == AF_INET6 ? EAI_FAMILY : real_getaddrinfo("127.0.0.1", service, &template_hints, &v4);
  int rc6 = family == AF_INET ? EAI_FAMILY : real_getaddrinfo("::1", service, &template_hints, &v6);
  if (rc4 != 0 && rc6 != 0) return rc4 == EAI_FAMILY ? rc6 : rc4;
  if (v4) {
    struct addrinfo *last = v4;
    while (last->ai_next) last = last->ai_next;
    last->ai_next = v6;
  }
  struct addrinfo *templates = v4 ? v4 : v6;
  struct addrinfo *list = expand(templates, addresses, count, hints && (hints->ai_flags & AI_CANONNAME) ? node : NULL);
  real_freeaddrinfo(templates);
  if (!list) return EAI_NONAME;

  struct owned *mark = malloc(sizeof *mark);
  if (mark) {
    pthread_mutex_lock(&owned_lock);
    *mark = (struct owned){list, owned_lists};
    owned_lists = mark;
    pthread_mutex_unlock(&owned_lock);
  }
  *res = list;
  return 0;
}

void freeaddrinfo(struct addrinfo *list) {
  resolve_real();
  struct owned *found = NULL;
  pthread_mutex_lock(&owned_lock);
  for (struct owned **cursor = &owned_lists; *cursor; cursor = &(*cursor)->next) {
    if ((*cursor)->head == list) {
      found = *cursor;
      *cursor = found->next;
      break;
    }
  }
  pthread_mutex_unlock(&owned_lock);
  if (!found) {
    real_freeaddrinfo(list);
    return;
  }
  free(found);
  while (list) {
    struct addrinfo *next = list->ai_next;
    free(list->ai_canonname);
    free(list);
    list = next;
  }
}

/* The legacy API: IPv4 only, results in static storage, as glibc's own. */
struct hostent *gethostbyname(const char *name) {
  static struct hostent entry;
  static char name_copy[256];
  static struct in_addr addresses[16];
  static char *address_list[17];
  static char *aliases[1];
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *list;
  layer_init();
  if (stays_local(name, &hints)) {
    static struct hostent *(*real_gethostbyname)(const char *);
    if (!real_gethostbyname) real_gethostbyname = dlsym(RTLD_NEXT, "gethostbyname");
    return real_gethostbyname(name);
  }
  if (getaddrinfo(name, NULL, &hints, &list) != 0) {
    h_errno = HOST_NOT_FOUND;
    return NULL;
  }
  int count = 0;
  for (struct addrinfo *a = list; a && count < 16; a = a->ai_next) addresses[count++] = ((struct sockaddr_in *)a->ai_addr)->sin_addr;
  freeaddrinfo(list);
  for (int i = 0; i < count; i++) address_list[i] = (char *)&addresses[i];
  address_list[count] = NULL;
  snprintf(name_copy, sizeof name_copy, "%s", name);
  entry = (struct hostent){.h_name = name_copy, .h_aliases = aliases, .h_addrtype = AF_INET, .h_length = 4, .h_addr_list = address_list};
  return &entry;
}

/* gethostbyname2 and the reentrant forms: what `getent hosts` and older programs use. */
static int fill_hostent(const char *name, int family, struct hostent *entry, char *buf, size_t buflen) {
  struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM}, *list;
  if (getaddrinfo(name, NULL, &hints, &list) != 0) return HOST_NOT_FOUND;
  size_t length = family == AF_INET6 ? sizeof(struct in6_addr) : sizeof(struct in_addr);
  size_t count = 0;
  for (struct addrinfo *a = list; a; a = a->ai_next) count++;
  size_t name_len = strlen(name) + 1;
  size_t need = name_len + count * length + (count + 2) * sizeof(char *) + sizeof(char *);
  if (need > buflen) {
    freeaddrinfo(list);
    return -1; /* ERANGE */
  }
  char **pointers = (char **)buf; /* aligned: the caller's buffer start */
  char **aliases = pointers + count + 1;
  char *data = (char *)(aliases + 1);
  size_t i = 0;
  for (struct addrinfo *a = list; a; a = a->ai_next, i++) {
    const void *src = family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr : (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr;
    memcpy(data, src, length);
    pointers[i] = data;
    data += length;
  }
  pointers[count] = NULL;
  aliases[0] = NULL;
  memcpy(data, name, name_len);
  freeaddrinfo(list);
  *entry = (struct hostent){.h_name = data, .h_aliases = aliases, .h_addrtype = family, .h_length = (int)length, .h_addr_list = pointers};
  return 0;
}

int gethostbyname2_r(const char *name, int family, struct hostent *entry, char *buf, size_t buflen, struct hostent **result, int *herr) {
  layer_init();
  struct addrinfo hints = {.ai_family = family};
  if (stays_local(name, &hints) || (family != AF_INET && family != AF_INET6)) {
    static int (*real)(const char *, int, struct hostent *, char *, size_t, struct hostent **, int *);
    if (!real) real = dlsym(RTLD_NEXT, "gethostbyname2_r");
    return real(name, family, entry, buf, buflen, result, herr);
  }
  int rc = fill_hostent(name, family, entry, buf, buflen);
  *result = rc == 0 ? entry : NULL;
  if (rc == -1) return ERANGE;
  *herr = rc;
  return rc == 0 ? 0 : ENOENT;
}

int gethostbyname_r(const char *name, struct hostent *entry, char *buf, size_t buflen, struct hostent **result, int *herr) {
  return gethostbyname2_r(name, AF_INET, entry, buf, buflen, result, herr);
}

struct hostent *gethostbyname2(const char *name, int family) {
  static struct hostent entry;
  static char buf[8192];
  struct hostent *result;
  if (gethostbyname2_r(name, family, &entry, buf, sizeof buf, &result, &h_errno) != 0) return NULL;
  return result;
}
