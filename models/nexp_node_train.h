/* nexp_node_train.h — fitting neural ODEs to measured trajectories; checkpoints.
 *
 *   nexp_series *data = NULL;  nexp_series_read_csv("spiral.csv", "t", "y1,y2", NULL, &data, &err);
 *   nexp_node_train_options o = NEXP_NODE_TRAIN_OPTIONS_INIT;
 *   o.iters = 2000; o.batch = 20; o.window = 10; o.loss = NEXP_NODE_LOSS_L1;
 *   o.optim.kind = NEXP_OPTIM_RMSPROP; o.optim.lr = 1e-3;
 *   nexp_node_train_state *st = NULL;
 *   nexp_node_train(model, data, &o, &st, &err);            // st == NULL: a fresh start
 *   nexp_node_save("model.h5", model, st, data, &err);      // resume: nexp_node_load + train again
 *   nexp_node_train_state_free(st);
 *
 * One iteration: with batch > 0, draw `batch` windows of `window` consecutive observations (a
 * trajectory chosen in proportion to its windows, then a start), solve each window from its first
 * observation and average the loss over all of them; windows that share their relative time grid
 * (a regular grid) are stacked into one ODE system of batch * n states and solved at once, others
 * are solved one by one. With batch = 0, every trajectory is solved whole from its first
 * observation. Separate solves run in parallel (OpenMP, one work area per thread) and their
 * gradients are summed in a fixed order, so results do not depend on the thread count. A solve
 * that fails (solver error, non-finite state) is reported through the callback and left out of
 * that iteration's average; an iteration whose solves all fail makes no update, and 20 such
 * iterations in a row end training with NEXP_ERR_SOLVER naming the last failure. The optimiser
 * (nn/nexp_optim.h: Adam, RMSprop, ..., with schedules and clipping) updates model->params.
 */
#ifndef NEXP_NODE_TRAIN_H
#define NEXP_NODE_TRAIN_H

#include <stdint.h>

#include "nexp_csv.h"
#include "nexp_node.h"
#include "nexp_optim.h"
#include "nexp_rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nexp_node_iter_info {
    long iter;           /* iterations completed (1-based after the first) */
    long total;          /* the run's final iteration count */
    double loss;         /* mean loss of this iteration's solves */
    double grad_norm;    /* before clipping */
    double lr;           /* learning rate used */
    int solves, failed;  /* solves this iteration and how many failed */
    const char *failure; /* message of the last failure this iteration, or NULL */
} nexp_node_iter_info;

/* Called after every iteration; a non-zero return stops training (NEXP_ERR_INTERRUPTED). */
typedef int (*nexp_node_iter_fn)(const nexp_node_iter_info *info, void *user);

typedef struct nexp_node_train_options {
    nexp_ode_grad_options grad; /* gradient method and solver tolerances */
    nexp_node_loss loss;
    nexp_optim_config optim;    /* used when a fresh optimiser is created */
    long iters;                 /* train until state->iter == iters */
    int batch;                  /* windows per iteration; 0: whole trajectories */
    int window;                 /* observations per window, >= 2 */
    uint64_t seed;              /* window sampling */
    long ckpt_every;            /* > 0 with ckpt_path: save every so many iterations and at the end */
    const char *ckpt_path;
    nexp_node_iter_fn on_iter;  /* may be NULL */
    void *user;
} nexp_node_train_options;

#define NEXP_NODE_TRAIN_OPTIONS_INIT                                                                      \
    { { NEXP_ODE_GRAD_ADJOINT, { NEXP_ODE_ADAMS, NEXP_ODE_LS_FIXED_POINT, NULL, 1e-6, 1e-8, NULL, 20000, 0.0, 0.0 }, \
        4, 200 },                                                                                         \
      NEXP_NODE_LOSS_MSE, NEXP_OPTIM_CONFIG_INIT, 1000, 0, 10, 42, 0, NULL, NULL, NULL }

/* What resuming needs besides the model: iteration count, optimiser moments, sampling RNG. */
typedef struct nexp_node_train_state {
    long iter;
    nexp_optim *optim; /* owned */
    nexp_rng rng;
    double loss;       /* of the last iteration */
    long failed;       /* failed solves so far */
} nexp_node_train_state;

void nexp_node_train_state_free(nexp_node_train_state *st);

/* Trains model on data (whose n_states must equal model->n) until (*state)->iter == o->iters.
 * *state NULL: a fresh state is created (and returned, owned by the caller). */
nexp_status nexp_node_train(nexp_node *model, const nexp_series *data, const nexp_node_train_options *o,
                            nexp_node_train_state **state, nexp_error *err);

/* Mean loss of every trajectory solved whole from its first observation (the "test loss");
 * trajectories whose solve fails are counted in *failed (may be NULL) and left out. */
nexp_status nexp_node_evaluate(const nexp_node *model, const nexp_series *data, nexp_node_loss loss,
                               const nexp_ode_options *ode, double *mean_loss, int *failed, nexp_error *err);

/* Mean and standard deviation of every state column (sigma >= a small floor) into the model, and
 * of the times for a network with time input. */
nexp_status nexp_node_normalise_from(nexp_node *model, const nexp_series *data, nexp_error *err);

/* ---- checkpoints (HDF5) -----------------------------------------------------------------------
 * /model: attributes n, input, physics, mlp (architecture text, "" without a network),
 *         time_input, t_mu, t_sigma; datasets params (theta then p), mu, sigma.
 * /train: attribute iter; datasets rng (4 uint64), optim_m1, optim_m2; attributes with the
 *         optimiser configuration and step. Absent when state is NULL.
 * /data:  attributes time_name, state_names; datasets t0 and y0 (the first trajectory's first
 *         observation), t1 (its last time). Absent when data is NULL.
 * Written atomically. */
nexp_status nexp_node_save(const char *path, const nexp_node *model, const nexp_node_train_state *state,
                           const nexp_series *data, nexp_error *err);

/* What a checkpoint says about its data (for predictions). */
typedef struct nexp_node_ckpt_info {
    char time_name[64];
    char state_names[512];
    double t0, t1;
    double y0[64];     /* first min(n, 64) states */
    int has_data;
} nexp_node_ckpt_info;

/* Loads the model (custom: the physics callbacks for a checkpoint whose physics is not built in;
 * may be NULL), and, when state is not NULL, the training state (NULL if the file has none).
 * info may be NULL. */
nexp_status nexp_node_load(const char *path, const nexp_node_physics *custom, nexp_node **model,
                           nexp_node_train_state **state, nexp_node_ckpt_info *info, nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
