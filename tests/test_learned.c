/* The learned-tensor inpainting model: gradients, stability, training, the shipped model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learned_internal.h"
#include "nexp.h"
#include "nexp_flowdata.h"
#include "nexp_flowmetrics.h"
#include "nexp_inpaint.h"
#include "nexp_io.h"
#include "nexp_learned.h"
#include "nexp_learned_train.h"
#include "testlib.h"

static void fill_random(nexp_rng *rng, size_t n, float *x, double lo, double hi)
{
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)nexp_rng_range(rng, lo, hi);
    }
}

static double dot(size_t n, const float *a, const float *b)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        s += (double)a[i] * b[i];
    }
    return s;
}

/* |a - b| <= tol * max(|a|, |b|, floor) */
static int close_rel(double a, double b, double tol, double floor_)
{
    double s = fmax(fmax(fabs(a), fabs(b)), floor_);
    return fabs(a - b) <= tol * s;
}

/* ---- kernels ----------------------------------------------------------------------------------- */

static void step_backward_matches_finite_differences(void)
{
    const int h = 7, w = 9, nc = 2;
    const size_t n = (size_t)h * w;
    nexp_rng rng;
    nexp_rng_seed(&rng, 2385);
    float u[2 * 63], f[2 * 63], known[63], e[4 * 63], out[2 * 63], r[2 * 63];
    float du[2 * 63] = { 0 }, de[4 * 63] = { 0 }, vu[2 * 63], ve[4 * 63], up[2 * 63], ep[4 * 63], wt[4 * 63];
    fill_random(&rng, 2 * n, u, -3.0, 3.0);
    fill_random(&rng, 2 * n, f, -3.0, 3.0);
    fill_random(&rng, 4 * n, e, 0.05, 0.9);
    fill_random(&rng, 2 * n, r, -1.0, 1.0);
    for (size_t i = 0; i < n; i++) {
        known[i] = nexp_rng_uniform(&rng) < 0.3 ? 1.0f : 0.0f;
    }
    learned_edge_weights(h, w, e, wt);
    learned_step_backward(nc, h, w, u, known, wt, 0.2f, r, du, de);
    fill_random(&rng, 2 * n, vu, -1.0, 1.0);
    fill_random(&rng, 4 * n, ve, -1.0, 1.0);
    /* the step is linear in u and in e separately: central differences are exact up to rounding */
    const float hh = 1e-2f;
    double lp, lm;
    for (size_t i = 0; i < 2 * n; i++) {
        up[i] = u[i] + hh * vu[i];
    }
    learned_step_forward(nc, h, w, w, up, f, known, wt, 0.2f, out);
    lp = dot(2 * n, r, out);
    for (size_t i = 0; i < 2 * n; i++) {
        up[i] = u[i] - hh * vu[i];
    }
    learned_step_forward(nc, h, w, w, up, f, known, wt, 0.2f, out);
    lm = dot(2 * n, r, out);
    CU_ASSERT(close_rel((lp - lm) / (2 * hh), dot(2 * n, du, vu), 1e-3, 1e-3));
    for (size_t i = 0; i < 4 * n; i++) {
        ep[i] = e[i] + hh * ve[i];
    }
    learned_edge_weights(h, w, ep, wt);
    learned_step_forward(nc, h, w, w, u, f, known, wt, 0.2f, out);
    lp = dot(2 * n, r, out);
    for (size_t i = 0; i < 4 * n; i++) {
        ep[i] = e[i] - hh * ve[i];
    }
    learned_edge_weights(h, w, ep, wt);
    learned_step_forward(nc, h, w, w, u, f, known, wt, 0.2f, out);
    lm = dot(2 * n, r, out);
    CU_ASSERT(close_rel((lp - lm) / (2 * hh), dot(4 * n, de, ve), 1e-3, 1e-3));
}

/* Inference runs the steps on rows learned_pitch apart: the same bits as on unpadded planes, and
 * the padding (NaN here) is never read. */
static void padded_steps_give_the_bits_of_unpadded_ones(void)
{
    const int sizes[][2] = { { 1, 1 }, { 2, 5 }, { 7, 16 }, { 9, 256 }, { 70, 256 }, { 5, 1024 } };
    nexp_rng rng;
    nexp_rng_seed(&rng, 4242);
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        const int h = sizes[t][0], w = sizes[t][1], p = learned_pitch(w), nc = 2;
        CU_ASSERT(p >= w && p % 16 == 0 && p % 256 != 0);
        const size_t n = (size_t)h * w, np = (size_t)h * p;
        float *d = malloc((5 + 3 * nc) * n * sizeof(float)), *q = malloc((5 + 3 * nc) * np * sizeof(float));
        CU_ASSERT_FATAL(d != NULL && q != NULL);
        /* planes: e (4), known (1), f (nc), u (nc), out (nc); wt replaces e */
        float *e = d, *known = e + 4 * n, *f = known + n, *u = f + nc * n, *out = u + nc * n;
        fill_random(&rng, 4 * n, e, 0.0, 0.9);
        fill_random(&rng, 2 * nc * n, f, -3.0, 3.0);
        for (size_t i = 0; i < n; i++) {
            known[i] = nexp_rng_uniform(&rng) < 0.2 ? 1.0f : 0.0f;
        }
        float *wt = malloc(4 * n * sizeof(float));
        CU_ASSERT_FATAL(wt != NULL);
        learned_edge_weights(h, w, e, wt);
        memcpy(e, wt, 4 * n * sizeof(float));
        free(wt);
        for (size_t i = 0; i < (5 + 3 * nc) * np; i++) {
            q[i] = NAN;
        }
        for (size_t r = 0; r < (size_t)(4 + 1 + 2 * nc) * h; r++) {
            memcpy(q + r * p, d + r * w, (size_t)w * sizeof(float));
        }
        learned_step_forward(nc, h, w, w, u, f, known, e, 0.2f, out);
        float *qe = q, *qk = qe + 4 * np, *qf = qk + np, *qu = qf + nc * np, *qo = qu + nc * np;
        learned_step_forward(nc, h, w, p, qu, qf, qk, qe, 0.2f, qo);
        int same = 1;
        for (size_t r = 0; r < (size_t)nc * h; r++) {
            same &= memcmp(out + r * w, qo + r * p, (size_t)w * sizeof(float)) == 0;
        }
        CU_ASSERT(same);
        free(d);
        free(q);
    }
}

