// probe-remote: the live-kernel oracle for files, memfd seals, SysV shm and remote access
// (process_vm_readv/writev, process_madvise, /proc/PID/mem). Driver: src/oracle/remote-live.ts.
//
// Output, one fact per line (nothing else is printed on stdout):
//   R <case> <ret> <errno-name|0>   a syscall's result; file descriptors, shm ids and
//                                   addresses returned on success are printed as 0 so
//                                   that the line does not depend on this run
//   V <case> <value>                a byte read back (decimal) or a 0/1 fact
//   M <case> <perms> <offset> <dev> <name>   the /proc maps line of a mapping (no address,
//                                   no inode number: those change from run to run)
//   K <key>                         the SysV key (hex) this run used for its keyed segment
// Every section runs in its own child so that one failure cannot hide the others.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096UL
#include "syscall-numbers.h"
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef SHM_REMAP
#define SHM_REMAP 040000
#endif
#ifndef SHM_EXEC
#define SHM_EXEC 0100000
#endif
#define PIDFD_SELF_PROCESS (-10001)
#define PIDFD_SELF_THREAD (-10000)

static void rep(const char *name, long r) {
  if (r == -1)
    printf("R %s -1 %s\n", name, strerrorname_np(errno));
  else
    printf("R %s %ld 0\n", name, r);
  fflush(stdout);
}

/** A result whose success value changes from run to run (fd, id, address): 0 on success. */
static void repok(const char *name, long r) { rep(name, r == -1 ? -1 : 0); }

static void val(const char *name, long v) {
  printf("V %s %ld\n", name, v);
  fflush(stdout);
}

/** The maps line of the VMA containing addr in process pid (0 = self), or "M name none". */
static void maps(const char *name, pid_t pid, unsigned long addr) {
  char path[64];
  snprintf(path, sizeof path, pid ? "/proc/%d/maps" : "/proc/self/maps", pid);
  FILE *f = fopen(path, "r");
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    unsigned long s, e, off, ino;
    char perms[8], dev[16];
    int n = 0;
    if (sscanf(line, "%lx-%lx %7s %lx %15s %lu %n", &s, &e, perms, &off, dev, &ino, &n) < 6) continue;
    if (addr < s || addr >= e) continue;
    char *nm = line + n;
    nm[strcspn(nm, "\n")] = 0;
    printf("M %s %s %08lx %s %s\n", name, perms, off, dev, nm);
    fclose(f);
    fflush(stdout);
    return;
  }
  if (f) fclose(f);
  printf("M %s none\n", name);
  fflush(stdout);
}

static int mapped(unsigned long addr) {
  unsigned char v;
  return mincore((void *)(addr & ~(PAGE - 1)), PAGE, &v) == 0;
}

static void *map(size_t len, int prot, int flags, int fd) {
  return mmap(NULL, len, prot, flags, fd, 0);
}

