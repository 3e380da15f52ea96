/* nexp_mask.h — masks of known pixels for inpainting: random, from images, from flow validity.
 *
 *   nexp_field *known = NULL;
 *   nexp_mask_bernoulli(gt, 0.05, 42, &known, &err);   // each valid pixel of gt known with p = 0.05
 *   printf("%zu known\n", nexp_mask_count(known));
 *   nexp_field *from_png = NULL;
 *   nexp_mask_from_image(png, &from_png, &err);         // nonzero in any channel = known
 *
 * A mask is a 1-channel field of kind NEXP_KIND_MASK holding 1 (known) or 0; functions that read a
 * mask treat any nonzero value as known. Returned masks are new fields owned by the caller.
 */
#ifndef NEXP_MASK_H
#define NEXP_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "nexp_field.h"
#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bernoulli mask the size of like: each valid pixel of like (its validity mask; all pixels without
 * one) is known with probability density in [0, 1], drawn row by row from nexp_rng seeded with seed,
 * one uniform per valid pixel. Same (like's validity, density, seed), same mask, on every platform. */
nexp_status nexp_mask_bernoulli(const nexp_field *like, double density, uint64_t seed, nexp_field **out,
                                nexp_error *err);
/* Mask from an image (e.g. a PNG): 1 where any channel is nonzero. */
nexp_status nexp_mask_from_image(const nexp_field *img, nexp_field **out, nexp_error *err);
/* Number of nonzero pixels of a 1-channel mask. */
size_t nexp_mask_count(const nexp_field *mask);
/* An 8-bit image of the mask for writing: 255 = known, 0 = unknown (new 1-channel field). */
nexp_status nexp_mask_to_image(const nexp_field *mask, nexp_field **out, nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
