/* HDF5 module: fields, time series, named groups of arrays, atomic writes, damaged files. */
#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nexp.h"
#include "nexp_h5.h"
#include "testlib.h"

/* A field with high-entropy values, including the extremes float32 must carry bit-identically. */
static nexp_field *make_field(int w, int h, int c, float seed)
{
    nexp_field *f = NULL;
    if (nexp_field_create(&f, w, h, c, NULL) != NEXP_OK) {
        return NULL;
    }
    for (int k = 0; k < c; k++) {
        for (int y = 0; y < h; y++) {
            float *row = nexp_field_row(f, k, y);
            for (int x = 0; x < w; x++) {
                row[x] = seed * sinf(0.173f * (float)(x + 3 * y) + 2.385f * (float)k) + 1e-3f * (float)(x * y);
            }
        }
    }
    nexp_field_row(f, 0, 0)[0] = 3.4028235e38f;
    nexp_field_row(f, 0, h - 1)[w - 1] = 1.17549435e-38f;
    nexp_field_row(f, c - 1, h / 2)[w / 2] = -0.0f;
    return f;
}

/* Values and mask are equal bit for bit (compared as bytes, so -0 and NaN patterns count). */
static int fields_identical(const nexp_field *a, const nexp_field *b)
{
    if (!nexp_test_fields_identical(a, b) || (a->mask == NULL) != (b->mask == NULL)) {
        return 0;
    }
    for (int y = 0; a->mask != NULL && y < a->height; y++) {
        for (int x = 0; x < a->width; x++) {
            if (nexp_field_valid(a, x, y) != nexp_field_valid(b, x, y)) {
                return 0;
            }
        }
    }
    return 1;
}

static void field_round_trips_bit_identically_with_its_attributes(void)
{
    const char *path = nexp_test_tmp("field.h5");
    nexp_field *f = make_field(37, 23, 3, 2.385f), *g = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    f->kind = NEXP_KIND_TENSOR;
    nexp_h5_attrs a = NEXP_H5_ATTRS_INIT;
    a.spacing = 0.25;
    a.time = 17.125;
    a.units = "m^2/s";
    a.metadata = "nexp test --alpha 0.37";
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_write_field(path, "diffusion/tensor", f, &a, &err), NEXP_OK);
    nexp_h5_attrs b;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_read_field(path, "diffusion/tensor", &g, &b, &err), NEXP_OK);
    CU_ASSERT(fields_identical(f, g));
    CU_ASSERT_PTR_NULL(g->mask);
    CU_ASSERT_EQUAL(g->kind, NEXP_KIND_TENSOR);
    CU_ASSERT_STRING_EQUAL(b.kind, "tensor");
    CU_ASSERT_EQUAL(b.spacing, 0.25);
    CU_ASSERT_EQUAL(b.time, 17.125);
    CU_ASSERT_PTR_NULL(b.units);
    nexp_field_free(f);
    nexp_field_free(g);
}

static void flow_with_unknown_vectors_keeps_its_mask(void)
{
    const char *path = nexp_test_tmp("flow_mask.h5");
    nexp_field *f = make_field(19, 11, 2, 7.31f), *g = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    f->kind = NEXP_KIND_FLOW;
    CU_ASSERT_EQUAL_FATAL(nexp_field_ensure_mask(f, NULL), NEXP_OK);
    f->mask[3 * f->stride + 4] = 0;
    f->mask[10 * f->stride + 18] = 0;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_write_field(path, NULL, f, NULL, &err), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_h5_read_field(path, NULL, &g, NULL, &err), NEXP_OK);
    CU_ASSERT(fields_identical(f, g));
    CU_ASSERT_EQUAL(nexp_field_count_valid(g), 19 * 11 - 2);
    CU_ASSERT_EQUAL(g->kind, NEXP_KIND_FLOW);
    nexp_field_free(f);
    nexp_field_free(g);
}

static void real_sintel_flow_round_trips_through_hdf5(void)
{
    nexp_field *f = NULL, *g = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    /* The .flo reader lives on another branch; read the file's bytes directly (magic, w, h, u v ...). */
    size_t len = 0;
    unsigned char *bytes = nexp_test_read_bytes(nexp_test_data("flow/sintel-alley/flow_0002.flo"), &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
    int32_t w, h;
    memcpy(&w, bytes + 4, 4);
    memcpy(&h, bytes + 8, 4);
    CU_ASSERT_EQUAL(w, 1024);
    CU_ASSERT_EQUAL(h, 436);
    CU_ASSERT_EQUAL_FATAL(len, 12 + (size_t)w * (size_t)h * 8);
    CU_ASSERT_EQUAL_FATAL(nexp_field_create(&f, w, h, 2, NULL), NEXP_OK);
    f->kind = NEXP_KIND_FLOW;
    const float *uv = (const float *)(bytes + 12);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            nexp_field_row(f, 0, y)[x] = uv[2 * ((size_t)y * (size_t)w + (size_t)x)];
            nexp_field_row(f, 1, y)[x] = uv[2 * ((size_t)y * (size_t)w + (size_t)x) + 1];
        }
    }
    free(bytes);
    const char *path = nexp_test_tmp("sintel.h5");
    CU_ASSERT_EQUAL_FATAL(nexp_h5_write_field(path, "flow", f, NULL, &err), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_h5_read_field(path, "flow", &g, NULL, &err), NEXP_OK);
    CU_ASSERT(fields_identical(f, g));
    nexp_flow_stats s;
    CU_ASSERT_EQUAL(nexp_flow_stats_compute(g, &s, NULL), NEXP_OK);
    CU_ASSERT(fabs(s.max_flow - 10.65) < 0.01);
    CU_ASSERT_EQUAL(s.unknown, 0);
    nexp_field_free(f);
    nexp_field_free(g);
}

