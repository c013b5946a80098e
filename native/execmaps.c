// execmaps: the live-kernel oracle for execve. Runs one execve with ASLR off and reports the
// new image exactly as the kernel left it, before a single user instruction has run.
//
// Usage: execmaps [-p PERSONALITY_BITS] [-s STACK_RLIMIT_BYTES|-s unlimited] PATH ARGC ARG... ENVC ENV...
//        execmaps [-s ...] --stdin   (the same words, each NUL-terminated, on stdin)
//   The child sets personality(ADDR_NO_RANDOMIZE | PERSONALITY_BITS), PTRACE_TRACEME, the stack rlimit if asked,
//   and calls execve(PATH, argv, envp) with exactly the given strings. A successful execve of
//   a traced task stops it with SIGTRAP; the parent then prints its /proc/PID/maps, the
//   VmFlags of each smaps entry, the mm fields of /proc/PID/stat and the auxv, and kills it.
//
// Output (text, one section after the other):
//   exec ok | exec errno N | exec signal N (killed or stopped by signal N after the point of
//   no return) | exec exit N
//   maps / <lines> / end
//   vmflags / <start-hex> rss=<kB> anon=<kB> <mnemonics...> / end
//   stat / <name> <decimal> (start_code end_code start_stack start_data end_data start_brk
//          arg_start arg_end env_start env_end) / end
//   auxv / <type> <value-hex> / end
//
// execmaps --arch-prctl: a probe of arch_prctl(ARCH_MAP_VDSO_*) in this (static, no-ASLR
// re-executed) process: unmaps [vvar], [vvar_vclock] and [vdso], then maps each image kind
// twice and prints `<call> <ret or -errno>` lines and the special mappings after each call.
// execmaps --vsyscall: munmap/mprotect/mremap/madvise/mseal/mlock/msync of [vsyscall].
// execmaps --uprobe: the [uprobes] XOL page after the first uprobe hit (needs tracefs).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *m) {
  fprintf(stderr, "execmaps: %s\n", m);
  exit(2);
}

// Read a whole /proc file into a malloc'ed buffer (NUL-terminated); *len gets its size.
static char *slurp(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    if (n == cap) {
      cap *= 2;
      buf = realloc(buf, cap + 1);
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = 0;
  if (len) *len = n;
  return buf;
}

static void print_vmflags(const char *smaps) {
  // Each entry starts with a maps line "start-end ..."; its VmFlags line ends it.
  const char *p = smaps;
  unsigned long start = 0, rss = 0, anon = 0;
  while (*p) {
    const char *eol = strchr(p, '\n');
    size_t n = eol ? (size_t)(eol - p) : strlen(p);
    if (strncmp(p, "Rss:", 4) == 0) rss = strtoul(p + 4, NULL, 10);
    if (strncmp(p, "Anonymous:", 10) == 0) anon = strtoul(p + 10, NULL, 10);
    if (strncmp(p, "VmFlags:", 8) == 0) {
      printf("%lx rss=%lu anon=%lu%.*s\n", start, rss, anon, (int)(n - 8), p + 8);
    } else {
      char *end;
      unsigned long s = strtoul(p, &end, 16);
      if (end != p && *end == '-') start = s;
    }
    if (!eol) break;
    p = eol + 1;
  }
}

static void print_stat(const char *stat) {
  // Fields after the last ')' start at field 3 (state).
  const char *p = strrchr(stat, ')');
  if (!p) return;
  p += 2;
  static const struct {
    int field;
    const char *name;
  } want[] = {{26, "start_code"}, {27, "end_code"},  {28, "start_stack"}, {45, "start_data"}, {46, "end_data"},
              {47, "start_brk"},  {48, "arg_start"}, {49, "arg_end"},     {50, "env_start"},  {51, "env_end"}};
  unsigned long long v[64] = {0};
  int field = 3;
  while (*p && field < 64) {
    char *end;
    v[field] = strtoull(p, &end, 10);
    while (*end && *end != ' ') end++;
    p = *end ? end + 1 : end;
    field++;
  }
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) printf("%s %llu\n", want[i].name, v[want[i].field]);
}

