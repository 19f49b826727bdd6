#ifndef ISCSI_ROOTD_CLINUX_H
#define ISCSI_ROOTD_CLINUX_H

/// openat2(2) with RESOLVE_BENEATH and RESOLVE_NO_MAGICLINKS, plus RESOLVE_NO_SYMLINKS when
/// `no_symlinks` is not 0: a descriptor, or -errno (-ENOSYS on kernels before 5.6, or where a
/// seccomp filter does not know the call). Swift cannot call the variadic syscall(2) itself.
int iscsi_rootd_open_beneath(int directory_fd, const char *path, int flags, int no_symlinks);

/// O_PATH (open(2)), which Swift's Glibc module does not export (it needs _GNU_SOURCE); the same
/// value on every Linux architecture but alpha, parisc and sparc.
#define ISCSI_ROOTD_O_PATH 010000000

#endif
