/* Kernels of the learned-tensor inpainting model: convolution, tensor parametrisation, explicit
 * delta-stencil steps and the coarse-to-fine transfer, each with its backward pass.
 *
 * Stencil. The tensor D = [[a, b], [b, c]] at pixel i is split into nonnegative contributions along
 * the four grid directions x, y, (1, 1), (1, -1) following the delta stencil of Weickert, Welk &
 * Wickert (2013) with a per-pixel alpha in (0, 1/2) and beta = (1 - 2 alpha) sgn(b):
 *   ex = (1 - alpha) a - alpha c - beta b,          ey = (1 - alpha) c - alpha a - beta b,
 *   ep = (alpha (a + c) + (beta + 1) b) / 2,        em = (alpha (a + c) + (beta - 1) b) / 2.
 * For a constant tensor these give the consistent 3 x 3 stencil of div(D grad u). The weight of the
 * edge between pixel i and its neighbour n in direction k is (e_k(i) + e_k(n)) / 2, so the operator
 * is symmetric and conserves the mean; edges leaving the image are dropped (reflecting boundary).
 * These weights are computed once per level (learned_edge_weights) and read by every step.
 * ep, em >= 0 for every positive semidefinite D; ex and ey are clipped at 0 where a strongly
 * anisotropic tensor and alpha would make them negative, so every weight is nonnegative.
 *
 * Stability by construction: the eigenvalues lie in (0, 1], hence ex, ey <= 1, ep, em <= 1/2 and
 * ex + ey + ep + em <= 2 at every pixel, so the weights at a pixel sum to at most
 * 2 + (2 * 1 + 2 * 1 + 2 * 1/2 + 2 * 1/2) / 2 = 5. With tau = 1/5 every step is a convex combination
 * of the old values: the max-min principle holds whatever the network outputs.
 */
#include <cblas.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <omp.h>
#include <string.h>

#include "clones_internal.h"
#include "learned_internal.h"

/* ---- convolution ------------------------------------------------------------------------------ */

/* Output rows per im2col block: the workspace holds cin * 9 * LEARNED_CONV_ROWS(w) * w floats. */
static int block_rows(int block, int h, int w)
{
    int r = block / (w > 0 ? w : 1);
    return r < 1 ? 1 : (r > h ? h : r);
}

/* n, or n + 16 when n floats are a multiple of 1 KiB: rows that far apart fall into the same few
 * sets of the L1 cache, which a loop over neighbouring rows (or BLAS packing a matrix) overflows. */
static int off_cache_sets(int n)
{
    return n % 256 == 0 ? n + 16 : n;
}

/* The source row or column of output index i + k (k = -1, 0, 1) in [0, n): mirrored (half-sample
 * symmetric: index -1 reads 0, n reads n - 1, as the reflecting boundary of the explicit steps) or
 * -1 for zero padding. */
static int src_index(int i, int n, int mirror)
{
    if (i >= 0 && i < n) {
        return i;
    }
    return mirror ? (i < 0 ? 0 : n - 1) : -1;
}

/* col (cin * 9, (y1 - y0) * w; rows ld apart) for output rows [y0, y1); par: split the rows of col
 * over threads; mirror: mirrored padding, else zero padding. */
static void im2col3(int cin, int h, int w, int y0, int y1, const float *x, float *col, size_t ld, int par, int mirror)
{
    const size_t hw = (size_t)h * (size_t)w, bw = (size_t)(y1 - y0) * (size_t)w;
#pragma omp parallel for schedule(static) if (par && bw * 9 >= LEARNED_PAR_MIN)
    for (int r = 0; r < cin * 9; r++) {
        int ci = r / 9, ky = r % 9 / 3 - 1, kx = r % 3 - 1;
        const float *xp = x + (size_t)ci * hw;
        float *cp = col + (size_t)r * ld;
        for (int y = y0; y < y1; y++) {
            int sy = src_index(y + ky, h, mirror);
            float *crow = cp + (size_t)(y - y0) * w;
            if (sy < 0) {
                memset(crow, 0, (size_t)w * sizeof(float));
                continue;
            }
            /* the row shifted by kx (a plain copy), padded where it leaves the image */
            const float *xrow = xp + (size_t)sy * w;
            if (kx < 0) {
                if (w > 1) {
                    memcpy(crow + 1, xrow, (size_t)(w - 1) * sizeof(float));
                }
                crow[0] = mirror ? xrow[0] : 0.0f;
            } else if (kx > 0) {
                if (w > 1) {
                    memcpy(crow, xrow + 1, (size_t)(w - 1) * sizeof(float));
                }
                crow[w - 1] = mirror ? xrow[w - 1] : 0.0f;
            } else {
                memcpy(crow, xrow, (size_t)w * sizeof(float));
            }
        }
    }
}

