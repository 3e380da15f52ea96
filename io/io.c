/* Format names and the generic read/write dispatch by extension. */
#include <ctype.h>
#include <strings.h>

#include "io_internal.h"
#include "nexp_h5.h"

static const struct {
    nexp_format fmt;
    const char *name;
} format_names[] = {
    { NEXP_FORMAT_FLO, "flo" }, { NEXP_FORMAT_PNG, "png" }, { NEXP_FORMAT_PGM, "pgm" }, { NEXP_FORMAT_PPM, "ppm" },
    { NEXP_FORMAT_PFM, "pfm" }, { NEXP_FORMAT_H5, "h5" },   { NEXP_FORMAT_KITTI, "kitti" },
};

static const struct {
    const char *ext;
    nexp_format fmt;
} extensions[] = {
    { "flo", NEXP_FORMAT_FLO }, { "png", NEXP_FORMAT_PNG }, { "pgm", NEXP_FORMAT_PGM }, { "ppm", NEXP_FORMAT_PPM },
    { "pfm", NEXP_FORMAT_PFM }, { "h5", NEXP_FORMAT_H5 },   { "hdf5", NEXP_FORMAT_H5 },
};

nexp_format nexp_format_from_path(const char *path)
{
    if (path == NULL) {
        return NEXP_FORMAT_UNKNOWN;
    }
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    if (dot == NULL) {
        return NEXP_FORMAT_UNKNOWN;
    }
    for (size_t i = 0; i < sizeof extensions / sizeof extensions[0]; i++) {
        if (strcasecmp(dot + 1, extensions[i].ext) == 0) {
            return extensions[i].fmt;
        }
    }
    return NEXP_FORMAT_UNKNOWN;
}

const char *nexp_format_name(nexp_format fmt)
{
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++) {
        if (format_names[i].fmt == fmt) {
            return format_names[i].name;
        }
    }
    return "unknown";
}

nexp_format nexp_format_from_name(const char *name)
{
    for (size_t i = 0; name != NULL && i < sizeof format_names / sizeof format_names[0]; i++) {
        if (strcasecmp(name, format_names[i].name) == 0) {
            return format_names[i].fmt;
        }
    }
    return NEXP_FORMAT_UNKNOWN;
}

static nexp_status unknown_format(const char *path, nexp_error *err)
{
    return io_fail(err, path, NEXP_ERR_UNSUPPORTED, "unknown file type (extensions: .flo .png .pgm .ppm .pfm .h5)");
}

nexp_status nexp_field_read_ex(const char *path, const nexp_read_options *opt, nexp_field **out, nexp_error *err)
{
    *out = NULL;
    if (path == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "no input file name");
    }
    nexp_format fmt = opt && opt->format != NEXP_FORMAT_UNKNOWN ? opt->format : nexp_format_from_path(path);
    switch (fmt) {
    case NEXP_FORMAT_FLO:
        return nexp_flo_read(path, out, err);
    case NEXP_FORMAT_PNG:
        return nexp_png_read(path, out, err);
    case NEXP_FORMAT_PGM:
    case NEXP_FORMAT_PPM:
        return nexp_pnm_read(path, out, err);
    case NEXP_FORMAT_PFM:
        return nexp_pfm_read(path, out, err);
    case NEXP_FORMAT_KITTI:
        return nexp_kitti_read(path, out, err);
    case NEXP_FORMAT_H5:
        return nexp_h5_read_field(path, opt && opt->dataset ? opt->dataset : "field", out, NULL, err);
    case NEXP_FORMAT_UNKNOWN:
        break;
    }
    return unknown_format(path, err);
}

nexp_status nexp_field_read(const char *path, nexp_field **out, nexp_error *err)
{
    return nexp_field_read_ex(path, NULL, out, err);
}

/* Integer image formats clamp to 0..255 / 0..65535: refuse flow, whose values are signed. */
static nexp_status check_image(const char *path, const nexp_field *f, const char *what, nexp_error *err)
{
    if (f->kind == NEXP_KIND_FLOW) {
        return io_fail(err, path, NEXP_ERR_UNSUPPORTED,
                       "%s cannot hold signed flow vectors (write .flo or .h5; 'nexp flowviz' draws flow as colour)", what);
    }
    return NEXP_OK;
}

nexp_status nexp_field_write_ex(const char *path, const nexp_field *f, const nexp_write_options *opt,
                                nexp_error *err)
{
    if (path == NULL || f == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "no output file name or no field");
    }
    nexp_format fmt = opt && opt->format != NEXP_FORMAT_UNKNOWN ? opt->format : nexp_format_from_path(path);
    int depth = opt ? opt->bit_depth : 0;
    nexp_status st;
    switch (fmt) {
    case NEXP_FORMAT_FLO:
        return nexp_flo_write(path, f, err);
    case NEXP_FORMAT_PNG:
        if ((st = check_image(path, f, "PNG", err)) != NEXP_OK) {
            return st;
        }
        return nexp_png_write(path, f, depth, err);
    case NEXP_FORMAT_PGM:
    case NEXP_FORMAT_PPM:
        if ((st = check_image(path, f, "PGM/PPM", err)) != NEXP_OK) {
            return st;
        }
        if (f->channels != (fmt == NEXP_FORMAT_PGM ? 1 : 3)) {
            return io_fail(err, path, NEXP_ERR_ARG, "%s holds %s, the field has %d channels",
                           fmt == NEXP_FORMAT_PGM ? ".pgm" : ".ppm", fmt == NEXP_FORMAT_PGM ? "1 channel" : "3 channels",
                           f->channels);
        }
        return nexp_pnm_write(path, f, depth, err);
    case NEXP_FORMAT_PFM:
        return nexp_pfm_write(path, f, err);
    case NEXP_FORMAT_H5: {
        nexp_h5_attrs attrs = NEXP_H5_ATTRS_INIT;
        return nexp_h5_write_field(path, opt && opt->dataset ? opt->dataset : "field", f, &attrs, err);
    }
    case NEXP_FORMAT_KITTI:
        return io_fail(err, path, NEXP_ERR_UNSUPPORTED, "KITTI flow PNGs are read-only");
    case NEXP_FORMAT_UNKNOWN:
        break;
    }
    return unknown_format(path, err);
}

nexp_status nexp_field_write(const char *path, const nexp_field *f, nexp_error *err)
{
    return nexp_field_write_ex(path, f, NULL, err);
}
