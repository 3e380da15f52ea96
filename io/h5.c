/* HDF5 files: fields, time series and named groups of arrays (layout in nexp_h5.h and the README).
 *
 * Internal functions report "<object>: <problem>" without the file name; each public entry point
 * silences HDF5's error printing for its duration and prefixes a failure with the file's path. */
#include "nexp_h5.h"
#include "nexp_io.h"

#include <errno.h>
#include <hdf5.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- HDF5 error handling --------------------------------------------------------------------- */

typedef struct h5_quiet {
    H5E_auto2_t fn;
    void *data;
} h5_quiet;

static h5_quiet quiet_begin(void)
{
    h5_quiet q = { NULL, NULL };
    H5Eget_auto2(H5E_DEFAULT, &q.fn, &q.data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return q;
}

static void quiet_end(h5_quiet q)
{
    H5Eset_auto2(H5E_DEFAULT, q.fn, q.data);
}

typedef struct detail_buf {
    char *buf;
    size_t len;
} detail_buf;

static herr_t detail_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    detail_buf *d = data;
    if (n == 0 && e->desc != NULL) {
        snprintf(d->buf, d->len, "%s", e->desc);
    }
    return 0;
}

/* Set err to "<message> (HDF5: <innermost HDF5 error>)"; call right after the failing HDF5 call,
 * before any other HDF5 call clears the error stack. */
static nexp_status h5_fail(nexp_error *err, nexp_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static nexp_status h5_fail(nexp_error *err, nexp_status code, const char *fmt, ...)
{
    char msg[NEXP_ERROR_MSG_MAX], detail[256] = "";
    detail_buf d = { detail, sizeof detail };
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, detail_cb, &d);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (detail[0] != '\0') {
        return nexp_error_set(err, code, "%s (HDF5: %s)", msg, detail);
    }
    return nexp_error_set(err, code, "%s", msg);
}

static void close_id(hid_t id)
{
    if (id < 0) {
        return;
    }
    switch (H5Iget_type(id)) {
    case H5I_FILE:
        H5Fclose(id);
        break;
    case H5I_GROUP:
        H5Gclose(id);
        break;
    case H5I_DATASET:
        H5Dclose(id);
        break;
    case H5I_DATASPACE:
        H5Sclose(id);
        break;
    case H5I_DATATYPE:
        H5Tclose(id);
        break;
    case H5I_ATTR:
        H5Aclose(id);
        break;
    case H5I_GENPROP_LST:
        H5Pclose(id);
        break;
    default:
        break;
    }
}

/* Prefix a failure's message with the file name; returns st. */
static nexp_status with_path(nexp_status st, nexp_error *err, const char *path)
{
    if (st != NEXP_OK) {
        nexp_error_prefix(err, path);
    }
    return st;
}

/* Copy an error of the atomic-output helpers (which may start with the file name) into err
 * without the name: the public entry points add it. */
static nexp_status forward_atomic(nexp_error *err, const nexp_error *inner, const char *path)
{
    size_t n = strlen(path);
    const char *m = inner->msg;
    if (strncmp(m, path, n) == 0 && m[n] == ':' && m[n + 1] == ' ') {
        m += n + 2;
    }
    return nexp_error_set(err, inner->code, "%s", m[0] != '\0' ? m : nexp_strerror(inner->code));
}

/* ---- files ------------------------------------------------------------------------------------ */

struct nexp_h5_file {
    hid_t fid;
    int writable;
    int committed;
    char *path;         /* the final name (for messages) */
    nexp_atomic_file af; /* writers: the temporary file being written */
};

static void file_free(nexp_h5_file *f)
{
    if (f == NULL) {
        return;
    }
    if (f->fid >= 0) {
        H5Fclose(f->fid);
    }
    if (f->writable && !f->committed) {
        nexp_atomic_abort(&f->af);
    }
    free(f->path);
    free(f);
}

static nexp_status file_alloc(nexp_h5_file **out, const char *path, nexp_error *err)
{
    *out = NULL;
    if (path == NULL || path[0] == '\0') {
        return nexp_error_set(err, NEXP_ERR_ARG, "empty file name");
    }
    nexp_h5_file *f = calloc(1, sizeof *f);
    if (f == NULL || (f->path = strdup(path)) == NULL) {
        free(f);
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory");
    }
    f->fid = -1;
    *out = f;
    return NEXP_OK;
}

static hid_t strong_close_fapl(void)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl >= 0) {
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
#if H5_VERSION_GE(1, 10, 7)
        /* lock as usual, but do not fail on file systems without locks (NFS, some containers) */
        H5Pset_file_locking(fapl, 1, 1);
#endif
    }
    return fapl;
}

static nexp_status file_open_read(nexp_h5_file **out, const char *path, nexp_error *err)
{
    nexp_h5_file *f = NULL;
    nexp_status st = file_alloc(&f, path, err);
    if (st != NEXP_OK) {
        return st;
    }
    struct stat sb;
    FILE *fp = NULL;
    if (stat(path, &sb) != 0 || (fp = fopen(path, "rb")) == NULL) {
        st = nexp_error_set(err, NEXP_ERR_IO, "cannot open: %s", strerror(errno));
        goto fail;
    }
    fclose(fp);
    if (!S_ISREG(sb.st_mode)) {
        st = nexp_error_set(err, NEXP_ERR_IO, "not a regular file");
        goto fail;
    }
    htri_t is = H5Fis_hdf5(path);
    if (is == 0) {
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "not an HDF5 file (no HDF5 signature in its %lld bytes)",
                            (long long)sb.st_size);
        goto fail;
    }
    if (is < 0) {
        st = h5_fail(err, NEXP_ERR_FORMAT, "not a readable HDF5 file");
        goto fail;
    }
    hid_t fapl = strong_close_fapl();
    f->fid = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (f->fid < 0) {
        st = h5_fail(err, NEXP_ERR_FORMAT, "damaged or truncated HDF5 file");
        close_id(fapl);
        goto fail;
    }
    close_id(fapl);
    *out = f;
    return NEXP_OK;
fail:
    file_free(f);
    return st;
}

static nexp_status file_create(nexp_h5_file **out, const char *path, nexp_error *err)
{
    nexp_h5_file *f = NULL;
    nexp_status st = file_alloc(&f, path, err);
    if (st != NEXP_OK) {
        return st;
    }
    nexp_error inner = NEXP_ERROR_INIT;
    if (nexp_atomic_reserve(&f->af, path, &inner) != NEXP_OK) {
        st = forward_atomic(err, &inner, path);
        free(f->path);
        free(f);
        return st;
    }
    f->writable = 1;
    hid_t fapl = strong_close_fapl();
    errno = 0;
    f->fid = H5Fcreate(f->af.tmp_path, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
    if (f->fid < 0) {
        int e = errno;
        st = e != 0 ? nexp_error_set(err, NEXP_ERR_IO, "cannot create a temporary file in its directory: %s",
                                     strerror(e))
                    : h5_fail(err, NEXP_ERR_IO, "cannot create the temporary file %s", f->af.tmp_path);
        close_id(fapl);
        file_free(f);
        return st;
    }
    close_id(fapl);
    *out = f;
    return NEXP_OK;
}

static nexp_status file_commit(nexp_h5_file *f, nexp_error *err)
{
    if (!f->writable || f->committed || f->fid < 0) {
        return nexp_error_set(err, NEXP_ERR_ARG, "file is not open for writing");
    }
    herr_t r = H5Fclose(f->fid);
    f->fid = -1;
    if (r < 0) {
        return h5_fail(err, NEXP_ERR_IO, "cannot finish writing");
    }
    nexp_error inner = NEXP_ERROR_INIT;
    if (nexp_atomic_commit(&f->af, &inner) != NEXP_OK) {
        return forward_atomic(err, &inner, f->path);
    }
    f->committed = 1;
    return NEXP_OK;
}

static nexp_status check_writable(const nexp_h5_file *f, nexp_error *err)
{
    if (!f->writable || f->committed || f->fid < 0) {
        return nexp_error_set(err, NEXP_ERR_ARG, "file is not open for writing");
    }
    return NEXP_OK;
}

/* ---- names ------------------------------------------------------------------------------------ */

static nexp_status check_name(const char *name, nexp_error *err)
{
    if (name == NULL || name[0] == '\0' || strcmp(name, "/") == 0) {
        return nexp_error_set(err, NEXP_ERR_ARG, "empty object name");
    }
    if (strstr(name, "//") != NULL || name[strlen(name) - 1] == '/') {
        return nexp_error_set(err, NEXP_ERR_ARG, "object name '%s' has an empty component", name);
    }
    return NEXP_OK;
}

/* 1 if the object at name (a path relative to the root) exists, 0 if not, -1 on an HDF5 error. */
static int object_exists(hid_t fid, const char *name)
{
    if (name[0] == '\0' || strcmp(name, "/") == 0 || strcmp(name, ".") == 0) {
        return 1;
    }
    char *p = strdup(name);
    if (p == NULL) {
        return -1;
    }
    int found = 1;
    for (char *s = strchr(p + 1, '/'); s != NULL && found; s = strchr(s + 1, '/')) {
        *s = '\0';
        found = H5Lexists(fid, p, H5P_DEFAULT) > 0;
        *s = '/';
    }
    if (found) {
        found = H5Lexists(fid, p, H5P_DEFAULT) > 0 && H5Oexists_by_name(fid, p, H5P_DEFAULT) > 0;
    }
    free(p);
    return found;
}

typedef struct list_ctx {
    char *buf;
    size_t len, used;
    int count;
} list_ctx;

static herr_t list_datasets_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    list_ctx *c = data;
    (void)info;
    hid_t o = H5Oopen(g, name, H5P_DEFAULT);
    if (o < 0) {
        return 0;
    }
    if (H5Iget_type(o) == H5I_DATASET) {
        int n = snprintf(c->buf + c->used, c->len - c->used, "%s%s", c->count ? ", " : "", name);
        if (n < 0 || (size_t)n >= c->len - c->used) {
            close_id(o);
            snprintf(c->buf + c->used, c->len - c->used, ", ...");
            return 1;
        }
        c->used += (size_t)n;
        c->count++;
    }
    close_id(o);
    return 0;
}

