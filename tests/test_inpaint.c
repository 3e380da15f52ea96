/* Inpainting module: the Laplace solver, explicit steps, the pyramid, masks and flow metrics. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nexp.h"
#include "nexp_flowmetrics.h"
#include "nexp_inpaint.h"
#include "nexp_io.h"
#include "nexp_mask.h"
#include "testlib.h"

static nexp_field *make_field(int w, int h, int c)
{
    nexp_field *f = NULL;
    nexp_field_create(&f, w, h, c, NULL);
    return f;
}

/* u = a + b x + c y in channel 0, a different plane in channel 1. */
static nexp_field *linear_flow(int w, int h)
{
    nexp_field *f = make_field(w, h, 2);
    f->kind = NEXP_KIND_FLOW;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            nexp_field_row(f, 0, y)[x] = 2.385f + 0.173f * (float)x - 0.291f * (float)y;
            nexp_field_row(f, 1, y)[x] = -1.25f - 0.062f * (float)x + 0.117f * (float)y;
        }
    }
    return f;
}

static nexp_field *read_or_fail(const char *rel)
{
    nexp_field *f = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    if (nexp_field_read(nexp_test_data(rel), &f, &err) != NEXP_OK) {
        fprintf(stderr, "%s\n", err.msg);
    }
    return f;
}

static void linear_field_is_reproduced_exactly_when_the_border_is_known(void)
{
    /* The discrete Laplace solution is exact for linear data wherever the boundary condition does not
     * interfere: with the image border known, a linear field is reproduced whatever the interior mask. */
    const int w = 37, h = 29;
    nexp_field *gt = linear_flow(w, h);
    const double densities[] = { 0.0, 0.01, 0.2 };
    for (int i = 0; i < 3; i++) {
        nexp_field *known = NULL, *out = NULL;
        CU_ASSERT_EQUAL_FATAL(nexp_mask_bernoulli(gt, densities[i], 11 + (uint64_t)i, &known, NULL), NEXP_OK);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (x == 0 || y == 0 || x == w - 1 || y == h - 1) {
                    nexp_field_row(known, 0, y)[x] = 1.0f;
                }
            }
        }
        for (int m = NEXP_INPAINT_HOMOGENEOUS; m <= NEXP_INPAINT_HOMOGENEOUS_EXPLICIT; m++) {
            nexp_inpaint_options opt = nexp_inpaint_defaults((nexp_inpaint_method)m);
            opt.n_steps = 1;
            opt.steps[0] = 3000;
            nexp_error err = NEXP_ERROR_INIT;
            CU_ASSERT_EQUAL_FATAL(nexp_inpaint(gt, known, NULL, &opt, &out, NULL, &err), NEXP_OK);
            CU_ASSERT(nexp_test_max_abs_diff(out, gt) < 2e-5);
            nexp_field_free(out);
        }
        nexp_field_free(known);
    }
    nexp_field_free(gt);
}

static void three_pixels_give_a_bounded_field_that_keeps_them(void)
{
    /* With a reflecting border a non-constant linear field is not harmonic (its normal derivative is
     * not zero), so three pixels cannot reproduce it; the solution still interpolates them and obeys
     * the max-min principle. A constant is reproduced from any single pixel. */
    const int w = 41, h = 23;
    nexp_field *gt = linear_flow(w, h);
    nexp_field *known = make_field(w, h, 1), *out = NULL;
    const int px[3][2] = { { 3, 4 }, { 30, 7 }, { 12, 19 } };
    for (int i = 0; i < 3; i++) {
        nexp_field_row(known, 0, px[i][1])[px[i][0]] = 1.0f;
    }
    nexp_inpaint_options opt = nexp_inpaint_defaults(NEXP_INPAINT_HOMOGENEOUS);
    CU_ASSERT_EQUAL_FATAL(nexp_inpaint(gt, known, NULL, &opt, &out, NULL, NULL), NEXP_OK);
    for (int c = 0; c < 2; c++) {
        float lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < 3; i++) {
            float v = nexp_field_get(gt, c, px[i][0], px[i][1]);
            CU_ASSERT_EQUAL(nexp_field_get(out, c, px[i][0], px[i][1]), v);
            lo = fminf(lo, v);
            hi = fmaxf(hi, v);
        }
        nexp_stats s;
        nexp_field_stats(out, c, &s, NULL);
        CU_ASSERT(s.min >= lo - 1e-5 && s.max <= hi + 1e-5);
    }
    nexp_field_fill(gt, -3.817f);
    nexp_field *one = make_field(w, h, 1);
    nexp_field_row(one, 0, 11)[17] = 1.0f;
    nexp_field_free(out);
    CU_ASSERT_EQUAL_FATAL(nexp_inpaint(gt, one, NULL, &opt, &out, NULL, NULL), NEXP_OK);
    CU_ASSERT(nexp_test_max_abs_diff(out, gt) < 1e-5);
    nexp_field_free(one);
    nexp_field_free(out);
    nexp_field_free(known);
    nexp_field_free(gt);
}

