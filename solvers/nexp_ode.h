/* nexp_ode.h — ODE integration with SUNDIALS (CVODE, ARKODE) and gradients of losses over solutions.
 *
 *   double p[3] = { 10.0, 28.0, 8.0 / 3.0 }, y0[3] = { 1, 1, 1 }, t[2] = { 1.0, 2.0 }, Y[2 * 3];
 *   nexp_ode_system sys;
 *   nexp_ode_builtin_system("lorenz", p, &sys, &err);            // sys.user = p (borrowed)
 *   nexp_ode_options opt = NEXP_ODE_OPTIONS_INIT;                  // CVODE BDF, dense, rtol 1e-6
 *   nexp_ode_solve(&sys, &opt, 0.0, y0, 2, t, Y, NULL, &err);     // Y(i, :) = y(t[i])
 *
 * A system is y' = f(t, y; p) with n states and np parameters. Callbacks are shaped like
 * SUNDIALS' (0 ok, > 0 recoverable: the solver retries with a smaller step, < 0 fatal). The
 * optional jvp/vjp callbacks give Jacobian products; CVODE uses jvp for its dense Jacobian and
 * its matrix-free Krylov solves, and the gradient methods use them as documented below.
 *
 * Every solve creates its own SUNDIALS context and memory and frees it before returning, so
 * different threads may solve different systems (or the same system with thread-safe callbacks)
 * at once. A failure returns NEXP_ERR_SOLVER with SUNDIALS' flag name and message, e.g.
 * "CVODE: CV_TOO_MUCH_WORK at t = 0.2: At t = 0.2, mxstep steps taken before reaching tout.".
 */
#ifndef NEXP_ODE_H
#define NEXP_ODE_H

#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ydot = f(t, y): y and ydot have n entries. */
typedef int (*nexp_ode_rhs_fn)(double t, const double *y, double *ydot, void *user);
/* out = (df/dy) dy + (df/dp) dp; dp (np entries) may be NULL, meaning zero. */
typedef int (*nexp_ode_jvp_fn)(double t, const double *y, const double *dy, const double *dp, double *out,
                               void *user);
/* wy = (df/dy)^T w (n entries) and, when wp is not NULL, wp = (df/dp)^T w (np entries); both
 * overwritten. */
typedef int (*nexp_ode_vjp_fn)(double t, const double *y, const double *w, double *wy, double *wp, void *user);

/* Optional pair for backpropagation: f that also writes a record (rec_len doubles) of what its
 * vector-Jacobian product needs (e.g. a network's activations), and that product computed from the
 * record, so the reverse pass does not evaluate f again. Same results as f and vjp. */
typedef int (*nexp_ode_rhs_rec_fn)(double t, const double *y, double *ydot, double *rec, void *user);
typedef int (*nexp_ode_vjp_rec_fn)(double t, const double *y, const double *w, const double *rec, double *wy,
                                   double *wp, void *user);

typedef struct nexp_ode_system {
    int n;               /* number of states, >= 1 */
    int np;              /* number of parameters p (may be 0) */
    nexp_ode_rhs_fn f;   /* required */
    nexp_ode_jvp_fn jvp; /* optional: exact Jacobian for CVODE; required by forward sensitivities */
    nexp_ode_vjp_fn vjp; /* optional: required by the adjoint and backpropagation gradients */
    void *user;          /* passed to every callback; borrowed */
    size_t rec_len;      /* optional (0: none): the record pair used by the backprop methods */
    nexp_ode_rhs_rec_fn f_rec;
    nexp_ode_vjp_rec_fn vjp_rec;
} nexp_ode_system;

typedef enum nexp_ode_method {
    NEXP_ODE_BDF = 0, /* CVODE variable-order BDF (stiff) */
    NEXP_ODE_ADAMS,   /* CVODE variable-order Adams-Moulton (non-stiff) */
    NEXP_ODE_ERK      /* ARKODE ERKStep explicit Runge-Kutta; table by name (Dormand-Prince 5(4) default) */
} nexp_ode_method;

