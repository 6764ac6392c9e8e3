/* LD_PRELOAD shim for fault tests: while the file named by $OUTPOST_FAULT_TRIGGER exists,
 * fsync/fdatasync/sync_file_range fail with EIO (a failing disk under RocksDB's WAL sync).
 * Everything else passes through. Test-only; never linked into Outpost itself. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int Faulting(void) {
  const char* trigger = getenv("OUTPOST_FAULT_TRIGGER");
  struct stat st;
  return trigger != NULL && stat(trigger, &st) == 0;
}

int fsync(int fd) {
  static int (*real)(int) = NULL;
  if (Faulting()) {
    errno = EIO;
    return -1;
  }
  if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int) = NULL;
  if (Faulting()) {
    errno = EIO;
    return -1;
  }
  if (real == NULL) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  return real(fd);
}
