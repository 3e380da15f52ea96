/* HDF5 files: fields, time series and named groups of arrays (layout in nexp_h5.h and the README).
 *
 * Internal functions report "<object>: <problem>" without the file name; each public entry point
 * silences HDF5's error printing for its duration and prefixes a failure with the file's path. */
#include "nexp_h5.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ---- atomic output: temporary name beside the target, fsync, rename --------------------------- */

static atomic_uint tmp_counter;

static nexp_status tmp_name_for(const char *path, char **tmp, nexp_error *err)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    size_t dirlen = (size_t)(base - path);
    if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        return nexp_error_set(err, NEXP_ERR_ARG, "'%s' is not a file name", path);
    }
    size_t n = strlen(path) + 64;
    *tmp = malloc(n);
    if (*tmp == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory");
    }
    snprintf(*tmp, n, "%.*s.%s.tmp.%ld.%u", (int)dirlen, path, base, (long)getpid(),
             atomic_fetch_add(&tmp_counter, 1u));
    return NEXP_OK;
}

static void fsync_path(const char *path, int flags)
{
    int fd = open(path, O_RDONLY | flags);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* fsync tmp, rename it onto final, fsync the directory; on failure tmp is removed. */
static nexp_status rename_into_place(const char *tmp, const char *final, nexp_error *err)
{
    fsync_path(tmp, 0);
    if (rename(tmp, final) != 0) {
        int e = errno;
        remove(tmp);
        return nexp_error_set(err, NEXP_ERR_IO, "cannot rename the temporary file into place: %s", strerror(e));
    }
    const char *slash = strrchr(final, '/');
    if (slash == NULL) {
        fsync_path(".", O_DIRECTORY);
    } else if (slash == final) {
        fsync_path("/", O_DIRECTORY);
    } else {
        char *dir = strndup(final, (size_t)(slash - final));
        if (dir != NULL) {
            fsync_path(dir, O_DIRECTORY);
            free(dir);
        }
    }
    return NEXP_OK;
}

/* ---- files ------------------------------------------------------------------------------------ */

typedef struct nexp_h5_file nexp_h5_file;

struct nexp_h5_file {
    hid_t fid;
    int writable;
    int committed;
    char *path; /* the final name (for messages and the rename) */
    char *tmp;  /* writers: the temporary file being written */
};

static void file_free(nexp_h5_file *f)
{
    if (f == NULL) {
        return;
    }
    if (f->fid >= 0) {
        H5Fclose(f->fid);
    }
    if (f->writable && !f->committed && f->tmp != NULL) {
        remove(f->tmp);
    }
    free(f->path);
    free(f->tmp);
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
    f->writable = 1;
    st = tmp_name_for(path, &f->tmp, err);
    if (st != NEXP_OK) {
        goto fail;
    }
    hid_t fapl = strong_close_fapl();
    f->fid = H5Fcreate(f->tmp, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
    if (f->fid < 0) {
        st = h5_fail(err, NEXP_ERR_IO, "cannot create the temporary file %s", f->tmp);
        close_id(fapl);
        free(f->tmp);
        f->tmp = NULL; /* never created: nothing to remove */
        goto fail;
    }
    close_id(fapl);
    *out = f;
    return NEXP_OK;
fail:
    file_free(f);
    return st;
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
    f->committed = 1;
    nexp_status st = rename_into_place(f->tmp, f->path, err);
    if (st != NEXP_OK) {
        f->committed = 0; /* tmp already removed; file_free's remove is harmless */
    }
    return st;
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

/* Dataset creation properties: chunked, shuffled, deflate level 4. */
static hid_t compressed_dcpl(int rank, const hsize_t *chunk)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl >= 0 && (H5Pset_chunk(dcpl, rank, chunk) < 0 || H5Pset_shuffle(dcpl) < 0 || H5Pset_deflate(dcpl, 4) < 0)) {
        close_id(dcpl);
        return -1;
    }
    return dcpl;
}

/* ---- fields ----------------------------------------------------------------------------------- */

static const char *kind_name(nexp_field_kind k)
{
    switch (k) {
    case NEXP_KIND_IMAGE:
        return "image";
    case NEXP_KIND_FLOW:
        return "flow";
    case NEXP_KIND_MASK:
        return "mask";
    case NEXP_KIND_TENSOR:
        return "tensor";
    case NEXP_KIND_SCALAR:
        break;
    }
    return "scalar";
}

static int kind_from_name(const char *s, nexp_field_kind *k)
{
    static const nexp_field_kind all[] = { NEXP_KIND_SCALAR, NEXP_KIND_IMAGE, NEXP_KIND_FLOW, NEXP_KIND_MASK,
                                           NEXP_KIND_TENSOR };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, kind_name(all[i])) == 0) {
            *k = all[i];
            return 1;
        }
    }
    return 0;
}

static nexp_status mask_name(const char *name, char **out, nexp_error *err)
{
    size_t n = strlen(name) + sizeof "_valid";
    *out = malloc(n);
    if (*out == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory");
    }
    snprintf(*out, n, "%s_valid", name);
    return NEXP_OK;
}

/* The field attributes kind, spacing, time, units, metadata (and bit_depth for images). */
static nexp_status put_field_attrs(hid_t obj, const nexp_field *f, const nexp_h5_attrs *attrs, int with_time,
                                   nexp_error *err)
{
    nexp_h5_attrs a = NEXP_H5_ATTRS_INIT;
    if (attrs != NULL) {
        a = *attrs;
    }
    nexp_status st = attr_put_string(obj, "kind", a.kind != NULL ? a.kind : kind_name(f->kind), err);
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
    if (st == NEXP_OK && f->bit_depth != 0) {
        st = attr_put_int64(obj, "bit_depth", f->bit_depth, err);
    }
    return st;
}

static nexp_status write_mask(hid_t fid, const char *name, const nexp_field *f, nexp_error *err)
{
    char *mname = NULL;
    nexp_status st = mask_name(name, &mname, err);
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
    st = put_field_attrs(d, f, attrs, 1, err);
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

static nexp_status check_numeric(hid_t d, const char *name, nexp_error *err)
{
    hid_t t = H5Dget_type(d);
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    close_id(t);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        return nexp_error_set(err, NEXP_ERR_FORMAT, "'%s' does not hold numbers (HDF5 type class %d)", name, (int)cls);
    }
    return NEXP_OK;
}

static nexp_status read_mask(hid_t fid, const char *name, nexp_field *f, nexp_error *err)
{
    char *mname = NULL;
    nexp_status st = mask_name(name, &mname, err);
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
    if (st == NEXP_OK) {
        st = check_numeric(d, mname, err);
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
        if (plane_io(d, 2, start, f->mask, dims[0], dims[1], f->stride, H5T_NATIVE_UINT8, 0) < 0) {
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
            a->kind = kind_name(k);
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
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "'%s' has %d axes, a field needs 3 (channels, height, width)", name,
                            rank);
    }
    if (st == NEXP_OK) {
        st = check_numeric(d, name, err);
    }
    if (st == NEXP_OK) {
        st = nexp_field_check_dims((long long)dims[2], (long long)dims[1], (long long)dims[0], err);
        if (st != NEXP_OK) {
            nexp_error_prefix(err, name);
        }
    }
    if (st == NEXP_OK) {
        st = nexp_field_create(&f, (int)dims[2], (int)dims[1], (int)dims[0], err);
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
