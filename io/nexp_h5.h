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
 * nexp_h5_read_attr_string). */
nexp_status nexp_h5_read_field(const char *path, const char *dataset, nexp_field **out, nexp_h5_attrs *attrs_out,
                               nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
