/* Model files: group "model" with the spec as attributes and one float32 dataset per tensor view. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexp_learned.h"
#include "nexp_learned_train.h"

nexp_status nexp_learned_put(const nexp_learned *m, nexp_h5_file *h, nexp_error *err)
{
    nexp_status st;
    if ((st = nexp_h5_create_group(h, "model", err)) != NEXP_OK ||
        (st = nexp_h5_write_attr_string(h, "model", "type", "nexp-learned-inpaint", err)) != NEXP_OK ||
        (st = nexp_h5_write_attr_int64(h, "model", "features", m->spec.features, err)) != NEXP_OK ||
        (st = nexp_h5_write_attr_int64(h, "model", "levels", m->spec.levels, err)) != NEXP_OK ||
        (st = nexp_h5_write_attr_int64(h, "model", "steps", m->spec.steps, err)) != NEXP_OK ||
        (st = nexp_h5_write_attr_int64(h, "model", "flow_input", m->spec.flow_input, err)) != NEXP_OK ||
        (st = nexp_h5_write_attr_int64(h, "model", "cascade", m->spec.cascade, err)) != NEXP_OK ||
        (st = nexp_h5_write_attr_int64(h, "model", "mirror", m->spec.mirror, err)) != NEXP_OK) {
        return st;
    }
    for (int t = 0; t < m->n_tensors; t++) {
        const nexp_tensor_view *v = &m->tensors[t];
        char path[96];
        snprintf(path, sizeof path, "model/%s", v->name);
        size_t dims[NEXP_TENSOR_MAX_DIMS];
        for (int d = 0; d < v->ndim; d++) {
            dims[d] = (size_t)v->shape[d];
        }
        if ((st = nexp_h5_write_array(h, path, NEXP_H5_FLOAT, v->ndim, dims, m->params + v->offset, err)) != NEXP_OK) {
            return st;
        }
    }
    return NEXP_OK;
}

/* The model attribute name into *v if the file has it (else *v keeps its default). */
static nexp_status read_optional(nexp_h5_file *h, const char *name, int64_t *v, nexp_error *err)
{
    return nexp_h5_attr_exists(h, "model", name) ? nexp_h5_read_attr_int64(h, "model", name, v, err) : NEXP_OK;
}

nexp_status nexp_learned_get(nexp_learned **out, nexp_h5_file *h, nexp_error *err)
{
    *out = NULL;
    char *type = NULL;
    nexp_status st = nexp_h5_read_attr_string(h, "model", "type", &type, err);
    if (st != NEXP_OK) {
        return st;
    }
    int ok = strcmp(type, "nexp-learned-inpaint") == 0;
    free(type);
    if (!ok) {
        return nexp_error_set(err, NEXP_ERR_MISMATCH, "not a learned inpainting model (model/type differs)");
    }
    int64_t f, l, s, fi = 0, ca = 0, mi = 0;
    /* models written before flow-fed, cascade or mirrored ones existed lack those attributes: 0 */
    if ((st = nexp_h5_read_attr_int64(h, "model", "features", &f, err)) != NEXP_OK ||
        (st = nexp_h5_read_attr_int64(h, "model", "levels", &l, err)) != NEXP_OK ||
        (st = nexp_h5_read_attr_int64(h, "model", "steps", &s, err)) != NEXP_OK ||
        (st = read_optional(h, "flow_input", &fi, err)) != NEXP_OK ||
        (st = read_optional(h, "cascade", &ca, err)) != NEXP_OK || (st = read_optional(h, "mirror", &mi, err)) != NEXP_OK) {
        return st;
    }
    if (f < 1 || f > 64 || l < 1 || l > NEXP_LEARNED_MAX_LEVELS || s < 1 || s > 10000 || (fi != 0 && fi != 1) ||
        (ca != 0 && ca != 1) || (mi != 0 && mi != 1)) {
        return nexp_error_set(err, NEXP_ERR_MISMATCH,
                              "model spec out of range: features %lld, levels %lld, steps %lld, flow_input %lld, "
                              "cascade %lld, mirror %lld",
                              (long long)f, (long long)l, (long long)s, (long long)fi, (long long)ca, (long long)mi);
    }
    nexp_learned_spec spec = { (int)f, (int)l, (int)s, (int)fi, (int)ca, (int)mi };
    nexp_learned *m = NULL;
    if ((st = nexp_learned_create(&m, &spec, 0, err)) != NEXP_OK) {
        return st;
    }
    for (int t = 0; t < m->n_tensors; t++) {
        const nexp_tensor_view *v = &m->tensors[t];
        char path[96];
        snprintf(path, sizeof path, "model/%s", v->name);
        size_t dims[NEXP_TENSOR_MAX_DIMS];
        for (int d = 0; d < v->ndim; d++) {
            dims[d] = (size_t)v->shape[d];
        }
        if ((st = nexp_h5_read_array(h, path, NEXP_H5_FLOAT, v->ndim, dims, m->params + v->offset, err)) != NEXP_OK) {
            nexp_learned_free(m);
            return st;
        }
    }
    for (size_t i = 0; i < m->n_params; i++) {
        if (!isfinite(m->params[i])) {
            nexp_learned_free(m);
            return nexp_error_set(err, NEXP_ERR_NONFINITE, "model parameter %zu is not finite", i);
        }
    }
    *out = m;
    return NEXP_OK;
}

nexp_status nexp_learned_save(const nexp_learned *m, const char *path, nexp_error *err)
{
    nexp_h5_file *h = NULL;
    nexp_status st = nexp_h5_create(&h, path, err);
    if (st == NEXP_OK && (st = nexp_learned_put(m, h, err)) == NEXP_OK) {
        st = nexp_h5_commit(h, err);
    }
    nexp_h5_close(h);
    return st;
}

nexp_status nexp_learned_load(nexp_learned **out, const char *path, nexp_error *err)
{
    *out = NULL;
    nexp_h5_file *h = NULL;
    nexp_status st = nexp_h5_open_read(&h, path, err);
    if (st == NEXP_OK) {
        st = nexp_learned_get(out, h, err);
    }
    nexp_h5_close(h);
    return st;
}