static void known_pixels_are_untouched_and_a_full_mask_returns_the_input(void)
{
    nexp_field *gt = read_or_fail("flow/chairs-crops/00001_flow.flo");
    nexp_field *img = read_or_fail("flow/chairs-crops/00001_img1.ppm");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gt);
    CU_ASSERT_PTR_NOT_NULL_FATAL(img);
    nexp_field *known = NULL, *full = NULL, *out = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_mask_bernoulli(gt, 0.1, 7, &known, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_mask_bernoulli(gt, 1.0, 7, &full, NULL), NEXP_OK);
    for (int m = 0; m < NEXP_INPAINT_METHOD_COUNT; m++) {
        nexp_inpaint_options opt = nexp_inpaint_defaults((nexp_inpaint_method)m);
        nexp_error err = NEXP_ERROR_INIT;
        CU_ASSERT_EQUAL_FATAL(nexp_inpaint(gt, known, img, &opt, &out, NULL, &err), NEXP_OK);
        int same = 1;
        for (int c = 0; c < 2; c++) {
            for (int y = 0; y < gt->height; y++) {
                for (int x = 0; x < gt->width; x++) {
                    if (nexp_field_get(known, 0, x, y) != 0.0f) {
                        same &= nexp_field_get(out, c, x, y) == nexp_field_get(gt, c, x, y);
                    }
                }
            }
        }
        CU_ASSERT(same);
        nexp_field_free(out);
        CU_ASSERT_EQUAL_FATAL(nexp_inpaint(gt, full, img, &opt, &out, NULL, NULL), NEXP_OK);
        CU_ASSERT_EQUAL(nexp_test_max_abs_diff(out, gt), 0.0);
        nexp_field_free(out);
    }
    nexp_field_free(img);
    nexp_field_free(full);
    nexp_field_free(known);
    nexp_field_free(gt);
}

static void fast_solver_agrees_with_explicit_steps_run_to_convergence(void)
{
    nexp_field *gt = read_or_fail("flow/chairs-crops/00001_flow.flo");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gt);
    nexp_field *known = NULL, *fast = NULL, *slow = NULL, *tmp = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_mask_bernoulli(gt, 0.03, 2385, &known, NULL), NEXP_OK);
    nexp_inpaint_options opt = nexp_inpaint_defaults(NEXP_INPAINT_HOMOGENEOUS);
    nexp_inpaint_report rep;
    CU_ASSERT_EQUAL_FATAL(nexp_inpaint(gt, known, NULL, &opt, &fast, &rep, NULL), NEXP_OK);
    CU_ASSERT(rep.laplace.rel_residual <= 1e-6);
    /* plain explicit steps with tau = 0.24 from zero, one level, until nothing changes */
    slow = make_field(gt->width, gt->height, 2);
    tmp = make_field(gt->width, gt->height, 2);
    for (int c = 0; c < 2; c++) {
        for (int y = 0; y < gt->height; y++) {
            for (int x = 0; x < gt->width; x++) {
                if (nexp_field_get(known, 0, x, y) != 0.0f) {
                    nexp_field_row(slow, c, y)[x] = nexp_field_get(gt, c, x, y);
                }
            }
        }
    }
    for (int it = 0; it < 40000; it++) {
        for (int c = 0; c < 2; c++) {
            nexp_inpaint_homogeneous_step_rows(nexp_field_row(slow, c, 0), nexp_field_row(tmp, c, 0),
                                               nexp_field_row(known, 0, 0), gt->width, gt->height, gt->stride,
                                               0.24f, 0, gt->height);
        }
        float *sw = slow->data;
        slow->data = tmp->data;
        tmp->data = sw;
    }
    CU_ASSERT(nexp_test_max_abs_diff(fast, slow) < 1e-4);
    nexp_field_free(tmp);
    nexp_field_free(slow);
    nexp_field_free(fast);
    nexp_field_free(known);
    nexp_field_free(gt);
}

