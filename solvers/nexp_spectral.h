/* nexp_spectral.h — exact homogeneous diffusion with reflecting boundaries by the DCT (FFTW).
 *
 *   nexp_dct_plan *p = NULL;
 *   nexp_dct_plan_create(&p, 1024, 436, NEXP_DCT_DOUBLE, &err);   // FFTW plans made once for this size
 *   nexp_dct_gaussian(p, img, img, 2.0, &err);                     // Gaussian, sigma = 2 (t = sigma^2 / 2)
 *   nexp_dct_heat(p, img, out, 10.0, 0.25, &err);                  // out = exp(10 A_0.25) img
 *   nexp_dct_plan_free(p);
 *
 * A plane is transformed by the DCT-II (FFTW REDFT10), each coefficient (kx, ky) is multiplied by a
 * filter, and the DCT-III (REDFT01) transforms back; mirroring the plane at its borders makes this
 * exact for reflecting boundaries. Two filters:
 *  - nexp_dct_gaussian: the continuous heat kernel, exp(-t (wx^2 + wy^2)) with w = pi k / n and
 *    t = sigma^2 / 2 — Gaussian convolution of the mirrored plane (pre-smoothing of the models);
 *  - nexp_dct_heat: the exact solution u(t) = exp(t A) u(0) of the semi-discrete heat equation
 *    du/dt = A u, A the delta stencil of homogeneous diffusion with parameter alpha; its eigenvalues
 *    are (1 - 2 alpha) (2 cos wx + 2 cos wy - 4) + alpha (4 cos wx cos wy - 4). Explicit, FED, FSI
 *    and implicit schemes converge to it (the reference in the tests).
 * Precision: FFTW in float (fftwf) or double; values come in and go out as float either way.
 * FFTW threads are initialised once and plans use nexp_get_threads() threads (set before planning).
 * Planning and freeing take a process-wide lock (FFTW's planner is not thread-safe); executing uses
 * the plan's own workspace, so one plan must not be executed by two threads at once (make one plan
 * per thread). The plan owns its FFTW plans and workspace; input and output stay the caller's.
 */
#ifndef NEXP_SPECTRAL_H
#define NEXP_SPECTRAL_H

#include <stddef.h>

#include "nexp_field.h"
#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nexp_dct_precision {
    NEXP_DCT_FLOAT = 0,
    NEXP_DCT_DOUBLE = 1
} nexp_dct_precision;

typedef struct nexp_dct_plan nexp_dct_plan;

/* width, height >= 1. */
nexp_status nexp_dct_plan_create(nexp_dct_plan **out, int width, int height, nexp_dct_precision precision,
                                 nexp_error *err);
void nexp_dct_plan_free(nexp_dct_plan *p);

/* Every channel of in (the plan's size) filtered into out (same size and channels; out may be in).
 * sigma >= 0 (0 copies); t >= 0; alpha in [0, 1/2]. */
nexp_status nexp_dct_gaussian(nexp_dct_plan *p, const nexp_field *in, nexp_field *out, double sigma,
                              nexp_error *err);
nexp_status nexp_dct_heat(nexp_dct_plan *p, const nexp_field *in, nexp_field *out, double t, double alpha,
                          nexp_error *err);

/* The same on one plane of floats with its own row stride (in may equal out). */
typedef enum nexp_dct_filter {
    NEXP_DCT_FILTER_GAUSSIAN = 0, /* param = sigma */
    NEXP_DCT_FILTER_HEAT = 1      /* param = t, with alpha */
} nexp_dct_filter;

void nexp_dct_plane(nexp_dct_plan *p, const float *in, float *out, size_t stride, nexp_dct_filter filter,
                    double param, double alpha);

#ifdef __cplusplus
}
#endif
#endif
