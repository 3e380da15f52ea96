/* io module: .flo, PNG, PGM/PPM, PFM, KITTI, dispatch, atomic output, flow colour coding. */
#include <dirent.h>
#include <math.h>
#include <png.h>
#include <zlib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nexp.h"
#include "nexp_io.h"
#include "testlib.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static nexp_field *make_field(int w, int h, int c, float (*value)(int c, int x, int y))
{
    nexp_field *f = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_field_create(&f, w, h, c, NULL), NEXP_OK);
    for (int ch = 0; ch < c; ch++) {
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                nexp_field_row(f, ch, y)[x] = value(ch, x, y);
            }
        }
    }
    return f;
}

static float flow_value(int c, int x, int y)
{
    return (c == 0 ? 2.385f : -1.173f) * sinf(0.37f * (float)x + 0.11f * (float)y) + 0.0173f * (float)(x - y);
}

static float pixel8(int c, int x, int y)
{
    return (float)((x * 37 + y * 91 + c * 53) % 256);
}

static float pixel16(int c, int x, int y)
{
    return (float)((x * 7919 + y * 4093 + c * 12345) % 65536);
}

static float real_value(int c, int x, int y)
{
    return 1e-3f * (float)(x * 13 - y * 7 + c) + 0.1f * cosf((float)(x * y + c));
}

static int files_identical(const char *p, const char *q)
{
    size_t n = 0, m = 0;
    unsigned char *a = nexp_test_read_bytes(p, &n);
    unsigned char *b = nexp_test_read_bytes(q, &m);
    int same = a != NULL && b != NULL && n == m && memcmp(a, b, n) == 0;
    free(a);
    free(b);
    return same;
}

/* Reading path must fail with status want and a message that names the file. */
static void expect_read_error(nexp_status (*reader)(const char *, nexp_field **, nexp_error *), const char *path,
                              nexp_status want, const char *fragment)
{
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *f = (nexp_field *)&err;
    nexp_status st = reader(path, &f, &err);
    CU_ASSERT_EQUAL(st, want);
    CU_ASSERT_EQUAL(err.code, want);
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
    if (fragment != NULL) {
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, fragment));
    }
    if (st != want || (fragment != NULL && strstr(err.msg, fragment) == NULL)) {
        fprintf(stderr, "\n  unexpected: status %d, message '%s'\n", (int)st, err.msg);
    }
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* A .flo header followed by n (u, v) pairs. */
static size_t flo_bytes(unsigned char *buf, float magic, int32_t w, int32_t h, const float *uv, size_t n)
{
    put_le32(buf, float_bits(magic));
    put_le32(buf + 4, (uint32_t)w);
    put_le32(buf + 8, (uint32_t)h);
    for (size_t i = 0; i < 2 * n; i++) {
        put_le32(buf + 12 + 4 * i, float_bits(uv[i]));
    }
    return 12 + 8 * n;
}

/* Files in the scratch folder whose names contain ".tmp." (left-over temporary files). */
static int count_temp_files(void)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", nexp_test_tmp(""));
    DIR *d = opendir(dir);
    int n = 0;
    if (d == NULL) {
        return -1;
    }
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        n += strstr(e->d_name, ".tmp.") != NULL;
    }
    closedir(d);
    return n;
}

/* ---- .flo ---------------------------------------------------------------------------------- */

static void flo_round_trip_is_bit_exact_and_keeps_unknown_vectors(void)
{
    nexp_field *f = make_field(37, 23, 2, flow_value);
    f->kind = NEXP_KIND_FLOW;
    CU_ASSERT_EQUAL_FATAL(nexp_field_ensure_mask(f, NULL), NEXP_OK);
    f->mask[5 * f->stride + 7] = 0;
    f->mask[22 * f->stride + 36] = 0;
    nexp_field_row(f, 0, 5)[7] = 0.0f;
    nexp_field_row(f, 1, 5)[7] = 0.0f;
    nexp_field_row(f, 0, 22)[36] = 0.0f;
    nexp_field_row(f, 1, 22)[36] = 0.0f;
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s", nexp_test_tmp("round.flo"));
    snprintf(b, sizeof b, "%s", nexp_test_tmp("round2.flo"));
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_flo_write(a, f, &err), NEXP_OK);
    size_t len = 0;
    unsigned char *bytes = nexp_test_read_bytes(a, &len);
    CU_ASSERT_EQUAL(len, 12 + 37 * 23 * 8);
    CU_ASSERT(bytes != NULL && memcmp(bytes, "PIEH", 4) == 0);
    free(bytes);
    nexp_field *g = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_flo_read(a, &g, &err), NEXP_OK);
    CU_ASSERT(nexp_test_fields_identical(f, g));
    CU_ASSERT_EQUAL(g->kind, NEXP_KIND_FLOW);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g->mask);
    CU_ASSERT_EQUAL(nexp_field_count_valid(g), 37 * 23 - 2);
    CU_ASSERT_FALSE(nexp_field_valid(g, 7, 5));
    CU_ASSERT_FALSE(nexp_field_valid(g, 36, 22));
    CU_ASSERT_EQUAL_FATAL(nexp_flo_write(b, g, &err), NEXP_OK);
    CU_ASSERT(files_identical(a, b));
    nexp_field_free(g);
    nexp_field_free(f);
}

static void flo_reader_marks_huge_and_nan_values_unknown_and_writes_them_as_1e10(void)
{
    const float uv[8] = { 1e10f, 0.5f, 2.5f, NAN, -1.5e9f, 3.25f, 1e9f, -1e9f };
    unsigned char buf[12 + 4 * 8];
    size_t n = flo_bytes(buf, 202021.25f, 2, 2, uv, 4);
    char path[4096];
    snprintf(path, sizeof path, "%s", nexp_test_tmp("unknown.flo"));
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, buf, n), 0);
    nexp_field *f = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_flo_read(path, &f, NULL), NEXP_OK);
    CU_ASSERT_FALSE(nexp_field_valid(f, 0, 0));
    CU_ASSERT_FALSE(nexp_field_valid(f, 1, 0));
    CU_ASSERT_FALSE(nexp_field_valid(f, 0, 1));
    CU_ASSERT_TRUE(nexp_field_valid(f, 1, 1)); /* exactly 1e9 is still a value */
    CU_ASSERT_EQUAL(nexp_field_get(f, 0, 1, 1), 1e9f);
    nexp_flow_stats fs;
    nexp_flow_stats_compute(f, &fs, NULL);
    CU_ASSERT_EQUAL(fs.unknown, 3);
    CU_ASSERT_EQUAL_FATAL(nexp_flo_write(path, f, NULL), NEXP_OK);
    size_t len = 0;
    unsigned char *back = nexp_test_read_bytes(path, &len);
    CU_ASSERT_EQUAL_FATAL(len, n);
    for (int i = 0; i < 6; i++) {
        uint32_t bits = (uint32_t)back[12 + 4 * i] | (uint32_t)back[13 + 4 * i] << 8 |
                        (uint32_t)back[14 + 4 * i] << 16 | (uint32_t)back[15 + 4 * i] << 24;
        CU_ASSERT_EQUAL(bits, float_bits(1e10f));
    }
    free(back);
    nexp_field_free(f);
    /* Non-finite values of a field without a mask are written as unknown too. */
    nexp_field *g = make_field(3, 1, 2, flow_value);
    nexp_field_row(g, 1, 0)[2] = INFINITY;
    CU_ASSERT_EQUAL_FATAL(nexp_flo_write(path, g, NULL), NEXP_OK);
    nexp_field *h = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_flo_read(path, &h, NULL), NEXP_OK);
    CU_ASSERT_FALSE(nexp_field_valid(h, 2, 0));
    CU_ASSERT_TRUE(nexp_field_valid(h, 1, 0));
    nexp_field_free(h);
    nexp_field_free(g);
}

