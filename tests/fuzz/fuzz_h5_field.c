/* libFuzzer target: HDF5 fields, series and trajectories — nexp_h5_read_field,
 * nexp_h5_series_length and nexp_h5_series_read_frame on the dataset "field" (the name the seeds
 * use for both), and nexp_series_read_h5 (trajectory files of nexp_trajectory_write). */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "nexp_csv.h"
#include "nexp_h5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = nexp_fuzz_file(data, size, ".h5");
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *f = NULL;
    nexp_h5_attrs attrs = NEXP_H5_ATTRS_INIT;
    nexp_status st = nexp_h5_read_field(path, "field", &f, &attrs, &err);
    nexp_fuzz_check_field(st, f, &err);

    nexp_series *s = NULL;
    err = (nexp_error)NEXP_ERROR_INIT;
    st = nexp_series_read_h5(path, NULL, NULL, &s, &err);
    if (st == NEXP_OK) {
        volatile double sum = 0.0;
        for (long r = 0; r < s->n_rows; r++) {
            sum += s->t[r];
            for (int k = 0; k < s->n_states; k++) {
                sum += s->y[r * s->n_states + k];
            }
        }
        (void)sum;
        nexp_series_free(s);
    } else {
        nexp_fuzz_check_error(st, &err);
    }

    long long n = 0;
    err = (nexp_error)NEXP_ERROR_INIT;
    st = nexp_h5_series_length(path, "field", &n, &err);
    if (st != NEXP_OK) {
        nexp_fuzz_check_error(st, &err);
        nexp_fuzz_check_h5_closed();
        return 0;
    }
    if (n < 0) {
        fprintf(stderr, "nexp fuzz: negative series length %lld\n", n);
        abort();
    }
    long long frames[2] = { 0, -1 };
    for (int i = 0; i < 2; i++) {
        double t = 0.0;
        f = NULL;
        err = (nexp_error)NEXP_ERROR_INIT;
        st = nexp_h5_series_read_frame(path, "field", frames[i], &f, &t, &err);
        nexp_fuzz_check_field(st, f, &err);
    }
    nexp_fuzz_check_h5_closed();
    return 0;
}