static void wrong_dataset_name_lists_what_the_file_has(void)
{
    const char *path = nexp_test_tmp("names.h5");
    nexp_field *f = make_field(5, 4, 1, 1.5f), *g = (nexp_field *)1;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_write_field(path, "temperature", f, NULL, NULL), NEXP_OK);
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_h5_read_field(path, "field", &g, NULL, &err), NEXP_ERR_MISMATCH);
    CU_ASSERT_PTR_NULL(g);
    CU_ASSERT(strstr(err.msg, path) != NULL);
    CU_ASSERT(strstr(err.msg, "'field'") != NULL);
    CU_ASSERT(strstr(err.msg, "temperature") != NULL);
    nexp_field_free(f);
}

static void missing_file_is_an_io_error_naming_it(void)
{
    nexp_field *g = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    const char *path = nexp_test_tmp("does-not-exist.h5");
    CU_ASSERT_EQUAL(nexp_h5_read_field(path, NULL, &g, NULL, &err), NEXP_ERR_IO);
    CU_ASSERT(strstr(err.msg, "does-not-exist.h5") != NULL);
    CU_ASSERT(strstr(err.msg, "No such file") != NULL);
}

static void foreign_files_are_format_errors(void)
{
    static const unsigned char png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                         0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0x3a, 0x7e, 0x9b, 0x55 };
    static const char text[] = "year,lynx,hare\n1900,4.0,30.0\n";
    const char *path = nexp_test_tmp("foreign.h5");
    nexp_field *g = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, png, sizeof png), 0);
    CU_ASSERT_EQUAL(nexp_h5_read_field(path, NULL, &g, NULL, &err), NEXP_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "not an HDF5 file") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, text, sizeof text - 1), 0);
    CU_ASSERT_EQUAL(nexp_h5_read_field(path, NULL, &g, NULL, &err), NEXP_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "foreign.h5") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, "", 0), 0);
    CU_ASSERT_EQUAL(nexp_h5_read_field(path, NULL, &g, NULL, &err), NEXP_ERR_FORMAT);
    CU_ASSERT_PTR_NULL(g);
}

static void truncated_files_are_format_errors_at_every_offset_tried(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", nexp_test_tmp("whole.h5"));
    nexp_field *f = make_field(64, 48, 2, 3.7f), *g = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_field_ensure_mask(f, NULL), NEXP_OK);
    f->mask[5] = 0;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_write_field(path, "field", f, NULL, NULL), NEXP_OK);
    size_t len = 0;
    unsigned char *bytes = nexp_test_read_bytes(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
    const char *cut = nexp_test_tmp("cut.h5");
    const size_t offsets[] = { 1, 7, 8, 40, 96, 200, 512, 1000, 2048 };
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0] + 3; i++) {
        size_t n = i < sizeof offsets / sizeof offsets[0] ? offsets[i] : len - (len / 7) * (i - 8);
        if (n >= len) {
            continue;
        }
        CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(cut, bytes, n), 0);
        nexp_error err = NEXP_ERROR_INIT;
        CU_ASSERT_EQUAL(nexp_h5_read_field(cut, "field", &g, NULL, &err), NEXP_ERR_FORMAT);
        CU_ASSERT_PTR_NULL(g);
        CU_ASSERT(strstr(err.msg, "cut.h5") != NULL);
        nexp_field_free(g);
        g = NULL;
    }
    CU_ASSERT_EQUAL_FATAL(nexp_h5_read_field(path, "field", &g, NULL, NULL), NEXP_OK);
    CU_ASSERT(fields_identical(f, g));
    free(bytes);
    nexp_field_free(f);
    nexp_field_free(g);
}

static void failed_write_leaves_the_existing_file_untouched(void)
{
    const char *path = nexp_test_tmp("keep.h5");
    nexp_field *f = make_field(8, 6, 1, 0.5f), *g = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_write_field(path, "field", f, NULL, NULL), NEXP_OK);
    nexp_field bad = *f;
    bad.width = 0;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_NOT_EQUAL(nexp_h5_write_field(path, "field", &bad, NULL, &err), NEXP_OK);
    CU_ASSERT(strstr(err.msg, "keep.h5") != NULL);
    CU_ASSERT_EQUAL(nexp_h5_read_field(path, "field", &g, NULL, NULL), NEXP_OK);
    CU_ASSERT(fields_identical(f, g));
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_h5_write_field(nexp_test_tmp("no-such-dir/x.h5"), "field", f, NULL, &err), NEXP_ERR_IO);
    CU_ASSERT(strstr(err.msg, "no-such-dir") != NULL);
    nexp_field_free(f);
    nexp_field_free(g);
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Files in the scratch folder whose name starts with prefix (temporary files start with '.'). */
static int count_files_starting(const char *prefix)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", nexp_test_tmp(""));
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e = d ? readdir(d) : NULL; e != NULL; e = readdir(d)) {
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    }
    if (d != NULL) {
        closedir(d);
    }
    return n;
}

