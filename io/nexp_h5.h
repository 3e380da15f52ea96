/* nexp_h5.h — HDF5 files written by nexp: fields, time series, named groups of arrays.
 *
 *   nexp_h5_attrs a = NEXP_H5_ATTRS_INIT;  a.kind = "flow"; a.units = "px";
 *   nexp_h5_write_field("flow.h5", "field", flow, &a, &err);      // dataset (channels, height, width)
 *   nexp_field *back = NULL;
 *   nexp_h5_read_field("flow.h5", "field", &back, NULL, &err);
 *
 * Layout (documented in the README, readable with h5py and h5dump): a field is a float32 dataset of
 * shape (channels, height, width), chunked, shuffled and deflate-compressed, with attributes kind,
 * units, metadata (variable-length UTF-8 strings), spacing, time (double) and, for images, bit_depth
 * (int); a field with a validity mask also gets a uint8 dataset "<name>_valid" of shape
 * (height, width), 1 = valid. Dataset names may contain '/' (intermediate groups are created).
 *
 * Every function converts HDF5 failures into an nexp_error naming the file and the object, and
 * silences HDF5's own error printing while it runs (the caller's setting is restored afterwards).
 * A missing file is NEXP_ERR_IO, a file that is not HDF5 or is truncated or damaged NEXP_ERR_FORMAT,
 * a missing dataset NEXP_ERR_MISMATCH (the message lists what the file holds).
 *
 * Files are written atomically: into a temporary file beside the target ("<dir>/.<name>.tmp.<pid>.<n>"),
 * which is fsynced and renamed onto the final name only on success; an aborted or failed writer
 * removes it and leaves an existing file of the same name untouched.
 */
#ifndef NEXP_H5_H
#define NEXP_H5_H

#include <stddef.h>
#include <stdint.h>

#include "nexp_field.h"
#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- fields ------------------------------------------------------------------------------ */

typedef struct nexp_h5_attrs {
    const char *kind;     /* "image", "flow", "scalar", "mask", "tensor"; NULL: from the field */
    double spacing;       /* grid spacing, default 1 */
    double time;          /* simulation time, default 0 */
    const char *units;    /* NULL: none */
    const char *metadata; /* free-form text (e.g. the command line); NULL: none */
} nexp_h5_attrs;

#define NEXP_H5_ATTRS_INIT { NULL, 1.0, 0.0, NULL, NULL }

/* Write f as the only dataset of a new file at path (replacing an existing file atomically).
 * dataset NULL: "field". attrs NULL: defaults. */
nexp_status nexp_h5_write_field(const char *path, const char *dataset, const nexp_field *f,
                                const nexp_h5_attrs *attrs, nexp_error *err);
/* Read a field written by nexp_h5_write_field (or any rank-3 numeric dataset (C, H, W) that fits
 * the field limits). dataset NULL: "field". *out is a new field owned by the caller; its kind comes
 * from the "kind" attribute. attrs_out may be NULL; it receives spacing, time and kind (a static
 * string, NULL if the file has none); units and metadata are set to NULL (read them with
 * nexp_h5_open_read and nexp_h5_read_attr_string). */
nexp_status nexp_h5_read_field(const char *path, const char *dataset, nexp_field **out, nexp_h5_attrs *attrs_out,
                               nexp_error *err);

/* ---- time series: frames along an unlimited first axis ------------------------------------
 *
 *   nexp_h5_series *s = NULL;
 *   nexp_h5_series_create(&s, "run.h5", "u", 256, 256, 1, &attrs, &err);   // dataset (T, 1, 256, 256)
 *   for (int k = 0; k < steps; k++) { step(u); nexp_h5_series_append(s, u, k * tau, &err); }
 *   nexp_h5_series_close(s, &err);                                           // renamed into place here
 *
 * The dataset has shape (T, channels, height, width), float32, chunked one frame at a time (frames
 * above 4 MiB in row blocks), shuffled and deflate-compressed, with the field attributes except
 * time; "<dataset>_time" is a 1-D float64 dataset of length T with each frame's time. Masks are not
 * stored. The file is written under a temporary name and appears under path only when
 * nexp_h5_series_close succeeds; nexp_h5_series_abort removes it. */
typedef struct nexp_h5_series nexp_h5_series;

/* Start a new series file (replacing an existing one only at close). dataset NULL: "field". */
nexp_status nexp_h5_series_create(nexp_h5_series **out, const char *path, const char *dataset, int width, int height,
                                  int channels, const nexp_h5_attrs *attrs, nexp_error *err);