static void flo_reader_rejects_files_truncated_at_several_offsets(void)
{
    float uv[2 * 15];
    for (int i = 0; i < 30; i++) {
        uv[i] = 0.25f * (float)i - 3.0f;
    }
    unsigned char buf[12 + 8 * 15];
    size_t n = flo_bytes(buf, 202021.25f, 5, 3, uv, 15);
    const size_t cuts[] = { 0, 3, 4, 8, 11, 12, 13, 20, 12 + 8 * 7 + 3, n - 1 };
    char path[4096];
    snprintf(path, sizeof path, "%s", nexp_test_tmp("truncated.flo"));
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, buf, cuts[i]), 0);
        expect_read_error(nexp_flo_read, path, NEXP_ERR_FORMAT, "truncated");
    }
    /* The message states expected and found sizes. */
    nexp_error err = NEXP_ERROR_INIT;
    nexp_field *f = NULL;
    nexp_test_write_bytes(path, buf, n - 1);
    nexp_flo_read(path, &f, &err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "132 bytes"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "found 131"));
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, buf, n), 0);
    CU_ASSERT_EQUAL(nexp_flo_read(path, &f, NULL), NEXP_OK);
    nexp_field_free(f);
}

static void flo_reader_rejects_trailing_bytes_and_wrong_magic(void)
{
    const float uv[4] = { 1.0f, 2.0f, 3.0f, 4.0f };
    unsigned char buf[64];
    size_t n = flo_bytes(buf, 202021.25f, 2, 1, uv, 2);
    buf[n] = 0x42;
    char path[4096];
    snprintf(path, sizeof path, "%s", nexp_test_tmp("trailing.flo"));
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, buf, n + 1), 0);
    expect_read_error(nexp_flo_read, path, NEXP_ERR_FORMAT, "trailing");
    n = flo_bytes(buf, 202021.0f, 2, 1, uv, 2);
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, buf, n), 0);
    expect_read_error(nexp_flo_read, path, NEXP_ERR_FORMAT, "magic");
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, "P6\n2 1\n255\nabcdef", 17), 0);
    expect_read_error(nexp_flo_read, path, NEXP_ERR_FORMAT, "not a .flo file");
    expect_read_error(nexp_flo_read, nexp_test_tmp("does-not-exist.flo"), NEXP_ERR_IO, "cannot open");
}

static void flo_reader_rejects_zero_negative_and_overflowing_dimensions(void)
{
    const struct {
        int32_t w, h;
        nexp_status want;
    } cases[] = {
        { 0, 5, NEXP_ERR_FORMAT },         { 5, 0, NEXP_ERR_FORMAT },
        { -3, 4, NEXP_ERR_FORMAT },        { 4, -1, NEXP_ERR_FORMAT },
        { INT32_MIN, INT32_MIN, NEXP_ERR_FORMAT },
        { INT32_MAX, INT32_MAX, NEXP_ERR_TOO_LARGE }, /* w * h * 8 overflows 64 bits' worth of sense */
        { 65536, 65536, NEXP_ERR_TOO_LARGE },         /* 2^32 pixels: above the limit */
        { 1 << 30, 2, NEXP_ERR_TOO_LARGE },
    };
    unsigned char buf[12 + 8];
    const float uv[2] = { 0.5f, 0.5f };
    char path[4096];
    snprintf(path, sizeof path, "%s", nexp_test_tmp("dims.flo"));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = flo_bytes(buf, 202021.25f, cases[i].w, cases[i].h, uv, 1);
        CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, buf, n), 0);
        expect_read_error(nexp_flo_read, path, cases[i].want, NULL);
    }
    /* Plausible dimensions that do not match the file length: truncated, not allocated. */
    size_t n = flo_bytes(buf, 202021.25f, 30000, 30000, uv, 1);
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, buf, n), 0);
    expect_read_error(nexp_flo_read, path, NEXP_ERR_FORMAT, "7200000012 bytes");
}

static void flo_writer_refuses_fields_that_are_not_flow(void)
{
    nexp_field *f = make_field(4, 4, 3, pixel8);
    nexp_error err = NEXP_ERROR_INIT;
    const char *path = nexp_test_tmp("three.flo");
    CU_ASSERT_EQUAL(nexp_flo_write(path, f, &err), NEXP_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "3 channels"));
    CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);
    nexp_field_free(f);
}

/* ---- PNG ----------------------------------------------------------------------------------- */

static void png_round_trips_every_layout_bit_exact(void)
{
    for (int c = 1; c <= 4; c++) {
        for (int depth = 8; depth <= 16; depth += 8) {
            nexp_field *f = make_field(29, 17, c, depth == 8 ? pixel8 : pixel16);
            char path[4096];
            snprintf(path, sizeof path, "%s", nexp_test_tmp("layout.png"));
            nexp_error err = NEXP_ERROR_INIT;
            CU_ASSERT_EQUAL_FATAL(nexp_png_write(path, f, depth, &err), NEXP_OK);
            nexp_field *g = NULL;
            CU_ASSERT_EQUAL_FATAL(nexp_png_read(path, &g, &err), NEXP_OK);
            CU_ASSERT(nexp_test_fields_identical(f, g));
            CU_ASSERT_EQUAL(g->bit_depth, depth);
            CU_ASSERT_EQUAL(g->kind, NEXP_KIND_IMAGE);
            nexp_field_free(g);
            nexp_field_free(f);
        }
    }
}

static void png_writer_rounds_and_clamps_to_the_bit_depth(void)
{
    nexp_field *f = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_field_create(&f, 5, 1, 1, NULL), NEXP_OK);
    const float in[5] = { -7.5f, 12.4f, 12.6f, 300.0f, NAN };
    const float want[5] = { 0.0f, 12.0f, 13.0f, 255.0f, 0.0f };
    memcpy(nexp_field_row(f, 0, 0), in, sizeof in);
    const char *path = nexp_test_tmp("clamp.png");
    CU_ASSERT_EQUAL_FATAL(nexp_png_write(path, f, 8, NULL), NEXP_OK);
    nexp_field *g = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_png_read(path, &g, NULL), NEXP_OK);
    for (int x = 0; x < 5; x++) {
        CU_ASSERT_EQUAL(nexp_field_get(g, 0, x, 0), want[x]);
    }
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_png_write(path, f, 12, &err), NEXP_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "bit depth 12"));
    nexp_field *five = make_field(3, 3, 5, pixel8);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_png_write(path, five, 8, &err), NEXP_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
    nexp_field_free(five);
    nexp_field_free(g);
    nexp_field_free(f);
}