static void series_appends_frames_and_reads_each_back_with_its_time(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", nexp_test_tmp("series.h5"));
    remove(path);
    nexp_h5_attrs a = NEXP_H5_ATTRS_INIT;
    a.kind = "scalar";
    a.units = "K";
    nexp_h5_series *s = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_series_create(&s, path, "u", 13, 9, 2, &a, &err), NEXP_OK);
    nexp_field *frames[5];
    for (int k = 0; k < 5; k++) {
        frames[k] = make_field(13, 9, 2, 0.37f * (float)(k + 1));
        CU_ASSERT_EQUAL(nexp_h5_series_append(s, frames[k], 0.125 * k * k, &err), NEXP_OK);
        CU_ASSERT_FALSE(file_exists(path));
    }
    CU_ASSERT_EQUAL(nexp_h5_series_count(s), 5);
    nexp_field *wrong = make_field(12, 9, 2, 1.0f);
    CU_ASSERT_EQUAL(nexp_h5_series_append(s, wrong, 9.0, &err), NEXP_ERR_SIZE);
    CU_ASSERT(strstr(err.msg, "12 x 9 x 2") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL_FATAL(nexp_h5_series_close(s, &err), NEXP_OK);
    CU_ASSERT(file_exists(path));
    long long n = 0;
    CU_ASSERT_EQUAL(nexp_h5_series_length(path, "u", &n, &err), NEXP_OK);
    CU_ASSERT_EQUAL(n, 5);
    for (int k = 0; k < 5; k++) {
        nexp_field *g = NULL;
        double t = -1.0;
        CU_ASSERT_EQUAL_FATAL(nexp_h5_series_read_frame(path, "u", k, &g, &t, &err), NEXP_OK);
        CU_ASSERT(fields_identical(frames[k], g));
        CU_ASSERT_EQUAL(t, 0.125 * k * k);
        nexp_field_free(g);
    }
    nexp_field *last = NULL;
    CU_ASSERT_EQUAL(nexp_h5_series_read_frame(path, "u", -1, &last, NULL, &err), NEXP_OK);
    CU_ASSERT(last != NULL && fields_identical(frames[4], last));
    nexp_field_free(last);
    CU_ASSERT_EQUAL(nexp_h5_series_read_frame(path, "u", 5, &last, NULL, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "5 frames") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_h5_series_length(path, "v", &n, &err), NEXP_ERR_MISMATCH);
    CU_ASSERT(strstr(err.msg, "u_time") != NULL);
    nexp_error_clear(&err);
    nexp_field *whole = NULL;
    CU_ASSERT_EQUAL(nexp_h5_read_field(path, "u", &whole, NULL, &err), NEXP_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "time series") != NULL);
    CU_ASSERT_PTR_NULL(whole);
    nexp_error_clear(&err);
    nexp_h5_file *h = NULL;
    char *units = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_open_read(&h, path, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_read_attr_string(h, "u", "units", &units, &err), NEXP_OK);
    CU_ASSERT(units != NULL && strcmp(units, "K") == 0);
    free(units);
    nexp_h5_close(h);
    for (int k = 0; k < 5; k++) {
        nexp_field_free(frames[k]);
    }
    nexp_field_free(wrong);
}

