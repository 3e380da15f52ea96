/* The delta-stencil kernels (see stencil_internal.h for the discretisation). */
#include "clones_internal.h"
#include "stencil_internal.h"

#include <math.h>
#include <stddef.h>

#define ROW(p, y) ((p) + (ptrdiff_t)(y) * (ptrdiff_t)g.stride)
/* Row ranges of fewer pixels run on one thread: below this the fork/join costs more than the work
 * (results do not depend on it: every value is computed the same way by whichever thread). */
#define PAR_MIN_PIXELS ((size_t)1 << 14)
#define PAR_IF if ((size_t)g.w * (size_t)(y1 > y0 ? y1 - y0 : 0) >= PAR_MIN_PIXELS)

float nexp_stencil_diffusivity(nexp_stencil_g gfun, float s2, float inv_lambda2)
{
    float q = s2 * inv_lambda2;
    switch (gfun) {
    case NEXP_STENCIL_G_PM:
        return 1.0f / (1.0f + q);
    case NEXP_STENCIL_G_CHARBONNIER:
        return 1.0f / sqrtf(1.0f + q);
    case NEXP_STENCIL_G_EXP:
    default:
        if (q <= 0.0f) {
            return 1.0f;
        }
        {
            float q2 = q * q;
            return 1.0f - expf(-3.31488f / (q2 * q2));
        }
    }
}

void nexp_stencil_cells_from_pixels(nexp_grid g, int n, const float *const *p, float *const *c, int y0, int y1)
{
#pragma omp parallel for schedule(static) PAR_IF
    for (int y = y0; y < y1; y++) {
        for (int k = 0; k < n; k++) {
            const float *r0 = ROW(p[k], y);
            const float *r1 = ROW(p[k], y + 1);
            float *out = ROW(c[k], y);
            for (int x = 0; x < g.w - 1; x++) {
                out[x] = 0.25f * ((r0[x] + r0[x + 1]) + (r1[x] + r1[x + 1]));
            }
        }
    }
}

/* Cell weights (ex, ey, dp, dm) of one cell. */
static inline void cell_weights(float a, float b, float c, float al, float *ex, float *ey, float *dp, float *dm)
{
    float bb = (1.0f - 2.0f * al) * fabsf(b); /* beta b */
    float s = al * (a + c);
    *ex = 0.5f * ((1.0f - al) * a - al * c - bb);
    *ey = 0.5f * ((1.0f - al) * c - al * a - bb);
    *dp = 0.5f * (s + b + bb);
    *dm = 0.5f * (s - b + bb);
}

void nexp_stencil_weights(nexp_grid g, const float *ca, const float *cb, const float *cc, const float *cal,
                          float alpha, nexp_stencil_w w, int y0, int y1)
{
    const int W = g.w, H = g.h;
#pragma omp parallel for schedule(static) PAR_IF
    for (int y = y0; y < y1; y++) {
        float *wx = ROW(w.wx, y), *wy = ROW(w.wy, y), *wp = ROW(w.wp, y), *wm = ROW(w.wm, y);
        const int below = y - 1 >= 0 ? y - 1 : -1;  /* cell row under the x edges of row y */
        const int above = y < H - 1 ? y : -1;       /* cell row over them (also this row's cells) */
        for (int x = 0; x < W - 1; x++) {
            float ex, ey, dp, dm, s = 0.0f;
            if (below >= 0) {
                size_t i = (size_t)below * g.stride + (size_t)x;
                cell_weights(ca[i], cb[i], cc[i], cal ? cal[i] : alpha, &ex, &ey, &dp, &dm);
                s += ex;
            } else {
                s += 0.5f * ca[x]; /* ghost cell below row 0 mirrors cell row 0 */
            }
            if (above >= 0) {
                size_t i = (size_t)above * g.stride + (size_t)x;
                cell_weights(ca[i], cb[i], cc[i], cal ? cal[i] : alpha, &ex, &ey, &dp, &dm);
                s += ex;
            } else {
                s += 0.5f * ca[(size_t)(H - 2) * g.stride + (size_t)x];
            }
            wx[x] = s;
        }
        wx[W - 1] = 0.0f;
        if (y == H - 1) {
            for (int x = 0; x < W; x++) {
                wy[x] = 0.0f;
                wp[x] = 0.0f;
                wm[x] = 0.0f;
            }
            continue;
        }
        const size_t r = (size_t)y * g.stride;
        float prev_ey = 0.5f * cc[r]; /* ghost cell left of column 0 */
        for (int x = 0; x < W - 1; x++) {
            float ex, ey, dp, dm;
            size_t i = r + (size_t)x;
            cell_weights(ca[i], cb[i], cc[i], cal ? cal[i] : alpha, &ex, &ey, &dp, &dm);
            wy[x] = prev_ey + ey;
            wp[x] = dp;
            wm[x] = dm;
            prev_ey = ey;
        }
        wy[W - 1] = prev_ey + 0.5f * cc[r + (size_t)(W - 2)];
        wp[W - 1] = 0.0f;
        wm[W - 1] = 0.0f;
    }
}

