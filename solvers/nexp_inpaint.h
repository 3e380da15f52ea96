/* nexp_inpaint.h — diffusion inpainting of images and flow fields from sparse known pixels.
 *
 *   nexp_field *known = NULL, *dense = NULL;                    // known: 1 channel, nonzero = known
 *   nexp_mask_bernoulli(gt, 0.05, 42, &known, &err);            // 5 % of the valid pixels (nexp_mask.h)
 *   nexp_inpaint_options opt = nexp_inpaint_defaults(NEXP_INPAINT_HOMOGENEOUS);
 *   nexp_inpaint_report rep;
 *   nexp_inpaint(gt, known, NULL, &opt, &dense, &rep, &err);    // Laplace: 2-D PCG + multigrid, rel. res. 1e-6
 *
 * Model: inside the domain u solves the steady state of a diffusion equation (Laplace for the
 * homogeneous method, edge-enhancing anisotropic diffusion for EED); at known pixels (c = 1) u keeps
 * the data (Dirichlet); the image boundary is reflecting. Grid spacing 1, 5-point Laplacian.
 *
 * Methods:
 *  - NEXP_INPAINT_HOMOGENEOUS: the exact discrete Laplace solution, by conjugate gradients
 *    preconditioned with an aggregation multigrid V-cycle (Galerkin coarse operators that respect the
 *    mask), started from the pull-push pyramid fill. Stops at ||b - A u|| <= tol ||b|| per channel,
 *    where b is the right-hand side of the unknown pixels (A u = b with u = 0 as the start).
 *  - NEXP_INPAINT_HOMOGENEOUS_EXPLICIT: the same model by explicit FED cycles, coarse to fine; the
 *    steps the learned model unrolls.
 *  - NEXP_INPAINT_EED: edge-enhancing anisotropic diffusion whose tensor comes from the reference
 *    image (the guided mode of nexp_diffusion.h, pooled to each level): flow edges follow image
 *    edges. Known pixels are reset after every step; FED or FSI cycles, coarse to fine.
 *  - NEXP_INPAINT_EED_FLOW: classic EED inpainting, the tensor from the evolving field itself
 *    (updated once per cycle).
 *
 * Coarse to fine (explicit methods and the start of the fast solver): level 0 is the input, level
 * l + 1 halves level l (sizes rounded up). Data are pooled 2 x 2 as the mean of the known pixels
 * only, the mask by max-pooling, guidance images by the plain mean. Each level starts from the
 * bilinear upsampling of the level below (the coarsest from the mean of its known values), resets its
 * known pixels to their data and runs its own number of steps.
 *
 * Ownership: every function returns new fields owned by the caller; inputs are never modified except
 * where a parameter is documented as in/out. Plans own their workspaces: one plan serves one solve at
 * a time (make one plan per thread to solve several fields concurrently).
 */
#ifndef NEXP_INPAINT_H
#define NEXP_INPAINT_H

#include "nexp_diffusion.h"
#include "nexp_field.h"
#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest number of pyramid levels. */
#define NEXP_INPAINT_MAX_LEVELS 16

/* ---- inputs ---------------------------------------------------------------------------------- */

/* Check data, known mask and optional guide for inpainting: equal sizes, known is 1 channel with at
 * least one nonzero pixel, data finite (and valid under data's own mask) at every known pixel.
 * Errors: NEXP_ERR_SIZE, NEXP_ERR_EMPTY, NEXP_ERR_NONFINITE, each naming the pixel or the sizes. */
nexp_status nexp_inpaint_check(const nexp_field *data, const nexp_field *known, const nexp_field *guide,
                               nexp_error *err);

/* The known mask implied by a field's own validity: 1 where data's mask (if any) is set and every
 * channel is finite and |value| <= 1e9 (the .flo convention), else 0. New 1-channel field. */
nexp_status nexp_inpaint_known_from_data(const nexp_field *data, nexp_field **known, nexp_error *err);

/* ---- coarse-to-fine pyramid -------------------------------------------------------------------- */

typedef struct nexp_pyramid {
    int levels;            /* number of levels, level 0 = input size */
    nexp_field **data;     /* [levels] pooled data, channels of the input; 0 at unknown pixels */
    nexp_field **known;    /* [levels] 1 channel, 1 = known, 0 = unknown */
    nexp_field **guide;    /* [levels] pooled guidance image, or NULL when none was given */
} nexp_pyramid;

/* Largest useful level count for a width x height input (coarsest side >= 4 pixels, at least 1). */
int nexp_pyramid_max_levels(int width, int height);
/* Build levels (1..NEXP_INPAINT_MAX_LEVELS, clamped to nexp_pyramid_max_levels) from data (C, H, W),
 * known (1, H, W, nonzero = known) and guide (G, H, W) or NULL. */
nexp_status nexp_pyramid_create(nexp_pyramid **out, const nexp_field *data, const nexp_field *known,
                                const nexp_field *guide, int levels, nexp_error *err);
void nexp_pyramid_free(nexp_pyramid *p);

/* 2 x 2 pooling: coarse = mean of the fine pixels whose weight is nonzero (weights NULL: all). coarse
 * must have size ceil(W / 2) x ceil(H / 2) and fine's channels; pixels without weight get 0. */
nexp_status nexp_field_pool2(const nexp_field *fine, const nexp_field *weights, nexp_field *coarse, nexp_error *err);
/* Bilinear upsampling with pixel centres aligned (fine x maps to coarse (x + 0.5) / 2 - 0.5, clamped
 * at the border); fine keeps its own size and must have coarse's channels. */
