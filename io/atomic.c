/* Atomic output files: write "<dir>/.<name>.tmp.<pid>.<n>", fsync, rename onto the final name,
 * fsync the directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_internal.h"

/* Directory part of path ("." if none) in a new string. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) {
        return strdup(".");
    }
    if (slash == path) {
        return strdup("/");
    }
    size_t n = (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, path, n);
        d[n] = '\0';
    }
    return d;
}

static void release(nexp_atomic_file *af)
{
    free(af->final_path);
    free(af->tmp_path);
    af->final_path = NULL;
    af->tmp_path = NULL;
    af->fp = NULL;
}

static nexp_status choose_names(nexp_atomic_file *af, const char *path, nexp_error *err)
{
    static unsigned long counter;
    af->fp = NULL;
    af->final_path = NULL;
    af->tmp_path = NULL;
    if (path == NULL || path[0] == '\0') {
        return nexp_error_set(err, NEXP_ERR_ARG, "empty output file name");
    }
    size_t len = strlen(path);
    if (path[len - 1] == '/') {
        return io_fail(err, path, NEXP_ERR_ARG, "output name is a directory");
    }
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char *dir = dir_of(path);
    af->final_path = strdup(path);
    size_t cap = len + 64;
    af->tmp_path = malloc(cap);
    if (dir == NULL || af->final_path == NULL || af->tmp_path == NULL) {
        free(dir);
        release(af);
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory");
    }
    unsigned long n = __atomic_fetch_add(&counter, 1UL, __ATOMIC_RELAXED);
    snprintf(af->tmp_path, cap, "%s/.%s.tmp.%ld.%lu", dir, base, (long)getpid(), n);
    free(dir);
    return NEXP_OK;
}

nexp_status nexp_atomic_reserve(nexp_atomic_file *af, const char *path, nexp_error *err)
{
    return choose_names(af, path, err);
}

nexp_status nexp_atomic_open(nexp_atomic_file *af, const char *path, nexp_error *err)
{
    nexp_status st = choose_names(af, path, err);
    if (st != NEXP_OK) {
        return st;
    }
    int fd = open(af->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
        int e = errno;
        char *dir = dir_of(path);
        io_fail(err, path, NEXP_ERR_IO, "cannot create a temporary file in '%s': %s", dir ? dir : ".", strerror(e));
        free(dir);
        release(af);
        return NEXP_ERR_IO;
    }
    af->fp = fdopen(fd, "wb");
    if (af->fp == NULL) {
        int e = errno;
        close(fd);
        unlink(af->tmp_path);
        release(af);
        return io_fail(err, path, NEXP_ERR_IO, "cannot open a temporary file: %s", strerror(e));
    }
    return NEXP_OK;
}

static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    int rc = fsync(fd);
    /* Some file systems cannot fsync a directory; that is not a failure of the write. */
    if (rc != 0 && (errno == EINVAL || errno == EBADF) && (flags & O_DIRECTORY)) {
        rc = 0;
    }
    close(fd);
    return rc;
}

nexp_status nexp_atomic_commit(nexp_atomic_file *af, nexp_error *err)
{
    if (af->tmp_path == NULL || af->final_path == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "atomic file is not open");
    }
    const char *what = NULL;
    int e = 0;
    if (af->fp != NULL) {
        FILE *fp = af->fp;
        af->fp = NULL;
        if (fflush(fp) != 0) {
            what = "flush";
            e = errno;
        } else if (fsync(fileno(fp)) != 0) {
            what = "fsync";
            e = errno;
        }
        if (fclose(fp) != 0 && what == NULL) {
            what = "close";
            e = errno;
        }
    } else if (fsync_path(af->tmp_path, O_RDONLY) != 0) {
        what = "fsync";
        e = errno;
    }
    if (what == NULL && rename(af->tmp_path, af->final_path) != 0) {
        what = "rename into place";
        e = errno;
    }
    if (what != NULL) {
        io_fail(err, af->final_path, NEXP_ERR_IO, "%s failed: %s", what, strerror(e));
        unlink(af->tmp_path);
        release(af);
        return NEXP_ERR_IO;
    }
    char *dir = dir_of(af->final_path);
    if (dir != NULL) {
        fsync_path(dir, O_RDONLY | O_DIRECTORY);
        free(dir);
    }
    release(af);
    return NEXP_OK;
}

void nexp_atomic_abort(nexp_atomic_file *af)
{
    if (af == NULL) {
        return;
    }
    if (af->fp != NULL) {
        fclose(af->fp);
    }
    if (af->tmp_path != NULL) {
        unlink(af->tmp_path);
    }
    release(af);
}