/* (A v)(x) on one row, for any column, with explicit boundary checks. vm, v0, vp: rows y-1, y, y+1
 * (vm = v0 at the top, vp = v0 at the bottom: their weights are zero there). */
static inline float av_checked(int W, const float *wx, const float *wy, const float *wym,
                               const float *wp, const float *wpm, const float *wm, const float *wmm,
                               const float *vm, const float *v0, const float *vp, int x)
{
    const float c = v0[x];
    float s = wy[x] * (vp[x] - c) + wym[x] * (vm[x] - c);
    if (x + 1 < W) {
        s += wx[x] * (v0[x + 1] - c) + wp[x] * (vp[x + 1] - c) + wmm[x] * (vm[x + 1] - c);
    }
    if (x > 0) {
        s += wx[x - 1] * (v0[x - 1] - c) + wpm[x - 1] * (vm[x - 1] - c) + wm[x - 1] * (vp[x - 1] - c);
    }
    return s;
}

NEXP_CLONES_EXACT
void nexp_stencil_apply(nexp_grid g, nexp_stencil_w w, int nc, size_t plane, const float *u, const float *prev,
                        float *out, float tau, float c1, float c2, const uint8_t *known, int y0, int y1)
{
    const int W = g.w, H = g.h;
#pragma omp parallel for schedule(static) PAR_IF
    for (int y = y0; y < y1; y++) {
        const float *restrict wx = ROW(w.wx, y), *restrict wy = ROW(w.wy, y), *restrict wp = ROW(w.wp, y),
                              *restrict wm = ROW(w.wm, y);
        const float *restrict wym = ROW(w.wy, y - 1), *restrict wpm = ROW(w.wp, y - 1),
                              *restrict wmm = ROW(w.wm, y - 1);
        const int ym = y > 0 ? y - 1 : y, yp = y < H - 1 ? y + 1 : y;
        for (int k = 0; k < nc; k++) {
            const float *base = u + (size_t)k * plane;
            const float *restrict vm = ROW(base, ym), *restrict v0 = ROW(base, y), *restrict vp = ROW(base, yp);
            float *restrict o = ROW(out + (size_t)k * plane, y);
            const float *restrict pr = prev ? ROW(prev + (size_t)k * plane, y) : NULL;
            float s0 = av_checked(W, wx, wy, wym, wp, wpm, wm, wmm, vm, v0, vp, 0);
            float sw = av_checked(W, wx, wy, wym, wp, wpm, wm, wmm, vm, v0, vp, W - 1);
            if (pr == NULL) {
#pragma omp simd
                for (int x = 1; x < W - 1; x++) {
                    const float c = v0[x];
                    float s = wx[x] * (v0[x + 1] - c) + wx[x - 1] * (v0[x - 1] - c) + wy[x] * (vp[x] - c) +
                              wym[x] * (vm[x] - c) + wp[x] * (vp[x + 1] - c) + wpm[x - 1] * (vm[x - 1] - c) +
                              wm[x - 1] * (vp[x - 1] - c) + wmm[x] * (vm[x + 1] - c);
                    o[x] = c + tau * s;
                }
                o[0] = v0[0] + tau * s0;
                o[W - 1] = v0[W - 1] + tau * sw;
            } else {
#pragma omp simd
                for (int x = 1; x < W - 1; x++) {
                    const float c = v0[x];
                    float s = wx[x] * (v0[x + 1] - c) + wx[x - 1] * (v0[x - 1] - c) + wy[x] * (vp[x] - c) +
                              wym[x] * (vm[x] - c) + wp[x] * (vp[x + 1] - c) + wpm[x - 1] * (vm[x - 1] - c) +
                              wm[x - 1] * (vp[x - 1] - c) + wmm[x] * (vm[x + 1] - c);
                    o[x] = c1 * (c + tau * s) + c2 * pr[x];
                }
                o[0] = c1 * (v0[0] + tau * s0) + c2 * pr[0];
                o[W - 1] = c1 * (v0[W - 1] + tau * sw) + c2 * pr[W - 1];
            }
            if (known != NULL) {
                const uint8_t *kn = known + (size_t)y * g.stride;
                for (int x = 0; x < W; x++) {
                    if (kn[x]) {
                        o[x] = v0[x];
                    }
                }
            }
        }
    }
}

