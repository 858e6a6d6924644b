/* The pod's host name (mirrord's feature.hostname): gethostname and uname report it, so code
 * that resolves its own name (Java's InetAddress.getLocalHost, Erlang node names) finds the
 * pod, whose /etc/hosts lists it. MIRRORD_LAYER_HOSTNAME is unset when the feature is off. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "layer.h"

static const char *pod_hostname(void) {
  const char *name = layer_config.enabled ? getenv("MIRRORD_LAYER_HOSTNAME") : NULL;
  return name && name[0] ? name : NULL;
}

int gethostname(char *name, size_t len) {
  const char *pod = pod_hostname();
  if (!pod) return NEXT(gethostname)(name, len);
  size_t need = strlen(pod) + 1;
  if (need > len) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(name, pod, need);
  return 0;
}

int uname(struct utsname *buf) {
  int rc = NEXT(uname)(buf);
  const char *pod = pod_hostname();
  if (rc == 0 && pod) {
    strncpy(buf->nodename, pod, sizeof buf->nodename - 1);
    buf->nodename[sizeof buf->nodename - 1] = '\0';
  }
  return rc;
}