static void tensor_backward_matches_finite_differences(void)
{
    const size_t n = 40;
    nexp_rng rng;
    nexp_rng_seed(&rng, 77);
    float o[5 * 40], lb[5] = { 0.1f, -0.2f, 0.3f, 1.0f, 0.2f }, e[4 * 40], r[4 * 40];
    float dO[5 * 40] = { 0 }, dlb[5] = { 0 }, dk = 0.0f, v[5 * 40], op[5 * 40], scratch[6 * 40];
    fill_random(&rng, 5 * n, o, -1.5, 1.5);
    fill_random(&rng, 4 * n, r, -1.0, 1.0);
    const float lk = 0.37f;
    learned_tensor_backward(n, o, lb, lk, r, dO, dlb, &dk, scratch);
    fill_random(&rng, 5 * n, v, -1.0, 1.0);
    /* double-sided differences in float with a step small against the kinks (|b| = 0, clipping) */
    const float hh = 2e-3f;
    for (size_t i = 0; i < 5 * n; i++) {
        op[i] = o[i] + hh * v[i];
    }
    learned_tensor_forward(n, op, lb, lk, e);
    double lp = dot(4 * n, r, e);
    for (size_t i = 0; i < 5 * n; i++) {
        op[i] = o[i] - hh * v[i];
    }
    learned_tensor_forward(n, op, lb, lk, e);
    double lm = dot(4 * n, r, e);
    CU_ASSERT(close_rel((lp - lm) / (2 * hh), dot(5 * n, dO, v), 2e-2, 1e-2));
    learned_tensor_forward(n, o, lb, lk + hh, e);
    lp = dot(4 * n, r, e);
    learned_tensor_forward(n, o, lb, lk - hh, e);
    lm = dot(4 * n, r, e);
    CU_ASSERT(close_rel((lp - lm) / (2 * hh), dk, 2e-2, 1e-2));
    double sum_do = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum_do += dO[2 * n + i];
    }
    CU_ASSERT(close_rel(sum_do, dlb[2], 1e-4, 1e-4));
}

/* Zero and mirrored padding: the backward pass is the adjoint of the forward one; mirrored padding
 * turns a constant input into a constant output, border included. */
static void conv_and_upsample_backward_are_adjoint_to_their_forward(void)
{
    const int cin = 3, cout = 4, h = 6, w = 5;
    const size_t n = (size_t)h * w;
    nexp_rng rng;
    nexp_rng_seed(&rng, 9);
    float x[3 * 30], wt[4 * 3 * 9], b[4], y[4 * 30], r[4 * 30], col[LEARNED_CONV_COL(3, 5)];
    float vx[3 * 30], xp[3 * 30];
    for (int mirror = 0; mirror <= 1; mirror++) {
        float dx[3 * 30] = { 0 }, dw[4 * 27] = { 0 }, db[4] = { 0 };
        fill_random(&rng, 3 * n, x, -1, 1);
        fill_random(&rng, 4 * 27, wt, -1, 1);
        fill_random(&rng, 4, b, -1, 1);
        fill_random(&rng, 4 * n, r, -1, 1);
        fill_random(&rng, 3 * n, vx, -1, 1);
        learned_conv_backward(cin, cout, 3, h, w, x, wt, r, dx, dw, db, col, mirror);
        for (size_t i = 0; i < 3 * n; i++) {
            xp[i] = x[i] + vx[i];
        }
        learned_conv_forward(cin, cout, 3, h, w, xp, wt, b, y, col, 1, mirror);
        double l1 = dot(4 * n, r, y);
        learned_conv_forward(cin, cout, 3, h, w, x, wt, b, y, col, 1, mirror);
        double l0 = dot(4 * n, r, y);
        CU_ASSERT(close_rel(l1 - l0, dot(3 * n, dx, vx), 1e-4, 1e-4));
        /* weight gradient: y is linear in w */
        CU_ASSERT(close_rel(l0 - dot(4, db, b), dot(4 * 27, dw, wt), 1e-4, 1e-4));
        /* a constant input: every output pixel sees 9 equal values only with mirrored padding */
        for (size_t i = 0; i < 3 * n; i++) {
            xp[i] = 0.7f;
        }
        learned_conv_forward(cin, cout, 3, h, w, xp, wt, b, y, col, 1, mirror);
        int flat = 1;
        for (int co = 0; co < cout; co++) {
            for (size_t i = 0; i < n; i++) {
                flat &= fabsf(y[co * n + i] - y[co * n]) < 1e-5f;
            }
        }
        CU_ASSERT_EQUAL(flat, mirror);
    }
    /* upsampling: <U c, f> = <c, U^T f>, and agreement with the inpainting module's upsampling */
    const int hc = 3, wc = 4, hf = 5, wf = 8;
    float c[2 * 12], fine[2 * 40], rf[2 * 40], dc[2 * 12] = { 0 };
    fill_random(&rng, 24, c, -1, 1);
    fill_random(&rng, 80, rf, -1, 1);
    learned_upsample_forward(2, hc, wc, hf, wf, c, fine);
    learned_upsample_backward(2, hc, wc, hf, wf, rf, dc);
    CU_ASSERT(close_rel(dot(80, fine, rf), dot(24, c, dc), 1e-5, 1e-5));
    nexp_field *fc = NULL, *ff = NULL;
    nexp_field_create(&fc, wc, hc, 2, NULL);
    nexp_field_create(&ff, wf, hf, 2, NULL);
    for (int ch = 0; ch < 2; ch++) {
        for (int yy = 0; yy < hc; yy++) {
            memcpy(nexp_field_row(fc, ch, yy), c + (ch * hc + yy) * wc, wc * sizeof(float));
        }
    }
    nexp_field_upsample_bilinear(fc, ff, NULL);
    for (int ch = 0; ch < 2; ch++) {
        for (int yy = 0; yy < hf; yy++) {
            for (int xx = 0; xx < wf; xx++) {
                CU_ASSERT_DOUBLE_EQUAL(nexp_field_get(ff, ch, xx, yy), fine[(ch * hf + yy) * wf + xx], 1e-6);
            }
        }
    }
    nexp_field_free(fc);
    nexp_field_free(ff);
}

