/* Synthetic scenes: reproducibility, sizes, and the flow agreeing with the rendered frames. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nexp_scene.h"
#include "nexp.h"
#include "testlib.h"

static double bilinear(const nexp_field *f, int c, double x, double y)
{
    int x0 = (int)floor(x), y0 = (int)floor(y);
    int x1 = x0 + 1 < f->width ? x0 + 1 : x0, y1 = y0 + 1 < f->height ? y0 + 1 : y0;
    double fx = x - x0, fy = y - y0;
    double top = (1 - fx) * nexp_field_get(f, c, x0, y0) + fx * nexp_field_get(f, c, x1, y0);
    double bot = (1 - fx) * nexp_field_get(f, c, x0, y1) + fx * nexp_field_get(f, c, x1, y1);
    return (1 - fy) * top + fy * bot;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median over visible pixels of the mean over channels of |frame2(x + flow) - frame1(x)|, flow scaled
 * by s (the median: bilinear resampling errs a lot on the few pixels at sharp-edged texture patches). */
static double warp_error(const nexp_scene *s, double scale, size_t *visible)
{
    double *e = malloc((size_t)s->flow->width * (size_t)s->flow->height * sizeof(double));
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    size_t n = 0;
    for (int y = 0; y < s->flow->height; y++) {
        for (int x = 0; x < s->flow->width; x++) {
            if (nexp_field_get(s->occlusion, 0, x, y) != 0.0f) {
                continue;
            }
            double tx = x + scale * nexp_field_get(s->flow, 0, x, y);
            double ty = y + scale * nexp_field_get(s->flow, 1, x, y);
            if (tx < 0 || ty < 0 || tx > s->flow->width - 1 || ty > s->flow->height - 1) {
                continue;
            }
            double sum = 0.0;
            for (int c = 0; c < 3; c++) {
                sum += fabs(bilinear(s->frame2, c, tx, ty) - nexp_field_get(s->frame1, c, x, y));
            }
            e[n++] = sum / 3.0;
        }
    }
    *visible = n;
    qsort(e, n, sizeof *e, cmp_double);
    double med = n ? e[n / 2] : 0.0;
    free(e);
    return med;
}

static void scene_is_reproducible_by_seed_and_differs_between_seeds(void)
{
    nexp_scene_options o = NEXP_SCENE_OPTIONS_INIT;
    o.width = 61;
    o.height = 47;
    nexp_scene *a = NULL, *b = NULL, *c = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_scene_generate(&o, 2385, &a, NULL), NEXP_OK);
    nexp_set_threads(1);
    CU_ASSERT_EQUAL_FATAL(nexp_scene_generate(&o, 2385, &b, NULL), NEXP_OK);
    nexp_set_threads(0);
    CU_ASSERT_EQUAL_FATAL(nexp_scene_generate(&o, 2386, &c, NULL), NEXP_OK);
    CU_ASSERT(nexp_test_fields_identical(a->frame1, b->frame1));
    CU_ASSERT(nexp_test_fields_identical(a->frame2, b->frame2));
    CU_ASSERT(nexp_test_fields_identical(a->flow, b->flow));
    CU_ASSERT(nexp_test_fields_identical(a->occlusion, b->occlusion));
    CU_ASSERT_FALSE(nexp_test_fields_identical(a->frame1, c->frame1));
    CU_ASSERT_FALSE(nexp_test_fields_identical(a->flow, c->flow));
    nexp_scene_free(a);
    nexp_scene_free(b);
    nexp_scene_free(c);
    nexp_scene_free(NULL);
}