/* The missing-object error, listing the datasets the file has. */
static nexp_status missing(hid_t fid, const char *what, const char *name, nexp_error *err)
{
    char names[200] = "";
    list_ctx c = { names, sizeof names, 0, 0 };
    H5Lvisit(fid, H5_INDEX_NAME, H5_ITER_INC, list_datasets_cb, &c);
    if (c.count == 0) {
        return nexp_error_set(err, NEXP_ERR_MISMATCH, "no %s '%s' (the file has no datasets)", what, name);
    }
    return nexp_error_set(err, NEXP_ERR_MISMATCH, "no %s '%s' (the file has: %s)", what, name, names);
}

static hid_t link_create_plist(void)
{
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    if (lcpl >= 0) {
        H5Pset_create_intermediate_group(lcpl, 1);
    }
    return lcpl;
}

/* ---- attributes ------------------------------------------------------------------------------- */

static hid_t vlen_string_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0) {
        H5Tset_size(t, H5T_VARIABLE);
        H5Tset_cset(t, H5T_CSET_UTF8);
    }
    return t;
}

/* Write (or replace) attribute name on obj: n values (n == 0: a scalar) of memtype stored as filetype. */
static nexp_status attr_put(hid_t obj, const char *name, hid_t filetype, hid_t memtype, size_t n,
                            const void *value, nexp_error *err)
{
    if (H5Aexists(obj, name) > 0 && H5Adelete(obj, name) < 0) {
        return h5_fail(err, NEXP_ERR_IO, "cannot replace attribute '%s'", name);
    }
    hsize_t dim = n;
    hid_t space = n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
    hid_t a = H5Acreate2(obj, name, filetype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, memtype, value) < 0) {
        nexp_status st = h5_fail(err, NEXP_ERR_IO, "cannot write attribute '%s'", name);
        close_id(a);
        close_id(space);
        return st;
    }
    close_id(a);
    close_id(space);
    return NEXP_OK;
}

static nexp_status attr_put_string(hid_t obj, const char *name, const char *value, nexp_error *err)
{
    hid_t t = vlen_string_type();
    nexp_status st = attr_put(obj, name, t, t, 0, &value, err);
    close_id(t);
    return st;
}

static nexp_status attr_put_double(hid_t obj, const char *name, double value, nexp_error *err)
{
    return attr_put(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 0, &value, err);
}

static nexp_status attr_put_int64(hid_t obj, const char *name, int64_t value, nexp_error *err)
{
    return attr_put(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, &value, err);
}

/* Open attribute name of obj; NEXP_ERR_MISMATCH if it does not exist. */
static nexp_status attr_open(hid_t obj, const char *objname, const char *name, hid_t *a, nexp_error *err)
{
    *a = -1;
    htri_t ex = H5Aexists(obj, name);
    if (ex == 0) {
        return nexp_error_set(err, NEXP_ERR_MISMATCH, "'%s' has no attribute '%s'", objname, name);
    }
    if (ex < 0 || (*a = H5Aopen(obj, name, H5P_DEFAULT)) < 0) {
        return h5_fail(err, NEXP_ERR_FORMAT, "cannot open attribute '%s' of '%s'", name, objname);
    }
    /* The stored data must hold every value as its type encodes it (variable-length: length,
     * global heap address, object index): HDF5 1.10 reads past a shorter buffer. */
    hid_t t = H5Aget_type(*a), space = H5Aget_space(*a);
    hssize_t np = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    size_t size = t >= 0 ? H5Tget_size(t) : 0;
    if (t >= 0 && (H5Tget_class(t) == H5T_VLEN || H5Tis_variable_str(t) > 0)) {
        hid_t file = H5Iget_file_id(*a), fcpl = file >= 0 ? H5Fget_create_plist(file) : -1;
        size_t addr = 0;
        size = fcpl >= 0 && H5Pget_sizes(fcpl, &addr, NULL) >= 0 ? 4 + addr + 4 : 0;
        close_id(fcpl);
        close_id(file);
    }
    hsize_t stored = H5Aget_storage_size(*a);
    close_id(space);
    close_id(t);
    if (np < 0 || size == 0 || (np > 0 && stored / (hsize_t)np < size)) {
        close_id(*a);
        *a = -1;
        return nexp_error_set(err, NEXP_ERR_FORMAT,
                              "attribute '%s' of '%s' is damaged: %llu bytes stored for %lld values of %zu bytes",
                              name, objname, (unsigned long long)stored, (long long)np, size);
    }
    return NEXP_OK;
}

/* Number of values of an open attribute (1 for a scalar). */
static nexp_status attr_count(hid_t a, const char *objname, const char *name, size_t *n, nexp_error *err)
{
    hid_t space = H5Aget_space(a);
    hssize_t np = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
    close_id(space);
    if (np < 0) {
        return h5_fail(err, NEXP_ERR_FORMAT, "cannot read the size of attribute '%s' of '%s'", name, objname);
    }
    *n = (size_t)np;
    return NEXP_OK;
}

/* Read n numeric values of attribute name as memtype; the attribute must hold exactly n values. */
static nexp_status attr_get_numbers(hid_t obj, const char *objname, const char *name, hid_t memtype, void *out,
                                    size_t n, nexp_error *err)
{
    hid_t a;
    nexp_status st = attr_open(obj, objname, name, &a, err);
    if (st != NEXP_OK) {
        return st;
    }
    size_t have = 0;
    st = attr_count(a, objname, name, &have, err);
    hid_t t = H5Aget_type(a);
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    close_id(t);
    if (st == NEXP_OK && cls != H5T_INTEGER && cls != H5T_FLOAT) {
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "attribute '%s' of '%s' is not numeric", name, objname);
    } else if (st == NEXP_OK && have != n) {
        st = nexp_error_set(err, NEXP_ERR_MISMATCH, "attribute '%s' of '%s' has %zu values, expected %zu", name,
                            objname, have, n);
    } else if (st == NEXP_OK && H5Aread(a, memtype, out) < 0) {
        st = h5_fail(err, NEXP_ERR_FORMAT, "cannot read attribute '%s' of '%s'", name, objname);
    }
    close_id(a);
    return st;
}

/* Read a string attribute (variable or fixed length) into a malloc'd string. */
static nexp_status attr_get_string(hid_t obj, const char *objname, const char *name, char **out, nexp_error *err)
{
    *out = NULL;
    hid_t a;
    nexp_status st = attr_open(obj, objname, name, &a, err);
    if (st != NEXP_OK) {
        return st;
    }
    size_t n = 0;
    hid_t t = -1, mt = -1;
    st = attr_count(a, objname, name, &n, err);
    if (st != NEXP_OK) {
        goto done;
    }
    t = H5Aget_type(a);
    if (t < 0 || H5Tget_class(t) != H5T_STRING || n != 1) {
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "attribute '%s' of '%s' is not a single string", name, objname);
        goto done;
    }
    if (H5Tis_variable_str(t) > 0) {
        mt = vlen_string_type();
        char *s = NULL;
        if (H5Aread(a, mt, &s) < 0) {
            st = h5_fail(err, NEXP_ERR_FORMAT, "cannot read attribute '%s' of '%s'", name, objname);
            goto done;
        }
        *out = strdup(s != NULL ? s : "");
        H5free_memory(s);
    } else {
        size_t len = H5Tget_size(t);
        mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, len + 1);
        *out = calloc(len + 1, 1);
        if (*out != NULL && H5Aread(a, mt, *out) < 0) {
            st = h5_fail(err, NEXP_ERR_FORMAT, "cannot read attribute '%s' of '%s'", name, objname);
            free(*out);
            *out = NULL;
            goto done;
        }
    }
    if (*out == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory");
    }
done:
    close_id(mt);
    close_id(t);
    close_id(a);
    return st;
}

/* ---- planes: one (height, width) slice of a dataset <-> rows of a padded buffer ---------------- */

/* Transfer the plane at start[0 .. rank-3] (the last two coordinates are the plane) between the
 * dataset and a buffer of h rows of stride elements, of which the first w are used. */
static herr_t plane_io(hid_t dset, int rank, const hsize_t *start, void *buf, hsize_t h, hsize_t w, hsize_t stride,
                       hid_t memtype, int write)
{
    hsize_t fstart[8], fcount[8];
    for (int i = 0; i < rank; i++) {
        fstart[i] = i < rank - 2 ? start[i] : 0;
        fcount[i] = i < rank - 2 ? 1 : (i == rank - 2 ? h : w);
    }
    hsize_t mdims[2] = { h, stride }, mstart[2] = { 0, 0 }, mcount[2] = { h, w };
    hid_t fspace = H5Dget_space(dset);
    hid_t mspace = H5Screate_simple(2, mdims, NULL);
    herr_t r = -1;
    if (fspace >= 0 && mspace >= 0 &&
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, fstart, NULL, fcount, NULL) >= 0 &&
        H5Sselect_hyperslab(mspace, H5S_SELECT_SET, mstart, NULL, mcount, NULL) >= 0) {
        r = write ? H5Dwrite(dset, memtype, mspace, fspace, H5P_DEFAULT, buf)
                  : H5Dread(dset, memtype, mspace, fspace, H5P_DEFAULT, buf);
    }
    close_id(mspace);
    close_id(fspace);
    return r;
}

/* Chunk of a (height, width) plane: whole rows up to about 1 MiB of float32. */
static void plane_chunk(hsize_t h, hsize_t w, hsize_t *ch, hsize_t *cw)
{
    *cw = w < 65536 ? w : 65536;
    hsize_t rows = (hsize_t)(256 * 1024) / *cw;
    *ch = rows < 1 ? 1 : (rows > h ? h : rows);
}

/* Dataset creation properties: chunked, shuffled, deflate level 1 (on Sintel flow 3 % larger than
 * level 4, a third faster to write). */
