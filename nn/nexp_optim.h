/* nexp_optim.h — optimisers over one flat parameter block: SGD with momentum, RMSprop, Adam, AdamW;
 * global gradient-norm clipping; constant, step and cosine learning-rate schedules.
 *
 *   nexp_optim_config cfg = NEXP_OPTIM_CONFIG_INIT;           // Adam, lr 1e-3
 *   cfg.schedule = NEXP_SCHEDULE_COSINE; cfg.total_steps = 2000; cfg.clip_norm = 1.0;
 *   nexp_optim *opt = NULL;
 *   nexp_optim_create(&cfg, mlp->n_params, &opt, &err);
 *   for (...) { nexp_mlp_zero_grad(mlp); ...accumulate mlp->grads...;
 *               nexp_optim_step_f64(opt, mlp->params, mlp->grads, NULL, &err); }
 *   nexp_optim_free(opt);
 *
 * The update rules are PyTorch's (torch.optim.SGD / RMSprop / Adam / AdamW, default flags), so
 * hyper-parameters carry over. Moments are kept in double for both parameter precisions, in two
 * arrays m1, m2 of the model's flat layout (SGD: m1 = velocity; RMSprop: m2 = mean square; Adam:
 * both). The whole state is (config, step, m1, m2): saving it in a checkpoint resumes bit-identically.
 * The optimiser is owned by the caller; one step is not thread-safe with respect to the same object.
 */
#ifndef NEXP_OPTIM_H
#define NEXP_OPTIM_H

#include <stddef.h>

#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nexp_optim_kind {
    NEXP_OPTIM_SGD = 0,
    NEXP_OPTIM_RMSPROP,
    NEXP_OPTIM_ADAM,
    NEXP_OPTIM_ADAMW,
    NEXP_OPTIM_COUNT_
} nexp_optim_kind;

typedef enum nexp_schedule {
    NEXP_SCHEDULE_CONSTANT = 0,
    NEXP_SCHEDULE_STEP,   /* lr gamma^floor(t / step_size) */
    NEXP_SCHEDULE_COSINE, /* lr_min + (lr - lr_min) (1 + cos(pi min(t, total) / total)) / 2 */
    NEXP_SCHEDULE_COUNT_
} nexp_schedule;

typedef struct nexp_optim_config {
    nexp_optim_kind kind;
    double lr;
    double momentum;     /* SGD momentum (0: plain SGD) */
    double beta1, beta2; /* Adam / AdamW */
    double alpha;        /* RMSprop smoothing constant */
    double eps;          /* RMSprop / Adam denominator guard */
    double weight_decay; /* SGD, RMSprop, Adam: L2 term added to the gradient; AdamW: decoupled */
    double clip_norm;    /* > 0: gradients with a larger global L2 norm are scaled down to it */
    nexp_schedule schedule;
    long step_size;      /* STEP */
    double gamma;        /* STEP */
    long total_steps;    /* COSINE */
    double lr_min;       /* COSINE */
} nexp_optim_config;

#define NEXP_OPTIM_CONFIG_INIT \
    { NEXP_OPTIM_ADAM, 1e-3, 0.0, 0.9, 0.999, 0.99, 1e-8, 0.0, 0.0, NEXP_SCHEDULE_CONSTANT, 1000, 0.1, 1000, 0.0 }

typedef struct nexp_optim {
    nexp_optim_config cfg;
    size_t n;     /* parameters */
    long step;    /* completed steps */
    double *m1;   /* owned, n */
    double *m2;   /* owned, n */
} nexp_optim;

/* Checks the configuration (lr > 0, betas and alpha in [0, 1), eps > 0, ...) and allocates zeroed
 * moments for n parameters. */
nexp_status nexp_optim_create(const nexp_optim_config *cfg, size_t n, nexp_optim **out, nexp_error *err);
void nexp_optim_free(nexp_optim *opt);
/* Learning rate the schedule gives at step t (0-based). */
double nexp_optim_lr(const nexp_optim_config *cfg, long t);
/* "sgd", "rmsprop", "adam", "adamw"; "constant", "step", "cosine". from_name: -1 if unknown. */
const char *nexp_optim_kind_name(nexp_optim_kind kind);
int nexp_optim_kind_from_name(const char *name);
const char *nexp_schedule_name(nexp_schedule s);
int nexp_schedule_from_name(const char *name);

/* Global L2 norm of n gradient values (summed in double, in order: thread-count independent). */
double nexp_grad_norm_f32(size_t n, const float *g);
double nexp_grad_norm_f64(size_t n, const double *g);

/* One update of params (opt->n values) from grads (not modified; clipping is applied on the fly).
 * grad_norm (may be NULL) receives the norm before clipping. A non-finite gradient norm leaves
 * params and state untouched and returns NEXP_ERR_NONFINITE, so a training loop can skip the batch. */
nexp_status nexp_optim_step_f32(nexp_optim *opt, float *params, const float *grads, double *grad_norm,
                                nexp_error *err);
nexp_status nexp_optim_step_f64(nexp_optim *opt, double *params, const double *grads, double *grad_norm,
                                nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
