/* Resource limits: the process-wide memory limit, its accounting of live fields, and readers that
 * refuse files whose headers announce absurd sizes before allocating. */
#include <hdf5.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nexp.h"
#include "testlib.h"

#define MIB ((size_t)1 << 20)

static void memory_limit_refuses_a_field_and_says_what_it_needs(void)
{
    nexp_set_memory_limit(MIB);
    CU_ASSERT_EQUAL(nexp_get_memory_limit(), MIB);
    nexp_field *f = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_field_create(&f, 1000, 1000, 1, &err), NEXP_ERR_TOO_LARGE);
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "a 1000 x 1000 x 1 field needs 3.8 MiB, above the memory limit of 1 MiB"));
    nexp_set_memory_limit(0);
    CU_ASSERT_EQUAL(nexp_field_create(&f, 1000, 1000, 1, NULL), NEXP_OK);
    nexp_field_free(f);
}

static void live_fields_and_masks_count_against_the_limit_until_freed(void)
{
    size_t base = nexp_memory_in_use();
    nexp_set_memory_limit(base + MIB);
    nexp_field *a = NULL, *b = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_field_create(&a, 400, 400, 1, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_memory_in_use(), base + 400 * 400 * sizeof(float));
    CU_ASSERT_EQUAL(nexp_field_create(&b, 400, 400, 1, &err), NEXP_ERR_TOO_LARGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "625 KiB already in use"));
    CU_ASSERT_EQUAL(nexp_field_ensure_mask(a, NULL), NEXP_OK);
    CU_ASSERT(nexp_memory_in_use() >= base + 400 * 400 * (sizeof(float) + 1));
    nexp_field_free(a);
    CU_ASSERT_EQUAL(nexp_memory_in_use(), base);
    CU_ASSERT_EQUAL(nexp_field_create(&b, 400, 400, 1, NULL), NEXP_OK);
    nexp_field_free(b);
    CU_ASSERT_EQUAL(nexp_memory_in_use(), base);
    nexp_set_memory_limit(0);
}

static void reservations_balance_and_no_limit_still_refuses_overflow(void)
{
    size_t base = nexp_memory_in_use();
    CU_ASSERT_EQUAL(nexp_memory_reserve((size_t)1 << 40, "a test", NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_memory_in_use(), base + ((size_t)1 << 40));
    CU_ASSERT_EQUAL(nexp_memory_reserve(SIZE_MAX, "an overflow", NULL), NEXP_ERR_TOO_LARGE);
    nexp_memory_release((size_t)1 << 40);
    CU_ASSERT_EQUAL(nexp_memory_in_use(), base);
    nexp_set_memory_limit(MIB);
    CU_ASSERT_EQUAL(nexp_memory_check(MIB - base, "exactly the limit", NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_memory_check(MIB - base + 1, "one byte more", NULL), NEXP_ERR_TOO_LARGE);
    nexp_set_memory_limit(0);
    CU_ASSERT_EQUAL(nexp_memory_check(SIZE_MAX / 2, "anything", NULL), NEXP_OK);
}

static void sizes_print_in_binary_units(void)
{
    char buf[32];
    CU_ASSERT_STRING_EQUAL(nexp_format_size(0, buf, sizeof buf), "0 B");
    CU_ASSERT_STRING_EQUAL(nexp_format_size(512, buf, sizeof buf), "512 B");
    CU_ASSERT_STRING_EQUAL(nexp_format_size(1536, buf, sizeof buf), "1.5 KiB");
    CU_ASSERT_STRING_EQUAL(nexp_format_size((size_t)4 << 30, buf, sizeof buf), "4 GiB");
    CU_ASSERT_STRING_EQUAL(nexp_format_size((size_t)(12.3 * 1073741824.0), buf, sizeof buf), "12.3 GiB");
}

/* A reader given a small file that announces 30000 x 30000 pixels must fail with a format or size
 * error, never allocate (the 1 MiB limit would turn an allocation into TOO_LARGE naming a field). */
static void expect_refused(const char *path)
{
    nexp_set_memory_limit(MIB);
    size_t base = nexp_memory_in_use();
    nexp_field *f = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    nexp_status st = nexp_field_read(path, &f, &err);
    CU_ASSERT_NOT_EQUAL(st, NEXP_OK);
    CU_ASSERT_NOT_EQUAL(st, NEXP_ERR_NOMEM);
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT_EQUAL(nexp_memory_in_use(), base);
    if (st == NEXP_OK || st == NEXP_ERR_NOMEM) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
    }
    nexp_field_free(f);
    nexp_set_memory_limit(0);
}

static void readers_refuse_headers_announcing_huge_images(void)
{
    const char *flo = nexp_test_tmp("huge.flo");
    unsigned char hdr[12 + 64];
    memset(hdr, 0, sizeof hdr);
    const float magic = 202021.25f;
    const int32_t wh[2] = { 30000, 30000 };
    memcpy(hdr, &magic, 4);
    memcpy(hdr + 4, wh, 8);
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(flo, hdr, sizeof hdr), 0);
    expect_refused(flo);
    const int32_t absurd[2] = { 2000000000, 2000000000 };
    memcpy(hdr + 4, absurd, 8);
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(flo, hdr, sizeof hdr), 0);
    expect_refused(flo);

    const char *pgm = nexp_test_tmp("huge.pgm");
    const char pgm_text[] = "P5\n30000 30000\n255\nabcdef";
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(pgm, pgm_text, sizeof pgm_text - 1), 0);
    expect_refused(pgm);
    const char *pfm = nexp_test_tmp("huge.pfm");
    const char pfm_text[] = "PF\n30000 30000\n-1.0\nabcdefghijkl";
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(pfm, pfm_text, sizeof pfm_text - 1), 0);
    expect_refused(pfm);

    /* A PNG whose IHDR says 30000 x 30000 RGB and that ends right after it. */
    const char *png = nexp_test_tmp("huge.png");
    FILE *fp = fopen(png, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    png_structp w = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(w);
    if (setjmp(png_jmpbuf(w)) == 0) {
        png_init_io(w, fp);
        png_set_IHDR(w, info, 30000, 30000, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                     PNG_FILTER_TYPE_DEFAULT);
        png_write_info(w, info);
    }
    png_destroy_write_struct(&w, &info);
    fclose(fp);
    expect_refused(png);
}

