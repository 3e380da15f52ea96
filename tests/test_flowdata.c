/* Training data for flow inpainting: synthetic and folder sources, crops, flips, masks. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nexp.h"
#include "nexp_flowdata.h"
#include "testlib.h"

static void synthetic_samples_are_reproducible_from_the_rng_state(void)
{
    nexp_flowdata *d = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_open(&d, "synthetic", NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_flowdata_count(d), 0);
    nexp_sample_options so = NEXP_SAMPLE_OPTIONS_INIT;
    so.crop = 40;
    nexp_rng r1, r2;
    nexp_rng_seed(&r1, 2385);
    nexp_rng_seed(&r2, 2385);
    nexp_flow_sample a, b, c;
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_draw(d, &so, &r1, &a, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_draw(d, &so, &r2, &b, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_draw(d, &so, &r2, &c, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(a.image->width, 40);
    CU_ASSERT_EQUAL(a.image->channels, 3);
    CU_ASSERT_EQUAL(a.flow->channels, 2);
    CU_ASSERT_EQUAL(a.mask->channels, 1);
    CU_ASSERT(nexp_test_fields_identical(a.image, b.image) && nexp_test_fields_identical(a.flow, b.flow) && nexp_test_fields_identical(a.mask, b.mask));
    CU_ASSERT_FALSE(nexp_test_fields_identical(a.flow, c.flow));
    CU_ASSERT(a.density >= 0.01 && a.density <= 0.10);
    nexp_flow_sample_clear(&a);
    nexp_flow_sample_clear(&b);
    nexp_flow_sample_clear(&c);
    CU_ASSERT_PTR_NULL(a.image);
    nexp_flowdata_free(d);
}

/* Photometric changes touch the image only, stay in 0..255, and leave the rest of the sample as
 * it would be without them. */
static void photometric_changes_alter_only_the_image(void)
{
    nexp_flowdata *d = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_open(&d, "synthetic", NULL), NEXP_OK);
    nexp_sample_options so = NEXP_SAMPLE_OPTIONS_INIT;
    so.crop = 48;
    int changed = 0, in_range = 1, same_rest = 1;
    for (int k = 0; k < 6; k++) {
        nexp_rng r1, r2;
        nexp_rng_seed(&r1, 900 + (uint64_t)k);
        nexp_rng_seed(&r2, 900 + (uint64_t)k);
        nexp_flow_sample a, b;
        so.photometric = 0;
        CU_ASSERT_EQUAL_FATAL(nexp_flowdata_draw(d, &so, &r1, &a, NULL), NEXP_OK);
        so.photometric = 1;
        CU_ASSERT_EQUAL_FATAL(nexp_flowdata_draw(d, &so, &r2, &b, NULL), NEXP_OK);
        same_rest = same_rest && nexp_test_fields_identical(a.flow, b.flow) &&
                    nexp_test_fields_identical(a.mask, b.mask) && a.density == b.density;
        changed += !nexp_test_fields_identical(a.image, b.image);
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < b.image->height; y++) {
                for (int x = 0; x < b.image->width; x++) {
                    float v = nexp_field_row(b.image, c, y)[x];
                    in_range = in_range && v >= 0.0f && v <= 255.0f;
                }
            }
        }
        nexp_flow_sample_clear(&a);
        nexp_flow_sample_clear(&b);
    }
    CU_ASSERT(same_rest && in_range);
    CU_ASSERT(changed >= 4); /* each change is drawn with probability 0.8, 0.3 and 0.5 */
    nexp_flowdata_free(d);
}

