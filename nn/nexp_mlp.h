/* nexp_mlp.h — multilayer perceptrons in double precision with exact VJP and JVP products.
 *
 *   nexp_mlp_spec spec;                                        // 2 -> 50 (tanh) -> 2
 *   nexp_mlp_spec_init(&spec, 2, 50, 1, 2, NEXP_ACT_TANH, &err);
 *   nexp_mlp *f = NULL; nexp_mlp_workspace *ws = NULL;
 *   nexp_mlp_create(&spec, 42, &f, &err);                       // seeded He / Glorot init
 *   nexp_mlp_workspace_create(f, 20, &ws, &err);                // batches up to 20, no alloc later
 *   nexp_mlp_forward(f, ws, 20, y, ydot, &err);                 // y (20, 2) -> ydot (20, 2)
 *   nexp_mlp_vjp(f, ws, 20, y, lambda, NULL, dy, dtheta, &err); // dy += l^T df/dy, dtheta += l^T df/dtheta
 *   nexp_mlp_jvp(f, ws, 20, y, v, NULL, jv, &err);              // jv = (df/dy) v
 *   nexp_mlp_workspace_free(ws); nexp_mlp_free(f);
 *
 * Model: layer l = 0..n_layers-1 maps a (B, width[l]) to f_l(a W_l^T + b_l), W_l (width[l+1],
 * width[l]) row-major, b_l (width[l+1]). Batches are row-major (B, width): one sample per row.
 * The parameters live in one flat block mlp->params (n_params doubles): for each layer its weight
 * then its bias, listed in mlp->tensors as "dense<l>.weight" / "dense<l>.bias". mlp->grads has the
 * same layout (owned by the model, for training loops); the products below accumulate into any
 * block of that layout the caller passes, so several threads can each own one.
 *
 * Products "without a graph": every call recomputes the forward pass of its batch into the
 * workspace, so calls are independent of each other (what a CVODE(S) right-hand side, adjoint
 * right-hand side or Jacobian-times-vector callback needs). No call allocates.
 *
 * Ownership and threads: nexp_mlp_create returns a model owned by the caller (nexp_mlp_free); a
 * workspace belongs to one thread at a time. forward / vjp / jvp read the model (const) and may run
 * concurrently on different workspaces and different output / gradient blocks. Matrix products go
 * through CBLAS dgemm.
 */
#ifndef NEXP_MLP_H
#define NEXP_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "nexp_layers.h"
#include "nexp_params.h"
#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NEXP_MLP_MAX_LAYERS 16
#define NEXP_MLP_MAX_WIDTH 65536

typedef struct nexp_mlp_spec {
    int n_layers;                        /* number of dense layers, 1..NEXP_MLP_MAX_LAYERS */
    int width[NEXP_MLP_MAX_LAYERS + 1];  /* width[0] inputs, width[n_layers] outputs */
    nexp_act act[NEXP_MLP_MAX_LAYERS];   /* activation after layer l (last one usually identity) */
} nexp_mlp_spec;

/* in -> hidden (act) -> ... n_hidden times ... -> out (identity). n_hidden = 0 gives one affine
 * layer in -> out. */
nexp_status nexp_mlp_spec_init(nexp_mlp_spec *spec, int in, int hidden, int n_hidden, int out, nexp_act act,
                               nexp_error *err);
/* Checks layer count, widths (1..NEXP_MLP_MAX_WIDTH) and activations. */
nexp_status nexp_mlp_spec_check(const nexp_mlp_spec *spec, nexp_error *err);
/* Text form, e.g. "2 50:tanh 2:identity" (input width, then width:activation per layer); parse
 * accepts what format writes. format returns the length snprintf would have written. */
int nexp_mlp_spec_format(const nexp_mlp_spec *spec, char *buf, size_t len);
nexp_status nexp_mlp_spec_parse(const char *text, nexp_mlp_spec *spec, nexp_error *err);
/* 1 if the two specs describe the same architecture. */
int nexp_mlp_spec_equal(const nexp_mlp_spec *a, const nexp_mlp_spec *b);

typedef struct nexp_mlp {
    nexp_mlp_spec spec;
    size_t n_params;
    double *params; /* owned, n_params: weights and biases, layer by layer */
    double *grads;  /* owned, n_params, zeroed by create and nexp_mlp_zero_grad */
    int n_tensors;  /* 2 * n_layers */
    nexp_tensor_view tensors[2 * NEXP_MLP_MAX_LAYERS];
} nexp_mlp;

/* Allocate a model for spec and initialise it with nexp_mlp_init(seed). */
nexp_status nexp_mlp_create(const nexp_mlp_spec *spec, uint64_t seed, nexp_mlp **out, nexp_error *err);
void nexp_mlp_free(nexp_mlp *mlp);
/* Seeded initialisation: He normal (std sqrt(2 / fan_in)) before relu / leaky relu / gelu /
 * softplus, Glorot uniform (limit sqrt(6 / (fan_in + fan_out))) before tanh / sigmoid / identity;
 * biases zero. Same seed, same parameters, on every platform. */
void nexp_mlp_init(nexp_mlp *mlp, uint64_t seed);
void nexp_mlp_zero_grad(nexp_mlp *mlp);
/* Views of layer l's weight (width[l+1], width[l]) and bias (width[l+1]) in a block of the model's
 * layout (mlp->params, mlp->grads or a caller's gradient block). */
double *nexp_mlp_weight(const nexp_mlp *mlp, double *block, int layer);
double *nexp_mlp_bias(const nexp_mlp *mlp, double *block, int layer);

typedef struct nexp_mlp_workspace nexp_mlp_workspace;

/* Scratch memory for batches of up to max_batch samples (owned by the caller). */
nexp_status nexp_mlp_workspace_create(const nexp_mlp *mlp, int max_batch, nexp_mlp_workspace **out,
                                      nexp_error *err);
void nexp_mlp_workspace_free(nexp_mlp_workspace *ws);

/* y (B, out) = f(x), x (B, in). 1 <= B <= the workspace's max_batch. */
nexp_status nexp_mlp_forward(const nexp_mlp *mlp, nexp_mlp_workspace *ws, int B, const double *x, double *y,
                             nexp_error *err);
/* Vector-Jacobian products for v (B, out), per sample b:
 *   dx[b]  += v[b]^T df(x[b])/dx            (B, in)      if dx != NULL
 *   dtheta += sum_b v[b]^T df(x[b])/dtheta  (n_params)   if dtheta != NULL
 * and y (B, out) = f(x) if y != NULL. */
nexp_status nexp_mlp_vjp(const nexp_mlp *mlp, nexp_mlp_workspace *ws, int B, const double *x, const double *v,
                         double *y, double *dx, double *dtheta, nexp_error *err);
/* Jacobian-vector product, per sample b: jw[b] = df(x[b])/dx w[b], w (B, in), jw (B, out)
 * (written, not accumulated); y (B, out) = f(x) if y != NULL. */
nexp_status nexp_mlp_jvp(const nexp_mlp *mlp, nexp_mlp_workspace *ws, int B, const double *x, const double *w,
                         double *y, double *jw, nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
