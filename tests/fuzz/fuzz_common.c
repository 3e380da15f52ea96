/* Temp files for the fuzz targets: "<dir>/nexp-fuzz-<pid>-<n><suffix>", removed at exit. */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <hdf5.h>
#include <zlib.h>

#include "nexp_field.h"

#define FUZZ_MAX_FILES 8
#define FUZZ_PATH_MAX 4096

static char fuzz_paths[FUZZ_MAX_FILES][FUZZ_PATH_MAX];
static char fuzz_suffixes[FUZZ_MAX_FILES][32];
static int fuzz_nfiles;

static void fuzz_remove_files(void)
{
    for (int i = 0; i < fuzz_nfiles; i++) {
        remove(fuzz_paths[i]);
    }
}

static const char *fuzz_dir(void)
{
    struct stat st;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0) {
        return "/dev/shm";
    }
    const char *tmp = getenv("TMPDIR");
    return tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp";
}

static const char *fuzz_path_for(const char *suffix)
{
    for (int i = 0; i < fuzz_nfiles; i++) {
        if (strcmp(fuzz_suffixes[i], suffix) == 0) {
            return fuzz_paths[i];
        }
    }
    if (fuzz_nfiles == FUZZ_MAX_FILES || strlen(suffix) >= sizeof fuzz_suffixes[0]) {
        fprintf(stderr, "nexp_fuzz_file: too many or too long suffixes\n");
        abort();
    }
    if (fuzz_nfiles == 0) {
        atexit(fuzz_remove_files);
    }
    int i = fuzz_nfiles++;
    snprintf(fuzz_suffixes[i], sizeof fuzz_suffixes[i], "%s", suffix);
    snprintf(fuzz_paths[i], sizeof fuzz_paths[i], "%s/nexp-fuzz-%ld-%d%s", fuzz_dir(), (long)getpid(), i, suffix);
    return fuzz_paths[i];
}

const char *nexp_fuzz_file(const uint8_t *data, size_t size, const char *suffix)
{
    const char *path = fuzz_path_for(suffix);
    FILE *fp = fopen(path, "wb");
    if (fp == NULL || (size > 0 && fwrite(data, 1, size, fp) != size) || fclose(fp) != 0) {
        fprintf(stderr, "nexp_fuzz_file: cannot write %s\n", path);
        abort();
    }
    return path;
}

const char *nexp_fuzz_png_file(const uint8_t *data, size_t size, const char *suffix)
{
    uint8_t *copy = malloc(size > 0 ? size : 1);
    if (copy == NULL) {
        abort();
    }
    memcpy(copy, data, size);
    /* signature (8 bytes), then chunks: length (4, big-endian), type (4), data, CRC of type + data */
    size_t pos = 8;
    while (pos + 12 <= size) {
        size_t len = (size_t)copy[pos] << 24 | (size_t)copy[pos + 1] << 16 | (size_t)copy[pos + 2] << 8 | copy[pos + 3];
        if (len > size - pos - 12) {
            break;
        }
        uLong crc = crc32(0L, copy + pos + 4, (uInt)(len + 4));
        uint8_t *p = copy + pos + 8 + len;
        p[0] = (uint8_t)(crc >> 24);
        p[1] = (uint8_t)(crc >> 16);
        p[2] = (uint8_t)(crc >> 8);
        p[3] = (uint8_t)crc;
        pos += 12 + len;
    }
    const char *path = nexp_fuzz_file(copy, size, suffix);
    free(copy);
    return path;
}

static void fuzz_finding(const char *what)
{
    fprintf(stderr, "nexp fuzz: %s\n", what);
    abort();
}

void nexp_fuzz_check_error(nexp_status st, const nexp_error *err)
{
    if (st == NEXP_OK || err->code != st || err->msg[0] == '\0') {
        fuzz_finding("a failure without its status and message in err");
    }
}

void nexp_fuzz_check_h5_closed(void)
{
    ssize_t files = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (files != 0) {
        fprintf(stderr, "nexp fuzz: %zd HDF5 objects left open\n", files);
        abort();
    }
}

void nexp_fuzz_check_field(nexp_status st, nexp_field *f, const nexp_error *err)
{
    if (st != NEXP_OK) {
        nexp_fuzz_check_error(st, err);
        if (f != NULL) {
            fuzz_finding("a failed reader returned a field");
        }
        return;
    }
    if (f == NULL || f->data == NULL) {
        fuzz_finding("a successful reader returned no field");
    }
    if (f->width < 1 || f->height < 1 || f->channels < 1 || f->channels > NEXP_FIELD_MAX_CHANNELS ||
        (size_t)f->width * (size_t)f->height > NEXP_FIELD_MAX_PIXELS || f->stride < (size_t)f->width ||
        f->plane < f->stride * (size_t)f->height) {
        fuzz_finding("a field outside the limits or with an inconsistent layout");
    }
    volatile float sum = 0.0f;
    volatile unsigned valid = 0;
    for (int c = 0; c < f->channels; c++) {
        for (int y = 0; y < f->height; y++) {
            const float *row = f->data + (size_t)c * f->plane + (size_t)y * f->stride;
            for (int x = 0; x < f->width; x++) {
                sum += row[x];
            }
        }
    }
    if (f->mask != NULL) {
        for (int y = 0; y < f->height; y++) {
            for (int x = 0; x < f->width; x++) {
                valid += f->mask[(size_t)y * f->stride + (size_t)x];
            }
        }
    }
    (void)sum;
    (void)valid;
    nexp_field_free(f);
}