static void flips_mirror_the_fields_and_negate_the_matching_flow_component(void)
{
    nexp_flowdata *d = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_open(&d, "synthetic", NULL), NEXP_OK);
    nexp_sample_options so = NEXP_SAMPLE_OPTIONS_INIT;
    so.crop = 23;
    so.flips = 0;
    nexp_rng rng;
    nexp_rng_seed(&rng, 11);
    nexp_flow_sample s, t;
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_draw(d, &so, &rng, &s, NULL), NEXP_OK);
    nexp_field_clone(&t.image, s.image, NULL);
    nexp_field_clone(&t.flow, s.flow, NULL);
    nexp_field_clone(&t.mask, s.mask, NULL);
    CU_ASSERT_EQUAL_FATAL(nexp_flow_sample_flip(&t, 1, 0, NULL), NEXP_OK);
    const int w = 23, h = 23;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            CU_ASSERT_EQUAL(nexp_field_get(t.flow, 0, x, y), -nexp_field_get(s.flow, 0, w - 1 - x, y));
            CU_ASSERT_EQUAL(nexp_field_get(t.flow, 1, x, y), nexp_field_get(s.flow, 1, w - 1 - x, y));
            CU_ASSERT_EQUAL(nexp_field_get(t.image, 2, x, y), nexp_field_get(s.image, 2, w - 1 - x, y));
            CU_ASSERT_EQUAL(nexp_field_get(t.mask, 0, x, y), nexp_field_get(s.mask, 0, w - 1 - x, y));
        }
    }
    CU_ASSERT_EQUAL_FATAL(nexp_flow_sample_flip(&t, 1, 1, NULL), NEXP_OK);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            CU_ASSERT_EQUAL(nexp_field_get(t.flow, 0, x, y), nexp_field_get(s.flow, 0, x, h - 1 - y));
            CU_ASSERT_EQUAL(nexp_field_get(t.flow, 1, x, y), -nexp_field_get(s.flow, 1, x, h - 1 - y));
        }
    }
    CU_ASSERT_EQUAL_FATAL(nexp_flow_sample_flip(&t, 0, 1, NULL), NEXP_OK);
    CU_ASSERT(nexp_test_fields_identical(t.flow, s.flow) && nexp_test_fields_identical(t.image, s.image) && nexp_test_fields_identical(t.mask, s.mask));
    nexp_flow_sample_clear(&s);
    nexp_flow_sample_clear(&t);
    nexp_flowdata_free(d);
}

static void masks_have_the_drawn_density_and_at_least_one_known_pixel(void)
{
    nexp_field *flow = NULL, *mask = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_field_create(&flow, 300, 200, 2, NULL), NEXP_OK);
    nexp_rng rng;
    nexp_rng_seed(&rng, 5);
    CU_ASSERT_EQUAL_FATAL(nexp_random_mask(flow, 0.05, &rng, &mask, NULL), NEXP_OK);
    nexp_stats st;
    nexp_field_stats(mask, 0, &st, NULL);
    CU_ASSERT(fabs(st.mean - 0.05) < 5.0 * sqrt(0.05 * 0.95 / 60000.0));
    nexp_field_free(mask);
    /* unknown flow vectors never become known */
    nexp_field_ensure_mask(flow, NULL);
    for (int y = 0; y < 200; y++) {
        memset(flow->mask + (size_t)y * flow->stride, 0, 150);
    }
    CU_ASSERT_EQUAL_FATAL(nexp_random_mask(flow, 0.5, &rng, &mask, NULL), NEXP_OK);
    for (int y = 0; y < 200; y++) {
        for (int x = 0; x < 150; x++) {
            CU_ASSERT_EQUAL(nexp_field_get(mask, 0, x, y), 0.0f);
        }
    }
    nexp_field_free(mask);
    nexp_field *tiny = NULL;
    nexp_field_create(&tiny, 3, 2, 2, NULL);
    CU_ASSERT_EQUAL_FATAL(nexp_random_mask(tiny, 1e-9, &rng, &mask, NULL), NEXP_OK);
    nexp_field_stats(mask, 0, &st, NULL);
    CU_ASSERT_DOUBLE_EQUAL(st.mean * 6.0, 1.0, 1e-9);
    nexp_field_free(mask);
    CU_ASSERT_EQUAL(nexp_random_mask(tiny, 0.0, &rng, &mask, NULL), NEXP_ERR_ARG);
    nexp_field_free(tiny);
    nexp_field_free(flow);
}

