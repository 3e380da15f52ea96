#include "nexp_field.h"

#include <stdio.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nexp_core.h"

int nexp_size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) {
        return -1;
    }
    *out = a * b;
    return 0;
}

int nexp_size_mul3(size_t a, size_t b, size_t c, size_t *out)
{
    size_t ab;
    if (nexp_size_mul(a, b, &ab) != 0) {
        return -1;
    }
    return nexp_size_mul(ab, c, out);
}

nexp_status nexp_field_check_dims(long long width, long long height, long long channels, nexp_error *err)
{
    if (width <= 0 || height <= 0) {
        return nexp_error_set(err, NEXP_ERR_FORMAT, "invalid dimensions %lld x %lld (must be positive)",
                              width, height);
    }
    if (channels <= 0 || channels > NEXP_FIELD_MAX_CHANNELS) {
        return nexp_error_set(err, NEXP_ERR_FORMAT, "invalid channel count %lld (1..%d)", channels,
                              NEXP_FIELD_MAX_CHANNELS);
    }
    if (width > (long long)NEXP_FIELD_MAX_PIXELS || height > (long long)NEXP_FIELD_MAX_PIXELS ||
        (unsigned long long)width * (unsigned long long)height > (unsigned long long)NEXP_FIELD_MAX_PIXELS) {
        return nexp_error_set(err, NEXP_ERR_TOO_LARGE, "dimensions %lld x %lld exceed the limit of %zu pixels",
                              width, height, NEXP_FIELD_MAX_PIXELS);
    }
    return NEXP_OK;
}

/* Bytes counted against the memory limit for an owned field's pixels and for its mask. */
const char *nexp_field_kind_name(nexp_field_kind kind)
{
    switch (kind) {
    case NEXP_KIND_SCALAR:
        return "scalar";
    case NEXP_KIND_IMAGE:
        return "image";
    case NEXP_KIND_FLOW:
        return "flow";
    case NEXP_KIND_MASK:
        return "mask";
    case NEXP_KIND_TENSOR:
        return "tensor";
    }
    return "unknown";
}

static size_t data_bytes(const nexp_field *f)
{
    return f->plane * (size_t)f->channels * sizeof(float);
}

static size_t mask_bytes(const nexp_field *f)
{
    size_t n = f->stride * (size_t)f->height;
    return (n + NEXP_FIELD_ALIGN - 1) / NEXP_FIELD_ALIGN * NEXP_FIELD_ALIGN;
}

static size_t padded_stride(int width)
{
    const size_t per = NEXP_FIELD_ALIGN / sizeof(float);
    return ((size_t)width + per - 1) / per * per;
}

/* Bytes of the data planes of a width x height x channels field; -1 on overflow. */
static int field_data_bytes(int width, int height, int channels, size_t *n)
{
    return nexp_size_mul3(padded_stride(width) * (size_t)height, (size_t)channels, sizeof(float), n);
}

static void field_what(char *what, size_t len, int width, int height, int channels)
{
    snprintf(what, len, "a %d x %d x %d field", width, height, channels);
}

nexp_status nexp_field_check_memory(int width, int height, int channels, nexp_error *err)
{
    nexp_status st = nexp_field_check_dims(width, height, channels, err);
    if (st != NEXP_OK) {
        return st;
    }
    size_t n;
    if (field_data_bytes(width, height, channels, &n) != 0) {
        return nexp_error_set(err, NEXP_ERR_TOO_LARGE, "field %d x %d x %d is too large", width, height, channels);
    }
    char what[96];
    field_what(what, sizeof what, width, height, channels);
    return nexp_memory_check(n, what, err);
}

