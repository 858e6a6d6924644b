/* The system calls the syscall mode asks mirrord about (seccomp user notification); every
 * other call runs untouched. One list for the filter (launcher.c) and, through the addon, for
 * the supervisor (intproxy/syscalls/), which names them. Reads, writes and sends, the hot path,
 * never are; sendto and recvfrom only when they name an address (an unconnected UDP socket's
 * datagram, or its sender asked for). sendmsg and recvmsg carry theirs in a struct the filter
 * can't read: the addon's receiving thread lets those through itself unless they can concern an
 * intercepted socket (supervisor.cc), without a trip to JavaScript. */
#ifndef MIRRORD_SYSCALL_TRAPPED_H
#define MIRRORD_SYSCALL_TRAPPED_H

#include <sys/syscall.h>

/* X(name): a call trapped whatever its arguments. */
#define MIRRORD_TRAPPED_COMMON(X) \
  X(connect)                      \
  X(bind)                         \
  X(listen)                       \
  X(accept)                       \
  X(accept4)                      \
  X(getsockname)                  \
  X(getpeername)                  \
  X(openat)                       \
  X(openat2)                      \
  X(newfstatat)                   \
  X(statx)                        \
  X(faccessat)                    \
  X(faccessat2)                   \
  X(readlinkat)                   \
  X(uname)                        \
  X(sendmsg)                      \
  X(recvmsg)

/* X(name, arg): a call trapped when its pointer argument `arg` (from 0) isn't NULL. */
#define MIRRORD_TRAPPED_WITH_ADDRESS(X) \
  X(sendto, 4)                          \
  X(recvfrom, 4)

/* The legacy path calls of x86_64 (aarch64 has only the *at ones). */
#ifdef __NR_open
#define MIRRORD_TRAPPED_LEGACY(X) \
  X(open)                         \
  X(stat)                         \
  X(lstat)                        \
  X(access)                       \
  X(readlink)
#else
#define MIRRORD_TRAPPED_LEGACY(X)
#endif

#define MIRRORD_TRAPPED(X) MIRRORD_TRAPPED_COMMON(X) MIRRORD_TRAPPED_LEGACY(X)

#endif