typedef enum nexp_ode_linsol {
    NEXP_ODE_LS_DENSE = 0,   /* SUNDenseMatrix + SUNLinSol_Dense; Jacobian from jvp or difference quotients */
    NEXP_ODE_LS_SPGMR,       /* matrix-free SUNLinSol_SPGMR; J v from jvp or difference quotients */
    NEXP_ODE_LS_FIXED_POINT  /* no linear solver: SUNDIALS' fixed-point (functional) iteration */
} nexp_ode_linsol;

typedef struct nexp_ode_options {
    nexp_ode_method method;
    nexp_ode_linsol linsol;     /* CVODE only */
    const char *erk_table;      /* ERK only: an ARKODE table name; NULL: "ARKODE_DORMAND_PRINCE_7_4_5" */
    double rtol;                /* relative tolerance, > 0 */
    double atol;                /* absolute tolerance (all components), > 0 */
    const double *atol_vec;     /* per-component absolute tolerances (n entries); overrides atol */
    long max_steps;             /* steps allowed between two output times */
    double h_init;              /* first step; 0: the solver's estimate */
    double h_max;               /* largest step; 0: unbounded */
} nexp_ode_options;

#define NEXP_ODE_OPTIONS_INIT { NEXP_ODE_BDF, NEXP_ODE_LS_DENSE, NULL, 1e-6, 1e-8, NULL, 100000, 0.0, 0.0 }

/* Solver statistics (sums over the whole solve; fields a method lacks stay 0). */
typedef struct nexp_ode_stats {
    long steps;
    long rhs_evals;
    long jac_evals;      /* Jacobian evaluations (dense) or J v products (Krylov) */
    long lin_setups;
    long err_test_fails;
    long nonlin_iters;
    long nonlin_fails;
    long backward_steps; /* adjoint: steps of the backward problem */
    long checkpoints;    /* adjoint: checkpoints stored */
    double h_last;       /* last step size taken */
} nexp_ode_stats;

/* Names accepted by nexp_ode_method_parse: "bdf", "adams", "dopri5" (ERK, Dormand-Prince), or
 * "erk:<ARKODE table name>" (e.g. "erk:ARKODE_VERNER_8_5_6"). opt->erk_table then points into
 * name, which must outlive opt. */
nexp_status nexp_ode_method_parse(const char *name, nexp_ode_options *opt, nexp_error *err);

/* Integrates from (t0, y0) and stores y(t[i]) in Y[i * n .. i * n + n - 1] for the nt output times
 * t[0] < t[1] < ... (t[0] >= t0; t[i] == t0 gives y0). stats may be NULL. Y is the caller's. */
nexp_status nexp_ode_solve(const nexp_ode_system *sys, const nexp_ode_options *opt, double t0, const double *y0,
                           int nt, const double *t, double *Y, nexp_ode_stats *stats, nexp_error *err);

/* ---- gradients of L = sum_i l_i(y(t_i)) with respect to p and y0 ------------------------------ */

/* The loss at observation i (time t, state y, n entries): *l = l_i(y), dl = dl_i/dy (n entries,
 * overwritten). Same return convention as the right-hand side. */
typedef int (*nexp_ode_loss_fn)(int i, double t, const double *y, double *l, double *dl, void *user);

typedef enum nexp_ode_grad_method {
    /* CVODES adjoint: forward solve with checkpoints (CVodeAdjInit), then one backward problem
     * lambda' = -(df/dy)^T lambda (needs vjp) restarted at every observation with the jump
     * dl_i/dy; dL/dp by backward quadrature mu' = -(df/dp)^T lambda. Memory grows with the
     * number of checkpoints, not with the number of steps. Uses opt.ode (BDF: SPGMR with J^T v
     * from vjp; Adams: fixed-point iteration). */
    NEXP_ODE_GRAD_ADJOINT = 0,
    /* Reverse-mode differentiation of a fixed-step classic RK4 solve with fixed_steps equal steps
     * per observation interval (needs vjp): the exact gradient of the discrete solution. */
    NEXP_ODE_GRAD_BACKPROP_RK4,
    /* The same through an adaptive Dormand-Prince 5(4) solve (nexp's own stepper, rtol/atol from
     * opt.ode, steps end on observation times); accepted step sizes are treated as constants. */
    NEXP_ODE_GRAD_BACKPROP_DOPRI5,
    /* CVODES forward sensitivities of all np + n parameters (p, then y0) (needs jvp): cost grows
     * with np, so for small parameter counts. Uses opt.ode. */
    NEXP_ODE_GRAD_FORWARD
} nexp_ode_grad_method;

