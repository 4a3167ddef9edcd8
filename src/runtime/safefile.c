/* src/runtime/safefile.c — file access that user-controlled paths cannot subvert:
 * opening regular files only, without blocking on a FIFO or device; reading a file whole with a
 * size bound checked before anything is allocated; and atomic replacement through an
 * exclusively created, locked temporary in the same directory (never following a planted
 * symlink), fsync'd with its directory, plus removal of temporaries that killed writers left. */
#define _GNU_SOURCE /* O_NOFOLLOW, O_CLOEXEC, flock */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

int clnn__open_regular(const char *path, uint64_t *size) {
  /* O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    errno = S_ISDIR(st.st_mode) ? EISDIR : ENXIO; /* "not a regular file" in messages */
    return -1;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  if (size) *size = (uint64_t)st.st_size;
  return fd;
}

const char *clnn__file_error(int err) {
  return err == ENXIO ? "not a regular file (a FIFO, socket or device is refused)" : strerror(err);
}

int clnn__read_fd(int fd, void *buf, size_t n) {
  unsigned char *p = buf;
  while (n) {
    ssize_t r = read(fd, p, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) errno = EIO; /* the file shrank while being read */
      return -1;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

unsigned char *clnn__read_regular(const char *path, size_t max, size_t *size) {
  uint64_t n = 0;
  int fd = clnn__open_regular(path, &n);
  if (fd < 0) return NULL;
  if (n > max) {
    close(fd);
    errno = EFBIG;
    return NULL;
  }
  unsigned char *buf = malloc((size_t)n + 1);
  if (!buf) {
    close(fd);
    errno = ENOMEM;
    return NULL;
  }
  if (clnn__read_fd(fd, buf, (size_t)n) != 0) {
    int e = errno;
    free(buf);
    close(fd);
    errno = e;
    return NULL;
  }
  close(fd);
  buf[n] = 0;
  *size = (size_t)n;
  return buf;
}

/* ---- atomic replacement ---- */

/* Temporaries are "<path>.tmp.<pid>.<6 letters or digits>". Earlier versions left
 * "<path>.tmp.<pid>" (checkpoints) and "<path>.tmp.<pid>.<counter>" (cache entries). */
static void split_path(const char *path, char *dir, size_t dcap, const char **base) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(dir, dcap, ".");
    *base = path;
  } else if (slash == path) {
    snprintf(dir, dcap, "/");
    *base = slash + 1;
  } else {
    snprintf(dir, dcap, "%.*s", (int)(slash - path), path);
    *base = slash + 1;
  }
}

static int fsync_dir(const char *path) {
  char dir[4096];
  const char *base;
  split_path(path, dir, sizeof dir, &base);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  if (rc != 0 && (errno == EINVAL || errno == EROFS)) rc = 0; /* file systems without dir fsync */
  close(fd);
  return rc;
}

int clnn__atomic_begin(const char *path, clnn__atomic_file *af) {
  static atomic_uint counter = 0;
  static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  af->fd = -1;
  af->path = path;
  size_t cap = strlen(path) + 48;
  af->tmp = malloc(cap);
  if (!af->tmp) {
    errno = ENOMEM;
    return -1;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  for (int attempt = 0; attempt < 64; attempt++) {
    uint64_t h = clnn__fnv1a(CLNN__FNV_BASIS, &ts, sizeof ts);
    unsigned c = atomic_fetch_add(&counter, 1u);
    long pid = (long)getpid();
    h = clnn__fnv1a(h, &c, sizeof c);
    h = clnn__fnv1a(h, &pid, sizeof pid);
    h = clnn__fnv1a(h, &af, sizeof af);
    char suffix[7];
    for (int i = 0; i < 6; i++, h /= 62) suffix[i] = al[h % 62];
    suffix[6] = 0;
    snprintf(af->tmp, cap, "%s.tmp.%ld.%s", path, pid, suffix);
    /* O_EXCL|O_CREAT fails on any existing name, a symlink included; O_NOFOLLOW says so twice. */
    int fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      free(af->tmp);
      af->tmp = NULL;
      return -1;
    }
    /* The lock tells clnn__remove_stale_temps that the file is in use; a cleaner that unlinked
     * the name between open and flock leaves it with no links: start again. */
    struct stat st;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 || fstat(fd, &st) != 0 || st.st_nlink == 0) {
      close(fd);
      continue;
    }
    af->fd = fd;
    return 0;
  }
  free(af->tmp);
  af->tmp = NULL;
  errno = EEXIST;
  return -1;
}