// ---------------------------------------------------------------------------------------------
static void section_memfd(void) {
  char longname[300];
  memset(longname, 'n', sizeof longname);
  longname[249] = 0;
  repok("memfd.create.name249", syscall(SYS_memfd_create, longname, 0));
  longname[249] = 'n';
  longname[250] = 0;
  rep("memfd.create.name250", syscall(SYS_memfd_create, longname, 0));
  rep("memfd.create.badflags", syscall(SYS_memfd_create, "x", 0x100));
  repok("memfd.create.hugetlb", syscall(SYS_memfd_create, "h", MFD_HUGETLB));
  rep("memfd.create.hugetlb_badsize", syscall(SYS_memfd_create, "h", MFD_HUGETLB | (13 << 26)));
  rep("memfd.create.sizebits_nohuge", syscall(SYS_memfd_create, "h", 21 << 26));
  rep("memfd.create.noexec_and_exec", syscall(SYS_memfd_create, "x", MFD_NOEXEC_SEAL | MFD_EXEC));

  int plain = syscall(SYS_memfd_create, "plain", 0);
  rep("memfd.getseals.plain", fcntl(plain, F_GET_SEALS));
  rep("memfd.addseals.plain", fcntl(plain, F_ADD_SEALS, F_SEAL_WRITE));
  int nx = syscall(SYS_memfd_create, "nx", MFD_NOEXEC_SEAL);
  rep("memfd.getseals.noexec_seal", fcntl(nx, F_GET_SEALS));
  int ex = syscall(SYS_memfd_create, "ex", MFD_EXEC | MFD_ALLOW_SEALING);
  rep("memfd.getseals.exec", fcntl(ex, F_GET_SEALS));

  int a = syscall(SYS_memfd_create, "probe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  rep("memfd.getseals.allow", fcntl(a, F_GET_SEALS));
  rep("memfd.addseals.badbits", fcntl(a, F_ADD_SEALS, 0x1000));
  rep("memfd.cloexec", fcntl(a, F_GETFD));
  rep("memfd.ftruncate", ftruncate(a, 2 * PAGE));
  char *ma = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, a);
  repok("memfd.mmap.shared_rw", ma == MAP_FAILED ? -1 : 0);
  maps("memfd.maps.shared_rw", 0, (unsigned long)ma);
  char *mp = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, a);
  maps("memfd.maps.private_rw", 0, (unsigned long)mp);
  ma[0] = 0x5a;
  char *mb = map(2 * PAGE, PROT_READ, MAP_SHARED, a);
  repok("memfd.mmap.shared_ro", mb == MAP_FAILED ? -1 : 0);
  val("memfd.read_through_second", mb[0]);
  val("memfd.read_through_private", mp[0]);
  rep("memfd.seal_write.busy", fcntl(a, F_ADD_SEALS, F_SEAL_WRITE));
  rep("memfd.seal_future_write.mapped", fcntl(a, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
  rep("memfd.getseals.future", fcntl(a, F_GET_SEALS));
  ma[1] = 0x5b;
  val("memfd.old_mapping_still_writes", mb[1]);
  char *mc = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, a);
  rep("memfd.future.mmap_shared_rw", mc == MAP_FAILED ? -1 : 0);
  mc = map(2 * PAGE, PROT_READ, MAP_SHARED, a);
  repok("memfd.future.mmap_shared_ro", mc == MAP_FAILED ? -1 : 0);
  rep("memfd.future.mprotect_shared_rw", mprotect(mc, 2 * PAGE, PROT_READ | PROT_WRITE));
  // A shared read-only mapping made before the seal keeps VM_MAYWRITE: mprotect may still make it writable.
  rep("memfd.future.mprotect_older_shared_ro_rw", mprotect(mb, 2 * PAGE, PROT_READ | PROT_WRITE));
  char *md = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, a);
  repok("memfd.future.mmap_private_rw", md == MAP_FAILED ? -1 : 0);
  char *me = map(2 * PAGE, PROT_READ, MAP_PRIVATE, a);
  rep("memfd.future.mprotect_private_rw", mprotect(me, 2 * PAGE, PROT_READ | PROT_WRITE));
  rep("memfd.future.write", write(a, "x", 1));
  rep("memfd.future.ftruncate_grow", ftruncate(a, 3 * PAGE));
  munmap(ma, 2 * PAGE);
  rep("memfd.seal_write.ro_shared_left", fcntl(a, F_ADD_SEALS, F_SEAL_WRITE));
  munmap(mb, 2 * PAGE);
  rep("memfd.seal_write.only_sealed_maps_left", fcntl(a, F_ADD_SEALS, F_SEAL_WRITE));
  rep("memfd.getseals.write", fcntl(a, F_GET_SEALS));
  char *mf = map(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, a);
  rep("memfd.write.mmap_shared_rw", mf == MAP_FAILED ? -1 : 0);
  mf = map(PAGE, PROT_READ, MAP_SHARED, a);
  rep("memfd.write.mprotect_shared_rw", mprotect(mf, PAGE, PROT_READ | PROT_WRITE));
  maps("memfd.maps.sealed_shared_ro", 0, (unsigned long)mf);

  int b = syscall(SYS_memfd_create, "sz", MFD_ALLOW_SEALING);
  ftruncate(b, 2 * PAGE);
  rep("memfd.seal_shrink", fcntl(b, F_ADD_SEALS, F_SEAL_SHRINK));
  rep("memfd.shrink.ftruncate_down", ftruncate(b, PAGE));
  rep("memfd.shrink.ftruncate_up", ftruncate(b, 4 * PAGE));
  rep("memfd.seal_grow", fcntl(b, F_ADD_SEALS, F_SEAL_GROW));
  rep("memfd.grow.ftruncate_up", ftruncate(b, 8 * PAGE));
  rep("memfd.grow.ftruncate_same", ftruncate(b, 4 * PAGE));
  rep("memfd.seal_seal", fcntl(b, F_ADD_SEALS, F_SEAL_SEAL));
  rep("memfd.sealed.add", fcntl(b, F_ADD_SEALS, F_SEAL_WRITE));
  rep("memfd.sealed.add_nothing", fcntl(b, F_ADD_SEALS, 0));
  rep("memfd.getseals.sss", fcntl(b, F_GET_SEALS));

  char path[64];
  int c = syscall(SYS_memfd_create, "ro", MFD_ALLOW_SEALING);
  snprintf(path, sizeof path, "/proc/self/fd/%d", c);
  int cro = open(path, O_RDONLY);
  rep("memfd.addseals.rdonly_fd", fcntl(cro, F_ADD_SEALS, F_SEAL_SHRINK));
  rep("memfd.getseals.rdonly_fd", fcntl(cro, F_GET_SEALS));

  // F_SEAL_EXEC on an executable memfd implies the write seals: checked like asked ones?
  int w = syscall(SYS_memfd_create, "w", MFD_EXEC | MFD_ALLOW_SEALING);
  ftruncate(w, PAGE);
  char *wm = map(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, w);
  rep("memfd.seal_exec.shared_rw_mapped", fcntl(w, F_ADD_SEALS, F_SEAL_EXEC));
  rep("memfd.seal_exec.shared_rw_mapped.seals", fcntl(w, F_GET_SEALS));
  munmap(wm, PAGE);
  rep("memfd.seal_exec.unmapped", fcntl(w, F_ADD_SEALS, F_SEAL_EXEC));
  rep("memfd.seal_exec.unmapped.seals", fcntl(w, F_GET_SEALS));
  // An exec-sealed (MFD_NOEXEC_SEAL) memfd mapped shared and executable.
  ftruncate(nx, PAGE);
  char *xm = map(PAGE, PROT_READ | PROT_EXEC, MAP_SHARED, nx);
  rep("memfd.exec_sealed.mmap_shared_rx", xm == MAP_FAILED ? -1 : 0);

  // A shared writable mapping in another process (a forked child) blocks F_SEAL_WRITE too.
  int fm = syscall(SYS_memfd_create, "fork", MFD_ALLOW_SEALING);
  ftruncate(fm, PAGE);
  char *fmm = map(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fm);
  int hold[2];
  if (pipe(hold) == 0) {
    pid_t kid = fork();
    if (kid == 0) {
      char ch;
      close(hold[1]);
      while (read(hold[0], &ch, 1) > 0) {
      }
      _exit(0);
    }
    close(hold[0]);
    munmap(fmm, PAGE);
    rep("memfd.seal_write.child_maps_it", fcntl(fm, F_ADD_SEALS, F_SEAL_WRITE));
    close(hold[1]);
    waitpid(kid, NULL, 0);
    rep("memfd.seal_write.child_exited", fcntl(fm, F_ADD_SEALS, F_SEAL_WRITE));
  }

  int reg = open("/tmp", O_TMPFILE | O_RDWR, 0600);
  rep("file.addseals.regular", fcntl(reg, F_ADD_SEALS, F_SEAL_WRITE));
  rep("file.getseals.regular", fcntl(reg, F_GET_SEALS));
}

