/* learned_synth — model selection without real data: EPE of learned inpainting models on held-out
 * synthetic scenes, next to homogeneous and guided EED, for clean renderings and for renderings with
 * the photometric changes of real footage (nexp_sample_options.photometric), and for scenes with
 * colour edges that are no motion boundaries (nexp_scene_options.edges) with those changes, and for
 * scenes the training never shows: one object moving up to twice as fast over its background (the
 * FlyingChairs situation: a few known vectors far from all others), with those changes, and scenes in
 * front of photographs (nexp_scene_options.photos, FlyingChairs' construction) with those changes.
 * A sixth set, photo scenes in which half of the objects are thin bars (nexp_scene_options.thin: legs,
 * poles, 1-4 px wide and fast), is scored on its own: its mean is printed apart from the five-set
 * score, which stays comparable with the figures of earlier models.
 *
 *   build/bench/learned_synth MODEL.h5 [MODEL2.h5 ...]        (env: SCENES, default 12; SIZE, default 160;
 *                                                            PHOTOS, default python3-skimage's sample images)
 *
 * The scenes come from their own RNG stream (seed 4242, stream 3), which neither training (the
 * --seed stream) nor train-inpaint's validation (seed 7777, stream 1) draws from, at densities 1, 5
 * and 10 %. This is what chose the shipped model's configuration; ../shared/data stays for the final
 * evaluation (bench/learned_eval.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include "nexp.h"
#include "nexp_flowdata.h"
#include "nexp_flowmetrics.h"
#include "nexp_inpaint.h"
#include "nexp_learned.h"

#include "learned_common.h"

enum { MAX_MODELS = 16 };

int main(int argc, char **argv)
{
    bench_name = "learned_synth";
    if (argc < 2 || argc - 1 > MAX_MODELS) {
        fprintf(stderr, "usage: learned_synth MODEL.h5 [MODEL2.h5 ...] (at most %d)\n", MAX_MODELS);
        return 2;
    }
    const int n_models = argc - 1;
    const int scenes = getenv("SCENES") ? atoi(getenv("SCENES")) : 12;
    const int size = getenv("SIZE") ? atoi(getenv("SIZE")) : 160;
    nexp_error err = NEXP_ERROR_INIT;
    nexp_learned *models[MAX_MODELS] = { NULL };
    for (int i = 0; i < n_models; i++) {
        if (nexp_learned_load(&models[i], argv[i + 1], &err) != NEXP_OK) {
            die(&err);
        }
    }
    const char *photos = getenv("PHOTOS") ? getenv("PHOTOS") : "/usr/lib/python3/dist-packages/skimage/data";
    char photo_source[4096];
    snprintf(photo_source, sizeof photo_source, "photos:%s", photos);
    nexp_flowdata *synth[5] = { NULL, NULL, NULL, NULL, NULL };
    nexp_scene_options fast = NEXP_SCENE_OPTIONS_INIT;
    fast.layers = 1;
    fast.max_translation = 16.0;
    if (nexp_flowdata_open(&synth[0], "synthetic", &err) != NEXP_OK ||
        nexp_flowdata_open(&synth[1], "synthetic-edges", &err) != NEXP_OK ||
        nexp_flowdata_open_synthetic(&synth[2], &fast, &err) != NEXP_OK) {
        die(&err);
    }
    if (nexp_flowdata_open(&synth[3], photo_source, &err) != NEXP_OK ||
        nexp_flowdata_open(&synth[4], photo_source, &err) != NEXP_OK) {
        fprintf(stderr, "learned_synth: %s (install python3-skimage or set PHOTOS to a folder of photos)\n", err.msg);
        return 1;
    }
    if (nexp_flowdata_set_thin(synth[4], 0.5, &err) != NEXP_OK) {
        die(&err);
    }
    enum { N_SETS = 6, N_SCORED = 5 };
    const char *set_names[N_SETS] = { "clean",      "photometric",  "edges+photo",
                                      "fast+photo", "photos+photo", "thin+photo" };
    const int set_data[N_SETS] = { 0, 0, 1, 2, 3, 4 };
    double mean[MAX_MODELS] = { 0.0 }, mean_thin[MAX_MODELS] = { 0.0 };
    const double dens[3] = { 0.01, 0.05, 0.10 };
    printf("%d held-out synthetic scenes of %d x %d; EPE (px), mean over scenes\n", scenes, size, size);
    printf("%-12s %7s %10s %10s", "images", "density", "homog", "eed");
    for (int i = 0; i < n_models; i++) {
        printf("  model%-4d", i + 1);
    }
    printf("\n");
    for (int set = 0; set < N_SETS; set++) {
        const int photo = set > 0;
        for (int d = 0; d < 3; d++) {
            nexp_sample_options so = NEXP_SAMPLE_OPTIONS_INIT;
            so.crop = size;
            so.flips = 0;
            so.photometric = photo;
            so.density_min = so.density_max = dens[d];
            nexp_rng rng;
            nexp_rng_seed_stream(&rng, 4242, 3);
            double eh = 0.0, ee = 0.0, el[MAX_MODELS] = { 0.0 };
            for (int k = 0; k < scenes; k++) {
                nexp_flow_sample s;
                if (nexp_flowdata_draw(synth[set_data[set]], &so, &rng, &s, &err) != NEXP_OK) {
                    die(&err);
                }
                nexp_field *a = NULL, *b = NULL;
                nexp_inpaint_options ho = nexp_inpaint_defaults(NEXP_INPAINT_HOMOGENEOUS);
                nexp_inpaint_options eo = nexp_inpaint_defaults(NEXP_INPAINT_EED);
                if (nexp_inpaint(s.flow, s.mask, NULL, &ho, &a, NULL, &err) != NEXP_OK ||
                    nexp_inpaint(s.flow, s.mask, s.image, &eo, &b, NULL, &err) != NEXP_OK) {
                    die(&err);
                }
                eh += epe_of(a, s.flow) / scenes;
                ee += epe_of(b, s.flow) / scenes;
                nexp_field_free(a);
                nexp_field_free(b);
                for (int i = 0; i < n_models; i++) {
                    nexp_field *c = NULL;
                    if (nexp_learned_inpaint(models[i], s.image, s.flow, s.mask, &c, &err) != NEXP_OK) {
                        die(&err);
                    }
                    el[i] += epe_of(c, s.flow) / scenes;
                    nexp_field_free(c);
                }
                nexp_flow_sample_clear(&s);
            }
            printf("%-12s %6.0f%% %10.4f %10.4f", set_names[set], 100 * dens[d], eh, ee);
            for (int i = 0; i < n_models; i++) {
                printf(" %10.4f", el[i]);
                if (set < N_SCORED) {
                    mean[i] += el[i] / ee / (3.0 * N_SCORED);
                } else {
                    mean_thin[i] += el[i] / ee / 3.0;
                }
            }
            printf("\n");
            fflush(stdout);
        }
    }
    printf("%-41s", "mean EPE / EED's, first 5 sets (score)");
    for (int i = 0; i < n_models; i++) {
        printf(" %10.4f", mean[i]);
    }
    printf("\n%-41s", "mean EPE / EED's, thin+photo");
    for (int i = 0; i < n_models; i++) {
        printf(" %10.4f", mean_thin[i]);
    }
    printf("\n");
    for (int i = 0; i < n_models; i++) {
        nexp_learned_free(models[i]);
    }
    for (size_t i = 0; i < sizeof synth / sizeof synth[0]; i++) {
        nexp_flowdata_free(synth[i]);
    }
    return 0;
}
