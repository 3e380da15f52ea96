/* nexp_scene.h — synthetic optical-flow scenes with exact ground truth, for training and examples.
 *
 *   nexp_scene_options o = NEXP_SCENE_OPTIONS_INIT;      // 256 x 192, 3..8 layers, |t| <= 8 px
 *   nexp_scene *s = NULL;
 *   if (nexp_scene_generate(&o, 42, &s, &err) != NEXP_OK) return err.code;
 *   // s->frame1, s->frame2: RGB 0..255; s->flow: frame 1 -> frame 2; s->occlusion: 1 = occluded
 *   nexp_scene_free(s);
 *
 * A scene is a moving background plus textured layers stacked back to front. Each layer has a shape
 * (ellipse or star-shaped polygon), a texture (base colour, a smooth colour gradient, fractal value
 * noise with a 1/f spectrum, optional stripes) and its own affine motion x -> c + t + (I + M)(x - c).
 * With options.edges = 1 half of the layers also carry sharp-edged colour patches, about a third
 * move with a layer below them (decals) instead of their own motion, and half of the scenes are
 * blurred ([1 2 1]^2 on both frames, soft edges as a camera makes them): patches and decals give
 * colour edges that are no motion boundaries (with edges = 0 every strong colour edge is a flow
 * jump), so a model trained on such scenes must learn which image edges to trust.
 * With options.photos (FlyingChairs-style: photographs behind rendered objects) the background and
 * about half of the foreground layers show a randomly placed, scaled (0.5..1.5) and rotated part of
 * one of the photos, mirrored at the photo's borders and sampled bilinearly, instead of the
 * procedural texture.
 * With options.thin > 0 that share of the foreground layers are thin bars instead (chair legs, poles,
 * cables): rectangles 1..4 px wide as long as a layer's diameter, anywhere in the frame (often cut by
 * its border), moving up to twice as fast as the other layers. Thin moving structures are where a
 * diffusion tensor has to keep one or two known vectors from leaking across a nearby edge.
 * Frame 1 shows every layer at its own position; frame 2 is rendered by backward warping: the colour
 * at y is the layer texture at the pre-image of y, with the texture evaluated exactly (the value
 * noise is a smooth interpolation of a random lattice, and a photo texture the bilinear interpolation
 * of its pixels, so no resampling error enters). The flow at
 * x is the motion of the topmost layer at x in frame 1, exact to float precision; x is occluded when
 * its image in frame 2 falls outside the frame or under another layer.
 *
 * Everything is a pure function of (options, seed): the same seed gives the same scene bit for bit
 * on every platform and thread count. The scene owns its four fields; nexp_scene_free releases them.
 */
#ifndef NEXP_SCENE_H
#define NEXP_SCENE_H

#include <stdint.h>

#include "nexp_field.h"
#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NEXP_SCENE_MAX_LAYERS 16

typedef struct nexp_scene_options {
    int width, height;      /* frame size in pixels, >= 2 each */
    int layers;             /* foreground layers 0..NEXP_SCENE_MAX_LAYERS; -1: random 3..8 */
    double max_translation; /* largest translation per layer and axis in pixels, >= 0 */
    double max_deformation; /* largest entry of M (rotation, scaling, shear), 0 <= . <= 0.3 */
    int edges;              /* 1: patches, decals and blur (below); 0: without them */
    double layer_size;      /* largest layer radius / smaller frame side, 0 < . <= 1; radii are drawn
                               from [layer_size / 4, layer_size] */
    const nexp_field *const *photos; /* NULL, or nphotos RGB images (3 channels, 0..255, at least 2 x 2),
                                        borrowed: textures of the background and about half of the layers */
    int nphotos;
    double thin;            /* 0 <= . <= 1: share of foreground layers that are thin bars (below) */
} nexp_scene_options;

#define NEXP_SCENE_OPTIONS_INIT { 256, 192, -1, 8.0, 0.06, 0, 0.4, NULL, 0, 0.0 }

typedef struct nexp_scene {
    nexp_field *frame1;    /* (3, H, W) RGB, 0..255, kind image, bit depth 8 */
    nexp_field *frame2;    /* (3, H, W) RGB, 0..255 */
    nexp_field *flow;      /* (2, H, W) u, v in pixels, frame 1 -> frame 2, every vector known */
    nexp_field *occlusion; /* (1, H, W) 1 = occluded or leaving the frame, 0 = visible in both */
} nexp_scene;

/* Render a scene; *out is owned by the caller. Errors: NEXP_ERR_ARG for options out of range. */
nexp_status nexp_scene_generate(const nexp_scene_options *opt, uint64_t seed, nexp_scene **out, nexp_error *err);
/* Release a scene and its fields. Accepts NULL. */
void nexp_scene_free(nexp_scene *s);

#ifdef __cplusplus
}
#endif
#endif
