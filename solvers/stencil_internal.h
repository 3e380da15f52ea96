/* stencil_internal.h — pure kernels of the delta stencil (Weickert, Welk & Wickert 2013).
 *
 *   nexp_stencil_w w = { wx, wy, wp, wm };                       // row 0 of four weight planes
 *   nexp_stencil_weights(g, ca, cb, cc, NULL, 0.25f, w, 0, g.h);  // cell tensors -> edge weights
 *   nexp_stencil_apply(g, w, 1, plane, u, NULL, out, 0.2f, 1.0f, 0.0f, NULL, 0, g.h);  // out = u + 0.2 A u
 *
 * Not installed; used by solvers/diffusion*.c, solvers/delta_step.c and tests. Every kernel takes
 * pointers, sizes, strides and a row range [y0, y1), allocates nothing, prints nothing and runs its
 * rows with `#pragma omp parallel for`; every output value is computed by one thread in a fixed
 * order, so results are bit-identical for any thread count.
 *
 * Discretisation. Pixels sit at integer (x, y) on a w x h grid; the diffusion tensor D = [a b; b c]
 * and the stencil parameter alpha live on the staggered grid of (w - 1) x (h - 1) cells, cell (i, j)
 * being the square with corners (i, j), (i + 1, j), (i, j + 1), (i + 1, j + 1) (cell planes share
 * the pixel stride; their last column and row are unused). With beta = (1 - 2 alpha) sgn(b), a cell
 * couples its corners with the weights
 *     ex = ((1 - alpha) a - alpha c - beta b) / 2   on each of its two x edges,
 *     ey = ((1 - alpha) c - alpha a - beta b) / 2   on each of its two y edges,
 *     dp = (alpha (a + c) + (1 + beta) b) / 2       on the diagonal (i, j)-(i + 1, j + 1),
 *     dm = (alpha (a + c) + (beta - 1) b) / 2       on the diagonal (i + 1, j)-(i, j + 1),
 * the cell form of the delta stencil: summed over the cells around a pixel it is the stencil of the
 * paper with the tensor entries averaged onto the staggered grid, and it is consistent with
 * div(D grad u) for every alpha (x edges: a = 2 ex + dp + dm, mixed term: dp - dm = b).
 * Reflecting boundaries: a mirrored ghost cell outside the image (its b is zero, the mirror of b
 * being -b) adds a/2 to an x edge on the top or bottom border and c/2 to a y edge on the left or
 * right border. The operator (A u)_p = sum_q w_pq (u_q - u_p) is therefore symmetric, conserves the
 * mean exactly, and for a = c = 1, b = 0 is diagonalised by the DCT-II (the spectral reference).
 *
 * Edge weights, one plane each, indexed by the pixel where the edge starts:
 *   wx[y][x]: (x, y)-(x + 1, y)        wy[y][x]: (x, y)-(x, y + 1)
 *   wp[y][x]: (x, y)-(x + 1, y + 1)    wm[y][x]: (x + 1, y)-(x, y + 1)
 * Weights of edges that leave the image are zero. Each plane has one extra zero row before row 0
 * (w.wx - stride .. w.wx - 1 is valid and zero), so kernels read row y - 1 without a branch.
 */
#ifndef NEXP_STENCIL_INTERNAL_H
#define NEXP_STENCIL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct nexp_grid {
    int w, h;      /* pixels; w >= 2, h >= 2 */
    size_t stride; /* floats from one row to the next, for every plane below */
} nexp_grid;

typedef struct nexp_stencil_w {
    float *wx, *wy, *wp, *wm; /* row 0 of each weight plane; row -1 exists and is zero */
} nexp_stencil_w;

/* Diffusivities g(s2) of the squared gradient magnitude s2 with contrast lambda. */
typedef enum nexp_stencil_g {
    NEXP_STENCIL_G_PM = 0,          /* Perona-Malik: 1 / (1 + s2 / lambda^2) */
    NEXP_STENCIL_G_CHARBONNIER = 1, /* 1 / sqrt(1 + s2 / lambda^2) */
    NEXP_STENCIL_G_EXP = 2          /* Weickert: 1 - exp(-3.31488 / (s2 / lambda^2)^4), g(0) = 1 */
} nexp_stencil_g;

/* How a cell tensor is made from the structure tensor J = [j00 j01; j01 j11]. */
typedef enum nexp_stencil_tensor {
    NEXP_STENCIL_T_ISOTROPIC = 0, /* D = g(trace J) I */
    NEXP_STENCIL_T_EED = 1,       /* eigenvalue g(mu1) across the dominant direction, 1 along it */
    NEXP_STENCIL_T_CED = 2        /* eps across, eps + (1 - eps) exp(-lambda^4 / (mu1 - mu2)^2) along */
} nexp_stencil_tensor;