static void laplace_solver_reaches_the_tolerance_on_sintel_at_1_and_10_percent(void)
{
    nexp_field *gt = read_or_fail("flow/sintel-alley/flow_0002.flo");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gt);
    CU_ASSERT_EQUAL(gt->width, 1024);
    const double dens[] = { 0.01, 0.10 };
    for (int i = 0; i < 2; i++) {
        nexp_field *known = NULL, *out = NULL;
        nexp_mask_bernoulli(gt, dens[i], 100 + (uint64_t)i, &known, NULL);
        nexp_inpaint_options opt = nexp_inpaint_defaults(NEXP_INPAINT_HOMOGENEOUS);
        nexp_inpaint_report rep;
        nexp_error err = NEXP_ERROR_INIT;
        CU_ASSERT_EQUAL_FATAL(nexp_inpaint(gt, known, NULL, &opt, &out, &rep, &err), NEXP_OK);
        nexp_laplace_plan *plan = NULL;
        CU_ASSERT_EQUAL_FATAL(nexp_laplace_plan_create(&plan, known, NULL), NEXP_OK);
        for (int c = 0; c < 2; c++) {
            CU_ASSERT(nexp_laplace_plan_residual(plan, out, c) <= 1e-6);
        }
        CU_ASSERT(rep.laplace.iterations > 0 && rep.laplace.iterations < 60);
        nexp_laplace_plan_free(plan);
        nexp_field_free(out);
        nexp_field_free(known);
    }
    nexp_field_free(gt);
}

static void guided_eed_beats_homogeneous_on_sintel_at_5_percent(void)
{
    nexp_field *gt = read_or_fail("flow/sintel-alley/flow_0002.flo");
    nexp_field *img = read_or_fail("flow/sintel-alley/clean/frame_0002.png");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gt);
    CU_ASSERT_PTR_NOT_NULL_FATAL(img);
    nexp_field *known = NULL, *hom = NULL, *eed = NULL;
    nexp_mask_bernoulli(gt, 0.05, 2385, &known, NULL);
    nexp_inpaint_options ho = nexp_inpaint_defaults(NEXP_INPAINT_HOMOGENEOUS);
    nexp_inpaint_options eo = nexp_inpaint_defaults(NEXP_INPAINT_EED);
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_inpaint(gt, known, img, &ho, &hom, NULL, &err), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_inpaint(gt, known, img, &eo, &eed, NULL, &err), NEXP_OK);
    nexp_flow_errors eh, ee;
    CU_ASSERT_EQUAL_FATAL(nexp_flow_errors_compute(hom, gt, known, &eh, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_flow_errors_compute(eed, gt, known, &ee, NULL), NEXP_OK);
    printf(" [EPE homogeneous %.4f, EED %.4f] ", eh.all.epe, ee.all.epe);
    CU_ASSERT(ee.all.epe < 0.8 * eh.all.epe);
    CU_ASSERT_EQUAL(ee.known.epe, 0.0);
    nexp_field_free(eed);
    nexp_field_free(hom);
    nexp_field_free(known);
    nexp_field_free(img);
    nexp_field_free(gt);
}

