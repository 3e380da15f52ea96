#include "nexp_checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CKPT_FORMAT "nexp-checkpoint"
#define CKPT_VERSION 1

/* What the generic save / load code needs to know about a model. */
typedef struct model_ref {
    const char *kind; /* "mlp" or "net" */
    char *spec_text;  /* malloc'd canonical text */
    size_t n_params;
    int n_tensors;
    const nexp_tensor_view *tensors;
    nexp_h5_type type;
    size_t elem;
    void *params;
} model_ref;

static nexp_status ref_mlp(const nexp_mlp *m, model_ref *r, nexp_error *err)
{
    int len = nexp_mlp_spec_format(&m->spec, NULL, 0);
    r->spec_text = malloc((size_t)len + 1);
    if (r->spec_text == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "checkpoint: out of memory");
    }
    nexp_mlp_spec_format(&m->spec, r->spec_text, (size_t)len + 1);
    r->kind = "mlp";
    r->n_params = m->n_params;
    r->n_tensors = m->n_tensors;
    r->tensors = m->tensors;
    r->type = NEXP_H5_DOUBLE;
    r->elem = sizeof(double);
    r->params = m->params;
    return NEXP_OK;
}

static nexp_status ref_net(const nexp_net *n, model_ref *r, nexp_error *err)
{
    int len = nexp_net_spec_format(&n->spec, NULL, 0);
    r->spec_text = len < 0 ? NULL : malloc((size_t)len + 1);
    if (r->spec_text == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "checkpoint: out of memory");
    }
    nexp_net_spec_format(&n->spec, r->spec_text, (size_t)len + 1);
    r->kind = "net";
    r->n_params = n->n_params;
    r->n_tensors = n->n_tensors;
    r->tensors = n->tensors;
    r->type = NEXP_H5_FLOAT;
    r->elem = sizeof(float);
    r->params = n->params;
    return NEXP_OK;
}

/* ---- saving --------------------------------------------------------------------------------- */

static nexp_status write_optim(nexp_h5_file *h, const nexp_optim *o, nexp_error *err)
{
    const nexp_optim_config *c = &o->cfg;
    const struct { const char *name; double v; } d[] = {
        { "lr", c->lr },     { "momentum", c->momentum },         { "beta1", c->beta1 },
        { "beta2", c->beta2 }, { "alpha", c->alpha },             { "eps", c->eps },
        { "weight_decay", c->weight_decay }, { "clip_norm", c->clip_norm }, { "gamma", c->gamma },
        { "lr_min", c->lr_min },
    };
    nexp_status st = nexp_h5_create_group(h, "optim", err);
    if (st == NEXP_OK) {
        st = nexp_h5_write_attr_string(h, "optim", "kind", nexp_optim_kind_name(c->kind), err);
    }
    if (st == NEXP_OK) {
        st = nexp_h5_write_attr_string(h, "optim", "schedule", nexp_schedule_name(c->schedule), err);
    }
    for (size_t i = 0; st == NEXP_OK && i < sizeof d / sizeof d[0]; i++) {
        st = nexp_h5_write_attr_double(h, "optim", d[i].name, d[i].v, err);
    }
    if (st == NEXP_OK) {
        st = nexp_h5_write_attr_int64(h, "optim", "step_size", c->step_size, err);
    }
    if (st == NEXP_OK) {
        st = nexp_h5_write_attr_int64(h, "optim", "total_steps", c->total_steps, err);
    }
    if (st == NEXP_OK) {
        st = nexp_h5_write_attr_int64(h, "optim", "step", o->step, err);
    }
    size_t dims[1] = { o->n };
    if (st == NEXP_OK) {
        st = nexp_h5_write_array(h, "optim/m1", NEXP_H5_DOUBLE, 1, dims, o->m1, err);
    }
    if (st == NEXP_OK) {
        st = nexp_h5_write_array(h, "optim/m2", NEXP_H5_DOUBLE, 1, dims, o->m2, err);
    }
    return st;
}

