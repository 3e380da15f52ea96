/* nexp_diffusion.h — diffusion filtering on the delta stencil: homogeneous, nonlinear isotropic
 * (Perona-Malik, Charbonnier, exponential), edge- and coherence-enhancing anisotropic (EED, CED),
 * guided and given-tensor models; explicit, FED, FSI and implicit (CVODE) time stepping; and a
 * differentiable given-tensor step for learned models.
 *
 *   nexp_diffusion_params prm = NEXP_DIFFUSION_PARAMS_INIT;      // homogeneous, FED, alpha 0
 *   prm.model = NEXP_DIFF_EED; prm.time = 20; prm.lambda = 4; prm.sigma = 1;
 *   nexp_diffusion_plan *p = NULL;
 *   if (nexp_diffusion_plan_create(&p, img->width, img->height, img->channels, &prm, &err) == NEXP_OK)
 *       nexp_diffusion_execute(p, img, NULL, &err);                 // img diffused to time 20, in place
 *   nexp_diffusion_plan_free(p);
 *
 * The PDE is du/dt = div(D grad u) with reflecting boundaries. All channels of a field share one
 * diffusion tensor D, built from the sum of their structure tensors (colour images, flow fields).
 * Space: the nonnegativity-friendly delta stencil of Weickert, Welk & Wickert (2013) with
 * alpha in [0, 1/2] and beta = (1 - 2 alpha) sgn(b); the tensor lives on the staggered grid of
 * 2 x 2 pixel cells (a tensor given per pixel is averaged onto it, as in the paper); see
 * solvers/stencil_internal.h for the weights. The discrete operator is symmetric, so the mean is
 * preserved, and for tensors with eigenvalues in [0, 1] an explicit step is stable for
 *     tau <= 1 / (4 (1 - alpha))
 * (the max-min principle holds wherever the stencil weights are nonnegative: always for the
 * isotropic models). Models:
 *   homogeneous     D = I;
 *   pm, charbonnier, exp   D = g(|grad u_sigma|^2) I, u_sigma = u smoothed by a Gaussian sigma
 *                   (exact, by the DCT), g(s2) = 1/(1 + s2/l^2), 1/sqrt(1 + s2/l^2),
 *                   1 - exp(-3.31488 / (s2/l^2)^4) with contrast l = lambda;
 *   eed             D = g(mu1) v1 v1^T + g(mu2) v2 v2^T from the eigen-decomposition of the
 *                   structure tensor J_rho(u_sigma) (rho = 0: sum of grad grad^T over channels;
 *                   for one channel this is Weickert's EED with eigenvalues g(|grad u_sigma|^2), 1);
 *   ced             eigenvalue 0.001 across v1, 0.001 + 0.999 exp(-lambda^4 / (mu1 - mu2)^2) along
 *                   the coherence direction v2, with J_rho (integration scale rho);
 *   guided          any of the above with the tensor computed once from a separate guidance image
 *                   (nexp_diffusion_plan_set_guide), e.g. a reference frame while a flow field is
 *                   diffused: the diffusion of u is then linear;
 *   given           the caller supplies a, b, c and alpha per pixel (nexp_diffusion_plan_set_tensor).
 * Nonlinear models (tensor from the evolving u) update the tensor once per cycle: every step for
 * the explicit scheme, at the start of each FED/FSI cycle, at the start of each implicit cycle.
 * Time: the user gives the stopping time T (and optionally the cycle count); the library chooses
 *   explicit   n = ceil(T / tau) equal steps T / n <= tau (tau: prm.tau, default the bound);
 *   fed        Grewenig, Weickert & Bruhn (2010): per cycle of length T / M, n steps
 *              tau_k = tau_max / (2 cos^2(pi (2k + 1) / (4n + 2))), the smallest n with
 *              tau_max n (n + 1) / 3 >= T / M, scaled to sum to T / M, applied in a kappa-cycle
 *              order (k -> k kappa mod n, kappa coprime to n) that keeps rounding errors small;
 *   fsi        Hafner et al. (2016) fast semi-iterative: same n per cycle, constant
 *              tau = 3 (T/M) / (n (n + 1)), u_{k+1} = a_k (u_k + tau A u_k) + (1 - a_k) u_{k-1},
 *              a_k = (4k + 2) / (2k + 3), u_{-1} = u_0: internally stable;
 *   implicit   method of lines: CVODE BDF with matrix-free SPGMR whose Jv is the stencil.
 * Default cycle count M: FED/FSI about 36.7 tau_max per cycle (10 steps); implicit 1 for linear
 * models and ceil(T / 5) for nonlinear ones.
 *
 * Ownership and threads: a plan owns its workspaces, FFTW plans and tensor; execute allocates only
 * the step schedule (not inside the time loop). A plan holds state (the tensor, ping-pong buffers):
 * one plan per thread. Kernels use OpenMP (nexp_set_threads); results are bit-identical for any
 * thread count. Fields passed to a plan must have been made by nexp_field_create for the plan's
 * size (same stride) or be channel views of such fields.
 */
