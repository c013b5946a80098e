// The aspace executor: the oracle that runs syscall programs on the live kernel.
// Protocol: docs/executor-protocol.md. Two roles in one static binary:
//   parent (default): pins ADDR_NO_RANDOMIZE, reads programs from stdin and runs each one in a
//                     fresh `executor --child` so every program starts from the same layout;
//   child (--child):  reads its ops from stdin, runs them with raw syscalls and reports results,
//                     /proc/self/maps and a digest of /proc/self/smaps.
// A third, separate mode, `--kbench FILE`, replays a kbench trace for benchmarks (see kbench_main).
// The child must not change its own address space except through the program's ops, so after
// parsing it uses only static buffers, raw syscalls and raw write(2) (no stdio, no malloc).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define PAGE 4096UL
#define MAX_OPS 8192
#define MAX_PROG (1UL << 20)
#define ALARM_SECONDS 5

// ---------------------------------------------------------------------------------------------
// Raw syscalls: return -errno directly, never touch the TLS errno.
static inline long raw6(long n, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#define raw0(n) raw6((n), 0, 0, 0, 0, 0, 0)
#define raw1(n, a) raw6((n), (long)(a), 0, 0, 0, 0, 0)
#define raw2(n, a, b) raw6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define raw3(n, a, b, c) raw6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define raw4(n, a, b, c, d) raw6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

static inline int is_err(long r) { return (unsigned long)r >= (unsigned long)-4095L; }

#include "syscall-numbers.h"

// ---------------------------------------------------------------------------------------------
// Child state. Everything is static so that nothing is allocated after parsing.
enum kind { K_BAD, K_SYS, K_OPEN, K_TOUCH, K_RTOUCH, K_WRITE, K_READ, K_POKE, K_FORK, K_MEMREAD, K_MEMWRITE };

struct opdef {
  const char *name;
  int nargs;
  long nr;
  enum kind kind;
};

static const struct opdef OPDEFS[] = {
    {"mmap", 6, SYS_mmap, K_SYS},
    {"munmap", 2, SYS_munmap, K_SYS},
    {"mprotect", 3, SYS_mprotect, K_SYS},
    {"pkey_mprotect", 4, SYS_pkey_mprotect, K_SYS},
    {"pkey_alloc", 2, SYS_pkey_alloc, K_SYS},
    {"pkey_free", 1, SYS_pkey_free, K_SYS},
    {"mremap", 5, SYS_mremap, K_SYS},
    {"madvise", 3, SYS_madvise, K_SYS},
    {"mseal", 3, SYS_mseal, K_SYS},
    {"brk", 1, SYS_brk, K_SYS},
    {"mlock", 2, SYS_mlock, K_SYS},
    {"mlock2", 3, SYS_mlock2, K_SYS},
    {"munlock", 2, SYS_munlock, K_SYS},
    {"mlockall", 1, SYS_mlockall, K_SYS},
    {"munlockall", 0, SYS_munlockall, K_SYS},
    {"msync", 3, SYS_msync, K_SYS},
    {"open", 3, 0, K_OPEN},  // path oflags size; the path is a token, not a number
    {"close", 1, SYS_close, K_SYS},
    {"touch", 2, 0, K_TOUCH},
    {"rtouch", 2, 0, K_RTOUCH},
    {"write", 3, 0, K_WRITE},
    {"read", 2, 0, K_READ},
    // Processes (docs/executor-protocol.md, "Two processes"): a peer, prctl, remote access.
    {"fork", 0, 0, K_FORK},
    {"poke", 2, 0, K_POKE},          // addr u64: stores 8 bytes little-endian (lays out structs)
    {"memread", 3, 0, K_MEMREAD},    // pid addr len: pread of /proc/PID/mem
    {"memwrite", 4, 0, K_MEMWRITE},  // pid addr len byte: pwrite of /proc/PID/mem
    {"prctl", 5, SYS_prctl, K_SYS},
    {"process_vm_readv", 6, SYS_process_vm_readv, K_SYS},
    {"process_vm_writev", 6, SYS_process_vm_writev, K_SYS},
    {"pidfd_open", 2, SYS_pidfd_open, K_SYS},
    {"process_madvise", 5, SYS_process_madvise, K_SYS},
};

#define MAX_MEMIO 65536  // memread/memwrite length limit (one static buffer)

struct op {
  const struct opdef *def;  // NULL: the line could not be parsed (reported as -EBADOP)
  const char *path;         // open only; NUL-terminated inside prog[]
  unsigned long a[6];
  int proc;                 // 0: the child itself; 1: its peer (op prefix "@1")
  unsigned pidref;          // bit k: a[k] was "%N", the pid of process N (resolved when run)
};

static char prog[MAX_PROG + 1];
static struct op ops[MAX_OPS];
static long nops;

static int outfd = 1;
static char out[1 << 16];
static unsigned long outlen;
static char rbuf[1 << 16];  // /proc reads
static char lbuf[1 << 16];  // one smaps line (carried across reads)
static char altstack[1 << 16] __attribute__((aligned(16)));
static unsigned char membuf[MAX_MEMIO];  // memread/memwrite data

// The two processes of a program: 0 is the child itself, 1 the peer its `fork` op creates.
static int self_proc;           // which of them this is
static long pids[2];            // their pids (pids[1] = 0: no peer yet)
static int ctl_fd = -1, ack_fd = -1;  // process 0 → peer: op index; peer → process 0: done

// ---------------------------------------------------------------------------------------------
// Output: buffered in out[] and flushed with raw write(2) after each result line, so a crash
// leaves every earlier line in the pipe.
static void die_quiet(int code) {
  raw1(SYS_exit_group, code);
  __builtin_unreachable();
}

static void write_all(int fd, const char *p, unsigned long n) {
  while (n) {
    long r = raw3(SYS_write, fd, p, n);
    if (r == -EINTR) continue;
    if (is_err(r) || r == 0) die_quiet(3);  // nobody is listening any more
    p += r;
    n -= (unsigned long)r;
  }
}

static void flush(void) {
  write_all(outfd, out, outlen);
  outlen = 0;
}

static void out_mem(const char *s, unsigned long n) {
  if (outlen + n > sizeof out) flush();
  if (n > sizeof out) {
    write_all(outfd, s, n);
    return;
  }
  memcpy(out + outlen, s, n);
  outlen += n;
}

static void out_str(const char *s) { out_mem(s, strlen(s)); }
static void out_ch(char c) { out_mem(&c, 1); }

static void out_hex_w(unsigned long v, int width) {
  char b[32];
  int i = 32;
  do {
    b[--i] = "0123456789abcdef"[v & 15];
    v >>= 4;
    width--;
  } while (v || width > 0);
  out_mem(b + i, (unsigned long)(32 - i));
}
static void out_hex(unsigned long v) {
  out_str("0x");
  out_hex_w(v, 0);
}
static void out_dec(unsigned long v) {
  char b[32];
  int i = 32;
  do {
    b[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  out_mem(b + i, (unsigned long)(32 - i));
}

static void out_errno(long e) {
  const char *n = strerrorname_np((int)e);  // a pointer into a static table: no allocation
  out_ch('-');
  if (n) {
    out_str(n);
  } else {
    out_ch('E');
    out_dec((unsigned long)e);
  }
}

static void child_fail(const char *msg) {
  flush();
  write_all(2, "executor --child: ", 18);
  write_all(2, msg, strlen(msg));
  write_all(2, "\n", 1);
  die_quiet(2);
}

// ---------------------------------------------------------------------------------------------
// Parsing. Numbers: decimal or 0x hex, optionally negative (two's complement u64).
static int parse_num(const char *s, unsigned long *v) {
  int neg = 0;
  unsigned long x = 0;
  if (*s == '-') {
    neg = 1;
    s++;
  }
  if (!*s) return 0;
  if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s += 2;
    if (!*s) return 0;
    for (; *s; s++) {
      int d;
      if (*s >= '0' && *s <= '9') d = *s - '0';
      else if (*s >= 'a' && *s <= 'f') d = *s - 'a' + 10;
      else if (*s >= 'A' && *s <= 'F') d = *s - 'A' + 10;
      else return 0;
      if (x >> 60) return 0;  // overflow
      x = (x << 4) | (unsigned long)d;
    }
  } else {
    for (; *s; s++) {
      if (*s < '0' || *s > '9') return 0;
      unsigned long d = (unsigned long)(*s - '0');
      if (x > (~0UL - d) / 10) return 0;
      x = x * 10 + d;
    }
  }
  *v = neg ? (unsigned long)0 - x : x;
  return 1;
}

// Parses one op line in place (tokens are NUL-terminated inside prog[]).
static void parse_op(char *line, struct op *op) {
  char *alltok[9], **tok = alltok;
  int nt = 0;
  op->def = NULL;
  op->proc = 0;
  op->pidref = 0;
  for (char *p = line; *p;) {
    while (*p == ' ' || *p == '\t' || *p == '\r') *p++ = 0;
    if (!*p) break;
    if (nt == 9) return;  // too many tokens
    tok[nt++] = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\r') p++;
  }
  // "@0 OP ..." / "@1 OP ...": the process that runs the op (default 0).
  if (nt > 0 && tok[0][0] == '@') {
    if ((tok[0][1] != '0' && tok[0][1] != '1') || tok[0][2]) return;
    op->proc = tok[0][1] - '0';
    tok++;
    nt--;
  }
  if (nt == 0 || nt > 8) return;
  const struct opdef *d = NULL;
  for (unsigned long i = 0; i < sizeof OPDEFS / sizeof OPDEFS[0]; i++)
    if (strcmp(tok[0], OPDEFS[i].name) == 0) d = &OPDEFS[i];
  if (!d || nt - 1 != d->nargs) return;
  int first = 1;
  if (d->kind == K_OPEN) {
    op->path = tok[1];
    first = 2;
  }
  for (int i = first; i < nt; i++) {
    // "%0" / "%1": the pid of process 0 / 1, known only when the op runs.
    if (tok[i][0] == '%' && (tok[i][1] == '0' || tok[i][1] == '1') && !tok[i][2]) {
      op->a[i - 1] = (unsigned long)(tok[i][1] - '0');
      op->pidref |= 1u << (i - 1);
      continue;
    }
    if (!parse_num(tok[i], &op->a[i - 1])) return;
  }
  // Pids only where the op passes its numbers to the kernel as they are.
  if (op->pidref && d->kind != K_SYS && d->kind != K_MEMREAD && d->kind != K_MEMWRITE) return;
  if (d->kind == K_WRITE && op->a[2] > 255) return;
  if (d->kind == K_MEMREAD && op->a[2] > MAX_MEMIO) return;
  if (d->kind == K_MEMWRITE && (op->a[2] > MAX_MEMIO || op->a[3] > 255)) return;
  op->def = d;
}

static void read_program(void) {
  unsigned long n = 0;
  for (;;) {
    long r = raw3(SYS_read, 0, prog + n, MAX_PROG + 1 - n);
    if (r == -EINTR) continue;
    if (is_err(r)) child_fail("cannot read the program from stdin");
    if (r == 0) break;
    n += (unsigned long)r;
    if (n > MAX_PROG) child_fail("program text exceeds 1 MiB");
  }
  prog[n] = 0;
  // One op per line; a final line without '\n' still counts, the empty tail after it does not.
  char *p = prog, *end = prog + n;
  while (p < end) {
    char *nl = memchr(p, '\n', (unsigned long)(end - p));
    if (!nl) nl = end;
    *nl = 0;
    if (nops == MAX_OPS) child_fail("more than 8192 ops");
    parse_op(p, &ops[nops++]);
    p = nl + 1;
  }
}

// ---------------------------------------------------------------------------------------------
// /proc readers (raw open/read into static buffers).
static int proc_open(const char *path) {
  long fd = raw3(SYS_open, path, O_RDONLY | O_CLOEXEC, 0);
  if (is_err(fd)) child_fail("cannot open a /proc file");
  return (int)fd;
}

static long proc_read(int fd, char *buf, unsigned long cap) {
  for (;;) {
    long r = raw3(SYS_read, fd, buf, cap);
    if (r == -EINTR) continue;
    if (is_err(r)) child_fail("cannot read a /proc file");
    return r;
  }
}

// Reads a small /proc file whole into rbuf (NUL-terminated).
static unsigned long proc_slurp(const char *path) {
  int fd = proc_open(path);
  unsigned long n = 0;
  long r;
  while ((r = proc_read(fd, rbuf + n, sizeof rbuf - 1 - n)) > 0) n += (unsigned long)r;
  raw1(SYS_close, fd);
  rbuf[n] = 0;
  return n;
}

static unsigned long parse_dec_field(const char *s) {
  unsigned long v = 0;
  while (*s >= '0' && *s <= '9') v = v * 10 + (unsigned long)(*s++ - '0');
  return v;
}

// Field k (1-based) of /proc/self/stat. Field 2 (comm) is in parentheses and may contain
// spaces or ')', so count from the last ')'.
static unsigned long stat_field(int k) {
  char *p = strrchr(rbuf, ')');
  if (!p) child_fail("malformed /proc/self/stat");
  p++;
  for (int f = 3; f <= k; f++) {
    while (*p == ' ') p++;
    if (!*p) child_fail("short /proc/self/stat");
    if (f == k) return parse_dec_field(p);
    while (*p && *p != ' ') p++;
  }
  return 0;
}

static void emit_info(void) {
  proc_slurp("/proc/self/stat");
  unsigned long start_stack = stat_field(28), start_brk = stat_field(47);
  long brk = raw1(SYS_brk, 0);
  struct rlimit rl;
  if (is_err(raw4(SYS_prlimit64, 0, RLIMIT_STACK, 0, &rl))) child_fail("prlimit64 failed");
  proc_slurp("/proc/sys/vm/mmap_min_addr");
  unsigned long min_addr = parse_dec_field(rbuf);
  out_str("info start_brk=");
  out_hex(start_brk);
  out_str(" brk=");
  out_hex((unsigned long)brk);
  out_str(" start_stack=");
  out_hex(start_stack);
  out_str(" rlimit_stack=");
  if (rl.rlim_cur == RLIM_INFINITY) out_str("inf");
  else out_hex(rl.rlim_cur);
  out_str(" mmap_min_addr=");
  out_dec(min_addr);
  // mm->saved_auxv as PR_GET_AUXV (0x41555856, 6.4+) gives it, so that the model can give
  // the same bytes; left out where the kernel refuses.
  unsigned long auxv[64];
  long n = raw3(SYS_prctl, 0x41555856, auxv, sizeof auxv);
  if (!is_err(n) && n > 0) {
    out_str(" auxv=");
    for (long i = 0; i < n / 8 && i < 64; i++) {
      if (i) out_ch(',');
      out_hex(auxv[i]);
    }
  }
  out_ch('\n');
  flush();
}

// /proc/self/maps is copied verbatim, chunk by chunk.
static void emit_maps(const char *title) {
  out_str(title);
  out_ch('\n');
  int fd = proc_open("/proc/self/maps");
  long r;
  while ((r = proc_read(fd, rbuf, sizeof rbuf)) > 0) out_mem(rbuf, (unsigned long)r);
  raw1(SYS_close, fd);
  flush();
}

// smaps digest: one line per VMA "START END RSS_KB ANON_KB ANONHUGE_KB flag...".
static struct {
  int have;
  char start[24], end[24];
  unsigned long rss, anon, anon_huge;
  char flags[256];
} vma;

static void smaps_flush_vma(void) {
  if (!vma.have) return;
  out_str(vma.start);
  out_ch(' ');
  out_str(vma.end);
  out_ch(' ');
  out_dec(vma.rss);
  out_ch(' ');
  out_dec(vma.anon);
  out_ch(' ');
  out_dec(vma.anon_huge);
  if (vma.flags[0]) {
    out_ch(' ');
    out_str(vma.flags);
  }
  out_ch('\n');
  vma.have = 0;
}

static int starts_with(const char *s, const char *pre) { return strncmp(s, pre, strlen(pre)) == 0; }

static unsigned long kb_value(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  return parse_dec_field(s);
}

static void smaps_line(char *l) {
  char *dash = l;
  while ((*dash >= '0' && *dash <= '9') || (*dash >= 'a' && *dash <= 'f')) dash++;
  if (dash != l && *dash == '-') {  // VMA header: "start-end perms offset dev inode name"
    smaps_flush_vma();
    char *e = dash + 1, *ee = e;
    while (*ee && *ee != ' ') ee++;
    unsigned long ls = (unsigned long)(dash - l), le = (unsigned long)(ee - e);
    if (ls >= sizeof vma.start || le >= sizeof vma.end) child_fail("malformed smaps header");
    memcpy(vma.start, l, ls);
    vma.start[ls] = 0;
    memcpy(vma.end, e, le);
    vma.end[le] = 0;
    vma.rss = vma.anon = vma.anon_huge = 0;
    vma.flags[0] = 0;
    vma.have = 1;
  } else if (starts_with(l, "Rss:")) {
    vma.rss = kb_value(l + 4);
  } else if (starts_with(l, "Anonymous:")) {
    vma.anon = kb_value(l + 10);
  } else if (starts_with(l, "AnonHugePages:")) {
    vma.anon_huge = kb_value(l + 14);
  } else if (starts_with(l, "VmFlags:")) {
    // Normalise "VmFlags: rd wr mr " to single-space separated mnemonics.
    unsigned long n = 0;
    for (char *p = l + 8; *p;) {
      while (*p == ' ') p++;
      if (!*p) break;
      if (n && n < sizeof vma.flags - 1) vma.flags[n++] = ' ';
      while (*p && *p != ' ')
        if (n < sizeof vma.flags - 1) vma.flags[n++] = *p++;
        else p++;
    }
    vma.flags[n] = 0;
  }
}

static void emit_smaps(const char *title) {
  out_str(title);
  out_ch('\n');
  int fd = proc_open("/proc/self/smaps");
  unsigned long ll = 0;
  long r;
  vma.have = 0;
  while ((r = proc_read(fd, rbuf, sizeof rbuf)) > 0) {
    for (long i = 0; i < r; i++) {
      char c = rbuf[i];
      if (c == '\n') {
        lbuf[ll] = 0;
        smaps_line(lbuf);
        ll = 0;
      } else if (ll < sizeof lbuf - 1) {
        lbuf[ll++] = c;  // over-long lines (huge path names) are truncated: only headers are long
      }
    }
  }
  if (ll) {
    lbuf[ll] = 0;
    smaps_line(lbuf);
  }
  smaps_flush_vma();
  raw1(SYS_close, fd);
  flush();
}

// ---------------------------------------------------------------------------------------------
// Memory accesses with fault recovery. Accesses are done page chunk by page chunk in ascending
// order; cur_page records the chunk being accessed so the offset is exact even when the kernel
// reports no useful si_addr (e.g. #GP on a non-canonical address gives si_addr = 0).
static sigjmp_buf fault_jb;
static volatile sig_atomic_t fault_armed;
static volatile unsigned long cur_page;  // first address of the current chunk
static volatile unsigned long fault_addr;
static volatile int fault_sig;

static void on_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  if (!fault_armed) {
    // Not one of the program's deliberate accesses (e.g. it unmapped our own stack or data):
    // restore the default action and return; the access re-faults and the child dies with the
    // real signal, which the parent reports.
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigaction(sig, &sa, NULL);
    return;
  }
  fault_armed = 0;
  fault_addr = (unsigned long)si->si_addr;
  fault_sig = sig;
  siglongjmp(fault_jb, 1);
}

static void install_fault_handlers(void) {
  stack_t ss;
  memset(&ss, 0, sizeof ss);
  ss.ss_sp = altstack;
  ss.ss_size = sizeof altstack;
  if (sigaltstack(&ss, NULL) != 0) child_fail("sigaltstack failed");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, NULL) != 0 || sigaction(SIGBUS, &sa, NULL) != 0)
    child_fail("sigaction failed");
}