static void eed_inpainting_stays_within_the_data_range_up_to_small_overshoots(void)
{
    nexp_field *gt = read_or_fail("flow/chairs-crops/0000000-flow_01.flo");
    nexp_field *img = read_or_fail("flow/chairs-crops/0000000-img_0.png");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gt);
    CU_ASSERT_PTR_NOT_NULL_FATAL(img);
    nexp_field *known = NULL, *out = NULL;
    nexp_mask_bernoulli(gt, 0.03, 17, &known, NULL);
    for (int m = NEXP_INPAINT_EED; m <= NEXP_INPAINT_EED_FLOW; m++) {
        nexp_inpaint_options opt = nexp_inpaint_defaults((nexp_inpaint_method)m);
        opt.scheme = m == NEXP_INPAINT_EED ? NEXP_SCHEME_FSI : NEXP_SCHEME_FED;
        CU_ASSERT_EQUAL_FATAL(nexp_inpaint(gt, known, img, &opt, &out, NULL, NULL), NEXP_OK);
        for (int c = 0; c < 2; c++) {
            float lo = INFINITY, hi = -INFINITY;
            for (int y = 0; y < gt->height; y++) {
                for (int x = 0; x < gt->width; x++) {
                    if (nexp_field_get(known, 0, x, y) != 0.0f) {
                        lo = fminf(lo, nexp_field_get(gt, c, x, y));
                        hi = fmaxf(hi, nexp_field_get(gt, c, x, y));
                    }
                }
            }
            nexp_stats s;
            nexp_field_stats(out, c, &s, NULL);
            /* The anisotropic delta stencil (alpha 0.3) has some negative weights across strong
             * anisotropy, so small over- and undershoots are allowed; instability would be far larger. */
            double slack = 0.1 * (hi - lo);
            CU_ASSERT(s.min >= lo - slack && s.max <= hi + slack);
        }
        nexp_field_free(out);
        out = NULL;
    }
    nexp_inpaint_options opt = nexp_inpaint_defaults(NEXP_INPAINT_EED);
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_inpaint(gt, known, NULL, &opt, &out, NULL, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "reference image") != NULL);
    opt.alpha = 0.7;
    CU_ASSERT_EQUAL(nexp_inpaint(gt, known, img, &opt, &out, NULL, NULL), NEXP_ERR_ARG);
    nexp_field_free(known);
    nexp_field_free(img);
    nexp_field_free(gt);
}

static void laplace_solver_is_independent_of_the_thread_count(void)
{
    nexp_field *gt = read_or_fail("flow/chairs-crops/0000000-flow_01.flo");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gt);
    nexp_field *known = NULL, *a = NULL, *b = NULL;
    nexp_mask_bernoulli(gt, 0.05, 5, &known, NULL);
    nexp_inpaint_options opt = nexp_inpaint_defaults(NEXP_INPAINT_HOMOGENEOUS);
    nexp_set_threads(1);
    CU_ASSERT_EQUAL_FATAL(nexp_inpaint(gt, known, NULL, &opt, &a, NULL, NULL), NEXP_OK);
    nexp_set_threads(2);
    CU_ASSERT_EQUAL_FATAL(nexp_inpaint(gt, known, NULL, &opt, &b, NULL, NULL), NEXP_OK);
    nexp_set_threads(0);
    CU_ASSERT_EQUAL(nexp_test_max_abs_diff(a, b), 0.0);
    nexp_field_free(a);
    nexp_field_free(b);
    nexp_field_free(known);
    nexp_field_free(gt);
}