/* A palette PNG and a 1-bit grey PNG written with libpng directly. */
static int write_png_interlace(const char *path, int w, int h, int depth, int color, const png_color *palette,
                               int npal, unsigned char *const *rows, int interlace)
{
    FILE *fp = fopen(path, "wb");
    if (fp == NULL) {
        return -1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(fp);
        return -1;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette != NULL) {
        png_set_PLTE(png, info, palette, npal);
    }
    png_write_info(png, info);
    if (interlace != PNG_INTERLACE_NONE) {
        png_set_interlace_handling(png);
    }
    png_write_image(png, (png_bytepp)rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return fclose(fp);
}

static int write_png_raw(const char *path, int w, int h, int depth, int color, const png_color *palette,
                         int npal, unsigned char *const *rows)
{
    return write_png_interlace(path, w, h, depth, color, palette, npal, rows, PNG_INTERLACE_NONE);
}

static void png_reader_deinterlaces_adam7_16_bit_rgba(void)
{
    enum { W = 13, H = 11 };
    unsigned char pixels[H][W * 8];
    unsigned char *rows[H];
    for (int y = 0; y < H; y++) {
        rows[y] = pixels[y];
        for (int i = 0; i < W * 4; i++) {
            unsigned v = (unsigned)(y * 4099 + i * 977) % 65536;
            pixels[y][2 * i] = (unsigned char)(v >> 8);
            pixels[y][2 * i + 1] = (unsigned char)(v & 0xff);
        }
    }
    const char *path = nexp_test_tmp("adam7.png");
    CU_ASSERT_EQUAL_FATAL(write_png_interlace(path, W, H, 16, PNG_COLOR_TYPE_RGB_ALPHA, NULL, 0, rows,
                                              PNG_INTERLACE_ADAM7),
                          0);
    nexp_field *f = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_png_read(path, &f, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(f->channels, 4);
    CU_ASSERT_EQUAL(f->bit_depth, 16);
    int bad = 0;
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            for (int c = 0; c < 4; c++) {
                bad += nexp_field_get(f, c, x, y) != (float)((unsigned)(y * 4099 + (x * 4 + c) * 977) % 65536);
            }
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    nexp_field_free(f);
}

static void png_reader_expands_palette_and_one_bit_grey(void)
{
    const png_color pal[3] = { { 10, 20, 30 }, { 200, 100, 50 }, { 1, 2, 3 } };
    unsigned char r0[4] = { 0, 1, 2, 1 }, r1[4] = { 2, 2, 0, 0 };
    unsigned char *rows[2] = { r0, r1 };
    const char *path = nexp_test_tmp("palette.png");
    CU_ASSERT_EQUAL_FATAL(write_png_raw(path, 4, 2, 8, PNG_COLOR_TYPE_PALETTE, pal, 3, rows), 0);
    nexp_field *f = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_png_read(path, &f, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(f->channels, 3);
    CU_ASSERT_EQUAL(f->bit_depth, 8);
    CU_ASSERT_EQUAL(nexp_field_get(f, 0, 1, 0), 200.0f);
    CU_ASSERT_EQUAL(nexp_field_get(f, 1, 1, 0), 100.0f);
    CU_ASSERT_EQUAL(nexp_field_get(f, 2, 0, 1), 3.0f);
    CU_ASSERT_EQUAL(nexp_field_get(f, 2, 3, 1), 30.0f);
    nexp_field_free(f);
    /* 1-bit grey: 8 pixels in one byte, expanded to 0 / 255. */
    unsigned char g0[1] = { 0xA5 };
    unsigned char *grows[1] = { g0 };
    path = nexp_test_tmp("onebit.png");
    CU_ASSERT_EQUAL_FATAL(write_png_raw(path, 8, 1, 1, PNG_COLOR_TYPE_GRAY, NULL, 0, grows), 0);
    CU_ASSERT_EQUAL_FATAL(nexp_png_read(path, &f, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(f->channels, 1);
    const float want[8] = { 255, 0, 255, 0, 0, 255, 0, 255 };
    for (int x = 0; x < 8; x++) {
        CU_ASSERT_EQUAL(nexp_field_get(f, 0, x, 0), want[x]);
    }
    nexp_field_free(f);
}

static void png_reader_rejects_non_png_bytes_and_truncated_files(void)
{
    const char *path = nexp_test_tmp("fake.png");
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, "PIEH this is not a PNG at all", 29), 0);
    expect_read_error(nexp_png_read, path, NEXP_ERR_FORMAT, "not a PNG");
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, "\x89PNG", 4), 0);
    expect_read_error(nexp_png_read, path, NEXP_ERR_FORMAT, "not a PNG");
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, "", 0), 0);
    expect_read_error(nexp_png_read, path, NEXP_ERR_FORMAT, "not a PNG");

    nexp_field *f = make_field(40, 30, 3, pixel8);
    char good[4096];
    snprintf(good, sizeof good, "%s", nexp_test_tmp("good.png"));
    CU_ASSERT_EQUAL_FATAL(nexp_png_write(good, f, 8, NULL), NEXP_OK);
    nexp_field_free(f);
    size_t len = 0;
    unsigned char *bytes = nexp_test_read_bytes(good, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
    const size_t cuts[] = { 8, 12, 20, 33, 40, len / 2, len - 13, len - 1 };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, bytes, cuts[i]), 0);
        expect_read_error(nexp_png_read, path, NEXP_ERR_FORMAT, "PNG");
    }
    /* A corrupted IHDR (CRC mismatch) is an error, not a crash. */
    bytes[17] ^= 0x40;
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, bytes, len), 0);
    expect_read_error(nexp_png_read, path, NEXP_ERR_FORMAT, "PNG");
    free(bytes);
}

/* A valid 1 x 1 PNG whose IHDR claims w x h (with a correct CRC, so only the size is wrong). */
static void png_with_claimed_size(const char *path, uint32_t w, uint32_t h)
{
    unsigned char px[3] = { 1, 2, 3 };
    unsigned char *rows[1] = { px };
    CU_ASSERT_EQUAL_FATAL(write_png_raw(path, 1, 1, 8, PNG_COLOR_TYPE_RGB, NULL, 0, rows), 0);
    size_t len = 0;
    unsigned char *b = nexp_test_read_bytes(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL_FATAL(memcmp(b + 12, "IHDR", 4), 0);
    for (int i = 0; i < 4; i++) {
        b[16 + i] = (unsigned char)(w >> (24 - 8 * i));
        b[20 + i] = (unsigned char)(h >> (24 - 8 * i));
    }
    uint32_t crc = (uint32_t)crc32(0L, b + 12, 17);
    for (int i = 0; i < 4; i++) {
        b[29 + i] = (unsigned char)(crc >> (24 - 8 * i));
    }
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, b, len), 0);
    free(b);
}

static void png_reader_refuses_huge_claimed_sizes_before_allocating(void)
{
    const char *path = nexp_test_tmp("huge.png");
    png_with_claimed_size(path, 40000, 20000); /* 800 M pixels: within the limit, not in 70 bytes */
    expect_read_error(nexp_png_read, path, NEXP_ERR_FORMAT, "cannot fit");
    png_with_claimed_size(path, 100000, 100000);
    expect_read_error(nexp_png_read, path, NEXP_ERR_TOO_LARGE, "exceed");
    /* one row of 2^30 RGB pixels: refused before libpng allocates its 3 GiB row buffers (found by
     * fuzzing: a 56-byte file made the reader allocate and clear them) */
    png_with_claimed_size(path, 1U << 30, 1);
    expect_read_error(nexp_png_read, path, NEXP_ERR_FORMAT, "cannot fit");
    expect_read_error(nexp_kitti_read, path, NEXP_ERR_FORMAT, "cannot fit");
    png_with_claimed_size(path, 0x7fffffffU, 0x7fffffffU);
    expect_read_error(nexp_png_read, path, NEXP_ERR_TOO_LARGE, NULL);
    png_with_claimed_size(path, 0, 5);
    expect_read_error(nexp_png_read, path, NEXP_ERR_FORMAT, NULL);
    png_with_claimed_size(path, 1, 1);
    nexp_field *f = NULL;
    CU_ASSERT_EQUAL(nexp_png_read(path, &f, NULL), NEXP_OK);
    nexp_field_free(f);
}

/* A valid 1 x 1 PNG with a chunk inserted after the IHDR: its length field says claimed, its
 * data is the len bytes given (a correct CRC over those, so only the length can be wrong). */