// Length of the chunk starting at p: up to the next page boundary or the end of the range.
static inline unsigned long chunk_len(unsigned long p, unsigned long rem) {
  unsigned long c = PAGE - (p & (PAGE - 1));
  return c < rem ? c : rem;
}

#define FNV_BASIS 0x811c9dc5u
#define FNV_PRIME 0x01000193u

static void access_range(const struct op *op) {
  enum kind k = op->def->kind;
  const unsigned long addr = op->a[0], len = k == K_POKE ? 8 : op->a[1];
  const unsigned char byte = (unsigned char)op->a[2];
  const unsigned long word = op->a[1];  // poke
  if (sigsetjmp(fault_jb, 1)) {
    unsigned long cp = cur_page, fa = fault_addr;
    // Prefer si_addr when it lies in the chunk being accessed, else the chunk start.
    unsigned long at = (fa >= cp && fa - cp < PAGE) ? fa : cp;
    out_str(fault_sig == SIGBUS ? "BUS " : "SEGV ");
    out_hex(at - addr);
    return;
  }
  unsigned long p = addr, rem = len;
  uint32_t h = FNV_BASIS;
  while (rem) {
    unsigned long c = chunk_len(p, rem);
    cur_page = p;
    fault_armed = 1;
    switch (k) {
      case K_TOUCH: {
        volatile char *q = (volatile char *)p;
        *q = *q;  // read fault, then write fault; contents unchanged
        break;
      }
      case K_RTOUCH:
        (void)*(volatile char *)p;
        break;
      case K_WRITE:
        memset((void *)p, byte, c);  // within one page: the order of stores cannot matter
        break;
      case K_READ: {
        const volatile unsigned char *q = (const volatile unsigned char *)p;
        for (unsigned long i = 0; i < c; i++) h = (h ^ q[i]) * FNV_PRIME;
        break;
      }
      case K_POKE: {
        volatile unsigned char *q = (volatile unsigned char *)p;
        for (unsigned long i = 0; i < c; i++) q[i] = (unsigned char)(word >> (8 * (p + i - addr)));
        break;
      }
      default:
        break;
    }
    fault_armed = 0;
    p += c;
    rem -= c;
  }
  out_str("0x0");
  if (k == K_READ) {
    out_ch(' ');
    out_hex_w(h, 8);
  }
}