/* ---- the whole model ------------------------------------------------------------------------------ */

static void make_sample(uint64_t seed, int size, double density, nexp_flow_sample *s)
{
    nexp_flowdata *d = NULL;
    nexp_flowdata_open(&d, "synthetic", NULL);
    nexp_sample_options so = NEXP_SAMPLE_OPTIONS_INIT;
    so.crop = size;
    so.density_min = so.density_max = density;
    nexp_rng rng;
    nexp_rng_seed(&rng, seed);
    nexp_flowdata_draw(d, &so, &rng, s, NULL);
    nexp_flowdata_free(d);
}

/* flow_input 1: the gradient also runs through the network's flow input into the coarser level.
 * Central differences with step h: leaky-ReLU kinks crossed within h spoil larger steps, float
 * rounding smaller ones; flow-fed models move the finer network's inputs too, so they cross more
 * kinks per step and take a smaller one. */
static void pipeline_gradient_check(int flow_input, int cascade, int mirror, double hh, double tol)
{
    nexp_learned_spec spec = { 3, 2, 4, flow_input, cascade, mirror };
    nexp_learned *m = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_learned_create(&m, &spec, 5, NULL), NEXP_OK);
    /* keep the eigenvector (p, q) away from the axes: |b| and the clipping of the axial weights
     * have kinks there, where one-sided slopes differ and central differences average them */
    float *lb = m->params + nexp_learned_tensor(m, "level.bias")->offset;
    for (int l = 0; l < 2; l++) {
        lb[5 * l + 0] = 0.6f;
        lb[5 * l + 1] = 0.45f;
    }
    if (flow_input || cascade) {
        /* make the tensors depend strongly on the flow (and cascade) input: leaving out the gradient
         * through it (into the coarser level) then moves 4 of the 12 slopes by 1.3-4.5 %, beyond
         * tol = 1 % (correct, they agree to 0.3 %) */
        const nexp_tensor_view *w0 = nexp_learned_tensor(m, "conv0.weight");
        nexp_rng wr;
        nexp_rng_seed(&wr, 11);
        for (size_t i = 0; i < w0->size; i++) {
            size_t ch = (i / 9) % (size_t)w0->shape[1];
            if (ch >= 6) {
                /* cascade weights start at zero: give them random values to check the path through them */
                m->params[w0->offset + i] = (float)(0.3 * nexp_rng_normal(&wr));
            } else if (ch >= 3) {
                m->params[w0->offset + i] *= 3.0f;
            }
        }
    }
    nexp_flow_sample s;
    make_sample(21, 12, 0.15, &s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s.image);
    nexp_learned_zero_grads(m);
    double loss = 0.0;
    CU_ASSERT_EQUAL_FATAL(nexp_learned_loss_grad(m, s.image, s.flow, s.mask, 1.0, &loss, NULL, NULL), NEXP_OK);
    float *g = malloc(m->n_params * sizeof(float)), *p0 = malloc(m->n_params * sizeof(float));
    memcpy(g, m->grads, m->n_params * sizeof(float));
    memcpy(p0, m->params, m->n_params * sizeof(float));
    nexp_rng rng;
    nexp_rng_seed(&rng, 3);
    /* one random direction within each tensor, then two over all parameters */
    int good = 0, trials = m->n_tensors + 2;
    for (int t = 0; t < trials; t++) {
        float *v = malloc(m->n_params * sizeof(float));
        fill_random(&rng, m->n_params, v, -1.0, 1.0);
        if (t < m->n_tensors) {
            const nexp_tensor_view *tv = &m->tensors[t];
            for (size_t i = 0; i < m->n_params; i++) {
                v[i] = i >= tv->offset && i < tv->offset + tv->size ? v[i] : 0.0f;
            }
        }
        double an = dot(m->n_params, g, v);
        double lp, lm;
        for (size_t i = 0; i < m->n_params; i++) {
            m->params[i] = p0[i] + (float)(hh * v[i]);
        }
        nexp_learned_loss_grad(m, s.image, s.flow, s.mask, 0.0, &lp, NULL, NULL);
        for (size_t i = 0; i < m->n_params; i++) {
            m->params[i] = p0[i] - (float)(hh * v[i]);
        }
        nexp_learned_loss_grad(m, s.image, s.flow, s.mask, 0.0, &lm, NULL, NULL);
        memcpy(m->params, p0, m->n_params * sizeof(float));
        double fd = (lp - lm) / (2 * hh);
        /* within tol of the larger, or of 0.01 (full directions give slopes of 0.1 to 1) */
        good += close_rel(fd, an, tol, 1e-2);
        free(v);
    }
    CU_ASSERT_EQUAL(good, trials);
    free(g);
    free(p0);
    nexp_flow_sample_clear(&s);
    nexp_learned_free(m);
}