nexp_status nexp_field_create(nexp_field **out, int width, int height, int channels, nexp_error *err)
{
    *out = NULL;
    nexp_status st = nexp_field_check_dims(width, height, channels, err);
    if (st != NEXP_OK) {
        return st;
    }
    size_t n;
    if (field_data_bytes(width, height, channels, &n) != 0) {
        return nexp_error_set(err, NEXP_ERR_TOO_LARGE, "field %d x %d x %d is too large", width, height, channels);
    }
    char what[96];
    field_what(what, sizeof what, width, height, channels);
    st = nexp_memory_reserve(n, what, err);
    if (st != NEXP_OK) {
        return st;
    }
    nexp_field *f = calloc(1, sizeof *f);
    if (f == NULL) {
        nexp_memory_release(n);
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory allocating a field");
    }
    f->width = width;
    f->height = height;
    f->channels = channels;
    f->stride = padded_stride(width);
    f->plane = f->stride * (size_t)height;
    f->owns = 1;
    f->data = aligned_alloc(NEXP_FIELD_ALIGN, n);
    if (f->data == NULL) {
        nexp_memory_release(n);
        free(f);
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory allocating a %d x %d x %d field (%zu bytes)",
                              width, height, channels, n);
    }
    memset(f->data, 0, n);
    *out = f;
    return NEXP_OK;
}

void nexp_field_free(nexp_field *f)
{
    if (f == NULL) {
        return;
    }
    if (f->owns) {
        nexp_memory_release(data_bytes(f) + (f->mask != NULL ? mask_bytes(f) : 0));
        free(f->data);
        free(f->mask);
    }
    free(f);
}

nexp_status nexp_field_create_like(nexp_field **out, const nexp_field *f, nexp_error *err)
{
    nexp_status st = nexp_field_create(out, f->width, f->height, f->channels, err);
    if (st == NEXP_OK) {
        (*out)->kind = f->kind;
        (*out)->bit_depth = f->bit_depth;
    }
    return st;
}

nexp_status nexp_field_ensure_mask(nexp_field *f, nexp_error *err)
{
    if (f->mask != NULL) {
        return NEXP_OK;
    }
    if (!f->owns) {
        return nexp_error_set(err, NEXP_ERR_ARG, "cannot add a mask to a field view");
    }
    size_t n = f->stride * (size_t)f->height;
    char what[96];
    snprintf(what, sizeof what, "the mask of a %d x %d field", f->width, f->height);
    nexp_status st = nexp_memory_reserve(mask_bytes(f), what, err);
    if (st != NEXP_OK) {
        return st;
    }
    f->mask = aligned_alloc(NEXP_FIELD_ALIGN, mask_bytes(f));
    if (f->mask == NULL) {
        nexp_memory_release(mask_bytes(f));
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory allocating a mask");
    }
    memset(f->mask, 1, n);
    return NEXP_OK;
}

nexp_status nexp_field_copy(nexp_field *dst, const nexp_field *src, nexp_error *err)
{
    if (dst->width != src->width || dst->height != src->height || dst->channels != src->channels) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "cannot copy a %d x %d x %d field into a %d x %d x %d one",
                              src->width, src->height, src->channels, dst->width, dst->height, dst->channels);
    }
    for (int c = 0; c < src->channels; c++) {
        for (int y = 0; y < src->height; y++) {
            memcpy(nexp_field_row(dst, c, y), nexp_field_row(src, c, y), (size_t)src->width * sizeof(float));
        }
    }
    if (src->mask != NULL) {
        nexp_status st = nexp_field_ensure_mask(dst, err);
        if (st != NEXP_OK) {
            return st;
        }
        for (int y = 0; y < src->height; y++) {
            memcpy(dst->mask + (size_t)y * dst->stride, src->mask + (size_t)y * src->stride, (size_t)src->width);
        }
    } else if (dst->mask != NULL && dst->owns) {
        nexp_memory_release(mask_bytes(dst));
        free(dst->mask);
        dst->mask = NULL;
    }
    dst->kind = src->kind;
    dst->bit_depth = src->bit_depth;
    return NEXP_OK;
}

nexp_status nexp_field_clone(nexp_field **out, const nexp_field *src, nexp_error *err)
{
    nexp_status st = nexp_field_create_like(out, src, err);
    if (st != NEXP_OK) {
        return st;
    }
    st = nexp_field_copy(*out, src, err);
    if (st != NEXP_OK) {
        nexp_field_free(*out);
        *out = NULL;
    }
    return st;
}