/* dx += the scatter of col (cin * 9, (y1 - y0) * w) for output rows [y0, y1): the adjoint of im2col3. */
static void col2im3(int cin, int h, int w, int y0, int y1, const float *col, float *dx, int mirror)
{
    const size_t hw = (size_t)h * (size_t)w, bw = (size_t)(y1 - y0) * (size_t)w;
#pragma omp parallel for schedule(static) if (bw * 9 >= LEARNED_PAR_MIN)
    for (int ci = 0; ci < cin; ci++) {
        float *dp = dx + (size_t)ci * hw;
        for (int k = 0; k < 9; k++) {
            int ky = k / 3 - 1, kx = k % 3 - 1;
            const float *cp = col + ((size_t)ci * 9 + (size_t)k) * bw;
            for (int y = y0; y < y1; y++) {
                int sy = src_index(y + ky, h, mirror);
                if (sy < 0) {
                    continue;
                }
                const float *crow = cp + (size_t)(y - y0) * w;
                float *drow = dp + (size_t)sy * w;
                int x0 = kx < 0 ? 1 : 0, x1 = kx > 0 ? w - 1 : w;
                for (int xx = x0; xx < x1; xx++) {
                    drow[xx + kx] += crow[xx];
                }
                if (mirror && kx < 0) {
                    drow[0] += crow[0];
                } else if (mirror && kx > 0) {
                    drow[w - 1] += crow[w - 1];
                }
            }
        }
    }
}

void learned_conv_forward(int cin, int cout, int k, int h, int w, const float *x, const float *wt, const float *b,
                          float *y, float *col, int slots, int mirror)
{
    const int hw = h * w, kk = cin * k * k;
    /* in parallel: on a new buffer this is also where its pages are first touched */
#pragma omp parallel for schedule(static) if ((size_t)cout * (size_t)hw >= LEARNED_PAR_MIN)
    for (int co = 0; co < cout; co++) {
        float *yp = y + (size_t)co * hw;
        for (int i = 0; i < hw; i++) {
            yp[i] = b[co];
        }
    }
    if (k == 1) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cout, hw, kk, 1.0f, wt, kk, x, hw, 1.0f, y, hw);
        return;
    }
    /* blocks of rows, each thread im2col + sgemm into its own slot of col (BLAS runs on one
     * thread); a block's output rows belong to it alone, so results do not depend on the split */
    const int br = block_rows(LEARNED_CONV_BLOCK_FWD, h, w), nblocks = (h + br - 1) / br;
    const size_t slot = LEARNED_CONV_COL(cin, w);
#pragma omp parallel for schedule(dynamic) num_threads(slots > 0 ? slots : 1) if (slots > 1 && nblocks > 1)
    for (int bi = 0; bi < nblocks; bi++) {
        int y0 = bi * br, y1 = y0 + br < h ? y0 + br : h, bw = (y1 - y0) * w;
        float *c = col + (size_t)omp_get_thread_num() * slot;
        const int ld = off_cache_sets(bw);
        im2col3(cin, h, w, y0, y1, x, c, (size_t)ld, 0, mirror);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cout, bw, kk, 1.0f, wt, kk, c, ld, 1.0f,
                    y + (size_t)y0 * w, hw);
    }
}