static void whole_pipeline_gradient_matches_finite_differences(void)
{
    pipeline_gradient_check(0, 0, 0, 1e-3, 3e-2);
}

static void flow_fed_pipeline_gradient_matches_finite_differences(void)
{
    pipeline_gradient_check(1, 0, 0, 3e-4, 1e-2);
}

/* cascade models: also through the coarser level's hidden features into its network; with zero and
 * mirrored padding */
static void cascade_pipeline_gradient_matches_finite_differences(void)
{
    pipeline_gradient_check(1, 1, 0, 3e-4, 1e-2);
    pipeline_gradient_check(1, 1, 1, 3e-4, 1e-2);
}

static void explicit_steps_obey_the_max_min_principle_for_random_weights(void)
{
    nexp_flow_sample s;
    make_sample(4, 24, 0.1, &s);
    nexp_stats su, sv;
    for (uint64_t seed = 1; seed <= 24; seed++) {
        /* image-fed and flow-fed models alternately, with and without the cascade and mirrored padding */
        nexp_learned_spec spec = { 4, 3, 25, (int)(seed % 2), (int)(seed / 2 % 2), (int)(seed / 4 % 2) };
        nexp_learned *m = NULL;
        CU_ASSERT_EQUAL_FATAL(nexp_learned_create(&m, &spec, seed, NULL), NEXP_OK);
        /* large random weights drive tensors to extreme anisotropy and alpha near 0 and 1/2 */
        nexp_rng rng;
        nexp_rng_seed(&rng, seed * 7919);
        for (size_t i = 0; i < m->n_params; i++) {
            m->params[i] = (float)(3.0 * nexp_rng_normal(&rng));
        }
        nexp_field *out = NULL;
        CU_ASSERT_EQUAL_FATAL(nexp_learned_inpaint(m, s.image, s.flow, s.mask, &out, NULL), NEXP_OK);
        /* range of the known data */
        double lo[2] = { 1e30, 1e30 }, hi[2] = { -1e30, -1e30 };
        for (int y = 0; y < 24; y++) {
            for (int x = 0; x < 24; x++) {
                if (nexp_field_get(s.mask, 0, x, y) != 0.0f) {
                    for (int c = 0; c < 2; c++) {
                        lo[c] = fmin(lo[c], nexp_field_get(s.flow, c, x, y));
                        hi[c] = fmax(hi[c], nexp_field_get(s.flow, c, x, y));
                    }
                }
            }
        }
        nexp_field_stats(out, 0, &su, NULL);
        nexp_field_stats(out, 1, &sv, NULL);
        CU_ASSERT(su.min >= lo[0] - 1e-4 && su.max <= hi[0] + 1e-4);
        CU_ASSERT(sv.min >= lo[1] - 1e-4 && sv.max <= hi[1] + 1e-4);
        nexp_field_free(out);
        nexp_learned_free(m);
    }
    nexp_flow_sample_clear(&s);
}

/* Image-fed models are linear in the flow (f -> -2.5 f gives -2.5 u); flow-fed ones normalise the
 * flow they read, so f -> 2.5 f + (1.5, -3) gives 2.5 u + (1.5, -3) up to rounding. Both give the
 * same bits on 1 and 2 threads and keep the known vectors. */
static void flow_equivariance_check(int flow_input, double a, const double b[2], double tol)
{
    nexp_learned *m = NULL;
    nexp_learned_spec spec = { 5, 3, 12, flow_input, 0, 0 };
    CU_ASSERT_EQUAL_FATAL(nexp_learned_create(&m, &spec, 17, NULL), NEXP_OK);
    nexp_flow_sample s;
    /* large enough (> LEARNED_PAR_MIN pixels) for the kernels to run on two threads */
    const int N = 130;
    make_sample(8, N, 0.08, &s);
    nexp_field *u1 = NULL, *u2 = NULL, *moved = NULL;
    nexp_set_threads(1);
    CU_ASSERT_EQUAL_FATAL(nexp_learned_inpaint(m, s.image, s.flow, s.mask, &u1, NULL), NEXP_OK);
    nexp_set_threads(2);
    CU_ASSERT_EQUAL_FATAL(nexp_learned_inpaint(m, s.image, s.flow, s.mask, &u2, NULL), NEXP_OK);
    nexp_set_threads(0);
    int same = 1;
    for (int c = 0; c < 2; c++) {
        for (int y = 0; y < N; y++) {
            same &= memcmp(nexp_field_row(u1, c, y), nexp_field_row(u2, c, y), N * sizeof(float)) == 0;
        }
    }
    CU_ASSERT(same);
    nexp_field_clone(&moved, s.flow, NULL);
    for (int c = 0; c < 2; c++) {
        for (int y = 0; y < N; y++) {
            for (int x = 0; x < N; x++) {
                nexp_field_row(moved, c, y)[x] = (float)(a * nexp_field_row(moved, c, y)[x] + b[c]);
            }
        }
    }
    nexp_field_free(u2);
    CU_ASSERT_EQUAL_FATAL(nexp_learned_inpaint(m, s.image, moved, s.mask, &u2, NULL), NEXP_OK);
    double maxdiff = 0.0, maxu = 0.0;
    for (int c = 0; c < 2; c++) {
        for (int y = 0; y < N; y++) {
            for (int x = 0; x < N; x++) {
                double u = nexp_field_get(u1, c, x, y);
                maxdiff = fmax(maxdiff, fabs(nexp_field_get(u2, c, x, y) - (a * u + b[c])));
                maxu = fmax(maxu, fabs(u));
                if (nexp_field_get(s.mask, 0, x, y) != 0.0f) {
                    CU_ASSERT_EQUAL(nexp_field_get(u1, c, x, y), nexp_field_get(s.flow, c, x, y));
                }
            }
        }
    }
    CU_ASSERT(maxu > 0.5);
    CU_ASSERT(maxdiff < tol);
    nexp_field_free(u1);
    nexp_field_free(u2);
    nexp_field_free(moved);
    nexp_flow_sample_clear(&s);
    nexp_learned_free(m);
}