// ---------------------------------------------------------------------------------------------
static void section_files(void) {
  char tmpl[] = "/tmp/probe-remote-XXXXXX";
  int fd = mkstemp(tmpl);
  ftruncate(fd, 2 * PAGE);
  close(fd);
  int ro = open(tmpl, O_RDONLY);
  int wo = open(tmpl, O_WRONLY);
  int ap = open(tmpl, O_RDWR | O_APPEND);
  void *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
  rep("file.rdonly.shared_rw", m == MAP_FAILED ? -1 : 0);
  m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
  repok("file.rdonly.private_rw", m == MAP_FAILED ? -1 : 0);
  m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0);
  maps("file.rdonly.shared_ro.maps", 0, (unsigned long)m);
  rep("file.rdonly.shared_ro.mprotect_rw", mprotect(m, PAGE, PROT_READ | PROT_WRITE));
  m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, wo, 0);
  rep("file.wronly.shared_r", m == MAP_FAILED ? -1 : 0);
  m = mmap(NULL, PAGE, PROT_WRITE, MAP_SHARED, wo, 0);
  rep("file.wronly.shared_w", m == MAP_FAILED ? -1 : 0);
  m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ap, 0);
  repok("file.o_append.shared_rw", m == MAP_FAILED ? -1 : 0);
  unlink(tmpl);

  // Append-only inode and noexec mount: in a private tmpfs of a private mount namespace.
  if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
    printf("V file.mountns_unavailable 1\n");
    return;
  }
  char dir[] = "/tmp/probe-remote-nx-XXXXXX";
  if (!mkdtemp(dir) || mount("none", dir, "tmpfs", MS_NOEXEC, NULL) != 0) {
    printf("V file.mountns_unavailable 1\n");
    return;
  }
  char f1[128];
  snprintf(f1, sizeof f1, "%s/f", dir);
  fd = open(f1, O_RDWR | O_CREAT, 0755);
  ftruncate(fd, PAGE);
  m = mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
  rep("file.noexec.private_rx", m == MAP_FAILED ? -1 : 0);
  m = mmap(NULL, PAGE, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
  rep("file.noexec.shared_rx", m == MAP_FAILED ? -1 : 0);
  m = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
  repok("file.noexec.private_r", m == MAP_FAILED ? -1 : 0);
  rep("file.noexec.mprotect_rx", mprotect(m, PAGE, PROT_READ | PROT_EXEC));
  int attr = FS_APPEND_FL;
  rep("file.append_only.setflags", ioctl(fd, FS_IOC_SETFLAGS, &attr));
  close(fd);
  int aro = open(f1, O_RDONLY);
  int arw = open(f1, O_RDWR | O_APPEND);
  rep("file.append_only.open_rdwr_noappend", open(f1, O_RDWR));
  m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, arw, 0);
  rep("file.append_only.shared_r_rwfd", m == MAP_FAILED ? -1 : 0);
  m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, arw, 0);
  repok("file.append_only.private_rw_rwfd", m == MAP_FAILED ? -1 : 0);
  m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, aro, 0);
  repok("file.append_only.shared_r_rofd", m == MAP_FAILED ? -1 : 0);
  attr = 0;
  ioctl(arw, FS_IOC_SETFLAGS, &attr);
  umount2(dir, MNT_DETACH);
  rmdir(dir);
}