static void scene_has_the_requested_size_channels_and_value_ranges(void)
{
    nexp_scene_options o = NEXP_SCENE_OPTIONS_INIT;
    o.width = 73;
    o.height = 29;
    o.max_translation = 5.5;
    o.max_deformation = 0.05;
    nexp_scene *s = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_scene_generate(&o, 7, &s, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(s->frame1->width, 73);
    CU_ASSERT_EQUAL(s->frame2->height, 29);
    CU_ASSERT_EQUAL(s->frame1->channels, 3);
    CU_ASSERT_EQUAL(s->flow->channels, 2);
    CU_ASSERT_EQUAL(s->occlusion->channels, 1);
    CU_ASSERT_EQUAL(s->flow->kind, NEXP_KIND_FLOW);
    nexp_stats st;
    for (int c = 0; c < 3; c++) {
        nexp_field_stats(s->frame1, c, &st, NULL);
        CU_ASSERT(st.min >= 0.0 && st.max <= 255.0 && st.std > 1.0);
    }
    /* |u| <= t + d * (distance to the layer centre): centres lie inside the frame */
    double bound = 5.5 + 0.05 * 2.0 * (73 + 29);
    nexp_flow_stats fs;
    CU_ASSERT_EQUAL(nexp_flow_stats_compute(s->flow, &fs, NULL), NEXP_OK);
    CU_ASSERT(fs.max_flow > 0.1 && fs.max_flow <= bound);
    CU_ASSERT_EQUAL(fs.unknown, 0);
    nexp_scene_free(s);
}

static void frame2_at_x_plus_flow_matches_frame1_at_visible_pixels(void)
{
    nexp_scene_options o = NEXP_SCENE_OPTIONS_INIT;
    o.width = 120;
    o.height = 90;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        nexp_scene *s = NULL;
        CU_ASSERT_EQUAL_FATAL(nexp_scene_generate(&o, seed, &s, NULL), NEXP_OK);
        size_t n_true = 0, n_zero = 0;
        double e_true = warp_error(s, 1.0, &n_true);
        double e_zero = warp_error(s, 0.0, &n_zero);
        CU_ASSERT(n_true > (size_t)(0.5 * 120 * 90));
        /* only the bilinear resampling of frame 2 separates the two */
        CU_ASSERT(e_true < 2.5);
        CU_ASSERT(e_zero > 3.0 * e_true);
        nexp_scene_free(s);
    }
}

/* A smooth RGB "photo" (waves of about 20 px period): bilinear resampling of frame 2 stays accurate on it. */
static nexp_field *smooth_photo(int w, int h, double phase)
{
    nexp_field *p = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_field_create(&p, w, h, 3, NULL), NEXP_OK);
    for (int c = 0; c < 3; c++) {
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                nexp_field_row(p, c, y)[x] =
                    (float)(127.5 + 60.0 * sin(0.35 * x + phase + c) + 60.0 * cos(0.27 * y - 2.0 * phase + c));
            }
        }
    }
    return p;
}

static void photo_textures_show_the_photos_and_keep_frames_consistent_with_the_flow(void)
{
    nexp_field *photos[2] = { smooth_photo(90, 70, 0.0), smooth_photo(40, 40, 1.0) };
    nexp_scene_options o = NEXP_SCENE_OPTIONS_INIT;
    o.width = 120;
    o.height = 90;
    o.photos = (const nexp_field *const *)photos;
    o.nphotos = 2;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        nexp_scene *s = NULL, *t = NULL;
        CU_ASSERT_EQUAL_FATAL(nexp_scene_generate(&o, seed, &s, NULL), NEXP_OK);
        CU_ASSERT_EQUAL_FATAL(nexp_scene_generate(&o, seed, &t, NULL), NEXP_OK);
        CU_ASSERT(nexp_test_fields_identical(s->frame1, t->frame1));
        CU_ASSERT(nexp_test_fields_identical(s->frame2, t->frame2));
        size_t n = 0;
        double e_true = warp_error(s, 1.0, &n), e_zero = warp_error(s, 0.0, &n);
        CU_ASSERT(e_true < 2.5);
        CU_ASSERT(e_zero > 3.0 * e_true);
        nexp_scene_free(s);
        nexp_scene_free(t);
    }
    /* the background alone shows one of the photos, drawn at random: with the constant one both
     * frames are that colour everywhere */
    o.layers = 0;
    nexp_field_fill(photos[1], 77.0f);
    int constant = 0;
    nexp_scene *s = NULL;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        CU_ASSERT_EQUAL_FATAL(nexp_scene_generate(&o, seed, &s, NULL), NEXP_OK);
        nexp_stats st;
        nexp_field_stats(s->frame2, 1, &st, NULL);
        constant += st.min == 77.0 && st.max == 77.0;
        nexp_scene_free(s);
    }
    CU_ASSERT(constant > 0 && constant < 12);
    /* a photo must be RGB */
    photos[1]->channels = 1;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_scene_generate(&o, 5, &s, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "photo") != NULL);
    photos[1]->channels = 3;
    o.photos = NULL;
    CU_ASSERT_EQUAL(nexp_scene_generate(&o, 5, &s, NULL), NEXP_ERR_ARG);
    nexp_field_free(photos[0]);
    nexp_field_free(photos[1]);
}

