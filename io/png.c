/* PNG through libpng (palette and low bit depths expanded, 16-bit kept) and KITTI flow PNGs.
 * libpng reports errors by longjmp: each libpng call sequence runs in a small function that owns
 * the setjmp, while every resource lives in a context owned by its caller, so an error can neither
 * leak nor touch indeterminate locals. */
#include <png.h>
#include <stdlib.h>

#include "io_internal.h"

/* Upper bound of deflate's expansion ratio (1032:1) with some slack. */
#define PNG_MAX_INFLATE 1100
/* Ancillary chunks of any length that nexp never uses: libpng skips them instead of allocating
 * (and clearing) a buffer of the length the chunk header claims, which a damaged file sets to 2 GB. */
static const png_byte png_skipped_chunks[] = "tEXt\0zTXt\0iTXt\0sPLT\0iCCP\0eXIf\0pCAL\0sCAL";

typedef struct png_ctx {
    const char *path;
    FILE *fp;
    png_structp png;
    png_infop info;
    unsigned char *pixels;
    png_bytep *rows;
    png_uint_32 width, height;
    int channels, bit_depth;
    size_t rowbytes;
    size_t file_size;
    nexp_status code; /* an error found by nexp itself (not libpng) */
    char msg[NEXP_ERROR_MSG_MAX];
} png_ctx;

