/* nexp_node.h — neural ODEs and universal differential equations: dy/dt = g(t, y; p) + f_theta(t, y).
 *
 *   nexp_node_spec spec = NEXP_NODE_SPEC_INIT;            // pure network, 2 -> 50 (tanh) -> 2
 *   spec.n = 2; spec.hidden = 50; spec.input = NEXP_NODE_INPUT_CUBE;
 *   nexp_node *m = NULL;
 *   nexp_node_create(&spec, 42, &m, &err);                 // or spec.physics = "lotka-volterra"
 *   nexp_node_work *w = NULL;  nexp_node_work_create(m, 20, &w, &err);   // batches of <= 20
 *   nexp_node_batch b = { 20, 10, t, y0, yobs, NULL };     // 20 windows of 10 times, stacked
 *   nexp_ode_grad_options g = NEXP_ODE_GRAD_OPTIONS_INIT;  // CVODES adjoint
 *   nexp_node_loss_grad(m, w, &b, NEXP_NODE_LOSS_L1, &g, &loss, grad, NULL, NULL, &err);  // grad: n_params
 *   nexp_node_predict(m, w, t0, y0, nt, t, &g.ode, Y, &err);
 *
 * The model: y has n states; the network sees x = phi((y - mu) / sigma) (phi the identity or y^3
 * elementwise; with time_input also (t - t_mu) / t_sigma, for non-autonomous dynamics
 * f_theta(t, y)) and contributes sigma * f_theta(x), so mu and sigma (the data normalisation) keep
 * the network's inputs and outputs near unit size while the state stays in data units, where the
 * optional physics term g (a built-in: lotka-volterra, pendulum, pk, linear, or the caller's own
 * callbacks) with trainable parameters p lives. The trainable parameters form one flat block
 * (theta then p) of n_params = mlp->n_params + np doubles: model->params (the network's
 * mlp->params points into it, so writing model->params updates the network).
 *
 * Losses compare the solution with observations in normalised units, r = (y - y_obs) / sigma,
 * averaged over observations and states: MSE mean(r^2) or L1 mean(|r|). Observations at the start
 * time count too. Gradients with respect to the parameter block come from nexp_ode_gradient
 * (adjoint, backprop or forward sensitivities), over a batch of trajectories that share their
 * time grid and are stacked into one ODE system of B * n states.
 *
 * Ownership: the model owns its network, physics parameters and normalisation; a work area belongs
 * to one thread at a time (give each OpenMP thread its own); the model is read-only during
 * loss_grad / predict, so several threads may evaluate it at once.
 */
#ifndef NEXP_NODE_H
#define NEXP_NODE_H

#include <stdint.h>

#include "nexp_mlp.h"
#include "nexp_ode.h"
#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nexp_node_input {
    NEXP_NODE_INPUT_IDENTITY = 0, /* x = (y - mu) / sigma */
    NEXP_NODE_INPUT_CUBE = 1      /* x = ((y - mu) / sigma)^3, elementwise (the spiral demo) */
} nexp_node_input;

typedef enum nexp_node_loss { NEXP_NODE_LOSS_MSE = 0, NEXP_NODE_LOSS_L1 = 1 } nexp_node_loss;

/* Known physics g(t, y; p) with exact products; the callbacks receive p as their user pointer
 * (the shape of nexp_ode_system with user = p). */
typedef struct nexp_node_physics {
    const char *name;   /* stored in checkpoints */
    int n, np;
    const double *p0;   /* initial parameters (np) */
    nexp_ode_rhs_fn f;
    nexp_ode_jvp_fn jvp;
    nexp_ode_vjp_fn vjp;
} nexp_node_physics;

/* The built-in physics of that name (lotka-volterra, pendulum, pk, linear, or any nexp_ode
 * built-in); NEXP_ERR_ARG if unknown. */
nexp_status nexp_node_physics_builtin(const char *name, nexp_node_physics *out, nexp_error *err);