static nexp_status save_model(const char *path, const model_ref *r, const nexp_optim *opt, const nexp_ckpt_state *state,
                              nexp_error *err)
{
    if (opt != NULL && opt->n != r->n_params) {
        return nexp_error_set(err, NEXP_ERR_MISMATCH, "%s: optimiser has %zu parameters, the %s has %zu", path, opt->n,
                              r->kind, r->n_params);
    }
    nexp_ckpt_state none = NEXP_CKPT_STATE_INIT;
    if (state == NULL) {
        state = &none;
    }
    nexp_h5_file *h = NULL;
    nexp_status st = nexp_h5_create(&h, path, err);
    if (st != NEXP_OK) {
        return st;
    }
    st = nexp_h5_write_attr_string(h, "/", "nexp_format", CKPT_FORMAT, err);
    if (st == NEXP_OK) {
        st = nexp_h5_write_attr_int64(h, "/", "version", CKPT_VERSION, err);
    }
    if (st == NEXP_OK) {
        st = nexp_h5_write_attr_string(h, "/", "model", r->kind, err);
    }
    if (st == NEXP_OK) {
        st = nexp_h5_write_attr_string(h, "/", "spec", r->spec_text, err);
    }
    if (st == NEXP_OK) {
        st = nexp_h5_write_attr_int64(h, "/", "n_params", (int64_t)r->n_params, err);
    }
    if (st == NEXP_OK) {
        st = nexp_h5_write_attr_int64(h, "/", "step", state->step, err);
    }
    if (st == NEXP_OK) {
        st = nexp_h5_write_attr_string(h, "/", "metadata", state->metadata != NULL ? state->metadata : "", err);
    }
    if (st == NEXP_OK) {
        st = nexp_h5_create_group(h, "params", err);
    }
    for (int t = 0; st == NEXP_OK && t < r->n_tensors; t++) {
        const nexp_tensor_view *v = &r->tensors[t];
        char name[NEXP_TENSOR_NAME_MAX + 16];
        size_t dims[NEXP_TENSOR_MAX_DIMS];
        for (int d = 0; d < v->ndim; d++) {
            dims[d] = (size_t)v->shape[d];
        }
        snprintf(name, sizeof name, "params/%s", v->name);
        st = nexp_h5_write_array(h, name, r->type, v->ndim, dims, (const char *)r->params + v->offset * r->elem, err);
    }
    if (st == NEXP_OK && opt != NULL) {
        st = write_optim(h, opt, err);
    }
    if (st == NEXP_OK && state->rng != NULL) {
        size_t dims[1] = { NEXP_RNG_STATE_WORDS };
        st = nexp_h5_write_array(h, "rng/state", NEXP_H5_UINT64, 1, dims, state->rng->s, err);
    }
    if (st == NEXP_OK && state->extra != NULL) {
        st = state->extra(h, state->extra_user, err);
        if (st != NEXP_OK) {
            nexp_error_prefix(err, path);
        }
    }
    if (st == NEXP_OK) {
        st = nexp_h5_commit(h, err);
    }
    nexp_h5_close(h);
    return st;
}

nexp_status nexp_checkpoint_save_mlp(const char *path, const nexp_mlp *mlp, const nexp_optim *opt,
                                     const nexp_ckpt_state *state, nexp_error *err)
{
    if (path == NULL || mlp == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "checkpoint: NULL path or model");
    }
    model_ref r;
    nexp_status st = ref_mlp(mlp, &r, err);
    if (st == NEXP_OK) {
        st = save_model(path, &r, opt, state, err);
        free(r.spec_text);
    }
    return st;
}

nexp_status nexp_checkpoint_save_net(const char *path, const nexp_net *net, const nexp_optim *opt,
                                     const nexp_ckpt_state *state, nexp_error *err)
{
    if (path == NULL || net == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "checkpoint: NULL path or model");
    }
    model_ref r;
    nexp_status st = ref_net(net, &r, err);
    if (st == NEXP_OK) {
        st = save_model(path, &r, opt, state, err);
        free(r.spec_text);
    }
    return st;
}

/* ---- loading -------------------------------------------------------------------------------- */

void nexp_ckpt_info_clear(nexp_ckpt_info *info)
{
    if (info == NULL) {
        return;
    }
    free(info->metadata);
    memset(info, 0, sizeof *info);
}