static void unmap_specials(void) {
  char *maps = slurp("/proc/self/maps", NULL);
  for (char *l = maps; l && *l;) {
    char *eol = strchr(l, '\n');
    if (eol) *eol = 0;
    unsigned long s, e;
    if (strstr(l, "[vdso]") || strstr(l, "[vvar]") || strstr(l, "[vvar_vclock]")) {
      if (sscanf(l, "%lx-%lx", &s, &e) == 2) syscall(SYS_munmap, s, e - s);
    }
    if (!eol) break;
    l = eol + 1;
  }
  free(maps);
}

static void print_specials(void) {
  char *maps = slurp("/proc/self/maps", NULL);
  for (char *l = maps; l && *l;) {
    char *eol = strchr(l, '\n');
    if (eol) *eol = 0;
    if (strstr(l, "[v")) printf("  %s\n", l);
    if (!eol) break;
    l = eol + 1;
  }
  free(maps);
}

static int arch_prctl_probe(void) {
  static const struct {
    int code;
    const char *name;
  } calls[] = {{0x2003, "ARCH_MAP_VDSO_64"}, {0x2002, "ARCH_MAP_VDSO_32"}, {0x2001, "ARCH_MAP_VDSO_X32"}};
  long r = syscall(SYS_arch_prctl, 0x2003, 0x10000000UL);
  printf("ARCH_MAP_VDSO_64 while mapped: %ld\n", r < 0 ? -(long)errno : r);
  for (size_t i = 0; i < 3; i++) {
    unmap_specials();
    for (int k = 0; k < 2; k++) {
      r = syscall(SYS_arch_prctl, calls[i].code, 0x10000000UL);
      printf("%s: %ld\n", calls[i].name, r < 0 ? -(long)errno : r);
      print_specials();
    }
  }
  fflush(stdout);
  return 0;
}

// execmaps --vsyscall: what munmap, mprotect, mremap, madvise and mseal say about the
// [vsyscall] page (the gate VMA, not in the VMA tree): `<call> <ret or -errno>` lines.
static int vsyscall_probe(void) {
  const unsigned long v = 0xffffffffff600000UL;
  long r;
#define SHOW(name, call)                                         \
  r = (call);                                                    \
  printf("%s %ld\n", name, r < 0 ? -(long)errno : r);
  SHOW("munmap", syscall(SYS_munmap, v, 4096));
  SHOW("mprotect", syscall(SYS_mprotect, v, 4096, 1));
  SHOW("mremap", syscall(SYS_mremap, v, 4096, 8192, 1, 0));
  SHOW("madvise", syscall(SYS_madvise, v, 4096, 4));
  SHOW("mseal", syscall(462, v, 4096, 0));
  SHOW("mlock", syscall(SYS_mlock, v, 4096));
  SHOW("msync", syscall(SYS_msync, v, 4096, 4));
#undef SHOW
  fflush(stdout);
  return 0;
}