static void the_model_is_linear_in_the_flow_and_thread_count_independent(void)
{
    flow_equivariance_check(0, -2.5, (const double[2]){ 0.0, 0.0 }, 1e-4);
}

static void a_flow_fed_model_follows_scaled_and_shifted_flow(void)
{
    flow_equivariance_check(1, 2.5, (const double[2]){ 1.5, -3.0 }, 1e-3);
}

static nexp_train_options tiny_training(void)
{
    nexp_train_options o = NEXP_TRAIN_OPTIONS_INIT;
    o.sample.crop = 24;
    o.batch = 2;
    o.iters = 12;
    o.lr = 1e-2;
    o.seed = 2385;
    o.spec = (nexp_learned_spec){ 4, 2, 10, 0, 0, 0 };
    o.val_count = 4;
    o.val_size = 32;
    return o;
}

/* A trainer created with o and stepped to o->iters. */
static nexp_trainer *trained(const nexp_train_options *o)
{
    nexp_trainer *t = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_trainer_create(&t, o, &err), NEXP_OK);
    while (t->iter < o->iters) {
        CU_ASSERT_EQUAL_FATAL(nexp_trainer_step(t, NULL, NULL, &err), NEXP_OK);
    }
    return t;
}

static void a_few_training_steps_lower_the_validation_error(void)
{
    nexp_train_options o = tiny_training();
    o.iters = 24;
    nexp_trainer *t = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_trainer_create(&t, &o, &err), NEXP_OK);
    double before = 0.0, after = 0.0, homog = 0.0;
    CU_ASSERT_EQUAL_FATAL(nexp_trainer_validate(t, &before, &homog, &err), NEXP_OK);
    while (t->iter < o.iters) {
        double loss = 0.0, epe = 0.0;
        CU_ASSERT_EQUAL_FATAL(nexp_trainer_step(t, &loss, &epe, &err), NEXP_OK);
        CU_ASSERT(isfinite(loss) && loss >= epe);
    }
    CU_ASSERT_EQUAL_FATAL(nexp_trainer_validate(t, &after, NULL, &err), NEXP_OK);
    CU_ASSERT(after < 0.98 * before);
    CU_ASSERT(homog > 0.0);
    nexp_trainer_free(t);
}

static void training_resumed_from_a_checkpoint_continues_bit_identically(void)
{
    nexp_train_options o = tiny_training();
    o.iters = 6;
    o.val_count = 0;
    nexp_error err = NEXP_ERROR_INIT;
    nexp_trainer *a = trained(&o), *b = NULL, *c = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_trainer_create(&b, &o, &err), NEXP_OK);
    while (b->iter < 3) {
        CU_ASSERT_EQUAL_FATAL(nexp_trainer_step(b, NULL, NULL, &err), NEXP_OK);
    }
    const char *path = nexp_test_tmp("resume.h5");
    CU_ASSERT_EQUAL_FATAL(nexp_trainer_save(b, path, &err), NEXP_OK);
    nexp_trainer_free(b);
    CU_ASSERT_EQUAL_FATAL(nexp_trainer_resume(&c, path, &o, &err), NEXP_OK);
    CU_ASSERT_EQUAL(c->iter, 3);
    while (c->iter < o.iters) {
        CU_ASSERT_EQUAL_FATAL(nexp_trainer_step(c, NULL, NULL, &err), NEXP_OK);
    }
    CU_ASSERT_EQUAL(memcmp(a->model->params, c->model->params, a->model->n_params * sizeof(float)), 0);
    CU_ASSERT_EQUAL(memcmp(a->optim->m2, c->optim->m2, a->optim->n * sizeof(double)), 0);
    CU_ASSERT_EQUAL(memcmp(a->rng.s, c->rng.s, sizeof a->rng.s), 0);
    nexp_trainer_free(c);
    /* a checkpoint refuses other sample options, naming the option */
    o.sample.crop = 32;
    CU_ASSERT_EQUAL(nexp_trainer_resume(&c, path, &o, &err), NEXP_ERR_MISMATCH);
    CU_ASSERT(strstr(err.msg, "--crop 24") != NULL);
    /* and records them, so a resume can take them from the file */
    nexp_train_options back = NEXP_TRAIN_OPTIONS_INIT;
    char *data = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_trainer_checkpoint_options(path, &back, &data, &err), NEXP_OK);
    CU_ASSERT_STRING_EQUAL(back.data, "synthetic");
    CU_ASSERT_EQUAL(back.sample.crop, 24);
    CU_ASSERT_EQUAL(back.batch, o.batch);
    CU_ASSERT_EQUAL(back.iters, o.iters);
    CU_ASSERT_EQUAL(back.seed, o.seed);
    CU_ASSERT_EQUAL(back.lr, o.lr);
    CU_ASSERT_EQUAL(back.sample.density_max, o.sample.density_max);
    CU_ASSERT_EQUAL(back.thin, 0.0);
    free(data);
    /* and is a model file */
    nexp_learned *m = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_learned_load(&m, path, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(m->n_params, a->model->n_params);
    CU_ASSERT_EQUAL(m->spec.steps, 10);
    nexp_learned_free(m);
    nexp_trainer_free(a);
    CU_ASSERT_EQUAL(nexp_trainer_checkpoint_options(nexp_test_tmp("no_such.h5"), &back, &data, &err), NEXP_ERR_IO);
    CU_ASSERT_PTR_NULL(data);
}

