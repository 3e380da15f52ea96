/* nexp_field.h — the 2-D field type: float32, planar, padded rows.
 *
 *   nexp_field *f = NULL;
 *   nexp_field_create(&f, 1024, 436, 2, NULL);        // a flow field: u plane, then v plane
 *   nexp_field_row(f, 1, 10)[20] = 0.5f;               // v at x = 20, y = 10
 *   nexp_stats s; nexp_field_stats(f, 0, &s);          // min/max/mean/std of u
 *   nexp_field_free(f);
 *
 * Layout: value (c, y, x) lives at data[c * plane + y * stride + x]. stride is the row length in
 * floats rounded up to NEXP_FIELD_ALIGN / sizeof(float) and every row starts on an
 * NEXP_FIELD_ALIGN-byte boundary; padding floats are kept at zero by create. An optional validity
 * mask (one byte per pixel, same stride, 1 = valid) marks unknown vectors of flow fields; NULL means
 * every pixel is valid. A field made by nexp_field_create owns data and mask and is released by
 * nexp_field_free; a view borrows them from its parent and must not outlive it.
 */
#ifndef NEXP_FIELD_H
#define NEXP_FIELD_H

#include <stddef.h>
#include <stdint.h>

#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NEXP_FIELD_ALIGN 64
/* Largest number of pixels (width * height) and channels a field may have; readers refuse larger
 * headers before allocating (2^30 pixels, 4 GiB per channel). */
#define NEXP_FIELD_MAX_PIXELS ((size_t)1 << 30)
#define NEXP_FIELD_MAX_CHANNELS 4096

/* What a field holds; stored with it in HDF5 files. */
typedef enum nexp_field_kind {
    NEXP_KIND_SCALAR = 0, /* generic values */
    NEXP_KIND_IMAGE = 1,  /* grey or colour image, grey values 0..255 (8 bit) or 0..65535 (16 bit) */
    NEXP_KIND_FLOW = 2,   /* optical flow, channel 0 = u (x), channel 1 = v (y), pixels */
    NEXP_KIND_MASK = 3,   /* 0 / 1 mask */
    NEXP_KIND_TENSOR = 4  /* diffusion tensor entries or parameters */
} nexp_field_kind;

/* "scalar", "image", "flow", "mask" or "tensor" ("unknown" for a value outside the enum). */
const char *nexp_field_kind_name(nexp_field_kind kind);

typedef struct nexp_field {
    int width, height, channels;
    size_t stride; /* floats from one row start to the next */
    size_t plane;  /* floats from one channel plane to the next (stride * height for owned fields) */
    float *data;
    uint8_t *mask; /* NULL or width x height bytes at the same stride; 1 = valid */
    nexp_field_kind kind;
    int bit_depth; /* source bit depth for images (8 or 16), 0 otherwise */
    int owns;      /* 1: data and mask belong to this struct */
} nexp_field;

/* Allocate a zero-filled field. w, h, c >= 1, w * h <= NEXP_FIELD_MAX_PIXELS. */
nexp_status nexp_field_create(nexp_field **out, int width, int height, int channels, nexp_error *err);
/* Release a field and, if it owns them, its data and mask. Accepts NULL. */
void nexp_field_free(nexp_field *f);
/* Allocate a field of the same size, channels and kind as f (zero-filled, no mask). */
nexp_status nexp_field_create_like(nexp_field **out, const nexp_field *f, nexp_error *err);
/* Deep copy, including the mask. */
nexp_status nexp_field_clone(nexp_field **out, const nexp_field *src, nexp_error *err);
/* Copy values (and mask presence) of src into dst; sizes and channels must match. */
nexp_status nexp_field_copy(nexp_field *dst, const nexp_field *src, nexp_error *err);
/* A non-owning view of channels [c0, c0 + nc) of f; shares f's mask. */
nexp_field nexp_field_view(const nexp_field *f, int c0, int nc);
/* Give f a mask with every pixel valid (no-op if it has one). */
nexp_status nexp_field_ensure_mask(nexp_field *f, nexp_error *err);
/* Set every value of every channel to v (padding untouched). */
void nexp_field_fill(nexp_field *f, float v);
/* Number of valid pixels (width * height without a mask). */
size_t nexp_field_count_valid(const nexp_field *f);
/* NEXP_OK if every value at valid pixels is finite, else NEXP_ERR_NONFINITE naming channel, x, y. */
nexp_status nexp_field_check_finite(const nexp_field *f, nexp_error *err);

static inline float *nexp_field_row(const nexp_field *f, int c, int y)
{
    return f->data + (size_t)c * f->plane + (size_t)y * f->stride;
}

static inline float nexp_field_get(const nexp_field *f, int c, int x, int y)
{
    return f->data[(size_t)c * f->plane + (size_t)y * f->stride + (size_t)x];
}

static inline int nexp_field_valid(const nexp_field *f, int x, int y)
{
    return f->mask == NULL || f->mask[(size_t)y * f->stride + (size_t)x] != 0;
}

/* Per-channel statistics over valid, finite values. */
typedef struct nexp_stats {
    double min, max, mean, std;
    size_t count; /* values that entered the statistics */
} nexp_stats;

nexp_status nexp_field_stats(const nexp_field *f, int channel, nexp_stats *out, nexp_error *err);

/* Flow statistics over valid vectors of a 2-channel field: largest and mean |(u, v)|, number of
 * unknown (masked-out) vectors. */
typedef struct nexp_flow_stats {
    double max_flow, mean_flow;
    size_t unknown, valid;
} nexp_flow_stats;

nexp_status nexp_flow_stats_compute(const nexp_field *flow, nexp_flow_stats *out, nexp_error *err);

/* Overflow-checked size helpers used by readers: *out = a * b (* c); 0 on success, -1 on overflow. */
int nexp_size_mul(size_t a, size_t b, size_t *out);
int nexp_size_mul3(size_t a, size_t b, size_t c, size_t *out);

/* NEXP_OK if a field of this size passes nexp_field_check_dims and fits the memory limit (see
 * nexp_core.h), else NEXP_ERR_TOO_LARGE naming it; allocates nothing (readers call it first). */
nexp_status nexp_field_check_memory(int width, int height, int channels, nexp_error *err);

/* Check width/height/channels against the limits above, naming what is wrong. */
nexp_status nexp_field_check_dims(long long width, long long height, long long channels, nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