// ---------------------------------------------------------------------------------------------
static void section_shm(void) {
  rep("shm.get.size0", shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600));
  rep("shm.get.hugetlb", shmget(IPC_PRIVATE, 2UL << 20, IPC_CREAT | SHM_HUGETLB | 0600));
  rep("shm.get.huge_size", shmget(IPC_PRIVATE, 1UL << 62, IPC_CREAT | 0600));
  int id = shmget(IPC_PRIVATE, 2 * PAGE, IPC_CREAT | 0600);
  repok("shm.get.private", id);
  char *a = shmat(id, NULL, 0);
  repok("shm.at.null", a == (void *)-1 ? -1 : 0);
  maps("shm.at.null.maps", 0, (unsigned long)a);
  a[0] = 7;
  char *r = shmat(id, NULL, SHM_RDONLY);
  maps("shm.at.rdonly.maps", 0, (unsigned long)r);
  val("shm.at.rdonly.reads_shared", r[0]);
  rep("shm.at.rdonly.mprotect_rw", mprotect(r, PAGE, PROT_READ | PROT_WRITE));
  char *x = shmat(id, NULL, SHM_EXEC);
  maps("shm.at.exec.maps", 0, (unsigned long)x);
  // An address: a free 4-page hole (mapped and unmapped to find one).
  char *hole = mmap(NULL, 4 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(hole, 4 * PAGE);
  char *u = shmat(id, hole + 100, 0);
  rep("shm.at.unaligned", u == (void *)-1 ? -1 : 0);
  u = shmat(id, hole + 100, SHM_RND);
  rep("shm.at.rnd.offset", u == (void *)-1 ? -1 : (long)(u - hole));
  shmdt(u);
  mmap(hole, 4 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  u = shmat(id, hole, 0);
  rep("shm.at.overlap", u == (void *)-1 ? -1 : 0);
  u = shmat(id, hole, SHM_REMAP);
  rep("shm.at.overlap.remap", u == (void *)-1 ? -1 : (long)(u - hole));
  maps("shm.at.overlap.remap.maps", 0, (unsigned long)hole);
  maps("shm.at.overlap.remap.rest", 0, (unsigned long)hole + 2 * PAGE);
  u = shmat(id, NULL, SHM_REMAP);
  rep("shm.at.remap_null", u == (void *)-1 ? -1 : 0);
  u = shmat(-1, NULL, 0);
  rep("shm.at.badid", u == (void *)-1 ? -1 : 0);
  u = shmat(id, NULL, 0x1000000);
  repok("shm.at.unknown_flag", u == (void *)-1 ? -1 : 0);
  rep("shm.dt.not_attached", shmdt(hole + 2 * PAGE));
  rep("shm.dt.unaligned", shmdt(a + 1));
  rep("shm.dt.unmapped", shmdt((void *)0x10000));
  rep("shm.dt.ok", shmdt(x));
  val("shm.dt.ok.still_mapped", mapped((unsigned long)x));
  // shmdt over a sealed attach: the munmap fails inside, shmdt says 0, the mapping stays.
  char *s = shmat(id, NULL, 0);
  rep("shm.dt.sealed.mseal", syscall(SYS_mseal, s, 2 * PAGE, 0));
  rep("shm.dt.sealed", shmdt(s));
  val("shm.dt.sealed.still_mapped", mapped((unsigned long)s));
  // A split attach: shmdt finds every piece of the segment's file from the address on.
  int id3 = shmget(IPC_PRIVATE, 3 * PAGE, IPC_CREAT | 0600);
  char *t = shmat(id3, NULL, 0);
  munmap(t + PAGE, PAGE);
  rep("shm.dt.split", shmdt(t));
  val("shm.dt.split.tail_mapped", mapped((unsigned long)t + 2 * PAGE));
  char *t2 = shmat(id3, NULL, 0);
  munmap(t2, PAGE);
  rep("shm.dt.split.head_gone", shmdt(t2 + PAGE));
  val("shm.dt.split.head_gone.tail_mapped", mapped((unsigned long)t2 + 2 * PAGE));
  // Unaligned size: the mapping covers whole pages.
  int id5 = shmget(IPC_PRIVATE, 5000, IPC_CREAT | 0600);
  char *f = shmat(id5, NULL, 0);
  val("shm.size5000.second_page_mapped", mapped((unsigned long)f + PAGE));
  val("shm.size5000.third_page_mapped", mapped((unsigned long)f + 2 * PAGE));
  // IPC_RMID while attached: the segment lives on, the name stays.
  rep("shm.ctl.rmid", shmctl(id, IPC_RMID, NULL));
  maps("shm.ctl.rmid.maps", 0, (unsigned long)a);
  u = shmat(id, NULL, 0);
  repok("shm.at.after_rmid", u == (void *)-1 ? -1 : 0);
  rep("shm.ctl.rmid_twice", shmctl(id, IPC_RMID, NULL));
  // Keys.
  key_t key = 0x5a000000 | (getpid() & 0xffffff);
  printf("K %08x\n", (unsigned)key);
  int kid = shmget(key, PAGE, IPC_CREAT | IPC_EXCL | 0600);
  repok("shm.get.key", kid);
  char *k = shmat(kid, NULL, 0);
  maps("shm.at.key.maps", 0, (unsigned long)k);
  rep("shm.get.key.excl", shmget(key, PAGE, IPC_CREAT | IPC_EXCL | 0600));
  rep("shm.get.key.bigger", shmget(key, 2 * PAGE, 0600));
  repok("shm.get.key.smaller", shmget(key, 100, 0600));
  rep("shm.get.key.absent", shmget(key ^ 0x00800000, PAGE, 0600));
  shmctl(kid, IPC_RMID, NULL);
  maps("shm.at.key.rmid.maps", 0, (unsigned long)k);
  shmctl(id3, IPC_RMID, NULL);
  shmctl(id5, IPC_RMID, NULL);
  // A removed segment lives while a forked child still has it attached.
  int idf = shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0600);
  char *pa = shmat(idf, NULL, 0);
  int hold2[2];
  if (pipe(hold2) != 0) return;
  pid_t holder = fork();
  if (holder == 0) {
    char ch;
    close(hold2[1]);
    while (read(hold2[0], &ch, 1) > 0) {
    }
    _exit(0);
  }
  close(hold2[0]);
  rep("shm.fork.rmid", shmctl(idf, IPC_RMID, NULL));
  rep("shm.fork.parent_dt", shmdt(pa));
  u = shmat(idf, NULL, 0);
  repok("shm.fork.at_child_holds", u == (void *)-1 ? -1 : 0);
  rep("shm.fork.parent_dt_again", shmdt(u));
  close(hold2[1]);
  waitpid(holder, NULL, 0);
  u = shmat(idf, NULL, 0);
  rep("shm.fork.at_after_child_exit", u == (void *)-1 ? -1 : 0);
}