/* Append f (same width, height and channels as the series) as the next frame at the given time. */
nexp_status nexp_h5_series_append(nexp_h5_series *s, const nexp_field *f, double time, nexp_error *err);
/* Number of frames appended so far. */
long long nexp_h5_series_count(const nexp_h5_series *s);
/* Finish the file and rename it into place; frees s whatever the outcome (on failure nothing is
 * left under path's temporary name and an existing file at path is untouched). Accepts NULL. */
nexp_status nexp_h5_series_close(nexp_h5_series *s, nexp_error *err);
/* Discard the series: frees s and removes its temporary file. Accepts NULL. */
void nexp_h5_series_abort(nexp_h5_series *s);

/* Number of frames of a series dataset in a file. */
nexp_status nexp_h5_series_length(const char *path, const char *dataset, long long *n, nexp_error *err);
/* Frame index (0-based; negative counts from the end) as a new field and its time (time may be
 * NULL). */
nexp_status nexp_h5_series_read_frame(const char *path, const char *dataset, long long index, nexp_field **out,
                                      double *time, nexp_error *err);

/* ---- files of named arrays (checkpoints) ---------------------------------------------------
 *
 *   nexp_h5_file *h = NULL;
 *   nexp_h5_create(&h, "model.h5", &err);                                   // temporary file
 *   size_t dims[4] = { 16, 3, 3, 3 };
 *   nexp_h5_write_array(h, "params/conv1.weight", NEXP_H5_FLOAT, 4, dims, w, &err);
 *   nexp_h5_write_attr_int64(h, "/", "step", 1200, &err);
 *   nexp_h5_commit(h, &err);                                                // renamed into place
 *   nexp_h5_close(h);
 *
 *   nexp_h5_open_read(&h, "model.h5", &err);
 *   nexp_h5_read_array(h, "params/conv1.weight", NEXP_H5_FLOAT, 4, dims, w, &err);
 *   // shape differs: NEXP_ERR_MISMATCH, "model.h5: params/conv1.weight: expected shape
 *   //                (16, 3, 3, 3), file has (8, 3, 3, 3)"
 *   nexp_h5_close(h);
 *
 * Arrays are plain contiguous datasets in C (row-major) order, little-endian; object paths are
 * relative to the root ("/" or "" is the root itself) and writing creates intermediate groups.
 * Functions on a handle prefix messages with the file's path. A handle is used by one thread at a
 * time. */
typedef struct nexp_h5_file nexp_h5_file;

#define NEXP_H5_MAX_RANK 8

typedef enum nexp_h5_type {
    NEXP_H5_DOUBLE = 0, /* float64 */
    NEXP_H5_FLOAT = 1,  /* float32 */
    NEXP_H5_INT64 = 2,
    NEXP_H5_UINT64 = 3,
    NEXP_H5_UINT8 = 4
} nexp_h5_type;

/* "float64", "float32", "int64", "uint64", "uint8". */
const char *nexp_h5_type_name(nexp_h5_type t);

/* Start a new file under a temporary name; it replaces path only at nexp_h5_commit. */
nexp_status nexp_h5_create(nexp_h5_file **out, const char *path, nexp_error *err);
/* Open an existing file read-only (NEXP_ERR_IO if missing, NEXP_ERR_FORMAT if not HDF5 or damaged). */
nexp_status nexp_h5_open_read(nexp_h5_file **out, const char *path, nexp_error *err);
/* Writers: finish the file, fsync it and rename it onto its final name. The handle stays valid
 * for nexp_h5_close only. */
nexp_status nexp_h5_commit(nexp_h5_file *h, nexp_error *err);
/* Release the handle. A writer that was not committed is aborted: its temporary file is removed
 * and an existing file at its path is untouched. Accepts NULL. */
void nexp_h5_close(nexp_h5_file *h);

/* A field as a dataset of h, in the layout of nexp_h5_write_field. */
nexp_status nexp_h5_put_field(nexp_h5_file *h, const char *dataset, const nexp_field *f, const nexp_h5_attrs *attrs,
                              nexp_error *err);
nexp_status nexp_h5_get_field(nexp_h5_file *h, const char *dataset, nexp_field **out, nexp_h5_attrs *attrs_out,
                              nexp_error *err);

typedef enum nexp_h5_object {
    NEXP_H5_NONE = 0,
    NEXP_H5_GROUP = 1,
    NEXP_H5_DATASET = 2
} nexp_h5_object;

/* What the object at path is (NEXP_H5_NONE if absent, also when a parent is missing). */
nexp_h5_object nexp_h5_exists(nexp_h5_file *h, const char *path);
/* Names of the direct children of a group, sorted; *names is a malloc'd array of *count malloc'd
 * strings, released with nexp_h5_free_names. */
nexp_status nexp_h5_list(nexp_h5_file *h, const char *group, char ***names, size_t *count, nexp_error *err);
void nexp_h5_free_names(char **names, size_t count);
/* Create a group (and its parents); an existing group is fine. */
nexp_status nexp_h5_create_group(nexp_h5_file *h, const char *path, nexp_error *err);