// execmaps --uprobe: the uprobes XOL page. Puts a uprobe (tracefs uprobe_events) on
// uprobe_target() in this very file, calls it once (the first hit creates [uprobes]), prints
// the [uprobes] maps line and its VmFlags, and removes the probe. tracefs is used where it is
// mounted, else mounted on a temporary directory for the duration.
__attribute__((noinline)) int uprobe_target(int x) {
  __asm__ volatile("" ::: "memory");
  return x + 1;
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_APPEND);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  close(fd);
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int uprobe_probe(void) {
  char tr[256] = "/sys/kernel/tracing";
  char p[512];
  int mounted = 0;
  snprintf(p, sizeof p, "%s/uprobe_events", tr);
  if (access(p, W_OK) != 0) {
    char tmpl[] = "/tmp/execmaps-tracefs-XXXXXX";
    if (!mkdtemp(tmpl)) die("mkdtemp");
    if (mount("nodev", tmpl, "tracefs", 0, NULL) != 0) die("cannot mount tracefs");
    snprintf(tr, sizeof tr, "%s", tmpl);
    mounted = 1;
  }
  // File offset of uprobe_target: from the mapping that holds it.
  unsigned long fn = (unsigned long)&uprobe_target, off = 0;
  char exe[512];
  ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (el <= 0) die("readlink");
  exe[el] = 0;
  char *maps = slurp("/proc/self/maps", NULL);
  for (char *l = maps; l && *l;) {
    char *eol = strchr(l, '\n');
    unsigned long s0, e0, pg;
    if (sscanf(l, "%lx-%lx %*s %lx", &s0, &e0, &pg) == 3 && fn >= s0 && fn < e0) off = fn - s0 + pg;
    if (!eol) break;
    l = eol + 1;
  }
  free(maps);
  char def[1024];
  snprintf(def, sizeof def, "p:aspace_execmaps/xol %s:0x%lx\n", exe, off);
  snprintf(p, sizeof p, "%s/uprobe_events", tr);
  if (write_file(p, def) != 0) die("cannot define the uprobe");
  snprintf(p, sizeof p, "%s/events/aspace_execmaps/xol/enable", tr);
  if (write_file(p, "1") != 0) die("cannot enable the uprobe");
  volatile int r = uprobe_target(1);
  (void)r;
  char *sm = slurp("/proc/self/smaps", NULL);
  int in = 0;
  for (char *l = sm; l && *l;) {
    char *eol = strchr(l, '\n');
    if (eol) *eol = 0;
    if (strchr(l, '-') && strstr(l, " 00:00 ") && !strncmp(l + strlen(l) - 9, "[uprobes]", 9)) {
      printf("%s\n", l);
      in = 1;
    } else if (in && !strncmp(l, "VmFlags:", 8)) {
      printf("%s\n", l);
      in = 0;
    }
    if (!eol) break;
    l = eol + 1;
  }
  free(sm);
  fflush(stdout);
  snprintf(p, sizeof p, "%s/events/aspace_execmaps/xol/enable", tr);
  write_file(p, "0");
  snprintf(p, sizeof p, "%s/uprobe_events", tr);
  write_file(p, "-:aspace_execmaps/xol\n");
  if (mounted) {
    umount(tr);
    rmdir(tr);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--uprobe") == 0) {
    int pers = personality(0xffffffff);
    if (!(pers & ADDR_NO_RANDOMIZE)) {
      personality((unsigned long)pers | ADDR_NO_RANDOMIZE);
      execv("/proc/self/exe", argv);
    }
    return uprobe_probe();
  }
  if (argc == 2 && strcmp(argv[1], "--vsyscall") == 0) return vsyscall_probe();
  if (argc == 2 && strcmp(argv[1], "--arch-prctl") == 0) {
    int pers = personality(0xffffffff);
    if (!(pers & ADDR_NO_RANDOMIZE)) {
      personality((unsigned long)pers | ADDR_NO_RANDOMIZE);
      execv("/proc/self/exe", argv);
    }
    return arch_prctl_probe();
  }
  int ai = 1;
  int set_stack = 0;
  unsigned long extra_pers = 0;
  struct rlimit stack_rl;
  if (ai + 1 < argc && strcmp(argv[ai], "-p") == 0) {
    extra_pers = strtoul(argv[ai + 1], NULL, 0);
    ai += 2;
  }
  if (ai + 1 < argc && strcmp(argv[ai], "-s") == 0) {
    if (getrlimit(RLIMIT_STACK, &stack_rl) != 0) die("getrlimit");
    stack_rl.rlim_cur = strcmp(argv[ai + 1], "unlimited") == 0 ? RLIM_INFINITY : strtoull(argv[ai + 1], NULL, 0);
    set_stack = 1;
    ai += 2;
  }
  if (ai < argc && strcmp(argv[ai], "--stdin") == 0) {
    // The same words, NUL-terminated, on stdin: strings longer than this process's own
    // argument limits (MAX_ARG_STRLEN) can then still be passed to the execve under test.
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    for (;;) {
      if (n == cap) buf = realloc(buf, cap *= 2);
      ssize_t r = read(0, buf + n, cap - n);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      n += (size_t)r;
    }
    int words = 0;
    for (size_t i = 0; i < n; i++) words += buf[i] == 0;
    char **w = calloc((size_t)(ai + words) + 1, sizeof(char *));
    for (int i = 0; i < ai; i++) w[i] = argv[i];
    int k = ai;
    for (size_t i = 0, start = 0; i < n; i++)
      if (buf[i] == 0) {
        w[k++] = buf + start;
        start = i + 1;
      }
    argv = w;
    argc = ai + words;
  }
  if (ai + 2 > argc) die("usage: execmaps [-s BYTES] (PATH ARGC ARG... ENVC ENV... | --stdin)");
  const char *path = argv[ai++];
  int nargs = atoi(argv[ai++]);
  if (nargs < 0 || ai + nargs >= argc) die("bad ARGC");
  char **cargv = calloc((size_t)nargs + 1, sizeof(char *));
  for (int i = 0; i < nargs; i++) cargv[i] = argv[ai++];
  int nenv = atoi(argv[ai++]);
  if (nenv < 0 || ai + nenv > argc) die("bad ENVC");
  char **cenv = calloc((size_t)nenv + 1, sizeof(char *));
  for (int i = 0; i < nenv; i++) cenv[i] = argv[ai++];

  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) != 0) die("pipe2");
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    close(pfd[0]);
    int pers = personality(0xffffffff);
    personality((unsigned long)pers | ADDR_NO_RANDOMIZE | extra_pers);
    if (set_stack && setrlimit(RLIMIT_STACK, &stack_rl) != 0) {
      int e = -errno;
      (void)!write(pfd[1], &e, sizeof e);
      _exit(127);
    }
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    execve(path, cargv, cenv);
    int e = errno;
    (void)!write(pfd[1], &e, sizeof e);
    _exit(127);
  }
  close(pfd[1]);
  int status;
  if (waitpid(pid, &status, 0) != pid) die("waitpid");
  int err = 0;
  ssize_t got = read(pfd[0], &err, sizeof err);
  if (got == (ssize_t)sizeof err) {
    if (err < 0) die("setrlimit(RLIMIT_STACK) failed");
    printf("exec errno %d\n", err);
    waitpid(pid, &status, 0);
    return 0;
  }
  if (WIFEXITED(status)) {
    printf("exec exit %d\n", WEXITSTATUS(status));
    return 0;
  }
  if (WIFSIGNALED(status)) {
    printf("exec signal %d\n", WTERMSIG(status));
    return 0;
  }
  if (WIFSTOPPED(status) && WSTOPSIG(status) != SIGTRAP) {
    printf("exec signal %d\n", WSTOPSIG(status));
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return 0;
  }
  char p[64];
  printf("exec ok\n");
  snprintf(p, sizeof p, "/proc/%d/maps", pid);
  char *maps = slurp(p, NULL);
  printf("maps\n%send\n", maps ? maps : "");
  snprintf(p, sizeof p, "/proc/%d/smaps", pid);
  char *smaps = slurp(p, NULL);
  printf("vmflags\n");
  if (smaps) print_vmflags(smaps);
  printf("end\n");
  snprintf(p, sizeof p, "/proc/%d/stat", pid);
  char *stat = slurp(p, NULL);
  printf("stat\n");
  if (stat) print_stat(stat);
  printf("end\n");
  snprintf(p, sizeof p, "/proc/%d/auxv", pid);
  size_t alen = 0;
  char *auxv = slurp(p, &alen);
  printf("auxv\n");
  // An ia32 task's auxv is made of 32-bit words. Tell by its executable's e_machine (the
  // 64-bit loader ignores the class byte, so EM_X86_64 with ELFCLASS32 is a 64-bit task).
  int word = 8;
  snprintf(p, sizeof p, "/proc/%d/exe", pid);
  int efd = open(p, O_RDONLY);
  if (efd >= 0) {
    unsigned char id[20];
    if (read(efd, id, 20) == 20 && (id[18] | id[19] << 8) != 62) word = 4;
    close(efd);
  }
  if (auxv) {
    for (size_t off = 0; off + 2 * (size_t)word <= alen; off += 2 * (size_t)word) {
      uint64_t t = 0, v = 0;
      memcpy(&t, auxv + off, (size_t)word);
      memcpy(&v, auxv + off + word, (size_t)word);
      if (t == 0) break;
      printf("%llu %llx\n", (unsigned long long)t, (unsigned long long)v);
    }
  }
  printf("end\n");
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return 0;
}
