/* Neural ODE checkpoints in HDF5: model, training state (optimiser moments, RNG), data summary. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexp_h5.h"
#include "nexp_node_train.h"

#define OPTIM_CFG_LEN 14

static void cfg_to_doubles(const nexp_optim_config *c, double *v)
{
    double tmp[OPTIM_CFG_LEN] = { (double)c->kind, c->lr,           c->momentum, c->beta1,
                                  c->beta2,        c->alpha,        c->eps,      c->weight_decay,
                                  c->clip_norm,    (double)c->schedule, (double)c->step_size, c->gamma,
                                  (double)c->total_steps, c->lr_min };
    memcpy(v, tmp, sizeof tmp);
}

/* The integer settings (kind, schedule, step_size, total_steps) must be whole numbers that fit. */
static nexp_status cfg_from_doubles(const double *v, nexp_optim_config *c, const char *path, nexp_error *err)
{
    static const int whole[4] = { 0, 9, 10, 12 };
    for (int i = 0; i < 4; i++) {
        double x = v[whole[i]];
        if (!(x >= 0.0 && x <= (double)INT_MAX) || x != floor(x)) {
            return nexp_error_set(err, NEXP_ERR_FORMAT, "%s: optimiser setting %d is %g, not a whole number in 0..%d",
                                  path, whole[i], x, INT_MAX);
        }
    }
    c->kind = (nexp_optim_kind)(int)v[0];
    c->lr = v[1];
    c->momentum = v[2];
    c->beta1 = v[3];
    c->beta2 = v[4];
    c->alpha = v[5];
    c->eps = v[6];
    c->weight_decay = v[7];
    c->clip_norm = v[8];
    c->schedule = (nexp_schedule)(int)v[9];
    c->step_size = (long)v[10];
    c->gamma = v[11];
    c->total_steps = (long)v[12];
    c->lr_min = v[13];
    return NEXP_OK;
}

nexp_status nexp_node_save(const char *path, const nexp_node *m, const nexp_node_train_state *s,
                           const nexp_series *data, nexp_error *err)
{
    if (path == NULL || m == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "node: save needs a path and a model");
    }
    nexp_h5_file *h = NULL;
    nexp_status st = nexp_h5_create(&h, path, err);
    if (st != NEXP_OK) {
        return st;
    }
    char spec[NEXP_MLP_MAX_LAYERS * 32 + 16] = "";
    if (m->mlp != NULL) {
        nexp_mlp_spec_format(&m->mlp->spec, spec, sizeof spec);
    }
    size_t dp[1] = { (size_t)m->n_params }, dn[1] = { (size_t)m->n };
#define TRY(call)                         \
    do {                                  \
        if ((st = (call)) != NEXP_OK) {   \
            goto done;                    \
        }                                 \
    } while (0)
    TRY(nexp_h5_write_array(h, "model/params", NEXP_H5_DOUBLE, 1, dp, m->params, err));
    TRY(nexp_h5_write_array(h, "model/mu", NEXP_H5_DOUBLE, 1, dn, m->mu, err));
    TRY(nexp_h5_write_array(h, "model/sigma", NEXP_H5_DOUBLE, 1, dn, m->sigma, err));
    TRY(nexp_h5_write_attr_int64(h, "model", "n", m->n, err));
    TRY(nexp_h5_write_attr_string(h, "model", "input", m->input == NEXP_NODE_INPUT_CUBE ? "cube" : "identity",
                                  err));
    TRY(nexp_h5_write_attr_string(h, "model", "physics", m->physics_name, err));
    TRY(nexp_h5_write_attr_string(h, "model", "mlp", spec, err));
    TRY(nexp_h5_write_attr_int64(h, "model", "time_input", m->time_input, err));
    TRY(nexp_h5_write_attr_double(h, "model", "t_mu", m->t_mu, err));
    TRY(nexp_h5_write_attr_double(h, "model", "t_sigma", m->t_sigma, err));
    if (s != NULL && s->optim != NULL) {
        double cfg[OPTIM_CFG_LEN];
        size_t dr[1] = { NEXP_RNG_STATE_WORDS };
        cfg_to_doubles(&s->optim->cfg, cfg);
        TRY(nexp_h5_write_array(h, "train/optim_m1", NEXP_H5_DOUBLE, 1, dp, s->optim->m1, err));
        TRY(nexp_h5_write_array(h, "train/optim_m2", NEXP_H5_DOUBLE, 1, dp, s->optim->m2, err));
        TRY(nexp_h5_write_array(h, "train/rng", NEXP_H5_UINT64, 1, dr, s->rng.s, err));
        TRY(nexp_h5_write_attr_int64(h, "train", "iter", s->iter, err));
        TRY(nexp_h5_write_attr_int64(h, "train", "failed", s->failed, err));
        TRY(nexp_h5_write_attr_int64(h, "train", "optim_step", s->optim->step, err));
        TRY(nexp_h5_write_attr_doubles(h, "train", "optim_config", cfg, OPTIM_CFG_LEN, err));
        TRY(nexp_h5_write_attr_double(h, "train", "loss", s->loss, err));
    }
    if (data != NULL && data->n_states == m->n) {
        char names[512];
        size_t used = 0;
        names[0] = '\0';
        for (int k = 0; k < data->n_states && used + 2 < sizeof names; k++) {
            int w = snprintf(names + used, sizeof names - used, "%s%s", k ? "," : "", data->state_names[k]);
            used += w > 0 ? (size_t)w : 0;
        }
        long last = nexp_series_rows(data, 0) - 1;
        TRY(nexp_h5_write_attr_string(h, "data", "time_name", data->time_name, err));
        TRY(nexp_h5_write_attr_string(h, "data", "state_names", names, err));
        TRY(nexp_h5_write_attr_double(h, "data", "t0", data->t[0], err));
        TRY(nexp_h5_write_attr_double(h, "data", "t1", data->t[last], err));
        TRY(nexp_h5_write_attr_doubles(h, "data", "y0", data->y, (size_t)m->n, err));
    }