#ifndef NEXP_DIFFUSION_H
#define NEXP_DIFFUSION_H

#include <stdint.h>

#include "nexp_field.h"
#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nexp_diffusion_model {
    NEXP_DIFF_HOMOGENEOUS = 0,
    NEXP_DIFF_PM = 1,
    NEXP_DIFF_CHARBONNIER = 2,
    NEXP_DIFF_EXP = 3,
    NEXP_DIFF_EED = 4,
    NEXP_DIFF_CED = 5,
    NEXP_DIFF_GIVEN = 6
} nexp_diffusion_model;

typedef enum nexp_diffusivity {
    NEXP_G_PM = 0,
    NEXP_G_CHARBONNIER = 1,
    NEXP_G_EXP = 2
} nexp_diffusivity;

typedef enum nexp_diffusion_scheme {
    NEXP_SCHEME_EXPLICIT = 0,
    NEXP_SCHEME_FED = 1,
    NEXP_SCHEME_FSI = 2,
    NEXP_SCHEME_IMPLICIT = 3
} nexp_diffusion_scheme;

typedef struct nexp_diffusion_params {
    nexp_diffusion_model model;
    nexp_diffusion_scheme scheme;
    double time;            /* stopping time T > 0 */
    double lambda;          /* contrast lambda > 0 (pm, charbonnier, exp, eed, ced) */
    double sigma;           /* Gaussian pre-smoothing >= 0 of the image the tensor comes from */
    double rho;             /* integration scale >= 0 (ced; eed and guided too when > 0) */
    double alpha;           /* delta stencil alpha in [0, 1/2] (given: per pixel, this is unused) */
    nexp_diffusivity eed_g; /* diffusivity of eed (and guided eed) */
    double tau;             /* explicit: step; fed/fsi: tau_max; 0 = the stability bound */
    int cycles;             /* fed/fsi/implicit cycles (tensor updates); 0 = automatic */
    double rtol, atol;      /* implicit: CVODE relative and absolute tolerances */
} nexp_diffusion_params;

#define NEXP_DIFFUSION_PARAMS_INIT                                                                       \
    { NEXP_DIFF_HOMOGENEOUS, NEXP_SCHEME_FED, 1.0, 1.0, 0.0, 0.0, 0.0, NEXP_G_EXP, 0.0, 0, 1e-4, 1e-3 }

/* Options and results of one execution; pass NULL for the defaults. */
typedef struct nexp_diffusion_run {
    const uint8_t *known; /* NULL, or one byte per pixel at the field's stride: nonzero pixels keep
                             their values (inpainting: known data); the others diffuse */
    /* Called after every step (or CVODE output) with the time reached; nonzero return stops the
     * run with NEXP_ERR_INTERRUPTED. */
    int (*progress)(double t, double T, void *user);
    void *user;
    long steps;           /* out: explicit steps taken (implicit: CVODE steps) */
    long cycles;          /* out: tensor updates / cycles */
    long rhs_evals;       /* out: stencil applications by CVODE (right-hand sides + Jv) */
} nexp_diffusion_run;

#define NEXP_DIFFUSION_RUN_INIT { NULL, NULL, NULL, 0, 0, 0 }

typedef struct nexp_diffusion_plan nexp_diffusion_plan;

/* A plan for width x height fields (both >= 2) with the given channel count. Checks every
 * parameter (lambda > 0 where used, sigma >= 0, rho >= 0, alpha in [0, 1/2], T > 0, tau within the
 * stability bound: NEXP_ERR_UNSTABLE with a message stating the bound) and makes the FFTW plans. */
nexp_status nexp_diffusion_plan_create(nexp_diffusion_plan **out, int width, int height, int channels,
                                       const nexp_diffusion_params *prm, nexp_error *err);
void nexp_diffusion_plan_free(nexp_diffusion_plan *p);

/* Guided mode: the tensor of the plan's model comes from guide (width x height, any channels),
 * computed now (Gaussian sigma, integration rho) and kept for every execution. Not for homogeneous
 * or given plans. The plan does not keep guide. */
nexp_status nexp_diffusion_plan_set_guide(nexp_diffusion_plan *p, const nexp_field *guide, nexp_error *err);

/* Given mode: tensor has 4 channels a, b, c, alpha per pixel (shape (4, H, W)); each pixel's
 * [a b; b c] must be positive semidefinite and alpha in [0, 1/2] (NEXP_ERR_ARG names the first bad
 * pixel). The step bound becomes 1 / (4 max over cells of (1 - alpha) lambda_max(D)); a prm.tau
 * above it gives NEXP_ERR_UNSTABLE. The plan does not keep tensor. */
nexp_status nexp_diffusion_plan_set_tensor(nexp_diffusion_plan *p, const nexp_field *tensor, nexp_error *err);

/* The stability bound of explicit steps for the plan's current tensor. */
double nexp_diffusion_tau_bound(const nexp_diffusion_plan *p);

/* Diffuse u (the plan's size and channels) in place to the stopping time. u must be finite
 * (NEXP_ERR_NONFINITE names the first bad value). run may be NULL. */