static void png_with_chunk(const char *path, const char *type, const char *data, size_t len, uint32_t claimed)
{
    png_with_claimed_size(path, 1, 1);
    size_t n = 0;
    unsigned char *b = nexp_test_read_bytes(path, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    unsigned char *out = malloc(n + 12 + len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    memcpy(out, b, 33); /* signature and IHDR */
    for (int i = 0; i < 4; i++) {
        out[33 + i] = (unsigned char)(claimed >> (24 - 8 * i));
    }
    memcpy(out + 37, type, 4);
    memcpy(out + 41, data, len);
    uint32_t crc = (uint32_t)crc32(0L, out + 37, (uInt)(4 + len));
    for (int i = 0; i < 4; i++) {
        out[41 + len + i] = (unsigned char)(crc >> (24 - 8 * i));
    }
    memcpy(out + 45 + len, b + 33, n - 33);
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, out, n + 12 + len), 0);
    free(out);
    free(b);
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* Found by fuzzing: a 52-byte PNG whose zTXt header claimed 1.6 GB made libpng allocate and clear
 * a buffer that large (a length check libpng only warns about). Text and other variable-length
 * ancillary chunks are now skipped unread. */
static void png_reader_skips_text_chunks_without_allocating_their_claimed_length(void)
{
    const char *path = nexp_test_tmp("text.png");
    static const char text[] = "Comment\0made by test_io";
    const char *types[3] = { "tEXt", "zTXt", "iCCP" };
    for (int i = 0; i < 3; i++) {
        png_with_chunk(path, types[i], text, sizeof text - 1, (uint32_t)(sizeof text - 1));
        nexp_field *f = NULL;
        CU_ASSERT_EQUAL(nexp_png_read(path, &f, NULL), NEXP_OK);
        CU_ASSERT(f != NULL && f->width == 1 && f->height == 1 && nexp_field_get(f, 2, 0, 0) == 3.0f);
        nexp_field_free(f);

        long before = peak_rss_kb();
        png_with_chunk(path, types[i], text, sizeof text - 1, 0x7ff00000U);
        expect_read_error(nexp_png_read, path, NEXP_ERR_FORMAT, NULL);
        expect_read_error(nexp_kitti_read, path, NEXP_ERR_FORMAT, NULL);
        CU_ASSERT(peak_rss_kb() - before < 256 * 1024);
    }
}

/* ---- PGM / PPM ----------------------------------------------------------------------------- */

static void pnm_round_trips_grey_and_colour_at_8_and_16_bit(void)
{
    for (int c = 1; c <= 3; c += 2) {
        for (int depth = 8; depth <= 16; depth += 8) {
            nexp_field *f = make_field(23, 19, c, depth == 8 ? pixel8 : pixel16);
            const char *path = nexp_test_tmp(c == 1 ? "rt.pgm" : "rt.ppm");
            nexp_error err = NEXP_ERROR_INIT;
            CU_ASSERT_EQUAL_FATAL(nexp_pnm_write(path, f, depth, &err), NEXP_OK);
            nexp_field *g = NULL;
            CU_ASSERT_EQUAL_FATAL(nexp_pnm_read(path, &g, &err), NEXP_OK);
            CU_ASSERT(nexp_test_fields_identical(f, g));
            CU_ASSERT_EQUAL(g->bit_depth, depth);
            nexp_field_free(g);
            nexp_field_free(f);
        }
    }
}

static void pnm_reader_skips_comments_and_reads_big_endian_16_bit(void)
{
    const unsigned char data[] = "P5 # grey\n# a comment line\n2 # width done\n1\n1000\n\x03\xe8\x01\x02";
    const char *path = nexp_test_tmp("comments.pgm");
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, data, sizeof data - 1), 0);
    nexp_field *f = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_pnm_read(path, &f, &err), NEXP_OK);
    CU_ASSERT_EQUAL(f->width, 2);
    CU_ASSERT_EQUAL(f->height, 1);
    CU_ASSERT_EQUAL(f->bit_depth, 16);
    CU_ASSERT_EQUAL(nexp_field_get(f, 0, 0, 0), 1000.0f);
    CU_ASSERT_EQUAL(nexp_field_get(f, 0, 1, 0), 258.0f);
    nexp_field_free(f);
}

static void pnm_reader_rejects_bad_headers_maxval_and_values(void)
{
    const struct {
        const char *bytes;
        size_t len;
        nexp_status want;
        const char *fragment;
    } cases[] = {
        { "P3\n1 1\n255\n1 2 3\n", 17, NEXP_ERR_FORMAT, "P5 or P6" },
        { "P5\n2 2\n0\nabcd", 13, NEXP_ERR_FORMAT, "maxval 0" },
        { "P5\n2 2\n70000\nabcdefgh", 21, NEXP_ERR_FORMAT, "maxval 70000" },
        { "P5\n2 1\n100\n\x32\xc8", 13, NEXP_ERR_FORMAT, "exceeds maxval 100" },
        { "P5\n2 1\n255\n\x01", 12, NEXP_ERR_FORMAT, "truncated" },
        { "P5\n2 1\n255\n\x01\x02\x03", 14, NEXP_ERR_FORMAT, "trailing" },
        { "P6\n-2 1\n255\n", 12, NEXP_ERR_FORMAT, "negative" },
        { "P6\n0 1\n255\n", 11, NEXP_ERR_FORMAT, "dimensions" },
        { "P6\n4294967296 4294967296\n255\n", 29, NEXP_ERR_TOO_LARGE, NULL },
        { "P6\n99999999999999999999 1\n255\n", 30, NEXP_ERR_TOO_LARGE, NULL },
        { "P6\n2", 4, NEXP_ERR_FORMAT, "truncated header" },
        { "P6\n2 x\n255\n", 11, NEXP_ERR_FORMAT, "height" },
        { "P5\n1 1\n255x\x01", 12, NEXP_ERR_FORMAT, "after the maxval" },
        { "", 0, NEXP_ERR_FORMAT, "P5 or P6" },
    };
    const char *path = nexp_test_tmp("bad.ppm");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, cases[i].bytes, cases[i].len), 0);
        expect_read_error(nexp_pnm_read, path, cases[i].want, cases[i].fragment);
    }
    /* Truncation of a valid 16-bit PPM at several offsets. */
    nexp_field *f = make_field(6, 5, 3, pixel16);
    char good[4096];
    snprintf(good, sizeof good, "%s", nexp_test_tmp("good16.ppm"));
    CU_ASSERT_EQUAL_FATAL(nexp_pnm_write(good, f, 16, NULL), NEXP_OK);
    nexp_field_free(f);
    size_t len = 0;
    unsigned char *bytes = nexp_test_read_bytes(good, &len);
    const size_t cuts[] = { 1, 3, 6, 10, 15, len / 2, len - 1 };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, bytes, cuts[i]), 0);
        expect_read_error(nexp_pnm_read, path, NEXP_ERR_FORMAT, NULL);
    }
    free(bytes);
}

/* ---- PFM ----------------------------------------------------------------------------------- */

static void pfm_round_trip_is_bit_exact_and_stores_the_bottom_row_first(void)
{
    for (int c = 1; c <= 3; c += 2) {
        nexp_field *f = make_field(11, 7, c, real_value);
        const char *path = nexp_test_tmp("rt.pfm");
        CU_ASSERT_EQUAL_FATAL(nexp_pfm_write(path, f, NULL), NEXP_OK);
        size_t len = 0;
        unsigned char *bytes = nexp_test_read_bytes(path, &len);
        const char *hdr = c == 1 ? "Pf\n11 7\n-1.0\n" : "PF\n11 7\n-1.0\n";
        size_t hl = strlen(hdr);
        CU_ASSERT_EQUAL_FATAL(len, hl + 11 * 7 * (size_t)c * 4);
        CU_ASSERT_EQUAL(memcmp(bytes, hdr, hl), 0);
        float first;
        unsigned char le[4] = { bytes[hl], bytes[hl + 1], bytes[hl + 2], bytes[hl + 3] };
        uint32_t u = (uint32_t)le[0] | (uint32_t)le[1] << 8 | (uint32_t)le[2] << 16 | (uint32_t)le[3] << 24;
        memcpy(&first, &u, sizeof first);
        CU_ASSERT_EQUAL(first, nexp_field_get(f, 0, 0, 6)); /* bottom row, first pixel */
        free(bytes);
        nexp_field *g = NULL;
        CU_ASSERT_EQUAL_FATAL(nexp_pfm_read(path, &g, NULL), NEXP_OK);
        CU_ASSERT(nexp_test_fields_identical(f, g));
        nexp_field_free(g);
        nexp_field_free(f);
    }
}