static hid_t compressed_dcpl(int rank, const hsize_t *chunk)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl >= 0 &&
        (H5Pset_chunk(dcpl, rank, chunk) < 0 || H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, 1) < 0)) {
        close_id(dcpl);
        return -1;
    }
    return dcpl;
}

/* ---- fields ----------------------------------------------------------------------------------- */

static int kind_from_name(const char *s, nexp_field_kind *k)
{
    static const nexp_field_kind all[] = { NEXP_KIND_SCALAR, NEXP_KIND_IMAGE, NEXP_KIND_FLOW, NEXP_KIND_MASK,
                                           NEXP_KIND_TENSOR };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, nexp_field_kind_name(all[i])) == 0) {
            *k = all[i];
            return 1;
        }
    }
    return 0;
}

/* "<name><suffix>" in a malloc'd string: the companion datasets "<name>_valid", "<name>_time". */
static nexp_status suffixed(const char *name, const char *suffix, char **out, nexp_error *err)
{
    size_t n = strlen(name) + strlen(suffix) + 1;
    *out = malloc(n);
    if (*out == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory");
    }
    snprintf(*out, n, "%s%s", name, suffix);
    return NEXP_OK;
}

/* The field attributes kind, spacing, time, units, metadata (and bit_depth for images). */
static nexp_status put_field_attrs(hid_t obj, nexp_field_kind kind, int bit_depth, const nexp_h5_attrs *attrs,
                                   int with_time, nexp_error *err)
{
    nexp_h5_attrs a = NEXP_H5_ATTRS_INIT;
    if (attrs != NULL) {
        a = *attrs;
    }
    nexp_status st = attr_put_string(obj, "kind", a.kind != NULL ? a.kind : nexp_field_kind_name(kind), err);
    if (st == NEXP_OK) {
        st = attr_put_double(obj, "spacing", a.spacing, err);
    }
    if (st == NEXP_OK && with_time) {
        st = attr_put_double(obj, "time", a.time, err);
    }
    if (st == NEXP_OK && a.units != NULL) {
        st = attr_put_string(obj, "units", a.units, err);
    }
    if (st == NEXP_OK && a.metadata != NULL) {
        st = attr_put_string(obj, "metadata", a.metadata, err);
    }
    if (st == NEXP_OK && bit_depth != 0) {
        st = attr_put_int64(obj, "bit_depth", bit_depth, err);
    }
    return st;
}

static nexp_status write_mask(hid_t fid, const char *name, const nexp_field *f, nexp_error *err)
{
    char *mname = NULL;
    nexp_status st = suffixed(name, "_valid", &mname, err);
    if (st != NEXP_OK) {
        return st;
    }
    hsize_t dims[2] = { (hsize_t)f->height, (hsize_t)f->width }, chunk[2];
    plane_chunk(dims[0], dims[1], &chunk[0], &chunk[1]);
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t dcpl = compressed_dcpl(2, chunk);
    hid_t lcpl = link_create_plist();
    hid_t d = H5Dcreate2(fid, mname, H5T_STD_U8LE, space, lcpl, dcpl, H5P_DEFAULT);
    if (d < 0) {
        st = h5_fail(err, NEXP_ERR_IO, "cannot create dataset '%s'", mname);
    } else {
        hsize_t start[2] = { 0, 0 };
        if (plane_io(d, 2, start, f->mask, dims[0], dims[1], f->stride, H5T_NATIVE_UINT8, 1) < 0) {
            st = h5_fail(err, NEXP_ERR_IO, "cannot write dataset '%s'", mname);
        }
    }
    close_id(d);
    close_id(lcpl);
    close_id(dcpl);
    close_id(space);
    free(mname);
    return st;
}

static nexp_status file_write_field(nexp_h5_file *file, const char *name, const nexp_field *f,
                                    const nexp_h5_attrs *attrs, nexp_error *err)
{
    nexp_status st = check_writable(file, err);
    if (st == NEXP_OK) {
        st = check_name(name, err);
    }
    if (st == NEXP_OK && (f == NULL || f->data == NULL)) {
        st = nexp_error_set(err, NEXP_ERR_ARG, "no field to write");
    }
    if (st == NEXP_OK) {
        st = nexp_field_check_dims(f->width, f->height, f->channels, err);
    }
    if (st != NEXP_OK) {
        return st;
    }
    if (object_exists(file->fid, name) != 0) {
        return nexp_error_set(err, NEXP_ERR_ARG, "'%s' already exists", name);
    }
    hsize_t dims[3] = { (hsize_t)f->channels, (hsize_t)f->height, (hsize_t)f->width }, chunk[3] = { 1, 1, 1 };
    plane_chunk(dims[1], dims[2], &chunk[1], &chunk[2]);
    hid_t space = H5Screate_simple(3, dims, NULL);
    hid_t dcpl = compressed_dcpl(3, chunk);
    hid_t lcpl = link_create_plist();
    hid_t d = H5Dcreate2(file->fid, name, H5T_IEEE_F32LE, space, lcpl, dcpl, H5P_DEFAULT);
    if (d < 0) {
        st = h5_fail(err, NEXP_ERR_IO, "cannot create dataset '%s'", name);
        goto done;
    }
    for (int c = 0; c < f->channels; c++) {
        hsize_t start[1] = { (hsize_t)c };
        if (plane_io(d, 3, start, f->data + (size_t)c * f->plane, dims[1], dims[2], f->stride, H5T_NATIVE_FLOAT,
                     1) < 0) {
            st = h5_fail(err, NEXP_ERR_IO, "cannot write dataset '%s'", name);
            goto done;
        }
    }
    st = put_field_attrs(d, f->kind, f->bit_depth, attrs, 1, err);
    if (st == NEXP_OK && f->mask != NULL) {
        st = write_mask(file->fid, name, f, err);
    }
done:
    close_id(d);
    close_id(lcpl);
    close_id(dcpl);
    close_id(space);
    return st;
}

/* Open a dataset that must exist; NEXP_ERR_MISMATCH listing the file's datasets if it does not. */
static nexp_status open_dataset(hid_t fid, const char *name, hid_t *d, nexp_error *err)
{
    *d = -1;
    nexp_status st = check_name(name, err);
    if (st != NEXP_OK) {
        return st;
    }
    int ex = object_exists(fid, name);
    if (ex == 0) {
        return missing(fid, "dataset", name, err);
    }
    hid_t o = ex > 0 ? H5Oopen(fid, name, H5P_DEFAULT) : -1;
    if (o < 0) {
        return h5_fail(err, NEXP_ERR_FORMAT, "cannot open '%s'", name);
    }
    if (H5Iget_type(o) != H5I_DATASET) {
        close_id(o);
        return nexp_error_set(err, NEXP_ERR_MISMATCH, "'%s' is a group, not a dataset", name);
    }
    *d = o;
    return NEXP_OK;
}

/* Rank and dims of an open dataset (at most 8 axes). */
static nexp_status dataset_shape(hid_t d, const char *name, int *rank, hsize_t *dims, nexp_error *err)
{
    hid_t space = H5Dget_space(d);
    int r = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (r < 0) {
        nexp_status st = h5_fail(err, NEXP_ERR_FORMAT, "cannot read the shape of '%s'", name);
        close_id(space);
        return st;
    }
    if (r > 8) {
        close_id(space);
        return nexp_error_set(err, NEXP_ERR_UNSUPPORTED, "'%s' has rank %d (at most 8 supported)", name, r);
    }
    H5Sget_simple_extent_dims(space, dims, NULL);
    close_id(space);
    *rank = r;
    return NEXP_OK;
}

static const char *class_name(H5T_class_t cls)
{
    switch (cls) {
    case H5T_INTEGER:
        return "integer";
    case H5T_FLOAT:
        return "floating point";
    case H5T_STRING:
        return "string";
    case H5T_COMPOUND:
        return "compound";
    case H5T_ENUM:
        return "enum";
    case H5T_VLEN:
        return "variable-length";
    case H5T_ARRAY:
        return "array";
    default:
        break;
    }
    return "non-numeric";
}

static nexp_status check_numeric(hid_t d, const char *name, nexp_error *err)
{
    hid_t t = H5Dget_type(d);
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    close_id(t);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        return nexp_error_set(err, NEXP_ERR_FORMAT, "'%s' holds %s values, not numbers", name, class_name(cls));
    }
    return NEXP_OK;
}

static nexp_status read_mask(hid_t fid, const char *name, nexp_field *f, nexp_error *err)
{
    char *mname = NULL;
    nexp_status st = suffixed(name, "_valid", &mname, err);
    if (st != NEXP_OK) {
        return st;
    }
    hid_t d = -1;
    int ex = object_exists(fid, mname);
    if (ex == 0) {
        goto done;
    }
    st = open_dataset(fid, mname, &d, err);
    int rank = 0;
    hsize_t dims[8];
    if (st == NEXP_OK) {
        st = dataset_shape(d, mname, &rank, dims, err);
    }
    /* 0/1 numbers, or a one-byte enum such as h5py's bool, read through its native form */
    hid_t memtype = -1;
    if (st == NEXP_OK) {
        hid_t t = H5Dget_type(d);
        if (t >= 0 && H5Tget_class(t) == H5T_ENUM && H5Tget_size(t) == 1) {
            memtype = H5Tget_native_type(t, H5T_DIR_ASCEND);
        } else {
            st = check_numeric(d, mname, err);
        }
        close_id(t);
    }
    if (st == NEXP_OK && (rank != 2 || dims[0] != (hsize_t)f->height || dims[1] != (hsize_t)f->width)) {
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "mask '%s' has %d axes (%llu, %llu), the field is (%d, %d)",
                            mname, rank, rank > 0 ? (unsigned long long)dims[0] : 0ULL,
                            rank > 1 ? (unsigned long long)dims[1] : 0ULL, f->height, f->width);
    }
    if (st == NEXP_OK) {
        st = nexp_field_ensure_mask(f, err);
    }
    if (st == NEXP_OK) {
        hsize_t start[2] = { 0, 0 };
        if (plane_io(d, 2, start, f->mask, dims[0], dims[1], f->stride, memtype >= 0 ? memtype : H5T_NATIVE_UINT8,
                     0) < 0) {
            st = h5_fail(err, NEXP_ERR_FORMAT, "cannot read dataset '%s'", mname);
        }
    }
    if (st == NEXP_OK) {
        for (int y = 0; y < f->height; y++) {
            uint8_t *m = f->mask + (size_t)y * f->stride;
            for (int x = 0; x < f->width; x++) {
                m[x] = m[x] != 0;
            }
        }
    }
    close_id(memtype);
