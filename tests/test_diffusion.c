/* Diffusion module: delta-stencil models, explicit/FED/FSI/implicit schemes, DCT reference,
 * differentiable given-tensor step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexp.h"
#include "nexp_diffusion.h"
#include "nexp_io.h"
#include "nexp_spectral.h"
#include "testlib.h"

static nexp_field *random_field(int w, int h, int c, uint64_t seed, double lo, double hi)
{
    nexp_field *f = NULL;
    if (nexp_field_create(&f, w, h, c, NULL) != NEXP_OK) {
        return NULL;
    }
    nexp_rng rng;
    nexp_rng_seed(&rng, seed);
    for (int k = 0; k < c; k++) {
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                nexp_field_row(f, k, y)[x] = (float)nexp_rng_range(&rng, lo, hi);
            }
        }
    }
    return f;
}

/* A w x h crop at (x0, y0) of the Sintel frame, with the given number of channels (1: grey). */
static nexp_field *sintel_crop(int x0, int y0, int w, int h, int channels)
{
    nexp_field *img = NULL, *out = NULL;
    if (nexp_field_read(nexp_test_data("flow/sintel-alley/clean/frame_0002.png"), &img, NULL) != NEXP_OK) {
        return NULL;
    }
    if (nexp_field_create(&out, w, h, channels, NULL) == NEXP_OK) {
        for (int k = 0; k < channels; k++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    float v;
                    if (channels == 1) {
                        v = (nexp_field_get(img, 0, x0 + x, y0 + y) + nexp_field_get(img, 1, x0 + x, y0 + y) +
                             nexp_field_get(img, 2, x0 + x, y0 + y)) / 3.0f;
                    } else {
                        v = nexp_field_get(img, k % img->channels, x0 + x, y0 + y);
                    }
                    nexp_field_row(out, k, y)[x] = v;
                }
            }
        }
    }
    nexp_field_free(img);
    return out;
}

static double channel_mean(const nexp_field *f, int c)
{
    double s = 0.0;
    for (int y = 0; y < f->height; y++) {
        for (int x = 0; x < f->width; x++) {
            s += nexp_field_get(f, c, x, y);
        }
    }
    return s / ((double)f->width * f->height);
}

static nexp_status run_model(nexp_field *u, const nexp_diffusion_params *prm, nexp_error *err)
{
    nexp_diffusion_plan *p = NULL;
    nexp_status st = nexp_diffusion_plan_create(&p, u->width, u->height, u->channels, prm, err);
    if (st == NEXP_OK) {
        st = nexp_diffusion_execute(p, u, NULL, err);
    }
    nexp_diffusion_plan_free(p);
    return st;
}

static nexp_diffusion_params model_params(nexp_diffusion_model m, nexp_diffusion_scheme s, double T, double alpha)
{
    nexp_diffusion_params prm = NEXP_DIFFUSION_PARAMS_INIT;
    prm.model = m;
    prm.scheme = s;
    prm.time = T;
    prm.alpha = alpha;
    prm.lambda = 6.5;
    prm.sigma = 1.2;
    prm.rho = m == NEXP_DIFF_CED ? 2.0 : 0.0;
    return prm;
}