static void png_error_fn(png_structp png, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_warning_fn(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static int png_read_inner(png_ctx *c)
{
    if (setjmp(png_jmpbuf(c->png))) {
        return -1;
    }
    png_init_io(c->png, c->fp);
    png_set_sig_bytes(c->png, 8);
    png_set_user_limits(c->png, 0x7fffffffU, 0x7fffffffU);
    png_set_keep_unknown_chunks(c->png, PNG_HANDLE_CHUNK_NEVER, png_skipped_chunks, 8);
    png_read_info(c->png, c->info);
    png_uint_32 w = 0, h = 0;
    int depth = 0, color = 0;
    png_get_IHDR(c->png, c->info, &w, &h, &depth, &color, NULL, NULL, NULL);
    nexp_error inner = NEXP_ERROR_INIT;
    if (nexp_field_check_dims((long long)w, (long long)h, 1, &inner) != NEXP_OK) {
        c->code = inner.code;
        snprintf(c->msg, sizeof c->msg, "%s", inner.msg);
        return -1;
    }
    /* The same bound for the stored rows (one filter byte each), checked before libpng allocates
     * its row buffers: a tiny file claiming a 2^30-pixel-wide row would otherwise cost gigabytes. */
    size_t stored;
    if (nexp_size_mul(png_get_rowbytes(c->png, c->info) + 1, (size_t)h, &stored) != 0 ||
        stored / PNG_MAX_INFLATE > c->file_size) {
        c->code = NEXP_ERR_FORMAT;
        snprintf(c->msg, sizeof c->msg, "truncated: a %u x %u image cannot fit in %zu bytes", (unsigned)w,
                 (unsigned)h, c->file_size);
        return -1;
    }
    if (color == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(c->png);
    }
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) {
        png_set_expand_gray_1_2_4_to_8(c->png);
    }
    if (png_get_valid(c->png, c->info, PNG_INFO_tRNS)) {
        png_set_tRNS_to_alpha(c->png);
    }
    png_set_interlace_handling(c->png);
    png_read_update_info(c->png, c->info);
    c->width = w;
    c->height = h;
    c->channels = png_get_channels(c->png, c->info);
    c->bit_depth = png_get_bit_depth(c->png, c->info);
    c->rowbytes = png_get_rowbytes(c->png, c->info);
    size_t total;
    if (c->channels < 1 || c->channels > 4 || (c->bit_depth != 8 && c->bit_depth != 16) ||
        c->rowbytes != (size_t)w * (size_t)c->channels * (size_t)(c->bit_depth / 8)) {
        c->code = NEXP_ERR_UNSUPPORTED;
        snprintf(c->msg, sizeof c->msg, "unsupported PNG layout (%d channels, %d bit)", c->channels, c->bit_depth);
        return -1;
    }
    if (nexp_size_mul(c->rowbytes, (size_t)h, &total) != 0) {
        c->code = NEXP_ERR_TOO_LARGE;
        snprintf(c->msg, sizeof c->msg, "image %u x %u is too large", (unsigned)w, (unsigned)h);
        return -1;
    }
    /* Deflate expands at most ~1032:1, so a header promising far more pixels than the file can
     * hold is refused before allocating. */
    if (total / PNG_MAX_INFLATE > c->file_size) {
        c->code = NEXP_ERR_FORMAT;
        snprintf(c->msg, sizeof c->msg, "truncated: a %u x %u image cannot fit in %zu bytes", (unsigned)w,
                 (unsigned)h, c->file_size);
        return -1;
    }
    c->pixels = malloc(total);
    c->rows = malloc((size_t)h * sizeof *c->rows);
    if (c->pixels == NULL || c->rows == NULL) {
        c->code = NEXP_ERR_NOMEM;
        snprintf(c->msg, sizeof c->msg, "out of memory for a %u x %u image", (unsigned)w, (unsigned)h);
        return -1;
    }
    for (png_uint_32 y = 0; y < h; y++) {
        c->rows[y] = c->pixels + (size_t)y * c->rowbytes;
    }
    png_read_image(c->png, c->rows);
    png_read_end(c->png, NULL);
    return 0;
}

nexp_status io_png_read_raw(const char *path, nexp_field **out, nexp_error *err)
{
    *out = NULL;
    png_ctx c;
    memset(&c, 0, sizeof c);
    c.path = path;
    nexp_status st = io_open_read(path, &c.fp, &c.file_size, err);
    if (st != NEXP_OK) {
        return st;
    }
    unsigned char sig[8];
    size_t got = fread(sig, 1, sizeof sig, c.fp);
    if (got != sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0) {
        fclose(c.fp);
        return io_fail(err, path, NEXP_ERR_FORMAT, "not a PNG file (%s)",
                       got != sizeof sig ? "shorter than the 8-byte signature" : "wrong signature");
    }
    c.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, png_error_fn, png_warning_fn);
    c.info = c.png ? png_create_info_struct(c.png) : NULL;
    nexp_field *f = NULL;
    if (c.png == NULL || c.info == NULL) {
        st = io_fail(err, path, NEXP_ERR_NOMEM, "out of memory creating the PNG reader");
    } else if (png_read_inner(&c) != 0) {
        st = c.code != NEXP_OK ? io_fail(err, path, c.code, "%s", c.msg)
                               : io_fail(err, path, NEXP_ERR_FORMAT, "malformed or truncated PNG: %s", c.msg);
    } else {
        nexp_error inner = NEXP_ERROR_INIT;
        st = nexp_field_create(&f, (int)c.width, (int)c.height, c.channels, &inner);
        if (st != NEXP_OK) {
            io_forward(err, path, &inner);
        } else {
            f->kind = NEXP_KIND_IMAGE;
            f->bit_depth = c.bit_depth;
            for (int y = 0; y < (int)c.height; y++) {
                const unsigned char *row = c.rows[y];
                for (int x = 0; x < (int)c.width; x++) {
                    for (int ch = 0; ch < c.channels; ch++) {
                        size_t i = (size_t)x * (size_t)c.channels + (size_t)ch;
                        unsigned v = c.bit_depth == 8 ? row[i] : (unsigned)row[2 * i] << 8 | row[2 * i + 1];
                        nexp_field_row(f, ch, y)[x] = (float)v;
                    }
                }
            }
        }
    }
    png_destroy_read_struct(c.png ? &c.png : NULL, c.info ? &c.info : NULL, NULL);
    free(c.rows);
    free(c.pixels);
    fclose(c.fp);
    if (st == NEXP_OK) {
        *out = f;
    }
    return st;
}

nexp_status nexp_png_read(const char *path, nexp_field **out, nexp_error *err)
{
    return io_png_read_raw(path, out, err);
}