/* Steps of tiny training (batch 4) on the given threads: final parameters (n of them), first-step
 * loss and the threads the batch was split over. */
static float *train_on_threads(int threads, int steps, size_t *n, double *first_loss, int *batch_threads)
{
    nexp_train_options o = tiny_training();
    o.batch = 4;
    o.iters = steps;
    o.val_count = 0;
    nexp_trainer *t = NULL;
    nexp_set_threads(threads);
    CU_ASSERT_EQUAL_FATAL(nexp_trainer_create(&t, &o, NULL), NEXP_OK);
    *batch_threads = nexp_trainer_batch_threads(t);
    while (t->iter < o.iters) {
        double loss = 0.0;
        CU_ASSERT_EQUAL_FATAL(nexp_trainer_step(t, &loss, NULL, NULL), NEXP_OK);
        if (t->iter == 1) {
            *first_loss = loss;
        }
    }
    nexp_set_threads(0);
    *n = t->model->n_params;
    float *p = malloc(*n * sizeof(float));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    memcpy(p, t->model->params, *n * sizeof(float));
    nexp_trainer_free(t);
    return p;
}

static void a_batch_split_over_threads_is_reproducible_and_follows_the_same_gradient(void)
{
    double l1 = 0.0, l2 = 0.0, l2b = 0.0;
    int t1 = 0, t2 = 0, t2b = 0;
    size_t n = 0;
    float *p1 = train_on_threads(1, 3, &n, &l1, &t1);
    float *p2 = train_on_threads(2, 3, &n, &l2, &t2);
    float *p2b = train_on_threads(2, 3, &n, &l2b, &t2b);
    CU_ASSERT_EQUAL(t1, 1);
    CU_ASSERT_EQUAL(t2, 2);
    /* the same thread count gives the same bits */
    CU_ASSERT_EQUAL(memcmp(p2, p2b, n * sizeof(float)), 0);
    /* per-sample losses are summed in sample order whatever the split */
    CU_ASSERT_EQUAL(l1, l2);
    /* and the split sums the same gradient: the runs part only by rounding */
    double maxdiff = 0.0, maxp = 0.0;
    for (size_t i = 0; i < n; i++) {
        maxdiff = fmax(maxdiff, fabs((double)p1[i] - p2[i]));
        maxp = fmax(maxp, fabs((double)p1[i]));
    }
    CU_ASSERT(maxp > 0.1);
    CU_ASSERT(maxdiff < 1e-4 * maxp);
    free(p1);
    free(p2);
    free(p2b);
}

/* --init: a new run starts from a model file's weights and shape (fine-tuning) with fresh Adam and its
 * own sample stream; --thin shapes that stream, so a checkpoint refuses to resume without it. */
static void a_run_can_start_from_a_model_file_and_resume_checks_thin_bars(void)
{
    nexp_train_options o = tiny_training();
    o.iters = 2;
    o.val_count = 0;
    nexp_error err = NEXP_ERROR_INIT;
    nexp_trainer *a = trained(&o), *b = NULL, *c = NULL;
    char model[4096], ckpt[4096]; /* nexp_test_tmp returns one static buffer */
    snprintf(model, sizeof model, "%s", nexp_test_tmp("init_model.h5"));
    snprintf(ckpt, sizeof ckpt, "%s", nexp_test_tmp("init_ckpt.h5"));
    CU_ASSERT_EQUAL_FATAL(nexp_learned_save(a->model, model, &err), NEXP_OK);
    nexp_train_options f = o;
    f.init = model;
    f.spec.features = 7; /* ignored: the shape is the model's */
    f.thin = 0.3;
    f.seed = 9;
    f.iters = 3;
    CU_ASSERT_EQUAL_FATAL(nexp_trainer_create(&b, &f, &err), NEXP_OK);
    CU_ASSERT_EQUAL(b->model->spec.features, a->model->spec.features);
    CU_ASSERT_EQUAL_FATAL(b->model->n_params, a->model->n_params);
    CU_ASSERT_EQUAL(memcmp(a->model->params, b->model->params, a->model->n_params * sizeof(float)), 0);
    CU_ASSERT_EQUAL(b->iter, 0);
    CU_ASSERT_EQUAL(b->optim->step, 0);
    double loss = 0.0;
    CU_ASSERT_EQUAL_FATAL(nexp_trainer_step(b, &loss, NULL, &err), NEXP_OK);
    CU_ASSERT(isfinite(loss));
    CU_ASSERT_NOT_EQUAL(memcmp(a->model->params, b->model->params, a->model->n_params * sizeof(float)), 0);
    CU_ASSERT_EQUAL_FATAL(nexp_trainer_save(b, ckpt, &err), NEXP_OK);
    nexp_train_options r = f;
    r.init = NULL;
    r.thin = 0.0;
    CU_ASSERT_EQUAL(nexp_trainer_resume(&c, ckpt, &r, &err), NEXP_ERR_MISMATCH);
    CU_ASSERT(strstr(err.msg, "--thin 0.3") != NULL);
    r.thin = 0.3;
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL_FATAL(nexp_trainer_resume(&c, ckpt, &r, &err), NEXP_OK);
    CU_ASSERT_EQUAL(c->iter, 1);
    CU_ASSERT_EQUAL(memcmp(b->model->params, c->model->params, b->model->n_params * sizeof(float)), 0);
    nexp_trainer_free(c);
    nexp_trainer_free(b);
    /* a missing model is named */
    f.init = nexp_test_tmp("no_such_model.h5");
    CU_ASSERT_NOT_EQUAL(nexp_trainer_create(&b, &f, &err), NEXP_OK);
    CU_ASSERT(strstr(err.msg, "no_such_model.h5") != NULL);
    CU_ASSERT_PTR_NULL(b);
    nexp_trainer_free(a);
}