static void every_model_and_scheme_preserves_the_mean(void)
{
    nexp_field *u0 = random_field(37, 29, 2, 11, 0.0, 255.0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(u0);
    for (int m = NEXP_DIFF_HOMOGENEOUS; m <= NEXP_DIFF_CED; m++) {
        for (int s = NEXP_SCHEME_EXPLICIT; s <= NEXP_SCHEME_IMPLICIT; s++) {
            nexp_field *u = NULL;
            nexp_field_clone(&u, u0, NULL);
            nexp_diffusion_params prm = model_params((nexp_diffusion_model)m, (nexp_diffusion_scheme)s, 3.7, 0.3);
            nexp_error err = NEXP_ERROR_INIT;
            nexp_status st = run_model(u, &prm, &err);
            CU_ASSERT_EQUAL(st, NEXP_OK);
            if (st != NEXP_OK) {
                printf("\n  %s/%s: %s\n", nexp_diffusion_model_name(prm.model), nexp_diffusion_scheme_name(prm.scheme),
                       err.msg);
            }
            for (int c = 0; c < 2; c++) {
                double m0 = channel_mean(u0, c), m1 = channel_mean(u, c);
                CU_ASSERT(fabs(m1 - m0) <= 1e-5 * fabs(m0));
            }
            CU_ASSERT(nexp_test_max_abs_diff(u, u0) > 1.0); /* it did diffuse */
            nexp_field_free(u);
        }
    }
    nexp_field_free(u0);
}

/* For isotropic models every stencil weight is nonnegative, so within the bound no new extrema
 * appear, for every alpha. */
static void delta_stencil_obeys_the_max_min_principle(void)
{
    nexp_field *rnd = random_field(41, 33, 1, 5, -3.0, 7.0);
    nexp_field *real = sintel_crop(400, 150, 96, 64, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rnd);
    CU_ASSERT_PTR_NOT_NULL_FATAL(real);
    const nexp_field *inputs[2] = { rnd, real };
    const double alphas[3] = { 0.0, 0.25, 0.5 };
    const nexp_diffusion_model models[4] = { NEXP_DIFF_HOMOGENEOUS, NEXP_DIFF_PM, NEXP_DIFF_CHARBONNIER,
                                             NEXP_DIFF_EXP };
    for (int i = 0; i < 2; i++) {
        nexp_stats s0;
        nexp_field_stats(inputs[i], 0, &s0, NULL);
        for (int a = 0; a < 3; a++) {
            for (int m = 0; m < 4; m++) {
                for (int s = NEXP_SCHEME_EXPLICIT; s <= NEXP_SCHEME_FED; s++) {
                    nexp_field *u = NULL;
                    nexp_field_clone(&u, inputs[i], NULL);
                    nexp_diffusion_params prm = model_params(models[m], (nexp_diffusion_scheme)s, 2.5, alphas[a]);
                    prm.lambda = i == 0 ? 1.5 : 4.0;
                    CU_ASSERT_EQUAL(run_model(u, &prm, NULL), NEXP_OK);
                    nexp_stats s1;
                    nexp_field_stats(u, 0, &s1, NULL);
                    double tol = 1e-5 * (s0.max - s0.min);
                    CU_ASSERT(s1.min >= s0.min - tol && s1.max <= s0.max + tol);
                    CU_ASSERT(s1.max - s1.min < s0.max - s0.min); /* the range shrinks */
                    nexp_field_free(u);
                }
            }
        }
    }
    nexp_field_free(rnd);
    nexp_field_free(real);
}

static void explicit_homogeneous_converges_to_the_dct_solution_at_first_order(void)
{
    nexp_field *u0 = sintel_crop(300, 200, 64, 48, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(u0);
    const double T = 3.0;
    for (int ia = 0; ia < 2; ia++) {
        const double alpha = ia == 0 ? 0.0 : 0.25;
        nexp_field *ref = NULL;
        nexp_dct_plan *dct = NULL;
        nexp_field_create_like(&ref, u0, NULL);
        CU_ASSERT_EQUAL_FATAL(nexp_dct_plan_create(&dct, 64, 48, NEXP_DCT_DOUBLE, NULL), NEXP_OK);
        CU_ASSERT_EQUAL(nexp_dct_heat(dct, u0, ref, T, alpha, NULL), NEXP_OK);
        double e[3];
        for (int k = 0; k < 3; k++) {
            nexp_field *u = NULL;
            nexp_field_clone(&u, u0, NULL);
            nexp_diffusion_params prm = model_params(NEXP_DIFF_HOMOGENEOUS, NEXP_SCHEME_EXPLICIT, T, alpha);
            prm.tau = 0.125 / (1 << k);
            CU_ASSERT_EQUAL(run_model(u, &prm, NULL), NEXP_OK);
            e[k] = nexp_test_max_abs_diff(u, ref);
            nexp_field_free(u);
        }
        /* first order: halving tau halves the error */
        CU_ASSERT(e[0] > 1e-2 && e[2] < 0.1);
        CU_ASSERT(fabs(e[0] / e[1] - 2.0) < 0.25);
        CU_ASSERT(fabs(e[1] / e[2] - 2.0) < 0.25);
        /* FED and FSI with the same stopping time match the DCT solution */
        for (int s = NEXP_SCHEME_FED; s <= NEXP_SCHEME_IMPLICIT; s++) {
            nexp_field *u = NULL;
            nexp_field_clone(&u, u0, NULL);
            nexp_diffusion_params prm = model_params(NEXP_DIFF_HOMOGENEOUS, (nexp_diffusion_scheme)s, T, alpha);
            prm.cycles = 3;
            prm.rtol = 1e-6;
            prm.atol = 1e-5;
            CU_ASSERT_EQUAL(run_model(u, &prm, NULL), NEXP_OK);
            double d = nexp_test_max_abs_diff(u, ref);
            CU_ASSERT(d < (s == NEXP_SCHEME_IMPLICIT ? 0.05 : 1.0));
            nexp_field_free(u);
        }
        nexp_dct_plan_free(dct);
        nexp_field_free(ref);
    }
    nexp_field_free(u0);
}

static nexp_field *transposed(const nexp_field *f)
{
    nexp_field *t = NULL;
    nexp_field_create(&t, f->height, f->width, f->channels, NULL);
    for (int c = 0; c < f->channels; c++) {
        for (int y = 0; y < f->height; y++) {
            for (int x = 0; x < f->width; x++) {
                nexp_field_row(t, c, x)[y] = nexp_field_get(f, c, x, y);
            }
        }
    }
    return t;
}

static void transposing_the_input_transposes_the_output_of_eed_and_ced(void)
{
    nexp_field *u0 = sintel_crop(500, 100, 56, 40, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(u0);
    const nexp_diffusion_model models[2] = { NEXP_DIFF_EED, NEXP_DIFF_CED };
    for (int m = 0; m < 2; m++) {
        nexp_field *u = NULL, *ut = transposed(u0);
        nexp_field_clone(&u, u0, NULL);
        nexp_diffusion_params prm = model_params(models[m], NEXP_SCHEME_FED, 6.0, 0.35);
        prm.lambda = m == 0 ? 3.0 : 20.0;
        CU_ASSERT_EQUAL(run_model(u, &prm, NULL), NEXP_OK);
        CU_ASSERT_EQUAL(run_model(ut, &prm, NULL), NEXP_OK);
        nexp_field *back = transposed(ut);
        CU_ASSERT(nexp_test_max_abs_diff(back, u) <= 1e-5 * 255.0);
        CU_ASSERT(nexp_test_max_abs_diff(u, u0) > 1.0);
        nexp_field_free(u);
        nexp_field_free(ut);
        nexp_field_free(back);
    }
    nexp_field_free(u0);
}

static void results_with_one_and_two_threads_are_identical(void)
{
    nexp_field *u0 = sintel_crop(200, 120, 160, 112, 3); /* above the one-thread size of the kernels */
    CU_ASSERT_PTR_NOT_NULL_FATAL(u0);
    for (int m = NEXP_DIFF_HOMOGENEOUS; m <= NEXP_DIFF_CED; m++) {
        for (int s = NEXP_SCHEME_EXPLICIT; s <= NEXP_SCHEME_FSI; s++) {
            nexp_field *u[2] = { NULL, NULL };
            for (int t = 0; t < 2; t++) {
                nexp_set_threads(t + 1);
                nexp_field_clone(&u[t], u0, NULL);
                nexp_diffusion_params prm = model_params((nexp_diffusion_model)m, (nexp_diffusion_scheme)s, 2.0, 0.2);
                prm.lambda = 5.0;
                prm.rho = m >= NEXP_DIFF_EED ? 1.5 : 0.0;
                CU_ASSERT_EQUAL(run_model(u[t], &prm, NULL), NEXP_OK);
            }
            CU_ASSERT_EQUAL(memcmp(u[0]->data, u[1]->data, 3 * u0->plane * sizeof(float)), 0);
            nexp_field_free(u[0]);
            nexp_field_free(u[1]);
        }
    }
    nexp_set_threads(0);
    nexp_field_free(u0);
}

static void invalid_parameters_give_clear_errors(void)
{
    nexp_field *u = random_field(16, 12, 1, 3, 0.0, 1.0);
    nexp_diffusion_plan *p = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    nexp_diffusion_params prm = model_params(NEXP_DIFF_EED, NEXP_SCHEME_EXPLICIT, 1.0, 0.25);
    prm.tau = 0.34;
    CU_ASSERT_EQUAL(nexp_diffusion_plan_create(&p, 16, 12, 1, &prm, &err), NEXP_ERR_UNSTABLE);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT(strstr(err.msg, "0.333333") != NULL && strstr(err.msg, "bound") != NULL);
    prm = model_params(NEXP_DIFF_PM, NEXP_SCHEME_FED, 1.0, 0.0);
    prm.lambda = 0.0;
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_diffusion_plan_create(&p, 16, 12, 1, &prm, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "lambda") != NULL);
    prm.lambda = 2.0;
    prm.sigma = -0.5;
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_diffusion_plan_create(&p, 16, 12, 1, &prm, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "sigma") != NULL);
    prm.sigma = 1.0;
    prm.alpha = 0.7;
    CU_ASSERT_EQUAL(nexp_diffusion_plan_create(&p, 16, 12, 1, &prm, NULL), NEXP_ERR_ARG);
    prm.alpha = 0.0;
    prm.time = NAN;
    CU_ASSERT_EQUAL(nexp_diffusion_plan_create(&p, 16, 12, 1, &prm, NULL), NEXP_ERR_ARG);
    prm.time = 1.0;
    CU_ASSERT_EQUAL_FATAL(nexp_diffusion_plan_create(&p, 16, 12, 1, &prm, NULL), NEXP_OK);
    nexp_field_row(u, 0, 7)[5] = NAN;
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_diffusion_execute(p, u, NULL, &err), NEXP_ERR_NONFINITE);
    CU_ASSERT(strstr(err.msg, "diffusion input") != NULL);
    nexp_field *wrong = random_field(15, 12, 1, 3, 0.0, 1.0);
    CU_ASSERT_EQUAL(nexp_diffusion_execute(p, wrong, NULL, NULL), NEXP_ERR_SIZE);
    nexp_field_free(wrong);
    nexp_diffusion_plan_free(p);
    nexp_field *tiny = random_field(1, 5, 1, 3, 0.0, 1.0);
    CU_ASSERT_EQUAL(nexp_diffusion_plan_create(&p, 1, 5, 1, &prm, NULL), NEXP_ERR_ARG);
    nexp_field_free(tiny);
    nexp_field_free(u);
}