nexp_status nexp_field_upsample_bilinear(const nexp_field *coarse, nexp_field *fine, nexp_error *err);

/* ---- homogeneous diffusion: the fast solver ---------------------------------------------------- */

typedef struct nexp_laplace_plan nexp_laplace_plan;

typedef struct nexp_laplace_info {
    int iterations;      /* PCG iterations of the channel that needed most */
    double rel_residual; /* largest final ||b - A u|| / ||b|| over the channels */
    int levels;          /* multigrid levels */
} nexp_laplace_info;

/* Plan the solver for a known mask (1 channel, nonzero = known, at least one known pixel): builds the
 * Galerkin multigrid hierarchy of the Laplacian on the unknown pixels. */
nexp_status nexp_laplace_plan_create(nexp_laplace_plan **out, const nexp_field *known, nexp_error *err);
void nexp_laplace_plan_free(nexp_laplace_plan *plan);
/* Solve every channel of u in place: known pixels keep u's values (the data), unknown pixels start
 * from u's values and end at the Laplace solution. PCG iterates in double to a relative residual of
 * tol / 2 (tol > 0) so that the float32 result, whose residual info reports, meets tol down to
 * tol ~ 1e-6 (below that float rounding dominates). Fails with NEXP_ERR_SOLVER if max_iter iterations
 * do not reach tol / 2. info may be NULL. */
nexp_status nexp_laplace_plan_solve(nexp_laplace_plan *plan, nexp_field *u, double tol, int max_iter,
                                    nexp_laplace_info *info, nexp_error *err);
/* Relative residual ||b - A u|| / ||b|| of channel c of u for the plan's mask (0 when b = 0). */
double nexp_laplace_plan_residual(const nexp_laplace_plan *plan, const nexp_field *u, int c);

/* ---- explicit steps ---------------------------------------------------------------------------- */

/* Pure kernel: one explicit homogeneous diffusion step with known-pixel reset on rows [y0, y1):
 * out = u + tau * Laplace(u) at pixels with c == 0, out = u where c != 0; reflecting boundary.
 * u, out: (H, W) planes with row stride `stride` (u != out); c: (H, W) 0/1 with the same stride.
 * Stable (max-min principle) for 0 < tau <= 1/4. */
void nexp_inpaint_homogeneous_step_rows(const float *u, float *out, const float *c, int width, int height,
                                        size_t stride, float tau, int y0, int y1);

/* ---- the driver -------------------------------------------------------------------------------- */

typedef enum nexp_inpaint_method {
    NEXP_INPAINT_HOMOGENEOUS = 0,          /* Laplace, fast solver (PCG + multigrid) */
    NEXP_INPAINT_HOMOGENEOUS_EXPLICIT = 1, /* Laplace by explicit FED cycles, coarse to fine */
    NEXP_INPAINT_EED = 2,                  /* EED, tensor from the reference image (guided), coarse to fine */
    NEXP_INPAINT_EED_FLOW = 3,             /* EED, tensor from the evolving field itself, coarse to fine */
    NEXP_INPAINT_METHOD_COUNT = 4
} nexp_inpaint_method;

typedef struct nexp_inpaint_options {
    nexp_inpaint_method method;
    /* fast solver */
    double tol;         /* relative residual, default 1e-6 */
    int max_iter;       /* default 500 */
    /* explicit methods */
    int levels;         /* pyramid levels, default 6 (clamped to the input size) */
    int n_steps;        /* entries in steps (>= 1) */
    int steps[NEXP_INPAINT_MAX_LEVELS]; /* explicit steps per level, COARSEST FIRST; the last entry
                                           repeats for the remaining finer levels. Default 200
                                           (homogeneous), 400,300,200,100,50,30 (EED) */
    int fed_cycle;      /* steps per FED/FSI cycle (>= 1), default 20; a level's steps run as
                           ceil(steps / fed_cycle) cycles (EED: the tensor of eed-flow is updated
                           once per cycle) */
    /* EED (nexp_diffusion.h): tensor eigenvalues g(|grad guide_sigma|^2) across edges and 1 along */
    double lambda;      /* contrast, default 3 (grey values 0..255 for guided EED, pixels of flow
                           for eed-flow) */
    double sigma;       /* Gaussian pre-smoothing of the image the tensor comes from, default 0 */
    double alpha;       /* delta-stencil alpha in [0, 1/2], default 0.3 */
    nexp_diffusivity diffusivity; /* g, default NEXP_G_EXP (Weickert's exponential) */
    nexp_diffusion_scheme scheme; /* NEXP_SCHEME_FED (default) or NEXP_SCHEME_FSI */
} nexp_inpaint_options;

typedef struct nexp_inpaint_report {
    int levels;               /* pyramid levels used */
    long steps;               /* explicit steps run in total (fine-level equivalents not counted) */
    nexp_laplace_info laplace; /* fast solver only */
    double seconds;
} nexp_inpaint_report;

/* Defaults of a method (documented per field above). */
nexp_inpaint_options nexp_inpaint_defaults(nexp_inpaint_method method);
const char *nexp_inpaint_method_name(nexp_inpaint_method method);

/* Inpaint data (C, H, W) from its pixels where known (1, H, W) is nonzero; values elsewhere are
 * ignored. guide (G, H, W) is the reference image for guided methods (may be NULL otherwise). On
 * success *out is a new field (C, H, W) without a validity mask, equal to data at known pixels.
 * rep may be NULL. */
nexp_status nexp_inpaint(const nexp_field *data, const nexp_field *known, const nexp_field *guide,
                         const nexp_inpaint_options *opt, nexp_field **out, nexp_inpaint_report *rep,
                         nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
