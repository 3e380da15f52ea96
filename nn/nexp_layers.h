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

#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Pointwise activations. Leaky ReLU has slope NEXP_LEAKY_SLOPE for x < 0; GELU is the exact
 * x Phi(x) form (erf), softplus is log(1 + e^x) evaluated without overflow; tanh is evaluated in
 * double without libm, four values at a time (within a few ulp of libm's tanh, the same result
 * on every x86-64 CPU). */
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
/* 1 if f'(x) follows from y = f(x) alone (identity, relu, leaky_relu, tanh, sigmoid): then
 * nexp_act_backward may be given y for x, and a layer need not keep its pre-activations. */
int nexp_act_slope_from_output(nexp_act act);

/* Boundary handling of convolutions: zeros outside, or the nearest edge pixel repeated. */
typedef enum nexp_pad { NEXP_PAD_ZERO = 0, NEXP_PAD_REPLICATE = 1 } nexp_pad;

/* Geometry of a 2-D convolution over a batch in (N, C, H, W) layout, k x k kernel, padding
 * (k - 1) / 2 on every side. Ordinary: y (N, C_out, H_out, W_out) with H_out = (H + 2 pad - k) /
 * stride + 1 (k = 3, pad 1, stride 2: ceil(H / 2)); weight (C_out, C_in, k, k). Transposed (the
 * adjoint of an ordinary convolution from the output grid to the input grid): H_out = (H - 1)
 * stride + k - 2 pad (k = 2 or 4 with stride 2: 2 H), weight (C_in, C_out, k, k) as in PyTorch,
 * zero padding only. Both have an optional bias (C_out). */
typedef struct nexp_conv2d_shape {
    int N, C_in, H, W;
    int C_out, k, stride, pad;
    nexp_pad pad_mode;
    int transposed;
    int H_out, W_out;
} nexp_conv2d_shape;

/* Fills *s and checks it (sizes >= 1, k in 1..7, stride 1 or 2, output not empty). */
nexp_status nexp_conv2d_shape_init(nexp_conv2d_shape *s, int N, int C_in, int H, int W, int C_out, int k,
                                   int stride, nexp_pad pad_mode, int transposed, nexp_error *err);
/* Elements of the scratch buffer ("cols") a convolution call needs (0 for 1 x 1, stride 1). */
size_t nexp_conv2d_scratch_size(const nexp_conv2d_shape *s);
/* Elements of the weight. */
size_t nexp_conv2d_weight_size(const nexp_conv2d_shape *s);
/* Elements of the scratch buffer a B-cos call needs (ordinary geometry). */
size_t nexp_bcos_scratch_size(const nexp_conv2d_shape *s);