// ---------------------------------------------------------------------------------------------
static void run_open(const struct op *op) {
  long size = (long)op->a[2];
  if (size >= 0) {
    long fd = raw3(SYS_open, op->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (is_err(fd)) {
      out_errno(-fd);
      return;
    }
    long r = raw2(SYS_ftruncate, fd, size);
    raw1(SYS_close, fd);
    if (is_err(r)) {
      out_errno(-r);
      return;
    }
  }
  long fd = raw3(SYS_open, op->path, op->a[1], 0644);
  if (is_err(fd)) out_errno(-fd);
  else out_hex((unsigned long)fd);
}

// "/proc/PID/mem" into a static buffer (no libc formatting in the child).
static char mempath[32];
static void mem_path(unsigned long pid) {
  char d[24];
  int n = 0;
  do {
    d[n++] = (char)('0' + pid % 10);
    pid /= 10;
  } while (pid);
  char *p = mempath;
  memcpy(p, "/proc/", 6);
  p += 6;
  while (n) *p++ = d[--n];
  memcpy(p, "/mem", 5);
}

// memread/memwrite: open /proc/PID/mem (O_RDONLY / O_RDWR), pread/pwrite at addr, close.
static void run_memio(const struct op *op, const unsigned long *a) {
  int write = op->def->kind == K_MEMWRITE;
  unsigned long len = a[2];
  mem_path(a[0]);
  long fd = raw3(SYS_open, mempath, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
  if (is_err(fd)) {
    out_errno(-fd);
    return;
  }
  if (write) memset(membuf, (int)a[3], len);
  long r = raw4(write ? SYS_pwrite64 : SYS_pread64, fd, membuf, len, a[1]);
  raw1(SYS_close, fd);
  if (is_err(r)) {
    out_errno(-r);
    return;
  }
  out_hex((unsigned long)r);
  if (!write) {
    uint32_t h = FNV_BASIS;
    for (long i = 0; i < r; i++) h = (h ^ membuf[i]) * FNV_PRIME;
    out_ch(' ');
    out_hex_w(h, 8);
  }
}

static void peer_loop(void) __attribute__((noreturn));

// fork: process 0 creates its peer, connected by two pipes kept at fds >= 110 (the program's
// own fds are allocated lowest-first from 3 and never meet them). The result is 0x1, the
// peer's process number (its pid changes from run to run; ops name it as %1).
static void run_fork(void) {
  if (self_proc != 0 || pids[1] != 0) {
    out_str("-EBADOP");  // one peer, created by process 0
    return;
  }
  int pc[2], pa[2];
  long r = raw2(SYS_pipe2, pc, O_CLOEXEC);
  if (is_err(r)) {
    out_errno(-r);
    return;
  }
  r = raw2(SYS_pipe2, pa, O_CLOEXEC);
  if (is_err(r)) {
    raw1(SYS_close, pc[0]);
    raw1(SYS_close, pc[1]);
    out_errno(-r);
    return;
  }
  int fds[4] = {pc[0], pc[1], pa[0], pa[1]};
  for (int k = 0; k < 4; k++) {
    long d = raw3(SYS_fcntl, fds[k], F_DUPFD_CLOEXEC, 110);
    if (is_err(d)) child_fail("cannot move the peer's pipes to fds >= 110");
    raw1(SYS_close, fds[k]);
    fds[k] = (int)d;
  }
  flush();  // nothing buffered may be written twice
  long pid = raw0(SYS_fork);
  if (is_err(pid)) {
    for (int k = 0; k < 4; k++) raw1(SYS_close, fds[k]);
    out_errno(-pid);
    return;
  }
  if (pid == 0) {
    // The peer dies with process 0 (a timeout or a crash there must not leave it running).
    raw2(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL);
    if (raw0(SYS_getppid) != pids[0]) die_quiet(0);
    self_proc = 1;
    pids[1] = raw0(SYS_getpid);
    raw1(SYS_close, fds[1]);
    raw1(SYS_close, fds[2]);
    ctl_fd = fds[0];
    ack_fd = fds[3];
    peer_loop();
  }
  raw1(SYS_close, fds[0]);
  raw1(SYS_close, fds[3]);
  ctl_fd = fds[1];
  ack_fd = fds[2];
  pids[1] = pid;
  out_hex(1);
}

// Runs op i in this process and reports "r i RESULT".
static void exec_op(long i) {
  const struct op *op = &ops[i];
  out_str("r ");
  out_dec((unsigned long)i);
  out_ch(' ');
  unsigned long a[6];
  int bad = !op->def;
  for (int k = 0; k < 6 && !bad; k++) {
    a[k] = op->a[k];
    if (op->pidref & (1u << k)) {
      if (pids[a[k]] == 0) bad = 1;  // %1 before the fork
      else a[k] = (unsigned long)pids[a[k]];
    }
  }
  if (bad) {
    out_str("-EBADOP");
  } else {
    switch (op->def->kind) {
      case K_SYS: {
        long r = raw6(op->def->nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4],
                      (long)a[5]);
        if (is_err(r)) out_errno(-r);
        else out_hex((unsigned long)r);
        break;
      }
      case K_OPEN:
        run_open(op);
        break;
      case K_FORK:
        run_fork();
        break;
      case K_MEMREAD:
      case K_MEMWRITE:
        run_memio(op, a);
        break;
      default:
        access_range(op);
        break;
    }
  }
  out_ch('\n');
  flush();
}

static int read_full(int fd, void *buf, unsigned long n) {
  unsigned long got = 0;
  while (got < n) {
    long r = raw3(SYS_read, fd, (char *)buf + got, n - got);
    if (r == -EINTR) continue;
    if (is_err(r) || r == 0) return 0;
    got += (unsigned long)r;
  }
  return 1;
}

// The peer: runs the ops process 0 hands it, one at a time; index -1 asks for its final
// snapshot, after which it exits 0. End of file (process 0 is gone): exit quietly.
static void peer_loop(void) {
  for (;;) {
    long i;
    if (!read_full(ctl_fd, &i, sizeof i)) die_quiet(0);
    if (i < 0) {
      emit_maps("peer-final-maps");
      emit_smaps("peer-final-smaps");
      die_quiet(0);
    }
    exec_op(i);
    char done = 1;
    write_all(ack_fd, &done, 1);
  }
}

// The wait status of the exited peer as "peer-exit N" / "peer-killed SIGNAME".
static void emit_peer_status(int st) {
  if ((st & 0x7f) == 0) {
    out_str("peer-exit ");
    out_dec((unsigned long)((st >> 8) & 0xff));
  } else {
    const char *s = sigabbrev_np(st & 0x7f);
    out_str("peer-killed SIG");
    if (s) out_str(s);
    else out_dec((unsigned long)(st & 0x7f));
  }
  out_ch('\n');
  flush();
}

static int reap_peer(void) {
  int st = 0;
  for (;;) {
    long r = raw4(SYS_wait4, pids[1], &st, 0, 0);
    if (r == -EINTR) continue;
    if (is_err(r)) child_fail("wait4 for the peer failed");
    return st;
  }
}

static void run_op(long i) {
  const struct op *op = &ops[i];
  if (!op->def || op->proc == 0 || pids[1] == 0) {
    if (op->def && op->proc == 1) {  // "@1" before the fork
      out_str("r ");
      out_dec((unsigned long)i);
      out_str(" -EBADOP\n");
      flush();
      return;
    }
    exec_op(i);
    return;
  }
  write_all(ctl_fd, (const char *)&i, sizeof i);
  char done;
  if (!read_full(ack_fd, &done, 1)) {
    // The peer died running the op: its status, then process 0 gives up (exit 4).
    emit_peer_status(reap_peer());
    child_fail("the peer died");
  }
}

// Process 0 asks the peer for its final snapshot and reaps it.
static void finish_peer(void) {
  if (pids[1] == 0) return;
  long fin = -1;
  write_all(ctl_fd, (const char *)&fin, sizeof fin);
  emit_peer_status(reap_peer());
}

static void pretouch(char *p, unsigned long n) {
  for (unsigned long i = 0; i < n; i += PAGE) ((volatile char *)p)[i] = 0;
}

// Keep the child (and its peer, which inherits the mask) on the CPU it starts on. Pages
// reach the LRU through per-CPU batches that only the local CPU drains, and mlock/munlock
// count a page only once it is on the LRU: a child that migrates between CPUs can leave
// its own pages in another CPU's batch and get an undercounted mlock (observed under
// load). Pinned, every batch it fills is drained where it runs, and results repeat.
static void pin_to_current_cpu(void) {
  unsigned cpu = 0;
  if (is_err(raw3(SYS_getcpu, (long)&cpu, 0, 0))) return;
  unsigned long mask[16] = {0};
  if (cpu >= sizeof mask * 8) return;
  mask[cpu / (8 * sizeof mask[0])] = 1UL << (cpu % (8 * sizeof mask[0]));
  (void)raw3(SYS_sched_setaffinity, 0, sizeof mask, (long)mask);
}

static int child_main(void) {
  pin_to_current_cpu();
  read_program();
  // Output goes to a private copy of stdout so that a program that closes fd 1 (or opens
  // files) does not disturb the report; fds 0-2 stay as they are so `open` returns 3, 4, ...
  long fd = raw3(SYS_fcntl, 1, F_DUPFD_CLOEXEC, 100);
  if (!is_err(fd)) outfd = (int)fd;
  install_fault_handlers();
  // Fault in every static buffer used from here on so that reporting does not change RSS
  // between the initial and final snapshots.
  pretouch(out, sizeof out);
  pretouch(rbuf, sizeof rbuf);
  pretouch(lbuf, sizeof lbuf);
  pretouch(altstack, sizeof altstack);
  pretouch((char *)membuf, sizeof membuf);
  pids[0] = raw0(SYS_getpid);
  emit_info();
  emit_maps("init-maps");
  emit_smaps("init-smaps");
  for (long i = 0; i < nops; i++) run_op(i);
  finish_peer();
  emit_maps("final-maps");
  emit_smaps("final-smaps");
  out_str("end\n");
  flush();
  die_quiet(0);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Parent. It may use libc freely: its address space is never reported.
static volatile pid_t child_pid;
static volatile sig_atomic_t timed_out;

static void on_alarm(int sig) {
  (void)sig;
  timed_out = 1;
  if (child_pid > 0) kill(child_pid, SIGKILL);
}

static void pwrite_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t r = write(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) exit(3);
    p += r;
    n -= (size_t)r;
  }
}