static int png_write_inner(png_ctx *c, int color_type)
{
    if (setjmp(png_jmpbuf(c->png))) {
        return -1;
    }
    png_init_io(c->png, c->fp);
    png_set_IHDR(c->png, c->info, c->width, c->height, c->bit_depth, color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(c->png, c->info);
    png_write_image(c->png, c->rows);
    png_write_end(c->png, NULL);
    return 0;
}

nexp_status nexp_png_write(const char *path, const nexp_field *f, int bit_depth, nexp_error *err)
{
    static const int color_types[5] = { 0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                        PNG_COLOR_TYPE_RGB_ALPHA };
    if (f == NULL || f->channels < 1 || f->channels > 4) {
        return io_fail(err, path, NEXP_ERR_ARG, "PNG holds 1 to 4 channels, the field has %d", f ? f->channels : 0);
    }
    if (bit_depth == 0) {
        bit_depth = f->bit_depth == 16 ? 16 : 8;
    }
    if (bit_depth != 8 && bit_depth != 16) {
        return io_fail(err, path, NEXP_ERR_ARG, "bit depth %d (PNG: 8 or 16)", bit_depth);
    }
    png_ctx c;
    memset(&c, 0, sizeof c);
    c.path = path;
    c.width = (png_uint_32)f->width;
    c.height = (png_uint_32)f->height;
    c.channels = f->channels;
    c.bit_depth = bit_depth;
    size_t sample = (size_t)bit_depth / 8;
    unsigned maxval = bit_depth == 8 ? 255u : 65535u;
    c.rowbytes = (size_t)f->width * (size_t)f->channels * sample;
    size_t total;
    if (nexp_size_mul(c.rowbytes, (size_t)f->height, &total) != 0) {
        return io_fail(err, path, NEXP_ERR_TOO_LARGE, "image too large");
    }
    c.pixels = malloc(total);
    c.rows = malloc((size_t)f->height * sizeof *c.rows);
    if (c.pixels == NULL || c.rows == NULL) {
        free(c.pixels);
        free(c.rows);
        return io_fail(err, path, NEXP_ERR_NOMEM, "out of memory");
    }
    for (int y = 0; y < f->height; y++) {
        unsigned char *row = c.pixels + (size_t)y * c.rowbytes;
        c.rows[y] = row;
        for (int x = 0; x < f->width; x++) {
            for (int ch = 0; ch < f->channels; ch++) {
                unsigned v = io_quantize(nexp_field_row(f, ch, y)[x], maxval);
                size_t i = (size_t)x * (size_t)f->channels + (size_t)ch;
                if (sample == 1) {
                    row[i] = (unsigned char)v;
                } else {
                    row[2 * i] = (unsigned char)(v >> 8);
                    row[2 * i + 1] = (unsigned char)(v & 0xff);
                }
            }
        }
    }
    nexp_atomic_file af;
    nexp_status st = nexp_atomic_open(&af, path, err);
    if (st == NEXP_OK) {
        c.fp = af.fp;
        c.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &c, png_error_fn, png_warning_fn);
        c.info = c.png ? png_create_info_struct(c.png) : NULL;
        if (c.png == NULL || c.info == NULL) {
            st = io_fail(err, path, NEXP_ERR_NOMEM, "out of memory creating the PNG writer");
        } else if (png_write_inner(&c, color_types[f->channels]) != 0) {
            st = io_fail(err, path, NEXP_ERR_IO, "PNG write failed: %s", c.msg);
        }
        png_destroy_write_struct(c.png ? &c.png : NULL, c.info ? &c.info : NULL);
        st = st == NEXP_OK ? nexp_atomic_commit(&af, err) : (nexp_atomic_abort(&af), st);
    }
    free(c.rows);
    free(c.pixels);
    return st;
}

nexp_status nexp_kitti_read(const char *path, nexp_field **out, nexp_error *err)
{
    *out = NULL;
    nexp_field *raw = NULL, *f = NULL;
    nexp_status st = io_png_read_raw(path, &raw, err);
    if (st != NEXP_OK) {
        return st;
    }
    if (raw->channels != 3 || raw->bit_depth != 16) {
        st = io_fail(err, path, NEXP_ERR_FORMAT, "a KITTI flow PNG is 16-bit RGB, this one is %d-bit with %d channels",
                     raw->bit_depth, raw->channels);
        nexp_field_free(raw);
        return st;
    }
    nexp_error inner = NEXP_ERROR_INIT;
    if ((st = nexp_field_create(&f, raw->width, raw->height, 2, &inner)) != NEXP_OK ||
        (st = nexp_field_ensure_mask(f, &inner)) != NEXP_OK) {
        io_forward(err, path, &inner);
        nexp_field_free(f);
        nexp_field_free(raw);
        return st;
    }
    f->kind = NEXP_KIND_FLOW;
    for (int y = 0; y < raw->height; y++) {
        const float *r = nexp_field_row(raw, 0, y), *g = nexp_field_row(raw, 1, y), *b = nexp_field_row(raw, 2, y);
        float *u = nexp_field_row(f, 0, y), *v = nexp_field_row(f, 1, y);
        uint8_t *m = f->mask + (size_t)y * f->stride;
        for (int x = 0; x < raw->width; x++) {
            int valid = b[x] > 0.0f;
            m[x] = (uint8_t)valid;
            u[x] = valid ? (r[x] - 32768.0f) / 64.0f : 0.0f;
            v[x] = valid ? (g[x] - 32768.0f) / 64.0f : 0.0f;
        }
    }
    nexp_field_free(raw);
    *out = f;
    return NEXP_OK;
}
