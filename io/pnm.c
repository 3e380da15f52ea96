/* Binary PGM/PPM (P5/P6, maxval 1..65535, 16-bit samples big-endian) and PFM (Pf grey / PF RGB,
 * float32 rows bottom to top, scale < 0: little-endian, > 0: big-endian). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "io_internal.h"

typedef struct header_reader {
    FILE *fp;
    const char *path;
    size_t off; /* bytes consumed so far */
} header_reader;

static int hr_getc(header_reader *r)
{
    int c = getc(r->fp);
    if (c != EOF) {
        r->off++;
    }
    return c;
}

/* Skip whitespace and (if allowed) '#' comments up to the end of the line; returns the first
 * other character (consumed) or EOF. */
static int hr_skip(header_reader *r, int comments)
{
    for (;;) {
        int c = hr_getc(r);
        if (c == '#' && comments) {
            do {
                c = hr_getc(r);
            } while (c != EOF && c != '\n' && c != '\r');
            continue;
        }
        if (c == EOF || !isspace(c)) {
            return c;
        }
    }
}

/* A decimal header field that must end in one whitespace character (consumed). */
static nexp_status hr_number(header_reader *r, const char *what, int comments, long long *out, nexp_error *err)
{
    int c = hr_skip(r, comments);
    if (c == EOF) {
        return io_fail(err, r->path, NEXP_ERR_FORMAT, "truncated header: missing %s", what);
    }
    if (c == '-') {
        return io_fail(err, r->path, NEXP_ERR_FORMAT, "negative %s in the header at byte %zu", what, r->off - 1);
    }
    if (!isdigit(c)) {
        return io_fail(err, r->path, NEXP_ERR_FORMAT, "expected the %s at byte %zu, found '%c'", what, r->off - 1,
                       isprint(c) ? c : '?');
    }
    long long v = 0;
    while (c != EOF && isdigit(c)) {
        if (v > 1000000000000LL) {
            return io_fail(err, r->path, NEXP_ERR_TOO_LARGE, "%s in the header is too large", what);
        }
        v = v * 10 + (c - '0');
        c = hr_getc(r);
    }
    if (c == EOF) {
        return io_fail(err, r->path, NEXP_ERR_FORMAT, "truncated header after the %s", what);
    }
    if (!isspace(c)) {
        return io_fail(err, r->path, NEXP_ERR_FORMAT, "unexpected '%c' after the %s at byte %zu", isprint(c) ? c : '?',
                       what, r->off - 1);
    }
    *out = v;
    return NEXP_OK;
}

/* Dimensions, sample size and exact remaining length; *data_bytes gets the raster size. */
static nexp_status check_raster(header_reader *r, long long w, long long h, int channels, size_t sample,
                                size_t file_size, size_t *data_bytes, nexp_error *err)
{
    nexp_error inner = NEXP_ERROR_INIT;
    if (nexp_field_check_dims(w, h, channels, &inner) != NEXP_OK) {
        return io_forward(err, r->path, &inner);
    }
    size_t n;
    if (nexp_size_mul3((size_t)w * (size_t)h, (size_t)channels, sample, &n) != 0 || n > SIZE_MAX - r->off) {
        return io_fail(err, r->path, NEXP_ERR_TOO_LARGE, "dimensions %lld x %lld overflow", w, h);
    }
    size_t expected = r->off + n;
    if (file_size != expected) {
        return io_fail(err, r->path, NEXP_ERR_FORMAT, "%s: a %lld x %lld x %d image needs %zu bytes, found %zu",
                       file_size < expected ? "truncated" : "trailing bytes after the data", w, h, channels, expected,
                       file_size);
    }
    *data_bytes = n;
    return NEXP_OK;
}

