/* libFuzzer target: HDF5 files of named arrays (io/nexp_h5.h) — nexp_h5_open_read, then a walk of
 * the groups (nexp_h5_list, nexp_h5_exists) reading every dataset's info, values (whole and as
 * records, as float64 and as its stored type), the field view of it, and the attributes nexp
 * writes on every object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "nexp_h5.h"

#define FUZZ_MAX_DEPTH 4
#define FUZZ_MAX_OBJECTS 64
#define FUZZ_MAX_VALUES ((size_t)1 << 16)
#define FUZZ_PATH_MAX 1024

static const char *const fuzz_attr_names[] = { "kind", "units", "metadata", "spacing", "time", "bit_depth",
                                               "nexp_format", "version", "model", "spec", "n_params", "step",
                                               "state_names", "schedule", "lr" };

static void fuzz_attrs(nexp_h5_file *h, const char *path)
{
    for (size_t i = 0; i < sizeof fuzz_attr_names / sizeof fuzz_attr_names[0]; i++) {
        const char *name = fuzz_attr_names[i];
        if (!nexp_h5_attr_exists(h, path, name)) {
            continue;
        }
        nexp_error err = NEXP_ERROR_INIT;
        char *s = NULL;
        nexp_status st = nexp_h5_read_attr_string(h, path, name, &s, &err);
        if (st == NEXP_OK) {
            volatile size_t len = strlen(s);
            (void)len;
            free(s);
        } else {
            nexp_fuzz_check_error(st, &err);
        }
        int64_t iv = 0;
        err = (nexp_error)NEXP_ERROR_INIT;
        st = nexp_h5_read_attr_int64(h, path, name, &iv, &err);
        if (st != NEXP_OK) {
            nexp_fuzz_check_error(st, &err);
        }
        double dv = 0.0;
        err = (nexp_error)NEXP_ERROR_INIT;
        st = nexp_h5_read_attr_double(h, path, name, &dv, &err);
        if (st != NEXP_OK) {
            nexp_fuzz_check_error(st, &err);
        }
        size_t n = 0;
        err = (nexp_error)NEXP_ERROR_INIT;
        st = nexp_h5_attr_length(h, path, name, &n, &err);
        if (st != NEXP_OK) {
            nexp_fuzz_check_error(st, &err);
            continue;
        }
        if (n > 0 && n <= FUZZ_MAX_VALUES) {
            double *v = malloc(n * sizeof *v);
            err = (nexp_error)NEXP_ERROR_INIT;
            st = nexp_h5_read_attr_doubles(h, path, name, v, n, &err);
            if (st != NEXP_OK) {
                nexp_fuzz_check_error(st, &err);
            }
            free(v);
        }
    }
}

static void fuzz_dataset(nexp_h5_file *h, const char *path)
{
    nexp_h5_array_meta info;
    nexp_error err = NEXP_ERROR_INIT;
    nexp_status st = nexp_h5_array_info(h, path, &info, &err);
    if (st != NEXP_OK) {
        nexp_fuzz_check_error(st, &err);
        return;
    }
    if (info.rank < 0 || info.rank > NEXP_H5_MAX_RANK) {
        fprintf(stderr, "nexp fuzz: %s: rank %d out of range\n", path, info.rank);
        abort();
    }
    if (info.count <= FUZZ_MAX_VALUES) {
        void *v = malloc(info.count > 0 ? info.count * 8 : 8);
        const nexp_h5_type types[2] = { NEXP_H5_DOUBLE, info.type };
        for (int i = 0; i < 2; i++) {
            err = (nexp_error)NEXP_ERROR_INIT;
            st = nexp_h5_read_array(h, path, types[i], info.rank, info.dims, v, &err);
            if (st != NEXP_OK) {
                nexp_fuzz_check_error(st, &err);
            }
        }
        if (info.rank >= 1 && info.dims[0] > 0) {
            size_t count = info.dims[0] < 2 ? info.dims[0] : 2;
            size_t first = info.dims[0] - count;
            err = (nexp_error)NEXP_ERROR_INIT;
            st = nexp_h5_read_records(h, path, info.type, first, count, v, &err);
            if (st != NEXP_OK) {
                nexp_fuzz_check_error(st, &err);
            }
        }
        free(v);
    }
    nexp_field *f = NULL;
    nexp_h5_attrs attrs = NEXP_H5_ATTRS_INIT;
    err = (nexp_error)NEXP_ERROR_INIT;
    st = nexp_h5_get_field(h, path, &f, &attrs, &err);
    nexp_fuzz_check_field(st, f, &err);
}

static void fuzz_walk(nexp_h5_file *h, const char *group, int depth, int *budget)
{
    fuzz_attrs(h, group);
    char **names = NULL;
    size_t count = 0;
    nexp_error err = NEXP_ERROR_INIT;
    nexp_status st = nexp_h5_list(h, group, &names, &count, &err);
    if (st != NEXP_OK) {
        nexp_fuzz_check_error(st, &err);
        return;
    }
    for (size_t i = 0; i < count && *budget > 0; i++) {
        char path[FUZZ_PATH_MAX];
        int len = strcmp(group, "/") == 0 ? snprintf(path, sizeof path, "%s", names[i])
                                           : snprintf(path, sizeof path, "%s/%s", group, names[i]);
        if (len < 0 || (size_t)len >= sizeof path) {
            continue;
        }
        (*budget)--;
        nexp_h5_object kind = nexp_h5_exists(h, path);
        if (kind == NEXP_H5_DATASET) {
            fuzz_attrs(h, path);
            fuzz_dataset(h, path);
        } else if (kind == NEXP_H5_GROUP && depth < FUZZ_MAX_DEPTH) {
            fuzz_walk(h, path, depth + 1, budget);
        }
    }
    nexp_h5_free_names(names, count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = nexp_fuzz_file(data, size, ".h5");
    nexp_h5_file *h = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    nexp_status st = nexp_h5_open_read(&h, path, &err);
    if (st != NEXP_OK) {
        nexp_fuzz_check_error(st, &err);
        nexp_fuzz_check_h5_closed();
        return 0;
    }
    int budget = FUZZ_MAX_OBJECTS;
    fuzz_walk(h, "/", 0, &budget);
    nexp_h5_close(h);
    nexp_fuzz_check_h5_closed();
    return 0;
}