/* Opens path and checks it is a checkpoint of the given kind; *spec_text gets the stored spec. */
static nexp_status open_checkpoint(const char *path, const char *kind, nexp_h5_file **out, char **spec_text,
                                   nexp_error *err)
{
    *out = NULL;
    *spec_text = NULL;
    nexp_h5_file *h = NULL;
    nexp_status st = nexp_h5_open_read(&h, path, err);
    if (st != NEXP_OK) {
        return st;
    }
    char *fmt = NULL, *model = NULL;
    int64_t version = 0;
    if (!nexp_h5_attr_exists(h, "/", "nexp_format")) {
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "%s: not an nexp checkpoint (HDF5 file without a nexp_format "
                                                  "attribute)", path);
        goto fail;
    }
    if ((st = nexp_h5_read_attr_string(h, "/", "nexp_format", &fmt, err)) != NEXP_OK) {
        goto fail;
    }
    if (strcmp(fmt, CKPT_FORMAT) != 0) {
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "%s: nexp_format is \"%s\", not a checkpoint (\"%s\")", path, fmt,
                            CKPT_FORMAT);
        goto fail;
    }
    if ((st = nexp_h5_read_attr_int64(h, "/", "version", &version, err)) != NEXP_OK) {
        goto fail;
    }
    if (version != CKPT_VERSION) {
        st = nexp_error_set(err, NEXP_ERR_UNSUPPORTED, "%s: checkpoint version %lld, this nexp reads version %d",
                            path, (long long)version, CKPT_VERSION);
        goto fail;
    }
    if ((st = nexp_h5_read_attr_string(h, "/", "model", &model, err)) != NEXP_OK) {
        goto fail;
    }
    if (strcmp(model, kind) != 0) {
        st = nexp_error_set(err, NEXP_ERR_MISMATCH, "%s: the checkpoint holds a \"%s\" model, expected \"%s\"", path,
                            model, kind);
        goto fail;
    }
    if ((st = nexp_h5_read_attr_string(h, "/", "spec", spec_text, err)) != NEXP_OK) {
        goto fail;
    }
    free(fmt);
    free(model);
    *out = h;
    return NEXP_OK;
fail:
    free(fmt);
    free(model);
    nexp_h5_close(h);
    return st;
}

/* Reads every tensor of r into params (r's layout) and checks n_params. */
static nexp_status read_params(nexp_h5_file *h, const char *path, const model_ref *r, void *params, nexp_error *err)
{
    int64_t n = 0;
    nexp_status st = nexp_h5_read_attr_int64(h, "/", "n_params", &n, err);
    if (st != NEXP_OK) {
        return st;
    }
    if ((size_t)n != r->n_params) {
        return nexp_error_set(err, NEXP_ERR_MISMATCH, "%s: %lld parameters stored, the model has %zu", path,
                              (long long)n, r->n_params);
    }
    for (int t = 0; st == NEXP_OK && t < r->n_tensors; t++) {
        const nexp_tensor_view *v = &r->tensors[t];
        char name[NEXP_TENSOR_NAME_MAX + 16];
        size_t dims[NEXP_TENSOR_MAX_DIMS];
        for (int d = 0; d < v->ndim; d++) {
            dims[d] = (size_t)v->shape[d];
        }
        snprintf(name, sizeof name, "params/%s", v->name);
        if (nexp_h5_exists(h, name) != NEXP_H5_DATASET) {
            return nexp_error_set(err, NEXP_ERR_FORMAT, "%s: tensor %s is missing", path, name);
        }
        st = nexp_h5_read_array(h, name, r->type, v->ndim, dims, (char *)params + v->offset * r->elem, err);
    }
    return st;
}