/* A per-pixel tensor field (4, H, W) with a random unit direction, eigenvalues in (0, 1] and alpha. */
static nexp_field *random_tensor(int w, int h, uint64_t seed, double alpha_lo, double alpha_hi)
{
    nexp_field *t = NULL;
    nexp_field_create(&t, w, h, 4, NULL);
    nexp_rng rng;
    nexp_rng_seed(&rng, seed);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            /* l1 - l2 >= 0.2 and sin 2 th >= 0.19 keep b away from its kink at 0 */
            double th = nexp_rng_range(&rng, 0.1, 1.4), l1 = nexp_rng_range(&rng, 0.6, 1.0),
                   l2 = nexp_rng_range(&rng, 0.05, 0.4);
            double c = cos(th), s = sin(th);
            nexp_field_row(t, 0, y)[x] = (float)(l1 * c * c + l2 * s * s);
            nexp_field_row(t, 1, y)[x] = (float)((l1 - l2) * c * s);
            nexp_field_row(t, 2, y)[x] = (float)(l1 * s * s + l2 * c * c);
            nexp_field_row(t, 3, y)[x] = (float)nexp_rng_range(&rng, alpha_lo, alpha_hi);
        }
    }
    return t;
}

static void given_identity_tensor_reproduces_homogeneous_diffusion(void)
{
    nexp_field *u0 = random_field(23, 19, 2, 8, 0.0, 10.0), *u1 = NULL, *tensor = NULL;
    nexp_field_clone(&u1, u0, NULL);
    nexp_field_create(&tensor, 23, 19, 4, NULL);
    for (int y = 0; y < 19; y++) {
        for (int x = 0; x < 23; x++) {
            nexp_field_row(tensor, 0, y)[x] = 1.0f;
            nexp_field_row(tensor, 2, y)[x] = 1.0f;
            nexp_field_row(tensor, 3, y)[x] = 0.375f;
        }
    }
    nexp_diffusion_params prm = model_params(NEXP_DIFF_GIVEN, NEXP_SCHEME_FSI, 4.2, 0.0);
    nexp_diffusion_plan *p = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_diffusion_plan_create(&p, 23, 19, 2, &prm, NULL), NEXP_OK);
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_diffusion_execute(p, u0, NULL, &err), NEXP_ERR_ARG); /* no tensor yet */
    CU_ASSERT_EQUAL(nexp_diffusion_plan_set_tensor(p, tensor, NULL), NEXP_OK);
    CU_ASSERT(fabs(nexp_diffusion_tau_bound(p) - 1.0 / (4.0 * 0.625)) < 1e-6);
    CU_ASSERT_EQUAL(nexp_diffusion_execute(p, u0, NULL, NULL), NEXP_OK);
    prm = model_params(NEXP_DIFF_HOMOGENEOUS, NEXP_SCHEME_FSI, 4.2, 0.375);
    CU_ASSERT_EQUAL(run_model(u1, &prm, NULL), NEXP_OK);
    CU_ASSERT(nexp_test_max_abs_diff(u0, u1) < 1e-4);
    /* a tensor that is not positive semidefinite is refused, naming the pixel */
    nexp_field_row(tensor, 1, 4)[7] = 2.0f;
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_diffusion_plan_set_tensor(p, tensor, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "(7, 4)") != NULL);
    nexp_diffusion_plan_free(p);
    nexp_field_free(u0);
    nexp_field_free(u1);
    nexp_field_free(tensor);
}