nexp_field nexp_field_view(const nexp_field *f, int c0, int nc)
{
    nexp_field v = *f;
    v.data = f->data + (size_t)c0 * f->plane;
    v.channels = nc;
    v.owns = 0;
    return v;
}

void nexp_field_fill(nexp_field *f, float v)
{
    for (int c = 0; c < f->channels; c++) {
        for (int y = 0; y < f->height; y++) {
            float *row = nexp_field_row(f, c, y);
            for (int x = 0; x < f->width; x++) {
                row[x] = v;
            }
        }
    }
}

size_t nexp_field_count_valid(const nexp_field *f)
{
    if (f->mask == NULL) {
        return (size_t)f->width * (size_t)f->height;
    }
    size_t n = 0;
    for (int y = 0; y < f->height; y++) {
        const uint8_t *m = f->mask + (size_t)y * f->stride;
        for (int x = 0; x < f->width; x++) {
            n += m[x] != 0;
        }
    }
    return n;
}

nexp_status nexp_field_check_finite(const nexp_field *f, nexp_error *err)
{
    for (int c = 0; c < f->channels; c++) {
        for (int y = 0; y < f->height; y++) {
            const float *row = nexp_field_row(f, c, y);
            for (int x = 0; x < f->width; x++) {
                if (!isfinite(row[x]) && nexp_field_valid(f, x, y)) {
                    return nexp_error_set(err, NEXP_ERR_NONFINITE, "non-finite value %g at channel %d, x = %d, y = %d",
                                          (double)row[x], c, x, y);
                }
            }
        }
    }
    return NEXP_OK;
}

nexp_status nexp_field_stats(const nexp_field *f, int channel, nexp_stats *out, nexp_error *err)
{
    if (channel < 0 || channel >= f->channels) {
        return nexp_error_set(err, NEXP_ERR_ARG, "channel %d out of range (field has %d)", channel, f->channels);
    }
    double mn = INFINITY, mx = -INFINITY, sum = 0.0, sum2 = 0.0;
    size_t n = 0;
    for (int y = 0; y < f->height; y++) {
        const float *row = nexp_field_row(f, channel, y);
        for (int x = 0; x < f->width; x++) {
            double v = row[x];
            if (!isfinite(v) || !nexp_field_valid(f, x, y)) {
                continue;
            }
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            sum += v;
            n++;
        }
    }
    double mean = n ? sum / (double)n : NAN;
    for (int y = 0; y < f->height && n; y++) {
        const float *row = nexp_field_row(f, channel, y);
        for (int x = 0; x < f->width; x++) {
            double v = row[x];
            if (isfinite(v) && nexp_field_valid(f, x, y)) {
                sum2 += (v - mean) * (v - mean);
            }
        }
    }
    out->min = n ? mn : NAN;
    out->max = n ? mx : NAN;
    out->mean = mean;
    out->std = n ? sqrt(sum2 / (double)n) : NAN;
    out->count = n;
    return NEXP_OK;
}

nexp_status nexp_flow_stats_compute(const nexp_field *flow, nexp_flow_stats *out, nexp_error *err)
{
    if (flow->channels != 2) {
        return nexp_error_set(err, NEXP_ERR_ARG, "flow statistics need 2 channels, field has %d", flow->channels);
    }
    double mx = 0.0, sum = 0.0;
    size_t valid = 0, unknown = 0;
    for (int y = 0; y < flow->height; y++) {
        const float *u = nexp_field_row(flow, 0, y);
        const float *v = nexp_field_row(flow, 1, y);
        for (int x = 0; x < flow->width; x++) {
            if (!nexp_field_valid(flow, x, y) || !isfinite(u[x]) || !isfinite(v[x])) {
                unknown++;
                continue;
            }
            double r = hypot((double)u[x], (double)v[x]);
            mx = r > mx ? r : mx;
            sum += r;
            valid++;
        }
    }
    out->max_flow = mx;
    out->mean_flow = valid ? sum / (double)valid : 0.0;
    out->valid = valid;
    out->unknown = unknown;
    return NEXP_OK;
}