static void pfm_reader_honours_big_endian_scale_and_rejects_bad_files(void)
{
    /* 2 x 2 grey, positive scale = big-endian, rows bottom to top: bottom = (1, 2), top = (3, 4). */
    unsigned char buf[64];
    const char *hdr = "Pf\n2 2\n1.0\n";
    size_t hl = strlen(hdr);
    memcpy(buf, hdr, hl);
    const float vals[4] = { 1.0f, 2.0f, 3.0f, 4.0f };
    for (int i = 0; i < 4; i++) {
        uint32_t u = float_bits(vals[i]);
        for (int k = 0; k < 4; k++) {
            buf[hl + 4 * (size_t)i + (size_t)k] = (unsigned char)(u >> (24 - 8 * k));
        }
    }
    const char *path = nexp_test_tmp("be.pfm");
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, buf, hl + 16), 0);
    nexp_field *f = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_pfm_read(path, &f, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_field_get(f, 0, 0, 1), 1.0f);
    CU_ASSERT_EQUAL(nexp_field_get(f, 0, 1, 1), 2.0f);
    CU_ASSERT_EQUAL(nexp_field_get(f, 0, 0, 0), 3.0f);
    CU_ASSERT_EQUAL(nexp_field_get(f, 0, 1, 0), 4.0f);
    nexp_field_free(f);
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, buf, hl + 15), 0);
    expect_read_error(nexp_pfm_read, path, NEXP_ERR_FORMAT, "truncated");
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, buf, 5), 0);
    expect_read_error(nexp_pfm_read, path, NEXP_ERR_FORMAT, NULL);
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, "Pf\n2 2\n0\n0123456789abcdef", 25), 0);
    expect_read_error(nexp_pfm_read, path, NEXP_ERR_FORMAT, "scale");
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, "Pf\n2 2\nnan\n0123456789abcdef", 27), 0);
    expect_read_error(nexp_pfm_read, path, NEXP_ERR_FORMAT, "scale");
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, "PX\n2 2\n-1\n0123456789abcdef", 26), 0);
    expect_read_error(nexp_pfm_read, path, NEXP_ERR_FORMAT, "Pf or PF");
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(path, "PF\n100000 100000\n-1\n", 20), 0);
    expect_read_error(nexp_pfm_read, path, NEXP_ERR_TOO_LARGE, NULL);
    nexp_field *two = make_field(3, 3, 2, real_value);
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_pfm_write(path, two, &err), NEXP_ERR_ARG);
    nexp_field_free(two);
}

/* ---- KITTI --------------------------------------------------------------------------------- */

static void kitti_reader_decodes_flow_and_validity(void)
{
    nexp_field *png = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_field_create(&png, 3, 2, 3, NULL), NEXP_OK);
    const float u[6] = { 1.5f, -2.25f, 0.0f, 100.0f, -0.015625f, 7.0f };
    const float v[6] = { -3.0f, 0.5f, 0.0f, -100.0f, 0.015625f, 9.0f };
    const float valid[6] = { 1, 1, 1, 1, 1, 0 };
    for (int i = 0; i < 6; i++) {
        nexp_field_row(png, 0, i / 3)[i % 3] = 32768.0f + 64.0f * u[i];
        nexp_field_row(png, 1, i / 3)[i % 3] = 32768.0f + 64.0f * v[i];
        nexp_field_row(png, 2, i / 3)[i % 3] = valid[i];
    }
    const char *path = nexp_test_tmp("kitti.png");
    CU_ASSERT_EQUAL_FATAL(nexp_png_write(path, png, 16, NULL), NEXP_OK);
    nexp_field *flow = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_kitti_read(path, &flow, &err), NEXP_OK);
    CU_ASSERT_EQUAL(flow->channels, 2);
    CU_ASSERT_EQUAL(flow->kind, NEXP_KIND_FLOW);
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(nexp_field_get(flow, 0, i % 3, i / 3), u[i]);
        CU_ASSERT_EQUAL(nexp_field_get(flow, 1, i % 3, i / 3), v[i]);
        CU_ASSERT_TRUE(nexp_field_valid(flow, i % 3, i / 3));
    }
    CU_ASSERT_FALSE(nexp_field_valid(flow, 2, 1));
    nexp_field_free(flow);
    nexp_read_options ro = { NEXP_FORMAT_KITTI, NULL };
    CU_ASSERT_EQUAL_FATAL(nexp_field_read_ex(path, &ro, &flow, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_field_count_valid(flow), 5);
    nexp_field_free(flow);
    /* An 8-bit RGB PNG is not a KITTI flow file. */
    CU_ASSERT_EQUAL_FATAL(nexp_png_write(path, png, 8, NULL), NEXP_OK);
    expect_read_error(nexp_kitti_read, path, NEXP_ERR_FORMAT, "16-bit");
    nexp_field_free(png);
}

/* ---- corrupted files ----------------------------------------------------------------------- */

/* Random byte flips, insertions and truncations of valid files: every read either succeeds or
 * fails with a message naming the file; nothing crashes (the sanitizer build checks memory). */
