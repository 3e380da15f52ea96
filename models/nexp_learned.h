/* nexp_learned.h — neuroexplicit flow inpainting: a network predicts diffusion tensors, explicit
 * delta-stencil steps fill in the flow (after Fischer, Peter, Weickert & Ilg, ICML 2024).
 *
 *   nexp_learned *m = NULL;
 *   nexp_learned_load(&m, "data/inpaint-model.h5", &err);            // or nexp_learned_create(...)
 *   nexp_field *dense = NULL;
 *   nexp_learned_inpaint(m, image, sparse_flow, known, &dense, &err); // image (3, H, W) 0..255
 *   nexp_learned_free(m);
 *
 * Model. The reference image is pooled into a pyramid (level 0 = full size, each level halves).
 * At every level the same small CNN (3 x 3 conv 3 -> F, two 3 x 3 conv F -> F, leaky ReLU, 1 x 1
 * conv F -> 5, plus a learned bias per level) reads the normalised image and predicts per pixel
 * (p, q, s1, s2, r): the tensor has the unit eigenvector (p, q) / |(p, q)| (regularised), the
 * eigenvalues g(s1), g(s2) with the Perona-Malik diffusivity g(s) = 1 / (1 + s^2 / kappa^2) and a
 * trainable contrast kappa per level, and the delta-stencil parameter alpha = sigmoid(r) / 2 in
 * (0, 1/2). Coarse to fine (the pyramid of nexp_inpaint.h: data pooled as the mean of known pixels,
 * mask max-pooled, each level starting from the bilinear upsampling of the coarser result), each
 * level runs `steps` explicit steps of the given-tensor delta stencil with tau = 1/5 and resets the
 * known pixels after each step. Every stencil weight is nonnegative and tau times their sum is at
 * most 1 for any network output, so the scheme obeys the max-min principle by construction.
 * Image-fed models are linear in the flow: scaling the known vectors scales the result.
 *
 * Flow-fed models (spec.flow_input = 1) also give the network, per level, the flow that level
 * starts from (the coarsest level's mean-filled data, then the upsampled coarser result) and the
 * known mask: 6 input channels. The flow is centred on the known vectors' mean, divided by their
 * root mean square spread and bounded softly (learned_internal.h), so the model is equivariant to
 * a f + b (a > 0 scalar, b a vector): the result is a u + b. Motion edges the coarser levels found
 * can then steer the finer tensors where the image alone is ambiguous (texture that does not move
 * apart, blurred or low-contrast object boundaries). Such models need 2 data channels; the gradient
 * also flows through the network's flow input into the coarser levels.
 *
 * Cascade models (spec.cascade = 1) also give each level's network the last hidden features of the
 * coarser level's network, bilinear upsampled, scaled (CASCADE_SCALE) and bounded softly like the
 * flow input, as a U-Net decoder gets its coarser features: each tensor sees image context from the
 * whole pyramid, not only its own 7 x 7 window. The weights reading them start at zero, so a new cascade model begins as the plain
 * one; the gradient runs back into the coarser level's network.
 *
 * Training. nexp_learned_loss_grad runs the model on one sample, measures the mean endpoint error
 * against the ground truth over valid pixels (smoothed as sqrt(|e|^2 + 1e-6) for the gradient) and
 * back-propagates by hand: through every explicit step (the adjoint of a step is the transposed
 * stencil; the weight gradient pairs adjoint and state differences on each edge), the upsampling,
 * the tensor parametrisation and the network. Memory strategy: all states of all levels are stored
 * during a training forward pass (2 x H x W floats per step: 128 x 128 crops with 5 levels of 60
 * steps need ~11 MB per sample); inference keeps two states only.
 *
 * Parameters live in one flat float block (views listed in m->tensors), gradients likewise.
 * A model owns its parameters; the caller owns the fields it passes and gets.
 */
#ifndef NEXP_LEARNED_H
#define NEXP_LEARNED_H

#include <stddef.h>
#include <stdint.h>

#include "nexp_field.h"
#include "nexp_params.h"
#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NEXP_LEARNED_MAX_LEVELS 8
#define NEXP_LEARNED_MAX_TENSORS 16

/* What a checkpoint stores to rebuild the model. */
typedef struct nexp_learned_spec {
    int features; /* channels of the hidden convolutions, 1..64 */
    int levels;   /* pyramid levels, 1..NEXP_LEARNED_MAX_LEVELS (clamped to the input size at run time) */
    int steps;    /* explicit steps per level, 1..10000 */
    int flow_input; /* 1: the network also reads each level's starting flow and mask (flow-fed) */
    int cascade;    /* 1: the network also reads the coarser level's last hidden features, upsampled */
    int mirror;     /* 1: the 3 x 3 convolutions pad by mirroring the border, 0: with zeros */
} nexp_learned_spec;

#define NEXP_LEARNED_SPEC_INIT { 16, 5, 60, 1, 0, 0 }

typedef struct nexp_learned {
    nexp_learned_spec spec;
    size_t n_params;
    float *params; /* owned, n_params */
    float *grads;  /* owned, n_params */
    int n_tensors;
    nexp_tensor_view tensors[NEXP_LEARNED_MAX_TENSORS];
} nexp_learned;

/* A new model with seeded He initialisation; the initial model diffuses almost isotropically. */
nexp_status nexp_learned_create(nexp_learned **out, const nexp_learned_spec *spec, uint64_t seed, nexp_error *err);
void nexp_learned_free(nexp_learned *m);
void nexp_learned_zero_grads(nexp_learned *m);
/* The view named name, or NULL. */
const nexp_tensor_view *nexp_learned_tensor(const nexp_learned *m, const char *name);

/* Inpaint data (2 or more channels, H, W) from its pixels where known (1, H, W) is nonzero, guided
 * by image (1 or 3 channels, 0..255, same size). *out: new field, equal to data at known pixels. */
nexp_status nexp_learned_inpaint(const nexp_learned *m, const nexp_field *image, const nexp_field *data,
                                 const nexp_field *known, nexp_field **out, nexp_error *err);

/* Per-level tensors the model predicts for image (and, for flow-fed models, the data and known mask
 * as for nexp_learned_inpaint; image-fed models accept NULL for both), each upsampled (nearest) to
 * the image size: (5 * levels, H, W) with channels (e_x, e_y, lambda1, lambda2, alpha) for level 0,
 * then level 1... (e: unit eigenvector of lambda1). *levels_out (may be NULL): the number of levels. */
nexp_status nexp_learned_tensors(const nexp_learned *m, const nexp_field *image, const nexp_field *data,
                                 const nexp_field *known, nexp_field **out, int *levels_out, nexp_error *err);

/* Run the model on one sample with data taken from gt at known pixels; adds weight * d(loss)/d(params)
 * to m->grads. loss: the smoothed mean EPE; epe: the exact mean EPE (both over valid gt pixels; may
 * be NULL). gt may carry a validity mask (unknown vectors are neither given nor scored). */
nexp_status nexp_learned_loss_grad(nexp_learned *m, const nexp_field *image, const nexp_field *gt,
                                   const nexp_field *known, double weight, double *loss, double *epe,
                                   nexp_error *err);

/* Model files (HDF5): group "model" with attributes features, levels, steps and one float dataset per
 * tensor view; written atomically. nexp_learned_load checks the spec and every tensor's shape. */
nexp_status nexp_learned_save(const nexp_learned *m, const char *path, nexp_error *err);
nexp_status nexp_learned_load(nexp_learned **out, const char *path, nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