void learned_conv_backward(int cin, int cout, int k, int h, int w, const float *x, const float *wt, const float *dy,
                           float *dx, float *dwt, float *db, float *col, int mirror)
{
    const int hw = h * w, kk = cin * k * k;
    for (int co = 0; co < cout; co++) {
        const float *dp = dy + (size_t)co * hw;
        double s = 0.0;
        for (int i = 0; i < hw; i++) {
            s += dp[i];
        }
        db[co] += (float)s;
    }
    if (k == 1) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cout, kk, hw, 1.0f, dy, hw, x, hw, 1.0f, dwt, kk);
        if (dx != NULL) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kk, hw, cout, 1.0f, wt, kk, dy, hw, 1.0f, dx, hw);
        }
        return;
    }
    const int br = block_rows(LEARNED_CONV_BLOCK, h, w);
    for (int y0 = 0; y0 < h; y0 += br) {
        int y1 = y0 + br < h ? y0 + br : h, bw = (y1 - y0) * w;
        const float *dyb = dy + (size_t)y0 * w;
        im2col3(cin, h, w, y0, y1, x, col, (size_t)bw, 1, mirror);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cout, kk, bw, 1.0f, dyb, hw, col, bw, 1.0f, dwt, kk);
        if (dx != NULL) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kk, bw, cout, 1.0f, wt, kk, dyb, hw, 0.0f, col, bw);
            col2im3(cin, h, w, y0, y1, col, dx, mirror);
        }
    }
}

/* ---- tensor ------------------------------------------------------------------------------------ */

typedef struct tensor_px {
    float p, q, n2, c2, s2, g1, g2, s1v, s2v, sig, alpha, mid, dif, a, b, c, ab;
} tensor_px;

static void tensor_eval(const float *o, size_t n, size_t i, const float *lb, float kappa, tensor_px *t)
{
    t->p = o[i] + lb[0];
    t->q = o[n + i] + lb[1];
    t->s1v = o[2 * n + i] + lb[2];
    t->s2v = o[3 * n + i] + lb[3];
    float r = o[4 * n + i] + lb[4];
    t->n2 = t->p * t->p + t->q * t->q + LEARNED_EPS;
    t->c2 = (t->p * t->p - t->q * t->q) / t->n2;
    t->s2 = 2.0f * t->p * t->q / t->n2;
    float k2 = kappa * kappa;
    t->g1 = 1.0f / (1.0f + t->s1v * t->s1v / k2);
    t->g2 = 1.0f / (1.0f + t->s2v * t->s2v / k2);
    t->sig = 1.0f / (1.0f + expf(-r));
    t->alpha = 0.5f * t->sig;
    t->mid = 0.5f * (t->g1 + t->g2);
    t->dif = 0.5f * (t->g1 - t->g2);
    t->a = t->mid + t->dif * t->c2;
    t->c = t->mid - t->dif * t->c2;
    t->b = t->dif * t->s2;
    t->ab = fabsf(t->b);
}

void learned_tensor_forward(size_t n, const float *o, const float *lb, float log_kappa, float *e)
{
    const float kappa = expf(log_kappa);
#pragma omp parallel for schedule(static) if (n >= LEARNED_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        tensor_px t;
        tensor_eval(o, n, i, lb, kappa, &t);
        float al = t.alpha, be = 1.0f - 2.0f * al;
        float ex = (1.0f - al) * t.a - al * t.c - be * t.ab;
        float ey = (1.0f - al) * t.c - al * t.a - be * t.ab;
        e[i] = ex > 0.0f ? ex : 0.0f;
        e[n + i] = ey > 0.0f ? ey : 0.0f;
        e[2 * n + i] = 0.5f * (al * (t.a + t.c) + t.b + be * t.ab);
        e[3 * n + i] = 0.5f * (al * (t.a + t.c) - t.b + be * t.ab);
    }
}