static void occlusions_appear_where_layers_overlap_or_leave_the_frame(void)
{
    nexp_scene_options o = NEXP_SCENE_OPTIONS_INIT;
    o.width = 96;
    o.height = 64;
    o.layers = 5;
    o.max_translation = 6.0;
    size_t occluded = 0, total = 0;
    for (uint64_t seed = 10; seed < 14; seed++) {
        nexp_scene *s = NULL;
        CU_ASSERT_EQUAL_FATAL(nexp_scene_generate(&o, seed, &s, NULL), NEXP_OK);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 96; x++) {
                float v = nexp_field_get(s->occlusion, 0, x, y);
                CU_ASSERT(v == 0.0f || v == 1.0f);
                occluded += v != 0.0f;
                total++;
            }
        }
        nexp_scene_free(s);
    }
    CU_ASSERT(occluded > total / 100);
    CU_ASSERT(occluded < total / 2);
    /* no motion: nothing is occluded and the frames are identical */
    o.max_translation = 0.0;
    o.max_deformation = 0.0;
    nexp_scene *s = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_scene_generate(&o, 3, &s, NULL), NEXP_OK);
    CU_ASSERT(nexp_test_fields_identical(s->frame1, s->frame2));
    nexp_stats st;
    nexp_field_stats(s->occlusion, 0, &st, NULL);
    CU_ASSERT_EQUAL(st.max, 0.0);
    nexp_scene_free(s);
}

/* Patches and decals (options.edges): many strong colour edges lie inside one motion (the flow barely changes across
 * them), so the image alone does not tell where the flow jumps. */
static void count_edges(const nexp_scene_options *o, size_t *edges, size_t *smooth, size_t *jumps)
{
    *edges = *smooth = *jumps = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        nexp_scene *s = NULL;
        CU_ASSERT_EQUAL_FATAL(nexp_scene_generate(o, seed, &s, NULL), NEXP_OK);
        for (int y = 0; y < o->height; y++) {
            for (int x = 0; x + 1 < o->width; x++) {
                double dc = 0.0, df = 0.0;
                for (int c = 0; c < 3; c++) {
                    dc += fabs(nexp_field_get(s->frame1, c, x + 1, y) - nexp_field_get(s->frame1, c, x, y));
                }
                for (int c = 0; c < 2; c++) {
                    df += fabs(nexp_field_get(s->flow, c, x + 1, y) - nexp_field_get(s->flow, c, x, y));
                }
                if (dc > 150.0) {
                    (*edges)++;
                    *smooth += df < 0.2;
                    *jumps += df > 0.5;
                }
            }
        }
        nexp_scene_free(s);
    }
}

static void with_edges_many_colour_edges_are_no_motion_boundaries_and_without_none_are(void)
{
    nexp_scene_options o = NEXP_SCENE_OPTIONS_INIT;
    o.width = 96;
    o.height = 64;
    size_t edges, smooth, jumps;
    count_edges(&o, &edges, &smooth, &jumps);
    CU_ASSERT(edges > 200);
    CU_ASSERT_EQUAL(smooth, 0);
    o.edges = 1;
    count_edges(&o, &edges, &smooth, &jumps);
    CU_ASSERT(edges > 200);
    CU_ASSERT(smooth > edges / 4);
    CU_ASSERT(jumps > edges / 10);
}

/* With thin = 1 every foreground layer is a bar 1..4 px wide: with one layer and no deformation the
 * flow takes two values, the bar's and the background's; no 6 x 6 block of pixels fits on the bar
 * (its width is below 4 px at any angle), bars move up to twice as fast as other layers may, and the
 * frames stay consistent with the flow. */