/* An HDF5 file with a chunked dataset of the given shape and no chunk written: a few KiB on disk. */
static void write_sparse_h5(const char *path, const char *name, int rank, const hsize_t *dims, const hsize_t *chunk,
                            hid_t type)
{
    hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t space = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, rank, chunk);
    hid_t d = H5Dcreate2(fid, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    CU_ASSERT(d >= 0);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(fid);
}

static void hdf5_fields_and_series_announcing_huge_sizes_are_refused_under_the_limit(void)
{
    const char *path = nexp_test_tmp("huge_field.h5");
    const hsize_t dims[3] = { 2, 30000, 30000 }, chunk[3] = { 1, 64, 64 };
    write_sparse_h5(path, "field", 3, dims, chunk, H5T_IEEE_F32LE);
    nexp_set_memory_limit(64 * MIB);
    nexp_field *f = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_field_read(path, &f, &err), NEXP_ERR_TOO_LARGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "a 30000 x 30000 x 2 field needs 6.7 GiB"));
    CU_ASSERT_PTR_NULL(f);

    const char *series = nexp_test_tmp("huge_series.h5");
    nexp_h5_file *h = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_h5_create(&h, series, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_attr_string(h, "/", "time_name", "t", &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_write_attr_string(h, "/", "state_names", "x,y", &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_commit(h, &err), NEXP_OK);
    nexp_h5_close(h);
    hid_t fid = H5Fopen(series, H5F_ACC_RDWR, H5P_DEFAULT);
    const hsize_t tdims[1] = { (hsize_t)1 << 36 }, tchunk[1] = { 1024 };
    const hsize_t ydims[2] = { (hsize_t)1 << 36, 2 }, ychunk[2] = { 1024, 2 };
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, tchunk);
    hid_t sp = H5Screate_simple(1, tdims, NULL);
    H5Dclose(H5Dcreate2(fid, "time", H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    H5Sclose(sp);
    H5Pset_chunk(dcpl, 2, ychunk);
    sp = H5Screate_simple(2, ydims, NULL);
    H5Dclose(H5Dcreate2(fid, "states", H5T_IEEE_F64LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT));
    H5Sclose(sp);
    H5Pclose(dcpl);
    H5Fclose(fid);
    nexp_series *s = NULL;
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_series_read(series, "t", "x,y", NULL, &s, &err), NEXP_ERR_TOO_LARGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "68719476736 rows of 2 states needs"));
    CU_ASSERT_PTR_NULL(s);
    nexp_series_free(s);
    nexp_set_memory_limit(0);
}

static void networks_from_absurd_specs_are_refused_under_the_limit(void)
{
    nexp_mlp_spec spec;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_mlp_spec_parse("2 65536:tanh 65536:tanh 2:identity", &spec, &err), NEXP_OK);
    nexp_set_memory_limit(64 * MIB);
    nexp_mlp *m = NULL;
    CU_ASSERT_EQUAL(nexp_mlp_create(&spec, 1, &m, &err), NEXP_ERR_TOO_LARGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "an MLP of 4295360514 parameters needs 64.0 GiB"));
    CU_ASSERT_PTR_NULL(m);
    nexp_optim *o = NULL;
    nexp_optim_config cfg = NEXP_OPTIM_CONFIG_INIT;
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_optim_create(&cfg, (size_t)1 << 30, &o, &err), NEXP_ERR_TOO_LARGE);
    CU_ASSERT_PTR_NULL(o);
    nexp_set_memory_limit(0);
}

int main(void)
{
    static CU_TestInfo tests[] = {
        { "memory limit refuses a field and says what it needs", memory_limit_refuses_a_field_and_says_what_it_needs },
        { "live fields and masks count against the limit until freed",
          live_fields_and_masks_count_against_the_limit_until_freed },
        { "reservations balance and no limit still refuses overflow",
          reservations_balance_and_no_limit_still_refuses_overflow },
        { "sizes print in binary units", sizes_print_in_binary_units },
        { "readers refuse headers announcing huge images", readers_refuse_headers_announcing_huge_images },
        { "hdf5 fields and series announcing huge sizes are refused under the limit",
          hdf5_fields_and_series_announcing_huge_sizes_are_refused_under_the_limit },
        { "networks from absurd specs are refused under the limit",
          networks_from_absurd_specs_are_refused_under_the_limit },
        CU_TEST_INFO_NULL,
    };
    return nexp_test_run("limits", tests);
}
