#define _GNU_SOURCE
#include <errno.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "CLinux.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

int iscsi_rootd_open_beneath(int directory_fd, const char *path, int flags, int no_symlinks) {
    struct open_how how = {
        .flags = (uint64_t)(unsigned int)flags,
        .mode = 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | (no_symlinks ? RESOLVE_NO_SYMLINKS : 0),
    };
    long fd = syscall(SYS_openat2, directory_fd, path, &how, sizeof how);
    return fd < 0 ? -errno : (int)fd;
}