static void corrupted_files_never_crash_and_always_name_the_file(void)
{
    nexp_field *flow = make_field(9, 7, 2, flow_value);
    nexp_field *rgb = make_field(9, 7, 3, pixel16);
    nexp_field *grey = make_field(9, 7, 1, real_value);
    struct {
        const char *name;
        nexp_status (*reader)(const char *, nexp_field **, nexp_error *);
    } kinds[] = {
        { "fuzz.flo", nexp_flo_read }, { "fuzz.png", nexp_png_read },   { "fuzz16.png", nexp_kitti_read },
        { "fuzz.ppm", nexp_pnm_read }, { "fuzz.pfm", nexp_pfm_read },
    };
    CU_ASSERT_EQUAL_FATAL(nexp_flo_write(nexp_test_tmp("fuzz.flo"), flow, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_png_write(nexp_test_tmp("fuzz.png"), rgb, 8, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_png_write(nexp_test_tmp("fuzz16.png"), rgb, 16, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_pnm_write(nexp_test_tmp("fuzz.ppm"), rgb, 16, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_pfm_write(nexp_test_tmp("fuzz.pfm"), grey, NULL), NEXP_OK);
    nexp_rng rng;
    nexp_rng_seed(&rng, 2385);
    char bad[4096];
    snprintf(bad, sizeof bad, "%s", nexp_test_tmp("fuzzed.bin"));
    int failures = 0, successes = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t len = 0;
        unsigned char *orig = nexp_test_read_bytes(nexp_test_tmp(kinds[k].name), &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(orig);
        unsigned char *buf = malloc(len + 16);
        for (int trial = 0; trial < 150; trial++) {
            memcpy(buf, orig, len);
            size_t n = len;
            int edits = 1 + (int)nexp_rng_below(&rng, 4);
            for (int e = 0; e < edits; e++) {
                /* Mostly the header (first 48 bytes), sometimes anywhere. */
                size_t span = nexp_rng_below(&rng, 3) ? (n < 48 ? n : 48) : n;
                size_t at = span ? (size_t)nexp_rng_below(&rng, span) : 0;
                switch (nexp_rng_below(&rng, 4)) {
                case 0:
                    n = at;
                    break;
                case 1:
                    if (n < len + 16) {
                        memmove(buf + at + 1, buf + at, n - at);
                        buf[at] = (unsigned char)nexp_rng_below(&rng, 256);
                        n++;
                    }
                    break;
                default:
                    if (at < n) {
                        buf[at] = (unsigned char)nexp_rng_below(&rng, 256);
                    }
                    break;
                }
            }
            CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(bad, buf, n), 0);
            nexp_error err = NEXP_ERROR_INIT;
            nexp_field *f = NULL;
            nexp_status st = kinds[k].reader(bad, &f, &err);
            if (st == NEXP_OK) {
                CU_ASSERT_PTR_NOT_NULL(f);
                successes++;
            } else {
                CU_ASSERT_PTR_NULL(f);
                CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, bad));
                failures++;
            }
            nexp_field_free(f);
        }
        free(buf);
        free(orig);
    }
    CU_ASSERT(failures > 300); /* most corruptions are caught */
    CU_ASSERT(successes > 0);  /* flipped data bytes are still valid files */
    nexp_field_free(grey);
    nexp_field_free(rgb);
    nexp_field_free(flow);
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static void formats_follow_the_extension_case_insensitively(void)
{
    CU_ASSERT_EQUAL(nexp_format_from_path("a/b/frame.FLO"), NEXP_FORMAT_FLO);
    CU_ASSERT_EQUAL(nexp_format_from_path("x.png"), NEXP_FORMAT_PNG);
    CU_ASSERT_EQUAL(nexp_format_from_path("x.pgm"), NEXP_FORMAT_PGM);
    CU_ASSERT_EQUAL(nexp_format_from_path("x.Ppm"), NEXP_FORMAT_PPM);
    CU_ASSERT_EQUAL(nexp_format_from_path("x.pfm"), NEXP_FORMAT_PFM);
    CU_ASSERT_EQUAL(nexp_format_from_path("run.1/out.h5"), NEXP_FORMAT_H5);
    CU_ASSERT_EQUAL(nexp_format_from_path("run.1/out"), NEXP_FORMAT_UNKNOWN);
    CU_ASSERT_EQUAL(nexp_format_from_path("out.txt"), NEXP_FORMAT_UNKNOWN);
    CU_ASSERT_EQUAL(nexp_format_from_path(NULL), NEXP_FORMAT_UNKNOWN);
    for (int f = NEXP_FORMAT_FLO; f <= NEXP_FORMAT_KITTI; f++) {
        CU_ASSERT_EQUAL(nexp_format_from_name(nexp_format_name((nexp_format)f)), f);
    }
    CU_ASSERT_STRING_EQUAL(nexp_format_name(NEXP_FORMAT_UNKNOWN), "unknown");
    CU_ASSERT_EQUAL(nexp_format_from_name("jpeg"), NEXP_FORMAT_UNKNOWN);
}

static void generic_read_and_write_dispatch_and_refuse_mismatches(void)
{
    nexp_field *flow = make_field(8, 6, 2, flow_value);
    flow->kind = NEXP_KIND_FLOW;
    nexp_error err = NEXP_ERROR_INIT;
    const char *path = nexp_test_tmp("generic.flo");
    CU_ASSERT_EQUAL_FATAL(nexp_field_write(path, flow, &err), NEXP_OK);
    nexp_field *back = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_field_read(path, &back, &err), NEXP_OK);
    CU_ASSERT(nexp_test_fields_identical(flow, back));
    nexp_field_free(back);
    path = nexp_test_tmp("flow.png");
    CU_ASSERT_EQUAL(nexp_field_write(path, flow, &err), NEXP_ERR_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
    nexp_error_clear(&err);
    path = nexp_test_tmp("data.txt");
    CU_ASSERT_EQUAL(nexp_field_write(path, flow, &err), NEXP_ERR_UNSUPPORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unknown file type"));
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_field_read(path, &back, &err), NEXP_ERR_UNSUPPORTED);
    nexp_field *rgb = make_field(5, 4, 3, pixel16);
    nexp_error_clear(&err);
    path = nexp_test_tmp("rgb.pgm");
    CU_ASSERT_EQUAL(nexp_field_write(path, rgb, &err), NEXP_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "1 channel"));
    nexp_write_options wo = { NEXP_FORMAT_UNKNOWN, NULL, 16 };
    path = nexp_test_tmp("rgb.ppm");
    CU_ASSERT_EQUAL_FATAL(nexp_field_write_ex(path, rgb, &wo, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_field_read(path, &back, NULL), NEXP_OK);
    CU_ASSERT(nexp_test_fields_identical(rgb, back));
    nexp_field_free(back);
    /* A forced format overrides the extension. */
    wo.format = NEXP_FORMAT_PFM;
    path = nexp_test_tmp("really-pfm.dat");
    CU_ASSERT_EQUAL_FATAL(nexp_field_write_ex(path, rgb, &wo, NULL), NEXP_OK);
    nexp_read_options ro = { NEXP_FORMAT_PFM, NULL };
    CU_ASSERT_EQUAL_FATAL(nexp_field_read_ex(path, &ro, &back, NULL), NEXP_OK);
    CU_ASSERT(nexp_test_fields_identical(rgb, back));
    nexp_field_free(back);
    nexp_field_free(rgb);
    nexp_field_free(flow);
}

static void flo_to_h5_to_flo_is_bit_identical_with_unknown_vectors(void)
{
    nexp_field *f = make_field(33, 21, 2, flow_value);
    f->kind = NEXP_KIND_FLOW;
    nexp_field_ensure_mask(f, NULL);
    for (int i = 0; i < 40; i++) {
        int x = (i * 17) % 33, y = (i * 5) % 21;
        f->mask[(size_t)y * f->stride + (size_t)x] = 0;
        nexp_field_row(f, 0, y)[x] = 0.0f;
        nexp_field_row(f, 1, y)[x] = 0.0f;
    }
    char a[4096], h5[4096], b[4096];
    snprintf(a, sizeof a, "%s", nexp_test_tmp("via.flo"));
    snprintf(h5, sizeof h5, "%s", nexp_test_tmp("via.h5"));
    snprintf(b, sizeof b, "%s", nexp_test_tmp("via_back.flo"));
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_field_write(a, f, &err), NEXP_OK);
    nexp_field *g = NULL, *h = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_field_read(a, &g, &err), NEXP_OK);
    nexp_write_options wo = { NEXP_FORMAT_UNKNOWN, "flow/gt", 0 };
    nexp_read_options ro = { NEXP_FORMAT_UNKNOWN, "flow/gt" };
    CU_ASSERT_EQUAL_FATAL(nexp_field_write_ex(h5, g, &wo, &err), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_field_read_ex(h5, &ro, &h, &err), NEXP_OK);
    CU_ASSERT_EQUAL(h->kind, NEXP_KIND_FLOW);
    CU_ASSERT_EQUAL(nexp_field_count_valid(h), nexp_field_count_valid(f));
    CU_ASSERT_EQUAL_FATAL(nexp_field_write(b, h, &err), NEXP_OK);
    CU_ASSERT(files_identical(a, b));
    nexp_field_free(h);
    /* The default dataset name is "field"; another name is a clear error. */
    CU_ASSERT_NOT_EQUAL(nexp_field_read(h5, &h, &err), NEXP_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "via.h5"));
    nexp_field_free(g);
    nexp_field_free(f);
}

/* ---- atomic output ------------------------------------------------------------------------- */

static void atomic_write_leaves_no_temporary_file(void)
{
    nexp_field *flow = make_field(16, 9, 2, flow_value);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(nexp_flo_write(nexp_test_tmp("atomic.flo"), flow, NULL), NEXP_OK);
        CU_ASSERT_EQUAL(nexp_pfm_write(nexp_test_tmp("atomic.pfm"), &(nexp_field){ 0 }, NULL), NEXP_ERR_ARG);
    }
    CU_ASSERT_EQUAL(count_temp_files(), 0);
    nexp_atomic_file af;
    nexp_error err = NEXP_ERROR_INIT;
    unlink(nexp_test_tmp("notes.txt"));
    CU_ASSERT_EQUAL_FATAL(nexp_atomic_open(&af, nexp_test_tmp("notes.txt"), &err), NEXP_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(af.tmp_path, "/.notes.txt.tmp."));
    fprintf(af.fp, "hello %d\n", 2385);
    CU_ASSERT_EQUAL(count_temp_files(), 1);
    CU_ASSERT_NOT_EQUAL(access(nexp_test_tmp("notes.txt"), F_OK), 0);
    CU_ASSERT_EQUAL_FATAL(nexp_atomic_commit(&af, &err), NEXP_OK);
    CU_ASSERT_PTR_NULL(af.tmp_path);
    CU_ASSERT_EQUAL(count_temp_files(), 0);
    size_t len = 0;
    unsigned char *text = nexp_test_read_bytes(nexp_test_tmp("notes.txt"), &len);
    CU_ASSERT(text != NULL && len == 11 && memcmp(text, "hello 2385\n", 11) == 0);
    free(text);
    /* reserve: the name only, the file is made by someone else (e.g. HDF5). */
    CU_ASSERT_EQUAL_FATAL(nexp_atomic_reserve(&af, nexp_test_tmp("named.bin"), &err), NEXP_OK);
    CU_ASSERT_PTR_NULL(af.fp);
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(af.tmp_path, "xyz", 3), 0);
    CU_ASSERT_EQUAL_FATAL(nexp_atomic_commit(&af, &err), NEXP_OK);
    CU_ASSERT_EQUAL(access(nexp_test_tmp("named.bin"), F_OK), 0);
    /* reserve without a file: commit fails and leaves nothing. */
    CU_ASSERT_EQUAL_FATAL(nexp_atomic_reserve(&af, nexp_test_tmp("never.bin"), &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_atomic_commit(&af, &err), NEXP_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "never.bin"));
    nexp_atomic_abort(&af);
    CU_ASSERT_EQUAL(count_temp_files(), 0);
    nexp_field_free(flow);
}