static void pprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void pprintf(const char *fmt, ...) {
  char b[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b, sizeof b, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof b) n = sizeof b - 1;
  pwrite_all(1, b, (size_t)n);
}

static void run_program(const char *name, const char *text, size_t len) {
  pprintf("program %s\n", name);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    perror("executor: pipe2");
    exit(2);
  }
  timed_out = 0;
  pid_t pid = fork();
  if (pid < 0) {
    perror("executor: fork");
    exit(2);
  }
  if (pid == 0) {
    dup2(p[0], 0);  // dup2 clears O_CLOEXEC on fd 0
    syscall(SYS_close_range, 3U, ~0U, 0U);
    // argv[0] and AT_EXECFN ("/proc/self/exe") are fixed strings so the stack layout does
    // not depend on where the executor is installed; the environment is empty for the same
    // reason.
    char *argv[] = {"executor", "--child", NULL};
    char *envp[] = {NULL};
    execve("/proc/self/exe", argv, envp);
    perror("executor: execve /proc/self/exe");
    _exit(127);
  }
  close(p[0]);
  child_pid = pid;
  alarm(ALARM_SECONDS);
  size_t off = 0;
  while (off < len) {
    ssize_t r = write(p[1], text + off, len - off);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;  // EPIPE: the child died or refused the text; waitpid tells
    off += (size_t)r;
  }
  close(p[1]);
  int st;
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) {
      perror("executor: waitpid");
      exit(2);
    }
  }
  alarm(0);
  child_pid = 0;
  if (WIFEXITED(st)) {
    pprintf("exit %d\n", WEXITSTATUS(st));
  } else if (WIFSIGNALED(st)) {
    const char *s = sigabbrev_np(WTERMSIG(st));
    if (s) pprintf("killed SIG%s%s\n", s, timed_out ? " timeout" : "");
    else pprintf("killed %d%s\n", WTERMSIG(st), timed_out ? " timeout" : "");
  } else {
    pprintf("exit -1\n");
  }
}