NEXP_CLONES_EXACT
void nexp_stencil_apply_op(nexp_grid g, nexp_stencil_w w, int nc, size_t plane, const float *u, float *out, int y0,
                           int y1)
{
    const int W = g.w, H = g.h;
#pragma omp parallel for schedule(static) PAR_IF
    for (int y = y0; y < y1; y++) {
        const float *restrict wx = ROW(w.wx, y), *restrict wy = ROW(w.wy, y), *restrict wp = ROW(w.wp, y),
                              *restrict wm = ROW(w.wm, y);
        const float *restrict wym = ROW(w.wy, y - 1), *restrict wpm = ROW(w.wp, y - 1),
                              *restrict wmm = ROW(w.wm, y - 1);
        const int ym = y > 0 ? y - 1 : y, yp = y < H - 1 ? y + 1 : y;
        for (int k = 0; k < nc; k++) {
            const float *base = u + (size_t)k * plane;
            const float *restrict vm = ROW(base, ym), *restrict v0 = ROW(base, y), *restrict vp = ROW(base, yp);
            float *restrict o = ROW(out + (size_t)k * plane, y);
            o[0] = av_checked(W, wx, wy, wym, wp, wpm, wm, wmm, vm, v0, vp, 0);
            o[W - 1] = av_checked(W, wx, wy, wym, wp, wpm, wm, wmm, vm, v0, vp, W - 1);
#pragma omp simd
            for (int x = 1; x < W - 1; x++) {
                const float c = v0[x];
                o[x] = wx[x] * (v0[x + 1] - c) + wx[x - 1] * (v0[x - 1] - c) + wy[x] * (vp[x] - c) +
                       wym[x] * (vm[x] - c) + wp[x] * (vp[x + 1] - c) + wpm[x - 1] * (vm[x - 1] - c) +
                       wm[x - 1] * (vp[x - 1] - c) + wmm[x] * (vm[x + 1] - c);
            }
        }
    }
}

/* r = du_next with zeros at known pixels, one row. */
static inline float masked(const float *d, const uint8_t *kn, int x)
{
    return kn != NULL && kn[x] ? 0.0f : d[x];
}