typedef struct nexp_ode_grad_options {
    nexp_ode_grad_method method;
    nexp_ode_options ode;   /* tolerances and CVODE method for ADJOINT and FORWARD; tolerances for DOPRI5 */
    int fixed_steps;        /* RK4: steps per observation interval, >= 1 */
    long checkpoint_steps;  /* ADJOINT: steps between checkpoints */
} nexp_ode_grad_options;

#define NEXP_ODE_GRAD_OPTIONS_INIT { NEXP_ODE_GRAD_ADJOINT, NEXP_ODE_OPTIONS_INIT, 4, 100 }

/* Parses "adjoint", "backprop" (DOPRI5), "backprop-rk4", "forward". */
nexp_status nexp_ode_grad_method_parse(const char *name, nexp_ode_grad_method *m, nexp_error *err);

/* Solves from (t0, y0) through the observation times t[0] < ... < t[nt - 1] (t[0] >= t0), sums
 * the losses into *loss and writes dL/dp (np entries) into dp and dL/dy0 (n entries) into dy0;
 * Y (nt * n, the solution at the observations), dp and dy0 may be NULL; with both NULL only the
 * forward solve runs (the loss alone, as the method computes it). All outputs are overwritten
 * and belong to the caller. */
nexp_status nexp_ode_gradient(const nexp_ode_system *sys, const nexp_ode_grad_options *opt, double t0,
                              const double *y0, int nt, const double *t, nexp_ode_loss_fn loss, void *loss_user,
                              double *loss_out, double *Y, double *dp, double *dy0, nexp_ode_stats *stats,
                              nexp_error *err);

/* ---- built-in systems ------------------------------------------------------------------------
 * lorenz          x' = s (y - x), y' = x (r - z) - y, z' = x y - b z            p = (s, r, b)
 * lotka-volterra  u' = a u - b u v, v' = -c v + d u v (prey u, predator v)       p = (a, b, c, d)
 * pendulum        th' = w, w' = -k w - g sin th (damped)                        p = (k, g)
 * robertson       y1' = -k1 y1 + k2 y2 y3, y3' = k3 y2^2, y2' = -y1' - y3'       p = (k1, k2, k3)
 * spiral          y' = (y^3) A, y^3 elementwise, y a row vector                  p = A row-major (4)
 * pk              c' = -ke c (one compartment, elimination after an IV bolus)   p = (ke)
 * linear          y' = A y (2 states)                                            p = A row-major (4)
 * All have exact jvp and vjp. */
typedef struct nexp_ode_builtin {
    const char *name;
    const char *summary;
    int n, np;
    const char *state_names;   /* comma-separated */
    const char *param_names;   /* comma-separated */
    const double *params;      /* defaults (np) */
    const double *y0;          /* default initial state (n) */
    double t1;                 /* default end time (start 0) */
    nexp_ode_method method;    /* the natural solver */
} nexp_ode_builtin;

/* NULL-terminated table of the built-ins, and one by name (NULL if unknown). */
const nexp_ode_builtin *const *nexp_ode_builtins(void);
const nexp_ode_builtin *nexp_ode_builtin_find(const char *name);
/* Fills sys for the built-in `name` with parameters p (np entries; borrowed as sys->user). */
nexp_status nexp_ode_builtin_system(const char *name, double *p, nexp_ode_system *sys, nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