#undef TRY
    st = nexp_h5_commit(h, err);
done:
    nexp_h5_close(h);
    return st;
}

nexp_status nexp_node_load(const char *path, const nexp_node_physics *custom, nexp_node **model,
                           nexp_node_train_state **state, nexp_node_ckpt_info *info, nexp_error *err)
{
    if (path == NULL || model == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "node: load needs a path and a model pointer");
    }
    *model = NULL;
    if (state != NULL) {
        *state = NULL;
    }
    nexp_h5_file *h = NULL;
    nexp_status st = nexp_h5_open_read(&h, path, err);
    if (st != NEXP_OK) {
        return st;
    }
    nexp_node *m = NULL;
    nexp_node_train_state *s = NULL;
    char *input = NULL, *physics = NULL, *mlp = NULL, *tname = NULL, *snames = NULL;
    int64_t n = 0;
#define TRY(call)                         \
    do {                                  \
        if ((st = (call)) != NEXP_OK) {   \
            goto fail;                    \
        }                                 \
    } while (0)
    if (nexp_h5_exists(h, "model") != NEXP_H5_GROUP) {
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "%s: not a neural ODE checkpoint (no /model group)", path);
        goto fail;
    }
    TRY(nexp_h5_read_attr_int64(h, "model", "n", &n, err));
    TRY(nexp_h5_read_attr_string(h, "model", "input", &input, err));
    TRY(nexp_h5_read_attr_string(h, "model", "physics", &physics, err));
    TRY(nexp_h5_read_attr_string(h, "model", "mlp", &mlp, err));
    if (n < 1 || n > INT_MAX) {
        st = nexp_error_set(err, NEXP_ERR_FORMAT, "%s: model has %lld states", path, (long long)n);
        goto fail;
    }
    nexp_node_spec spec = NEXP_NODE_SPEC_INIT;
    spec.n = (int)n;
    spec.input = strcmp(input, "cube") == 0 ? NEXP_NODE_INPUT_CUBE : NEXP_NODE_INPUT_IDENTITY;
    spec.physics = physics;
    int wants_custom = strcmp(physics, "custom") == 0 ||
                       (custom != NULL && custom->name != NULL && strcmp(custom->name, physics) == 0);
    if (wants_custom) {
        if (custom == NULL) {
            st = nexp_error_set(err, NEXP_ERR_MISMATCH, "%s: the model uses custom physics; pass its callbacks",
                                path);
            goto fail;
        }
        spec.custom = custom;
    }
    nexp_mlp_spec ms;
    spec.hidden = 0;
    if (mlp[0] != '\0') {
        TRY(nexp_mlp_spec_parse(mlp, &ms, err));
        if (ms.n_layers < 2) {
            st = nexp_error_set(err, NEXP_ERR_UNSUPPORTED, "%s: network '%s' has no hidden layer", path, mlp);
            goto fail;
        }
        spec.hidden = ms.width[1];
        spec.time_input = ms.width[0] - (int)n;
        spec.layers = ms.n_layers - 1;
        spec.act = ms.act[0];
    }
    TRY(nexp_node_create(&spec, 0, &m, err));
    if (m->mlp != NULL && !nexp_mlp_spec_equal(&m->mlp->spec, &ms)) {
        st = nexp_error_set(err, NEXP_ERR_UNSUPPORTED, "%s: network '%s' is not a uniform MLP", path, mlp);
        goto fail;
    }
    size_t dp[1] = { (size_t)m->n_params }, dn[1] = { (size_t)m->n };
    TRY(nexp_h5_read_array(h, "model/params", NEXP_H5_DOUBLE, 1, dp, m->params, err));
    TRY(nexp_h5_read_array(h, "model/mu", NEXP_H5_DOUBLE, 1, dn, m->mu, err));
    TRY(nexp_h5_read_array(h, "model/sigma", NEXP_H5_DOUBLE, 1, dn, m->sigma, err));
    if (m->time_input) {
        TRY(nexp_h5_read_attr_double(h, "model", "t_mu", &m->t_mu, err));
        TRY(nexp_h5_read_attr_double(h, "model", "t_sigma", &m->t_sigma, err));
    }
    if (state != NULL && nexp_h5_exists(h, "train") == NEXP_H5_GROUP) {
        double cfgv[OPTIM_CFG_LEN];
        int64_t iter = 0, step = 0, failed = 0;
        nexp_optim_config cfg;
        size_t dr[1] = { NEXP_RNG_STATE_WORDS };
        TRY(nexp_h5_read_attr_doubles(h, "train", "optim_config", cfgv, OPTIM_CFG_LEN, err));
        TRY(nexp_h5_read_attr_int64(h, "train", "iter", &iter, err));
        TRY(nexp_h5_read_attr_int64(h, "train", "optim_step", &step, err));
        TRY(nexp_h5_read_attr_int64(h, "train", "failed", &failed, err));
        TRY(cfg_from_doubles(cfgv, &cfg, path, err));
        s = calloc(1, sizeof *s);
        if (s == NULL) {
            st = nexp_error_set(err, NEXP_ERR_NOMEM, "node: out of memory");
            goto fail;
        }
        TRY(nexp_optim_create(&cfg, (size_t)m->n_params, &s->optim, err));
        TRY(nexp_h5_read_array(h, "train/optim_m1", NEXP_H5_DOUBLE, 1, dp, s->optim->m1, err));
        TRY(nexp_h5_read_array(h, "train/optim_m2", NEXP_H5_DOUBLE, 1, dp, s->optim->m2, err));
        TRY(nexp_h5_read_array(h, "train/rng", NEXP_H5_UINT64, 1, dr, s->rng.s, err));
        TRY(nexp_h5_read_attr_double(h, "train", "loss", &s->loss, err));
        s->optim->step = step;
        s->iter = iter;
        s->failed = failed;
    }
    if (info != NULL) {
        memset(info, 0, sizeof *info);
        if (nexp_h5_exists(h, "data") == NEXP_H5_GROUP) {
            TRY(nexp_h5_read_attr_string(h, "data", "time_name", &tname, err));
            TRY(nexp_h5_read_attr_string(h, "data", "state_names", &snames, err));
            TRY(nexp_h5_read_attr_double(h, "data", "t0", &info->t0, err));
            TRY(nexp_h5_read_attr_double(h, "data", "t1", &info->t1, err));
            if (m->n <= 64) {
                TRY(nexp_h5_read_attr_doubles(h, "data", "y0", info->y0, (size_t)m->n, err));
            }
            snprintf(info->time_name, sizeof info->time_name, "%s", tname);
            snprintf(info->state_names, sizeof info->state_names, "%s", snames);
            info->has_data = 1;
        }
    }
#undef TRY
    *model = m;
    if (state != NULL) {
        *state = s;
    }
    m = NULL;
    s = NULL;
fail:
    nexp_node_free(m);
    nexp_node_train_state_free(s);
    free(input);
    free(physics);
    free(mlp);
    free(tname);
    free(snames);
    nexp_h5_close(h);
    return st;
}