static void folders_in_sintel_and_chairs_layouts_give_image_flow_pairs(void)
{
    nexp_flowdata *d = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_open(&d, nexp_test_data("flow/sintel-alley"), &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_flowdata_count(d), 2); /* clean and final */
    const char *img, *flo;
    CU_ASSERT_EQUAL(nexp_flowdata_paths(d, 0, &img, &flo, NULL), NEXP_OK);
    CU_ASSERT(strstr(img, "clean/frame_0002.png") != NULL && strstr(flo, "flow_0002.flo") != NULL);
    CU_ASSERT_EQUAL(nexp_flowdata_paths(d, 2, &img, &flo, NULL), NEXP_ERR_ARG);
    nexp_sample_options so = NEXP_SAMPLE_OPTIONS_INIT;
    so.crop = 96;
    nexp_rng rng;
    nexp_rng_seed(&rng, 3);
    nexp_flow_sample s;
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_draw(d, &so, &rng, &s, &err), NEXP_OK);
    CU_ASSERT_EQUAL(s.image->width, 96);
    CU_ASSERT_EQUAL(s.flow->height, 96);
    nexp_flow_stats fs;
    nexp_flow_stats_compute(s.flow, &fs, NULL);
    CU_ASSERT(fs.max_flow <= 10.66);
    nexp_flow_sample_clear(&s);
    nexp_flowdata_free(d);

    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_open(&d, nexp_test_data("flow/chairs-crops"), &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_flowdata_count(d), 2);
    CU_ASSERT_EQUAL(nexp_flowdata_paths(d, 1, &img, &flo, NULL), NEXP_OK);
    CU_ASSERT(strstr(img, "00001_img1.ppm") != NULL);
    /* crops larger than the 50 x 50 images use the whole image */
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_draw(d, &so, &rng, &s, &err), NEXP_OK);
    CU_ASSERT_EQUAL(s.image->width, 50);
    nexp_flow_sample_clear(&s);
    /* thin bars are drawn into rendered scenes; a folder has none to draw into */
    CU_ASSERT_EQUAL(nexp_flowdata_set_thin(d, 0.0, &err), NEXP_OK);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_flowdata_set_thin(d, 0.3, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "not a folder") != NULL);
    nexp_flowdata_free(d);
}

static void folders_without_pairs_and_bad_options_give_clear_errors(void)
{
    nexp_flowdata *d = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    const char *empty = nexp_test_tmp("empty_folder");
    mkdir(empty, 0777);
    CU_ASSERT_EQUAL(nexp_flowdata_open(&d, empty, &err), NEXP_ERR_EMPTY);
    CU_ASSERT(strstr(err.msg, "no image + .flo pairs") != NULL);
    CU_ASSERT_PTR_NULL(d);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_flowdata_open(&d, "/nonexistent/nexp", &err), NEXP_ERR_IO);
    CU_ASSERT(strstr(err.msg, "/nonexistent/nexp") != NULL);
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_open(&d, "synthetic", NULL), NEXP_OK);
    nexp_sample_options so = { 4, 0.01, 0.1, 1, 0 };
    nexp_rng rng;
    nexp_rng_seed(&rng, 1);
    nexp_flow_sample s;
    CU_ASSERT_EQUAL(nexp_flowdata_draw(d, &so, &rng, &s, NULL), NEXP_ERR_ARG);
    so.crop = 16;
    so.density_min = 0.2;
    CU_ASSERT_EQUAL(nexp_flowdata_draw(d, &so, &rng, &s, NULL), NEXP_ERR_ARG);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_flowdata_set_thin(d, 1.5, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "thin-bar share 1.5") != NULL);
    nexp_flowdata_free(d);
}