static void guided_mode_with_a_flat_guide_is_homogeneous_diffusion(void)
{
    nexp_field *flow = random_field(30, 22, 2, 21, -4.0, 4.0), *flow2 = NULL, *guide = NULL;
    nexp_field_clone(&flow2, flow, NULL);
    nexp_field_create(&guide, 30, 22, 3, NULL);
    nexp_field_fill(guide, 117.0f);
    nexp_diffusion_params prm = model_params(NEXP_DIFF_EED, NEXP_SCHEME_FED, 5.0, 0.5);
    nexp_diffusion_plan *p = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_diffusion_plan_create(&p, 30, 22, 2, &prm, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_diffusion_plan_set_guide(p, guide, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_diffusion_execute(p, flow, NULL, NULL), NEXP_OK);
    nexp_diffusion_plan_free(p);
    prm = model_params(NEXP_DIFF_HOMOGENEOUS, NEXP_SCHEME_FED, 5.0, 0.5);
    CU_ASSERT_EQUAL(run_model(flow2, &prm, NULL), NEXP_OK);
    CU_ASSERT(nexp_test_max_abs_diff(flow, flow2) < 1e-4);
    nexp_field_free(flow);
    nexp_field_free(flow2);
    nexp_field_free(guide);
}

static void known_pixels_keep_their_values(void)
{
    nexp_field *u = random_field(26, 20, 2, 4, 0.0, 9.0), *u0 = NULL;
    nexp_field_clone(&u0, u, NULL);
    uint8_t *known = calloc((size_t)20 * u->stride, 1);
    for (int i = 0; i < 40; i++) {
        known[(size_t)(i % 20) * u->stride + (size_t)((i * 7) % 26)] = 1;
    }
    for (int s = NEXP_SCHEME_EXPLICIT; s <= NEXP_SCHEME_IMPLICIT; s++) {
        nexp_field_copy(u, u0, NULL);
        nexp_diffusion_params prm = model_params(NEXP_DIFF_EED, (nexp_diffusion_scheme)s, 3.0, 0.25);
        nexp_diffusion_plan *p = NULL;
        CU_ASSERT_EQUAL_FATAL(nexp_diffusion_plan_create(&p, 26, 20, 2, &prm, NULL), NEXP_OK);
        nexp_diffusion_run run = NEXP_DIFFUSION_RUN_INIT;
        run.known = known;
        CU_ASSERT_EQUAL(nexp_diffusion_execute(p, u, &run, NULL), NEXP_OK);
        CU_ASSERT(run.steps > 0);
        int kept = 1;
        for (int y = 0; y < 20; y++) {
            for (int x = 0; x < 26; x++) {
                if (known[(size_t)y * u->stride + (size_t)x]) {
                    kept &= nexp_field_get(u, 0, x, y) == nexp_field_get(u0, 0, x, y) &&
                            nexp_field_get(u, 1, x, y) == nexp_field_get(u0, 1, x, y);
                }
            }
        }
        CU_ASSERT(kept);
        nexp_diffusion_plan_free(p);
    }
    free(known);
    nexp_field_free(u);
    nexp_field_free(u0);
}

/* Loss L = sum_p m_p u_next_p with fixed random m; central differences in double. */
static double step_loss(nexp_delta_weights *w, const nexp_field *tensor, const nexp_field *u, const uint8_t *known,
                        const nexp_field *m, nexp_field *scratch, double tau)
{
    nexp_delta_weights_forward(w, tensor, NULL);
    nexp_delta_step_forward(w, tau, u, known, scratch, NULL);
    double s = 0.0;
    for (int c = 0; c < u->channels; c++) {
        for (int y = 0; y < u->height; y++) {
            for (int x = 0; x < u->width; x++) {
                s += (double)nexp_field_get(m, c, x, y) * nexp_field_get(scratch, c, x, y);
            }
        }
    }
    return s;
}

static void delta_step_backward_matches_finite_differences(void)
{
    const int W = 9, H = 7, C = 2;
    const double tau = 0.3;
    nexp_field *u = random_field(W, H, C, 31, -2.0, 2.0), *m = random_field(W, H, C, 32, -1.0, 1.0);
    nexp_field *tensor = random_tensor(W, H, 33, 0.05, 0.45);
    nexp_field *du = NULL, *dt = NULL, *scratch = NULL;
    nexp_field_create_like(&du, u, NULL);
    nexp_field_create_like(&scratch, u, NULL);
    nexp_field_create_like(&dt, tensor, NULL);
    nexp_delta_weights *w = NULL, *dw = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_delta_weights_create(&w, W, H, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_delta_weights_create(&dw, W, H, NULL), NEXP_OK);
    uint8_t *known = calloc((size_t)H * u->stride, 1);
    known[2 * u->stride + 3] = 1;
    known[5 * u->stride + 6] = 1;
    for (int masked = 0; masked < 2; masked++) {
        const uint8_t *kn = masked ? known : NULL;
        CU_ASSERT_EQUAL(nexp_delta_weights_forward(w, tensor, NULL), NEXP_OK);
        CU_ASSERT(tau <= nexp_delta_weights_tau_bound(w));
        nexp_field_fill(du, 0.0f);
        nexp_field_fill(dt, 0.0f);
        nexp_delta_weights_zero(dw);
        CU_ASSERT_EQUAL(nexp_delta_step_backward(w, tau, u, kn, m, du, dw, NULL), NEXP_OK);
        CU_ASSERT_EQUAL(nexp_delta_weights_backward(w, dw, dt, NULL), NEXP_OK);
        double worst = 0.0;
        const float h = 1e-2f;
        for (int c = 0; c < C; c++) {
            for (int y = 0; y < H; y++) {
                for (int x = 0; x < W; x++) {
                    float *v = nexp_field_row(u, c, y) + x, keep = *v;
                    *v = keep + h;
                    double lp = step_loss(w, tensor, u, kn, m, scratch, tau);
                    *v = keep - h;
                    double lm = step_loss(w, tensor, u, kn, m, scratch, tau);
                    *v = keep;
                    double fd = (lp - lm) / (2.0 * h), an = nexp_field_get(du, c, x, y);
                    worst = fmax(worst, fabs(fd - an) / (1.0 + fabs(fd)));
                }
            }
        }
        for (int k = 0; k < 4; k++) {
            for (int y = 0; y < H; y++) {
                for (int x = 0; x < W; x++) {
                    float *v = nexp_field_row(tensor, k, y) + x, keep = *v;
                    const float hk = 2e-3f;
                    *v = keep + hk;
                    double lp = step_loss(w, tensor, u, kn, m, scratch, tau);
                    *v = keep - hk;
                    double lm = step_loss(w, tensor, u, kn, m, scratch, tau);
                    *v = keep;
                    double fd = (lp - lm) / (2.0 * hk), an = nexp_field_get(dt, k, x, y);
                    worst = fmax(worst, fabs(fd - an) / (1.0 + fabs(fd)));
                }
            }
        }
        CU_ASSERT(worst < 2e-3);
        if (worst >= 2e-3) {
            printf("\n  gradient mismatch %g (masked %d)\n", worst, masked);
        }
    }
    free(known);
    nexp_delta_weights_free(w);
    nexp_delta_weights_free(dw);
    nexp_field_free(u);
    nexp_field_free(m);
    nexp_field_free(tensor);
    nexp_field_free(du);
    nexp_field_free(dt);
    nexp_field_free(scratch);
}

/* With alpha just below nexp_delta_alpha_max of each pixel tensor of a smooth, strongly anisotropic
 * tensor field, the cell-averaged stencil has nonnegative weights, and steps within the max-min
 * bound create no new extrema. */
static void nonnegative_alpha_gives_the_max_min_principle_for_anisotropic_tensors(void)
{
    const int W = 40, H = 30;
    nexp_field *t = NULL, *u = random_field(W, H, 2, 61, -5.0, 5.0), *v = NULL;
    nexp_field_create(&t, W, H, 4, NULL);
    nexp_field_create_like(&v, u, NULL);
    nexp_rng rng;
    nexp_rng_seed(&rng, 62);
    /* a smooth direction field (so cell averages stay diagonally dominant) with strong anisotropy */
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            double th = 0.3 + 0.1 * sin(0.2 * x + 0.1 * y), l1 = 1.0, l2 = 0.4;
            double c = cos(th), s = sin(th);
            double a = l1 * c * c + l2 * s * s, b = (l1 - l2) * c * s, cc = l1 * s * s + l2 * c * c, am = -1.0;
            CU_ASSERT_EQUAL(nexp_delta_alpha_max(a, b, cc, &am), 0);
            nexp_field_row(t, 0, y)[x] = (float)a;
            nexp_field_row(t, 1, y)[x] = (float)b;
            nexp_field_row(t, 2, y)[x] = (float)cc;
            nexp_field_row(t, 3, y)[x] = (float)(0.9 * am);
        }
    }
    double am;
    CU_ASSERT_EQUAL(nexp_delta_alpha_max(0.25, 0.433, 0.75, &am), -1); /* 60 degrees, rank one */
    CU_ASSERT_EQUAL(nexp_delta_alpha_max(1.0, 0.0, 1.0, &am), 0);
    CU_ASSERT(am == 0.5);
    nexp_delta_weights *w = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_delta_weights_create(&w, W, H, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_delta_weights_forward(w, t, NULL), NEXP_OK);
    long neg = -1;
    const double tau = nexp_delta_weights_maxmin_bound(w, &neg);
    CU_ASSERT_EQUAL(neg, 0);
    CU_ASSERT(tau > 0.0 && tau <= nexp_delta_weights_tau_bound(w) * 1.5);
    nexp_stats s0[2];
    nexp_field_stats(u, 0, &s0[0], NULL);
    nexp_field_stats(u, 1, &s0[1], NULL);
    for (int k = 0; k < 50; k++) {
        nexp_delta_step_forward(w, tau, u, NULL, v, NULL);
        nexp_field_copy(u, v, NULL);
    }
    for (int c = 0; c < 2; c++) {
        nexp_stats s1;
        nexp_field_stats(u, c, &s1, NULL);
        CU_ASSERT(s1.min >= s0[c].min - 1e-5 && s1.max <= s0[c].max + 1e-5);
    }
    /* alpha = 1/2 everywhere is above alpha_max here: negative weights appear */
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            nexp_field_row(t, 3, y)[x] = 0.5f;
        }
    }
    CU_ASSERT_EQUAL(nexp_delta_weights_forward(w, t, NULL), NEXP_OK);
    nexp_delta_weights_maxmin_bound(w, &neg);
    CU_ASSERT(neg > 0);
    nexp_delta_weights_free(w);
    nexp_field_free(t);
    nexp_field_free(u);
    nexp_field_free(v);
}

