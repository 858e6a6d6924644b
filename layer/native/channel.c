/* The layer's side of the channel to the local proxy (its connection, and the codec of
 * channel_ops.h's contract), and the configuration the layer reads. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
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

/* Sends one request line (without '\n') and reads one reply line into the same buffer. Returns
 * 0, or -1 when the proxy can't be reached (the caller then behaves as without the layer). */
static int proxy_request(char *line, size_t cap) {
  if (!layer_config.enabled) return -1;
  int saved_errno = errno;
  pthread_mutex_lock(&channel_lock);
  if (channel_fd >= 0 && channel_pid != getpid()) channel_fd = -1; /* forked without atfork (vfork) */
  if (channel_fd < 0) channel_fd = channel_open();
  int result = -1;
  if (channel_fd >= 0) {
    result = write_line(channel_fd, line) == 0 && read_line(channel_fd, line, cap) == 0 ? 0 : -1;
    if (result != 0) {
      real_close(channel_fd);
      channel_fd = -1;
    }
  }
  pthread_mutex_unlock(&channel_lock);
  errno = saved_errno;
  return result;
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

/* The codec: the contract's tables (channel_ops.h), requests built field by field and written
 * into a line when sent, replies checked against what the operation may get and decoded. */

static const struct {
  const char *name;
  int fields;
  unsigned replies; /* a bit per enum channel_reply_kind */
} operations[] = {
#define R(id) (1u << REPLY_##id)
#define OPERATION(id, name, fields, replies) [OP_##id] = {name, fields, replies},
    CHANNEL_OPS(OPERATION)
#undef OPERATION
#undef R
};

static const struct {
  const char *kind;
  int fields;
} replies[] = {
#define REPLY(id, kind, fields) [REPLY_##id] = {kind, fields},
    CHANNEL_REPLIES(REPLY)
#undef REPLY
};

_Static_assert(REPLY_COUNT <= 32, "a reply kind per bit of an operation's replies");

#define FITS_REQUEST(id, name, fields, replies) _Static_assert(fields <= CHANNEL_FIELDS_MAX, "request " name " has more fields than CHANNEL_FIELDS_MAX");
CHANNEL_OPS(FITS_REQUEST)
#undef FITS_REQUEST

/* A reply's fields, its kind's name included: as many as the longest reply has. */
#define REPLY_FIELDS_MAX 15
#define FITS(id, kind, fields) _Static_assert(fields < REPLY_FIELDS_MAX, "reply " kind " has more fields than REPLY_FIELDS_MAX");
CHANNEL_REPLIES(FITS)
#undef FITS

void channel_begin(struct channel_message *m, enum channel_op op) {
  m->op = op;
  m->fields = 0;
  m->invalid = 0;
  m->kind = REPLY_NONE;
}

/* Records the next field, of `type`; NULL (the request invalid) past the most any request has. */
static struct channel_field *next_field(struct channel_message *m, int type) {
  if (m->fields++ >= CHANNEL_FIELDS_MAX) {
    m->invalid = 1;
    return NULL;
  }
  struct channel_field *field = &m->field[m->fields - 1];
  field->type = type;
  return field;
}

void channel_put_text(struct channel_message *m, const char *text) {
  struct channel_field *field = next_field(m, FIELD_TEXT);
  if (!text || strpbrk(text, "\t\n")) m->invalid = 1;
  else if (field) field->text = text;
}

void channel_put_int(struct channel_message *m, long long value) {
  struct channel_field *field = next_field(m, FIELD_INT);
  if (field) field->number = value;
}

void channel_put_address(struct channel_message *m, const struct sockaddr *addr) {
  int port = format_address(addr, m->ip, sizeof m->ip);
  if (port < 0) {
    m->fields += 2;
    m->invalid = 1;
    return;
  }
  channel_put_text(m, m->ip);
  channel_put_int(m, port);
}

void channel_put_time(struct channel_message *m, const struct timespec *time) {
  if (!time || time->tv_nsec == UTIME_NOW) channel_put_text(m, "now");
  else if (time->tv_nsec == UTIME_OMIT) channel_put_text(m, "omit");
  else {
    struct channel_field *field = next_field(m, FIELD_TIME);
    if (field) field->time = *time;
  }
}

static void put(struct channel_message *m, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void put(struct channel_message *m, const char *format, ...) {
  if (m->invalid) return;
  va_list args;
  va_start(args, format);
  int n = vsnprintf(m->line + m->len, sizeof m->line - m->len, format, args);
  va_end(args);
  if (n < 0 || (size_t)n >= sizeof m->line - m->len) m->invalid = 1;
  else m->len += (size_t)n;
}

/* Writes the request's line, `OP FIELD…`; m->invalid when it doesn't fit. */
static void encode(struct channel_message *m) {
  m->len = 0;
  put(m, "%s", operations[m->op].name);
  for (const struct channel_field *field = m->field; field < m->field + m->fields; field++) {
    if (field->type == FIELD_TEXT) put(m, "\t%s", field->text);
    else if (field->type == FIELD_INT) put(m, "\t%lld", field->number);
    else put(m, "\t%lld.%06ld", (long long)field->time.tv_sec * 1000 + field->time.tv_nsec / 1000000, field->time.tv_nsec % 1000000);
  }
}

/* Splits a line in place at tabs; returns the number of fields (at most `max`). */
static int split_fields(char *line, char **fields, int max) {
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

static struct channel_endpoint endpoint(char **f) { return (struct channel_endpoint){f[0], atoi(f[1])}; }

/* The 13 stat fields; times in ms. */
static void decode_stat(char **f, struct stat *out) {
  memset(out, 0, sizeof *out);
  out->st_dev = strtoull(f[0], NULL, 10);
  out->st_ino = strtoull(f[1], NULL, 10);
  out->st_mode = strtoul(f[2], NULL, 10);
  out->st_nlink = strtoul(f[3], NULL, 10);
  out->st_uid = strtoul(f[4], NULL, 10);
  out->st_gid = strtoul(f[5], NULL, 10);
  out->st_rdev = strtoull(f[6], NULL, 10);
  out->st_size = strtoll(f[7], NULL, 10);
  out->st_blksize = strtol(f[8], NULL, 10);
  out->st_blocks = strtoll(f[9], NULL, 10);
  long long times[3] = {strtoll(f[10], NULL, 10), strtoll(f[11], NULL, 10), strtoll(f[12], NULL, 10)};
  struct timespec *fields[3] = {&out->st_atim, &out->st_mtim, &out->st_ctim};
  for (int i = 0; i < 3; i++) *fields[i] = (struct timespec){times[i] / 1000, (times[i] % 1000) * 1000000};
}

static void decode_statfs(char **f, struct statfs *out) {
  memset(out, 0, sizeof *out);
  out->f_type = strtol(f[0], NULL, 10);
  out->f_bsize = strtol(f[1], NULL, 10);
  out->f_blocks = strtoull(f[2], NULL, 10);
  out->f_bfree = strtoull(f[3], NULL, 10);
  out->f_bavail = strtoull(f[4], NULL, 10);
  out->f_files = strtoull(f[5], NULL, 10);
  out->f_ffree = strtoull(f[6], NULL, 10);
}

/* The reply kind among those the operation may get whose name and field count the line has, or
 * REPLY_NONE; its fields decoded into m->reply. */
static enum channel_reply_kind decode(struct channel_message *m) {
  char *f[REPLY_FIELDS_MAX + 1];
  int n = split_fields(m->line, f, REPLY_FIELDS_MAX + 1) - 1;
  enum channel_reply_kind kind = REPLY_NONE;
  for (int k = REPLY_NONE + 1; k < REPLY_COUNT && kind == REPLY_NONE; k++) {
    if ((operations[m->op].replies & (1u << k)) && replies[k].fields == n && strcmp(replies[k].kind, f[0]) == 0) kind = k;
  }
  char **field = f + 1;
  switch (kind) {
    case REPLY_ERROR:
      m->reply.error = atoi(field[0]);
      break;
    case REPLY_LISTENER:
      m->reply.listener_port = atoi(field[0]);
      break;
    case REPLY_REDIRECT:
      m->reply.redirect.relay_port = atoi(field[0]);
      m->reply.redirect.pod_local = endpoint(field + 1);
      break;
    case REPLY_ADDRESSES:
      m->reply.addresses = field[0];
      break;
    case REPLY_PEER:
      m->reply.peer.client = endpoint(field);
      m->reply.peer.pod = endpoint(field + 2);
      break;
    case REPLY_COPY_STAT:
      decode_stat(field + 1, &m->reply.copy.stat);
      /* fall through */
    case REPLY_COPY:
      m->reply.copy.path = field[0];
      break;
    case REPLY_STAT:
      decode_stat(field, &m->reply.stat);
      break;
    case REPLY_STATFS:
      decode_statfs(field, &m->reply.statfs);
      break;
    case REPLY_TARGET:
      m->reply.target = field[0];
      break;
    default:
      break;
  }
  return kind;
}

enum channel_reply_kind channel_send(struct channel_message *m) {
  m->kind = REPLY_NONE;
  /* A request the contract doesn't describe stays unsent, as one that can't travel. */
  if (m->invalid || m->fields != operations[m->op].fields) return m->kind;
  encode(m);
  if (m->invalid || proxy_request(m->line, sizeof m->line) != 0) return m->kind;
  m->kind = decode(m);
  return m->kind;
}

int channel_ask(struct channel_message *m) {
  if (channel_send(m) != REPLY_ERROR) return 0;
  errno = m->reply.error;
  return -1;
}