done:
    close_id(d);
    free(mname);
    return st;
}

/* Optional attributes of a field: a missing one keeps the default. */
static nexp_status get_field_attrs(hid_t d, const char *name, nexp_field *f, nexp_h5_attrs *a, nexp_error *err)
{
    nexp_h5_attrs def = NEXP_H5_ATTRS_INIT;
    *a = def;
    nexp_status st = NEXP_OK;
    if (H5Aexists(d, "kind") > 0) {
        char *s = NULL;
        st = attr_get_string(d, name, "kind", &s, err);
        nexp_field_kind k;
        if (st == NEXP_OK && kind_from_name(s, &k)) {
            f->kind = k;
            a->kind = nexp_field_kind_name(k);
        }
        free(s);
    }
    if (st == NEXP_OK && H5Aexists(d, "spacing") > 0) {
        st = attr_get_numbers(d, name, "spacing", H5T_NATIVE_DOUBLE, &a->spacing, 1, err);
    }
    if (st == NEXP_OK && H5Aexists(d, "time") > 0) {
        st = attr_get_numbers(d, name, "time", H5T_NATIVE_DOUBLE, &a->time, 1, err);
    }
    if (st == NEXP_OK && H5Aexists(d, "bit_depth") > 0) {
        int64_t bd = 0;
        st = attr_get_numbers(d, name, "bit_depth", H5T_NATIVE_INT64, &bd, 1, err);
        if (st == NEXP_OK && bd != 8 && bd != 16) {
            st = nexp_error_set(err, NEXP_ERR_FORMAT, "'%s' has bit_depth %lld (8 or 16 expected)", name,
                                (long long)bd);
        }
        f->bit_depth = (int)bd;
    }
    return st;
}

/* Fields larger than this are read only if the dataset stores enough bytes to hold them
 * (deflate expands at most ~1032:1): a small damaged file (or a never-written dataset, which HDF5
 * reads as fill values) must not make a reader allocate gigabytes. */
#define H5_UNCHECKED_BYTES ((hsize_t)64 << 20)
#define H5_MAX_INFLATE 1100

static nexp_status check_stored(hid_t d, const char *name, hsize_t values, nexp_error *err)
{
    hsize_t needed = values * (hsize_t)sizeof(float);
    hsize_t stored = H5Dget_storage_size(d);
    if (needed > H5_UNCHECKED_BYTES && stored < needed / H5_MAX_INFLATE) {
        return nexp_error_set(err, NEXP_ERR_FORMAT,
                              "'%s' claims %llu values but stores only %llu bytes (damaged, or never written)",
                              name, (unsigned long long)values, (unsigned long long)stored);
    }
    return NEXP_OK;
}

/* Checks that dataset d holds numbers, that c x h x w is an allowed field size within the memory
 * limit and that the file stores enough bytes for it, then allocates the field. */
static nexp_status create_field_for(hid_t d, const char *name, hsize_t c, hsize_t h, hsize_t w, nexp_field **f,
                                    nexp_error *err)
{
    nexp_status st = check_numeric(d, name, err);
    if (st == NEXP_OK) {
        st = nexp_field_check_dims((long long)w, (long long)h, (long long)c, err);
        if (st != NEXP_OK) {
            nexp_error_prefix(err, name);
        }
    }
    if (st == NEXP_OK) {
        st = nexp_field_check_memory((int)w, (int)h, (int)c, err);
    }
    if (st == NEXP_OK) {
        st = check_stored(d, name, c * h * w, err);
    }
    if (st == NEXP_OK) {
        st = nexp_field_create(f, (int)w, (int)h, (int)c, err);
    }
    return st;
}

static nexp_status file_read_field(nexp_h5_file *file, const char *name, nexp_field **out, nexp_h5_attrs *attrs_out,
                                   nexp_error *err)
{
    *out = NULL;
    hid_t d = -1;
    nexp_field *f = NULL;
    nexp_status st = open_dataset(file->fid, name, &d, err);
    int rank = 0;
    hsize_t dims[8];
    if (st == NEXP_OK) {
        st = dataset_shape(d, name, &rank, dims, err);
    }
    if (st == NEXP_OK && rank != 3) {
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "'%s' has %d axes, a field needs 3 (channels, height, width)%s",
                            name, rank, rank == 4 ? "; it looks like a time series: read one of its frames" : "");
    }
    if (st == NEXP_OK) {
        st = create_field_for(d, name, dims[0], dims[1], dims[2], &f, err);
    }
    for (int c = 0; st == NEXP_OK && c < f->channels; c++) {
        hsize_t start[1] = { (hsize_t)c };
        if (plane_io(d, 3, start, f->data + (size_t)c * f->plane, dims[1], dims[2], f->stride, H5T_NATIVE_FLOAT,
                     0) < 0) {
            st = h5_fail(err, NEXP_ERR_FORMAT, "cannot read dataset '%s'", name);
        }
    }
    nexp_h5_attrs a;
    if (st == NEXP_OK) {
        st = get_field_attrs(d, name, f, &a, err);
    }
    if (st == NEXP_OK) {
        st = read_mask(file->fid, name, f, err);
    }
    close_id(d);
    if (st != NEXP_OK) {
        nexp_field_free(f);
        return st;
    }
    if (attrs_out != NULL) {
        *attrs_out = a;
    }
    *out = f;
    return NEXP_OK;
}

nexp_status nexp_h5_write_field(const char *path, const char *dataset, const nexp_field *f,
                                const nexp_h5_attrs *attrs, nexp_error *err)
{
    h5_quiet q = quiet_begin();
    nexp_h5_file *file = NULL;
    nexp_status st = file_create(&file, path, err);
    if (st == NEXP_OK) {
        st = file_write_field(file, dataset != NULL ? dataset : "field", f, attrs, err);
    }
    if (st == NEXP_OK) {
        st = file_commit(file, err);
    }
    file_free(file);
    quiet_end(q);
    return with_path(st, err, path);
}

nexp_status nexp_h5_read_field(const char *path, const char *dataset, nexp_field **out, nexp_h5_attrs *attrs_out,
                               nexp_error *err)
{
    *out = NULL;
    h5_quiet q = quiet_begin();
    nexp_h5_file *file = NULL;
    nexp_status st = file_open_read(&file, path, err);
    if (st == NEXP_OK) {
        st = file_read_field(file, dataset != NULL ? dataset : "field", out, attrs_out, err);
    }
    file_free(file);
    quiet_end(q);
    return with_path(st, err, path);
}

/* ---- file handles ------------------------------------------------------------------------------ */

nexp_status nexp_h5_create(nexp_h5_file **out, const char *path, nexp_error *err)
{
    h5_quiet q = quiet_begin();
    nexp_status st = file_create(out, path, err);
    quiet_end(q);
    return with_path(st, err, path);
}

nexp_status nexp_h5_open_read(nexp_h5_file **out, const char *path, nexp_error *err)
{
    h5_quiet q = quiet_begin();
    nexp_status st = file_open_read(out, path, err);
    quiet_end(q);
    return with_path(st, err, path);
}

nexp_status nexp_h5_commit(nexp_h5_file *h, nexp_error *err)
{
    if (h == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "no file to commit");
    }
    h5_quiet q = quiet_begin();
    nexp_status st = file_commit(h, err);
    quiet_end(q);
    return with_path(st, err, h->path);
}

void nexp_h5_close(nexp_h5_file *h)
{
    h5_quiet q = quiet_begin();
    file_free(h);
    quiet_end(q);
}

static nexp_status check_handle(const nexp_h5_file *h, nexp_error *err)
{
    if (h == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "no file");
    }
    if (h->fid < 0) {
        nexp_error_set(err, NEXP_ERR_ARG, "file is already committed");
        return with_path(NEXP_ERR_ARG, err, h->path);
    }
    return NEXP_OK;
}

/* The body of a public function on an open file h: checks the handle, evaluates call (an
 * nexp_status expression) with HDF5's error printing off and returns its status, a failure's
 * message prefixed with the file name. */
#define H5_ON_OPEN_FILE(h, err, call)                \
    do {                                             \
        nexp_status st_ = check_handle((h), (err));  \
        if (st_ != NEXP_OK) {                        \
            return st_;                              \
        }                                            \
        h5_quiet q_ = quiet_begin();                 \
        st_ = (call);                                \
        quiet_end(q_);                               \
        return with_path(st_, (err), (h)->path);     \
    } while (0)

nexp_status nexp_h5_put_field(nexp_h5_file *h, const char *dataset, const nexp_field *f, const nexp_h5_attrs *attrs,
                              nexp_error *err)
{
    H5_ON_OPEN_FILE(h, err, file_write_field(h, dataset != NULL ? dataset : "field", f, attrs, err));
}

nexp_status nexp_h5_get_field(nexp_h5_file *h, const char *dataset, nexp_field **out, nexp_h5_attrs *attrs_out,
                              nexp_error *err)
{
    *out = NULL;
    H5_ON_OPEN_FILE(h, err, file_read_field(h, dataset != NULL ? dataset : "field", out, attrs_out, err));
}

/* ---- objects: existence, groups, listing -------------------------------------------------------- */

static const char *obj_path(const char *p)
{
    return (p == NULL || p[0] == '\0') ? "/" : p;
}

static int is_root(const char *p)
{
    return strcmp(p, "/") == 0 || strcmp(p, ".") == 0;
}