#define NEXP_STENCIL_CED_EPS 0.001f

float nexp_stencil_diffusivity(nexp_stencil_g g, float s2, float inv_lambda2);

/* Cell averages of per-pixel planes: cx[j][i] = (p[j][i] + p[j][i+1] + p[j+1][i] + p[j+1][i+1]) / 4
 * for each of the n planes p[k] -> c[k] (n <= 4); cell rows [y0, y1) within [0, h - 1). */
void nexp_stencil_cells_from_pixels(nexp_grid g, int n, const float *const *p, float *const *c, int y0, int y1);

/* Edge weights from cell tensors ca, cb, cc and per-cell alpha (cal, or the constant alpha when cal
 * is NULL); pixel rows [y0, y1) within [0, h). */
void nexp_stencil_weights(nexp_grid g, const float *ca, const float *cb, const float *cc, const float *cal,
                          float alpha, nexp_stencil_w w, int y0, int y1);

/* One step on nc channels (planes plane floats apart) for pixel rows [y0, y1):
 *   out = c1 (u + tau A u) + c2 prev      (prev NULL: out = u + tau A u, c1 and c2 unused)
 * and out = u at pixels where known is nonzero (known NULL: none; one byte per pixel, same stride).
 * out must not alias u or prev. */
void nexp_stencil_apply(nexp_grid g, nexp_stencil_w w, int nc, size_t plane, const float *u, const float *prev,
                        float *out, float tau, float c1, float c2, const uint8_t *known, int y0, int y1);

/* out = A u on nc channels (no mask, no step): the semi-discrete right-hand side. */
void nexp_stencil_apply_op(nexp_grid g, nexp_stencil_w w, int nc, size_t plane, const float *u, float *out, int y0,
                           int y1);

/* Adjoint of nexp_stencil_apply without prev (A is symmetric): with r = du_next masked to zero at
 * known pixels, du += r + tau A r + (du_next at known pixels). Shapes (nc, h, stride). */
void nexp_stencil_apply_adjoint(nexp_grid g, nexp_stencil_w w, int nc, size_t plane, const float *du_next,
                                float *du, float tau, const uint8_t *known, int y0, int y1);

/* Weight gradients of one step u_next = u + tau A u summed over channels, with r as above:
 * dw_e += tau (u_q - u_p) (r_p - r_q) for each edge e = (p, q). Pixel rows [y0, y1). */
void nexp_stencil_weight_grads(nexp_grid g, int nc, size_t plane, const float *u, const float *du_next, float tau,
                               const uint8_t *known, nexp_stencil_w dw, int y0, int y1);

/* Cell-tensor gradients from weight gradients: dca, dcb, dcc, dcal = (written, not accumulated)
 * derivatives with respect to the cell values ca, cb, cc, cal (cal NULL: constant alpha, dcal
 * unused and may be NULL). Cell rows [y0, y1) within [0, h - 1). */
void nexp_stencil_cell_grads(nexp_grid g, const float *ca, const float *cb, const float *cc, const float *cal,
                             float alpha, nexp_stencil_w dw, float *dca, float *dcb, float *dcc, float *dcal, int y0, int y1);

/* Adjoint of nexp_stencil_cells_from_pixels: dp[k][y][x] += sum over the (up to four) cells around
 * (x, y) of dc[k] / 4. Pixel rows [y0, y1). */
void nexp_stencil_pixels_from_cells_adjoint(nexp_grid g, int n, const float *const *dc, float *const *dp, int y0,
                                            int y1);

/* Structure tensor at cells summed over nc channels of u: j00 = sum ux^2, j01 = sum ux uy,
 * j11 = sum uy^2 with ux, uy the 2 x 2 cell differences. Cell rows [y0, y1). */
void nexp_stencil_structure(nexp_grid g, int nc, size_t plane, const float *u, float *j00, float *j01, float *j11,
                            int y0, int y1);

/* Cell tensors from structure tensors (in place is allowed: ca may be j00 and so on). */
void nexp_stencil_tensor_from_structure(nexp_grid g, nexp_stencil_tensor kind, nexp_stencil_g gfun,
                                        float lambda, const float *j00, const float *j01, const float *j11,
                                        float *ca, float *cb, float *cc, int y0, int y1);

/* Largest (1 - alpha) * lambda_max(D) over cells (the step bound is 1 / (4 times it)); also reports
 * the first cell whose tensor is not positive semidefinite (*bad_x = -1 if none). Serial reduction. */
float nexp_stencil_bound(nexp_grid g, const float *ca, const float *cb, const float *cc, const float *cal,
                         float alpha, int *bad_x, int *bad_y);

#endif
