/* learned_eval — EPE of flow inpainting on real data: homogeneous (exact Laplace), guided EED (the
 * inpainting module's tuned defaults) and the learned-tensor model, on the Sintel alley_1 frame
 * (clean and final passes) and the two FlyingChairs crops, at 1 %, 5 % and 10 % density with
 * seeded Bernoulli masks; plus the learned model's inference time on the 1024 x 436 frame.
 *
 *   build/bench/learned_eval [MODEL.h5] [SEEDS] [MASK_DIR]   (default data/inpaint-model.h5, 3 seeds)
 *   python3 bench/learned_peers.py MASK_DIR                 (OpenCV NS on the same masks)
 *
 * EPE is the mean endpoint error over all valid pixels (known pixels included, as nexp eval).
 * The masks are nexp_random_mask(gt, density) with seeds 1..SEEDS, the same for every method;
 * bench/learned_peers.py scores OpenCV's Navier-Stokes inpainting on the same masks.
 * The column "floor" is a lower bound for every method that obeys the max-min principle (all three
 * here): such a method keeps each flow component within the range of the known values, so its error
 * at a pixel is at least the distance from the true vector to that box. It is large where no known
 * pixel lands on a fast object, which no inpainting can then recover.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nexp.h"
#include "nexp_flowdata.h"
#include "nexp_flowmetrics.h"
#include "nexp_inpaint.h"
#include "nexp_io.h"
#include "nexp_learned.h"

#include "learned_common.h"

/* Mean over the valid pixels of gt of the distance from the true vector to the box spanned by the
 * known vectors' components (see above). */
static double maxmin_floor(const nexp_field *gt, const nexp_field *mask)
{
    float lo[2] = { INFINITY, INFINITY }, hi[2] = { -INFINITY, -INFINITY };
    for (int y = 0; y < gt->height; y++) {
        for (int x = 0; x < gt->width; x++) {
            for (int c = 0; c < 2 && nexp_field_get(mask, 0, x, y) != 0.0f; c++) {
                float v = nexp_field_get(gt, c, x, y);
                lo[c] = v < lo[c] ? v : lo[c];
                hi[c] = v > hi[c] ? v : hi[c];
            }
        }
    }
    double sum = 0.0;
    size_t n = 0;
    for (int y = 0; y < gt->height; y++) {
        for (int x = 0; x < gt->width; x++) {
            double d2 = 0.0;
            int valid = 1;
            for (int c = 0; c < 2; c++) {
                float v = nexp_field_get(gt, c, x, y);
                valid &= isfinite(v) && fabsf(v) <= 1e9f;
                double d = v < lo[c] ? lo[c] - v : (v > hi[c] ? v - hi[c] : 0.0);
                d2 += d * d;
            }
            if (valid) {
                sum += sqrt(d2);
                n++;
            }
        }
    }
    return n ? sum / (double)n : 0.0;
}