/* Open any object that must exist; NEXP_ERR_MISMATCH listing the file's datasets if it does not. */
static nexp_status open_object(hid_t fid, const char *path, hid_t *o, nexp_error *err)
{
    *o = -1;
    if (!is_root(path)) {
        nexp_status st = check_name(path, err);
        if (st != NEXP_OK) {
            return st;
        }
        int ex = object_exists(fid, path);
        if (ex == 0) {
            return missing(fid, "object", path, err);
        }
    }
    *o = H5Oopen(fid, path, H5P_DEFAULT);
    if (*o < 0) {
        return h5_fail(err, NEXP_ERR_FORMAT, "cannot open '%s'", path);
    }
    return NEXP_OK;
}

nexp_h5_object nexp_h5_exists(nexp_h5_file *h, const char *path)
{
    if (h == NULL || h->fid < 0) {
        return NEXP_H5_NONE;
    }
    path = obj_path(path);
    h5_quiet q = quiet_begin();
    nexp_h5_object r = NEXP_H5_NONE;
    if (is_root(path) || (check_name(path, NULL) == NEXP_OK && object_exists(h->fid, path) > 0)) {
        hid_t o = H5Oopen(h->fid, path, H5P_DEFAULT);
        H5I_type_t t = o >= 0 ? H5Iget_type(o) : H5I_BADID;
        r = t == H5I_GROUP ? NEXP_H5_GROUP : (t == H5I_DATASET ? NEXP_H5_DATASET : NEXP_H5_NONE);
        close_id(o);
    }
    quiet_end(q);
    return r;
}

static nexp_status group_create(nexp_h5_file *h, const char *path, nexp_error *err)
{
    nexp_status st = check_writable(h, err);
    if (st != NEXP_OK || is_root(path)) {
        return st;
    }
    st = check_name(path, err);
    if (st != NEXP_OK) {
        return st;
    }
    if (object_exists(h->fid, path) > 0) {
        hid_t o = H5Oopen(h->fid, path, H5P_DEFAULT);
        int group = o >= 0 && H5Iget_type(o) == H5I_GROUP;
        close_id(o);
        return group ? NEXP_OK : nexp_error_set(err, NEXP_ERR_ARG, "'%s' exists and is not a group", path);
    }
    hid_t lcpl = link_create_plist();
    hid_t g = H5Gcreate2(h->fid, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) {
        st = h5_fail(err, NEXP_ERR_IO, "cannot create group '%s'", path);
    }
    close_id(g);
    close_id(lcpl);
    return st;
}

nexp_status nexp_h5_create_group(nexp_h5_file *h, const char *path, nexp_error *err)
{
    H5_ON_OPEN_FILE(h, err, group_create(h, obj_path(path), err));
}

typedef struct names_ctx {
    char **names;
    size_t count, cap;
    int failed;
} names_ctx;

static herr_t collect_cb(hid_t g, const char *name, const H5L_info_t *info, void *data)
{
    names_ctx *c = data;
    (void)g;
    (void)info;
    if (c->count == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        char **n = realloc(c->names, cap * sizeof *n);
        if (n == NULL) {
            c->failed = 1;
            return -1;
        }
        c->names = n;
        c->cap = cap;
    }
    if ((c->names[c->count] = strdup(name)) == NULL) {
        c->failed = 1;
        return -1;
    }
    c->count++;
    return 0;
}

void nexp_h5_free_names(char **names, size_t count)
{
    for (size_t i = 0; names != NULL && i < count; i++) {
        free(names[i]);
    }
    free(names);
}

static nexp_status group_list(nexp_h5_file *h, const char *path, char ***names, size_t *count, nexp_error *err)
{
    hid_t o;
    nexp_status st = open_object(h->fid, path, &o, err);
    if (st != NEXP_OK) {
        return st;
    }
    if (H5Iget_type(o) != H5I_GROUP) {
        close_id(o);
        return nexp_error_set(err, NEXP_ERR_MISMATCH, "'%s' is a dataset, not a group", path);
    }
    names_ctx c = { NULL, 0, 0, 0 };
    hsize_t idx = 0;
    if (H5Literate(o, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_cb, &c) < 0) {
        st = c.failed ? nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory")
                      : h5_fail(err, NEXP_ERR_FORMAT, "cannot list group '%s'", path);
        nexp_h5_free_names(c.names, c.count);
        close_id(o);
        return st;
    }
    close_id(o);
    *names = c.names;
    *count = c.count;
    return NEXP_OK;
}

nexp_status nexp_h5_list(nexp_h5_file *h, const char *group, char ***names, size_t *count, nexp_error *err)
{
    *names = NULL;
    *count = 0;
    H5_ON_OPEN_FILE(h, err, group_list(h, obj_path(group), names, count, err));
}

/* ---- arrays ------------------------------------------------------------------------------------ */

const char *nexp_h5_type_name(nexp_h5_type t)
{
    switch (t) {
    case NEXP_H5_DOUBLE:
        return "float64";
    case NEXP_H5_FLOAT:
        return "float32";
    case NEXP_H5_INT64:
        return "int64";
    case NEXP_H5_UINT64:
        return "uint64";
    case NEXP_H5_UINT8:
        return "uint8";
    }
    return "unknown";
}

static int type_valid(nexp_h5_type t)
{
    return t == NEXP_H5_DOUBLE || t == NEXP_H5_FLOAT || t == NEXP_H5_INT64 || t == NEXP_H5_UINT64 || t == NEXP_H5_UINT8;
}

static hid_t file_type_of(nexp_h5_type t)
{
    switch (t) {
    case NEXP_H5_FLOAT:
        return H5T_IEEE_F32LE;
    case NEXP_H5_INT64:
        return H5T_STD_I64LE;
    case NEXP_H5_UINT64:
        return H5T_STD_U64LE;
    case NEXP_H5_UINT8:
        return H5T_STD_U8LE;
    case NEXP_H5_DOUBLE:
        break;
    }
    return H5T_IEEE_F64LE;
}

static hid_t mem_type_of(nexp_h5_type t)
{
    switch (t) {
    case NEXP_H5_FLOAT:
        return H5T_NATIVE_FLOAT;
    case NEXP_H5_INT64:
        return H5T_NATIVE_INT64;
    case NEXP_H5_UINT64:
        return H5T_NATIVE_UINT64;
    case NEXP_H5_UINT8:
        return H5T_NATIVE_UINT8;
    case NEXP_H5_DOUBLE:
        break;
    }
    return H5T_NATIVE_DOUBLE;
}

/* "(16, 3, 3, 3)" */
static void format_shape(char *buf, size_t len, int rank, const size_t *dims)
{
    size_t used = (size_t)snprintf(buf, len, "(");
    for (int i = 0; i < rank && used < len; i++) {
        used += (size_t)snprintf(buf + used, len - used, "%s%zu", i ? ", " : "", dims[i]);
    }
    if (used < len) {
        snprintf(buf + used, len - used, ")");
    }
}

/* Before writing an array of type at path: the file is writable, the name valid, the type known. */
static nexp_status check_array_write(nexp_h5_file *h, const char *path, nexp_h5_type type, nexp_error *err)
{
    nexp_status st = check_writable(h, err);
    if (st == NEXP_OK) {
        st = check_name(path, err);
    }
    if (st == NEXP_OK && !type_valid(type)) {
        st = nexp_error_set(err, NEXP_ERR_ARG, "%s: unknown element type %d", path, (int)type);
    }
    return st;
}

