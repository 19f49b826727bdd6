#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <systemd/sd-id128.h>
#include <systemd/sd-bus.h>

// Linux interfaces the daemon's effect wrappers use that Swift's Glibc module leaves out.
#include <pthread.h>
#include <malloc.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <linux/netlink.h>

// glibc declares these only under _GNU_SOURCE, which would make this module's view of the
// system headers (fd_set, …) differ from Swift's Glibc module.
extern int pthread_setattr_default_np(const pthread_attr_t *attr);
extern int pthread_getattr_default_np(pthread_attr_t *attr);
extern int pthread_getattr_np(pthread_t thread, pthread_attr_t *attr);
extern int pthread_setname_np(pthread_t thread, const char *name);

// prctl(2) is variadic, which Swift cannot call: one fixed-argument wrapper per use.
static inline int iscsi_rootd_set_io_flusher(void) {
    return prctl(PR_SET_IO_FLUSHER, 1, 0, 0, 0);
}