int main(int argc, char **argv)
{
    bench_name = "learned_eval";
    const char *model_path = argc > 1 ? argv[1] : "data/inpaint-model.h5";
    int seeds = argc > 2 ? atoi(argv[2]) : 3;
    const char *mask_dir = argc > 3 ? argv[3] : NULL;
    const char *root = getenv("NEXP_SHARED_DATA") ? getenv("NEXP_SHARED_DATA") : "../shared/data";
    nexp_error err = NEXP_ERROR_INIT;
    nexp_learned *m = NULL;
    if (nexp_learned_load(&m, model_path, &err) != NEXP_OK) {
        die(&err);
    }
    const char *sets[4][3] = {
        { "sintel-clean", "flow/sintel-alley/clean/frame_0002.png", "flow/sintel-alley/flow_0002.flo" },
        { "sintel-final", "flow/sintel-alley/final/frame_0002.png", "flow/sintel-alley/flow_0002.flo" },
        { "chairs-00001", "flow/chairs-crops/00001_img1.ppm", "flow/chairs-crops/00001_flow.flo" },
        { "chairs-0000000", "flow/chairs-crops/0000000-img_0.png", "flow/chairs-crops/0000000-flow_01.flo" },
    };
    const double dens[3] = { 0.01, 0.05, 0.10 };
    printf("%-15s %7s %12s %12s %12s %10s %10s %8s\n", "data", "density", "homogeneous", "eed", "learned", "vs homog",
           "vs eed", "floor");
    double sec_learned = 0.0;
    for (int s = 0; s < 4; s++) {
        char ip[4096], fp[4096];
        snprintf(ip, sizeof ip, "%s/%s", root, sets[s][1]);
        snprintf(fp, sizeof fp, "%s/%s", root, sets[s][2]);
        nexp_field *img = NULL, *gt = NULL;
        if (nexp_field_read(ip, &img, &err) != NEXP_OK || nexp_field_read(fp, &gt, &err) != NEXP_OK) {
            die(&err);
        }
        for (int d = 0; d < 3; d++) {
            double eh = 0.0, ee = 0.0, el = 0.0, ef = 0.0;
            for (int k = 1; k <= seeds; k++) {
                nexp_rng rng;
                nexp_rng_seed(&rng, (uint64_t)k);
                nexp_field *mask = NULL, *a = NULL, *b = NULL, *c = NULL;
                if (nexp_random_mask(gt, dens[d], &rng, &mask, &err) != NEXP_OK) {
                    die(&err);
                }
                if (mask_dir != NULL) {
                    char mp[4096];
                    snprintf(mp, sizeof mp, "%s/%s_%02.0f_%d.png", mask_dir, sets[s][0], 100 * dens[d], k);
                    nexp_field *m255 = NULL;
                    if (nexp_field_clone(&m255, mask, &err) != NEXP_OK) {
                        die(&err);
                    }
                    for (int y = 0; y < m255->height; y++) {
                        for (int x = 0; x < m255->width; x++) {
                            nexp_field_row(m255, 0, y)[x] *= 255.0f;
                        }
                    }
                    m255->kind = NEXP_KIND_IMAGE;
                    m255->bit_depth = 8;
                    if (nexp_png_write(mp, m255, 8, &err) != NEXP_OK) {
                        die(&err);
                    }
                    nexp_field_free(m255);
                }
                nexp_inpaint_options ho = nexp_inpaint_defaults(NEXP_INPAINT_HOMOGENEOUS);
                nexp_inpaint_options eo = nexp_inpaint_defaults(NEXP_INPAINT_EED);
                if (nexp_inpaint(gt, mask, NULL, &ho, &a, NULL, &err) != NEXP_OK ||
                    nexp_inpaint(gt, mask, img, &eo, &b, NULL, &err) != NEXP_OK) {
                    die(&err);
                }
                double t0 = nexp_time_now();
                if (nexp_learned_inpaint(m, img, gt, mask, &c, &err) != NEXP_OK) {
                    die(&err);
                }
                if (s == 0 && d == 1) {
                    sec_learned += nexp_time_now() - t0;
                }
                eh += epe_of(a, gt);
                ee += epe_of(b, gt);
                el += epe_of(c, gt);
                ef += maxmin_floor(gt, mask);
                nexp_field_free(mask);
                nexp_field_free(a);
                nexp_field_free(b);
                nexp_field_free(c);
            }
            eh /= seeds;
            ee /= seeds;
            el /= seeds;
            ef /= seeds;
            printf("%-15s %6.0f%% %12.4f %12.4f %12.4f %+9.1f%% %+9.1f%% %8.4f\n", sets[s][0], 100 * dens[d], eh, ee, el,
                   100.0 * (el - eh) / eh, 100.0 * (el - ee) / ee, ef);
            fflush(stdout);
        }
        nexp_field_free(img);
        nexp_field_free(gt);
    }
    printf("learned inference on 1024 x 436: %.3f s (mean of %d runs, %d threads, %s)\n", sec_learned / seeds, seeds,
           nexp_get_threads(), nexp_cpu_path());
    nexp_learned_free(m);
    return 0;
}