void learned_tensor_backward(size_t n, const float *o, const float *lb, float log_kappa, const float *de,
                             float *do_, float *dlb, float *dlog_kappa, float *scratch)
{
    const float kappa = expf(log_kappa), k2 = kappa * kappa;
    /* per-pixel gradients first, then sums in a fixed order: the result does not depend on the
     * thread count */
#pragma omp parallel for schedule(static) if (n >= LEARNED_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        tensor_px t;
        tensor_eval(o, n, i, lb, kappa, &t);
        float al = t.alpha, be = 1.0f - 2.0f * al;
        float ex = (1.0f - al) * t.a - al * t.c - be * t.ab;
        float ey = (1.0f - al) * t.c - al * t.a - be * t.ab;
        float dex = ex > 0.0f ? de[i] : 0.0f, dey = ey > 0.0f ? de[n + i] : 0.0f;
        float dep = de[2 * n + i], dem = de[3 * n + i];
        float dpm = dep + dem;
        float dA = dex * (1.0f - al) - dey * al + 0.5f * dpm * al;
        float dC = -dex * al + dey * (1.0f - al) + 0.5f * dpm * al;
        float dabs = -be * (dex + dey) + 0.5f * be * dpm;
        float sgn = t.b > 0.0f ? 1.0f : (t.b < 0.0f ? -1.0f : 0.0f);
        float dB = sgn * dabs + 0.5f * (dep - dem);
        float dal = dex * (-t.a - t.c + 2.0f * t.ab) + dey * (-t.c - t.a + 2.0f * t.ab) +
                    0.5f * dpm * (t.a + t.c - 2.0f * t.ab);
        float dmid = dA + dC;
        float ddif = (dA - dC) * t.c2 + dB * t.s2;
        float dc2 = (dA - dC) * t.dif, ds2 = dB * t.dif;
        float dg1 = 0.5f * (dmid + ddif), dg2 = 0.5f * (dmid - ddif);
        float ds1v = dg1 * (-2.0f * t.s1v / k2 * t.g1 * t.g1);
        float ds2v = dg2 * (-2.0f * t.s2v / k2 * t.g2 * t.g2);
        scratch[(size_t)LEARNED_NOUT * n + i] =
            dg1 * (2.0f * t.s1v * t.s1v / k2 * t.g1 * t.g1) + dg2 * (2.0f * t.s2v * t.s2v / k2 * t.g2 * t.g2);
        float dr = dal * 0.5f * t.sig * (1.0f - t.sig);
        float n22 = t.n2 * t.n2, p = t.p, q = t.q;
        float dp = dc2 * 2.0f * p * (2.0f * q * q + LEARNED_EPS) / n22 +
                   ds2 * 2.0f * q * (q * q - p * p + LEARNED_EPS) / n22;
        float dq = -dc2 * 2.0f * q * (2.0f * p * p + LEARNED_EPS) / n22 +
                   ds2 * 2.0f * p * (p * p - q * q + LEARNED_EPS) / n22;
        float g[LEARNED_NOUT] = { dp, dq, ds1v, ds2v, dr };
        for (int k = 0; k < LEARNED_NOUT; k++) {
            scratch[(size_t)k * n + i] = g[k];
            if (do_ != NULL) {
                do_[(size_t)k * n + i] += g[k];
            }
        }
    }
    for (int k = 0; k <= LEARNED_NOUT; k++) {
        double acc = 0.0;
        for (size_t i = 0; i < n; i++) {
            acc += scratch[(size_t)k * n + i];
        }
        if (k < LEARNED_NOUT) {
            dlb[k] += (float)acc;
        } else {
            *dlog_kappa += (float)acc;
        }
    }
}

void learned_tensor_describe(size_t n, const float *o, const float *lb, float log_kappa, float *t5)
{
    const float kappa = expf(log_kappa);
#pragma omp parallel for schedule(static) if (n >= LEARNED_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        tensor_px t;
        tensor_eval(o, n, i, lb, kappa, &t);
        /* D = mid I + dif * r * R(2 theta) with r = |(c2, s2)| <= 1: eigenvalues mid +- dif r */
        float r = sqrtf(t.c2 * t.c2 + t.s2 * t.s2);
        float theta = 0.5f * atan2f(t.s2, t.c2);
        t5[i] = cosf(theta);
        t5[n + i] = sinf(theta);
        t5[2 * n + i] = t.mid + t.dif * r;
        t5[3 * n + i] = t.mid - t.dif * r;
        t5[4 * n + i] = t.alpha;
    }
}

/* ---- explicit steps ------------------------------------------------------------------------------ */

/* Neighbour offsets: x, y, (1, 1), (-1, 1), each followed by its opposite. Edge k of pixel i joins i
 * and i + (nb_dx[2k], nb_dy[2k]); the neighbour in the opposite direction n has i as its edge-k
 * partner, so that edge's weight is stored at n. */
static const int nb_dx[8] = { 1, -1, 0, 0, 1, -1, -1, 1 };
static const int nb_dy[8] = { 0, 0, 1, -1, 1, -1, 1, -1 };

