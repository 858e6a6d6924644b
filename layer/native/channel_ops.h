/* The channel to the local proxy: every operation, with its request's field count and the
 * replies it may get, and the codec the hooks use instead of formatting and splitting lines. The
 * proxy's side of the same contract is intproxy/channel.ts, whose test checks that the two list
 * the same operations, replies and field counts. A request is one line, `OP FIELD…`, answered by
 * one line, `KIND FIELD…`, fields separated by tabs (docs/layer.md). */
#ifndef MIRRORD_CHANNEL_OPS_H
#define MIRRORD_CHANNEL_OPS_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

/* The replies: X(ID, kind, field count). A kind whose fields depend on the request ("ok",
 * "path") has one entry per shape; the operation and the field count tell which came. */
#define CHANNEL_REPLIES(X)                                                                            \
  X(LOCAL, "local", 0)         /* do the call on this machine, as without mirrord */                  \
  X(ERROR, "error", 1)         /* ERRNO (resolve: getaddrinfo's EAI_* code) */                        \
  X(OK, "ok", 0)                                                                                      \
  X(INTERCEPT, "intercept", 0)                                                                        \
  X(UNKNOWN, "unknown", 0)                                                                            \
  X(REDIRECT, "redirect", 3)   /* RELAY_PORT POD_LOCAL_IP POD_LOCAL_PORT */                           \
  X(LISTENER, "listener", 1)   /* LOCAL_PORT: the program's own listener */                           \
  X(ADDRESSES, "ok", 1)        /* IP,IP,… */                                                          \
  X(PEER, "ok", 4)             /* CLIENT_IP CLIENT_PORT POD_IP POD_PORT */                            \
  X(COPY, "path", 1)           /* LOCAL_COPY: a copy opened for writing */                            \
  X(COPY_STAT, "path", 14)     /* LOCAL_COPY STAT…: a copy only read, and the pod's stat */           \
  X(STAT, "ok", 13)            /* DEV INO MODE NLINK UID GID RDEV SIZE BLKSIZE BLOCKS A/M/CTIME_MS */ \
  X(STATFS, "ok", 7)           /* TYPE BSIZE BLOCKS BFREE BAVAIL FILES FFREE */                       \
  X(TARGET, "ok", 1)           /* a link's target */

/* The operations: X(ID, name, request field count, the replies it may get). */
#define CHANNEL_OPS(X)                                                                                  \
  X(CONNECT, "connect", 3, R(LOCAL) | R(REDIRECT) | R(LISTENER) | R(ERROR)) /* PROTO IP PORT */         \
  X(RESOLVE, "resolve", 2, R(ADDRESSES) | R(ERROR) | R(LOCAL))              /* HOST FAMILY (0, 4, 6) */ \
  X(BIND, "bind", 2, R(INTERCEPT) | R(LOCAL))                               /* IP PORT */               \
  X(LISTEN, "listen", 2, R(OK) | R(ERROR))                                  /* PORT LOCAL_PORT */       \
  X(CLOSED, "closed", 1, R(OK))                                             /* PORT */                  \
  X(PEER, "peer", 1, R(PEER) | R(UNKNOWN))                                  /* LOCAL_PORT */            \
  X(OPEN, "open", 2, R(COPY) | R(COPY_STAT) | R(ERROR) | R(LOCAL))          /* FLAGS PATH */            \
  X(OPENDIR, "opendir", 2, R(COPY) | R(COPY_STAT) | R(ERROR) | R(LOCAL))    /* FLAGS PATH */            \
  X(FLUSH, "flush", 1, R(OK) | R(ERROR))                                    /* LOCAL_COPY */            \
  X(STAT, "stat", 2, R(STAT) | R(ERROR) | R(LOCAL))                         /* FOLLOW PATH */           \
  X(STATFS, "statfs", 1, R(STATFS) | R(ERROR) | R(LOCAL))                   /* PATH */                  \
  X(ACCESS, "access", 2, R(OK) | R(ERROR) | R(LOCAL))                       /* MODE PATH */             \
  X(READLINK, "readlink", 1, R(TARGET) | R(ERROR) | R(LOCAL))               /* PATH */                  \
  X(MKDIR, "mkdir", 2, R(OK) | R(ERROR) | R(LOCAL))                         /* MODE PATH */             \
  X(CHMOD, "chmod", 2, R(OK) | R(ERROR) | R(LOCAL))                         /* MODE PATH */             \
  X(RMDIR, "rmdir", 1, R(OK) | R(ERROR) | R(LOCAL))                         /* PATH */                  \
  X(UNLINK, "unlink", 1, R(OK) | R(ERROR) | R(LOCAL))                       /* PATH */                  \
  X(TRUNCATE, "truncate", 2, R(OK) | R(ERROR) | R(LOCAL))                   /* LENGTH PATH */           \
  X(UTIMES, "utimes", 3, R(OK) | R(ERROR) | R(LOCAL))                       /* ATIME MTIME PATH */      \
  X(RENAME, "rename", 3, R(OK) | R(ERROR) | R(LOCAL))                       /* FLAGS FROM TO */

