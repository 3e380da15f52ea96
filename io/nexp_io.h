/* nexp_io.h — reading and writing fields: .flo, PNG, PGM/PPM, PFM, KITTI flow PNG, HDF5.
 *
 *   nexp_error err = NEXP_ERROR_INIT;
 *   nexp_field *flow = NULL;
 *   if (nexp_field_read("frame.flo", &flow, &err) == NEXP_OK)        // format from the extension
 *       nexp_field_write("frame.h5", flow, &err);                     // atomic: temp file + rename
 *   nexp_field_free(flow);
 *
 * Every reader validates what it reads (magic, dimensions with overflow checks against
 * NEXP_FIELD_MAX_PIXELS before allocating, file length, value ranges) and reports the file and the
 * problem in err. Every writer writes a temporary file in the target's directory, fsyncs it and
 * renames it into place, so a crash never leaves a half-written file under the final name and an
 * existing file is replaced only by a complete one. Readers return a new field owned by the caller.
 *
 * Value conventions: images keep their integer scale as float (8 bit: 0..255, 16 bit: 0..65535;
 * bit_depth records which); PFM and HDF5 are float32 as stored; flow has 2 channels (u, v) and a
 * validity mask when some vectors are unknown (|value| > 1e9 or NaN in .flo).
 */
#ifndef NEXP_IO_H
#define NEXP_IO_H

#include <stdio.h>

#include "nexp_field.h"
#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nexp_format {
    NEXP_FORMAT_UNKNOWN = 0,
    NEXP_FORMAT_FLO,   /* Middlebury .flo */
    NEXP_FORMAT_PNG,   /* PNG image, 8 or 16 bit, 1-4 channels */
    NEXP_FORMAT_PGM,   /* binary P5, 8 or 16 bit */
    NEXP_FORMAT_PPM,   /* binary P6, 8 or 16 bit */
    NEXP_FORMAT_PFM,   /* portable float map, Pf (grey) or PF (RGB) */
    NEXP_FORMAT_H5,    /* HDF5 dataset (channels, height, width) */
    NEXP_FORMAT_KITTI  /* KITTI 16-bit flow PNG (read only; chosen explicitly, never by extension) */
} nexp_format;

/* Format from the file name's extension (case-insensitive); NEXP_FORMAT_UNKNOWN if none fits. */
nexp_format nexp_format_from_path(const char *path);
/* Short name: "flo", "png", "pgm", "ppm", "pfm", "h5", "kitti" ("unknown" otherwise). */
const char *nexp_format_name(nexp_format fmt);
/* Inverse of nexp_format_name (case-insensitive); NEXP_FORMAT_UNKNOWN if none fits. */
nexp_format nexp_format_from_name(const char *name);

typedef struct nexp_read_options {
    nexp_format format;  /* NEXP_FORMAT_UNKNOWN: from the extension */
    const char *dataset; /* HDF5 dataset name; NULL: "field" */
} nexp_read_options;

typedef struct nexp_write_options {
    nexp_format format;  /* NEXP_FORMAT_UNKNOWN: from the extension */
    const char *dataset; /* HDF5 dataset name; NULL: "field" */
    int bit_depth;       /* PNG/PGM/PPM: 8 or 16; 0: the field's own bit_depth, else 8 */
} nexp_write_options;

/* Read/write by extension with default options. */
nexp_status nexp_field_read(const char *path, nexp_field **out, nexp_error *err);
nexp_status nexp_field_write(const char *path, const nexp_field *f, nexp_error *err);
/* With options; opt may be NULL. */
nexp_status nexp_field_read_ex(const char *path, const nexp_read_options *opt, nexp_field **out, nexp_error *err);
nexp_status nexp_field_write_ex(const char *path, const nexp_field *f, const nexp_write_options *opt,
                                nexp_error *err);

/* Format-specific readers and writers. */
nexp_status nexp_flo_read(const char *path, nexp_field **out, nexp_error *err);
/* f: 2 channels; vectors outside f's mask or non-finite are written as 1e10 (unknown). */
nexp_status nexp_flo_write(const char *path, const nexp_field *f, nexp_error *err);
nexp_status nexp_png_read(const char *path, nexp_field **out, nexp_error *err);
/* f: 1-4 channels (grey, grey+alpha, RGB, RGBA); values rounded and clamped to the bit depth. */
nexp_status nexp_png_write(const char *path, const nexp_field *f, int bit_depth, nexp_error *err);
nexp_status nexp_pnm_read(const char *path, nexp_field **out, nexp_error *err);
/* f: 1 channel (P5) or 3 channels (P6). */
nexp_status nexp_pnm_write(const char *path, const nexp_field *f, int bit_depth, nexp_error *err);
nexp_status nexp_pfm_read(const char *path, nexp_field **out, nexp_error *err);
/* f: 1 or 3 channels; written little-endian, bottom row first as the format requires. */
nexp_status nexp_pfm_write(const char *path, const nexp_field *f, nexp_error *err);
/* KITTI flow: 16-bit RGB PNG, u = (R - 2^15) / 64, v = (G - 2^15) / 64, B = valid. */
nexp_status nexp_kitti_read(const char *path, nexp_field **out, nexp_error *err);

/* ---- atomic output files ------------------------------------------------------------------
 *
 *   nexp_atomic_file af;
 *   if (nexp_atomic_open(&af, "out.csv", &err) != NEXP_OK) return err.code;
 *   fprintf(af.fp, ...);
 *   return nexp_atomic_commit(&af, &err);    // or nexp_atomic_abort(&af) on failure
 */
typedef struct nexp_atomic_file {
    FILE *fp;           /* open for writing ("wb") on tmp_path; NULL for name-only use */
    char *final_path;   /* owned */
    char *tmp_path;     /* owned: "<dir>/.<name>.tmp.<pid>.<n>" beside the final file */
} nexp_atomic_file;

/* Create the temporary file and open it for writing. */
nexp_status nexp_atomic_open(nexp_atomic_file *af, const char *path, nexp_error *err);
/* Only choose the temporary name (for libraries that open files by name, like HDF5). */
nexp_status nexp_atomic_reserve(nexp_atomic_file *af, const char *path, nexp_error *err);
/* Flush, fsync, close, rename onto the final name, fsync the directory; frees names. On failure
 * the temporary file is removed and the final name is untouched. */
nexp_status nexp_atomic_commit(nexp_atomic_file *af, nexp_error *err);
/* Close and remove the temporary file; frees names. Safe after a failed commit. */
void nexp_atomic_abort(nexp_atomic_file *af);

/* ---- flow visualisation --------------------------------------------------------------------
 * Middlebury colour wheel (55 hues: RY 15, YG 6, GC 4, CB 11, BM 13, MR 6); zero motion white;
 * radius normalised by max_flow, or by the largest valid radius when max_flow <= 0; unknown
 * vectors black. Returns a new 3-channel 8-bit image field (values 0..255). */
nexp_status nexp_flow_to_color(const nexp_field *flow, double max_flow, nexp_field **rgb, nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