/* A new optimiser from /optim, or *out = NULL if the file has none. */
static nexp_status read_optim(nexp_h5_file *h, const char *path, size_t n, nexp_optim **out, nexp_error *err)
{
    *out = NULL;
    if (nexp_h5_exists(h, "optim") != NEXP_H5_GROUP) {
        return NEXP_OK;
    }
    nexp_optim_config c = NEXP_OPTIM_CONFIG_INIT;
    char *kind = NULL, *sched = NULL;
    int64_t step_size = 0, total = 0, step = 0;
    struct { const char *name; double *v; } d[] = {
        { "lr", &c.lr },     { "momentum", &c.momentum },         { "beta1", &c.beta1 },
        { "beta2", &c.beta2 }, { "alpha", &c.alpha },             { "eps", &c.eps },
        { "weight_decay", &c.weight_decay }, { "clip_norm", &c.clip_norm }, { "gamma", &c.gamma },
        { "lr_min", &c.lr_min },
    };
    nexp_status st = nexp_h5_read_attr_string(h, "optim", "kind", &kind, err);
    if (st == NEXP_OK) {
        st = nexp_h5_read_attr_string(h, "optim", "schedule", &sched, err);
    }
    for (size_t i = 0; st == NEXP_OK && i < sizeof d / sizeof d[0]; i++) {
        st = nexp_h5_read_attr_double(h, "optim", d[i].name, d[i].v, err);
    }
    if (st == NEXP_OK) {
        st = nexp_h5_read_attr_int64(h, "optim", "step_size", &step_size, err);
    }
    if (st == NEXP_OK) {
        st = nexp_h5_read_attr_int64(h, "optim", "total_steps", &total, err);
    }
    if (st == NEXP_OK) {
        st = nexp_h5_read_attr_int64(h, "optim", "step", &step, err);
    }
    if (st == NEXP_OK) {
        int k = nexp_optim_kind_from_name(kind), s = nexp_schedule_from_name(sched);
        if (k < 0 || s < 0 || step < 0) {
            st = nexp_error_set(err, NEXP_ERR_FORMAT, "%s: optimiser \"%s\" with schedule \"%s\" at step %lld is not "
                                                      "valid", path, kind, sched, (long long)step);
        }
        c.kind = (nexp_optim_kind)k;
        c.schedule = (nexp_schedule)s;
        c.step_size = (long)step_size;
        c.total_steps = (long)total;
    }
    free(kind);
    free(sched);
    nexp_optim *o = NULL;
    if (st == NEXP_OK) {
        st = nexp_optim_create(&c, n, &o, err);
        if (st != NEXP_OK) {
            nexp_error_prefix(err, path);
        }
    }
    size_t dims[1] = { n };
    if (st == NEXP_OK) {
        o->step = (long)step;
        st = nexp_h5_read_array(h, "optim/m1", NEXP_H5_DOUBLE, 1, dims, o->m1, err);
    }
    if (st == NEXP_OK) {
        st = nexp_h5_read_array(h, "optim/m2", NEXP_H5_DOUBLE, 1, dims, o->m2, err);
    }
    if (st != NEXP_OK) {
        nexp_optim_free(o);
        return st;
    }
    *out = o;
    return NEXP_OK;
}

static nexp_status read_info(nexp_h5_file *h, nexp_ckpt_info *info, nexp_error *err)
{
    nexp_ckpt_info in;
    memset(&in, 0, sizeof in);
    int64_t step = 0;
    nexp_status st = nexp_h5_read_attr_int64(h, "/", "step", &step, err);
    in.step = (long)step;
    if (st == NEXP_OK) {
        st = nexp_h5_read_attr_string(h, "/", "metadata", &in.metadata, err);
    }
    if (st == NEXP_OK && nexp_h5_exists(h, "rng/state") == NEXP_H5_DATASET) {
        size_t dims[1] = { NEXP_RNG_STATE_WORDS };
        st = nexp_h5_read_array(h, "rng/state", NEXP_H5_UINT64, 1, dims, in.rng.s, err);
        in.has_rng = 1;
    }
    if (st != NEXP_OK || info == NULL) {
        free(in.metadata);
        return st;
    }
    *info = in;
    return NEXP_OK;
}