static void aborted_series_leaves_no_file_and_keeps_an_existing_one(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", nexp_test_tmp("series_abort.h5"));
    remove(path);
    nexp_field *f = make_field(6, 5, 1, 2.0f);
    nexp_h5_series *s = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_series_create(&s, path, NULL, 6, 5, 1, NULL, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_series_append(s, f, 0.5, NULL), NEXP_OK);
    nexp_h5_series_abort(s);
    CU_ASSERT_FALSE(file_exists(path));
    CU_ASSERT_EQUAL(count_files_starting(".series_abort.h5"), 0);
    CU_ASSERT_EQUAL_FATAL(nexp_h5_write_field(path, "field", f, NULL, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_h5_series_create(&s, path, NULL, 6, 5, 1, NULL, NULL), NEXP_OK);
    nexp_h5_series_abort(s);
    nexp_field *g = NULL;
    CU_ASSERT_EQUAL(nexp_h5_read_field(path, "field", &g, NULL, NULL), NEXP_OK);
    CU_ASSERT(g != NULL && fields_identical(f, g));
    CU_ASSERT_EQUAL(count_files_starting(".series_abort.h5"), 0);
    nexp_field_free(f);
    nexp_field_free(g);
}

static void arrays_of_every_type_round_trip_in_nested_groups(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", nexp_test_tmp("arrays.h5"));
    double d[24];
    float fl[24];
    int64_t i64[24];
    uint64_t u64[24];
    uint8_t u8[24];
    for (int i = 0; i < 24; i++) {
        d[i] = 2.385 * sin(0.173 * i) * 1e-7;
        fl[i] = (float)(-1.5e20 * cos(0.77 * i));
        i64[i] = (int64_t)(INT64_MIN / 3) + 12345678901LL * i;
        u64[i] = UINT64_MAX - 987654321ULL * (uint64_t)i;
        u8[i] = (uint8_t)(i * 11);
    }
    const size_t dims4[4] = { 2, 3, 2, 2 }, dims1[1] = { 24 }, dims2[2] = { 4, 6 }, dims3[3] = { 2, 12, 1 };
    const size_t dims8[8] = { 1, 2, 1, 3, 1, 4, 1, 1 };
    nexp_h5_file *h = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_create(&h, path, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_array(h, "params/conv1.weight", NEXP_H5_DOUBLE, 4, dims4, d, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_array(h, "params/conv1.bias", NEXP_H5_FLOAT, 1, dims1, fl, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_array(h, "optimizer/adam/steps", NEXP_H5_INT64, 2, dims2, i64, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_array(h, "rng/state", NEXP_H5_UINT64, 3, dims3, u64, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_array(h, "masks/known", NEXP_H5_UINT8, 8, dims8, u8, &err), NEXP_OK);
    double lr = 3.7e-4;
    CU_ASSERT_EQUAL(nexp_h5_write_array(h, "optimizer/lr", NEXP_H5_DOUBLE, 0, NULL, &lr, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_array(h, "params/conv1.bias", NEXP_H5_FLOAT, 1, dims1, fl, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "already exists") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_h5_create_group(h, "empty/inner", &err), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_h5_commit(h, &err), NEXP_OK);
    nexp_h5_close(h);

    CU_ASSERT_EQUAL_FATAL(nexp_h5_open_read(&h, path, &err), NEXP_OK);
    double d2[24];
    float f2[24];
    int64_t i2[24];
    uint64_t u2[24];
    uint8_t b2[24];
    double lr2 = 0.0;
    CU_ASSERT_EQUAL(nexp_h5_read_array(h, "params/conv1.weight", NEXP_H5_DOUBLE, 4, dims4, d2, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_read_array(h, "/params/conv1.bias", NEXP_H5_FLOAT, 1, dims1, f2, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_read_array(h, "optimizer/adam/steps", NEXP_H5_INT64, 2, dims2, i2, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_read_array(h, "rng/state", NEXP_H5_UINT64, 3, dims3, u2, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_read_array(h, "masks/known", NEXP_H5_UINT8, 8, dims8, b2, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_read_array(h, "optimizer/lr", NEXP_H5_DOUBLE, 0, NULL, &lr2, &err), NEXP_OK);
    CU_ASSERT_EQUAL(memcmp(d, d2, sizeof d), 0);
    CU_ASSERT_EQUAL(memcmp(fl, f2, sizeof fl), 0);
    CU_ASSERT_EQUAL(memcmp(i64, i2, sizeof i64), 0);
    CU_ASSERT_EQUAL(memcmp(u64, u2, sizeof u64), 0);
    CU_ASSERT_EQUAL(memcmp(u8, b2, sizeof u8), 0);
    CU_ASSERT_EQUAL(lr2, lr);
    /* widening and float conversions are allowed */
    CU_ASSERT_EQUAL(nexp_h5_read_array(h, "params/conv1.bias", NEXP_H5_DOUBLE, 1, dims1, d2, &err), NEXP_OK);
    CU_ASSERT_EQUAL(d2[7], (double)fl[7]);
    CU_ASSERT_EQUAL(nexp_h5_read_array(h, "masks/known", NEXP_H5_INT64, 8, dims8, i2, &err), NEXP_OK);
    CU_ASSERT_EQUAL(i2[23], u8[23]);

    nexp_h5_array_meta info;
    CU_ASSERT_EQUAL(nexp_h5_array_info(h, "rng/state", &info, &err), NEXP_OK);
    CU_ASSERT_EQUAL(info.type, NEXP_H5_UINT64);
    CU_ASSERT_EQUAL(info.rank, 3);
    CU_ASSERT_EQUAL(info.dims[1], 12);
    CU_ASSERT_EQUAL(info.count, 24);
    CU_ASSERT_EQUAL(nexp_h5_array_info(h, "optimizer/lr", &info, &err), NEXP_OK);
    CU_ASSERT_EQUAL(info.rank, 0);
    CU_ASSERT_EQUAL(info.count, 1);

    CU_ASSERT_EQUAL(nexp_h5_exists(h, "params"), NEXP_H5_GROUP);
    CU_ASSERT_EQUAL(nexp_h5_exists(h, "params/conv1.weight"), NEXP_H5_DATASET);
    CU_ASSERT_EQUAL(nexp_h5_exists(h, "/"), NEXP_H5_GROUP);
    CU_ASSERT_EQUAL(nexp_h5_exists(h, "params/conv2.weight"), NEXP_H5_NONE);
    CU_ASSERT_EQUAL(nexp_h5_exists(h, "nothing/at/all"), NEXP_H5_NONE);
    CU_ASSERT_EQUAL(nexp_h5_exists(h, "empty/inner"), NEXP_H5_GROUP);
    char **names = NULL;
    size_t count = 0;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_list(h, "/", &names, &count, &err), NEXP_OK);
    const char *want[] = { "empty", "masks", "optimizer", "params", "rng" };
    CU_ASSERT_EQUAL_FATAL(count, 5);
    for (size_t i = 0; i < count; i++) {
        CU_ASSERT_STRING_EQUAL(names[i], want[i]);
    }
    nexp_h5_free_names(names, count);
    CU_ASSERT_EQUAL(nexp_h5_list(h, "params", &names, &count, &err), NEXP_OK);
    CU_ASSERT_EQUAL(count, 2);
    CU_ASSERT(count == 2 && strcmp(names[0], "conv1.bias") == 0 && strcmp(names[1], "conv1.weight") == 0);
    nexp_h5_free_names(names, count);
    CU_ASSERT_EQUAL(nexp_h5_list(h, "empty/inner", &names, &count, &err), NEXP_OK);
    CU_ASSERT_EQUAL(count, 0);
    nexp_h5_free_names(names, count);
    CU_ASSERT_EQUAL(nexp_h5_list(h, "rng/state", &names, &count, &err), NEXP_ERR_MISMATCH);
    CU_ASSERT(strstr(err.msg, "not a group") != NULL);
    nexp_h5_close(h);
}

static void shape_and_type_mismatches_name_both_sides(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", nexp_test_tmp("mismatch.h5"));
    float w[8 * 3 * 3 * 3] = { 0 };
    const size_t have[4] = { 8, 3, 3, 3 }, want[4] = { 16, 3, 3, 3 };
    nexp_h5_file *h = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_create(&h, path, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_array(h, "params/conv1.weight", NEXP_H5_FLOAT, 4, have, w, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_commit(h, &err), NEXP_OK);
    nexp_h5_close(h);
    CU_ASSERT_EQUAL_FATAL(nexp_h5_open_read(&h, path, &err), NEXP_OK);
    float big[16 * 27];
    CU_ASSERT_EQUAL(nexp_h5_read_array(h, "params/conv1.weight", NEXP_H5_FLOAT, 4, want, big, &err), NEXP_ERR_MISMATCH);
    CU_ASSERT(strstr(err.msg,
                     "mismatch.h5: params/conv1.weight: expected shape (16, 3, 3, 3), file has (8, 3, 3, 3)") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_h5_read_array(h, "params/conv1.weight", NEXP_H5_FLOAT, 3, want + 1, big, &err),
                    NEXP_ERR_MISMATCH);
    CU_ASSERT(strstr(err.msg, "expected shape (3, 3, 3), file has (8, 3, 3, 3)") != NULL);
    nexp_error_clear(&err);
    int64_t ints[8 * 27];
    CU_ASSERT_EQUAL(nexp_h5_read_array(h, "params/conv1.weight", NEXP_H5_INT64, 4, have, ints, &err),
                    NEXP_ERR_MISMATCH);
    CU_ASSERT(strstr(err.msg, "float32") != NULL && strstr(err.msg, "int64") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_h5_read_array(h, "params/conv2.weight", NEXP_H5_FLOAT, 4, have, big, &err), NEXP_ERR_MISMATCH);
    CU_ASSERT(strstr(err.msg, "conv2.weight") != NULL && strstr(err.msg, "params/conv1.weight") != NULL);
    nexp_error_clear(&err);
    nexp_field *f = NULL;
    CU_ASSERT_EQUAL(nexp_h5_get_field(h, "params/conv1.weight", &f, NULL, &err), NEXP_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "4 axes") != NULL);
    nexp_h5_close(h);
}

static void attributes_of_every_kind_round_trip_on_groups_and_datasets(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", nexp_test_tmp("attrs.h5"));
    nexp_h5_file *h = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    const double losses[4] = { 2.385, 1.173, 0.5, -0.0 };
    uint8_t one = 1;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_create(&h, path, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_attr_string(h, "/", "model", "learned-tensor inpainting, 3 levels", &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_attr_int64(h, NULL, "step", -9007199254740993LL, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_attr_double(h, "train", "lr", 3.7e-4, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_attr_doubles(h, "train", "losses", losses, 4, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_attr_double(h, "train", "lr", 1.25e-4, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_array(h, "flag", NEXP_H5_UINT8, 0, NULL, &one, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_attr_string(h, "flag", "note", "ünïcödé ok", &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_commit(h, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_attr_double(h, "train", "late", 1.0, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "attrs.h5: file is already committed") != NULL);
    nexp_error_clear(&err);
    nexp_h5_close(h);

    CU_ASSERT_EQUAL_FATAL(nexp_h5_open_read(&h, path, &err), NEXP_OK);
    char *s = NULL;
    int64_t step = 0;
    double lr = 0.0, back[4];
    size_t n = 0;
    CU_ASSERT_EQUAL(nexp_h5_read_attr_string(h, "/", "model", &s, &err), NEXP_OK);
    CU_ASSERT(s != NULL && strcmp(s, "learned-tensor inpainting, 3 levels") == 0);
    free(s);
    CU_ASSERT_EQUAL(nexp_h5_read_attr_int64(h, "", "step", &step, &err), NEXP_OK);
    CU_ASSERT_EQUAL(step, -9007199254740993LL);
    CU_ASSERT_EQUAL(nexp_h5_read_attr_double(h, "train", "lr", &lr, &err), NEXP_OK);
    CU_ASSERT_EQUAL(lr, 1.25e-4);
    CU_ASSERT_EQUAL(nexp_h5_attr_length(h, "train", "losses", &n, &err), NEXP_OK);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_EQUAL(nexp_h5_read_attr_doubles(h, "train", "losses", back, 4, &err), NEXP_OK);
    CU_ASSERT_EQUAL(memcmp(back, losses, sizeof back), 0);
    CU_ASSERT_EQUAL(nexp_h5_read_attr_string(h, "flag", "note", &s, &err), NEXP_OK);
    CU_ASSERT(s != NULL && strcmp(s, "ünïcödé ok") == 0);
    free(s);
    CU_ASSERT(nexp_h5_attr_exists(h, "train", "losses"));
    CU_ASSERT_FALSE(nexp_h5_attr_exists(h, "train", "momentum"));
    CU_ASSERT_FALSE(nexp_h5_attr_exists(h, "nowhere", "lr"));
    CU_ASSERT_EQUAL(nexp_h5_read_attr_doubles(h, "train", "losses", back, 3, &err), NEXP_ERR_MISMATCH);
    CU_ASSERT(strstr(err.msg, "4 values") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_h5_read_attr_double(h, "train", "momentum", &lr, &err), NEXP_ERR_MISMATCH);
    CU_ASSERT(strstr(err.msg, "momentum") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_h5_read_attr_string(h, "train", "lr", &s, &err), NEXP_ERR_FORMAT);
    CU_ASSERT_PTR_NULL(s);
    nexp_h5_close(h);
}

static void checkpoint_writer_closed_without_commit_leaves_nothing(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", nexp_test_tmp("ckpt.h5"));
    remove(path);
    const double x[3] = { 1.5, 2.5, 3.5 };
    const size_t dims[1] = { 3 };
    nexp_h5_file *h = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_create(&h, path, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_array(h, "x", NEXP_H5_DOUBLE, 1, dims, x, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(count_files_starting(".ckpt.h5.tmp"), 1);
    nexp_h5_close(h);
    CU_ASSERT_FALSE(file_exists(path));
    CU_ASSERT_EQUAL(count_files_starting(".ckpt.h5"), 0);

    CU_ASSERT_EQUAL_FATAL(nexp_h5_create(&h, path, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_array(h, "x", NEXP_H5_DOUBLE, 1, dims, x, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_commit(h, NULL), NEXP_OK);
    nexp_h5_close(h);
    CU_ASSERT_EQUAL_FATAL(nexp_h5_create(&h, path, NULL), NEXP_OK);
    const double y[2] = { -1.0, -2.0 };
    const size_t dy[1] = { 2 };
    CU_ASSERT_EQUAL(nexp_h5_write_array(h, "x", NEXP_H5_DOUBLE, 1, dy, y, NULL), NEXP_OK);
    nexp_h5_close(h);
    double back[3] = { 0 };
    CU_ASSERT_EQUAL_FATAL(nexp_h5_open_read(&h, path, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_read_array(h, "x", NEXP_H5_DOUBLE, 1, dims, back, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(memcmp(back, x, sizeof x), 0);
    nexp_h5_close(h);
    CU_ASSERT_EQUAL(count_files_starting(".ckpt.h5"), 0);
}

static void several_fields_share_one_file_through_a_handle(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", nexp_test_tmp("pair.h5"));
    nexp_field *a = make_field(10, 7, 3, 1.1f), *b = make_field(10, 7, 2, -4.2f), *g = NULL;
    b->kind = NEXP_KIND_FLOW;
    nexp_h5_file *h = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_create(&h, path, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_put_field(h, "frames/frame1", a, NULL, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_put_field(h, "flow", b, NULL, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_commit(h, &err), NEXP_OK);
    nexp_h5_close(h);
    CU_ASSERT_EQUAL_FATAL(nexp_h5_open_read(&h, path, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_get_field(h, "flow", &g, NULL, &err), NEXP_OK);
    CU_ASSERT(g != NULL && fields_identical(b, g) && g->kind == NEXP_KIND_FLOW);
    nexp_field_free(g);
    CU_ASSERT_EQUAL(nexp_h5_get_field(h, "frames/frame1", &g, NULL, &err), NEXP_OK);
    CU_ASSERT(g != NULL && fields_identical(a, g) && g->kind == NEXP_KIND_SCALAR);
    nexp_field_free(g);
    nexp_h5_close(h);
    nexp_field_free(a);
    nexp_field_free(b);
}

static void mask_of_the_wrong_shape_is_refused(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", nexp_test_tmp("badmask.h5"));
    nexp_field *a = make_field(10, 7, 2, 1.1f), *g = NULL;
    uint8_t m[6 * 10] = { 0 };
    const size_t dims[2] = { 6, 10 };
    nexp_h5_file *h = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_create(&h, path, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_put_field(h, "field", a, NULL, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_array(h, "field_valid", NEXP_H5_UINT8, 2, dims, m, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_commit(h, &err), NEXP_OK);
    nexp_h5_close(h);
    CU_ASSERT_EQUAL(nexp_h5_read_field(path, NULL, &g, NULL, &err), NEXP_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "field_valid") != NULL && strstr(err.msg, "(6, 10)") != NULL);
    CU_ASSERT_PTR_NULL(g);
    nexp_field_free(a);
}

static void numeric_datasets_of_other_types_read_as_fields_within_the_limits(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", nexp_test_tmp("foreign_types.h5"));
    uint8_t img[2 * 3 * 4];
    for (int i = 0; i < 24; i++) {
        img[i] = (uint8_t)(250 - 7 * i);
    }
    static uint8_t many[5000];
    const size_t dims[3] = { 2, 3, 4 }, too_many[3] = { 5000, 1, 1 }, empty[3] = { 1, 0, 4 };
    nexp_h5_file *h = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_create(&h, path, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_array(h, "bytes", NEXP_H5_UINT8, 3, dims, img, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_array(h, "channels", NEXP_H5_UINT8, 3, too_many, many, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_array(h, "empty", NEXP_H5_UINT8, 3, empty, NULL, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_commit(h, &err), NEXP_OK);
    nexp_h5_close(h);
    nexp_field *f = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_read_field(path, "bytes", &f, NULL, &err), NEXP_OK);
    CU_ASSERT_EQUAL(f->width, 4);
    CU_ASSERT_EQUAL(f->height, 3);
    CU_ASSERT_EQUAL(f->channels, 2);
    CU_ASSERT_EQUAL(nexp_field_get(f, 1, 3, 2), (float)img[12 + 2 * 4 + 3]);
    nexp_field_free(f);
    f = NULL;
    CU_ASSERT_EQUAL(nexp_h5_read_field(path, "channels", &f, NULL, &err), NEXP_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "channels: invalid channel count 5000") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_h5_read_field(path, "empty", &f, NULL, &err), NEXP_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "empty: invalid dimensions 4 x 0") != NULL);
    CU_ASSERT_PTR_NULL(f);
}

/* One explicit Euler step (h = 0.02) of a Lotka-Volterra system. */
static void lotka_volterra_step(double *y)
{
    double dy0 = 0.02 * (0.55 * y[0] - 0.028 * y[0] * y[1]);
    double dy1 = 0.02 * (-0.84 * y[1] + 0.026 * y[0] * y[1]);
    y[0] += dy0;
    y[1] += dy1;
}

/* A trajectory whose records are appended one step at a time, as an ODE driver would. */
static void records_append_one_step_at_a_time_and_read_back_in_ranges(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", nexp_test_tmp("trajectory.h5"));
    nexp_h5_file *h = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    const size_t n2[1] = { 2 }, n3[1] = { 3 };
    double y[2] = { 30.0, 4.0 }, t = 1900.0;
    const int steps = 300;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_create(&h, path, &err), NEXP_OK);
    for (int k = 0; k < steps; k++) {
        CU_ASSERT_EQUAL(nexp_h5_append(h, "traj/y", NEXP_H5_DOUBLE, 1, n2, y, &err), NEXP_OK);
        CU_ASSERT_EQUAL(nexp_h5_append(h, "traj/t", NEXP_H5_DOUBLE, 0, NULL, &t, &err), NEXP_OK);
        lotka_volterra_step(y);
        t += 0.02;
    }
    CU_ASSERT_EQUAL(nexp_h5_append(h, "traj/y", NEXP_H5_DOUBLE, 1, n3, y, &err), NEXP_ERR_MISMATCH);
    CU_ASSERT(strstr(err.msg, "shape (3)") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_h5_append(h, "traj/y", NEXP_H5_FLOAT, 1, n2, y, &err), NEXP_ERR_MISMATCH);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_h5_commit(h, &err), NEXP_OK);
    nexp_h5_close(h);

    CU_ASSERT_EQUAL_FATAL(nexp_h5_open_read(&h, path, &err), NEXP_OK);
    nexp_h5_array_meta info;
    CU_ASSERT_EQUAL(nexp_h5_array_info(h, "traj/y", &info, &err), NEXP_OK);
    CU_ASSERT_EQUAL(info.rank, 2);
    CU_ASSERT_EQUAL(info.dims[0], (size_t)steps);
    CU_ASSERT_EQUAL(info.dims[1], 2);
    double *all = malloc(sizeof(double) * 2 * steps), *ts = malloc(sizeof(double) * steps), part[6];
    const size_t dims[2] = { (size_t)steps, 2 }, tdims[1] = { (size_t)steps };
    CU_ASSERT_EQUAL(nexp_h5_read_array(h, "traj/y", NEXP_H5_DOUBLE, 2, dims, all, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_read_array(h, "traj/t", NEXP_H5_DOUBLE, 1, tdims, ts, &err), NEXP_OK);
    CU_ASSERT_EQUAL(all[0], 30.0);
    CU_ASSERT_EQUAL(ts[0], 1900.0);
    CU_ASSERT_EQUAL(nexp_h5_read_records(h, "traj/y", NEXP_H5_DOUBLE, 150, 3, part, &err), NEXP_OK);
    CU_ASSERT_EQUAL(memcmp(part, &all[300], sizeof part), 0);
    CU_ASSERT_EQUAL(nexp_h5_read_records(h, "traj/y", NEXP_H5_DOUBLE, 298, 3, part, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "[298, 301) out of range") != NULL);
    nexp_error_clear(&err);
    for (int k = 1; k < steps; k++) {
        CU_ASSERT_FATAL(ts[k] > ts[k - 1]);
    }
    /* the last state equals what the loop computed before its final update, so recompute it */
    double yl[2] = { 30.0, 4.0 };
    for (int k = 0; k < steps - 1; k++) {
        lotka_volterra_step(yl);
    }
    CU_ASSERT_EQUAL(all[2 * (steps - 1)], yl[0]);
    CU_ASSERT_EQUAL(all[2 * (steps - 1) + 1], yl[1]);
    free(all);
    free(ts);
    nexp_h5_close(h);
}

/* Found by fuzzing: an attribute whose datatype claims fewer bytes than its variable-length
 * string needs (11 instead of 16) made HDF5 1.10 read past its 11-byte buffer in H5Aread. */
static void attribute_with_less_data_than_its_type_needs_is_refused(void)
{
    const char *path = nexp_test_tmp("damaged_attr.h5");
    nexp_h5_file *h = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_create(&h, path, &err), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_h5_write_attr_string(h, "/", "note", "made by test_h5", &err), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_h5_commit(h, &err), NEXP_OK);
    nexp_h5_close(h);
    char *back = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_open_read(&h, path, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_read_attr_string(h, "/", "note", &back, &err), NEXP_OK);
    CU_ASSERT(back != NULL && strcmp(back, "made by test_h5") == 0);
    free(back);
    nexp_h5_close(h);

    /* the datatype message: version 1, class 9 (variable length), 3 bytes of class bits, size 16 */
    size_t len = 0;
    unsigned char *b = nexp_test_read_bytes(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    int found = 0;
    for (size_t i = 0; i + 8 < len; i++) {
        if (b[i] == 0x19 && memcmp(b + i + 4, "\x10\0\0\0", 4) == 0) {
            b[i + 4] = 11;
            found++;
        }
    }
    CU_ASSERT_EQUAL_FATAL(found, 1);
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, b, len), 0);
    free(b);
    back = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_open_read(&h, path, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_read_attr_string(h, "/", "note", &back, &err), NEXP_ERR_FORMAT);
    CU_ASSERT_PTR_NULL(back);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "damaged"));
    nexp_h5_close(h);
}

/* Found by fuzzing: a 14 KB file whose dataset claims a (4, 30000, 30000) field made the reader
 * allocate it (HDF5 reads never-written chunks as fill values). */
static void field_claiming_more_values_than_the_file_stores_is_refused(void)
{
    const char *path = nexp_test_tmp("unwritten.h5");
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[3] = { 2, 20000, 20000 }, chunk[3] = { 1, 256, 256 };
    hid_t space = H5Screate_simple(3, dims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 3, chunk);
    hid_t d = H5Dcreate2(file, "field", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    CU_ASSERT_FATAL(file >= 0 && d >= 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(file);
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *f = NULL;
    CU_ASSERT_EQUAL(nexp_h5_read_field(path, "field", &f, NULL, &err), NEXP_ERR_FORMAT);
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "stores only"));
}

static CU_TestInfo tests[] = {
    { "field_round_trips_bit_identically_with_its_attributes", field_round_trips_bit_identically_with_its_attributes },
    { "flow_with_unknown_vectors_keeps_its_mask", flow_with_unknown_vectors_keeps_its_mask },
    { "real_sintel_flow_round_trips_through_hdf5", real_sintel_flow_round_trips_through_hdf5 },
    { "wrong_dataset_name_lists_what_the_file_has", wrong_dataset_name_lists_what_the_file_has },
    { "missing_file_is_an_io_error_naming_it", missing_file_is_an_io_error_naming_it },
    { "foreign_files_are_format_errors", foreign_files_are_format_errors },
    { "truncated_files_are_format_errors_at_every_offset_tried",
      truncated_files_are_format_errors_at_every_offset_tried },
    { "failed_write_leaves_the_existing_file_untouched", failed_write_leaves_the_existing_file_untouched },
    { "series_appends_frames_and_reads_each_back_with_its_time",
      series_appends_frames_and_reads_each_back_with_its_time },
    { "aborted_series_leaves_no_file_and_keeps_an_existing_one",
      aborted_series_leaves_no_file_and_keeps_an_existing_one },
    { "arrays_of_every_type_round_trip_in_nested_groups", arrays_of_every_type_round_trip_in_nested_groups },
    { "shape_and_type_mismatches_name_both_sides", shape_and_type_mismatches_name_both_sides },
    { "attributes_of_every_kind_round_trip_on_groups_and_datasets",
      attributes_of_every_kind_round_trip_on_groups_and_datasets },
    { "checkpoint_writer_closed_without_commit_leaves_nothing",
      checkpoint_writer_closed_without_commit_leaves_nothing },
    { "several_fields_share_one_file_through_a_handle", several_fields_share_one_file_through_a_handle },
    { "mask_of_the_wrong_shape_is_refused", mask_of_the_wrong_shape_is_refused },
    { "numeric_datasets_of_other_types_read_as_fields_within_the_limits",
      numeric_datasets_of_other_types_read_as_fields_within_the_limits },
    { "records_append_one_step_at_a_time_and_read_back_in_ranges",
      records_append_one_step_at_a_time_and_read_back_in_ranges },
    { "attribute_with_less_data_than_its_type_needs_is_refused",
      attribute_with_less_data_than_its_type_needs_is_refused },
    { "field_claiming_more_values_than_the_file_stores_is_refused",
      field_claiming_more_values_than_the_file_stores_is_refused },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return nexp_test_run("h5", tests);
}