int clnn__atomic_write(clnn__atomic_file *af, const void *data, size_t n) {
  const unsigned char *p = data;
  while (n) {
    ssize_t w = write(af->fd, p, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = EIO;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int clnn__atomic_commit(clnn__atomic_file *af) {
  int rc = fsync(af->fd);
  int e = errno;
  if (close(af->fd) != 0 && rc == 0) {
    rc = -1;
    e = errno;
  }
  af->fd = -1;
  if (rc == 0 && rename(af->tmp, af->path) != 0) {
    rc = -1;
    e = errno;
  }
  if (rc != 0) {
    unlink(af->tmp);
  } else if (fsync_dir(af->path) != 0) {
    rc = -1;
    e = errno;
  }
  free(af->tmp);
  af->tmp = NULL;
  errno = e;
  return rc;
}

void clnn__atomic_abort(clnn__atomic_file *af) {
  if (af->fd >= 0) close(af->fd);
  if (af->tmp) unlink(af->tmp);
  free(af->tmp);
  af->tmp = NULL;
  af->fd = -1;
}

/* "<digits>" then nothing, "." + digits (legacy), or "." + 6 of [A-Za-z0-9] (current). Returns
 * the pid, 0 when the name does not match; *legacy = 1 for the forms without a lock. */
static long temp_pid(const char *rest, int *legacy) {
  char *end;
  errno = 0;
  long pid = strtol(rest, &end, 10);
  if (end == rest || pid <= 0 || errno) return 0;
  if (*end == 0) {
    *legacy = 1;
    return pid;
  }
  if (*end != '.') return 0;
  const char *s = end + 1;
  size_t n = strlen(s), digits = strspn(s, "0123456789");
  if (n == 0) return 0;
  if (digits == n) {
    *legacy = 1;
    return pid;
  }
  if (n == 6 && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == 6) {
    *legacy = 0;
    return pid;
  }
  return 0;
}

int clnn__remove_stale_temps(const char *path) {
  char dir[4096];
  const char *base;
  split_path(path, dir, sizeof dir, &base);
  size_t blen = strlen(base);
  if (blen == 0) return 0;
  DIR *d = opendir(dir);
  if (!d) return 0;
  int removed = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    const char *name = de->d_name;
    if (strncmp(name, base, blen) != 0 || strncmp(name + blen, ".tmp.", 5) != 0) continue;
    int legacy = 0;
    long pid = temp_pid(name + blen + 5, &legacy);
    if (pid == 0) continue;
    /* A legacy temporary (no lock) is stale only when its writer no longer exists. */
    if (legacy && (pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)) continue;
    char full[8192];
    if ((size_t)snprintf(full, sizeof full, "%s/%s", dir, name) >= sizeof full) continue;
    int fd = open(full, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat st, lst;
    /* A regular file nobody holds locked (its writer died; a live writer holds LOCK_EX), and the
     * name still refers to it. */
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
        lstat(full, &lst) == 0 && lst.st_ino == st.st_ino && lst.st_dev == st.st_dev &&
        unlink(full) == 0) {
      removed++;
      clnn__log(CLNN_LOG_INFO, "removed stale temporary %s", full);
    }
    close(fd);
  }
  closedir(d);
  return removed;
}
