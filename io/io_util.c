#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "io_internal.h"

nexp_status io_fail(nexp_error *err, const char *path, nexp_status code, const char *fmt, ...)
{
    char msg[NEXP_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nexp_error_set(err, code, "%s: %s", path, msg);
}

nexp_status io_forward(nexp_error *err, const char *path, const nexp_error *inner)
{
    return nexp_error_set(err, inner->code, "%s: %s", path, inner->msg[0] ? inner->msg : nexp_strerror(inner->code));
}

nexp_status io_open_read(const char *path, FILE **fp, size_t *size, nexp_error *err)
{
    *fp = fopen(path, "rb");
    if (*fp == NULL) {
        return io_fail(err, path, NEXP_ERR_IO, "cannot open: %s", strerror(errno));
    }
    struct stat st;
    nexp_status status = NEXP_OK;
    if (fstat(fileno(*fp), &st) != 0) {
        status = io_fail(err, path, NEXP_ERR_IO, "cannot stat: %s", strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        status = io_fail(err, path, NEXP_ERR_IO, "is a directory");
    } else if (!S_ISREG(st.st_mode)) {
        status = io_fail(err, path, NEXP_ERR_IO, "not a regular file");
    }
    if (status != NEXP_OK) {
        fclose(*fp);
        *fp = NULL;
        return status;
    }
    *size = (size_t)st.st_size;
    return NEXP_OK;
}

nexp_status io_read_exact(FILE *fp, const char *path, void *buf, size_t n, size_t offset, nexp_error *err)
{
    size_t got = fread(buf, 1, n, fp);
    if (got != n) {
        if (ferror(fp)) {
            return io_fail(err, path, NEXP_ERR_IO, "read error at byte %zu: %s", offset + got, strerror(errno));
        }
        return io_fail(err, path, NEXP_ERR_FORMAT, "truncated at byte %zu: expected %zu more bytes", offset + got,
                       n - got);
    }
    return NEXP_OK;
}

nexp_status io_write_exact(FILE *fp, const char *path, const void *buf, size_t n, nexp_error *err)
{
    if (fwrite(buf, 1, n, fp) != n) {
        return io_fail(err, path, NEXP_ERR_IO, "write failed: %s", strerror(errno));
    }
    return NEXP_OK;
}
