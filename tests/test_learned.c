/* The learned-tensor inpainting model: gradients, stability, training, the shipped model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learned_internal.h"
#include "nexp.h"
#include "nexp_flowdata.h"
#include "nexp_flowmetrics.h"
#include "nexp_inpaint.h"
#include "nexp_io.h"
#include "nexp_learned.h"
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
    float du[2 * 63] = { 0 }, de[4 * 63] = { 0 }, vu[2 * 63], ve[4 * 63], up[2 * 63], ep[4 * 63];
    fill_random(&rng, 2 * n, u, -3.0, 3.0);
    fill_random(&rng, 2 * n, f, -3.0, 3.0);
    fill_random(&rng, 4 * n, e, 0.05, 0.9);
    fill_random(&rng, 2 * n, r, -1.0, 1.0);
    for (size_t i = 0; i < n; i++) {
        known[i] = nexp_rng_uniform(&rng) < 0.3 ? 1.0f : 0.0f;
    }
    learned_step_backward(nc, h, w, u, known, e, 0.2f, r, du, de);
    fill_random(&rng, 2 * n, vu, -1.0, 1.0);
    fill_random(&rng, 4 * n, ve, -1.0, 1.0);
    /* the step is linear in u and in e separately: central differences are exact up to rounding */
    const float hh = 1e-2f;
    double lp, lm;
    for (size_t i = 0; i < 2 * n; i++) {
        up[i] = u[i] + hh * vu[i];
    }
    learned_step_forward(nc, h, w, up, f, known, e, 0.2f, out);
    lp = dot(2 * n, r, out);
    for (size_t i = 0; i < 2 * n; i++) {
        up[i] = u[i] - hh * vu[i];
    }
    learned_step_forward(nc, h, w, up, f, known, e, 0.2f, out);
    lm = dot(2 * n, r, out);
    CU_ASSERT(close_rel((lp - lm) / (2 * hh), dot(2 * n, du, vu), 1e-3, 1e-3));
    for (size_t i = 0; i < 4 * n; i++) {
        ep[i] = e[i] + hh * ve[i];
    }
    learned_step_forward(nc, h, w, u, f, known, ep, 0.2f, out);
    lp = dot(2 * n, r, out);
    for (size_t i = 0; i < 4 * n; i++) {
        ep[i] = e[i] - hh * ve[i];
    }
    learned_step_forward(nc, h, w, u, f, known, ep, 0.2f, out);
    lm = dot(2 * n, r, out);
    CU_ASSERT(close_rel((lp - lm) / (2 * hh), dot(4 * n, de, ve), 1e-3, 1e-3));
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

static void conv_and_upsample_backward_are_adjoint_to_their_forward(void)
{
    const int cin = 3, cout = 4, h = 6, w = 5;
    const size_t n = (size_t)h * w;
    nexp_rng rng;
    nexp_rng_seed(&rng, 9);
    float x[3 * 30], wt[4 * 3 * 9], b[4], y[4 * 30], r[4 * 30], col[LEARNED_CONV_COL(3, 5)];
    float dx[3 * 30] = { 0 }, dw[4 * 27] = { 0 }, db[4] = { 0 }, vx[3 * 30], xp[3 * 30];
    fill_random(&rng, 3 * n, x, -1, 1);
    fill_random(&rng, 4 * 27, wt, -1, 1);
    fill_random(&rng, 4, b, -1, 1);
    fill_random(&rng, 4 * n, r, -1, 1);
    fill_random(&rng, 3 * n, vx, -1, 1);
    learned_conv_backward(cin, cout, 3, h, w, x, wt, r, dx, dw, db, col);
    for (size_t i = 0; i < 3 * n; i++) {
        xp[i] = x[i] + vx[i];
    }
    learned_conv_forward(cin, cout, 3, h, w, xp, wt, b, y, col);
    double l1 = dot(4 * n, r, y);
    learned_conv_forward(cin, cout, 3, h, w, x, wt, b, y, col);
    double l0 = dot(4 * n, r, y);
    CU_ASSERT(close_rel(l1 - l0, dot(3 * n, dx, vx), 1e-4, 1e-4));
    /* weight gradient: y is linear in w */
    CU_ASSERT(close_rel(l0 - dot(4, db, b), dot(4 * 27, dw, wt), 1e-4, 1e-4));
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

static void whole_pipeline_gradient_matches_finite_differences(void)
{
    nexp_learned_spec spec = { 3, 2, 4 };
    nexp_learned *m = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_learned_create(&m, &spec, 5, NULL), NEXP_OK);
    /* keep the eigenvector (p, q) away from the axes: |b| and the clipping of the axial weights
     * have kinks there, where one-sided slopes differ and central differences average them */
    float *lb = m->params + nexp_learned_tensor(m, "level.bias")->offset;
    for (int l = 0; l < 2; l++) {
        lb[5 * l + 0] = 0.6f;
        lb[5 * l + 1] = 0.45f;
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
    int good = 0, trials = 6;
    for (int t = 0; t < trials; t++) {
        /* a random direction over all parameters, and one per tensor group for the small ones */
        float *v = malloc(m->n_params * sizeof(float));
        fill_random(&rng, m->n_params, v, -1.0, 1.0);
        double an = dot(m->n_params, g, v);
        double hh = 1e-3, lp, lm;
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
        good += close_rel(fd, an, 3e-2, 1e-3);
        free(v);
    }
    CU_ASSERT_EQUAL(good, trials);
    free(g);
    free(p0);
    nexp_flow_sample_clear(&s);
    nexp_learned_free(m);
}

static void explicit_steps_obey_the_max_min_principle_for_random_weights(void)
{
    nexp_learned_spec spec = { 4, 3, 25 };
    nexp_flow_sample s;
    make_sample(4, 24, 0.1, &s);
    nexp_stats su, sv;
    for (uint64_t seed = 1; seed <= 12; seed++) {
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

int main(void)
{
    CU_TestInfo tests[] = {
        { "step_backward_matches_finite_differences", step_backward_matches_finite_differences },
        { "tensor_backward_matches_finite_differences", tensor_backward_matches_finite_differences },
        { "conv_and_upsample_backward_are_adjoint_to_their_forward",
          conv_and_upsample_backward_are_adjoint_to_their_forward },
        { "whole_pipeline_gradient_matches_finite_differences", whole_pipeline_gradient_matches_finite_differences },
        { "explicit_steps_obey_the_max_min_principle_for_random_weights",
          explicit_steps_obey_the_max_min_principle_for_random_weights },
        CU_TEST_INFO_NULL,
    };
    return nexp_test_run("learned", tests);
}