static void a_checkpoint_records_its_batch_threads(void)
{
    nexp_train_options o = tiny_training();
    o.iters = 2;
    o.val_count = 0;
    nexp_trainer *t = NULL, *r = NULL;
    const char *path = nexp_test_tmp("threads.h5");
    nexp_set_threads(2);
    CU_ASSERT_EQUAL_FATAL(nexp_trainer_create(&t, &o, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_trainer_step(t, NULL, NULL, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_trainer_save(t, path, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(t->ckpt_threads, 0);
    nexp_set_threads(1);
    CU_ASSERT_EQUAL_FATAL(nexp_trainer_resume(&r, path, &o, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(r->ckpt_threads, 2);
    CU_ASSERT_EQUAL(nexp_trainer_batch_threads(r), 1);
    nexp_set_threads(0);
    nexp_trainer_free(t);
    nexp_trainer_free(r);
}

static void model_files_round_trip_and_foreign_files_are_refused(void)
{
    nexp_learned *m = NULL, *back = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    nexp_learned_spec spec = { 6, 4, 7, 1, 1, 1 };
    CU_ASSERT_EQUAL_FATAL(nexp_learned_create(&m, &spec, 3, NULL), NEXP_OK);
    const char *path = nexp_test_tmp("model.h5");
    CU_ASSERT_EQUAL_FATAL(nexp_learned_save(m, path, &err), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_learned_load(&back, path, &err), NEXP_OK);
    CU_ASSERT_EQUAL(back->spec.features, 6);
    CU_ASSERT_EQUAL(back->spec.levels, 4);
    CU_ASSERT_EQUAL(back->spec.flow_input, 1);
    CU_ASSERT_EQUAL(back->spec.cascade, 1);
    CU_ASSERT_EQUAL(back->spec.mirror, 1);
    CU_ASSERT_EQUAL(memcmp(m->params, back->params, m->n_params * sizeof(float)), 0);
    CU_ASSERT_PTR_NOT_NULL(nexp_learned_tensor(back, "level.log_kappa"));
    nexp_learned_free(back);
    /* a field file is not a model */
    nexp_field *f = NULL;
    nexp_field_create(&f, 4, 4, 2, NULL);
    const char *fpath = nexp_test_tmp("field.h5");
    CU_ASSERT_EQUAL_FATAL(nexp_field_write(fpath, f, NULL), NEXP_OK);
    CU_ASSERT_NOT_EQUAL(nexp_learned_load(&back, fpath, &err), NEXP_OK);
    CU_ASSERT_PTR_NULL(back);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_learned_load(&back, nexp_test_tmp("no-such-model.h5"), &err), NEXP_ERR_IO);
    /* inputs that do not fit */
    nexp_field *img = NULL, *known = NULL, *out = NULL;
    nexp_field_create(&img, 5, 4, 3, NULL);
    nexp_field_create(&known, 4, 4, 1, NULL);
    nexp_field_fill(known, 1.0f);
    CU_ASSERT_EQUAL(nexp_learned_inpaint(m, img, f, known, &out, NULL), NEXP_ERR_SIZE);
    nexp_field_free(img);
    nexp_field_create(&img, 4, 4, 3, NULL);
    nexp_field_fill(known, 0.0f);
    CU_ASSERT_EQUAL(nexp_learned_inpaint(m, img, f, known, &out, NULL), NEXP_ERR_EMPTY);
    CU_ASSERT_PTR_NULL(out);
    /* a flow-fed model reads 2 flow channels, and its tensors need the flow */
    nexp_field *f3 = NULL, *t = NULL;
    nexp_field_create(&f3, 4, 4, 3, NULL);
    nexp_field_fill(known, 1.0f);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_learned_inpaint(m, img, f3, known, &out, &err), NEXP_ERR_SIZE);
    CU_ASSERT(strstr(err.msg, "need 2") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_learned_tensors(m, img, NULL, NULL, &t, NULL, &err), NEXP_ERR_ARG);
    CU_ASSERT_EQUAL(nexp_learned_tensors(m, img, f, known, &t, NULL, &err), NEXP_OK);
    CU_ASSERT(t != NULL && t->channels % 5 == 0);
    nexp_field_free(t);
    nexp_field_free(f3);
    nexp_field_free(img);
    nexp_field_free(known);
    nexp_field_free(f);
    nexp_learned_free(m);
    CU_ASSERT_EQUAL(nexp_learned_create(&m, &(nexp_learned_spec){ 0, 3, 3, 0, 0, 0 }, 1, &err), NEXP_ERR_ARG);
    CU_ASSERT_EQUAL(nexp_learned_create(&m, &(nexp_learned_spec){ 4, 3, 3, 2, 0, 0 }, 1, &err), NEXP_ERR_ARG);
}

/* The model shipped in data/, beside this file's folder. */
static const char *shipped_model(void)
{
    static char buf[4096];
    const char *here = __FILE__;
    const char *slash = strrchr(here, '/');
    snprintf(buf, sizeof buf, "%.*s/../data/inpaint-model.h5", slash ? (int)(slash - here) : 1, slash ? here : ".");
    return buf;
}

static void the_shipped_model_beats_homogeneous_inpainting_on_the_chairs_crops_at_5_percent(void)
{
    nexp_learned *m = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_learned_load(&m, shipped_model(), &err), NEXP_OK);
    const char *pairs[2][2] = { { "flow/chairs-crops/00001_img1.ppm", "flow/chairs-crops/00001_flow.flo" },
                                { "flow/chairs-crops/0000000-img_0.png", "flow/chairs-crops/0000000-flow_01.flo" } };
    double sum_learned = 0.0, sum_homog = 0.0;
    nexp_inpaint_options ho = nexp_inpaint_defaults(NEXP_INPAINT_HOMOGENEOUS);
    for (int p = 0; p < 2; p++) {
        nexp_field *img = NULL, *gt = NULL;
        CU_ASSERT_EQUAL_FATAL(nexp_field_read(nexp_test_data(pairs[p][0]), &img, &err), NEXP_OK);
        CU_ASSERT_EQUAL_FATAL(nexp_field_read(nexp_test_data(pairs[p][1]), &gt, &err), NEXP_OK);
        for (uint64_t seed = 1; seed <= 5; seed++) {
            nexp_rng rng;
            nexp_rng_seed(&rng, seed);
            nexp_field *mask = NULL, *a = NULL, *b = NULL;
            CU_ASSERT_EQUAL_FATAL(nexp_random_mask(gt, 0.05, &rng, &mask, NULL), NEXP_OK);
            CU_ASSERT_EQUAL_FATAL(nexp_learned_inpaint(m, img, gt, mask, &a, &err), NEXP_OK);
            CU_ASSERT_EQUAL_FATAL(nexp_inpaint(gt, mask, NULL, &ho, &b, NULL, &err), NEXP_OK);
            nexp_flow_errors ea, eb;
            nexp_flow_errors_compute(a, gt, mask, &ea, NULL);
            nexp_flow_errors_compute(b, gt, mask, &eb, NULL);
            sum_learned += ea.all.epe;
            sum_homog += eb.all.epe;
            nexp_field_free(mask);
            nexp_field_free(a);
            nexp_field_free(b);
        }
        nexp_field_free(img);
        nexp_field_free(gt);
    }
    CU_ASSERT(sum_learned < sum_homog);
    nexp_learned_free(m);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "step_backward_matches_finite_differences", step_backward_matches_finite_differences },
        { "padded_steps_give_the_bits_of_unpadded_ones", padded_steps_give_the_bits_of_unpadded_ones },
        { "tensor_backward_matches_finite_differences", tensor_backward_matches_finite_differences },
        { "conv_and_upsample_backward_are_adjoint_to_their_forward",
          conv_and_upsample_backward_are_adjoint_to_their_forward },
        { "whole_pipeline_gradient_matches_finite_differences", whole_pipeline_gradient_matches_finite_differences },
        { "flow_fed_pipeline_gradient_matches_finite_differences",
          flow_fed_pipeline_gradient_matches_finite_differences },
        { "cascade_pipeline_gradient_matches_finite_differences", cascade_pipeline_gradient_matches_finite_differences },
        { "explicit_steps_obey_the_max_min_principle_for_random_weights",
          explicit_steps_obey_the_max_min_principle_for_random_weights },
        { "a_flow_fed_model_follows_scaled_and_shifted_flow", a_flow_fed_model_follows_scaled_and_shifted_flow },
        { "the_model_is_linear_in_the_flow_and_thread_count_independent",
          the_model_is_linear_in_the_flow_and_thread_count_independent },
        { "a_few_training_steps_lower_the_validation_error", a_few_training_steps_lower_the_validation_error },
        { "training_resumed_from_a_checkpoint_continues_bit_identically",
          training_resumed_from_a_checkpoint_continues_bit_identically },
        { "a_batch_split_over_threads_is_reproducible_and_follows_the_same_gradient",
          a_batch_split_over_threads_is_reproducible_and_follows_the_same_gradient },
        { "a_checkpoint_records_its_batch_threads", a_checkpoint_records_its_batch_threads },
        { "a_run_can_start_from_a_model_file_and_resume_checks_thin_bars",
          a_run_can_start_from_a_model_file_and_resume_checks_thin_bars },
        { "model_files_round_trip_and_foreign_files_are_refused", model_files_round_trip_and_foreign_files_are_refused },
        { "the_shipped_model_beats_homogeneous_inpainting_on_the_chairs_crops_at_5_percent",
          the_shipped_model_beats_homogeneous_inpainting_on_the_chairs_crops_at_5_percent },
        CU_TEST_INFO_NULL,
    };
    return nexp_test_run("learned", tests);
}