NEXP_CLONES_EXACT
void learned_edge_weights(int h, int w, const float *e, float *wt)
{
    const size_t hw = (size_t)h * (size_t)w;
#pragma omp parallel for schedule(static) if (hw >= LEARNED_PAR_MIN)
    for (int y = 0; y < h; y++) {
        for (int k = 0; k < 4; k++) {
            const float *ek = e + (size_t)k * hw;
            float *wk = wt + (size_t)k * hw + (size_t)y * w;
            const int dx = nb_dx[2 * k], dy = nb_dy[2 * k];
            for (int x = 0; x < w; x++) {
                const int xx = x + dx, yy = y + dy;
                const size_t i = (size_t)y * w + x;
                wk[x] = xx >= 0 && xx < w && yy < h ? 0.5f * (ek[i] + ek[(size_t)yy * w + xx]) : 0.0f;
            }
        }
    }
}

/* The weight of the edge from i to its neighbour n in direction j (0..7). */
static inline float edge_weight(const float *wt, size_t hw, int j, size_t i, size_t n)
{
    return wt[(size_t)(j >> 1) * hw + ((j & 1) ? n : i)];
}

/* The forward step reads and writes planes with a row pitch p >= w (plane size h p): inference pads
 * wide levels (learned_pitch), training passes p = w. */

/* One pixel of a step, any position (the border skips missing neighbours). */
static NEXP_CLONE_INLINE void step_pixel(int nc, int h, int w, int p, int x, int y, const float *u, const float *f,
                                         const float *known, const float *wt, float tau, float *out)
{
    const size_t hw = (size_t)h * (size_t)p, i = (size_t)y * p + x;
    if (known[i] != 0.0f) {
        for (int c = 0; c < nc; c++) {
            out[c * hw + i] = f[c * hw + i];
        }
        return;
    }
    float wgt[8];
    size_t ni[8];
    int m = 0;
    for (int k = 0; k < 8; k++) {
        int xx = x + nb_dx[k], yy = y + nb_dy[k];
        if (xx < 0 || xx >= w || yy < 0 || yy >= h) {
            continue;
        }
        ni[m] = (size_t)yy * p + xx;
        wgt[m] = edge_weight(wt, hw, k, i, ni[m]);
        m++;
    }
    for (int c = 0; c < nc; c++) {
        const float *uc = u + c * hw;
        float s = 0.0f;
        for (int j = 0; j < m; j++) {
            s += wgt[j] * (uc[ni[j]] - uc[i]);
        }
        out[c * hw + i] = uc[i] + tau * s;
    }
}

/* The interior of row y (x = 1 .. w - 2) of channel c: the same operations in the same order as
 * step_pixel, branch-free, so it vectorises and gives identical results. */
static NEXP_CLONE_INLINE void step_row_interior(int w, size_t p, size_t hw, size_t row, const float *restrict uc,
                                                const float *restrict fc, const float *restrict known,
                                                const float *restrict wt, float tau, float *restrict oc)
{
    const float *w0 = wt, *w1 = wt + hw, *w2 = wt + 2 * hw, *w3 = wt + 3 * hw;
#pragma omp simd
    for (int x = 1; x < w - 1; x++) {
        const size_t i = row + (size_t)x;
        const float ui = uc[i];
        float s = 0.0f;
        s += w0[i] * (uc[i + 1] - ui);
        s += w0[i - 1] * (uc[i - 1] - ui);
        s += w1[i] * (uc[i + p] - ui);
        s += w1[i - p] * (uc[i - p] - ui);
        s += w2[i] * (uc[i + p + 1] - ui);
        s += w2[i - p - 1] * (uc[i - p - 1] - ui);
        s += w3[i] * (uc[i + p - 1] - ui);
        s += w3[i - p + 1] * (uc[i - p + 1] - ui);
        const float fi = fc[i], ri = ui + tau * s;
        oc[i] = known[i] != 0.0f ? fi : ri;
    }
}

/* Compiled per instruction set (NEXP_CLONES_EXACT: no fused multiply-adds, so every clone and the
 * border code give the same bits). */
NEXP_CLONES_EXACT
void learned_step_forward(int nc, int h, int w, int p, const float *u, const float *f, const float *known,
                          const float *wt, float tau, float *out)
{
    const size_t hw = (size_t)h * (size_t)p;
#pragma omp parallel for schedule(static) if ((size_t)h * (size_t)w >= LEARNED_PAR_MIN)
    for (int y = 0; y < h; y++) {
        if (y == 0 || y == h - 1 || w < 3) {
            for (int x = 0; x < w; x++) {
                step_pixel(nc, h, w, p, x, y, u, f, known, wt, tau, out);
            }
            continue;
        }
        const size_t row = (size_t)y * p;
        step_pixel(nc, h, w, p, 0, y, u, f, known, wt, tau, out);
        for (int c = 0; c < nc; c++) {
            step_row_interior(w, (size_t)p, hw, row, u + c * hw, f + c * hw, known, wt, tau, out + c * hw);
        }
        step_pixel(nc, h, w, p, w - 1, y, u, f, known, wt, tau, out);
    }
}