nexp_status nexp_pnm_read(const char *path, nexp_field **out, nexp_error *err)
{
    *out = NULL;
    FILE *fp = NULL;
    nexp_field *f = NULL;
    unsigned char *row = NULL;
    size_t size = 0;
    nexp_status st = io_open_read(path, &fp, &size, err);
    if (st != NEXP_OK) {
        return st;
    }
    header_reader r = { fp, path, 0 };
    int m0 = hr_getc(&r), m1 = hr_getc(&r);
    if (m0 != 'P' || (m1 != '5' && m1 != '6')) {
        st = io_fail(err, path, NEXP_ERR_FORMAT, "not a binary PGM/PPM file (magic must be P5 or P6)");
        goto fail;
    }
    int channels = m1 == '5' ? 1 : 3;
    long long w, h, maxval;
    if ((st = hr_number(&r, "width", 1, &w, err)) != NEXP_OK || (st = hr_number(&r, "height", 1, &h, err)) != NEXP_OK ||
        (st = hr_number(&r, "maxval", 1, &maxval, err)) != NEXP_OK) {
        goto fail;
    }
    if (maxval < 1 || maxval > 65535) {
        st = io_fail(err, path, NEXP_ERR_FORMAT, "maxval %lld out of range 1..65535", maxval);
        goto fail;
    }
    size_t sample = maxval < 256 ? 1 : 2;
    size_t data_bytes;
    st = check_raster(&r, w, h, channels, sample, size, &data_bytes, err);
    if (st != NEXP_OK) {
        goto fail;
    }
    nexp_error inner = NEXP_ERROR_INIT;
    st = nexp_field_create(&f, (int)w, (int)h, channels, &inner);
    if (st != NEXP_OK) {
        io_forward(err, path, &inner);
        goto fail;
    }
    f->kind = NEXP_KIND_IMAGE;
    f->bit_depth = sample == 1 ? 8 : 16;
    size_t row_bytes = (size_t)w * (size_t)channels * sample;
    row = malloc(row_bytes);
    if (row == NULL) {
        st = io_fail(err, path, NEXP_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int y = 0; y < (int)h; y++) {
        st = io_read_exact(fp, path, row, row_bytes, r.off + (size_t)y * row_bytes, err);
        if (st != NEXP_OK) {
            goto fail;
        }
        for (int x = 0; x < (int)w; x++) {
            for (int c = 0; c < channels; c++) {
                size_t i = ((size_t)x * (size_t)channels + (size_t)c) * sample;
                unsigned v = sample == 1 ? row[i] : (unsigned)row[i] << 8 | row[i + 1];
                if ((long long)v > maxval) {
                    st = io_fail(err, path, NEXP_ERR_FORMAT, "value %u at x = %d, y = %d, channel %d exceeds maxval %lld",
                                 v, x, y, c, maxval);
                    goto fail;
                }
                nexp_field_row(f, c, y)[x] = (float)v;
            }
        }
    }
    free(row);
    fclose(fp);
    *out = f;
    return NEXP_OK;
fail:
    free(row);
    nexp_field_free(f);
    fclose(fp);
    return st;
}

nexp_status nexp_pnm_write(const char *path, const nexp_field *f, int bit_depth, nexp_error *err)
{
    if (f == NULL || (f->channels != 1 && f->channels != 3)) {
        return io_fail(err, path, NEXP_ERR_ARG, "PGM/PPM hold 1 or 3 channels, the field has %d", f ? f->channels : 0);
    }
    if (bit_depth == 0) {
        bit_depth = f->bit_depth == 16 ? 16 : 8;
    }
    if (bit_depth != 8 && bit_depth != 16) {
        return io_fail(err, path, NEXP_ERR_ARG, "bit depth %d (PGM/PPM: 8 or 16)", bit_depth);
    }
    unsigned maxval = bit_depth == 8 ? 255u : 65535u;
    size_t sample = bit_depth == 8 ? 1 : 2;
    size_t row_bytes = (size_t)f->width * (size_t)f->channels * sample;
    unsigned char *row = malloc(row_bytes);
    if (row == NULL) {
        return io_fail(err, path, NEXP_ERR_NOMEM, "out of memory");
    }
    nexp_atomic_file af;
    nexp_status st = nexp_atomic_open(&af, path, err);
    if (st != NEXP_OK) {
        free(row);
        return st;
    }
    if (fprintf(af.fp, "P%c\n%d %d\n%u\n", f->channels == 1 ? '5' : '6', f->width, f->height, maxval) < 0) {
        st = io_fail(err, path, NEXP_ERR_IO, "write failed: %s", strerror(errno));
    }
    for (int y = 0; y < f->height && st == NEXP_OK; y++) {
        for (int x = 0; x < f->width; x++) {
            for (int c = 0; c < f->channels; c++) {
                unsigned v = io_quantize(nexp_field_row(f, c, y)[x], maxval);
                size_t i = ((size_t)x * (size_t)f->channels + (size_t)c) * sample;
                if (sample == 1) {
                    row[i] = (unsigned char)v;
                } else {
                    row[i] = (unsigned char)(v >> 8);
                    row[i + 1] = (unsigned char)(v & 0xff);
                }
            }
        }
        st = io_write_exact(af.fp, path, row, row_bytes, err);
    }
    free(row);
    if (st != NEXP_OK) {
        nexp_atomic_abort(&af);
        return st;
    }
    return nexp_atomic_commit(&af, err);
}

nexp_status nexp_pfm_read(const char *path, nexp_field **out, nexp_error *err)
{
    *out = NULL;
    FILE *fp = NULL;
    nexp_field *f = NULL;
    unsigned char *row = NULL;
    size_t size = 0;
    nexp_status st = io_open_read(path, &fp, &size, err);
    if (st != NEXP_OK) {
        return st;
    }
    header_reader r = { fp, path, 0 };
    int m0 = hr_getc(&r), m1 = hr_getc(&r);
    if (m0 != 'P' || (m1 != 'f' && m1 != 'F')) {
        st = io_fail(err, path, NEXP_ERR_FORMAT, "not a PFM file (magic must be Pf or PF)");
        goto fail;
    }
    int channels = m1 == 'f' ? 1 : 3;
    long long w, h;
    if ((st = hr_number(&r, "width", 0, &w, err)) != NEXP_OK || (st = hr_number(&r, "height", 0, &h, err)) != NEXP_OK) {
        goto fail;
    }
    char tok[64];
    size_t n = 0;
    int c = hr_skip(&r, 0);
    while (c != EOF && !isspace(c) && n < sizeof tok - 1) {
        tok[n++] = (char)c;
        c = hr_getc(&r);
    }
    tok[n] = '\0';
    if (c == EOF || !isspace(c)) {
        st = io_fail(err, path, NEXP_ERR_FORMAT, "truncated or malformed scale field in the header");
        goto fail;
    }
    char *end = NULL;
    double scale = strtod(tok, &end);
    if (n == 0 || *end != '\0' || !isfinite(scale) || scale == 0.0) {
        st = io_fail(err, path, NEXP_ERR_FORMAT, "invalid scale '%s' (a nonzero number: < 0 little-, > 0 big-endian)",
                     tok);
        goto fail;
    }
    int little = scale < 0.0;
    size_t data_bytes;
    st = check_raster(&r, w, h, channels, 4, size, &data_bytes, err);
    if (st != NEXP_OK) {
        goto fail;
    }
    nexp_error inner = NEXP_ERROR_INIT;
    st = nexp_field_create(&f, (int)w, (int)h, channels, &inner);
    if (st != NEXP_OK) {
        io_forward(err, path, &inner);
        goto fail;
    }
    f->kind = channels == 3 ? NEXP_KIND_IMAGE : NEXP_KIND_SCALAR;
    size_t row_bytes = (size_t)w * (size_t)channels * 4;
    row = malloc(row_bytes);
    if (row == NULL) {
        st = io_fail(err, path, NEXP_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int k = 0; k < (int)h; k++) {
        st = io_read_exact(fp, path, row, row_bytes, r.off + (size_t)k * row_bytes, err);
        if (st != NEXP_OK) {
            goto fail;
        }
        int y = (int)h - 1 - k;
        for (int x = 0; x < (int)w; x++) {
            for (int ch = 0; ch < channels; ch++) {
                const unsigned char *p = row + ((size_t)x * (size_t)channels + (size_t)ch) * 4;
                nexp_field_row(f, ch, y)[x] = io_bits_to_float(little ? io_get_le32(p) : io_get_be32(p));
            }
        }
    }
    free(row);
    fclose(fp);
    *out = f;
    return NEXP_OK;
fail:
    free(row);
    nexp_field_free(f);
    fclose(fp);
    return st;
}

nexp_status nexp_pfm_write(const char *path, const nexp_field *f, nexp_error *err)
{
    if (f == NULL || (f->channels != 1 && f->channels != 3)) {
        return io_fail(err, path, NEXP_ERR_ARG, "PFM holds 1 or 3 channels, the field has %d", f ? f->channels : 0);
    }
    size_t row_bytes = (size_t)f->width * (size_t)f->channels * 4;
    unsigned char *row = malloc(row_bytes);
    if (row == NULL) {
        return io_fail(err, path, NEXP_ERR_NOMEM, "out of memory");
    }
    nexp_atomic_file af;
    nexp_status st = nexp_atomic_open(&af, path, err);
    if (st != NEXP_OK) {
        free(row);
        return st;
    }
    if (fprintf(af.fp, "P%c\n%d %d\n-1.0\n", f->channels == 1 ? 'f' : 'F', f->width, f->height) < 0) {
        st = io_fail(err, path, NEXP_ERR_IO, "write failed: %s", strerror(errno));
    }
    for (int k = 0; k < f->height && st == NEXP_OK; k++) {
        int y = f->height - 1 - k;
        for (int x = 0; x < f->width; x++) {
            for (int c = 0; c < f->channels; c++) {
                io_put_le32(row + ((size_t)x * (size_t)f->channels + (size_t)c) * 4,
                            io_float_to_bits(nexp_field_row(f, c, y)[x]));
            }
        }
        st = io_write_exact(af.fp, path, row, row_bytes, err);
    }
    free(row);
    if (st != NEXP_OK) {
        nexp_atomic_abort(&af);
        return st;
    }
    return nexp_atomic_commit(&af, err);
}