static void thin_bars_are_narrow_fast_and_consistent_with_the_frames(void)
{
    nexp_scene_options o = NEXP_SCENE_OPTIONS_INIT;
    o.width = 96;
    o.height = 64;
    o.layers = 1;
    o.max_translation = 4.0;
    o.max_deformation = 0.0;
    o.thin = 1.0;
    int with_bar = 0, faster = 0;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        nexp_scene *s = NULL;
        CU_ASSERT_EQUAL_FATAL(nexp_scene_generate(&o, seed, &s, NULL), NEXP_OK);
        const int w = o.width, h = o.height;
        /* the background's flow: the corners' value shared by most of them (a bar reaches one at most) */
        float bu = nexp_field_get(s->flow, 0, 0, 0), bv = nexp_field_get(s->flow, 1, 0, 0);
        if (bu != nexp_field_get(s->flow, 0, w - 1, h - 1) && bu != nexp_field_get(s->flow, 0, w - 1, 0)) {
            bu = nexp_field_get(s->flow, 0, w - 1, h - 1);
            bv = nexp_field_get(s->flow, 1, w - 1, h - 1);
        }
        unsigned char *bar = calloc((size_t)w * h, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(bar);
        size_t area = 0;
        double speed = 0.0;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                float u = nexp_field_get(s->flow, 0, x, y), v = nexp_field_get(s->flow, 1, x, y);
                if (u != bu || v != bv) {
                    bar[(size_t)y * w + x] = 1;
                    area++;
                    speed = fmax(speed, fmax(fabs(u), fabs(v)));
                }
            }
        }
        int block = 0;
        for (int y = 0; y + 6 <= h && !block; y++) {
            for (int x = 0; x + 6 <= w && !block; x++) {
                int all = 1;
                for (int k = 0; k < 36 && all; k++) {
                    all = bar[(size_t)(y + k / 6) * w + x + k % 6];
                }
                block = all;
            }
        }
        CU_ASSERT_FALSE(block);
        CU_ASSERT(area <= (size_t)((2 * 0.4 * h + 2) * 6));
        CU_ASSERT(speed <= 2.0 * o.max_translation);
        with_bar += area >= 8;
        faster += speed > o.max_translation;
        size_t visible = 0;
        CU_ASSERT(warp_error(s, 1.0, &visible) < 2.5); /* bilinear resampling only, as above */
        free(bar);
        nexp_scene_free(s);
    }
    CU_ASSERT(with_bar >= 10);
    CU_ASSERT(faster >= 3);
}

static void scene_refuses_bad_options_with_a_message(void)
{
    nexp_scene_options o = NEXP_SCENE_OPTIONS_INIT;
    nexp_scene *s = (nexp_scene *)1;
    nexp_error err = NEXP_ERROR_INIT;
    o.width = 1;
    CU_ASSERT_EQUAL(nexp_scene_generate(&o, 1, &s, &err), NEXP_ERR_ARG);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT(strstr(err.msg, "at least 2") != NULL);
    o = (nexp_scene_options)NEXP_SCENE_OPTIONS_INIT;
    o.max_deformation = 0.9;
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_scene_generate(&o, 1, &s, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "max_deformation") != NULL);
    o = (nexp_scene_options)NEXP_SCENE_OPTIONS_INIT;
    o.layers = 99;
    CU_ASSERT_EQUAL(nexp_scene_generate(&o, 1, &s, NULL), NEXP_ERR_ARG);
    o.layers = 0;
    o.max_translation = NAN;
    CU_ASSERT_EQUAL(nexp_scene_generate(&o, 1, &s, NULL), NEXP_ERR_ARG);
    o = (nexp_scene_options)NEXP_SCENE_OPTIONS_INIT;
    o.layer_size = 0.0;
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_scene_generate(&o, 1, &s, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "layer_size") != NULL);
    o = (nexp_scene_options)NEXP_SCENE_OPTIONS_INIT;
    o.thin = -0.1;
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_scene_generate(&o, 1, &s, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "thin") != NULL);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "scene_is_reproducible_by_seed_and_differs_between_seeds",
          scene_is_reproducible_by_seed_and_differs_between_seeds },
        { "scene_has_the_requested_size_channels_and_value_ranges",
          scene_has_the_requested_size_channels_and_value_ranges },
        { "frame2_at_x_plus_flow_matches_frame1_at_visible_pixels",
          frame2_at_x_plus_flow_matches_frame1_at_visible_pixels },
        { "photo_textures_show_the_photos_and_keep_frames_consistent_with_the_flow",
          photo_textures_show_the_photos_and_keep_frames_consistent_with_the_flow },
        { "occlusions_appear_where_layers_overlap_or_leave_the_frame",
          occlusions_appear_where_layers_overlap_or_leave_the_frame },
        { "with_edges_many_colour_edges_are_no_motion_boundaries_and_without_none_are",
          with_edges_many_colour_edges_are_no_motion_boundaries_and_without_none_are },
        { "thin_bars_are_narrow_fast_and_consistent_with_the_frames",
          thin_bars_are_narrow_fast_and_consistent_with_the_frames },
        { "scene_refuses_bad_options_with_a_message", scene_refuses_bad_options_with_a_message },
        CU_TEST_INFO_NULL,
    };
    return nexp_test_run("scene", tests);
}