NEXP_CLONES_EXACT
void nexp_stencil_apply_adjoint(nexp_grid g, nexp_stencil_w w, int nc, size_t plane, const float *du_next,
                                float *du, float tau, const uint8_t *known, int y0, int y1)
{
    const int W = g.w, H = g.h;
#pragma omp parallel for schedule(static) PAR_IF
    for (int y = y0; y < y1; y++) {
        const float *wx = ROW(w.wx, y), *wy = ROW(w.wy, y), *wp = ROW(w.wp, y), *wm = ROW(w.wm, y);
        const float *wym = ROW(w.wy, y - 1), *wpm = ROW(w.wp, y - 1), *wmm = ROW(w.wm, y - 1);
        const int ym = y > 0 ? y - 1 : y, yp = y < H - 1 ? y + 1 : y;
        const uint8_t *km = known ? known + (size_t)ym * g.stride : NULL;
        const uint8_t *k0 = known ? known + (size_t)y * g.stride : NULL;
        const uint8_t *kp = known ? known + (size_t)yp * g.stride : NULL;
        for (int k = 0; k < nc; k++) {
            const float *base = du_next + (size_t)k * plane;
            const float *dm_ = ROW(base, ym), *d0 = ROW(base, y), *dp_ = ROW(base, yp);
            float *o = ROW(du + (size_t)k * plane, y);
            if (known == NULL) {
                for (int x = 0; x < W; x++) {
                    o[x] += d0[x] + tau * av_checked(W, wx, wy, wym, wp, wpm, wm, wmm, dm_, d0, dp_, x);
                }
                continue;
            }
            for (int x = 0; x < W; x++) {
                const float c = masked(d0, k0, x);
                float s = wy[x] * (masked(dp_, kp, x) - c) + wym[x] * (masked(dm_, km, x) - c);
                if (x + 1 < W) {
                    s += wx[x] * (masked(d0, k0, x + 1) - c) + wp[x] * (masked(dp_, kp, x + 1) - c) +
                         wmm[x] * (masked(dm_, km, x + 1) - c);
                }
                if (x > 0) {
                    s += wx[x - 1] * (masked(d0, k0, x - 1) - c) + wpm[x - 1] * (masked(dm_, km, x - 1) - c) +
                         wm[x - 1] * (masked(dp_, kp, x - 1) - c);
                }
                o[x] += d0[x] + tau * s;
            }
        }
    }
}

void nexp_stencil_weight_grads(nexp_grid g, int nc, size_t plane, const float *u, const float *du_next, float tau,
                               const uint8_t *known, nexp_stencil_w dw, int y0, int y1)
{
    const int W = g.w, H = g.h;
#pragma omp parallel for schedule(static) PAR_IF
    for (int y = y0; y < y1; y++) {
        float *dwx = ROW(dw.wx, y), *dwy = ROW(dw.wy, y), *dwp = ROW(dw.wp, y), *dwm = ROW(dw.wm, y);
        const int yp = y < H - 1 ? y + 1 : y;
        const uint8_t *k0 = known ? known + (size_t)y * g.stride : NULL;
        const uint8_t *kp = known ? known + (size_t)yp * g.stride : NULL;
        for (int k = 0; k < nc; k++) {
            const float *u0 = ROW(u + (size_t)k * plane, y), *up = ROW(u + (size_t)k * plane, yp);
            const float *r0 = ROW(du_next + (size_t)k * plane, y), *rp = ROW(du_next + (size_t)k * plane, yp);
            for (int x = 0; x + 1 < W; x++) {
                dwx[x] += tau * (u0[x + 1] - u0[x]) * (masked(r0, k0, x) - masked(r0, k0, x + 1));
            }
            if (y == H - 1) {
                continue;
            }
            for (int x = 0; x < W; x++) {
                dwy[x] += tau * (up[x] - u0[x]) * (masked(r0, k0, x) - masked(rp, kp, x));
            }
            for (int x = 0; x + 1 < W; x++) {
                dwp[x] += tau * (up[x + 1] - u0[x]) * (masked(r0, k0, x) - masked(rp, kp, x + 1));
                dwm[x] += tau * (up[x] - u0[x + 1]) * (masked(r0, k0, x + 1) - masked(rp, kp, x));
            }
        }
    }
}

