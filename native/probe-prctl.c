// probe-prctl: runs prctl(PR_SET_MM*, PR_SET_VMA, PR_*_THP_DISABLE) and fork cases on the live
// kernel and prints what it answered, for tests/prctl*.test.ts and tests/tasks*.test.ts.
// Every case runs in its own forked child, so a case that changes mm fields, credentials or
// rlimits cannot disturb the next one. Output, one line per fact (numbers in decimal,
// negative = -errno):
//   R <case> <ret>                 the call's result
//   V <case> <value>               a value the case read back (PR_SET_MM_MAP_SIZE's *arg3, ...)
//   STAT <case> f26 f27 f28 f45 .. f51   /proc/self/stat mm fields after the call
//   SMAPS <case> <start>-<end> <perms> rss=<kB> anon=<kB> flags=<VmFlags>   arena VMAs
//   BYTE <case> <offset> <value>   a byte read in the arena
// Usage: probe-prctl [CASE...] (default: all cases).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096UL
#define ARENA 0x200000000UL
#define TASK_SIZE 0x7ffffffff000UL

#ifndef PR_SET_MM
#define PR_SET_MM 35
#endif
#ifndef PR_GET_AUXV
#define PR_GET_AUXV 0x41555856
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif

struct mm_map {
  uint64_t start_code, end_code, start_data, end_data, start_brk, brk, start_stack;
  uint64_t arg_start, arg_end, env_start, env_end, auxv;
  uint32_t auxv_size, exe_fd;
};

static long sys_prctl(long op, long a2, long a3, long a4, long a5) {
  long r = syscall(SYS_prctl, op, a2, a3, a4, a5);
  return r < 0 ? -errno : r;
}

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0) (void)!write(1, buf, (size_t)n);
}

// The base structure every PR_SET_MM_MAP case starts from: valid, ordered, nothing mapped.
static struct mm_map base_map(void) {
  struct mm_map m = {
      .start_code = 0x400000, .end_code = 0x401000, .start_data = 0x600000, .end_data = 0x601000,
      .start_brk = 0x800000, .brk = 0x800000, .start_stack = 0x7ffffffde000,
      .arg_start = 0x7ffffffde100, .arg_end = 0x7ffffffde200, .env_start = 0x7ffffffde200,
      .env_end = 0x7ffffffde300, .auxv = 0, .auxv_size = 0, .exe_fd = 0xffffffffu};
  return m;
}

static long set_map(struct mm_map *m) { return sys_prctl(PR_SET_MM, PR_SET_MM_MAP, (long)m, sizeof *m, 0); }

static void print_stat(const char *name) {
  char buf[4096];
  int fd = open("/proc/self/stat", O_RDONLY);
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return;
  buf[n] = 0;
  char *p = strrchr(buf, ')') + 2; // field 3 onwards
  unsigned long long f[53] = {0};
  int i = 3;
  char *save = NULL;
  for (char *t = strtok_r(p, " \n", &save); t && i <= 52; t = strtok_r(NULL, " \n", &save), i++)
    f[i] = strtoull(t, NULL, 10);
  out("STAT %s %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu\n", name, f[26], f[27], f[28], f[45], f[46],
      f[47], f[48], f[49], f[50], f[51]);
}

