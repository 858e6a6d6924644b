/* mirrord-syscall-launcher PROGRAM [ARG...]: runs PROGRAM under a seccomp filter that hands the
 * calls of trapped.h to mirrord (SECCOMP_RET_USER_NOTIF) and lets every other call run. Before
 * exec it tells mirrord, on fd 3, the number of the filter's notification descriptor ("fd N\n"),
 * which mirrord takes with pidfd_getfd, and waits for one byte back: from then on mirrord answers
 * the trapped calls of PROGRAM, its threads and its children. A kernel without what this needs
 * ("error ERRNO WHAT\n") gets PROGRAM not run at all, never run half-intercepted. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "trapped.h"

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#else
#error "the syscall mode supports x86_64 and aarch64"
#endif

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define CHANNEL 3

/* Each trapped call: if the number matches, notify; else go on to the next comparison. */
#define TRAP(name) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),

/* A call naming an address at argument `arg` (a pointer: both halves NULL, or not): notify when
 * it does, else let it run; another call goes on, with the call's number loaded again. */
#define ARG_LOW(arg) offsetof(struct seccomp_data, args[arg])
#define TRAP_WITH_ADDRESS(name, arg)                             \
  BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)), \
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_##name, 0, 6),        \
  BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LOW(arg)),              \
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3),                  \
  BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LOW(arg) + 4),          \
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),                  \
  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),                  \
  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),

static struct sock_filter filter[] = {
    /* Another architecture's calls (a 32-bit program) run untouched: their numbers differ. */
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    MIRRORD_TRAPPED(TRAP)
    MIRRORD_TRAPPED_WITH_ADDRESS(TRAP_WITH_ADDRESS)
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

/* Tells mirrord (and the user) why the program won't run. Only write(2): once the filter is in
 * place, a trapped call would wait for an answer nobody gives. */
static int fail(const char *what) {
  int err = errno;
  char line[256];
  int length = snprintf(line, sizeof line, "error %d %s: %s\n", err, what, strerror(err));
  if (length > 0 && write(CHANNEL, line, (size_t)length) < 0) { /* mirrord is gone: nobody to tell */ }
  return 127;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: mirrord-syscall-launcher PROGRAM [ARG...] (with mirrord's channel on fd 3)\n");
    return 2;
  }
  /* Required to install a filter without CAP_SYS_ADMIN; it also keeps set-uid programs from
   * gaining privileges, as under any seccomp sandbox. */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return fail("prctl(PR_SET_NO_NEW_PRIVS)");
  struct sock_fprog program = {.len = sizeof filter / sizeof filter[0], .filter = filter};
  /* Once mirrord has received a call, a signal the program handles must not interrupt it (the
   * call would be made again while mirrord still answers the first: a second pod connection, a
   * second fetch); only a fatal one may (Linux 5.19; before, a handled signal can). */
  int notify = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &program);
  if (notify < 0 && errno == EINVAL) notify = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &program);
  if (notify < 0) return fail("seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER)");
  /* Until mirrord holds the descriptor no trapped call may be made here: nobody would answer it
   * (dprintf, for one, may fstat its descriptor). snprintf and write are neither. */
  char said[32];
  int length = snprintf(said, sizeof said, "fd %d\n", notify);
  if (write(CHANNEL, said, (size_t)length) != length) return fail("writing to mirrord");
  char go;
  if (read(CHANNEL, &go, 1) != 1) return fail("waiting for mirrord");
  close(notify);
  close(CHANNEL);
  execvp(argv[1], argv + 1);
  fprintf(stderr, "mirrord: %s: %s\n", argv[1], strerror(errno));
  return errno == ENOENT ? 127 : 126;
}
