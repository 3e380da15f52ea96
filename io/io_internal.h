/* io_internal.h — helpers shared by the io/ readers and writers (not installed).
 *
 *   if (got != want) return io_fail(err, path, NEXP_ERR_FORMAT, "truncated: expected %zu bytes, found %zu", want, got);
 *
 * Every message produced through these helpers starts with the file name, so a caller can print
 * err->msg as it is.
 */
#ifndef NEXP_IO_INTERNAL_H
#define NEXP_IO_INTERNAL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nexp_field.h"
#include "nexp_io.h"
#include "nexp_status.h"

/* Set err to code and "path: message"; returns code. */
nexp_status io_fail(nexp_error *err, const char *path, nexp_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Copy an inner error (set without a file name) into err as "path: inner message". */
nexp_status io_forward(nexp_error *err, const char *path, const nexp_error *inner);

/* Open a regular file for reading and get its size in bytes; on failure nothing stays open and
 * err names the file and the reason. */
nexp_status io_open_read(const char *path, FILE **fp, size_t *size, nexp_error *err);
/* Read exactly n bytes; a short read is reported as truncation at the given offset. */
nexp_status io_read_exact(FILE *fp, const char *path, void *buf, size_t n, size_t offset, nexp_error *err);
/* Write n bytes; on failure err names the file and the system's reason. */
nexp_status io_write_exact(FILE *fp, const char *path, const void *buf, size_t n, nexp_error *err);

/* Little-/big-endian decoding and encoding, independent of the host's byte order. */
static inline uint32_t io_get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint32_t io_get_be32(const unsigned char *p)
{
    return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

static inline void io_put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)(v >> 8 & 0xff);
    p[2] = (unsigned char)(v >> 16 & 0xff);
    p[3] = (unsigned char)(v >> 24 & 0xff);
}

static inline float io_bits_to_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t io_float_to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Round to the nearest integer and clamp to [0, maxval]; NaN becomes 0. */
static inline unsigned io_quantize(float v, unsigned maxval)
{
    if (!(v > 0.0f)) {
        return 0;
    }
    if (v >= (float)maxval) {
        return maxval;
    }
    return (unsigned)(v + 0.5f);
}

/* PNG reading shared by the PNG and KITTI readers: the image as stored (after palette and
 * low-bit-depth expansion), integer values as float, bit_depth 8 or 16, kind image. */
nexp_status io_png_read_raw(const char *path, nexp_field **out, nexp_error *err);

#endif
