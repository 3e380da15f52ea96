#include "nexp_mask.h"

#include <math.h>

#include "nexp_rng.h"

nexp_status nexp_mask_bernoulli(const nexp_field *like, double density, uint64_t seed, nexp_field **out,
                                nexp_error *err)
{
    *out = NULL;
    if (!(density >= 0.0 && density <= 1.0)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "mask density %g is outside [0, 1]", density);
    }
    nexp_status st = nexp_field_create(out, like->width, like->height, 1, err);
    if (st != NEXP_OK) {
        return st;
    }
    (*out)->kind = NEXP_KIND_MASK;
    nexp_rng rng;
    nexp_rng_seed(&rng, seed);
    for (int y = 0; y < like->height; y++) {
        float *row = nexp_field_row(*out, 0, y);
        for (int x = 0; x < like->width; x++) {
            if (nexp_field_valid(like, x, y)) {
                row[x] = nexp_rng_uniform(&rng) < density ? 1.0f : 0.0f;
            }
        }
    }
    return NEXP_OK;
}

nexp_status nexp_mask_from_image(const nexp_field *img, nexp_field **out, nexp_error *err)
{
    nexp_status st = nexp_field_create(out, img->width, img->height, 1, err);
    if (st != NEXP_OK) {
        return st;
    }
    (*out)->kind = NEXP_KIND_MASK;
    for (int y = 0; y < img->height; y++) {
        float *row = nexp_field_row(*out, 0, y);
        for (int c = 0; c < img->channels; c++) {
            const float *src = nexp_field_row(img, c, y);
            for (int x = 0; x < img->width; x++) {
                if (src[x] != 0.0f) {
                    row[x] = 1.0f;
                }
            }
        }
    }
    return NEXP_OK;
}

size_t nexp_mask_count(const nexp_field *mask)
{
    size_t n = 0;
    for (int y = 0; y < mask->height; y++) {
        const float *row = nexp_field_row(mask, 0, y);
        for (int x = 0; x < mask->width; x++) {
            n += row[x] != 0.0f;
        }
    }
    return n;
}

nexp_status nexp_mask_to_image(const nexp_field *mask, nexp_field **out, nexp_error *err)
{
    nexp_status st = nexp_field_create(out, mask->width, mask->height, 1, err);
    if (st != NEXP_OK) {
        return st;
    }
    (*out)->kind = NEXP_KIND_IMAGE;
    (*out)->bit_depth = 8;
    for (int y = 0; y < mask->height; y++) {
        const float *src = nexp_field_row(mask, 0, y);
        float *row = nexp_field_row(*out, 0, y);
        for (int x = 0; x < mask->width; x++) {
            row[x] = src[x] != 0.0f ? 255.0f : 0.0f;
        }
    }
    return NEXP_OK;
}