void nexp_stencil_cell_grads(nexp_grid g, const float *ca, const float *cb, const float *cc, const float *cal,
                             float alpha, nexp_stencil_w dw, float *dca, float *dcb, float *dcc, float *dcal, int y0, int y1)
{
    const int W = g.w, H = g.h;
#pragma omp parallel for schedule(static) PAR_IF
    for (int y = y0; y < y1; y++) {
        const float *dwx0 = ROW(dw.wx, y), *dwx1 = ROW(dw.wx, y + 1), *dwy = ROW(dw.wy, y), *dwp = ROW(dw.wp, y),
                    *dwm = ROW(dw.wm, y);
        for (int x = 0; x < W - 1; x++) {
            const size_t i = (size_t)y * g.stride + (size_t)x;
            const float a = ca[i], b = cb[i], c = cc[i], al = cal ? cal[i] : alpha;
            const float sg = b > 0.0f ? 1.0f : (b < 0.0f ? -1.0f : 0.0f);
            const float be = (1.0f - 2.0f * al) * sg;
            const float dex = dwx0[x] + dwx1[x], dey = dwy[x] + dwy[x + 1];
            const float ddp = dwp[x], ddm = dwm[x];
            float ga = 0.0f, gc = 0.0f;
            if (y == 0) {
                ga += 0.5f * dwx0[x];
            }
            if (y == H - 2) {
                ga += 0.5f * dwx1[x];
            }
            if (x == 0) {
                gc += 0.5f * dwy[0];
            }
            if (x == W - 2) {
                gc += 0.5f * dwy[W - 1];
            }
            dca[i] = 0.5f * ((1.0f - al) * dex - al * dey + al * (ddp + ddm)) + ga;
            dcc[i] = 0.5f * (-al * dex + (1.0f - al) * dey + al * (ddp + ddm)) + gc;
            dcb[i] = 0.5f * (-(dex + dey) * be + ddp * (1.0f + be) + ddm * (be - 1.0f));
            if (dcal != NULL) {
                const float q = a + c - 2.0f * fabsf(b);
                dcal[i] = 0.5f * q * ((ddp + ddm) - (dex + dey));
            }
        }
    }
}

void nexp_stencil_pixels_from_cells_adjoint(nexp_grid g, int n, const float *const *dc, float *const *dp, int y0,
                                            int y1)
{
    const int W = g.w, H = g.h;
#pragma omp parallel for schedule(static) PAR_IF
    for (int y = y0; y < y1; y++) {
        for (int k = 0; k < n; k++) {
            const float *rm = y > 0 ? ROW(dc[k], y - 1) : NULL;
            const float *r0 = y < H - 1 ? ROW(dc[k], y) : NULL;
            float *o = ROW(dp[k], y);
            for (int x = 0; x < W; x++) {
                float s = 0.0f;
                if (rm != NULL) {
                    s += (x > 0 ? rm[x - 1] : 0.0f) + (x < W - 1 ? rm[x] : 0.0f);
                }
                if (r0 != NULL) {
                    s += (x > 0 ? r0[x - 1] : 0.0f) + (x < W - 1 ? r0[x] : 0.0f);
                }
                o[x] += 0.25f * s;
            }
        }
    }
}

void nexp_stencil_structure(nexp_grid g, int nc, size_t plane, const float *u, float *j00, float *j01, float *j11,
                            int y0, int y1)
{
    const int W = g.w;
#pragma omp parallel for schedule(static) PAR_IF
    for (int y = y0; y < y1; y++) {
        float *o00 = ROW(j00, y), *o01 = ROW(j01, y), *o11 = ROW(j11, y);
        for (int x = 0; x < W - 1; x++) {
            o00[x] = 0.0f;
            o01[x] = 0.0f;
            o11[x] = 0.0f;
        }
        for (int k = 0; k < nc; k++) {
            const float *r0 = ROW(u + (size_t)k * plane, y), *r1 = ROW(u + (size_t)k * plane, y + 1);
            for (int x = 0; x < W - 1; x++) {
                const float ux = 0.5f * ((r0[x + 1] - r0[x]) + (r1[x + 1] - r1[x]));
                const float uy = 0.5f * ((r1[x] - r0[x]) + (r1[x + 1] - r0[x + 1]));
                o00[x] += ux * ux;
                o01[x] += ux * uy;
                o11[x] += uy * uy;
            }
        }
    }
}