/* "synthetic-fast" mixes in scenes with fewer, smaller layers moving up to twice as fast: over the same
 * RNG stream its samples move faster on average, and they are reproducible too. */
static void synthetic_fast_scenes_move_faster(void)
{
    nexp_flowdata *plain = NULL, *fast = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_open(&plain, "synthetic", NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_open(&fast, "synthetic-fast", NULL), NEXP_OK);
    nexp_sample_options so = NEXP_SAMPLE_OPTIONS_INIT;
    so.crop = 48;
    double mean_max[2] = { 0.0, 0.0 };
    const int n = 60;
    for (int k = 0; k < 2; k++) {
        nexp_rng rng;
        nexp_rng_seed(&rng, 11);
        for (int i = 0; i < n; i++) {
            nexp_flow_sample s;
            CU_ASSERT_EQUAL_FATAL(nexp_flowdata_draw(k ? fast : plain, &so, &rng, &s, NULL), NEXP_OK);
            nexp_flow_stats fs;
            nexp_flow_stats_compute(s.flow, &fs, NULL);
            mean_max[k] += fs.max_flow / n;
            nexp_flow_sample_clear(&s);
        }
    }
    CU_ASSERT(mean_max[1] > 1.15 * mean_max[0]);
    nexp_rng a, b;
    nexp_rng_seed(&a, 5);
    nexp_rng_seed(&b, 5);
    nexp_flow_sample s1, s2;
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_draw(fast, &so, &a, &s1, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_draw(fast, &so, &b, &s2, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(memcmp(nexp_field_row(s1.flow, 0, 7), nexp_field_row(s2.flow, 0, 7), 48 * sizeof(float)), 0);
    nexp_flow_sample_clear(&s1);
    nexp_flow_sample_clear(&s2);
    nexp_flowdata_free(plain);
    nexp_flowdata_free(fast);
}

static void write_png(const char *dir, const char *name, int w, int h, int channels, float value)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    nexp_field *f = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_field_create(&f, w, h, channels, NULL), NEXP_OK);
    nexp_field_fill(f, value);
    f->kind = NEXP_KIND_IMAGE;
    f->bit_depth = 8;
    CU_ASSERT_EQUAL_FATAL(nexp_field_write(path, f, NULL), NEXP_OK);
    nexp_field_free(f);
}

/* Pixels of an RGB image whose three channels all equal v. */
static size_t grey_pixels(const nexp_field *img, float v)
{
    size_t n = 0;
    for (int y = 0; y < img->height; y++) {
        for (int x = 0; x < img->width; x++) {
            n += nexp_field_get(img, 0, x, y) == v && nexp_field_get(img, 1, x, y) == v &&
                 nexp_field_get(img, 2, x, y) == v;
        }
    }
    return n;
}

/* "photos:DIR" loads the PNG/PPM images of DIR (grey ones as RGB, icons below 32 x 32 skipped) as
 * textures of synthetic scenes, "mixed:DIR" uses them in about half of the scenes; a folder without a
 * usable photo is an error. */