static void fed_steps_sum_to_the_cycle_time_and_respect_the_bound(void)
{
    for (int n = 1; n <= 40; n += 3) {
        double taus[40], a[40], sum = 0.0, big = 0.0;
        nexp_fed_taus(n, 0.25 * n * (n + 1) / 3.0, taus);
        for (int k = 0; k < n; k++) {
            sum += taus[k];
            big = fmax(big, taus[k]);
        }
        CU_ASSERT(fabs(sum - 0.25 * n * (n + 1) / 3.0) < 1e-9 * sum);
        CU_ASSERT(big > 0.25 * n / 2.0);
        double tau = nexp_fsi_weights(n, 1.0, a);
        CU_ASSERT(fabs(tau * n * (n + 1) / 3.0 - 1.0) < 1e-12);
        CU_ASSERT(fabs(a[0] - 2.0 / 3.0) < 1e-15);
    }
    CU_ASSERT_EQUAL(nexp_fed_steps(0.25 * 10 * 11 / 3.0, 0.25), 10);
    CU_ASSERT_EQUAL(nexp_fed_steps(0.25 * 10 * 11 / 3.0 + 1e-6, 0.25), 11);
}

static void dct_gaussian_preserves_the_mean_and_heat_matches_the_semi_discrete_exponential(void)
{
    nexp_field *u = random_field(20, 14, 1, 77, 0.0, 5.0), *g = NULL, *h = NULL;
    nexp_field_create_like(&g, u, NULL);
    nexp_field_create_like(&h, u, NULL);
    nexp_dct_plan *pf = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_dct_plan_create(&pf, 20, 14, NEXP_DCT_FLOAT, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_dct_gaussian(pf, u, g, 1.7, NULL), NEXP_OK);
    CU_ASSERT(fabs(channel_mean(g, 0) - channel_mean(u, 0)) < 1e-5);
    /* heat for a tiny time equals one tiny explicit step */
    CU_ASSERT_EQUAL(nexp_dct_heat(pf, u, h, 1e-3, 0.2, NULL), NEXP_OK);
    nexp_field *e = NULL;
    nexp_field_clone(&e, u, NULL);
    nexp_diffusion_params prm = model_params(NEXP_DIFF_HOMOGENEOUS, NEXP_SCHEME_EXPLICIT, 1e-3, 0.2);
    CU_ASSERT_EQUAL(run_model(e, &prm, NULL), NEXP_OK);
    CU_ASSERT(nexp_test_max_abs_diff(e, h) < 1e-4);
    CU_ASSERT_EQUAL(nexp_dct_gaussian(pf, u, g, -1.0, NULL), NEXP_ERR_ARG);
    nexp_dct_plan_free(pf);
    nexp_field_free(u);
    nexp_field_free(g);
    nexp_field_free(h);
    nexp_field_free(e);
}

