/* nexp_flowdata.h — training samples for flow inpainting: synthetic scenes or folders of image + .flo.
 *
 *   nexp_flowdata *d = NULL;
 *   nexp_flowdata_open(&d, "synthetic", &err);              // or a folder: Sintel / FlyingChairs layout
 *   nexp_sample_options so = NEXP_SAMPLE_OPTIONS_INIT;       // crop 128, density 1..10 %, flips on
 *   nexp_rng rng; nexp_rng_seed(&rng, 1);
 *   nexp_flow_sample s;
 *   nexp_flowdata_draw(d, &so, &rng, &s, &err);              // image, gt flow, mask of known pixels
 *   nexp_flow_sample_clear(&s);
 *   nexp_flowdata_free(d);
 *
 * Folders: every *.flo file (sorted by name) pairs with the reference image found by the first rule
 * that names an existing file: flow_NNNN.flo -> clean/frame_NNNN.png and final/frame_NNNN.png (one
 * sample each; MPI-Sintel as laid out in ../shared/data), NAME_flow.flo -> NAME_img1.ppm / .png
 * (FlyingChairs), NAME-flow_01.flo -> NAME-img_0.png (chairs crops), NAME.flo -> NAME.png.
 * A folder yielding no pair is an error that says what was looked for.
 *
 * Drawing a sample is a pure function of the RNG state: it picks a pair (or a scene seed), a crop,
 * flips and a mask, so the same RNG state gives the same sample. A horizontal flip mirrors x and
 * negates u; a vertical flip mirrors y and negates v. The mask is Bernoulli with a density drawn
 * uniformly from [density_min, density_max] over pixels with known flow, and has at least one known
 * pixel. With photometric on, the image (never the flow) then changes the way real footage differs
 * from clean renderings: contrast, brightness, gamma and per-channel gains (80 % of samples), a
 * Gaussian blur with sigma in [0.5, 1.5] (30 %) and additive Gaussian noise with sigma up to 6 grey
 * levels (50 %), clamped to 0..255; drawn after everything else, so the rest of a sample is the same
 * with or without it. The data set owns its file list; samples are owned by the caller.
 */
#ifndef NEXP_FLOWDATA_H
#define NEXP_FLOWDATA_H

#include <stddef.h>

#include "nexp_field.h"
#include "nexp_rng.h"
#include "nexp_scene.h"
#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nexp_flowdata nexp_flowdata;

typedef struct nexp_sample_options {
    int crop;                        /* square crop side in pixels (>= 8); synthetic scenes are rendered at it */
    double density_min, density_max; /* 0 < min <= max <= 1 */
    int flips;                       /* 1: random horizontal and vertical flips */
    int photometric;                 /* 1: random photometric changes of the image (see below) */
} nexp_sample_options;

#define NEXP_SAMPLE_OPTIONS_INIT { 128, 0.01, 0.10, 1, 0 }

typedef struct nexp_flow_sample {
    nexp_field *image; /* (3, H, W) RGB 0..255 (grey images are repeated into 3 channels) */
    nexp_field *flow;  /* (2, H, W) ground truth; its mask marks unknown vectors, if any */
    nexp_field *mask;  /* (1, H, W) 1 = known (given to the inpainting), 0 = to fill in */
    double density;    /* the density that was drawn */
} nexp_flow_sample;

/* source: "synthetic" (scenes from nexp_scene_generate with default options), "synthetic-edges" (the
 * same with options.edges = 1: colour edges that are no motion boundaries), "synthetic-fast" (40 % of
 * the scenes have 1..4 layers of half the size moving up to twice as fast: a few objects far faster
 * than the rest, as in FlyingChairs; the others as "synthetic"), "photos:DIR" (as "synthetic" with
 * options.photos: every PNG/PPM/PGM in DIR of at least 32 x 32 pixels, loaded once and held by the
 * data set; smaller images are skipped, a folder without a usable one is an error), "mixed:DIR" (half of
 * the scenes as "photos:DIR", half as "synthetic") or a folder path. */
nexp_status nexp_flowdata_open(nexp_flowdata **out, const char *source, nexp_error *err);
/* Synthetic source with explicit scene options (width/height are replaced by the crop). */
nexp_status nexp_flowdata_open_synthetic(nexp_flowdata **out, const nexp_scene_options *opt, nexp_error *err);
void nexp_flowdata_free(nexp_flowdata *d);
/* Scene options of a synthetic source (photos included, owned by the data set); NULL for a folder. */
const nexp_scene_options *nexp_flowdata_scene(const nexp_flowdata *d);
/* Make a share (0..1) of a synthetic source's foreground layers thin bars (nexp_scene_options.thin).
 * Errors: NEXP_ERR_ARG for a share out of range or a folder source (its scenes are not rendered). */
nexp_status nexp_flowdata_set_thin(nexp_flowdata *d, double share, nexp_error *err);
/* Number of image/flow pairs of a folder source; 0 for the (unbounded) synthetic source. */
size_t nexp_flowdata_count(const nexp_flowdata *d);
/* Paths of pair i of a folder source (owned by the data set). */
nexp_status nexp_flowdata_paths(const nexp_flowdata *d, size_t i, const char **image, const char **flow,
                                nexp_error *err);

/* Draw one augmented training sample (see above); s is overwritten, not freed first. */
nexp_status nexp_flowdata_draw(const nexp_flowdata *d, const nexp_sample_options *opt, nexp_rng *rng,
                               nexp_flow_sample *s, nexp_error *err);
/* A Bernoulli mask (1, H, W) of the given density over the valid pixels of flow (all if no mask),
 * with at least one known pixel; pure function of the RNG state. */
nexp_status nexp_random_mask(const nexp_field *flow, double density, nexp_rng *rng, nexp_field **mask,
                             nexp_error *err);
/* Mirror image, flow and mask in place: horizontally (negates u) and/or vertically (negates v). */
nexp_status nexp_flow_sample_flip(nexp_flow_sample *s, int horizontal, int vertical, nexp_error *err);
/* Free the sample's fields and set them to NULL. */
void nexp_flow_sample_clear(nexp_flow_sample *s);

#ifdef __cplusplus
}
#endif
#endif