// ---------------------------------------------------------------------------------------------
// kbench mode: `executor --kbench FILE [--maps-out OUT]` replays a kbench trace (the plain-text
// format of ../shared/traces/kbench, described in the trace's own header) on the live kernel
// and prints one JSON line {"ops":N,"seconds":S,"mismatches":M}: N timed ops, the wall time of
// the timed loop alone, and how many results differ from the recorded ones. It shares nothing
// with the program protocol above except the raw syscall helpers. The trace is parsed whole into
// an mmap'ed array before the arena is reserved and before the clock starts; the loop does no
// allocation and no I/O. With --maps-out, the arena's /proc/self/maps lines (guards included)
// are written to OUT afterwards, preceded by "# arena_base 0x...".
enum kb_kind { KB_MMAP, KB_MUNMAP, KB_MPROTECT, KB_MSEAL, KB_MREMAP, KB_MADVISE, KB_TOUCH };

#define KB_SEGV (-100000L)  // recorded/observed "SEGV" (a touch that faulted)

struct kb_rec {
  uint32_t off, len, arg;  // byte offsets/lengths from the arena base
  uint32_t line;           // 1-based line in the trace file, for mismatch reports
  uint8_t kind, prot;
  long ret;  // recorded: 0, an offset from the base (mmap/mremap), -errno, or KB_SEGV
};