static void pyramid_pools_known_pixels_only_and_max_pools_the_mask(void)
{
    nexp_field *d = make_field(5, 4, 1), *k = make_field(5, 4, 1);
    /* top-left 2x2 block: known 1.5 and 3.5, unknown 100 */
    nexp_field_row(d, 0, 0)[0] = 1.5f;
    nexp_field_row(k, 0, 0)[0] = 1.0f;
    nexp_field_row(d, 0, 1)[1] = 3.5f;
    nexp_field_row(k, 0, 1)[1] = 1.0f;
    nexp_field_row(d, 0, 0)[1] = 100.0f;
    /* the odd last column is its own 1 x 2 block */
    nexp_field_row(d, 0, 3)[4] = -2.25f;
    nexp_field_row(k, 0, 3)[4] = 1.0f;
    nexp_pyramid *p = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_pyramid_create(&p, d, k, NULL, 2, &err), NEXP_OK);
    CU_ASSERT_EQUAL(p->levels, 1); /* 5 x 4 is too small for a second level with sides >= 4 */
    nexp_pyramid_free(p);
    nexp_field *c = make_field(3, 2, 1), *ck = make_field(3, 2, 1);
    CU_ASSERT_EQUAL(nexp_field_pool2(d, k, c, NULL), NEXP_OK);
    CU_ASSERT_DOUBLE_EQUAL(nexp_field_get(c, 0, 0, 0), 2.5, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(nexp_field_get(c, 0, 2, 1), -2.25, 1e-6);
    CU_ASSERT_EQUAL(nexp_field_get(c, 0, 1, 0), 0.0f);
    nexp_field *big = make_field(64, 40, 2), *bk = NULL;
    nexp_field_fill(big, 1.75f);
    nexp_mask_bernoulli(big, 0.02, 3, &bk, NULL);
    CU_ASSERT_EQUAL_FATAL(nexp_pyramid_create(&p, big, bk, NULL, 9, &err), NEXP_OK);
    CU_ASSERT_EQUAL(p->levels, nexp_pyramid_max_levels(64, 40));
    CU_ASSERT_EQUAL(p->levels, 4);
    for (int l = 1; l < p->levels; l++) {
        CU_ASSERT_EQUAL(p->known[l]->width, (p->known[l - 1]->width + 1) / 2);
        for (int y = 0; y < p->known[l]->height; y++) {
            for (int x = 0; x < p->known[l]->width; x++) {
                int any = 0;
                for (int dy = 0; dy < 2; dy++) {
                    for (int dx = 0; dx < 2; dx++) {
                        int fx = 2 * x + dx, fy = 2 * y + dy;
                        if (fx < p->known[l - 1]->width && fy < p->known[l - 1]->height) {
                            any |= nexp_field_get(p->known[l - 1], 0, fx, fy) != 0.0f;
                        }
                    }
                }
                CU_ASSERT_EQUAL(nexp_field_get(p->known[l], 0, x, y), any ? 1.0f : 0.0f);
                if (any) {
                    CU_ASSERT_DOUBLE_EQUAL(nexp_field_get(p->data[l], 1, x, y), 1.75, 1e-6);
                }
            }
        }
    }
    nexp_pyramid_free(p);
    nexp_field_free(bk);
    nexp_field_free(big);
    nexp_field_free(ck);
    nexp_field_free(c);
    nexp_field_free(k);
    nexp_field_free(d);
}