/* Write an array of rank 0..NEXP_H5_MAX_RANK (rank 0: one value) stored with type; the path must
 * not exist yet. */
nexp_status nexp_h5_write_array(nexp_h5_file *h, const char *path, nexp_h5_type type, int rank, const size_t *dims,
                                const void *data, nexp_error *err);

typedef struct nexp_h5_array_meta {
    nexp_h5_type type; /* the stored type (integers narrower than 64 bits report INT64/UINT64, except uint8) */
    int rank;
    size_t dims[NEXP_H5_MAX_RANK];
    size_t count; /* product of dims */
} nexp_h5_array_meta;

/* Type and shape of the array at path, to size a buffer or check a shape before reading. */
nexp_status nexp_h5_array_info(nexp_h5_file *h, const char *path, nexp_h5_array_meta *info, nexp_error *err);
/* Read the array at path into data as type. The file's shape must equal (rank, dims), else
 * NEXP_ERR_MISMATCH naming both shapes. Conversions: any stored number to float64 or float32;
 * integers to int64 when they fit (signed, or unsigned narrower than 64 bits); unsigned integers
 * to uint64; uint8 to uint8. Others (floating point to an integer, signed to unsigned) give
 * NEXP_ERR_MISMATCH. */
nexp_status nexp_h5_read_array(nexp_h5_file *h, const char *path, nexp_h5_type type, int rank, const size_t *dims,
                               void *data, nexp_error *err);

/* Records: an array that grows along an unlimited first axis, one record per call, e.g. an ODE
 * trajectory written while it is integrated:
 *
 *   size_t n[1] = { 3 };
 *   nexp_h5_append(h, "traj/y", NEXP_H5_DOUBLE, 1, n, y, &err);     // "traj/y" becomes (steps, 3)
 *   nexp_h5_append(h, "traj/t", NEXP_H5_DOUBLE, 0, NULL, &t, &err); // "traj/t" becomes (steps)
 *
 * The first append creates the dataset (shape (0, dims...) growing to (n, dims...), chunked,
 * shuffled, deflate-compressed); later appends must use the same type and record shape, else
 * NEXP_ERR_MISMATCH. Records have rank 0..NEXP_H5_MAX_RANK - 1 and no zero-length axis. */
nexp_status nexp_h5_append(nexp_h5_file *h, const char *path, nexp_h5_type type, int rank, const size_t *dims,
                           const void *data, nexp_error *err);
/* Read records [first, first + count) of the array at path (rank >= 1; any dataset, growing or
 * not) into data as type (conversions as for nexp_h5_read_array); a record has the shape of
 * dims[1..] from nexp_h5_array_info. */
nexp_status nexp_h5_read_records(nexp_h5_file *h, const char *path, nexp_h5_type type, size_t first, size_t count,
                                 void *data, nexp_error *err);

/* Attributes on any object (path "/" is the root group); writing creates a missing group at path
 * and replaces an attribute of the same name. */
nexp_status nexp_h5_write_attr_string(nexp_h5_file *h, const char *path, const char *name, const char *value,
                                      nexp_error *err);
nexp_status nexp_h5_write_attr_int64(nexp_h5_file *h, const char *path, const char *name, int64_t value,
                                     nexp_error *err);
nexp_status nexp_h5_write_attr_double(nexp_h5_file *h, const char *path, const char *name, double value,
                                      nexp_error *err);
nexp_status nexp_h5_write_attr_doubles(nexp_h5_file *h, const char *path, const char *name, const double *values,
                                       size_t n, nexp_error *err);
/* 1 if the object at path has the attribute, 0 otherwise. */
int nexp_h5_attr_exists(nexp_h5_file *h, const char *path, const char *name);
/* *value is a malloc'd copy owned by the caller. */
nexp_status nexp_h5_read_attr_string(nexp_h5_file *h, const char *path, const char *name, char **value,
                                     nexp_error *err);
nexp_status nexp_h5_read_attr_int64(nexp_h5_file *h, const char *path, const char *name, int64_t *value,
                                    nexp_error *err);
nexp_status nexp_h5_read_attr_double(nexp_h5_file *h, const char *path, const char *name, double *value,
                                     nexp_error *err);
/* Number of values of a numeric attribute (1 for a scalar). */
nexp_status nexp_h5_attr_length(nexp_h5_file *h, const char *path, const char *name, size_t *n, nexp_error *err);
/* Exactly n values (NEXP_ERR_MISMATCH if the attribute holds another number). */
nexp_status nexp_h5_read_attr_doubles(nexp_h5_file *h, const char *path, const char *name, double *values, size_t n,
                                      nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
