/* nexp_h5.h — HDF5 files written by nexp: fields, time series, named groups of arrays.
 *
 *   nexp_h5_attrs a = NEXP_H5_ATTRS_INIT;  a.kind = "flow"; a.units = "px";
 *   nexp_h5_write_field("flow.h5", "field", flow, &a, &err);      // dataset (channels, height, width)
 *   nexp_field *back = NULL;
 *   nexp_h5_read_field("flow.h5", "field", &back, NULL, &err);
 *
 * Layout (documented in the README, readable with h5py and h5dump): a field is a float32 dataset of
 * shape (channels, height, width), chunked and deflate-compressed, with attributes kind (string),
 * spacing (double), time (double), units (string), metadata (string), and, for flow with unknown
 * vectors, a uint8 dataset "<name>_valid" of shape (height, width). A time series is a dataset of
 * shape (T, channels, height, width) with an unlimited first axis and a companion 1-D double
 * dataset "<name>_time". Files are written atomically (temporary file + rename).
 */
#ifndef NEXP_H5_H
#define NEXP_H5_H

#include "nexp_field.h"
#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nexp_h5_attrs {
    const char *kind;     /* "image", "flow", "scalar", "mask", "tensor"; NULL: from the field */
    double spacing;       /* grid spacing, default 1 */
    double time;          /* simulation time, default 0 */
    const char *units;    /* NULL: none */
    const char *metadata; /* free-form text (e.g. the command line); NULL: none */
} nexp_h5_attrs;

#define NEXP_H5_ATTRS_INIT { NULL, 1.0, 0.0, NULL, NULL }

nexp_status nexp_h5_write_field(const char *path, const char *dataset, const nexp_field *f,
                                const nexp_h5_attrs *attrs, nexp_error *err);
/* dataset NULL: "field". attrs_out may be NULL; its strings are not returned (see nexp_h5_read_attr_string). */
nexp_status nexp_h5_read_field(const char *path, const char *dataset, nexp_field **out, nexp_h5_attrs *attrs_out,
                               nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
