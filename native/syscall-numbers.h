// x86_64 syscall numbers that older C libraries' <sys/syscall.h> lacks, shared by the native
// oracle programs (the executor and the probes).
#ifndef ASPACE_SYSCALL_NUMBERS_H
#define ASPACE_SYSCALL_NUMBERS_H
#include <sys/syscall.h>
#ifndef SYS_mseal
#define SYS_mseal 462
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
#endif