// Arena VMAs from /proc/self/smaps: bounds, perms, Rss, Anonymous and VmFlags.
static void print_smaps(const char *name) {
  static char buf[1 << 20];
  int fd = open("/proc/self/smaps", O_RDONLY);
  size_t len = 0;
  ssize_t n;
  while ((n = read(fd, buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)n;
  close(fd);
  buf[len] = 0;
  unsigned long start = 0, end = 0, rss = 0, anon = 0;
  char perms[8] = "";
  int in = 0;
  char *save = NULL;
  for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    unsigned long s, e;
    char pr[8];
    if (sscanf(line, "%lx-%lx %7s", &s, &e, pr) == 3 && strchr(line, '-') < strchr(line, ' ')) {
      in = s >= ARENA && e <= ARENA + 64 * PAGE;
      start = s, end = e, rss = anon = 0;
      strcpy(perms, pr);
    } else if (in && sscanf(line, "Rss: %lu", &rss) == 1) {
    } else if (in && sscanf(line, "Anonymous: %lu", &anon) == 1) {
    } else if (in && strncmp(line, "VmFlags:", 8) == 0) {
      out("SMAPS %s %lx-%lx %s rss=%lu anon=%lu flags=%s\n", name, start, end, perms, rss, anon, line + 9);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Cases. Each is a function run in a fresh child.

static void c_map_size(const char *n) {
  unsigned int v = 0;
  out("R %s %ld\n", n, sys_prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, (long)&v, 0, 0));
  out("V %s %u\n", n, v);
}
static void c_map_size_efault(const char *n) { out("R %s %ld\n", n, sys_prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, 8, 0, 0)); }
static void c_arg5(const char *n) {
  struct mm_map m = base_map();
  out("R %s %ld\n", n, sys_prctl(PR_SET_MM, PR_SET_MM_MAP, (long)&m, sizeof m, 1));
}
static void c_arg4_single(const char *n) { out("R %s %ld\n", n, sys_prctl(PR_SET_MM, PR_SET_MM_START_CODE, 0x400000, 1, 0)); }
static void c_map_bad_size(const char *n) {
  struct mm_map m = base_map();
  out("R %s %ld\n", n, sys_prctl(PR_SET_MM, PR_SET_MM_MAP, (long)&m, sizeof m - 1, 0));
}
static void c_map_efault(const char *n) { out("R %s %ld\n", n, sys_prctl(PR_SET_MM, PR_SET_MM_MAP, 8, 104, 0)); }
static void c_map_ok(const char *n) {
  struct mm_map m = base_map();
  out("R %s %ld\n", n, set_map(&m));
  print_stat(n);
}

// One field set to a value: field index 0..10 in struct order.
static void field_case(const char *n, int field, uint64_t value) {
  struct mm_map m = base_map();
  ((uint64_t *)&m)[field] = value;
  out("R %s %ld\n", n, set_map(&m));
}
static const char *FIELDS[] = {"start_code", "end_code", "start_data", "end_data", "start_brk", "brk",
                               "start_stack", "arg_start", "arg_end", "env_start", "env_end"};

static void c_fields(const char *n) {
  (void)n;
  char name[64];
  for (int i = 0; i < 11; i++) {
    snprintf(name, sizeof name, "below_min_%s", FIELDS[i]);
    field_case(name, i, 0xffff);
    snprintf(name, sizeof name, "task_size_%s", FIELDS[i]);
    field_case(name, i, TASK_SIZE);
    snprintf(name, sizeof name, "zero_%s", FIELDS[i]);
    field_case(name, i, 0);
  }
}

static void c_order(const char *n) {
  (void)n;
  struct mm_map m;
#define ORDER_CASE(label, stmt) \
  m = base_map();               \
  stmt;                         \
  out("R %s %ld\n", label, set_map(&m));
  ORDER_CASE("min_start_code_ok", m.start_code = 0x10000);
  ORDER_CASE("max_env_end_ok", m.env_end = TASK_SIZE - 1);
  ORDER_CASE("code_equal", m.end_code = m.start_code);
  ORDER_CASE("code_reversed", (m.start_code = 0x402000));
  ORDER_CASE("data_equal_ok", m.end_data = m.start_data);
  ORDER_CASE("data_reversed", m.end_data = m.start_data - 0x1000);
  ORDER_CASE("brk_below_start_brk", m.brk = m.start_brk - 0x1000);
  ORDER_CASE("brk_above_start_brk_ok", m.brk = m.start_brk + 0x5000);
  ORDER_CASE("arg_reversed", m.arg_end = m.arg_start - 1);
  ORDER_CASE("env_reversed", m.env_end = m.env_start - 1);
  ORDER_CASE("stack_below_code_ok", m.start_stack = 0x10000);
  ORDER_CASE("code_overlaps_data_ok", (m.start_data = 0x400000, m.end_data = 0x401000));
  ORDER_CASE("unaligned_ok", (m.start_code = 0x400123, m.brk = 0x800777));
  ORDER_CASE("bad_field_and_bad_auxv", (m.start_code = 0, m.auxv_size = 8));
  ORDER_CASE("bad_order_and_bad_exe_fd", (m.end_code = 0, m.exe_fd = 9999));
}

static void c_rlimit_data(const char *n) {
  (void)n;
  struct rlimit rl = {0x11000, RLIM_INFINITY};
  setrlimit(RLIMIT_DATA, &rl);
  struct mm_map m = base_map();
  m.brk = m.start_brk + 0x10000; // + (end_data - start_data) 0x1000 = 0x11000: at the limit
  out("R %s %ld\n", "data_rlimit_at_limit_ok", set_map(&m));
  m = base_map();
  m.brk = m.start_brk + 0x11000;
  out("R %s %ld\n", "data_rlimit_over", set_map(&m));
  m = base_map();
  m.brk = m.start_brk + 0x10000;
  m.end_data = m.start_data + 0x1001;
  out("R %s %ld\n", "data_rlimit_over_by_data", set_map(&m));
}

static void c_auxv(const char *n) {
  (void)n;
  static uint64_t auxv[64];
  for (int i = 0; i < 64; i++) auxv[i] = (uint64_t)(i + 1);
  struct mm_map m = base_map();
  m.auxv_size = 16;
  out("R %s %ld\n", "auxv_null", set_map(&m));
  m.auxv = (uint64_t)auxv;
  m.auxv_size = 417;
  out("R %s %ld\n", "auxv_417_ok", set_map(&m));
  m.auxv_size = 8;
  m.auxv = 8;
  out("R %s %ld\n", "auxv_efault", set_map(&m));
  m.auxv = (uint64_t)auxv;
  m.auxv_size = 448;
  out("R %s %ld\n", "auxv_max_ok", set_map(&m));
  m.auxv_size = 449;
  out("R %s %ld\n", "auxv_over_max", set_map(&m));
  m.auxv_size = 416;
  out("R %s %ld\n", "auxv_416_ok", set_map(&m));
  m.auxv_size = 0;
  m.auxv = 8; // ignored when auxv_size is 0
  out("R %s %ld\n", "auxv_size0_bad_ptr_ok", set_map(&m));
  uint64_t got[64] = {0};
  long r = sys_prctl(PR_GET_AUXV, (long)got, sizeof got, 0, 0);
  out("R %s %ld\n", "get_auxv", r);
  out("V %s %llu %llu %llu %llu\n", "get_auxv", (unsigned long long)got[0], (unsigned long long)got[49],
      (unsigned long long)got[50], (unsigned long long)got[51]);
}

// A directory, a regular file without any execute bit, another executable file, the exe itself.
static int exe_fds(int *dir, int *plain, int *other) {
  *dir = open("/", O_RDONLY | O_DIRECTORY);
  char path[64];
  snprintf(path, sizeof path, "/tmp/aspace-probe-noexec-%d", (int)getpid());
  *plain = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
  unlink(path);
  *other = open("/bin/sh", O_RDONLY);
  return open("/proc/self/exe", O_RDONLY);
}

static void c_exe_fd(const char *who) {
  int dir, plain, other, exe = exe_fds(&dir, &plain, &other);
  char name[64];
  struct mm_map m = base_map();
  m.exe_fd = 9999;
  snprintf(name, sizeof name, "%s_exe_fd_bad", who);
  out("R %s %ld\n", name, set_map(&m));
  m.exe_fd = (uint32_t)dir;
  snprintf(name, sizeof name, "%s_exe_fd_dir", who);
  out("R %s %ld\n", name, set_map(&m));
  m.exe_fd = (uint32_t)plain;
  snprintf(name, sizeof name, "%s_exe_fd_noexec_mode", who);
  out("R %s %ld\n", name, set_map(&m));
  m.exe_fd = (uint32_t)other;
  snprintf(name, sizeof name, "%s_exe_fd_other_busy", who);
  out("R %s %ld\n", name, set_map(&m));
  m.exe_fd = (uint32_t)exe;
  snprintf(name, sizeof name, "%s_exe_fd_busy", who);
  out("R %s %ld\n", name, set_map(&m));
  m.exe_fd = 0xffffffffu;
  snprintf(name, sizeof name, "%s_no_exe_fd_ok", who);
  out("R %s %ld\n", name, set_map(&m));
  // The single-field path: capable(CAP_SYS_RESOURCE) in the initial namespace comes first.
  snprintf(name, sizeof name, "%s_single_start_code", who);
  out("R %s %ld\n", name, sys_prctl(PR_SET_MM, PR_SET_MM_START_CODE, 0x400000, 0, 0));
  snprintf(name, sizeof name, "%s_single_exe_file", who);
  out("R %s %ld\n", name, sys_prctl(PR_SET_MM, PR_SET_MM_EXE_FILE, exe, 0, 0));
  snprintf(name, sizeof name, "%s_single_unknown_op", who);
  out("R %s %ld\n", name, sys_prctl(PR_SET_MM, 99, 0x400000, 0, 0));
  snprintf(name, sizeof name, "%s_single_auxv", who);
  out("R %s %ld\n", name, sys_prctl(PR_SET_MM, PR_SET_MM_AUXV, 8, 16, 0));
}

static void c_root(const char *n) {
  (void)n;
  c_exe_fd("root");
}

static void c_nobody(const char *n) {
  (void)n;
  if (setresuid(65534, 65534, 65534) != 0) out("R nobody_setuid_failed %d\n", -errno);
  c_exe_fd("nobody");
}

// Become root (uid 0 mapped to 0) of a new child user namespace; reports and returns 0 on failure.
static int enter_child_userns(void) {
  if (unshare(CLONE_NEWUSER) != 0) {
    out("R userns_unshare %d\n", -errno);
    return 0;
  }
  int fd = open("/proc/self/uid_map", O_WRONLY);
  if (fd >= 0) {
    (void)!write(fd, "0 0 1\n", 6);
    close(fd);
  }
  return 1;
}

static void c_userns(const char *n) {
  (void)n;
  if (!enter_child_userns()) return;
  c_exe_fd("userns");
}

// Capability checks that use capable() (the initial namespace): as root, and as root of a
// child user namespace. RLIMIT_MEMLOCK is one page; mlock of two pages needs CAP_IPC_LOCK.
static void caps_case(const char *who) {
  char name[64];
  struct rlimit rl = {PAGE, PAGE};
  setrlimit(RLIMIT_MEMLOCK, &rl);
  char *a = mmap((void *)ARENA, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  snprintf(name, sizeof name, "%s_mlock_over_limit", who);
  out("R %s %ld\n", name, mlock(a, 2 * PAGE) == 0 ? 0L : (long)-errno);
  void *z = mmap((void *)0, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  snprintf(name, sizeof name, "%s_mmap_below_dac_min", who);
  out("R %s %ld\n", name, z == MAP_FAILED ? (long)-errno : 0L);
  z = mmap((void *)0x10000, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  snprintf(name, sizeof name, "%s_mmap_at_min", who);
  out("R %s %ld\n", name, z == MAP_FAILED ? (long)-errno : 0L);
}

static void c_caps_root(const char *n) {
  (void)n;
  caps_case("root");
}

static void c_caps_userns(const char *n) {
  (void)n;
  if (!enter_child_userns()) return;
  caps_case("userns");
}

static void c_misc(const char *n) {
  (void)n;
  out("R %s %ld\n", "set_vma_anon_name", sys_prctl(PR_SET_VMA, 0, ARENA, PAGE, (long)"x"));
  out("R %s %ld\n", "get_thp_disable_initial", sys_prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
  out("R %s %ld\n", "get_thp_disable_arg", sys_prctl(PR_GET_THP_DISABLE, 1, 0, 0, 0));
  out("R %s %ld\n", "set_thp_disable_arg4", sys_prctl(PR_SET_THP_DISABLE, 1, 0, 1, 0));
  out("R %s %ld\n", "set_thp_disable", sys_prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));
  out("R %s %ld\n", "get_thp_disable_after", sys_prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
  pid_t c = fork();
  if (c == 0) {
    out("R %s %ld\n", "get_thp_disable_in_fork_child", sys_prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
    _exit(0);
  }
  waitpid(c, NULL, 0);
  out("R %s %ld\n", "clear_thp_disable", sys_prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0));
  out("R %s %ld\n", "get_thp_disable_cleared", sys_prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
  out("R %s %ld\n", "set_thp_disable_except_advised", sys_prctl(PR_SET_THP_DISABLE, 1, 2, 0, 0));
  out("R %s %ld\n", "get_thp_disable_except_advised", sys_prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
  out("R %s %ld\n", "set_thp_disable_bad_arg3", sys_prctl(PR_SET_THP_DISABLE, 1, 4, 0, 0));
  out("R %s %ld\n", "clear_thp_disable_with_arg3", sys_prctl(PR_SET_THP_DISABLE, 0, 2, 0, 0));
  out("R %s %ld\n", "get_thp_disable_final", sys_prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
  out("R %s %ld\n", "set_vma_bad_op", sys_prctl(PR_SET_VMA, 7, ARENA, PAGE, 0));
  out("R %s %ld\n", "get_auxv_arg4", sys_prctl(PR_GET_AUXV, 0, 0, 1, 0));
  out("R %s %ld\n", "get_auxv_len0", sys_prctl(PR_GET_AUXV, 0, 0, 0, 0));
  out("R %s %ld\n", "get_auxv_efault", sys_prctl(PR_GET_AUXV, 8, 16, 0, 0));
  out("R %s %ld\n", "modeled_optout_is_unknown", sys_prctl(0x6d6f6430, 1, 0, 0, 0));
  out("R %s %ld\n", "set_mm_bad_arg5", sys_prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, 0, 0, 1));
}

// fork: A (4 pages, written 0x11) | B (2, written, MADV_DONTFORK) | C (2, written, MADV_WIPEONFORK)
// | D (2, mlocked) | E (2, read-only, sealed). The child reports its arena, reads A and C,
// maps fresh memory into B's hole and writes it, then writes A; the parent reads A afterwards.
static void c_fork(const char *n) {
  char *a = (char *)ARENA;
  if (mmap(a, 12 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED) return;
  for (unsigned long i = 0; i < 8; i++) a[i * PAGE] = 0x11;
  madvise(a + 4 * PAGE, 2 * PAGE, MADV_DONTFORK);
  madvise(a + 6 * PAGE, 2 * PAGE, MADV_WIPEONFORK);
  mlock(a + 8 * PAGE, 2 * PAGE);
  mprotect(a + 10 * PAGE, 2 * PAGE, PROT_READ);
  syscall(462, a + 10 * PAGE, 2 * PAGE, 0);
  // F: shared anonymous, written; G: a private mapping of a 2-page file, read.
  mmap(a + 12 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  a[12 * PAGE] = 0x44;
  a[13 * PAGE] = 0x44;
  char path[64];
  snprintf(path, sizeof path, "/tmp/aspace-probe-fork-%d", (int)getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
  unlink(path);
  if (ftruncate(fd, 2 * PAGE) != 0) return;
  mmap(a + 14 * PAGE, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
  out("BYTE fork_parent %lu %d\n", 14 * PAGE, a[14 * PAGE] + a[15 * PAGE]);
  print_smaps("fork_parent");
  pid_t c = fork();
  if (c == 0) {
    print_smaps("fork_child");
    out("BYTE fork_child 0 %d\n", a[0]);
    out("BYTE fork_child %lu %d\n", 6 * PAGE, a[6 * PAGE]);
    print_smaps("fork_child_before_reads");
    out("BYTE fork_child %lu %d\n", 12 * PAGE, a[12 * PAGE]);
    out("R %s %ld\n", "fork_child_munmap_sealed", munmap(a + 10 * PAGE, 2 * PAGE) == 0 ? 0L : (long)-errno);
    void *r = mmap(a + 4 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    out("R %s %ld\n", "fork_child_mmap_hole", r == MAP_FAILED ? (long)-errno : 0L);
    a[4 * PAGE] = 0x33;
    a[0] = 0x22;
    print_smaps("fork_child_after");
    _exit(0);
  }
  waitpid(c, NULL, 0);
  out("BYTE fork_parent_after 0 %d\n", a[0]);
  (void)n;
}

// Guard markers across fork: an anonymous VMA (written), a private file VMA (never written)
// and a WIPEONFORK VMA, each with a guard page. The child reads every page: -1 = SIGSEGV.
static sigjmp_buf segv_jump;
static void on_segv(int sig) {
  (void)sig;
  siglongjmp(segv_jump, 1);
}
static int read_or_fault(volatile char *p) {
  if (sigsetjmp(segv_jump, 1)) return -1;
  return *p;
}
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
static void c_fork_guard(const char *n) {
  (void)n;
  char *a = (char *)ARENA;
  mmap(a, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  for (int i = 0; i < 4; i++) a[i * PAGE] = 0x55;
  char path[64];
  snprintf(path, sizeof path, "/tmp/aspace-probe-guard-%d", (int)getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
  unlink(path);
  if (ftruncate(fd, 2 * PAGE) != 0) return;
  mmap(a + 8 * PAGE, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
  mmap(a + 12 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  a[12 * PAGE] = 0x66;
  a[13 * PAGE] = 0x66;
  madvise(a + 12 * PAGE, 2 * PAGE, MADV_WIPEONFORK);
  out("R %s %d\n", "guard_anon", madvise(a + 1 * PAGE, PAGE, MADV_GUARD_INSTALL) ? -errno : 0);
  out("R %s %d\n", "guard_file", madvise(a + 8 * PAGE, PAGE, MADV_GUARD_INSTALL) ? -errno : 0);
  out("R %s %d\n", "guard_wipe", madvise(a + 12 * PAGE, PAGE, MADV_GUARD_INSTALL) ? -errno : 0);
  print_smaps("guard_parent");
  pid_t c = fork();
  if (c == 0) {
    signal(SIGSEGV, on_segv);
    int pages[] = {0, 1, 2, 8, 9, 12, 13};
    for (unsigned i = 0; i < sizeof pages / sizeof pages[0]; i++)
      out("BYTE guard_child %lu %d\n", pages[i] * PAGE, read_or_fault(a + pages[i] * PAGE));
    print_smaps("guard_child");
    _exit(0);
  }
  waitpid(c, NULL, 0);
}

// Pieces of one VMA (split by mprotect, sharing one anon_vma) inherited by a fork child: made
// equal again, do they merge in the child? In the parent?
static void c_fork_remerge(const char *n) {
  (void)n;
  char *a = (char *)ARENA;
  mmap(a, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  for (int i = 0; i < 4; i++) a[i * PAGE] = 1;
  mprotect(a + PAGE, PAGE, PROT_READ);
  pid_t c = fork();
  if (c == 0) {
    mprotect(a + PAGE, PAGE, PROT_READ | PROT_WRITE);
    print_smaps("remerge_child");
    _exit(0);
  }
  waitpid(c, NULL, 0);
  mprotect(a + PAGE, PAGE, PROT_READ | PROT_WRITE);
  print_smaps("remerge_parent");
}

struct probe_case {
  const char *name;
  void (*fn)(const char *);
};
static const struct probe_case CASES[] = {
    {"map_size", c_map_size},       {"map_size_efault", c_map_size_efault}, {"arg5", c_arg5},
    {"arg4_single", c_arg4_single}, {"map_bad_size", c_map_bad_size},       {"map_efault", c_map_efault},
    {"map_ok", c_map_ok},           {"fields", c_fields},                   {"order", c_order},
    {"rlimit_data", c_rlimit_data}, {"auxv", c_auxv},                       {"root", c_root},
    {"nobody", c_nobody},           {"userns", c_userns},                   {"misc", c_misc},
    {"fork", c_fork},               {"fork_remerge", c_fork_remerge},               {"fork_guard", c_fork_guard},               {"caps_root", c_caps_root},            {"caps_userns", c_caps_userns},
};

static void run(const struct probe_case *c) {
  pid_t p = fork();
  if (p == 0) {
    c->fn(c->name);
    _exit(0);
  }
  int st;
  waitpid(p, &st, 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) out("CRASH %s %d\n", c->name, st);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
    int want = argc == 1;
    for (int j = 1; j < argc; j++) want |= strcmp(argv[j], CASES[i].name) == 0;
    if (want) run(&CASES[i]);
  }
  return 0;
}