int learned_pitch(int w)
{
    /* the step's 13 streams of a pixel and its neighbours above and below: 2.3x slower at w = 1024
     * without the offset */
    return off_cache_sets((w + 15) / 16 * 16);
}

/* The reverse of one pixel's step, any position. */
static NEXP_CLONE_INLINE void step_pixel_backward(int nc, int h, int w, int x, int y, const float *u,
                                                  const float *known, const float *wt, float tau, const float *dout,
                                                  float *du, float *de)
{
    const size_t hw = (size_t)h * (size_t)w, i = (size_t)y * w + x;
    float hi_[8];
    int unknown_i = known[i] == 0.0f;
    for (int c = 0; c < nc; c++) {
        hi_[c] = unknown_i ? dout[c * hw + i] : 0.0f;
    }
    float acc[8] = { 0 };
    for (int k = 0; k < 8; k++) {
        int xx = x + nb_dx[k], yy = y + nb_dy[k];
        if (xx < 0 || xx >= w || yy < 0 || yy >= h) {
            continue;
        }
        size_t n = (size_t)yy * w + xx;
        float wgt = edge_weight(wt, hw, k, i, n);
        int unknown_n = known[n] == 0.0f;
        float dw = 0.0f;
        for (int c = 0; c < nc; c++) {
            float hn = unknown_n ? dout[c * hw + n] : 0.0f;
            acc[c] += wgt * (hn - hi_[c]);
            dw += (hi_[c] - hn) * (u[c * hw + n] - u[c * hw + i]);
        }
        /* the edge (i, n) is visited from both ends; each visit adds the half that belongs to
         * e_k(i) */
        de[(size_t)(k >> 1) * hw + i] += 0.5f * tau * dw;
    }
    for (int c = 0; c < nc; c++) {
        du[c * hw + i] += hi_[c] + tau * acc[c];
    }
}

/* The interior of row y for two channels (flow): step_pixel_backward's operations in its order,
 * branch-free, so it vectorises and gives identical results. */
static NEXP_CLONE_INLINE void step_row_interior_backward2(int w, size_t hw, size_t row, const float *restrict u,
                                                          const float *restrict known, const float *restrict wt,
                                                          float tau, const float *restrict dout, float *restrict du,
                                                          float *restrict de)
{
    const float *u0 = u, *u1 = u + hw, *g0 = dout, *g1 = dout + hw;
    const ptrdiff_t W = w;
#pragma omp simd
    for (int x = 1; x < w - 1; x++) {
        const size_t i = row + (size_t)x;
        const int unknown_i = known[i] == 0.0f;
        const float gi0 = g0[i], gi1 = g1[i];
        const float hi0 = unknown_i ? gi0 : 0.0f, hi1 = unknown_i ? gi1 : 0.0f;
        float acc0 = 0.0f, acc1 = 0.0f;
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++) {
            /* unrolled, nb_dx and nb_dy are constants: n is i plus a fixed offset, a plain vector load */
            const size_t n = (size_t)((ptrdiff_t)i + nb_dy[k] * W + nb_dx[k]);
            const float wgt = wt[(size_t)(k >> 1) * hw + ((k & 1) ? n : i)];
            const int unknown_n = known[n] == 0.0f;
            const float gn0 = g0[n], gn1 = g1[n];
            const float hn0 = unknown_n ? gn0 : 0.0f, hn1 = unknown_n ? gn1 : 0.0f;
            float dw = 0.0f;
            acc0 += wgt * (hn0 - hi0);
            dw += (hi0 - hn0) * (u0[n] - u0[i]);
            acc1 += wgt * (hn1 - hi1);
            dw += (hi1 - hn1) * (u1[n] - u1[i]);
            de[(size_t)(k >> 1) * hw + i] += 0.5f * tau * dw;
        }
        du[i] += hi0 + tau * acc0;
        du[hw + i] += hi1 + tau * acc1;
    }
}

