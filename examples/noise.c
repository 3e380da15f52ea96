/* noise — add Gaussian noise to an image, or measure the PSNR between two images (for the
 * denoising example).
 *
 *   noise IN OUT SIGMA [SEED]     OUT = IN + N(0, SIGMA^2) per value (seeded, reproducible)
 *   noise --psnr REF IMG          prints 10 log10(255^2 / MSE) over all channels
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexp.h"
#include "nexp_io.h"

static nexp_field *load(const char *path)
{
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *f = NULL;
    if (nexp_field_read(path, &f, &err) != NEXP_OK) {
        fprintf(stderr, "noise: %s\n", err.msg);
        exit(1);
    }
    return f;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--psnr") == 0) {
        nexp_field *a = load(argv[2]), *b = load(argv[3]);
        if (a->width != b->width || a->height != b->height || a->channels != b->channels) {
            fprintf(stderr, "noise: %s and %s differ in size\n", argv[2], argv[3]);
            return 1;
        }
        double se = 0.0;
        for (int c = 0; c < a->channels; c++) {
            for (int y = 0; y < a->height; y++) {
                for (int x = 0; x < a->width; x++) {
                    double d = (double)nexp_field_get(a, c, x, y) - nexp_field_get(b, c, x, y);
                    se += d * d;
                }
            }
        }
        double mse = se / ((double)a->width * a->height * a->channels);
        printf("%.2f\n", 10.0 * log10(255.0 * 255.0 / mse));
        nexp_field_free(a);
        nexp_field_free(b);
        return 0;
    }
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: noise IN OUT SIGMA [SEED] | noise --psnr REF IMG\n");
        return 2;
    }
    nexp_field *f = load(argv[1]);
    const double sigma = atof(argv[3]);
    nexp_rng rng;
    nexp_rng_seed(&rng, argc == 5 ? strtoull(argv[4], NULL, 10) : 1);
    for (int c = 0; c < f->channels; c++) {
        for (int y = 0; y < f->height; y++) {
            for (int x = 0; x < f->width; x++) {
                nexp_field_row(f, c, y)[x] += (float)(sigma * nexp_rng_normal(&rng));
            }
        }
    }
    nexp_error err = NEXP_ERROR_INIT;
    if (nexp_field_write(argv[2], f, &err) != NEXP_OK) {
        fprintf(stderr, "noise: %s\n", err.msg);
        return 1;
    }
    nexp_field_free(f);
    return 0;
}