int main(void)
{
    static CU_TestInfo tests[] = {
        { "every_model_and_scheme_preserves_the_mean", every_model_and_scheme_preserves_the_mean },
        { "delta_stencil_obeys_the_max_min_principle", delta_stencil_obeys_the_max_min_principle },
        { "explicit_homogeneous_converges_to_the_dct_solution_at_first_order",
          explicit_homogeneous_converges_to_the_dct_solution_at_first_order },
        { "transposing_the_input_transposes_the_output_of_eed_and_ced",
          transposing_the_input_transposes_the_output_of_eed_and_ced },
        { "results_with_one_and_two_threads_are_identical", results_with_one_and_two_threads_are_identical },
        { "invalid_parameters_give_clear_errors", invalid_parameters_give_clear_errors },
        { "given_identity_tensor_reproduces_homogeneous_diffusion",
          given_identity_tensor_reproduces_homogeneous_diffusion },
        { "guided_mode_with_a_flat_guide_is_homogeneous_diffusion",
          guided_mode_with_a_flat_guide_is_homogeneous_diffusion },
        { "known_pixels_keep_their_values", known_pixels_keep_their_values },
        { "delta_step_backward_matches_finite_differences", delta_step_backward_matches_finite_differences },
        { "nonnegative_alpha_gives_the_max_min_principle_for_anisotropic_tensors",
          nonnegative_alpha_gives_the_max_min_principle_for_anisotropic_tensors },
        { "fed_steps_sum_to_the_cycle_time_and_respect_the_bound",
          fed_steps_sum_to_the_cycle_time_and_respect_the_bound },
        { "dct_gaussian_preserves_the_mean_and_heat_matches_the_semi_discrete_exponential",
          dct_gaussian_preserves_the_mean_and_heat_matches_the_semi_discrete_exponential },
        CU_TEST_INFO_NULL,
    };
    return nexp_test_run("diffusion", tests);
}
