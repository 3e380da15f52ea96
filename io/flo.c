/* Middlebury .flo: "PIEH" (float 202021.25), int32 width, int32 height, then height rows of
 * width interleaved float32 (u, v), all little-endian. */
#include <math.h>
#include <stdlib.h>

#include "io_internal.h"

#define FLO_MAGIC 202021.25f
#define FLO_HEADER 12
#define FLO_UNKNOWN_THRESH 1e9f
#define FLO_UNKNOWN_VALUE 1e10f

static int flo_unknown(float v)
{
    return isnan(v) || fabsf(v) > FLO_UNKNOWN_THRESH;
}

nexp_status nexp_flo_read(const char *path, nexp_field **out, nexp_error *err)
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
    if (size < FLO_HEADER) {
        st = io_fail(err, path, NEXP_ERR_FORMAT, "truncated .flo header: expected at least %d bytes, found %zu",
                     FLO_HEADER, size);
        goto fail;
    }
    unsigned char hdr[FLO_HEADER];
    st = io_read_exact(fp, path, hdr, sizeof hdr, 0, err);
    if (st != NEXP_OK) {
        goto fail;
    }
    float magic = io_bits_to_float(io_get_le32(hdr));
    if (magic != FLO_MAGIC) {
        st = io_fail(err, path, NEXP_ERR_FORMAT, "not a .flo file: magic %.9g (bytes '%c%c%c%c'), expected 202021.25 ('PIEH')",
                     (double)magic, hdr[0] >= 32 && hdr[0] < 127 ? hdr[0] : '?',
                     hdr[1] >= 32 && hdr[1] < 127 ? hdr[1] : '?', hdr[2] >= 32 && hdr[2] < 127 ? hdr[2] : '?',
                     hdr[3] >= 32 && hdr[3] < 127 ? hdr[3] : '?');
        goto fail;
    }
    long long w = (int32_t)io_get_le32(hdr + 4);
    long long h = (int32_t)io_get_le32(hdr + 8);
    nexp_error inner = NEXP_ERROR_INIT;
    if (nexp_field_check_dims(w, h, 2, &inner) != NEXP_OK) {
        st = io_forward(err, path, &inner);
        goto fail;
    }
    size_t data_bytes, expected;
    if (nexp_size_mul3((size_t)w, (size_t)h, 8, &data_bytes) != 0 || data_bytes > SIZE_MAX - FLO_HEADER) {
        st = io_fail(err, path, NEXP_ERR_TOO_LARGE, "dimensions %lld x %lld overflow", w, h);
        goto fail;
    }
    expected = data_bytes + FLO_HEADER;
    if (size != expected) {
        st = io_fail(err, path, NEXP_ERR_FORMAT, "%s: a %lld x %lld .flo file has %zu bytes, found %zu",
                     size < expected ? "truncated" : "trailing bytes after the data", w, h, expected, size);
        goto fail;
    }
    nexp_error cerr = NEXP_ERROR_INIT;
    st = nexp_field_create(&f, (int)w, (int)h, 2, &cerr);
    if (st != NEXP_OK) {
        io_forward(err, path, &cerr);
        goto fail;
    }
    f->kind = NEXP_KIND_FLOW;
    size_t row_bytes = (size_t)w * 8;
    row = malloc(row_bytes);
    if (row == NULL) {
        st = io_fail(err, path, NEXP_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int y = 0; y < (int)h; y++) {
        st = io_read_exact(fp, path, row, row_bytes, FLO_HEADER + (size_t)y * row_bytes, err);
        if (st != NEXP_OK) {
            goto fail;
        }
        float *u = nexp_field_row(f, 0, y);
        float *v = nexp_field_row(f, 1, y);
        for (int x = 0; x < (int)w; x++) {
            float a = io_bits_to_float(io_get_le32(row + 8 * (size_t)x));
            float b = io_bits_to_float(io_get_le32(row + 8 * (size_t)x + 4));
            if (flo_unknown(a) || flo_unknown(b)) {
                if (f->mask == NULL) {
                    st = nexp_field_ensure_mask(f, &cerr);
                    if (st != NEXP_OK) {
                        io_forward(err, path, &cerr);
                        goto fail;
                    }
                }
                f->mask[(size_t)y * f->stride + (size_t)x] = 0;
                a = 0.0f;
                b = 0.0f;
            }
            u[x] = a;
            v[x] = b;
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

nexp_status nexp_flo_write(const char *path, const nexp_field *f, nexp_error *err)
{
    if (f == NULL || f->channels != 2) {
        return io_fail(err, path, NEXP_ERR_ARG, ".flo holds 2-channel flow, the field has %d channels",
                       f ? f->channels : 0);
    }
    size_t row_bytes = (size_t)f->width * 8;
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
    unsigned char hdr[FLO_HEADER];
    io_put_le32(hdr, io_float_to_bits(FLO_MAGIC));
    io_put_le32(hdr + 4, (uint32_t)f->width);
    io_put_le32(hdr + 8, (uint32_t)f->height);
    st = io_write_exact(af.fp, path, hdr, sizeof hdr, err);
    for (int y = 0; y < f->height && st == NEXP_OK; y++) {
        const float *u = nexp_field_row(f, 0, y);
        const float *v = nexp_field_row(f, 1, y);
        for (int x = 0; x < f->width; x++) {
            float a = u[x], b = v[x];
            if (!nexp_field_valid(f, x, y) || !isfinite(a) || !isfinite(b)) {
                a = FLO_UNKNOWN_VALUE;
                b = FLO_UNKNOWN_VALUE;
            }
            io_put_le32(row + 8 * (size_t)x, io_float_to_bits(a));
            io_put_le32(row + 8 * (size_t)x + 4, io_float_to_bits(b));
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