static void bilinear_upsampling_keeps_constants_and_interior_ramps(void)
{
    nexp_field *c = make_field(8, 6, 1), *f = make_field(16, 12, 1);
    for (int y = 0; y < 6; y++) {
        for (int x = 0; x < 8; x++) {
            nexp_field_row(c, 0, y)[x] = 0.5f + 2.0f * (float)x - 1.0f * (float)y;
        }
    }
    CU_ASSERT_EQUAL(nexp_field_upsample_bilinear(c, f, NULL), NEXP_OK);
    /* fine x -> coarse (x + 0.5) / 2 - 0.5: away from the clamped border the ramp halves its slope */
    for (int y = 1; y < 11; y++) {
        for (int x = 1; x < 15; x++) {
            double cx = (x + 0.5) / 2.0 - 0.5, cy = (y + 0.5) / 2.0 - 0.5;
            CU_ASSERT_DOUBLE_EQUAL(nexp_field_get(f, 0, x, y), 0.5 + 2.0 * cx - cy, 1e-5);
        }
    }
    nexp_field_fill(c, 4.125f);
    nexp_field_upsample_bilinear(c, f, NULL);
    nexp_stats s;
    nexp_field_stats(f, 0, &s, NULL);
    CU_ASSERT_DOUBLE_EQUAL(s.min, 4.125, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(s.max, 4.125, 1e-6);
    nexp_field_free(f);
    nexp_field_free(c);
}

static void explicit_steps_obey_the_max_min_principle(void)
{
    nexp_field *u = make_field(31, 17, 1), *o = make_field(31, 17, 1), *k = make_field(31, 17, 1);
    nexp_rng rng;
    nexp_rng_seed(&rng, 99);
    for (int y = 0; y < 17; y++) {
        for (int x = 0; x < 31; x++) {
            nexp_field_row(u, 0, y)[x] = (float)nexp_rng_range(&rng, -3.0, 5.0);
            nexp_field_row(k, 0, y)[x] = nexp_rng_uniform(&rng) < 0.1 ? 1.0f : 0.0f;
        }
    }
    for (int it = 0; it < 50; it++) {
        nexp_inpaint_homogeneous_step_rows(u->data, o->data, k->data, 31, 17, u->stride, 0.25f, 0, 17);
        nexp_stats s;
        nexp_field_stats(o, 0, &s, NULL);
        CU_ASSERT(s.min >= -3.0 && s.max <= 5.0);
        float *sw = u->data;
        u->data = o->data;
        o->data = sw;
    }
    nexp_field_free(k);
    nexp_field_free(o);
    nexp_field_free(u);
}

static void bad_inputs_give_clear_errors(void)
{
    nexp_field *gt = linear_flow(20, 10), *known = NULL, *out = NULL;
    nexp_inpaint_options opt = nexp_inpaint_defaults(NEXP_INPAINT_HOMOGENEOUS);
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *small = make_field(19, 10, 1);
    CU_ASSERT_EQUAL(nexp_inpaint(gt, small, NULL, &opt, &out, NULL, &err), NEXP_ERR_SIZE);
    CU_ASSERT(strstr(err.msg, "19 x 10") != NULL && strstr(err.msg, "20 x 10") != NULL);
    CU_ASSERT_PTR_NULL(out);
    nexp_field *empty = make_field(20, 10, 1);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_inpaint(gt, empty, NULL, &opt, &out, NULL, &err), NEXP_ERR_EMPTY);
    CU_ASSERT(strstr(err.msg, "no known pixel") != NULL);
    nexp_laplace_plan *plan = NULL;
    CU_ASSERT_EQUAL(nexp_laplace_plan_create(&plan, empty, NULL), NEXP_ERR_EMPTY);
    CU_ASSERT_PTR_NULL(plan);
    nexp_mask_bernoulli(gt, 0.5, 1, &known, NULL);
    nexp_field_row(known, 0, 4)[6] = 1.0f;
    nexp_field_row(gt, 1, 4)[6] = NAN;
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_inpaint(gt, known, NULL, &opt, &out, NULL, &err), NEXP_ERR_NONFINITE);
    CU_ASSERT(strstr(err.msg, "x = 6, y = 4") != NULL);
    nexp_field *guide = make_field(21, 10, 3);
    nexp_field_row(gt, 1, 4)[6] = 0.5f;
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_inpaint(gt, known, guide, &opt, &out, NULL, &err), NEXP_ERR_SIZE);
    CU_ASSERT(strstr(err.msg, "reference image") != NULL);
    opt.tol = 0.0;
    CU_ASSERT_EQUAL(nexp_inpaint(gt, known, NULL, &opt, &out, NULL, NULL), NEXP_ERR_ARG);
    CU_ASSERT_EQUAL(nexp_mask_bernoulli(gt, 1.5, 1, &out, NULL), NEXP_ERR_ARG);
    nexp_field_free(guide);
    nexp_field_free(empty);
    nexp_field_free(small);
    nexp_field_free(known);
    nexp_field_free(gt);
}