static const char *kb_file;
static unsigned long kb_lineno;

static void kb_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void kb_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (kb_lineno) fprintf(stderr, "executor --kbench: %s:%lu: ", kb_file, kb_lineno);
  else fprintf(stderr, "executor --kbench: %s: ", kb_file);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(2);
}

// A hex number with an optional 0x prefix (the trace writes "0" for zero, "0x..." otherwise),
// below 2^32 (the arena is 128 MiB).
static uint32_t kb_hex(const char *s, const char *what) {
  if (s[0] == '0' && s[1] == 'x') s += 2;
  if (!*s) kb_fail("bad %s '%s'", what, s);
  unsigned long v = 0;
  for (const char *p = s; *p; p++) {
    int d;
    if (*p >= '0' && *p <= '9') d = *p - '0';
    else if (*p >= 'a' && *p <= 'f') d = *p - 'a' + 10;
    else kb_fail("bad %s '%s'", what, s);
    v = (v << 4) | (unsigned long)d;
    if (v > 0xffffffffUL) kb_fail("%s '%s' out of range", what, s);
  }
  return (uint32_t)v;
}

static long kb_errno(const char *name) {
  for (int e = 1; e < 4096; e++) {
    const char *n = strerrorname_np(e);
    if (n && strcmp(n, name) == 0) return e;
  }
  kb_fail("unknown errno name '%s'", name);
}

static int kb_prot(const char *s) {
  if (strcmp(s, "NONE") == 0) return PROT_NONE;
  if (strcmp(s, "R") == 0) return PROT_READ;
  if (strcmp(s, "RW") == 0) return PROT_READ | PROT_WRITE;
  kb_fail("bad PROT '%s' (NONE, R or RW)", s);
}

static void kb_expect(const char *tok, const char *want, const char *col) {
  if (strcmp(tok, want) != 0) kb_fail("column %s is '%s', expected '%s'", col, tok, want);
}