static nexp_status array_write(nexp_h5_file *h, const char *path, nexp_h5_type type, int rank, const size_t *dims,
                               const void *data, nexp_error *err)
{
    nexp_status st = check_array_write(h, path, type, err);
    if (st != NEXP_OK) {
        return st;
    }
    if (rank < 0 || rank > NEXP_H5_MAX_RANK || (rank > 0 && dims == NULL)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "%s: rank %d (0..%d with dims)", path, rank, NEXP_H5_MAX_RANK);
    }
    hsize_t hd[NEXP_H5_MAX_RANK];
    size_t count = 1;
    for (int i = 0; i < rank; i++) {
        hd[i] = dims[i];
        if (nexp_size_mul(count, dims[i], &count) != 0) {
            return nexp_error_set(err, NEXP_ERR_TOO_LARGE, "%s: shape overflows", path);
        }
    }
    if (count > 0 && data == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "%s: no data", path);
    }
    if (object_exists(h->fid, path) != 0) {
        return nexp_error_set(err, NEXP_ERR_ARG, "'%s' already exists", path);
    }
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, hd, NULL);
    hid_t lcpl = link_create_plist();
    hid_t d = H5Dcreate2(h->fid, path, file_type_of(type), space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0) {
        st = h5_fail(err, NEXP_ERR_IO, "cannot create dataset '%s'", path);
    } else if (count > 0 && H5Dwrite(d, mem_type_of(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
        st = h5_fail(err, NEXP_ERR_IO, "cannot write dataset '%s'", path);
    }
    close_id(d);
    close_id(lcpl);
    close_id(space);
    return st;
}

nexp_status nexp_h5_write_array(nexp_h5_file *h, const char *path, nexp_h5_type type, int rank, const size_t *dims,
                                const void *data, nexp_error *err)
{
    H5_ON_OPEN_FILE(h, err, array_write(h, path, type, rank, dims, data, err));
}

/* Stored type of an open dataset as the nexp_h5_type that holds it, and whether reading it as
 * want is allowed (see nexp_h5_read_array). */
static nexp_status stored_type(hid_t d, const char *path, nexp_h5_type want, nexp_h5_type *type, int *ok,
                               nexp_error *err)
{
    hid_t t = H5Dget_type(d);
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    size_t size = t >= 0 ? H5Tget_size(t) : 0;
    int is_unsigned = cls == H5T_INTEGER && H5Tget_sign(t) == H5T_SGN_NONE;
    close_id(t);
    if (cls == H5T_FLOAT) {
        *type = size <= 4 ? NEXP_H5_FLOAT : NEXP_H5_DOUBLE;
        *ok = want == NEXP_H5_DOUBLE || want == NEXP_H5_FLOAT;
    } else if (cls == H5T_INTEGER) {
        *type = !is_unsigned ? NEXP_H5_INT64 : (size == 1 ? NEXP_H5_UINT8 : NEXP_H5_UINT64);
        switch (want) {
        case NEXP_H5_DOUBLE:
        case NEXP_H5_FLOAT:
            *ok = 1;
            break;
        case NEXP_H5_INT64:
            *ok = !is_unsigned || size < 8;
            break;
        case NEXP_H5_UINT64:
            *ok = is_unsigned;
            break;
        case NEXP_H5_UINT8:
            *ok = is_unsigned && size == 1;
            break;
        }
    } else {
        return nexp_error_set(err, NEXP_ERR_FORMAT, "'%s' holds %s values, not numbers", path, class_name(cls));
    }
    return NEXP_OK;
}

/* NEXP_OK if the open dataset d can be read as type without loss, else an error naming both types. */
static nexp_status check_readable_as(hid_t d, const char *path, nexp_h5_type type, nexp_error *err)
{
    int ok = 0;
    nexp_h5_type stored = NEXP_H5_DOUBLE;
    nexp_status st = stored_type(d, path, type, &stored, &ok, err);
    if (st == NEXP_OK && !ok) {
        st = nexp_error_set(err, NEXP_ERR_MISMATCH, "%s: stored as %s, cannot be read as %s without loss", path,
                            nexp_h5_type_name(stored), nexp_h5_type_name(type));
    }
    return st;
}

static nexp_status info_of(hid_t d, const char *path, nexp_h5_array_meta *info, nexp_error *err)
{
    memset(info, 0, sizeof *info);
    hsize_t hd[8];
    int ok = 0;
    nexp_status st = dataset_shape(d, path, &info->rank, hd, err);
    if (st == NEXP_OK) {
        st = stored_type(d, path, NEXP_H5_DOUBLE, &info->type, &ok, err);
    }
    info->count = 1;
    for (int i = 0; st == NEXP_OK && i < info->rank; i++) {
        info->dims[i] = (size_t)hd[i];
        if (nexp_size_mul(info->count, info->dims[i], &info->count) != 0) {
            st = nexp_error_set(err, NEXP_ERR_TOO_LARGE, "'%s': shape overflows", path);
        }
    }
    return st;
}

static nexp_status array_info(nexp_h5_file *h, const char *path, nexp_h5_array_meta *info, nexp_error *err)
{
    hid_t d;
    nexp_status st = open_dataset(h->fid, path, &d, err);
    if (st == NEXP_OK) {
        st = info_of(d, path, info, err);
    }
    close_id(d);
    return st;
}

nexp_status nexp_h5_array_info(nexp_h5_file *h, const char *path, nexp_h5_array_meta *info, nexp_error *err)
{
    H5_ON_OPEN_FILE(h, err, array_info(h, path, info, err));
}

static nexp_status array_read(nexp_h5_file *h, const char *path, nexp_h5_type type, int rank, const size_t *dims,
                              void *data, nexp_error *err)
{
    if (!type_valid(type)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "%s: unknown element type %d", path, (int)type);
    }
    if (rank < 0 || rank > NEXP_H5_MAX_RANK || (rank > 0 && dims == NULL)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "%s: rank %d (0..%d with dims)", path, rank, NEXP_H5_MAX_RANK);
    }
    hid_t d;
    nexp_status st = open_dataset(h->fid, path, &d, err);
    nexp_h5_array_meta info;
    if (st == NEXP_OK) {
        st = info_of(d, path, &info, err);
    }
    int same = st == NEXP_OK && info.rank == rank;
    for (int i = 0; same && i < rank; i++) {
        same = info.dims[i] == dims[i];
    }
    if (st == NEXP_OK && !same) {
        char want[160], have[160];
        format_shape(want, sizeof want, rank, dims);
        format_shape(have, sizeof have, info.rank, info.dims);
        st = nexp_error_set(err, NEXP_ERR_MISMATCH, "%s: expected shape %s, file has %s", path, want, have);
    }
    if (st == NEXP_OK) {
        st = check_readable_as(d, path, type, err);
    }
    if (st == NEXP_OK && info.count > 0 && data == NULL) {
        st = nexp_error_set(err, NEXP_ERR_ARG, "%s: no buffer to read into", path);
    }
    if (st == NEXP_OK && info.count > 0 && H5Dread(d, mem_type_of(type), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
        st = h5_fail(err, NEXP_ERR_FORMAT, "cannot read dataset '%s'", path);
    }
    close_id(d);
    return st;
}

nexp_status nexp_h5_read_array(nexp_h5_file *h, const char *path, nexp_h5_type type, int rank, const size_t *dims,
                               void *data, nexp_error *err)
{
    H5_ON_OPEN_FILE(h, err, array_read(h, path, type, rank, dims, data, err));
}

/* ---- records: arrays growing along an unlimited first axis -------------------------------------- */

static nexp_status append_create(nexp_h5_file *h, const char *path, nexp_h5_type type, int rank, const hsize_t *rec,
                                 size_t rec_bytes, hid_t *d, nexp_error *err)
{
    hsize_t dims[NEXP_H5_MAX_RANK], maxdims[NEXP_H5_MAX_RANK], chunk[NEXP_H5_MAX_RANK];
    dims[0] = 0;
    maxdims[0] = H5S_UNLIMITED;
    chunk[0] = rec_bytes >= 65536 ? 1 : 65536 / rec_bytes;
    for (int i = 0; i < rank; i++) {
        dims[i + 1] = maxdims[i + 1] = chunk[i + 1] = rec[i];
    }
    hid_t space = H5Screate_simple(rank + 1, dims, maxdims);
    hid_t dcpl = compressed_dcpl(rank + 1, chunk);
    hid_t lcpl = link_create_plist();
    *d = H5Dcreate2(h->fid, path, file_type_of(type), space, lcpl, dcpl, H5P_DEFAULT);
    nexp_status st = *d < 0 ? h5_fail(err, NEXP_ERR_IO, "cannot create dataset '%s'", path) : NEXP_OK;
    close_id(lcpl);
    close_id(dcpl);
    close_id(space);
    return st;
}

/* Open an appendable dataset and check that records of (type, rank, rec) fit it; *n = records. */
static nexp_status append_open(nexp_h5_file *h, const char *path, nexp_h5_type type, int rank, const hsize_t *rec,
                               hid_t *d, hsize_t *n, nexp_error *err)
{
    nexp_status st = open_dataset(h->fid, path, d, err);
    if (st != NEXP_OK) {
        return st;
    }
    hid_t space = H5Dget_space(*d);
    hid_t t = H5Dget_type(*d);
    hsize_t dims[32], maxdims[32];
    int r = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    int ok = r == rank + 1 && H5Sget_simple_extent_dims(space, dims, maxdims) >= 0 && maxdims[0] == H5S_UNLIMITED &&
             H5Tequal(t, file_type_of(type)) > 0;
    for (int i = 0; ok && i < rank; i++) {
        ok = dims[i + 1] == rec[i];
    }
    close_id(t);
    close_id(space);
    if (!ok) {
        size_t want[NEXP_H5_MAX_RANK];
        for (int i = 0; i < rank; i++) {
            want[i] = (size_t)rec[i];
        }
        char shape[160];
        format_shape(shape, sizeof shape, rank, want);
        return nexp_error_set(err, NEXP_ERR_MISMATCH,
                              "%s: cannot append %s records of shape %s (not a growing array of that type and shape)",
                              path, nexp_h5_type_name(type), shape);
    }
    *n = dims[0];
    return NEXP_OK;
}

static nexp_status records_append(nexp_h5_file *h, const char *path, nexp_h5_type type, int rank, const size_t *dims,
                                  const void *data, nexp_error *err)
{
    nexp_status st = check_array_write(h, path, type, err);
    if (st != NEXP_OK) {
        return st;
    }
    if (rank < 0 || rank > NEXP_H5_MAX_RANK - 1 || (rank > 0 && dims == NULL) || data == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "%s: a record needs data and a rank of 0..%d", path,
                              NEXP_H5_MAX_RANK - 1);
    }
    hsize_t rec[NEXP_H5_MAX_RANK];
    size_t rec_bytes = H5Tget_size(file_type_of(type));
    for (int i = 0; i < rank; i++) {
        rec[i] = dims[i];
        if (dims[i] == 0 || nexp_size_mul(rec_bytes, dims[i], &rec_bytes) != 0 || rec_bytes > ((size_t)1 << 30)) {
            return nexp_error_set(err, NEXP_ERR_ARG, "%s: records must be non-empty and at most 1 GiB", path);
        }
    }
    hid_t d = -1, fspace = -1, mspace = -1;
    hsize_t n = 0;
    if (object_exists(h->fid, path) == 0) {
        st = append_create(h, path, type, rank, rec, rec_bytes, &d, err);
    } else {
        st = append_open(h, path, type, rank, rec, &d, &n, err);
    }
    if (st != NEXP_OK) {
        close_id(d);
        return st;
    }
    hsize_t size[NEXP_H5_MAX_RANK], start[NEXP_H5_MAX_RANK] = { 0 }, count[NEXP_H5_MAX_RANK];
    size[0] = n + 1;
    start[0] = n;
    count[0] = 1;
    for (int i = 0; i < rank; i++) {
        size[i + 1] = count[i + 1] = rec[i];
    }
    if (H5Dset_extent(d, size) < 0 || (fspace = H5Dget_space(d)) < 0 ||
        H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        (mspace = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, rec, NULL)) < 0 ||
        H5Dwrite(d, mem_type_of(type), mspace, fspace, H5P_DEFAULT, data) < 0) {
        st = h5_fail(err, NEXP_ERR_IO, "cannot append record %llu to '%s'", (unsigned long long)n, path);
    }
    close_id(mspace);
    close_id(fspace);
    close_id(d);
    return st;
}

nexp_status nexp_h5_append(nexp_h5_file *h, const char *path, nexp_h5_type type, int rank, const size_t *dims,
                           const void *data, nexp_error *err)
{
    H5_ON_OPEN_FILE(h, err, records_append(h, path, type, rank, dims, data, err));
}