nexp_status nexp_diffusion_execute(nexp_diffusion_plan *p, nexp_field *u, nexp_diffusion_run *run,
                                   nexp_error *err);

/* Names for messages and the CLI: "homogeneous", "pm", ...; "explicit", "fed", "fsi", "implicit". */
const char *nexp_diffusion_model_name(nexp_diffusion_model m);
const char *nexp_diffusion_scheme_name(nexp_diffusion_scheme s);
/* Parse a name; returns 0 on success, -1 if unknown. */
int nexp_diffusion_model_parse(const char *name, nexp_diffusion_model *out);
int nexp_diffusion_scheme_parse(const char *name, nexp_diffusion_scheme *out);

/* ---- step schedules (for callers that run their own steps, e.g. learned models) ------------
 * nexp_fed_steps: the smallest n with tau_max n (n + 1) / 3 >= cycle_time (>= 1).
 * nexp_fed_taus: the n FED steps of one cycle, summing to cycle_time, in kappa-cycle order.
 * nexp_fsi_weights: a_k = (4k + 2) / (2k + 3), k = 0..n-1, and the constant step
 * 3 cycle_time / (n (n + 1)) as return value. */
int nexp_fed_steps(double cycle_time, double tau_max);
void nexp_fed_taus(int n, double cycle_time, double *taus);
double nexp_fsi_weights(int n, double cycle_time, double *a);

/* ---- the differentiable given-tensor step ---------------------------------------------------
 *
 *   nexp_delta_weights *w = NULL, *dw = NULL;
 *   nexp_delta_weights_create(&w, W, H, &err);  nexp_delta_weights_create(&dw, W, H, &err);
 *   nexp_delta_weights_forward(w, tensor, &err);               // tensor (4, H, W): a, b, c, alpha
 *   nexp_delta_step_forward(w, tau, u, known, u1, &err);       // u1 = u + tau A u (known kept)
 *   ... loss ...  -> du1
 *   nexp_delta_weights_zero(dw);
 *   nexp_delta_step_backward(w, tau, u, known, du1, du, dw, &err);    // du += ..., dw += ...
 *   nexp_delta_weights_backward(w, dw, dtensor, &err);                // dtensor += ...
 *
 * Forward: u_next = u + tau A(a, b, c, alpha) u, except u_next = u at known pixels (known NULL:
 * none). A per-pixel tensor is averaged onto the cells, beta = (1 - 2 alpha) sgn(b) per cell, and
 * the edge weights are kept in a nexp_delta_weights object (about 4 floats per pixel), so many steps
 * with one tensor (a level of an unrolled model) compute them once. Backward, for a loss L with
 * du_next = dL/du_next: because A is symmetric, du += r + tau A r + (du_next at known pixels) with
 * r = du_next zeroed at known pixels, and dw += dL/dw for every edge weight; then
 * nexp_delta_weights_backward maps dw to dL/d(a, b, c, alpha) per pixel (sgn(b) has derivative 0).
 * Gradients accumulate with += (zero them first: nexp_delta_weights_zero, nexp_field_fill); du or dw
 * may be NULL to skip that gradient.
 * Shapes: u, u_next, du_next, du: (C, H, W), any C; tensor, dtensor: (4, H, W); known: H x W bytes
 * at u's stride. Steps must satisfy tau <= nexp_delta_weights_tau_bound(w) to be stable (not
 * checked per step: the caller's schedule owns that). Weights objects own their memory.
 */
typedef struct nexp_delta_weights nexp_delta_weights;

nexp_status nexp_delta_weights_create(nexp_delta_weights **out, int width, int height, nexp_error *err);
void nexp_delta_weights_free(nexp_delta_weights *w);
void nexp_delta_weights_zero(nexp_delta_weights *w);
/* tensor: (4, H, W) = a, b, c, alpha per pixel; checks finiteness, PSD and alpha as set_tensor. */
nexp_status nexp_delta_weights_forward(nexp_delta_weights *w, const nexp_field *tensor, nexp_error *err);
/* dtensor (4, H, W) += dL/d(a, b, c, alpha) of the tensor of the last forward, given
 * dw = dL/d(weights of w). dw's cell workspace is overwritten (its weights are kept). */
nexp_status nexp_delta_weights_backward(const nexp_delta_weights *w, nexp_delta_weights *dw, nexp_field *dtensor,
                                        nexp_error *err);
/* 1 / (4 max over cells of (1 - alpha) lambda_max(D)) for the last forward tensor. */
double nexp_delta_weights_tau_bound(const nexp_delta_weights *w);
/* u_next must not alias u. */
nexp_status nexp_delta_step_forward(const nexp_delta_weights *w, double tau, const nexp_field *u,
                                    const uint8_t *known, nexp_field *u_next, nexp_error *err);
nexp_status nexp_delta_step_backward(const nexp_delta_weights *w, double tau, const nexp_field *u,
                                     const uint8_t *known, const nexp_field *du_next, nexp_field *du,
                                     nexp_delta_weights *dw, nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