enum channel_op {
#define CHANNEL_OP_ID(id, name, fields, replies) OP_##id,
  CHANNEL_OPS(CHANNEL_OP_ID)
#undef CHANNEL_OP_ID
};

enum channel_reply_kind {
  REPLY_NONE, /* no answer: no proxy, a request that can't travel, or a reply the contract doesn't list */
#define CHANNEL_REPLY_ID(id, kind, fields) REPLY_##id,
  CHANNEL_REPLIES(CHANNEL_REPLY_ID)
#undef CHANNEL_REPLY_ID
  REPLY_COUNT
};

/* An address and port as a reply carries them (`ip` points into the message's line). */
struct channel_endpoint {
  const char *ip;
  int port;
};

/* The longest line either way: a rename's two paths and then some. */
#define CHANNEL_LINE_MAX 8448
/* The most fields a request has. */
#define CHANNEL_FIELDS_MAX 3

/* One request and then its reply, decoded: built with channel_begin and the channel_put_*
 * helpers, sent with channel_send or channel_ask. Building only records the fields, which are
 * written into the line when the request is sent: a hook builds its request before it knows
 * whether the call concerns the pod at all, so a call that stays local costs next to nothing.
 * A text put is the caller's until then. The request's line is reused for the reply. */
struct channel_message {
  enum channel_op op;
  int fields;  /* the request's fields so far */
  int invalid; /* a field that can't travel: a tab or line break in text, too many fields, or too long a line */
  struct channel_field {
    enum { FIELD_TEXT, FIELD_INT, FIELD_TIME } type;
    union {
      const char *text;
      long long number;
      struct timespec time;
    };
  } field[CHANNEL_FIELDS_MAX];
  char ip[INET6_ADDRSTRLEN]; /* channel_put_address's text (one address a request) */
  size_t len;
  enum channel_reply_kind kind; /* the reply, after sending */
  union {
    int error;         /* ERROR */
    int listener_port; /* LISTENER */
    struct {
      int relay_port;
      struct channel_endpoint pod_local;
    } redirect;        /* REDIRECT */
    char *addresses;   /* ADDRESSES */
    struct {
      struct channel_endpoint client, pod;
    } peer;            /* PEER */
    struct {
      const char *path;
      struct stat stat; /* COPY_STAT only */
    } copy;            /* COPY, COPY_STAT */
    struct stat stat;  /* STAT */
    struct statfs statfs; /* STATFS: type, bsize, blocks, bfree, bavail, files, ffree */
    const char *target; /* TARGET */
  } reply;
  char line[CHANNEL_LINE_MAX];
};

void channel_begin(struct channel_message *m, enum channel_op op);
void channel_put_text(struct channel_message *m, const char *text);
void channel_put_int(struct channel_message *m, long long value);
/* Two fields, IP and PORT (an IPv4-mapped IPv6 address as IPv4); invalid for other families. */
void channel_put_address(struct channel_message *m, const struct sockaddr *addr);
/* A time utimensat sets: ms since the epoch (with a fraction), `now` (NULL or UTIME_NOW) or `omit`. */
void channel_put_time(struct channel_message *m, const struct timespec *time);

/* Sends the request and decodes its reply into m->kind and m->reply; returns m->kind. errno is
 * kept. Thread-safe; a forked child gets its own connection. */
enum channel_reply_kind channel_send(struct channel_message *m);
/* channel_send, with an ERROR reply as errno: -1 with errno set, else 0 (m->kind says what came). */
int channel_ask(struct channel_message *m);

#endif