/* Restore into an existing model r: everything is read into temporaries first. */
static nexp_status restore_model(const char *path, nexp_h5_file *h, const char *file_spec, const model_ref *r,
                                 nexp_optim *opt, nexp_ckpt_info *info, nexp_error *err)
{
    if (strcmp(file_spec, r->spec_text) != 0) {
        return nexp_error_set(err, NEXP_ERR_MISMATCH, "%s: model spec differs: the file has \"%s\", the model is \"%s\"",
                              path, file_spec, r->spec_text);
    }
    if (opt != NULL && opt->n != r->n_params) {
        return nexp_error_set(err, NEXP_ERR_MISMATCH, "%s: optimiser has %zu parameters, the model %zu", path, opt->n,
                              r->n_params);
    }
    void *tmp = malloc(r->n_params * r->elem);
    if (tmp == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "%s: out of memory", path);
    }
    nexp_optim *o = NULL;
    nexp_ckpt_info in;
    memset(&in, 0, sizeof in);
    nexp_status st = read_params(h, path, r, tmp, err);
    if (st == NEXP_OK && opt != NULL) {
        st = read_optim(h, path, r->n_params, &o, err);
        if (st == NEXP_OK && o == NULL) {
            st = nexp_error_set(err, NEXP_ERR_FORMAT, "%s: no optimiser state stored", path);
        }
    }
    if (st == NEXP_OK) {
        st = read_info(h, &in, err);
    }
    if (st == NEXP_OK) {
        memcpy(r->params, tmp, r->n_params * r->elem);
        if (opt != NULL) {
            opt->cfg = o->cfg;
            opt->step = o->step;
            memcpy(opt->m1, o->m1, o->n * sizeof(double));
            memcpy(opt->m2, o->m2, o->n * sizeof(double));
        }
        if (info != NULL) {
            *info = in;
        } else {
            nexp_ckpt_info_clear(&in);
        }
    }
    nexp_optim_free(o);
    free(tmp);
    return st;
}

/* Canonical text of a stored spec (parsed and formatted again), or a FORMAT error. */
/* Fills a freshly created model (r refers to it) from an open checkpoint: its parameters, the
 * optimiser state into *opt when opt is not NULL (NULL if none is stored), and info. */
static nexp_status load_model(nexp_h5_file *h, const char *path, const model_ref *r, nexp_optim **opt,
                              nexp_ckpt_info *info, nexp_error *err)
{
    nexp_status st = read_params(h, path, r, r->params, err);
    if (st == NEXP_OK && opt != NULL) {
        st = read_optim(h, path, r->n_params, opt, err);
    }
    if (st == NEXP_OK) {
        st = read_info(h, info, err);
    }
    return st;
}

static nexp_status canonical_mlp(const char *path, const char *text, nexp_mlp_spec *spec, nexp_error *err)
{
    nexp_status st = nexp_mlp_spec_parse(text, spec, err);
    if (st == NEXP_OK) {
        st = nexp_mlp_spec_check(spec, err);
    }
    if (st != NEXP_OK) {
        nexp_error_prefix(err, path);
    }
    return st;
}

nexp_status nexp_checkpoint_restore_mlp(const char *path, nexp_mlp *mlp, nexp_optim *opt, nexp_ckpt_info *info,
                                        nexp_error *err)
{
    if (path == NULL || mlp == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "checkpoint: NULL path or model");
    }
    nexp_h5_file *h = NULL;
    char *text = NULL;
    model_ref r;
    memset(&r, 0, sizeof r);
    nexp_mlp_spec fs;
    char canon[NEXP_MLP_MAX_LAYERS * 32 + 16];
    nexp_status st = open_checkpoint(path, "mlp", &h, &text, err);
    if (st == NEXP_OK) {
        st = canonical_mlp(path, text, &fs, err);
    }
    if (st == NEXP_OK) {
        nexp_mlp_spec_format(&fs, canon, sizeof canon);
        st = ref_mlp(mlp, &r, err);
    }
    if (st == NEXP_OK) {
        st = restore_model(path, h, canon, &r, opt, info, err);
    }
    free(r.spec_text);
    free(text);
    nexp_h5_close(h);
    return st;
}