static void atomic_write_does_not_clobber_an_existing_file_on_failure(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", nexp_test_tmp("keep.flo"));
    nexp_field *flow = make_field(12, 5, 2, flow_value);
    CU_ASSERT_EQUAL_FATAL(nexp_flo_write(path, flow, NULL), NEXP_OK);
    size_t len0 = 0;
    unsigned char *before = nexp_test_read_bytes(path, &len0);
    /* Aborted half-written output. */
    nexp_atomic_file af;
    CU_ASSERT_EQUAL_FATAL(nexp_atomic_open(&af, path, NULL), NEXP_OK);
    fwrite("PIEH", 1, 4, af.fp);
    nexp_atomic_abort(&af);
    nexp_atomic_abort(&af);
    size_t len1 = 0;
    unsigned char *after = nexp_test_read_bytes(path, &len1);
    CU_ASSERT(after != NULL && len0 == len1 && memcmp(before, after, len0) == 0);
    free(after);
    /* A writer that fails (wrong channel count) leaves the old file alone. */
    nexp_field *rgb = make_field(12, 5, 3, pixel8);
    CU_ASSERT_EQUAL(nexp_flo_write(path, rgb, NULL), NEXP_ERR_ARG);
    after = nexp_test_read_bytes(path, &len1);
    CU_ASSERT(after != NULL && len0 == len1 && memcmp(before, after, len0) == 0);
    free(after);
    /* The rename fails (the target is a non-empty folder): error names the file, no temp left. */
    char dir[4096], inside[4200];
    snprintf(dir, sizeof dir, "%s", nexp_test_tmp("occupied.flo"));
    mkdir(dir, 0777);
    snprintf(inside, sizeof inside, "%s/x", dir);
    CU_ASSERT_EQUAL_FATAL(nexp_test_write_bytes(inside, "x", 1), 0);
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_flo_write(dir, flow, &err), NEXP_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "occupied.flo"));
    CU_ASSERT_EQUAL(count_temp_files(), 0);
    /* A missing folder: the error says so. */
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_png_write(nexp_test_tmp("no/such/dir/a.png"), rgb, 8, &err), NEXP_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "a.png"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "No such file"));
    free(before);
    nexp_field_free(rgb);
    nexp_field_free(flow);
}

/* ---- real samples -------------------------------------------------------------------------- */

static void sample_flow_files_have_the_documented_sizes_and_magnitudes(void)
{
    const struct {
        const char *rel;
        int w, h;
        double max_flow, mean_flow;
    } samples[] = {
        { "flow/sintel-alley/flow_0002.flo", 1024, 436, 10.65, 2.98 },
        { "flow/chairs-crops/00001_flow.flo", 50, 50, 12.51, -1.0 },
        { "flow/chairs-crops/0000000-flow_01.flo", 50, 50, 23.52, -1.0 },
    };
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        nexp_field *f = NULL;
        nexp_error err = NEXP_ERROR_INIT;
        nexp_status st = nexp_field_read(nexp_test_data(samples[i].rel), &f, &err);
        if (st != NEXP_OK) {
            fprintf(stderr, "\n  %s\n", err.msg);
        }
        CU_ASSERT_EQUAL_FATAL(st, NEXP_OK);
        CU_ASSERT_EQUAL(f->width, samples[i].w);
        CU_ASSERT_EQUAL(f->height, samples[i].h);
        CU_ASSERT_EQUAL(f->channels, 2);
        nexp_flow_stats fs;
        CU_ASSERT_EQUAL(nexp_flow_stats_compute(f, &fs, NULL), NEXP_OK);
        CU_ASSERT_EQUAL(fs.unknown, 0);
        CU_ASSERT_DOUBLE_EQUAL(fs.max_flow, samples[i].max_flow, 0.005);
        if (samples[i].mean_flow > 0) {
            CU_ASSERT_DOUBLE_EQUAL(fs.mean_flow, samples[i].mean_flow, 0.005);
        }
        nexp_field_free(f);
    }
}

static void sample_images_read_as_8_bit_rgb_and_masks(void)
{
    const struct {
        const char *rel;
        int w, h, c;
    } samples[] = {
        { "flow/sintel-alley/clean/frame_0002.png", 1024, 436, 3 },
        { "flow/sintel-alley/invalid_0002.png", 1024, 436, 1 },
        { "flow/chairs-crops/00001_img1.ppm", 50, 50, 3 },
        { "flow/chairs-crops/0000000-img_0.png", 50, 50, 3 },
    };
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        nexp_field *f = NULL;
        CU_ASSERT_EQUAL_FATAL(nexp_field_read(nexp_test_data(samples[i].rel), &f, NULL), NEXP_OK);
        CU_ASSERT_EQUAL(f->width, samples[i].w);
        CU_ASSERT_EQUAL(f->height, samples[i].h);
        CU_ASSERT_EQUAL(f->channels, samples[i].c);
        CU_ASSERT_EQUAL(f->bit_depth, 8);
        nexp_stats s;
        nexp_field_stats(f, 0, &s, NULL);
        CU_ASSERT(s.min >= 0.0 && s.max <= 255.0 && s.max > s.min);
        nexp_field_free(f);
    }
}

static void sample_flow_rewrites_bit_identically_and_its_channels_survive_pfm(void)
{
    nexp_field *f = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_flo_read(nexp_test_data("flow/chairs-crops/00001_flow.flo"), &f, NULL), NEXP_OK);
    const char *path = nexp_test_tmp("chairs.flo");
    CU_ASSERT_EQUAL_FATAL(nexp_flo_write(path, f, NULL), NEXP_OK);
    CU_ASSERT(files_identical(path, nexp_test_data("flow/chairs-crops/00001_flow.flo")));
    /* Each channel through PFM (float32) is bit-exact too. */
    nexp_field u = nexp_field_view(f, 0, 1);
    const char *pfm = nexp_test_tmp("chairs_u.pfm");
    CU_ASSERT_EQUAL_FATAL(nexp_pfm_write(pfm, &u, NULL), NEXP_OK);
    nexp_field *g = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_pfm_read(pfm, &g, NULL), NEXP_OK);
    CU_ASSERT(nexp_test_fields_identical(&u, g));
    nexp_field_free(g);
    nexp_field_free(f);
}

/* ---- flow colour coding -------------------------------------------------------------------- */

static void check_rgb(const nexp_field *img, int x, int y, float r, float g, float b, float tol)
{
    float got[3] = { nexp_field_get(img, 0, x, y), nexp_field_get(img, 1, x, y), nexp_field_get(img, 2, x, y) };
    int ok = fabsf(got[0] - r) <= tol && fabsf(got[1] - g) <= tol && fabsf(got[2] - b) <= tol;
    CU_ASSERT_TRUE(ok);
    if (!ok) {
        fprintf(stderr, "\n  pixel (%d, %d): got (%g, %g, %g), want (%g, %g, %g)\n", x, y, (double)got[0],
                (double)got[1], (double)got[2], (double)r, (double)g, (double)b);
    }
}