static void photo_folders_texture_synthetic_scenes(void)
{
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s", nexp_test_tmp("photos"));
    mkdir(dir, 0777);
    write_png(dir, "grey.png", 64, 48, 1, 90.0f);
    write_png(dir, "icon.png", 16, 16, 3, 10.0f);
    snprintf(path, sizeof path, "%s/notes.txt", dir); /* not an image name: ignored */
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("not a photo\n", f);
    fclose(f);
    char source[4200];
    snprintf(source, sizeof source, "photos:%s", dir);
    nexp_flowdata *d = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_open(&d, source, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_flowdata_count(d), 0);
    const nexp_scene_options *so = nexp_flowdata_scene(d);
    CU_ASSERT_PTR_NOT_NULL_FATAL(so);
    CU_ASSERT_EQUAL_FATAL(so->nphotos, 1);
    CU_ASSERT_EQUAL(so->photos[0]->channels, 3);
    CU_ASSERT_EQUAL(nexp_field_get(so->photos[0], 2, 5, 5), 90.0f);
    /* the background shows the grey photo wherever no layer covers it */
    nexp_sample_options sample = NEXP_SAMPLE_OPTIONS_INIT;
    sample.crop = 32;
    nexp_rng rng;
    nexp_rng_seed(&rng, 2);
    nexp_flow_sample s;
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_draw(d, &sample, &rng, &s, &err), NEXP_OK);
    CU_ASSERT_EQUAL(s.image->width, 32);
    CU_ASSERT(grey_pixels(s.image, 90.0f) > 0);
    nexp_flow_sample_clear(&s);
    nexp_flowdata_free(d);

    /* "mixed:DIR": about half of the scenes are in front of the photo, the others procedural */
    snprintf(source, sizeof source, "mixed:%s", dir);
    CU_ASSERT_EQUAL_FATAL(nexp_flowdata_open(&d, source, &err), NEXP_OK);
    int in_front = 0;
    for (int i = 0; i < 20; i++) {
        CU_ASSERT_EQUAL_FATAL(nexp_flowdata_draw(d, &sample, &rng, &s, &err), NEXP_OK);
        in_front += grey_pixels(s.image, 90.0f) > 0;
        nexp_flow_sample_clear(&s);
    }
    CU_ASSERT(in_front >= 4 && in_front <= 16);
    nexp_flowdata_free(d);
    snprintf(source, sizeof source, "photos:%s", dir);

    snprintf(path, sizeof path, "%s/grey.png", dir);
    remove(path);
    CU_ASSERT_EQUAL(nexp_flowdata_open(&d, source, &err), NEXP_ERR_EMPTY);
    CU_ASSERT(strstr(err.msg, "32 x 32") != NULL);
    CU_ASSERT_PTR_NULL(d);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_flowdata_open(&d, "photos:/nonexistent/nexp", &err), NEXP_ERR_IO);
    CU_ASSERT(strstr(err.msg, "photos:/nonexistent/nexp") != NULL);
    nexp_error_clear(&err);
    write_png(dir, "broken.png", 40, 40, 3, 10.0f); /* a truncated photo is an error naming it */
    snprintf(path, sizeof path, "%s/broken.png", dir);
    CU_ASSERT_EQUAL(truncate(path, 60), 0);
    CU_ASSERT_NOT_EQUAL(nexp_flowdata_open(&d, source, &err), NEXP_OK);
    CU_ASSERT(strstr(err.msg, "broken.png") != NULL);
    CU_ASSERT_PTR_NULL(d);
    const char *names[3] = { "broken.png", "icon.png", "notes.txt" };
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        remove(path);
    }
    rmdir(dir);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "synthetic_fast_scenes_move_faster", synthetic_fast_scenes_move_faster },
        { "photo_folders_texture_synthetic_scenes", photo_folders_texture_synthetic_scenes },
        { "synthetic_samples_are_reproducible_from_the_rng_state",
          synthetic_samples_are_reproducible_from_the_rng_state },
        { "photometric_changes_alter_only_the_image", photometric_changes_alter_only_the_image },
        { "flips_mirror_the_fields_and_negate_the_matching_flow_component",
          flips_mirror_the_fields_and_negate_the_matching_flow_component },
        { "masks_have_the_drawn_density_and_at_least_one_known_pixel",
          masks_have_the_drawn_density_and_at_least_one_known_pixel },
        { "folders_in_sintel_and_chairs_layouts_give_image_flow_pairs",
          folders_in_sintel_and_chairs_layouts_give_image_flow_pairs },
        { "folders_without_pairs_and_bad_options_give_clear_errors",
          folders_without_pairs_and_bad_options_give_clear_errors },
        CU_TEST_INFO_NULL,
    };
    return nexp_test_run("flowdata", tests);
}