static nexp_status records_read(nexp_h5_file *h, const char *path, nexp_h5_type type, size_t first, size_t count,
                                void *data, nexp_error *err)
{
    if (!type_valid(type)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "%s: unknown element type %d", path, (int)type);
    }
    hid_t d = -1, fspace = -1, mspace = -1;
    nexp_h5_array_meta info;
    nexp_status st = open_dataset(h->fid, path, &d, err);
    if (st == NEXP_OK) {
        st = info_of(d, path, &info, err);
    }
    if (st == NEXP_OK && info.rank < 1) {
        st = nexp_error_set(err, NEXP_ERR_MISMATCH, "%s: a scalar has no records", path);
    }
    if (st == NEXP_OK && (first > info.dims[0] || count > info.dims[0] - first)) {
        st = nexp_error_set(err, NEXP_ERR_ARG, "%s: records [%zu, %zu) out of range (the array has %zu)", path, first,
                            first + count, info.dims[0]);
    }
    if (st == NEXP_OK) {
        st = check_readable_as(d, path, type, err);
    }
    if (st == NEXP_OK && count > 0 && info.count > 0) {
        hsize_t start[NEXP_H5_MAX_RANK] = { 0 }, cnt[NEXP_H5_MAX_RANK];
        start[0] = first;
        cnt[0] = count;
        for (int i = 1; i < info.rank; i++) {
            cnt[i] = info.dims[i];
        }
        if (data == NULL || (fspace = H5Dget_space(d)) < 0 ||
            H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, cnt, NULL) < 0 ||
            (mspace = H5Screate_simple(info.rank, cnt, NULL)) < 0 ||
            H5Dread(d, mem_type_of(type), mspace, fspace, H5P_DEFAULT, data) < 0) {
            st = data == NULL ? nexp_error_set(err, NEXP_ERR_ARG, "%s: no buffer to read into", path)
                              : h5_fail(err, NEXP_ERR_FORMAT, "cannot read records of '%s'", path);
        }
    }
    close_id(mspace);
    close_id(fspace);
    close_id(d);
    return st;
}

nexp_status nexp_h5_read_records(nexp_h5_file *h, const char *path, nexp_h5_type type, size_t first, size_t count,
                                 void *data, nexp_error *err)
{
    H5_ON_OPEN_FILE(h, err, records_read(h, path, type, first, count, data, err));
}

/* ---- attributes on any object ------------------------------------------------------------------ */

typedef enum attr_kind { ATTR_STRING, ATTR_INT64, ATTR_DOUBLE, ATTR_DOUBLES } attr_kind;

static nexp_status attr_write(nexp_h5_file *h, const char *path, const char *name, attr_kind kind, const void *value,
                              size_t n, nexp_error *err)
{
    nexp_status st = check_handle(h, err);
    if (st != NEXP_OK) {
        return st;
    }
    if (name == NULL || name[0] == '\0') {
        return nexp_error_set(err, NEXP_ERR_ARG, "empty attribute name");
    }
    path = obj_path(path);
    h5_quiet q = quiet_begin();
    hid_t o = -1;
    st = check_writable(h, err);
    if (st == NEXP_OK && !is_root(path) && object_exists(h->fid, path) == 0) {
        st = group_create(h, path, err);
    }
    if (st == NEXP_OK) {
        st = open_object(h->fid, path, &o, err);
    }
    if (st == NEXP_OK) {
        switch (kind) {
        case ATTR_STRING:
            st = value == NULL ? nexp_error_set(err, NEXP_ERR_ARG, "attribute '%s': no string", name)
                               : attr_put_string(o, name, value, err);
            break;
        case ATTR_INT64:
            st = attr_put_int64(o, name, *(const int64_t *)value, err);
            break;
        case ATTR_DOUBLE:
            st = attr_put_double(o, name, *(const double *)value, err);
            break;
        case ATTR_DOUBLES:
            st = (n == 0 || value == NULL)
                     ? nexp_error_set(err, NEXP_ERR_ARG, "attribute '%s': no values", name)
                     : attr_put(o, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, n, value, err);
            break;
        }
        if (st != NEXP_OK) {
            nexp_error_prefix(err, path);
        }
    }
    close_id(o);
    quiet_end(q);
    return with_path(st, err, h->path);
}

nexp_status nexp_h5_write_attr_string(nexp_h5_file *h, const char *path, const char *name, const char *value,
                                      nexp_error *err)
{
    return attr_write(h, path, name, ATTR_STRING, value, 1, err);
}

nexp_status nexp_h5_write_attr_int64(nexp_h5_file *h, const char *path, const char *name, int64_t value,
                                     nexp_error *err)
{
    return attr_write(h, path, name, ATTR_INT64, &value, 1, err);
}

nexp_status nexp_h5_write_attr_double(nexp_h5_file *h, const char *path, const char *name, double value,
                                      nexp_error *err)
{
    return attr_write(h, path, name, ATTR_DOUBLE, &value, 1, err);
}

nexp_status nexp_h5_write_attr_doubles(nexp_h5_file *h, const char *path, const char *name, const double *values,
                                       size_t n, nexp_error *err)
{
    return attr_write(h, path, name, ATTR_DOUBLES, values, n, err);
}

int nexp_h5_attr_exists(nexp_h5_file *h, const char *path, const char *name)
{
    if (h == NULL || h->fid < 0 || name == NULL) {
        return 0;
    }
    h5_quiet q = quiet_begin();
    hid_t o;
    int r = open_object(h->fid, obj_path(path), &o, NULL) == NEXP_OK && H5Aexists(o, name) > 0;
    close_id(o);
    quiet_end(q);
    return r;
}

/* Read attribute name of the object at path: a string (out: char **), n numbers as memtype, or
 * (memtype < 0) only the number of values (out: size_t *). */
static nexp_status attr_read(nexp_h5_file *h, const char *path, const char *name, hid_t memtype, void *out, size_t n,
                             int string, nexp_error *err)
{
    nexp_status st = check_handle(h, err);
    if (st != NEXP_OK) {
        return st;
    }
    if (name == NULL || name[0] == '\0') {
        return nexp_error_set(err, NEXP_ERR_ARG, "empty attribute name");
    }
    path = obj_path(path);
    h5_quiet q = quiet_begin();
    hid_t o;
    st = open_object(h->fid, path, &o, err);
    if (st == NEXP_OK && string) {
        st = attr_get_string(o, path, name, out, err);
    } else if (st == NEXP_OK && memtype < 0) {
        hid_t a;
        st = attr_open(o, path, name, &a, err);
        if (st == NEXP_OK) {
            st = attr_count(a, path, name, out, err);
        }
        close_id(a);
    } else if (st == NEXP_OK) {
        st = attr_get_numbers(o, path, name, memtype, out, n, err);
    }
    close_id(o);
    quiet_end(q);
    return with_path(st, err, h->path);
}

nexp_status nexp_h5_read_attr_string(nexp_h5_file *h, const char *path, const char *name, char **value,
                                     nexp_error *err)
{
    *value = NULL;
    return attr_read(h, path, name, -1, value, 1, 1, err);
}

nexp_status nexp_h5_read_attr_int64(nexp_h5_file *h, const char *path, const char *name, int64_t *value,
                                    nexp_error *err)
{
    return attr_read(h, path, name, H5T_NATIVE_INT64, value, 1, 0, err);
}

nexp_status nexp_h5_read_attr_double(nexp_h5_file *h, const char *path, const char *name, double *value,
                                     nexp_error *err)
{
    return attr_read(h, path, name, H5T_NATIVE_DOUBLE, value, 1, 0, err);
}

nexp_status nexp_h5_attr_length(nexp_h5_file *h, const char *path, const char *name, size_t *n, nexp_error *err)
{
    return attr_read(h, path, name, -1, n, 0, 0, err);
}

nexp_status nexp_h5_read_attr_doubles(nexp_h5_file *h, const char *path, const char *name, double *values, size_t n,
                                      nexp_error *err)
{
    return attr_read(h, path, name, H5T_NATIVE_DOUBLE, values, n, 0, err);
}

/* ---- time series ------------------------------------------------------------------------------- */

struct nexp_h5_series {
    nexp_h5_file *file;
    hid_t data, time;
    char *name;
    int width, height, channels;
    long long count;
    int failed; /* an append failed half-way: the file cannot be committed */
};

static void series_free(nexp_h5_series *s)
{
    if (s == NULL) {
        return;
    }
    close_id(s->data);
    close_id(s->time);
    file_free(s->file);
    free(s->name);
    free(s);
}

static nexp_status series_create(nexp_h5_series **out, const char *path, const char *dataset, int width, int height,
                                 int channels, const nexp_h5_attrs *attrs, nexp_error *err)
{
    nexp_status st = nexp_field_check_dims(width, height, channels, err);
    if (st == NEXP_OK) {
        st = check_name(dataset, err);
    }
    if (st != NEXP_OK) {
        return st;
    }
    nexp_h5_series *s = calloc(1, sizeof *s);
    if (s == NULL || (s->name = strdup(dataset)) == NULL) {
        free(s);
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory");
    }
    s->data = s->time = -1;
    s->width = width;
    s->height = height;
    s->channels = channels;
    char *tname = NULL;
    hid_t space = -1, dcpl = -1, lcpl = -1, tspace = -1, tdcpl = -1;
    st = file_create(&s->file, path, err);
    if (st == NEXP_OK) {
        st = suffixed(dataset, "_time", &tname, err);
    }
    if (st != NEXP_OK) {
        goto done;
    }
    hsize_t dims[4] = { 0, (hsize_t)channels, (hsize_t)height, (hsize_t)width };
    hsize_t maxdims[4] = { H5S_UNLIMITED, dims[1], dims[2], dims[3] };
    hsize_t chunk[4] = { 1, dims[1], dims[2], dims[3] };
    if (dims[1] * dims[2] * dims[3] * sizeof(float) > ((hsize_t)4 << 20)) {
        chunk[1] = 1;
        plane_chunk(dims[2], dims[3], &chunk[2], &chunk[3]);
    }
    space = H5Screate_simple(4, dims, maxdims);
    dcpl = compressed_dcpl(4, chunk);
    lcpl = link_create_plist();
    s->data = H5Dcreate2(s->file->fid, dataset, H5T_IEEE_F32LE, space, lcpl, dcpl, H5P_DEFAULT);
    if (s->data < 0) {
        st = h5_fail(err, NEXP_ERR_IO, "cannot create dataset '%s'", dataset);
        goto done;
    }
    hsize_t tdim = 0, tmax = H5S_UNLIMITED, tchunk = 256;
    tspace = H5Screate_simple(1, &tdim, &tmax);
    tdcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(tdcpl, 1, &tchunk);
    s->time = H5Dcreate2(s->file->fid, tname, H5T_IEEE_F64LE, tspace, lcpl, tdcpl, H5P_DEFAULT);
    if (s->time < 0) {
        st = h5_fail(err, NEXP_ERR_IO, "cannot create dataset '%s'", tname);
        goto done;
    }
    nexp_field_kind kind = NEXP_KIND_SCALAR;
    st = put_field_attrs(s->data, kind, 0, attrs, 0, err);
done:
    close_id(tdcpl);
    close_id(tspace);
    close_id(lcpl);
    close_id(dcpl);
    close_id(space);
    free(tname);
    if (st != NEXP_OK) {
        series_free(s);
        return st;
    }
    *out = s;
    return NEXP_OK;
}

