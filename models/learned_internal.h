/* learned_internal.h — kernels of the learned-tensor inpainting model, exposed for tests.
 *
 * All arrays are dense planes (no row padding): a (C, H, W) array holds value (c, y, x) at
 * [c * H * W + y * W + x]. Backward functions accumulate (+=) into the gradients they are given.
 */
#ifndef NEXP_LEARNED_INTERNAL_H
#define NEXP_LEARNED_INTERNAL_H

#include <stddef.h>

/* Number of network outputs per pixel: eigenvector (p, q), eigenvalue scores (s1, s2), alpha score. */
#define LEARNED_NOUT 5
/* Number of per-pixel stencil contributions: x, y, diagonal (1, 1), diagonal (1, -1). */
#define LEARNED_NW 4
/* Explicit time step: tau * (sum of stencil weights) <= 1 for every network output (see learned.c). */
#define LEARNED_TAU 0.2f
/* Regulariser of the eigenvector normalisation p^2 + q^2 + eps. */
#define LEARNED_EPS 0.05f
/* The network sees grey values 0..255 mapped to [-S, S]: S = 4 makes edges of a few grey levels
 * visible to the initial weights (S = 1 learned markedly slower in a 60-step comparison). */
#define LEARNED_INPUT_SCALE 4.0f
/* Flow-fed models: the normalised flow (unit root mean square spread) and the known mask are scaled
 * by this before the network reads them, about the spread of the scaled image. */
#define LEARNED_FLOW_SCALE 2.0f
/* and then bounded softly to (-B, B), B = LEARNED_FLOW_CLIP (2 spreads), by z / sqrt(1 + (z / B)^2):
 * a small object moving far faster than the rest would otherwise feed the network values far outside
 * what the synthetic scenes show it. */
#define LEARNED_FLOW_CLIP 4.0f
/* Cascade models: the coarser level's hidden features enter the finer network scaled by this and
 * bounded softly like the flow input (LEARNED_FLOW_CLIP). Unscaled, they are several times the size
 * of the image input, and Adam's first steps on the (zero-initialised) weights reading them drove
 * training to a standstill near homogeneous diffusion; scaled but unbounded, a full run trained well
 * for 3100 steps and then collapsed the same way within 100 steps. */
#define CASCADE_SCALE 0.1f
/* Leaky-ReLU slope of the network. */
#define LEARNED_LEAK 0.1f

/* Kernels run on one thread below this many pixels: fork/join would cost more than the work
 * (and on a loaded machine far more). Results do not depend on the thread count either way. */
#define LEARNED_PAR_MIN 16384
/* Pixels per im2col block of the 3 x 3 convolution: the reverse pass's blocks (its weight gradient
 * sums over them, so this fixes a training run's bits), and the forward pass's, smaller so that a
 * block's im2col matrix (9 cin x block floats: 1.2 MB for 32 channels) stays in L2 while sgemm reads
 * it. Forward blocks only split the output pixels: any block size gives the same bits. */
#define LEARNED_CONV_BLOCK 16384
#define LEARNED_CONV_BLOCK_FWD 1024
/* Workspace floats the convolution needs for cin input channels at width w. */
#define LEARNED_CONV_COL(cin, w) ((size_t)(cin) * 9 * (size_t)(LEARNED_CONV_BLOCK + (w)))

/* 2-D convolution, k = 1 or 3 ("same" size), x (cin, H, W), w (cout, cin, k, k), b (cout),
 * y (cout, H, W). The 3 x 3 case pads with zeros, or with mirror != 0 by mirroring (the border pixel
 * repeated, as the explicit steps' reflecting boundary), and runs as im2col + sgemm over blocks of
 * rows, spread over up to `slots` threads; col: workspace of slots * LEARNED_CONV_COL(cin, W) floats
 * (unused for k = 1). */
void learned_conv_forward(int cin, int cout, int k, int h, int w, const float *x, const float *wt, const float *b,
                          float *y, float *col, int slots, int mirror);
/* dx (may be NULL) += ..., dwt += ..., db += ...; col: workspace as above (recomputed from x). */
void learned_conv_backward(int cin, int cout, int k, int h, int w, const float *x, const float *wt, const float *dy,
                           float *dx, float *dwt, float *db, float *col, int mirror);

/* Tensor stencil contributions from network outputs: o (5, n) plus level bias lb (5), log_kappa of the
 * Perona-Malik diffusivity -> e (4, n). */
void learned_tensor_forward(size_t n, const float *o, const float *lb, float log_kappa, float *e);
/* do_ (5, n) += ..., dlb (5) += ..., *dlog_kappa += ... from de (4, n); scratch: 6 n floats (the
 * sums run in a fixed order, so the result is the same for every thread count). */
void learned_tensor_backward(size_t n, const float *o, const float *lb, float log_kappa, const float *de,
                             float *do_, float *dlb, float *dlog_kappa, float *scratch);
/* The tensor itself, for inspection: t (5, n) = eigenvector (ex, ey) of the first eigenvalue,
 * eigenvalues l1, l2 and alpha. */
void learned_tensor_describe(size_t n, const float *o, const float *lb, float log_kappa, float *t);

/* The edge weights of the stencil from its contributions e (4, H, W): wt (4, H, W), wt_k(i) =
 * (e_k(i) + e_k(i + d_k)) / 2 for d_k = (1, 0), (0, 1), (1, 1), (-1, 1); 0 where i + d_k is outside. */
void learned_edge_weights(int h, int w, const float *e, float *wt);
/* One explicit step on nc <= 8 channels: out = u + tau A(e) u at unknown pixels, out = f at known
 * (known[i] != 0). u, f, known, wt, out: planes of h rows of w values, p >= w apart (so (., H, p));
 * wt (4, H, p) from learned_edge_weights; u != out. */
void learned_step_forward(int nc, int h, int w, int p, const float *u, const float *f, const float *known,
                          const float *wt, float tau, float *out);
/* The row pitch inference gives a level of width w: w rounded up to 16 floats and kept off multiples
 * of 256, so that neighbouring rows do not fall into the same cache sets. */
int learned_pitch(int w);
/* Given dout, du += (I + tau A)^T ((1 - known) dout) and de += d/de. u is the step's input, wt the
 * edge weights of e. */
void learned_step_backward(int nc, int h, int w, const float *u, const float *known, const float *wt, float tau,
                           const float *dout, float *du, float *de);

/* Bilinear 2x upsampling (the coarse-to-fine transfer): coarse (nc, hc, wc) -> fine (nc, h, w), fine x at
 * coarse (x + 0.5) / 2 - 0.5 clamped to the grid; and its adjoint dcoarse += U^T dfine. */
void learned_upsample_forward(int nc, int hc, int wc, int h, int w, const float *coarse, float *fine);
void learned_upsample_backward(int nc, int hc, int wc, int h, int w, const float *dfine, float *dcoarse);

#endif