static void flow_colours_follow_the_middlebury_wheel(void)
{
    /* Pixels: +x at the largest radius, zero, unknown, -x, +y (down), -y (up), +x at half radius. */
    const float u[7] = { 4.0f, 0.0f, 1.0f, -4.0f, 0.0f, 0.0f, 2.0f };
    const float v[7] = { 0.0f, 0.0f, 1.0f, 0.0f, 4.0f, -4.0f, 0.0f };
    nexp_field *flow = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_field_create(&flow, 7, 1, 2, NULL), NEXP_OK);
    memcpy(nexp_field_row(flow, 0, 0), u, sizeof u);
    memcpy(nexp_field_row(flow, 1, 0), v, sizeof v);
    nexp_field_ensure_mask(flow, NULL);
    flow->mask[2] = 0;
    nexp_field *img = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_flow_to_color(flow, 0.0, &img, &err), NEXP_OK);
    CU_ASSERT_EQUAL(img->channels, 3);
    CU_ASSERT_EQUAL(img->bit_depth, 8);
    check_rgb(img, 0, 0, 255, 0, 0, 0);     /* first hue: red */
    check_rgb(img, 1, 0, 255, 255, 255, 0); /* zero motion: white */
    check_rgb(img, 2, 0, 0, 0, 0, 0);       /* unknown: black */
    /* -x: hue 27 = CB ramp step 2: (0, 255 - 255 * 2 / 11, 255) = (0, 209, 255). */
    check_rgb(img, 3, 0, 0, 209, 255, 1);
    /* +y: fk = 13.5, halfway between RY steps 13 and 14: (255, (221 + 238) / 2, 0). */
    check_rgb(img, 4, 0, 255, 229, 0, 1);
    /* -y: fk = 40.5, between BM steps 4 and 5: ((78 + 98) / 2, 0, 255). */
    check_rgb(img, 5, 0, 88, 0, 255, 1);
    /* Half radius: halfway from white to red. */
    check_rgb(img, 6, 0, 255, 127, 127, 1);
    nexp_field_free(img);
    /* A smaller max_flow: radius 2 is out of range and darkened to 75 %. */
    CU_ASSERT_EQUAL_FATAL(nexp_flow_to_color(flow, 1.0, &img, NULL), NEXP_OK);
    check_rgb(img, 0, 0, 191, 0, 0, 0);
    check_rgb(img, 1, 0, 255, 255, 255, 0);
    nexp_field_free(img);
    nexp_field *three = make_field(2, 2, 3, pixel8);
    CU_ASSERT_EQUAL(nexp_flow_to_color(three, 0.0, &img, &err), NEXP_ERR_ARG);
    CU_ASSERT_PTR_NULL(img);
    nexp_field_free(three);
    nexp_field_free(flow);
}

static void flow_colours_of_all_zero_and_sintel_flow_are_sane(void)
{
    nexp_field *zero = NULL, *img = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_field_create(&zero, 5, 3, 2, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_flow_to_color(zero, 0.0, &img, NULL), NEXP_OK);
    for (int c = 0; c < 3; c++) {
        nexp_stats s;
        nexp_field_stats(img, c, &s, NULL);
        CU_ASSERT_EQUAL(s.min, 255.0);
    }
    nexp_field_free(img);
    nexp_field_free(zero);
    nexp_field *flow = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_flo_read(nexp_test_data("flow/sintel-alley/flow_0002.flo"), &flow, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_flow_to_color(flow, 0.0, &img, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(img->width, 1024);
    CU_ASSERT_EQUAL(img->height, 436);
    /* The scene moves mostly left (mean u = -2.9): blue dominates red on average. */
    nexp_stats r, b;
    nexp_field_stats(img, 0, &r, NULL);
    nexp_field_stats(img, 2, &b, NULL);
    CU_ASSERT(b.mean > r.mean);
    CU_ASSERT(r.min < 128.0);
    const char *path = nexp_test_tmp("sintel_viz.png");
    CU_ASSERT_EQUAL_FATAL(nexp_png_write(path, img, 8, NULL), NEXP_OK);
    nexp_field *back = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_png_read(path, &back, NULL), NEXP_OK);
    CU_ASSERT(nexp_test_fields_identical(img, back));
    nexp_field_free(back);
    nexp_field_free(img);
    nexp_field_free(flow);
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "flo_round_trip_is_bit_exact_and_keeps_unknown_vectors", flo_round_trip_is_bit_exact_and_keeps_unknown_vectors },
        { "flo_reader_marks_huge_and_nan_values_unknown_and_writes_them_as_1e10",
          flo_reader_marks_huge_and_nan_values_unknown_and_writes_them_as_1e10 },
        { "flo_reader_rejects_files_truncated_at_several_offsets", flo_reader_rejects_files_truncated_at_several_offsets },
        { "flo_reader_rejects_trailing_bytes_and_wrong_magic", flo_reader_rejects_trailing_bytes_and_wrong_magic },
        { "flo_reader_rejects_zero_negative_and_overflowing_dimensions",
          flo_reader_rejects_zero_negative_and_overflowing_dimensions },
        { "flo_writer_refuses_fields_that_are_not_flow", flo_writer_refuses_fields_that_are_not_flow },
        { "png_round_trips_every_layout_bit_exact", png_round_trips_every_layout_bit_exact },
        { "png_writer_rounds_and_clamps_to_the_bit_depth", png_writer_rounds_and_clamps_to_the_bit_depth },
        { "png_reader_deinterlaces_adam7_16_bit_rgba", png_reader_deinterlaces_adam7_16_bit_rgba },
        { "png_reader_expands_palette_and_one_bit_grey", png_reader_expands_palette_and_one_bit_grey },
        { "png_reader_rejects_non_png_bytes_and_truncated_files", png_reader_rejects_non_png_bytes_and_truncated_files },
        { "png_reader_refuses_huge_claimed_sizes_before_allocating",
          png_reader_refuses_huge_claimed_sizes_before_allocating },
        { "png_reader_skips_text_chunks_without_allocating_their_claimed_length",
          png_reader_skips_text_chunks_without_allocating_their_claimed_length },
        { "pnm_round_trips_grey_and_colour_at_8_and_16_bit", pnm_round_trips_grey_and_colour_at_8_and_16_bit },
        { "pnm_reader_skips_comments_and_reads_big_endian_16_bit", pnm_reader_skips_comments_and_reads_big_endian_16_bit },
        { "pnm_reader_rejects_bad_headers_maxval_and_values", pnm_reader_rejects_bad_headers_maxval_and_values },
        { "pfm_round_trip_is_bit_exact_and_stores_the_bottom_row_first",
          pfm_round_trip_is_bit_exact_and_stores_the_bottom_row_first },
        { "pfm_reader_honours_big_endian_scale_and_rejects_bad_files",
          pfm_reader_honours_big_endian_scale_and_rejects_bad_files },
        { "kitti_reader_decodes_flow_and_validity", kitti_reader_decodes_flow_and_validity },
        { "corrupted_files_never_crash_and_always_name_the_file", corrupted_files_never_crash_and_always_name_the_file },
        { "formats_follow_the_extension_case_insensitively", formats_follow_the_extension_case_insensitively },
        { "generic_read_and_write_dispatch_and_refuse_mismatches", generic_read_and_write_dispatch_and_refuse_mismatches },
        { "flo_to_h5_to_flo_is_bit_identical_with_unknown_vectors",
          flo_to_h5_to_flo_is_bit_identical_with_unknown_vectors },
        { "atomic_write_leaves_no_temporary_file", atomic_write_leaves_no_temporary_file },
        { "atomic_write_does_not_clobber_an_existing_file_on_failure",
          atomic_write_does_not_clobber_an_existing_file_on_failure },
        { "sample_flow_files_have_the_documented_sizes_and_magnitudes",
          sample_flow_files_have_the_documented_sizes_and_magnitudes },
        { "sample_images_read_as_8_bit_rgb_and_masks", sample_images_read_as_8_bit_rgb_and_masks },
        { "sample_flow_rewrites_bit_identically_and_its_channels_survive_pfm",
          sample_flow_rewrites_bit_identically_and_its_channels_survive_pfm },
        { "flow_colours_follow_the_middlebury_wheel", flow_colours_follow_the_middlebury_wheel },
        { "flow_colours_of_all_zero_and_sintel_flow_are_sane", flow_colours_of_all_zero_and_sintel_flow_are_sane },
        CU_TEST_INFO_NULL,
    };
    return nexp_test_run("io", tests);
}