typedef struct nexp_node_spec {
    int n;                          /* states */
    int hidden;                     /* hidden width; 0: no network (pure physics) */
    int layers;                     /* hidden layers, >= 1 */
    nexp_act act;                   /* hidden activation */
    nexp_node_input input;
    const char *physics;            /* built-in physics name, NULL or "none": pure network */
    const nexp_node_physics *custom; /* the caller's physics (overrides physics); copied */
    double net_scale;               /* initial output layer multiplied by this (0: start exactly at g) */
    int time_input;                 /* 1: the network also sees (t - t_mu) / t_sigma (non-autonomous) */
} nexp_node_spec;

#define NEXP_NODE_SPEC_INIT { 0, 50, 1, NEXP_ACT_TANH, NEXP_NODE_INPUT_IDENTITY, NULL, NULL, 1.0, 0 }

typedef struct nexp_node {
    int n;
    nexp_node_input input;
    nexp_mlp *mlp;                /* owned; NULL without a network */
    nexp_node_physics physics;    /* physics.f == NULL: none */
    char physics_name[48];
    int n_theta, np;              /* network and physics parameter counts */
    int n_params;                 /* n_theta + np */
    double *params;               /* owned (n_params): theta, then p */
    double *mu, *sigma;           /* owned (n): normalisation; 0 and 1 by default */
    int time_input;               /* 1: the network's last input is (t - t_mu) / t_sigma */
    double t_mu, t_sigma;         /* time normalisation; 0 and 1 by default */
    double *mlp_own_params;       /* internal: the network's own block while mlp->params views params */
} nexp_node;

nexp_status nexp_node_create(const nexp_node_spec *spec, uint64_t seed, nexp_node **out, nexp_error *err);
void nexp_node_free(nexp_node *m);
/* Sets mu and sigma (n each; sigma > 0). */
nexp_status nexp_node_set_normalisation(nexp_node *m, const double *mu, const double *sigma, nexp_error *err);
/* Sets the time normalisation of a network with time input (t_sigma > 0). */
nexp_status nexp_node_set_time_normalisation(nexp_node *m, double t_mu, double t_sigma, nexp_error *err);
/* The physics parameters inside m->params. */
double *nexp_node_physics_params(nexp_node *m);

typedef struct nexp_node_work nexp_node_work;
nexp_status nexp_node_work_create(const nexp_node *m, int max_batch, nexp_node_work **out, nexp_error *err);
void nexp_node_work_free(nexp_node_work *w);

/* The right-hand side for B stacked trajectories as an nexp_ode_system over the parameter block
 * (uses w; valid while m and w live). t_offset (B) shifts each trajectory's time for the physics
 * (NULL: none). */
nexp_status nexp_node_system(const nexp_node *m, nexp_node_work *w, int B, const double *t_offset,
                             nexp_ode_system *sys, nexp_error *err);

/* B trajectories observed at the same nt times t (t[0] = their start time): initial states y0
 * (B, n) and observations yobs (nt, B, n). */
typedef struct nexp_node_batch {
    int B;
    int nt;
    const double *t;
    const double *y0;
    const double *yobs;
    const double *t_offset; /* (B) or NULL: time shifts passed to the physics */
} nexp_node_batch;

/* Loss of the batch and its gradient with respect to m->params (grad: n_params, overwritten; may
 * be NULL). loss_kind: MSE or L1. Y (nt, B, n) receives the solution if not NULL. */
nexp_status nexp_node_loss_grad(const nexp_node *m, nexp_node_work *w, const nexp_node_batch *b,
                                nexp_node_loss loss_kind, const nexp_ode_grad_options *opt, double *loss,
                                double *grad, double *dy0, double *Y, nexp_error *err);

/* Solves one trajectory from (t0, y0) and writes y(t[i]) into Y (nt, n). */
nexp_status nexp_node_predict(const nexp_node *m, nexp_node_work *w, double t0, const double *y0, int nt,
                              const double *t, const nexp_ode_options *opt, double *Y, nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