nexp_status nexp_checkpoint_load_mlp(const char *path, nexp_mlp **mlp, nexp_optim **opt, nexp_ckpt_info *info,
                                     nexp_error *err)
{
    if (path == NULL || mlp == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "checkpoint: NULL path or output");
    }
    *mlp = NULL;
    if (opt != NULL) {
        *opt = NULL;
    }
    nexp_h5_file *h = NULL;
    char *text = NULL;
    nexp_mlp *m = NULL;
    nexp_optim *o = NULL;
    model_ref r;
    memset(&r, 0, sizeof r);
    nexp_mlp_spec fs;
    nexp_status st = open_checkpoint(path, "mlp", &h, &text, err);
    if (st == NEXP_OK) {
        st = canonical_mlp(path, text, &fs, err);
    }
    if (st == NEXP_OK) {
        st = nexp_mlp_create(&fs, 0, &m, err);
    }
    if (st == NEXP_OK) {
        st = ref_mlp(m, &r, err);
    }
    if (st == NEXP_OK) {
        st = load_model(h, path, &r, opt != NULL ? &o : NULL, info, err);
    }
    free(r.spec_text);
    free(text);
    nexp_h5_close(h);
    if (st != NEXP_OK) {
        nexp_mlp_free(m);
        nexp_optim_free(o);
        return st;
    }
    *mlp = m;
    if (opt != NULL) {
        *opt = o;
    }
    return NEXP_OK;
}

static nexp_status canonical_net(const char *path, const char *text, nexp_net_spec *spec, char **canon,
                                 nexp_error *err)
{
    nexp_status st = nexp_net_spec_parse(text, spec, err);
    if (st != NEXP_OK) {
        nexp_error_prefix(err, path);
        return st;
    }
    int len = nexp_net_spec_format(spec, NULL, 0);
    *canon = len < 0 ? NULL : malloc((size_t)len + 1);
    if (*canon == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "%s: out of memory", path);
    }
    nexp_net_spec_format(spec, *canon, (size_t)len + 1);
    return NEXP_OK;
}

nexp_status nexp_checkpoint_restore_net(const char *path, nexp_net *net, nexp_optim *opt, nexp_ckpt_info *info,
                                        nexp_error *err)
{
    if (path == NULL || net == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "checkpoint: NULL path or model");
    }
    nexp_h5_file *h = NULL;
    char *text = NULL, *canon = NULL;
    model_ref r;
    memset(&r, 0, sizeof r);
    nexp_net_spec *fs = malloc(sizeof *fs);
    nexp_status st = fs == NULL ? nexp_error_set(err, NEXP_ERR_NOMEM, "checkpoint: out of memory")
                                : open_checkpoint(path, "net", &h, &text, err);
    if (st == NEXP_OK) {
        st = canonical_net(path, text, fs, &canon, err);
    }
    if (st == NEXP_OK) {
        st = ref_net(net, &r, err);
    }
    if (st == NEXP_OK) {
        st = restore_model(path, h, canon, &r, opt, info, err);
    }
    free(r.spec_text);
    free(canon);
    free(text);
    free(fs);
    nexp_h5_close(h);
    return st;
}

nexp_status nexp_checkpoint_load_net(const char *path, nexp_net **net, nexp_optim **opt, nexp_ckpt_info *info,
                                     nexp_error *err)
{
    if (path == NULL || net == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "checkpoint: NULL path or output");
    }
    *net = NULL;
    if (opt != NULL) {
        *opt = NULL;
    }
    nexp_h5_file *h = NULL;
    char *text = NULL, *canon = NULL;
    nexp_net *n = NULL;
    nexp_optim *o = NULL;
    model_ref r;
    memset(&r, 0, sizeof r);
    nexp_net_spec *fs = malloc(sizeof *fs);
    nexp_status st = fs == NULL ? nexp_error_set(err, NEXP_ERR_NOMEM, "checkpoint: out of memory")
                                : open_checkpoint(path, "net", &h, &text, err);
    if (st == NEXP_OK) {
        st = canonical_net(path, text, fs, &canon, err);
    }
    if (st == NEXP_OK) {
        st = nexp_net_create(fs, 0, &n, err);
    }
    if (st == NEXP_OK) {
        st = ref_net(n, &r, err);
    }
    if (st == NEXP_OK) {
        st = load_model(h, path, &r, opt != NULL ? &o : NULL, info, err);
    }
    free(r.spec_text);
    free(canon);
    free(text);
    free(fs);
    nexp_h5_close(h);
    if (st != NEXP_OK) {
        nexp_net_free(n);
        nexp_optim_free(o);
        return st;
    }
    *net = n;
    if (opt != NULL) {
        *opt = o;
    }
    return NEXP_OK;
}