NEXP_CLONES_EXACT
void learned_step_backward(int nc, int h, int w, const float *u, const float *known, const float *wt, float tau,
                           const float *dout, float *du, float *de)
{
    const size_t hw = (size_t)h * (size_t)w;
#pragma omp parallel for schedule(static) if (hw >= LEARNED_PAR_MIN)
    for (int y = 0; y < h; y++) {
        if (nc != 2 || y == 0 || y == h - 1 || w < 3) {
            for (int x = 0; x < w; x++) {
                step_pixel_backward(nc, h, w, x, y, u, known, wt, tau, dout, du, de);
            }
            continue;
        }
        step_pixel_backward(nc, h, w, 0, y, u, known, wt, tau, dout, du, de);
        step_row_interior_backward2(w, hw, (size_t)y * w, u, known, wt, tau, dout, du, de);
        step_pixel_backward(nc, h, w, w - 1, y, u, known, wt, tau, dout, du, de);
    }
}

/* ---- coarse-to-fine transfer ---------------------------------------------------------------------- */

static void interp_coord(int i, int nfine, int ncoarse, int *i0, int *i1, float *a)
{
    double s = (i + 0.5) * ncoarse / (double)nfine - 0.5;
    if (s < 0.0) {
        s = 0.0;
    }
    int k = (int)s;
    if (k > ncoarse - 1) {
        k = ncoarse - 1;
    }
    *i0 = k;
    *i1 = k + 1 < ncoarse ? k + 1 : ncoarse - 1;
    float t = (float)(s - k);
    *a = t > 1.0f ? 1.0f : t;
}

void learned_upsample_forward(int nc, int hc, int wc, int h, int w, const float *coarse, float *fine)
{
    /* the horizontal coordinates once, then row by row and channel by channel */
    int *xi = malloc(2 * (size_t)w * sizeof(int));
    float *ax = malloc((size_t)w * sizeof(float));
    const int tables = xi != NULL && ax != NULL;
    if (tables) {
        for (int x = 0; x < w; x++) {
            interp_coord(x, w, wc, &xi[2 * x], &xi[2 * x + 1], &ax[x]);
        }
    }
#pragma omp parallel for schedule(static) if ((size_t)h * (size_t)w >= LEARNED_PAR_MIN)
    for (int y = 0; y < h; y++) {
        int y0, y1;
        float ay;
        interp_coord(y, h, hc, &y0, &y1, &ay);
        for (int c = 0; c < nc; c++) {
            const float *r0 = coarse + ((size_t)c * hc + y0) * wc, *r1 = coarse + ((size_t)c * hc + y1) * wc;
            float *out = fine + ((size_t)c * h + y) * w;
            for (int x = 0; x < w; x++) {
                int x0, x1;
                float a;
                if (tables) {
                    x0 = xi[2 * x];
                    x1 = xi[2 * x + 1];
                    a = ax[x];
                } else {
                    interp_coord(x, w, wc, &x0, &x1, &a);
                }
                float top = r0[x0] + a * (r0[x1] - r0[x0]);
                float bot = r1[x0] + a * (r1[x1] - r1[x0]);
                out[x] = top + ay * (bot - top);
            }
        }
    }
    free(xi);
    free(ax);
}

void learned_upsample_backward(int nc, int hc, int wc, int h, int w, const float *dfine, float *dcoarse)
{
    /* serial over fine pixels per channel: several fine pixels scatter into one coarse pixel */
#pragma omp parallel for schedule(static) if ((size_t)h * (size_t)w >= LEARNED_PAR_MIN)
    for (int c = 0; c < nc; c++) {
        float *dc = dcoarse + (size_t)c * hc * wc;
        for (int y = 0; y < h; y++) {
            int y0, y1;
            float ay;
            interp_coord(y, h, hc, &y0, &y1, &ay);
            for (int x = 0; x < w; x++) {
                int x0, x1;
                float ax;
                interp_coord(x, w, wc, &x0, &x1, &ax);
                float g = dfine[((size_t)c * h + y) * w + x];
                dc[y0 * wc + x0] += (1.0f - ay) * (1.0f - ax) * g;
                dc[y0 * wc + x1] += (1.0f - ay) * ax * g;
                dc[y1 * wc + x0] += ay * (1.0f - ax) * g;
                dc[y1 * wc + x1] += ay * ax * g;
            }
        }
    }
}
