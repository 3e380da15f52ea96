/* nexp_layers.h — neural-network layer kernels with exact backward passes, in float and double.
 *
 *   float x[4 * 3], w[5 * 3], b[5], y[4 * 5];                   // batch 4, 3 -> 5
 *   nexp_dense_forward_f32(4, 3, 5, x, w, b, y);                 // y = x w^T + b
 *   nexp_act_forward_f32(NEXP_ACT_TANH, 4 * 5, y, y);            // in place
 *   ...                                                          // dy from the loss
 *   nexp_dense_backward_f32(4, 3, 5, x, w, dy, dx, dw, db);      // dx, dw, db += ...
 *
 * Precision: every kernel exists as _f32 (image networks, speed) and _f64 (neural ODEs, which run
 * in SUNDIALS' double). There is one source of each kernel: nn/layers.inc is a template written
 * against a type T and a name suffix, included by layers_f32.c (T = float, CBLAS sgemm) and
 * layers_f64.c (T = double, CBLAS dgemm); the prototypes below are likewise listed once and
 * expanded for both types by NEXP_LAYERS_DECLARE_. Accumulation inside a kernel happens in T.
 *
 * Conventions: kernels are pure (they allocate nothing, keep no state, print nothing) and are safe
 * to call from several threads on different outputs. Shapes are given in comments, row-major,
 * e.g. x (B, in). Backward functions ACCUMULATE (+=) into every gradient they are given (d...),
 * so the caller zeroes gradients once per step; a NULL gradient pointer means "not needed".
 */
#ifndef NEXP_LAYERS_H
#define NEXP_LAYERS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Pointwise activations. Leaky ReLU has slope NEXP_LEAKY_SLOPE for x < 0; GELU is the exact
 * x Phi(x) form (erf), softplus is log(1 + e^x) evaluated without overflow. */
typedef enum nexp_act {
    NEXP_ACT_IDENTITY = 0,
    NEXP_ACT_RELU,
    NEXP_ACT_LEAKY_RELU,
    NEXP_ACT_TANH,
    NEXP_ACT_SIGMOID,
    NEXP_ACT_SOFTPLUS,
    NEXP_ACT_GELU,
    NEXP_ACT_COUNT_
} nexp_act;

#define NEXP_LEAKY_SLOPE 0.01

/* "identity", "relu", "leaky_relu", "tanh", "sigmoid", "softplus", "gelu". */
const char *nexp_act_name(nexp_act act);
/* Parses a name above ("linear" and "none" also mean identity); -1 if unknown. */
int nexp_act_from_name(const char *name);

#define NEXP_LAYERS_DECLARE_(T, S)                                                                  \
    /* y = f(x), n values; y may equal x. */                                                        \
    void nexp_act_forward_##S(nexp_act act, size_t n, const T *x, T *y);                            \
    /* d = f'(x) given x and y = f(x); d may equal x or y. */                                        \
    void nexp_act_derivative_##S(nexp_act act, size_t n, const T *x, const T *y, T *d);             \
    /* dx += dy * f'(x) (x the input, y = f(x)); dx must not alias dy. */                           \
    void nexp_act_backward_##S(nexp_act act, size_t n, const T *x, const T *y, const T *dy, T *dx); \
                                                                                                    \
    /* Dense: x (B, in), w (out, in), b (out) or NULL, y (B, out) = x w^T + b. */                   \
    void nexp_dense_forward_##S(int B, int in, int out, const T *x, const T *w, const T *b, T *y);  \
    /* dx (B, in) += dy w; dw (out, in) += dy^T x; db (out) += sum over B of dy. */                 \
    void nexp_dense_backward_##S(int B, int in, int out, const T *x, const T *w, const T *dy,       \
                                 T *dx, T *dw, T *db);

NEXP_LAYERS_DECLARE_(float, f32)
NEXP_LAYERS_DECLARE_(double, f64)

#ifdef __cplusplus
}
#endif
#endif
