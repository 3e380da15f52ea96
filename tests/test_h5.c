/* HDF5 module: fields, time series, named groups of arrays, atomic writes, damaged files. */
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
    if (a->width != b->width || a->height != b->height || a->channels != b->channels) {
        return 0;
    }
    for (int c = 0; c < a->channels; c++) {
        for (int y = 0; y < a->height; y++) {
            if (memcmp(nexp_field_row(a, c, y), nexp_field_row(b, c, y), (size_t)a->width * sizeof(float)) != 0) {
                return 0;
            }
        }
    }
    if ((a->mask == NULL) != (b->mask == NULL)) {
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

static CU_TestInfo tests[] = {
    { "field_round_trips_bit_identically_with_its_attributes", field_round_trips_bit_identically_with_its_attributes },
    { "flow_with_unknown_vectors_keeps_its_mask", flow_with_unknown_vectors_keeps_its_mask },
    { "real_sintel_flow_round_trips_through_hdf5", real_sintel_flow_round_trips_through_hdf5 },
    { "wrong_dataset_name_lists_what_the_file_has", wrong_dataset_name_lists_what_the_file_has },
    { "missing_file_is_an_io_error_naming_it", missing_file_is_an_io_error_naming_it },
    { "foreign_files_are_format_errors", foreign_files_are_format_errors },
    { "truncated_files_are_format_errors_at_every_offset_tried", truncated_files_are_format_errors_at_every_offset_tried },
    { "failed_write_leaves_the_existing_file_untouched", failed_write_leaves_the_existing_file_untouched },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return nexp_test_run("h5", tests);
}