// ---------------------------------------------------------------------------------------------
// Remote access: a forked child holds the target layout (the same addresses as the parent's).
struct target {
  char *r;  // 3 pages: RW (0x11), RW (0x22), PROT_NONE
  char *ro; // 1 page read-only (0x33)
  char *s;  // 1 page read-only and sealed (0x44)
  char *u;  // 3 pages with the middle one unmapped (0x55, -, 0x66)
  char *sh; // 1 page shared read-only memfd mapping
};

static struct target setup_target(void) {
  struct target t;
  t.r = map(3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  memset(t.r, 0x11, PAGE);
  memset(t.r + PAGE, 0x22, PAGE);
  mprotect(t.r + 2 * PAGE, PAGE, PROT_NONE);
  t.ro = map(PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  memset(t.ro, 0x33, PAGE);
  mprotect(t.ro, PAGE, PROT_READ);
  t.s = map(PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  memset(t.s, 0x44, PAGE);
  mprotect(t.s, PAGE, PROT_READ);
  syscall(SYS_mseal, t.s, PAGE, 0);
  int fd = syscall(SYS_memfd_create, "sh", 0);
  ftruncate(fd, PAGE);
  t.sh = map(PAGE, PROT_READ, MAP_SHARED, fd);
  // Last, so that no later mapping lands in its hole.
  t.u = map(3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  memset(t.u, 0x55, PAGE);
  memset(t.u + 2 * PAGE, 0x66, PAGE);
  munmap(t.u + PAGE, PAGE);
  return t;
}

static long vmr(pid_t pid, void *lb, size_t ll, void *rb, size_t rl) {
  struct iovec l = {lb, ll}, r = {rb, rl};
  return syscall(SYS_process_vm_readv, pid, &l, 1, &r, 1, 0);
}
static long vmw(pid_t pid, void *lb, size_t ll, void *rb, size_t rl) {
  struct iovec l = {lb, ll}, r = {rb, rl};
  return syscall(SYS_process_vm_writev, pid, &l, 1, &r, 1, 0);
}

static void section_remote(void) {
  struct target t = setup_target();
  unsigned long vdso = 0;
  FILE *mf = fopen("/proc/self/maps", "r");
  char line[512];
  while (mf && fgets(line, sizeof line, mf))
    if (strstr(line, "[vdso]")) vdso = strtoul(line, NULL, 16);
  if (mf) fclose(mf);
  int go[2];
  if (pipe(go) != 0) return;
  pid_t child = fork();
  if (child == 0) {
    char c;
    close(go[1]);
    while (read(go[0], &c, 1) > 0) {
    }
    _exit(0);
  }
  close(go[0]);
  static char buf[4 * PAGE];
  char *unm = map(PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  munmap(unm, PAGE);

  // process_vm_readv / process_vm_writev
  rep("pvm.read.prot_none_tail", vmr(child, buf, 3 * PAGE, t.r + 100, 3 * PAGE));
  val("pvm.read.value", buf[PAGE - 100]);
  buf[0] = 0x77;
  rep("pvm.write.straddle", vmw(child, buf, 10, t.r + 2 * PAGE - 5, 10));
  rep("pvm.write.rw", vmw(child, buf, 1, t.r, 1));
  buf[0] = 0;
  vmr(child, buf, 1, t.r, 1);
  val("pvm.write.rw.readback", buf[0]);
  val("pvm.write.rw.parent_unchanged", t.r[0]);
  {
    struct iovec l = {buf, 3 * PAGE};
    struct iovec r[3] = {{t.u, PAGE}, {t.u + PAGE, PAGE}, {t.u + 2 * PAGE, PAGE}};
    rep("pvm.read.iov_hole", syscall(SYS_process_vm_readv, child, &l, 1, r, 3, 0));
  }
  {
    struct iovec l[2] = {{buf, 4}, {unm, 4}};
    struct iovec r = {t.r, 8};
    rep("pvm.read.local_fault_after_4", syscall(SYS_process_vm_readv, child, l, 2, &r, 1, 0));
  }
  rep("pvm.read.local_fault", vmr(child, unm, 8, t.r, 8));
  rep("pvm.read.ro", vmr(child, buf, 8, t.ro, 8));
  rep("pvm.write.ro", vmw(child, buf, 8, t.ro, 8));
  rep("pvm.write.sealed_ro", vmw(child, buf, 8, t.s, 8));
  rep("pvm.write.shared_ro", vmw(child, buf, 8, t.sh, 8));
  rep("pvm.read.prot_none", vmr(child, buf, 8, t.r + 2 * PAGE, 8));
  rep("pvm.read.unmapped", vmr(child, buf, 8, t.u + PAGE, 8));
  rep("pvm.read.vsyscall", vmr(child, buf, 8, (void *)0xffffffffff600000UL, 8));
  rep("pvm.write.vdso", vmw(child, buf, 8, (void *)vdso, 8));
  {
    struct iovec l = {buf, 8}, r = {t.r, 8};
    rep("pvm.flags", syscall(SYS_process_vm_readv, child, &l, 1, &r, 1, 1));
    static struct iovec many[1025];
    for (int i = 0; i < 1025; i++) many[i] = (struct iovec){buf, 1};
    rep("pvm.liovcnt_1025", syscall(SYS_process_vm_readv, child, many, 1025, &r, 1, 0));
    rep("pvm.riovcnt_1025", syscall(SYS_process_vm_readv, child, &l, 1, many, 1025, 0));
    rep("pvm.liovcnt_1024", syscall(SYS_process_vm_readv, child, many, 1024, &r, 1, 0));
    struct iovec z = {buf, 0};
    rep("pvm.local_zero.badpid", syscall(SYS_process_vm_readv, 999999, &z, 1, &r, 1, 0));
    rep("pvm.badpid", syscall(SYS_process_vm_readv, 999999, &l, 1, &r, 1, 0));
    struct iovec rz = {t.r, 0};
    rep("pvm.remote_zero", syscall(SYS_process_vm_readv, child, &l, 1, &rz, 1, 0));
    struct iovec rn = {t.r, (size_t)-1};
    rep("pvm.remote_neglen", syscall(SYS_process_vm_readv, child, &l, 1, &rn, 1, 0));
    rep("pvm.local_array_fault", syscall(SYS_process_vm_readv, child, unm, 1, &r, 1, 0));
    rep("pvm.remote_array_fault", syscall(SYS_process_vm_readv, child, &l, 1, unm, 1, 0));
  }
  // An unprivileged process may not read a root process's memory: EPERM.
  pid_t np = fork();
  if (np == 0) {
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(1);
    rep("pvm.unprivileged", vmr(child, buf, 8, t.r, 8));
    int pfd = syscall(SYS_pidfd_open, child, 0);
    repok("pidfd_open.unprivileged", pfd);
    struct iovec v = {t.r, PAGE};
    rep("pmadv.unprivileged", syscall(SYS_process_madvise, pfd, &v, 1, MADV_COLD, 0));
    char mp[64];
    snprintf(mp, sizeof mp, "/proc/%d/mem", child);
    repok("procmem.open.unprivileged", open(mp, O_RDONLY));
    _exit(0);
  }
  waitpid(np, NULL, 0);

  // process_madvise through a pidfd.
  int pidfd = syscall(SYS_pidfd_open, child, 0);
  repok("pidfd_open", pidfd);
  rep("pidfd_open.badpid", syscall(SYS_pidfd_open, 999999, 0));
  rep("pidfd_open.flags", syscall(SYS_pidfd_open, child, 1));
  {
    struct iovec v = {t.r, 2 * PAGE};
    rep("pmadv.cold", syscall(SYS_process_madvise, pidfd, &v, 1, MADV_COLD, 0));
    rep("pmadv.pageout", syscall(SYS_process_madvise, pidfd, &v, 1, MADV_PAGEOUT, 0));
    rep("pmadv.willneed", syscall(SYS_process_madvise, pidfd, &v, 1, MADV_WILLNEED, 0));
    rep("pmadv.dontneed", syscall(SYS_process_madvise, pidfd, &v, 1, MADV_DONTNEED, 0));
    rep("pmadv.collapse", syscall(SYS_process_madvise, pidfd, &v, 1, MADV_COLLAPSE, 0));
    rep("pmadv.flags", syscall(SYS_process_madvise, pidfd, &v, 1, MADV_COLD, 1));
    rep("pmadv.vlen0", syscall(SYS_process_madvise, pidfd, &v, 0, MADV_COLD, 0));
    static struct iovec many[1025];
    for (int i = 0; i < 1025; i++) many[i] = v;
    rep("pmadv.vlen1025", syscall(SYS_process_madvise, pidfd, many, 1025, MADV_COLD, 0));
    rep("pmadv.badfd", syscall(SYS_process_madvise, 9999, &v, 1, MADV_COLD, 0));
    int reg = open("/proc/self/maps", O_RDONLY);
    rep("pmadv.not_pidfd", syscall(SYS_process_madvise, reg, &v, 1, MADV_COLD, 0));
    close(reg);
    struct iovec h[2] = {{t.u, PAGE}, {t.u + PAGE, PAGE}};
    rep("pmadv.iov_hole", syscall(SYS_process_madvise, pidfd, h, 2, MADV_COLD, 0));
    struct iovec un = {t.u + PAGE, PAGE};
    rep("pmadv.unmapped_first", syscall(SYS_process_madvise, pidfd, &un, 1, MADV_COLD, 0));
    struct iovec ua = {t.r + 1, PAGE};
    rep("pmadv.unaligned_first", syscall(SYS_process_madvise, pidfd, &ua, 1, MADV_COLD, 0));
    struct iovec se = {t.s, PAGE};
    rep("pmadv.sealed_pageout", syscall(SYS_process_madvise, pidfd, &se, 1, MADV_PAGEOUT, 0));
    char *own = map(PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    own[0] = 9;
    struct iovec ov = {own, PAGE};
    rep("pmadv.self_dontneed", syscall(SYS_process_madvise, PIDFD_SELF_PROCESS, &ov, 1, MADV_DONTNEED, 0));
    val("pmadv.self_dontneed.zeroed", own[0]);
    struct iovec sov = {t.s, PAGE};
    rep("pmadv.self_sealed_dontneed", syscall(SYS_process_madvise, PIDFD_SELF_PROCESS, &sov, 1, MADV_DONTNEED, 0));
  }

  // /proc/PID/mem: FOLL_FORCE.
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", child);
  int mem = open(path, O_RDWR);
  repok("procmem.open", mem);
  char c = 'X';
  rep("procmem.write.ro", pwrite(mem, &c, 1, (off_t)(unsigned long)t.ro));
  c = 0;
  pread(mem, &c, 1, (off_t)(unsigned long)t.ro);
  val("procmem.write.ro.readback", c);
  val("procmem.write.ro.parent_unchanged", t.ro[0]);
  maps("procmem.write.ro.maps", child, (unsigned long)t.ro);
  c = 'S';
  rep("procmem.write.sealed", pwrite(mem, &c, 1, (off_t)(unsigned long)t.s));
  c = 0;
  pread(mem, &c, 1, (off_t)(unsigned long)t.s);
  val("procmem.write.sealed.readback", c);
  c = 'N';
  rep("procmem.write.prot_none", pwrite(mem, &c, 1, (off_t)(unsigned long)(t.r + 2 * PAGE)));
  rep("procmem.read.prot_none", pread(mem, &c, 1, (off_t)(unsigned long)(t.r + 2 * PAGE)));
  val("procmem.read.prot_none.value", c);
  rep("procmem.write.shared_ro", pwrite(mem, &c, 1, (off_t)(unsigned long)t.sh));
  rep("procmem.read.shared_ro", pread(mem, &c, 1, (off_t)(unsigned long)t.sh));
  rep("procmem.write.unmapped", pwrite(mem, &c, 1, (off_t)(unsigned long)(t.u + PAGE)));
  rep("procmem.read.unmapped", pread(mem, &c, 1, (off_t)(unsigned long)(t.u + PAGE)));
  rep("procmem.write.straddle_hole", pwrite(mem, buf, 10, (off_t)(unsigned long)(t.u + PAGE - 5)));
  rep("procmem.read.straddle_hole", pread(mem, buf, 10, (off_t)(unsigned long)(t.u + PAGE - 5)));
  rep("procmem.read.vsyscall", pread(mem, buf, 8, (off_t)0xffffffffff600000UL));
  rep("procmem.write.vdso", pwrite(mem, buf, 1, (off_t)vdso));
  maps("procmem.write.vdso.maps", child, vdso);
  int memro = open(path, O_RDONLY);
  rep("procmem.write.rdonly_fd", pwrite(memro, &c, 1, (off_t)(unsigned long)t.r));

  close(go[1]);
  waitpid(child, NULL, 0);
}

int main(int argc, char **argv) {
  const char *only = argc > 1 ? argv[1] : NULL;
  struct {
    const char *name;
    void (*fn)(void);
  } sections[] = {{"memfd", section_memfd}, {"files", section_files}, {"shm", section_shm}, {"remote", section_remote}};
  for (unsigned i = 0; i < sizeof sections / sizeof sections[0]; i++) {
    if (only && strcmp(only, sections[i].name) != 0) continue;
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
      alarm(10);
      sections[i].fn();
      fflush(stdout);
      _exit(0);
    }
    int st = 0;
    waitpid(p, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) printf("E %s status %d\n", sections[i].name, st);
  }
  return 0;
}