static void kb_parse_line(char *line, struct kb_rec *r) {
  char *tok[8];
  int nt = 0;
  for (char *p = line; *p;) {
    while (*p == ' ' || *p == '\t' || *p == '\r') *p++ = 0;
    if (!*p) break;
    if (nt == 8) kb_fail("more than 7 columns");
    tok[nt++] = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\r') p++;
  }
  if (nt != 7) kb_fail("%d columns, expected 7 (op off len prot flags arg ret)", nt);
  static const char *const names[] = {"mmap", "munmap", "mprotect", "mseal", "mremap", "madvise", "touch"};
  int k = -1;
  for (int i = 0; i < 7; i++)
    if (strcmp(tok[0], names[i]) == 0) k = i;
  if (k < 0) kb_fail("unknown op '%s'", tok[0]);
  memset(r, 0, sizeof *r);
  r->kind = (uint8_t)k;
  r->line = (uint32_t)kb_lineno;
  r->off = kb_hex(tok[1], "offset");
  r->len = kb_hex(tok[2], "length");
  const char *flags = "-", *prot = "-", *arg = "-";
  switch (k) {
    case KB_MMAP: flags = "FIXED|PRIVATE|ANONYMOUS"; prot = NULL; break;
    case KB_MPROTECT: prot = NULL; break;
    case KB_MSEAL: flags = "0"; break;
    case KB_MREMAP: flags = "MAYMOVE|FIXED"; arg = NULL; break;
    case KB_MADVISE: flags = "DONTNEED"; break;
    default: break;
  }
  if (prot) kb_expect(tok[3], prot, "prot");
  else r->prot = (uint8_t)kb_prot(tok[3]);
  kb_expect(tok[4], flags, "flags");
  if (arg) kb_expect(tok[5], arg, "arg");
  else r->arg = kb_hex(tok[5], "arg");
  const char *ret = tok[6];
  if (strcmp(ret, "SEGV") == 0) {
    if (k != KB_TOUCH) kb_fail("SEGV recorded for a %s", tok[0]);
    r->ret = KB_SEGV;
  } else if (ret[0] == '-') {
    r->ret = -kb_errno(ret + 1);
  } else {
    r->ret = (long)kb_hex(ret, "ret");
  }
}

static sigjmp_buf kb_jb;
static volatile sig_atomic_t kb_armed;

static void kb_on_fault(int sig, siginfo_t *si, void *uc) {
  (void)si;
  (void)uc;
  if (!kb_armed) {  // not a touch: die with the real signal
    signal(sig, SIG_DFL);
    return;
  }
  kb_armed = 0;
  siglongjmp(kb_jb, 1);
}

// One byte written to each page of [p, p+len): 0, or KB_SEGV if an access faulted. The jump
// buffer does not save the signal mask (no sigprocmask per touch); SA_NODEFER keeps SIGSEGV
// unblocked while the handler runs, so jumping out of it leaves the mask as it was.
static unsigned long kb_touch_at, kb_touch_end;  // statics: nothing live across sigsetjmp

static __attribute__((noinline)) void kb_touch_pages(void) {
  for (unsigned long q = kb_touch_at; q < kb_touch_end; q += PAGE) *(volatile char *)q = 1;
}

static long kb_touch(unsigned long p, unsigned long len) {
  kb_touch_at = p;
  kb_touch_end = p + len;
  if (sigsetjmp(kb_jb, 0)) return KB_SEGV;
  kb_armed = 1;
  kb_touch_pages();
  kb_armed = 0;
  return 0;
}

