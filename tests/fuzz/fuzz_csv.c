/* libFuzzer target: nexp_series_read_csv — CSV time series, read once with every non-time column
 * as a state and once with named state columns and a group column (as the seeds have them). */
#include "fuzz_common.h"
#include "nexp_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_read(const char *path, const char *states, const char *group)
{
    nexp_error err = NEXP_ERROR_INIT;
    nexp_series *s = NULL;
    nexp_status st = nexp_series_read_csv(path, "t", states, group, &s, &err);
    if (st != NEXP_OK) {
        nexp_fuzz_check_error(st, &err);
        return;
    }
    volatile double sum = 0.0;
    for (int g = 0; g < s->n_groups; g++) {
        for (long r = s->group_start[g]; r < s->group_start[g + 1]; r++) {
            sum += s->t[r];
            for (int k = 0; k < s->n_states; k++) {
                sum += s->y[r * s->n_states + k];
            }
        }
    }
    (void)sum;
    nexp_series_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = nexp_fuzz_file(data, size, ".csv");
    fuzz_read(path, NULL, NULL);
    fuzz_read(path, "x,y", "subject");
    return 0;
}