#define NEXP_LAYERS_DECLARE_(T, S)                                                                  \
    /* y = f(x), n values; y may equal x. */                                                        \
    void nexp_act_forward_##S(nexp_act act, size_t n, const T *x, T *y);                            \
    /* d = f'(x) given x and y = f(x); d may equal x or y. */                                        \
    void nexp_act_derivative_##S(nexp_act act, size_t n, const T *x, const T *y, T *d);             \
    /* dx += dy * f'(x) (x the input, y = f(x)); dx must not alias dy. */                           \
    void nexp_act_backward_##S(nexp_act act, size_t n, const T *x, const T *y, const T *dy, T *dx); \
    /* dx = dy * f'(x): the same without accumulating (no zeroing pass is needed before it). */     \
    void nexp_act_backward_set_##S(nexp_act act, size_t n, const T *x, const T *y, const T *dy, T *dx); \
                                                                                                    \
    /* Dense: x (B, in), w (out, in), b (out) or NULL, y (B, out) = x w^T + b. */                   \
    void nexp_dense_forward_##S(int B, int in, int out, const T *x, const T *w, const T *b, T *y);  \
    /* dx (B, in) += dy w; dw (out, in) += dy^T x; db (out) += sum over B of dy. */                 \
    void nexp_dense_backward_##S(int B, int in, int out, const T *x, const T *w, const T *dy,       \
                                 T *dx, T *dw, T *db);                                               \
    /* dx (B, in) = dy w: the input gradient of nexp_dense_backward, overwriting dx. */            \
    void nexp_dense_input_grad_##S(int B, int in, int out, const T *w, const T *dy, T *dx);          \
                                                                                                    \
    /* Convolution, ordinary geometry: x (N, C_in, H, W), w (C_out, C_in, k, k), b (C_out) or       \
     * NULL, y (N, C_out, H_out, W_out); cols: nexp_conv2d_scratch_size(s) elements. */             \
    void nexp_conv2d_forward_##S(const nexp_conv2d_shape *s, const T *x, const T *w, const T *b,   \
                                 T *y, T *cols);                                                    \
    void nexp_conv2d_backward_##S(const nexp_conv2d_shape *s, const T *x, const T *w, const T *dy, \
                                  T *dx, T *dw, T *db, T *cols);                                    \
    /* Transposed convolution (s->transposed): x (N, C_in, H, W), w (C_in, C_out, k, k). */         \
    void nexp_tconv2d_forward_##S(const nexp_conv2d_shape *s, const T *x, const T *w, const T *b,  \
                                  T *y, T *cols);                                                   \
    void nexp_tconv2d_backward_##S(const nexp_conv2d_shape *s, const T *x, const T *w, const T *dy,\
                                   T *dx, T *dw, T *db, T *cols);                                   \
    /* B-cos convolution (Boehle, Fritz, Schiele 2022), ordinary geometry, no bias: for each        \
     * output channel o and patch vector p, y = |cos(p, w_o)|^(B-1) (w_o / |w_o|)^T p, with        \
     * |p| = sqrt(p^T p + 1e-6). A B-cos dense layer is the case H = W = 1, k = 1.                  \
     * scratch: nexp_bcos_scratch_size(s) elements. */                                             \
    void nexp_bcos_forward_##S(const nexp_conv2d_shape *s, double B, const T *x, const T *w, T *y, \
                               T *scratch);                                                         \
    void nexp_bcos_backward_##S(const nexp_conv2d_shape *s, double B, const T *x, const T *w,      \
                                const T *dy, T *dx, T *dw, T *scratch);                             \
                                                                                                    \
    /* Bilinear 2x upsampling of P planes, half-pixel centres (PyTorch's align_corners = False):   \
     * x (P, H, W), y (P, Ho, Wo) with Ho = 2H or 2H - 1 (the last row dropped, to match an odd    \
     * skip connection), likewise Wo. */                                                            \
    void nexp_upsample2x_forward_##S(int P, int H, int W, int Ho, int Wo, const T *x, T *y);        \
    void nexp_upsample2x_backward_##S(int P, int H, int W, int Ho, int Wo, const T *dy, T *dx);     \
    /* 2 x 2 pooling, stride 2, of P planes: x (P, H, W), y (P, H / 2, W / 2) (an odd last row or   \
     * column is dropped). Max pooling routes the gradient to the first maximum (row-major). */     \
    void nexp_avgpool2_forward_##S(int P, int H, int W, const T *x, T *y);                          \
    void nexp_avgpool2_backward_##S(int P, int H, int W, const T *dy, T *dx);                       \
    void nexp_maxpool2_forward_##S(int P, int H, int W, const T *x, T *y);                          \
    void nexp_maxpool2_backward_##S(int P, int H, int W, const T *x, const T *dy, T *dx);           \
    /* Channel concatenation: a (N, Ca, H, W), b (N, Cb, H, W) -> y (N, Ca + Cb, H, W). */          \
    void nexp_concat_forward_##S(int N, int Ca, int Cb, size_t HW, const T *a, const T *b, T *y);   \
    void nexp_concat_backward_##S(int N, int Ca, int Cb, size_t HW, const T *dy, T *da, T *db);

NEXP_LAYERS_DECLARE_(float, f32)
NEXP_LAYERS_DECLARE_(double, f64)

#ifdef __cplusplus
}
#endif
#endif
