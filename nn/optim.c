#include "nexp_optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[NEXP_OPTIM_COUNT_] = { "sgd", "rmsprop", "adam", "adamw" };
static const char *const schedule_names[NEXP_SCHEDULE_COUNT_] = { "constant", "step", "cosine" };

const char *nexp_optim_kind_name(nexp_optim_kind kind)
{
    return ((int)kind >= 0 && kind < NEXP_OPTIM_COUNT_) ? kind_names[kind] : "unknown";
}

int nexp_optim_kind_from_name(const char *name)
{
    for (int k = 0; name != NULL && k < NEXP_OPTIM_COUNT_; k++) {
        if (strcmp(name, kind_names[k]) == 0) {
            return k;
        }
    }
    return -1;
}

const char *nexp_schedule_name(nexp_schedule s)
{
    return ((int)s >= 0 && s < NEXP_SCHEDULE_COUNT_) ? schedule_names[s] : "unknown";
}

int nexp_schedule_from_name(const char *name)
{
    for (int k = 0; name != NULL && k < NEXP_SCHEDULE_COUNT_; k++) {
        if (strcmp(name, schedule_names[k]) == 0) {
            return k;
        }
    }
    return -1;
}

static nexp_status check_config(const nexp_optim_config *c, nexp_error *err)
{
    if ((int)c->kind < 0 || c->kind >= NEXP_OPTIM_COUNT_) {
        return nexp_error_set(err, NEXP_ERR_ARG, "optimiser: unknown kind %d", (int)c->kind);
    }
    if (!(c->lr > 0.0) || !isfinite(c->lr)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "optimiser: learning rate %g, expected > 0", c->lr);
    }
    if (!(c->momentum >= 0.0 && c->momentum < 1.0) || !(c->beta1 >= 0.0 && c->beta1 < 1.0) ||
        !(c->beta2 >= 0.0 && c->beta2 < 1.0) || !(c->alpha >= 0.0 && c->alpha < 1.0)) {
        return nexp_error_set(err, NEXP_ERR_ARG,
                              "optimiser: momentum %g, beta1 %g, beta2 %g, alpha %g must lie in [0, 1)", c->momentum,
                              c->beta1, c->beta2, c->alpha);
    }
    if (!(c->eps > 0.0) || !(c->weight_decay >= 0.0) || !(c->clip_norm >= 0.0)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "optimiser: eps %g must be > 0, weight decay %g and clip norm %g >= 0",
                              c->eps, c->weight_decay, c->clip_norm);
    }
    if ((int)c->schedule < 0 || c->schedule >= NEXP_SCHEDULE_COUNT_) {
        return nexp_error_set(err, NEXP_ERR_ARG, "optimiser: unknown schedule %d", (int)c->schedule);
    }
    if (c->schedule == NEXP_SCHEDULE_STEP && (c->step_size < 1 || !(c->gamma > 0.0))) {
        return nexp_error_set(err, NEXP_ERR_ARG, "step schedule: step size %ld and gamma %g must be positive",
                              c->step_size, c->gamma);
    }
    if (c->schedule == NEXP_SCHEDULE_COSINE && (c->total_steps < 1 || !(c->lr_min >= 0.0) || c->lr_min > c->lr)) {
        return nexp_error_set(err, NEXP_ERR_ARG,
                              "cosine schedule: total steps %ld must be >= 1 and lr_min %g in [0, lr]", c->total_steps,
                              c->lr_min);
    }
    return NEXP_OK;
}

nexp_status nexp_optim_create(const nexp_optim_config *cfg, size_t n, nexp_optim **out, nexp_error *err)
{
    if (cfg == NULL || out == NULL || n == 0) {
        return nexp_error_set(err, NEXP_ERR_ARG, "optimiser: NULL configuration or no parameters");
    }
    *out = NULL;
    nexp_status st = check_config(cfg, err);
    if (st != NEXP_OK) {
        return st;
    }
    nexp_optim *o = calloc(1, sizeof *o);
    if (o == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "optimiser: out of memory");
    }
    o->cfg = *cfg;
    o->n = n;
    o->m1 = calloc(n, sizeof(double));
    o->m2 = calloc(n, sizeof(double));
    if (o->m1 == NULL || o->m2 == NULL) {
        nexp_optim_free(o);
        return nexp_error_set(err, NEXP_ERR_NOMEM, "optimiser: out of memory for %zu moments", n);
    }
    *out = o;
    return NEXP_OK;
}

void nexp_optim_free(nexp_optim *opt)
{
    if (opt == NULL) {
        return;
    }
    free(opt->m1);
    free(opt->m2);
    free(opt);
}

double nexp_optim_lr(const nexp_optim_config *cfg, long t)
{
    switch (cfg->schedule) {
    case NEXP_SCHEDULE_STEP:
        return cfg->lr * pow(cfg->gamma, (double)(t / cfg->step_size));
    case NEXP_SCHEDULE_COSINE: {
        double f = t >= cfg->total_steps ? 1.0 : (double)t / (double)cfg->total_steps;
        return cfg->lr_min + (cfg->lr - cfg->lr_min) * 0.5 * (1.0 + cos(M_PI * f));
    }
    case NEXP_SCHEDULE_CONSTANT:
    case NEXP_SCHEDULE_COUNT_:
        break;
    }
    return cfg->lr;
}