void nexp_stencil_tensor_from_structure(nexp_grid g, nexp_stencil_tensor kind, nexp_stencil_g gfun,
                                        float lambda, const float *j00, const float *j01, const float *j11,
                                        float *ca, float *cb, float *cc, int y0, int y1)
{
    const int W = g.w;
    const float il2 = 1.0f / (lambda * lambda);
    const float l4 = (lambda * lambda) * (lambda * lambda);
#pragma omp parallel for schedule(static) PAR_IF
    for (int y = y0; y < y1; y++) {
        for (int x = 0; x < W - 1; x++) {
            const size_t i = (size_t)y * g.stride + (size_t)x;
            const float p = j00[i], q = j01[i], r = j11[i];
            if (kind == NEXP_STENCIL_T_ISOTROPIC) {
                const float gv = nexp_stencil_diffusivity(gfun, p + r, il2);
                ca[i] = gv;
                cb[i] = 0.0f;
                cc[i] = gv;
                continue;
            }
            const float dd = p - r;
            const float d = sqrtf(dd * dd + 4.0f * q * q);
            const float mu1 = 0.5f * ((p + r) + d), mu2 = 0.5f * ((p + r) - d);
            float l1, l2;
            if (kind == NEXP_STENCIL_T_EED) {
                l1 = nexp_stencil_diffusivity(gfun, mu1, il2);
                l2 = nexp_stencil_diffusivity(gfun, mu2 > 0.0f ? mu2 : 0.0f, il2);
            } else {
                l1 = NEXP_STENCIL_CED_EPS;
                l2 = d > 0.0f ? NEXP_STENCIL_CED_EPS + (1.0f - NEXP_STENCIL_CED_EPS) * expf(-l4 / (d * d))
                              : NEXP_STENCIL_CED_EPS;
            }
            /* dominant direction v1 = (cos t, sin t): cos 2t = dd / d, sin 2t = 2 q / d */
            const float c2t = d > 0.0f ? dd / d : 0.0f, s2t = d > 0.0f ? 2.0f * q / d : 0.0f;
            ca[i] = 0.5f * (l1 * (1.0f + c2t) + l2 * (1.0f - c2t));
            cc[i] = 0.5f * (l1 * (1.0f - c2t) + l2 * (1.0f + c2t));
            cb[i] = 0.5f * (l1 - l2) * s2t;
        }
    }
}

float nexp_stencil_bound(nexp_grid g, const float *ca, const float *cb, const float *cc, const float *cal,
                         float alpha, int *bad_x, int *bad_y)
{
    float worst = 0.0f;
    *bad_x = -1;
    *bad_y = -1;
    for (int y = 0; y < g.h - 1; y++) {
        for (int x = 0; x < g.w - 1; x++) {
            const size_t i = (size_t)y * g.stride + (size_t)x;
            const float a = ca[i], b = cb[i], c = cc[i], al = cal ? cal[i] : alpha;
            const float h = 0.5f * (a - c);
            const float lmax = 0.5f * (a + c) + sqrtf(h * h + b * b);
            const float tol = 1e-5f * (fabsf(a) + fabsf(c) + 1e-30f);
            if (*bad_x < 0 && (!(a >= -tol) || !(c >= -tol) || !(a * c - b * b >= -tol * (fabsf(a) + fabsf(c))) ||
                               !(al >= 0.0f && al <= 0.5f))) {
                *bad_x = x;
                *bad_y = y;
            }
            const float v = (1.0f - al) * lmax;
            if (v > worst) {
                worst = v;
            }
        }
    }
    return worst;
}