static inline long kb_run(const struct kb_rec *r, unsigned long base) {
  unsigned long a = base + r->off;
  long x;
  switch (r->kind) {
    case KB_MMAP:
      x = raw6(SYS_mmap, (long)a, r->len, r->prot, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      return is_err(x) ? x : x - (long)base;
    case KB_MUNMAP:
      return raw2(SYS_munmap, a, r->len);
    case KB_MPROTECT:
      return raw3(SYS_mprotect, a, r->len, r->prot);
    case KB_MSEAL:
      return raw3(SYS_mseal, a, r->len, 0);
    case KB_MREMAP:
      x = raw6(SYS_mremap, (long)a, r->len, r->len, MREMAP_MAYMOVE | MREMAP_FIXED, (long)(base + r->arg), 0);
      return is_err(x) ? x : x - (long)base;
    case KB_MADVISE:
      return raw3(SYS_madvise, a, r->len, MADV_DONTNEED);
    default:
      return kb_touch(a, r->len);
  }
}

static void kb_print_ret(FILE *f, long v) {
  if (v == KB_SEGV) fputs("SEGV", f);
  else if (v < 0) fprintf(f, "-%s", strerrorname_np((int)-v) ? strerrorname_np((int)-v) : "E?");
  else fprintf(f, "0x%lx", (unsigned long)v);
}

static int kbench_main(const char *file, const char *maps_out) {
  kb_file = file;
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) kb_fail("%s", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) kb_fail("%s", strerror(errno));
  size_t size = (size_t)st.st_size;
  // The whole text, NUL-terminated, in anonymous memory so that lines can be split in place.
  char *text = mmap(NULL, size + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (text == MAP_FAILED) kb_fail("mmap: %s", strerror(errno));
  for (size_t got = 0; got < size;) {
    ssize_t r = read(fd, text + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) kb_fail("read: %s", strerror(errno));
    if (r == 0) kb_fail("file shrank while being read");
    got += (size_t)r;
  }
  close(fd);
  if (size >= 2 && (unsigned char)text[0] == 0x1f && (unsigned char)text[1] == 0x8b)
    kb_fail("gzip-compressed; give the plain text (zcat it first)");
  unsigned long nlines = 1;
  for (size_t i = 0; i < size; i++) nlines += text[i] == '\n';
  struct kb_rec *recs = mmap(NULL, nlines * sizeof *recs, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (recs == MAP_FAILED) kb_fail("mmap: %s", strerror(errno));

  unsigned long arena = 0x8000000UL, setup = 0, n = 0;
  long timed = -1;
  char *p = text, *end = text + size;
  while (p < end) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) nl = end;
    *nl = 0;
    kb_lineno++;
    if (kb_lineno == 1 && strncmp(p, "# kbench trace v1", 17) != 0) kb_fail("not a kbench trace (expected '# kbench trace v1')");
    if (p[0] == '#') {
      unsigned long v, w;
      if (sscanf(p, "# arena: %lx bytes", &v) == 1) {
        if (v == 0 || v % PAGE || v > 0xffffffffUL) kb_fail("bad arena size");
        arena = v;
      }
      if (sscanf(p, "# setup ops (untimed): %lu; timed ops: %lu", &v, &w) == 2) {
        setup = v;
        timed = (long)w;
      }
    } else if (p[0] != 0) {
      kb_parse_line(p, &recs[n++]);
    }
    p = nl + 1;
  }
  if (kb_lineno == 0) kb_fail("empty file, not a kbench trace");
  kb_lineno = 0;
  // Every op stays inside the arena: a corrupt line must not unmap the executor itself.
  for (unsigned long i = 0; i < n; i++) {
    const struct kb_rec *r = &recs[i];
    kb_lineno = r->line;
    if ((unsigned long)r->off + r->len > arena || (r->kind == KB_MREMAP && (unsigned long)r->arg + r->len > arena))
      kb_fail("op reaches outside the 0x%lx-byte arena", arena);
  }
  kb_lineno = 0;
  if (setup > n) kb_fail("the header announces %lu setup ops but the trace has %lu ops", setup, n);
  if (timed >= 0 && (unsigned long)timed != n - setup)
    kb_fail("the header announces %ld timed ops but the trace has %lu", timed, n - setup);

  // The arena, flanked by two 1-page PROT_NONE MAP_NORESERVE guards (different flags, so
  // nothing in the arena merges with them or with anything beyond them).
  char *g = mmap(NULL, arena + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (g == MAP_FAILED) kb_fail("reserving the arena: %s", strerror(errno));
  unsigned long base = (unsigned long)g + PAGE;
  if (mmap((void *)base, arena, PROT_NONE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
    kb_fail("mapping the arena: %s", strerror(errno));

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = kb_on_fault;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, NULL) != 0 || sigaction(SIGBUS, &sa, NULL) != 0) kb_fail("sigaction failed");

  enum { KB_SHOW = 10 };
  unsigned long mism = 0, shown_i[KB_SHOW];
  long shown_got[KB_SHOW];
  for (unsigned long i = 0; i < setup; i++) {
    long got = kb_run(&recs[i], base);
    if (got != recs[i].ret && mism++ < KB_SHOW) shown_i[mism - 1] = i, shown_got[mism - 1] = got;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (unsigned long i = setup; i < n; i++) {
    long got = kb_run(&recs[i], base);
    if (__builtin_expect(got != recs[i].ret, 0) && mism++ < KB_SHOW) shown_i[mism - 1] = i, shown_got[mism - 1] = got;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

  for (unsigned long j = 0; j < mism && j < KB_SHOW; j++) {
    const struct kb_rec *r = &recs[shown_i[j]];
    fprintf(stderr, "executor --kbench: %s:%u: recorded ", file, r->line);
    kb_print_ret(stderr, r->ret);
    fputs(", got ", stderr);
    kb_print_ret(stderr, shown_got[j]);
    fputc('\n', stderr);
  }
  if (maps_out) {
    FILE *in = fopen("/proc/self/maps", "r"), *out = fopen(maps_out, "w");
    if (!in || !out) kb_fail("--maps-out: %s", strerror(errno));
    fprintf(out, "# arena_base 0x%lx  arena_len 0x%lx\n", base, arena);
    char *l = NULL;
    size_t cap = 0;
    while (getline(&l, &cap, in) != -1) {
      unsigned long s, e;
      if (sscanf(l, "%lx-%lx", &s, &e) == 2 && s >= base - PAGE && e <= base + arena + PAGE) fputs(l, out);
    }
    fclose(in);
    if (fclose(out) != 0) kb_fail("--maps-out: %s", strerror(errno));
  }
  printf("{\"ops\":%lu,\"seconds\":%.6f,\"mismatches\":%lu}\n", n - setup, seconds, mism);
  return fflush(stdout) == 0 ? 0 : 3;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "--kbench") == 0) {
    if (argc == 3) return kbench_main(argv[2], NULL);
    if (argc == 5 && strcmp(argv[3], "--maps-out") == 0) return kbench_main(argv[2], argv[4]);
    fprintf(stderr, "usage: executor --kbench FILE [--maps-out OUT]\n");
    return 2;
  }
  if (argc == 2 && strcmp(argv[1], "--child") == 0) return child_main();

  // Pin ADDR_NO_RANDOMIZE (inherited by every child) by re-executing once; the marker
  // argument prevents a loop if the kernel silently ignores the flag.
  int reexeced = argc >= 2 && strcmp(argv[1], "--norandom-reexec") == 0;
  int pers = personality(0xffffffff);
  if (pers != -1 && !(pers & ADDR_NO_RANDOMIZE)) {
    if (!reexeced && personality((unsigned long)pers | ADDR_NO_RANDOMIZE) != -1) {
      char *av[] = {argv[0], "--norandom-reexec", NULL};
      execve("/proc/self/exe", av, environ);
    }
    fprintf(stderr, "executor: warning: cannot disable address randomisation; layouts vary\n");
  }

  // No core files from children that die on purpose; an empty signal mask so that the
  // child's SIGSEGV handler is never blocked; SIGPIPE ignored so a dead reader gives EPIPE.
  struct rlimit nocore = {0, 0};
  setrlimit(RLIMIT_CORE, &nocore);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;  // no SA_RESTART: interrupt the blocking write/waitpid
  sigaction(SIGALRM, &sa, NULL);

  char *line = NULL, *name = NULL, *text = NULL;
  size_t cap = 0, tlen = 0, tcap = 0;
  long lineno = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) != -1) {
    lineno++;
    if (n > 0 && line[n - 1] == '\n') line[--n] = 0;
    if (!name) {
      if (n == 0) continue;
      if (strncmp(line, "program ", 8) != 0 && strcmp(line, "program") != 0) {
        fprintf(stderr, "executor: stdin line %ld: expected 'program NAME', got '%s'\n", lineno,
                line);
        return 2;
      }
      name = strdup(n > 8 ? line + 8 : "");
      tlen = 0;
    } else if (strcmp(line, "end") == 0) {
      run_program(name, text ? text : "", tlen);
      free(name);
      name = NULL;
    } else {
      if (tlen + (size_t)n + 1 > tcap) {
        tcap = (tlen + (size_t)n + 1) * 2;
        text = realloc(text, tcap);
        if (!text) {
          perror("executor: realloc");
          return 2;
        }
      }
      memcpy(text + tlen, line, (size_t)n);
      tlen += (size_t)n;
      text[tlen++] = '\n';
    }
  }
  if (name) {
    fprintf(stderr, "executor: stdin ended inside program '%s' (missing 'end')\n", name);
    return 2;
  }
  return 0;
}