nexp_status nexp_h5_series_create(nexp_h5_series **out, const char *path, const char *dataset, int width, int height,
                                  int channels, const nexp_h5_attrs *attrs, nexp_error *err)
{
    *out = NULL;
    h5_quiet q = quiet_begin();
    nexp_status st = series_create(out, path, dataset != NULL ? dataset : "field", width, height, channels, attrs, err);
    quiet_end(q);
    return with_path(st, err, path);
}

static nexp_status series_append(nexp_h5_series *s, const nexp_field *f, double time, nexp_error *err)
{
    if (s->failed || s->data < 0) {
        return nexp_error_set(err, NEXP_ERR_ARG, "'%s': series is closed or an earlier append failed", s->name);
    }
    if (f == NULL || f->width != s->width || f->height != s->height || f->channels != s->channels) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "'%s': frame is %d x %d x %d, the series is %d x %d x %d", s->name,
                              f ? f->width : 0, f ? f->height : 0, f ? f->channels : 0, s->width, s->height,
                              s->channels);
    }
    hsize_t t = (hsize_t)s->count;
    hsize_t dims[4] = { t + 1, (hsize_t)s->channels, (hsize_t)s->height, (hsize_t)s->width };
    s->failed = 1;
    if (H5Dset_extent(s->data, dims) < 0) {
        return h5_fail(err, NEXP_ERR_IO, "cannot extend dataset '%s'", s->name);
    }
    for (int c = 0; c < s->channels; c++) {
        hsize_t start[2] = { t, (hsize_t)c };
        if (plane_io(s->data, 4, start, f->data + (size_t)c * f->plane, dims[2], dims[3], f->stride, H5T_NATIVE_FLOAT,
                     1) < 0) {
            return h5_fail(err, NEXP_ERR_IO, "cannot write frame %lld of '%s'", s->count, s->name);
        }
    }
    hsize_t tn = t + 1, one = 1;
    if (H5Dset_extent(s->time, &tn) < 0) {
        return h5_fail(err, NEXP_ERR_IO, "cannot extend the time axis of '%s'", s->name);
    }
    hid_t fspace = H5Dget_space(s->time);
    hid_t mspace = H5Screate_simple(1, &one, NULL);
    herr_t r = -1;
    if (fspace >= 0 && mspace >= 0 && H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &t, NULL, &one, NULL) >= 0) {
        r = H5Dwrite(s->time, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, &time);
    }
    nexp_status st = r < 0 ? h5_fail(err, NEXP_ERR_IO, "cannot write the time of frame %lld of '%s'", s->count, s->name)
                           : NEXP_OK;
    close_id(mspace);
    close_id(fspace);
    if (st == NEXP_OK) {
        s->failed = 0;
        s->count++;
    }
    return st;
}

nexp_status nexp_h5_series_append(nexp_h5_series *s, const nexp_field *f, double time, nexp_error *err)
{
    if (s == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "no series");
    }
    h5_quiet q = quiet_begin();
    nexp_status st = series_append(s, f, time, err);
    quiet_end(q);
    return with_path(st, err, s->file->path);
}

long long nexp_h5_series_count(const nexp_h5_series *s)
{
    return s != NULL ? s->count : 0;
}

nexp_status nexp_h5_series_close(nexp_h5_series *s, nexp_error *err)
{
    if (s == NULL) {
        return NEXP_OK;
    }
    h5_quiet q = quiet_begin();
    nexp_status st = NEXP_OK;
    if (s->failed) {
        st = nexp_error_set(err, NEXP_ERR_ARG, "'%s': not saved because an append failed", s->name);
    }
    close_id(s->data);
    close_id(s->time);
    s->data = s->time = -1;
    if (st == NEXP_OK) {
        st = file_commit(s->file, err);
    }
    with_path(st, err, s->file->path);
    series_free(s);
    quiet_end(q);
    return st;
}

void nexp_h5_series_abort(nexp_h5_series *s)
{
    h5_quiet q = quiet_begin();
    series_free(s);
    quiet_end(q);
}

/* Open a series dataset and its time axis, checking their shapes. */
static nexp_status series_open(nexp_h5_file *file, const char *name, hid_t *d, hid_t *td, hsize_t *dims,
                               nexp_error *err)
{
    *td = -1;
    char *tname = NULL;
    int rank = 0, trank = 0;
    hsize_t tdims[8];
    nexp_status st = open_dataset(file->fid, name, d, err);
    if (st == NEXP_OK) {
        st = dataset_shape(*d, name, &rank, dims, err);
    }
    if (st == NEXP_OK && rank != 4) {
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "'%s' has %d axes, a series needs 4 (time, channels, height, width)",
                            name, rank);
    }
    if (st == NEXP_OK) {
        st = suffixed(name, "_time", &tname, err);
    }
    if (st == NEXP_OK) {
        st = open_dataset(file->fid, tname, td, err);
    }
    if (st == NEXP_OK) {
        st = dataset_shape(*td, tname, &trank, tdims, err);
    }
    if (st == NEXP_OK && (trank != 1 || tdims[0] != dims[0])) {
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "'%s' must be 1-D with one time per frame (%llu frames)", tname,
                            (unsigned long long)dims[0]);
    }
    free(tname);
    return st;
}

nexp_status nexp_h5_series_length(const char *path, const char *dataset, long long *n, nexp_error *err)
{
    *n = 0;
    h5_quiet q = quiet_begin();
    nexp_h5_file *file = NULL;
    hid_t d = -1, td = -1;
    hsize_t dims[8];
    nexp_status st = file_open_read(&file, path, err);
    if (st == NEXP_OK) {
        st = series_open(file, dataset != NULL ? dataset : "field", &d, &td, dims, err);
    }
    if (st == NEXP_OK) {
        *n = (long long)dims[0];
    }
    close_id(td);
    close_id(d);
    file_free(file);
    quiet_end(q);
    return with_path(st, err, path);
}

static nexp_status series_read_frame(nexp_h5_file *file, const char *name, long long index, nexp_field **out,
                                     double *time, nexp_error *err)
{
    hid_t d = -1, td = -1, fspace = -1, mspace = -1;
    hsize_t dims[8];
    nexp_field *f = NULL;
    nexp_status st = series_open(file, name, &d, &td, dims, err);
    long long n = st == NEXP_OK ? (long long)dims[0] : 0;
    if (st == NEXP_OK && (index < -n || index >= n)) {
        st = nexp_error_set(err, NEXP_ERR_ARG, "'%s': frame %lld out of range (the series has %lld frames)", name,
                            index, n);
    }
    if (st == NEXP_OK) {
        st = create_field_for(d, name, dims[1], dims[2], dims[3], &f, err);
    }
    hsize_t t = (hsize_t)(index < 0 ? index + n : index);
    for (int c = 0; st == NEXP_OK && c < f->channels; c++) {
        hsize_t start[2] = { t, (hsize_t)c };
        if (plane_io(d, 4, start, f->data + (size_t)c * f->plane, dims[2], dims[3], f->stride, H5T_NATIVE_FLOAT,
                     0) < 0) {
            st = h5_fail(err, NEXP_ERR_FORMAT, "cannot read frame %lld of '%s'", index, name);
        }
    }
    nexp_h5_attrs a;
    if (st == NEXP_OK) {
        st = get_field_attrs(d, name, f, &a, err);
    }
    double tv = 0.0;
    if (st == NEXP_OK) {
        hsize_t one = 1;
        fspace = H5Dget_space(td);
        mspace = H5Screate_simple(1, &one, NULL);
        if (fspace < 0 || mspace < 0 || H5Sselect_hyperslab(fspace, H5S_SELECT_SET, &t, NULL, &one, NULL) < 0 ||
            H5Dread(td, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, &tv) < 0) {
            st = h5_fail(err, NEXP_ERR_FORMAT, "cannot read the time of frame %lld of '%s'", index, name);
        }
    }
    close_id(mspace);
    close_id(fspace);
    close_id(td);
    close_id(d);
    if (st != NEXP_OK) {
        nexp_field_free(f);
        return st;
    }
    if (time != NULL) {
        *time = tv;
    }
    *out = f;
    return NEXP_OK;
}

nexp_status nexp_h5_series_read_frame(const char *path, const char *dataset, long long index, nexp_field **out,
                                      double *time, nexp_error *err)
{
    *out = NULL;
    h5_quiet q = quiet_begin();
    nexp_h5_file *file = NULL;
    nexp_status st = file_open_read(&file, path, err);
    if (st == NEXP_OK) {
        st = series_read_frame(file, dataset != NULL ? dataset : "field", index, out, time, err);
    }
    file_free(file);
    quiet_end(q);
    return with_path(st, err, path);
}
