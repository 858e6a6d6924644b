/* exec hooks: a program started from the user's process keeps the layer, even when the
 * caller cleared its environment; a statically linked one, which no preload can reach, gets
 * a clear warning instead of silently partial behaviour. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layer.h"

extern char **environ;

static const char *our_path(void) {
  static char path[4096];
  if (!path[0]) {
    Dl_info info;
    if (dladdr((void *)layer_init, &info) && info.dli_fname) snprintf(path, sizeof path, "%s", info.dli_fname);
  }
  return path;
}

/* Our own variables, as the environment had them when the layer was loaded: a program may
 * clear its environment (env -i) before it execs. */
static char **saved;

__attribute__((constructor)) static void save_layer_variables(void) {
  size_t n = 0;
  for (char **e = environ; e && *e; e++) if (strncmp(*e, "MIRRORD_LAYER_", 14) == 0) n++;
  saved = calloc(n + 1, sizeof(char *));
  if (!saved) return;
  size_t k = 0;
  for (char **e = environ; e && *e; e++) if (strncmp(*e, "MIRRORD_LAYER_", 14) == 0) saved[k++] = strdup(*e);
}

static int has_name(const char *entry, const char *name, size_t len) { return strncmp(entry, name, len) == 0 && entry[len] == '='; }

/* The environment to exec with: `envp` plus our variables where it lacks them. */
static char **with_layer(char *const envp[]) {
  size_t count = 0;
  while (envp && envp[count]) count++;
  size_t extra = 0;
  for (char **e = saved; e && *e; e++) extra++;
  char **result = calloc(count + extra + 3, sizeof(char *));
  if (!result) return (char **)envp;
  size_t used = 0;
  int preload_seen = 0;
  const char *lib = our_path();
  for (size_t i = 0; i < count; i++) {
    if (has_name(envp[i], "LD_PRELOAD", 10)) {
      preload_seen = 1;
      if (lib[0] && !strstr(envp[i], lib)) {
        size_t size = strlen(envp[i]) + strlen(lib) + 2;
        char *joined = malloc(size);
        if (joined) {
          snprintf(joined, size, "LD_PRELOAD=%s:%s", lib, envp[i] + 11);
          result[used++] = joined;
          continue;
        }
      }
    }
    result[used++] = envp[i];
  }
  if (!preload_seen && lib[0]) {
    size_t size = strlen(lib) + 12;
    char *entry = malloc(size);
    if (entry) {
      snprintf(entry, size, "LD_PRELOAD=%s", lib);
      result[used++] = entry;
    }
  }
  for (char **s = saved; s && *s; s++) {
    size_t name_len = strchr(*s, '=') - *s;
    int present = 0;
    for (size_t i = 0; i < used; i++) if (has_name(result[i], *s, name_len)) present = 1;
    if (!present) result[used++] = *s;
  }
  /* The pod working directory the program changed into, which the new program's real one is not. */
  const char *cwd = remote_cwd();
  for (size_t i = 0; i < used; i++) {
    if (!has_name(result[i], "MIRRORD_LAYER_CWD", 17)) continue;
    result[i] = result[--used];
    break;
  }
  if (cwd) {
    size_t size = strlen(cwd) + 19;
    char *entry = malloc(size);
    if (entry) {
      snprintf(entry, size, "MIRRORD_LAYER_CWD=%s", cwd);
      result[used++] = entry;
    }
  }
  result[used] = NULL;
  return result;
}

/* 1 when `path` is an ELF executable without an interpreter (statically linked). */
static int statically_linked(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  Elf64_Ehdr header;
  int result = 0;
  if (read(fd, &header, sizeof header) == sizeof header && memcmp(header.e_ident, ELFMAG, SELFMAG) == 0 &&
      header.e_ident[EI_CLASS] == ELFCLASS64 && header.e_phentsize == sizeof(Elf64_Phdr)) {
    result = 1;
    for (int i = 0; i < header.e_phnum; i++) {
      Elf64_Phdr program;
      if (pread(fd, &program, sizeof program, (off_t)(header.e_phoff + (size_t)i * sizeof program)) != sizeof program) break;
      if (program.p_type == PT_INTERP) {
        result = 0;
        break;
      }
    }
  }
  real_close(fd);
  return result;
}

static void warn_if_static(const char *path) {
  if (layer_config.enabled && statically_linked(path)) {
    fprintf(stderr,
            "mirrord: %s is statically linked, so the layer cannot reach it: it runs with this machine's network, "
            "DNS and files, not the pod's (mirrord --interception syscall reaches every program the command starts)\n",
            path);
  }
}

int execve(const char *path, char *const argv[], char *const envp[]) {
  layer_init();
  warn_if_static(path);
  return ((int (*)(const char *, char *const[], char *const[]))dlsym(RTLD_NEXT, "execve"))(path, argv, layer_config.enabled ? with_layer(envp) : (char **)envp);
}

int execv(const char *path, char *const argv[]) { return execve(path, argv, environ); }

int execvpe(const char *file, char *const argv[], char *const envp[]) {
  layer_init();
  return ((int (*)(const char *, char *const[], char *const[]))dlsym(RTLD_NEXT, "execvpe"))(file, argv, layer_config.enabled ? with_layer(envp) : (char **)envp);
}

int execvp(const char *file, char *const argv[]) { return execvpe(file, argv, environ); }