static void bernoulli_masks_are_reproducible_and_skip_invalid_pixels(void)
{
    nexp_field *f = make_field(200, 150, 2), *a = NULL, *b = NULL, *c = NULL;
    nexp_field_ensure_mask(f, NULL);
    for (int x = 0; x < 200; x++) {
        f->mask[10 * f->stride + (size_t)x] = 0;
    }
    nexp_mask_bernoulli(f, 0.05, 42, &a, NULL);
    nexp_mask_bernoulli(f, 0.05, 42, &b, NULL);
    nexp_mask_bernoulli(f, 0.05, 43, &c, NULL);
    CU_ASSERT_EQUAL(nexp_test_max_abs_diff(a, b), 0.0);
    CU_ASSERT(nexp_test_max_abs_diff(a, c) > 0.0);
    size_t n = nexp_mask_count(a);
    double expect = 0.05 * 149 * 200, sd = sqrt(expect * 0.95);
    CU_ASSERT(fabs((double)n - expect) < 5.0 * sd);
    for (int x = 0; x < 200; x++) {
        CU_ASSERT_EQUAL(nexp_field_get(a, 0, x, 10), 0.0f);
    }
    nexp_field *img = NULL, *back = NULL;
    CU_ASSERT_EQUAL(nexp_mask_to_image(a, &img, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_field_write(nexp_test_tmp("mask.png"), img, NULL), NEXP_OK);
    nexp_field *png = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_field_read(nexp_test_tmp("mask.png"), &png, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_mask_from_image(png, &back, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_test_max_abs_diff(a, back), 0.0);
    nexp_field_free(png);
    nexp_field_free(back);
    nexp_field_free(img);
    nexp_field_free(a);
    nexp_field_free(b);
    nexp_field_free(c);
    nexp_field_free(f);
}

static void flow_errors_match_hand_computed_values_and_split_by_the_mask(void)
{
    nexp_field *gt = make_field(2, 2, 2), *est = make_field(2, 2, 2), *known = make_field(2, 2, 1);
    /* pixel (0,0): gt 0, est (3, 4): EPE 5, angle between (0,0,1) and (3,4,1) = acos(1/sqrt(26)) */
    nexp_field_row(est, 0, 0)[0] = 3.0f;
    nexp_field_row(est, 1, 0)[0] = 4.0f;
    /* pixel (1,0): gt (100, 0), est (96, 0): EPE 4 > 3 but < 5 % of 100: not an outlier */
    nexp_field_row(gt, 0, 0)[1] = 100.0f;
    nexp_field_row(est, 0, 0)[1] = 96.0f;
    /* pixel (0,1): gt (1, 0), est (0, 0): angle acos(1 / sqrt(2)) = 45 deg */
    nexp_field_row(gt, 0, 1)[0] = 1.0f;
    /* pixel (1,1): exact */
    nexp_field_row(gt, 1, 1)[1] = -2.5f;
    nexp_field_row(est, 1, 1)[1] = -2.5f;
    nexp_field_row(known, 0, 1)[1] = 1.0f;
    nexp_flow_errors e;
    CU_ASSERT_EQUAL_FATAL(nexp_flow_errors_compute(est, gt, known, &e, NULL), NEXP_OK);
    CU_ASSERT_DOUBLE_EQUAL(e.all.epe, (5.0 + 4.0 + 1.0 + 0.0) / 4.0, 1e-9);
    double a00 = acos(1.0 / sqrt(26.0)) * 180.0 / M_PI;
    double a10 = acos((96.0 * 100.0 + 1.0) / sqrt((96.0 * 96.0 + 1.0) * (100.0 * 100.0 + 1.0))) * 180.0 / M_PI;
    CU_ASSERT_DOUBLE_EQUAL(e.all.aae, (a00 + a10 + 45.0) / 4.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(e.all.fl, 0.25, 1e-12);
    CU_ASSERT_EQUAL(e.known.count, 1);
    CU_ASSERT_DOUBLE_EQUAL(e.known.epe, 0.0, 1e-12);
    CU_ASSERT_EQUAL(e.unknown.count, 3);
    CU_ASSERT_DOUBLE_EQUAL(e.unknown.epe, 10.0 / 3.0, 1e-9);
    nexp_field_ensure_mask(gt, NULL);
    gt->mask[0] = 0;
    CU_ASSERT_EQUAL_FATAL(nexp_flow_errors_compute(est, gt, NULL, &e, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(e.all.count, 3);
    CU_ASSERT_DOUBLE_EQUAL(e.all.epe, 5.0 / 3.0, 1e-9);
    nexp_field_row(est, 0, 1)[1] = NAN;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_flow_errors_compute(est, gt, NULL, &e, &err), NEXP_ERR_NONFINITE);
    CU_ASSERT(strstr(err.msg, "x = 1, y = 1") != NULL);
    nexp_field *wrong = make_field(3, 2, 2);
    CU_ASSERT_EQUAL(nexp_flow_errors_compute(wrong, gt, NULL, &e, NULL), NEXP_ERR_SIZE);
    nexp_field_free(wrong);
    nexp_field_free(known);
    nexp_field_free(est);
    nexp_field_free(gt);
}

static void known_mask_from_data_marks_unknown_flo_vectors(void)
{
    nexp_field *f = linear_flow(6, 5), *k = NULL;
    nexp_field_row(f, 0, 2)[3] = 1e10f;
    nexp_field_row(f, 1, 4)[0] = NAN;
    CU_ASSERT_EQUAL_FATAL(nexp_inpaint_known_from_data(f, &k, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_mask_count(k), 28);
    CU_ASSERT_EQUAL(nexp_field_get(k, 0, 3, 2), 0.0f);
    CU_ASSERT_EQUAL(nexp_field_get(k, 0, 0, 4), 0.0f);
    nexp_field_free(k);
    nexp_field_free(f);
}

static void unknown_vectors_of_a_flo_file_define_the_holes(void)
{
    nexp_field *gt = read_or_fail("flow/chairs-crops/00001_flow.flo");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gt);
    nexp_field *keep = NULL, *sparse = NULL, *back = NULL, *known = NULL, *a = NULL, *b = NULL;
    nexp_mask_bernoulli(gt, 0.1, 23, &keep, NULL);
    nexp_field_clone(&sparse, gt, NULL);
    nexp_field_ensure_mask(sparse, NULL);
    for (int y = 0; y < gt->height; y++) {
        for (int x = 0; x < gt->width; x++) {
            sparse->mask[(size_t)y * sparse->stride + (size_t)x] = nexp_field_get(keep, 0, x, y) != 0.0f;
        }
    }
    CU_ASSERT_EQUAL_FATAL(nexp_field_write(nexp_test_tmp("sparse.flo"), sparse, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_field_read(nexp_test_tmp("sparse.flo"), &back, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_inpaint_known_from_data(back, &known, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_test_max_abs_diff(known, keep), 0.0);
    nexp_inpaint_options opt = nexp_inpaint_defaults(NEXP_INPAINT_HOMOGENEOUS);
    CU_ASSERT_EQUAL_FATAL(nexp_inpaint(back, known, NULL, &opt, &a, NULL, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_inpaint(gt, keep, NULL, &opt, &b, NULL, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_test_max_abs_diff(a, b), 0.0);
    CU_ASSERT_EQUAL(nexp_field_check_finite(a, NULL), NEXP_OK);
    nexp_field_free(a);
    nexp_field_free(b);
    nexp_field_free(known);
    nexp_field_free(back);
    nexp_field_free(sparse);
    nexp_field_free(keep);
    nexp_field_free(gt);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "linear_field_is_reproduced_exactly_when_the_border_is_known",
          linear_field_is_reproduced_exactly_when_the_border_is_known },
        { "three_pixels_give_a_bounded_field_that_keeps_them", three_pixels_give_a_bounded_field_that_keeps_them },
        { "known_pixels_are_untouched_and_a_full_mask_returns_the_input",
          known_pixels_are_untouched_and_a_full_mask_returns_the_input },
        { "fast_solver_agrees_with_explicit_steps_run_to_convergence",
          fast_solver_agrees_with_explicit_steps_run_to_convergence },
        { "laplace_solver_reaches_the_tolerance_on_sintel_at_1_and_10_percent",
          laplace_solver_reaches_the_tolerance_on_sintel_at_1_and_10_percent },
        { "laplace_solver_is_independent_of_the_thread_count", laplace_solver_is_independent_of_the_thread_count },
        { "guided_eed_beats_homogeneous_on_sintel_at_5_percent", guided_eed_beats_homogeneous_on_sintel_at_5_percent },
        { "eed_inpainting_stays_within_the_data_range_up_to_small_overshoots",
          eed_inpainting_stays_within_the_data_range_up_to_small_overshoots },
        { "pyramid_pools_known_pixels_only_and_max_pools_the_mask",
          pyramid_pools_known_pixels_only_and_max_pools_the_mask },
        { "bilinear_upsampling_keeps_constants_and_interior_ramps",
          bilinear_upsampling_keeps_constants_and_interior_ramps },
        { "explicit_steps_obey_the_max_min_principle", explicit_steps_obey_the_max_min_principle },
        { "bad_inputs_give_clear_errors", bad_inputs_give_clear_errors },
        { "bernoulli_masks_are_reproducible_and_skip_invalid_pixels",
          bernoulli_masks_are_reproducible_and_skip_invalid_pixels },
        { "flow_errors_match_hand_computed_values_and_split_by_the_mask",
          flow_errors_match_hand_computed_values_and_split_by_the_mask },
        { "known_mask_from_data_marks_unknown_flo_vectors", known_mask_from_data_marks_unknown_flo_vectors },
        { "unknown_vectors_of_a_flo_file_define_the_holes", unknown_vectors_of_a_flo_file_define_the_holes },
        CU_TEST_INFO_NULL,
    };
    return nexp_test_run("inpaint", tests);
}
