/* Neural ODE model: exact products of the right-hand side, gradients of the loss with respect to
 * network weights, physics parameters and initial states by every method. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexp_core.h"
#include "nexp_node.h"
#include "nexp_node_train.h"
#include "testlib.h"

#define NT 5
#define B 3

static const double tgrid[NT] = { 0.0, 0.3, 0.55, 0.9, 1.25 };

/* Observations: a spiral-like rotation of three starting points. */
static void make_batch(int n, double *y0, double *yobs)
{
    for (int b = 0; b < B; b++) {
        for (int k = 0; k < n; k++) {
            y0[b * n + k] = 0.8 + 0.37 * b - 0.52 * k;
        }
    }
    for (int i = 0; i < NT; i++) {
        for (int b = 0; b < B; b++) {
            for (int k = 0; k < n; k++) {
                double a = 1.3 * tgrid[i] + 0.4 * k;
                yobs[(i * B + b) * n + k] = y0[b * n + k] * cos(a) + 0.2 * sin(a + b);
            }
        }
    }
}

/* Time input on (and the batch's trajectories shifted in time) for the non-autonomous checks. */
static int with_time;
static const double batch_toff[B] = { 0.5, 1.7, 3.1 };

static nexp_node *make_model(const char *physics, nexp_node_input input, int hidden)
{
    nexp_node_spec spec = NEXP_NODE_SPEC_INIT;
    spec.time_input = with_time;
    spec.n = 2;
    spec.hidden = hidden;
    spec.input = input;
    spec.physics = physics;
    spec.net_scale = 0.5;
    nexp_node *m = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_node_create(&spec, 2385, &m, &err), NEXP_OK);
    if (m != NULL && physics != NULL) {
        double mu[2] = { 1.5, 0.5 }, sigma[2] = { 2.0, 0.7 };
        nexp_node_set_normalisation(m, mu, sigma, NULL);
    }
    if (m != NULL && with_time) {
        nexp_node_set_time_normalisation(m, 1.2, 0.8, NULL);
    }
    return m;
}

static nexp_ode_grad_options tight(nexp_ode_grad_method method)
{
    nexp_ode_grad_options o = NEXP_ODE_GRAD_OPTIONS_INIT;
    o.method = method;
    o.ode.rtol = 1e-11;
    o.ode.atol = 1e-11;
    o.fixed_steps = 6;
    o.checkpoint_steps = 40;
    return o;
}

static double batch_loss(nexp_node *m, nexp_node_work *w, const nexp_ode_grad_options *o, nexp_node_loss kind,
                         const double *y0, const double *yobs)
{
    nexp_node_batch b = { B, NT, tgrid, y0, yobs, with_time ? batch_toff : NULL };
    double l = NAN;
    nexp_node_loss_grad(m, w, &b, kind, o, &l, NULL, NULL, NULL, NULL);
    return l;
}

/* Central differences of the loss over every parameter and initial state. */
static void fd_gradient(nexp_node *m, nexp_node_work *w, const nexp_ode_grad_options *o, nexp_node_loss kind,
                        double *y0, const double *yobs, double *g, double *gy0)
{
    for (int k = 0; k < m->n_params; k++) {
        double v = m->params[k], h = 1e-6 * fmax(1.0, fabs(v));
        m->params[k] = v + h;
        double lp = batch_loss(m, w, o, kind, y0, yobs);
        m->params[k] = v - h;
        double lm = batch_loss(m, w, o, kind, y0, yobs);
        m->params[k] = v;
        g[k] = (lp - lm) / (2 * h);
    }
    for (int k = 0; k < B * m->n; k++) {
        double v = y0[k], h = 1e-6 * fmax(1.0, fabs(v));
        y0[k] = v + h;
        double lp = batch_loss(m, w, o, kind, y0, yobs);
        y0[k] = v - h;
        double lm = batch_loss(m, w, o, kind, y0, yobs);
        y0[k] = v;
        gy0[k] = (lp - lm) / (2 * h);
    }
}

/* max |a - b| <= rel * max |b| (the scale of the gradient) */
static int close_rel(const double *a, const double *b, int n, double rel, const char *what)
{
    double scale = 0.0, worst = 0.0;
    int at = 0;
    for (int k = 0; k < n; k++) {
        scale = fmax(scale, fabs(b[k]));
    }
    for (int k = 0; k < n; k++) {
        if (fabs(a[k] - b[k]) > worst) {
            worst = fabs(a[k] - b[k]);
            at = k;
        }
    }
    if (worst > rel * scale) {
        printf("\n  %s: component %d: %.10g vs %.10g (scale %.3g)", what, at, a[at], b[at], scale);
    }
    return worst <= rel * scale;
}

static void check_against_fd(const char *physics, nexp_node_input input, int hidden, nexp_node_loss kind,
                             const nexp_ode_grad_method *methods, int n_methods)
{
    nexp_node *m = make_model(physics, input, hidden);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    nexp_node_work *w = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_node_work_create(m, B, &w, NULL), NEXP_OK);
    double y0[B * 2], yobs[NT * B * 2];
    make_batch(2, y0, yobs);
    double *g = malloc((size_t)m->n_params * sizeof *g), *fd = malloc((size_t)m->n_params * sizeof *fd);
    double gy0[B * 2], fdy0[B * 2];
    for (int q = 0; q < n_methods; q++) {
        nexp_ode_grad_options o = tight(methods[q]);
        fd_gradient(m, w, &o, kind, y0, yobs, fd, fdy0);
        nexp_node_batch b = { B, NT, tgrid, y0, yobs, with_time ? batch_toff : NULL };
        double l = NAN;
        nexp_error err = NEXP_ERROR_INIT;
        CU_ASSERT_EQUAL(nexp_node_loss_grad(m, w, &b, kind, &o, &l, g, gy0, NULL, &err), NEXP_OK);
        if (err.code != NEXP_OK) {
            printf("\n  %s", err.msg);
        }
        CU_ASSERT(isfinite(l) && l > 0.0);
        CU_ASSERT(close_rel(g, fd, m->n_params, 1e-5, "parameters"));
        CU_ASSERT(close_rel(gy0, fdy0, B * 2, 1e-5, "initial states"));
    }
    free(g);
    free(fd);
    nexp_node_work_free(w);
    nexp_node_free(m);
}

static void node_products_are_consistent_and_match_differences(void)
{
    nexp_node *m = make_model("lotka-volterra", NEXP_NODE_INPUT_CUBE, 6);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    nexp_node_work *w = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_node_work_create(m, B, &w, NULL), NEXP_OK);
    nexp_ode_system sys;
    CU_ASSERT_EQUAL_FATAL(nexp_node_system(m, w, B, NULL, &sys, NULL), NEXP_OK);
    const int N = sys.n, P = sys.np;
    double y[B * 2], v[B * 2], wv[B * 2], jv[B * 2], wy[B * 2], fp[B * 2], fm[B * 2];
    double *dp = malloc((size_t)P * sizeof *dp), *wp = malloc((size_t)P * sizeof *wp);
    double *p0 = malloc((size_t)P * sizeof *p0);
    for (int i = 0; i < N; i++) {
        y[i] = 0.9 + 0.21 * i;
        v[i] = 0.3 - 0.17 * i;
        wv[i] = -0.6 + 0.29 * i;
    }
    for (int k = 0; k < P; k++) {
        dp[k] = sin(1.7 * k + 0.3);
    }
    CU_ASSERT_EQUAL(sys.jvp(0.4, y, v, dp, jv, sys.user), 0);
    CU_ASSERT_EQUAL(sys.vjp(0.4, y, wv, wy, wp, sys.user), 0);
    double lhs = 0.0, rhs = 0.0;
    for (int i = 0; i < N; i++) {
        lhs += wv[i] * jv[i];
        rhs += wy[i] * v[i];
    }
    for (int k = 0; k < P; k++) {
        rhs += wp[k] * dp[k];
    }
    CU_ASSERT(fabs(lhs - rhs) <= 1e-12 * fmax(1.0, fabs(lhs)));
    /* central difference of f along (v, dp) */
    memcpy(p0, m->params, (size_t)P * sizeof *p0);
    double e = 1e-6, yp[B * 2];
    for (int s = 0; s < 2; s++) {
        double sg = s == 0 ? 1.0 : -1.0;
        for (int i = 0; i < N; i++) {
            yp[i] = y[i] + sg * e * v[i];
        }
        for (int k = 0; k < P; k++) {
            m->params[k] = p0[k] + sg * e * dp[k];
        }
        sys.f(0.4, yp, s == 0 ? fp : fm, sys.user);
    }
    memcpy(m->params, p0, (size_t)P * sizeof *p0);
    for (int i = 0; i < N; i++) {
        CU_ASSERT(fabs((fp[i] - fm[i]) / (2 * e) - jv[i]) <= 1e-6 * fmax(1.0, fabs(jv[i])));
    }
    free(dp);
    free(wp);
    free(p0);
    nexp_node_work_free(w);
    nexp_node_free(m);
}

static void pure_network_gradients_match_central_differences(void)
{
    const nexp_ode_grad_method all[4] = { NEXP_ODE_GRAD_ADJOINT, NEXP_ODE_GRAD_BACKPROP_DOPRI5,
                                          NEXP_ODE_GRAD_BACKPROP_RK4, NEXP_ODE_GRAD_FORWARD };
    check_against_fd(NULL, NEXP_NODE_INPUT_CUBE, 4, NEXP_NODE_LOSS_MSE, all, 4);
}

static void hybrid_model_gradients_match_central_differences(void)
{
    const nexp_ode_grad_method all[4] = { NEXP_ODE_GRAD_ADJOINT, NEXP_ODE_GRAD_BACKPROP_DOPRI5,
                                          NEXP_ODE_GRAD_BACKPROP_RK4, NEXP_ODE_GRAD_FORWARD };
    check_against_fd("lotka-volterra", NEXP_NODE_INPUT_IDENTITY, 3, NEXP_NODE_LOSS_MSE, all, 4);
    check_against_fd("pendulum", NEXP_NODE_INPUT_IDENTITY, 3, NEXP_NODE_LOSS_L1, all, 2);
}

static void time_dependent_network_gradients_match_central_differences(void)
{
    const nexp_ode_grad_method all[4] = { NEXP_ODE_GRAD_ADJOINT, NEXP_ODE_GRAD_BACKPROP_DOPRI5,
                                          NEXP_ODE_GRAD_BACKPROP_RK4, NEXP_ODE_GRAD_FORWARD };
    with_time = 1;
    check_against_fd("linear", NEXP_NODE_INPUT_IDENTITY, 3, NEXP_NODE_LOSS_MSE, all, 4);
    nexp_node *m = make_model(NULL, NEXP_NODE_INPUT_IDENTITY, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(m->mlp->spec.width[0], 3);
    nexp_node_free(m);
    with_time = 0;
}

static void adjoint_backprop_and_forward_gradients_agree(void)
{
    nexp_node *m = make_model("linear", NEXP_NODE_INPUT_IDENTITY, 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    nexp_node_work *w = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_node_work_create(m, B, &w, NULL), NEXP_OK);
    double y0[B * 2], yobs[NT * B * 2];
    make_batch(2, y0, yobs);
    nexp_node_batch b = { B, NT, tgrid, y0, yobs, NULL };
    const nexp_ode_grad_method methods[3] = { NEXP_ODE_GRAD_ADJOINT, NEXP_ODE_GRAD_BACKPROP_DOPRI5,
                                              NEXP_ODE_GRAD_FORWARD };
    double *g[3];
    for (int q = 0; q < 3; q++) {
        g[q] = malloc((size_t)m->n_params * sizeof *g[q]);
        nexp_ode_grad_options o = tight(methods[q]);
        double l;
        CU_ASSERT_EQUAL(nexp_node_loss_grad(m, w, &b, NEXP_NODE_LOSS_MSE, &o, &l, g[q], NULL, NULL, NULL), NEXP_OK);
    }
    CU_ASSERT(close_rel(g[0], g[2], m->n_params, 1e-5, "adjoint vs forward"));
    CU_ASSERT(close_rel(g[1], g[2], m->n_params, 1e-5, "backprop vs forward"));
    for (int q = 0; q < 3; q++) {
        free(g[q]);
    }
    nexp_node_work_free(w);
    nexp_node_free(m);
}

static void mismatched_physics_and_empty_models_are_refused(void)
{
    nexp_node_spec spec = NEXP_NODE_SPEC_INIT;
    spec.n = 3;
    spec.physics = "lotka-volterra";
    nexp_node *m = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_node_create(&spec, 1, &m, &err), NEXP_ERR_MISMATCH);
    CU_ASSERT(strstr(err.msg, "2 states") != NULL);
    spec.n = 2;
    spec.physics = "nonsense";
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_node_create(&spec, 1, &m, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "nonsense") != NULL);
    spec.physics = NULL;
    spec.hidden = 0;
    CU_ASSERT_EQUAL(nexp_node_create(&spec, 1, &m, NULL), NEXP_ERR_ARG);
    CU_ASSERT_PTR_NULL(m);
}


/* ---- training --------------------------------------------------------------------------------- */

/* The spiral data of the classic demo (1000 points on [0, 25]) as a one-trajectory series. */
enum { SPIRAL_N = 1000 };
static double spiral_t[SPIRAL_N], spiral_y[SPIRAL_N * 2];
static long spiral_starts[2] = { 0, SPIRAL_N };
static char *spiral_names[2] = { "y1", "y2" }, *spiral_groups[1] = { "spiral" };

static nexp_series spiral_series(void)
{
    double A[4] = { -0.1, 2.0, -2.0, -0.1 }, y0[2] = { 2.0, 0.0 };
    for (int i = 0; i < SPIRAL_N; i++) {
        spiral_t[i] = 25.0 * i / (SPIRAL_N - 1);
    }
    nexp_ode_system sys;
    nexp_ode_builtin_system("spiral", A, &sys, NULL);
    nexp_ode_options o = NEXP_ODE_OPTIONS_INIT;
    o.method = NEXP_ODE_ADAMS;
    o.rtol = 1e-10;
    o.atol = 1e-10;
    CU_ASSERT_EQUAL(nexp_ode_solve(&sys, &o, 0.0, y0, SPIRAL_N, spiral_t, spiral_y, NULL, NULL), NEXP_OK);
    nexp_series d = { 2, 1, SPIRAL_N, "t", spiral_names, NULL, spiral_groups, spiral_starts, spiral_t, spiral_y };
    return d;
}

static nexp_node_train_options spiral_options(long iters)
{
    nexp_node_train_options o = NEXP_NODE_TRAIN_OPTIONS_INIT;
    o.grad.method = NEXP_ODE_GRAD_BACKPROP_DOPRI5;
    o.grad.ode.rtol = 1e-7;
    o.grad.ode.atol = 1e-9;
    o.iters = iters;
    o.batch = 20;
    o.window = 10;
    o.loss = NEXP_NODE_LOSS_L1;
    o.optim.kind = NEXP_OPTIM_RMSPROP;
    o.optim.lr = 1e-3;
    o.seed = 0;
    return o;
}

static nexp_node *spiral_model(void)
{
    nexp_node_spec spec = NEXP_NODE_SPEC_INIT;
    spec.n = 2;
    spec.hidden = 50;
    spec.input = NEXP_NODE_INPUT_CUBE;
    nexp_node *m = NULL;
    CU_ASSERT_EQUAL(nexp_node_create(&spec, 0, &m, NULL), NEXP_OK);
    return m;
}

/* Documented threshold: from a test loss (mean |error| of the whole trajectory predicted from
 * y(0)) of 4.6 before training, 200 iterations of the demo's settings reach 0.54; the test asks
 * for < 0.6. (2000 iterations reach about 0.09; see bench/.) */
static void spiral_fit_brings_the_test_loss_below_0_6_in_200_iterations(void)
{
    nexp_series d = spiral_series();
    nexp_node *m = spiral_model();
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    nexp_node_train_options o = spiral_options(200);
    double before = NAN, after = NAN;
    CU_ASSERT_EQUAL(nexp_node_evaluate(m, &d, NEXP_NODE_LOSS_L1, &o.grad.ode, &before, NULL, NULL), NEXP_OK);
    nexp_node_train_state *st = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_node_train(m, &d, &o, &st, &err), NEXP_OK);
    CU_ASSERT_EQUAL(st->iter, 200);
    CU_ASSERT_EQUAL(st->failed, 0);
    CU_ASSERT_EQUAL(nexp_node_evaluate(m, &d, NEXP_NODE_LOSS_L1, &o.grad.ode, &after, NULL, NULL), NEXP_OK);
    printf(" (test loss %.3f -> %.3f) ", before, after);
    CU_ASSERT(before > 3.0);
    CU_ASSERT(after < 0.6);
    nexp_node_train_state_free(st);
    nexp_node_free(m);
}

static void training_resumes_bit_identically_from_a_checkpoint(void)
{
    nexp_series d = spiral_series();
    const char *ckpt = nexp_test_tmp("spiral_ckpt.h5");
    /* uninterrupted: 12 iterations */
    nexp_node *a = spiral_model();
    nexp_node_train_options o = spiral_options(12);
    nexp_node_train_state *sa = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_node_train(a, &d, &o, &sa, NULL), NEXP_OK);
    /* 7 iterations, checkpoint, load, 5 more */
    nexp_node *b = spiral_model();
    nexp_node_train_state *sb = NULL;
    o.iters = 7;
    o.ckpt_path = ckpt;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_node_train(b, &d, &o, &sb, &err), NEXP_OK);
    nexp_node_train_state_free(sb);
    nexp_node_free(b);
    b = NULL;
    sb = NULL;
    nexp_node_ckpt_info info;
    CU_ASSERT_EQUAL_FATAL(nexp_node_load(ckpt, NULL, &b, &sb, &info, &err), NEXP_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sb);
    CU_ASSERT_EQUAL(sb->iter, 7);
    CU_ASSERT(info.has_data);
    CU_ASSERT_STRING_EQUAL(info.state_names, "y1,y2");
    CU_ASSERT_DOUBLE_EQUAL(info.y0[0], 2.0, 0.0);
    o.iters = 12;
    o.ckpt_path = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_node_train(b, &d, &o, &sb, &err), NEXP_OK);
    CU_ASSERT_EQUAL(sb->iter, 12);
    CU_ASSERT_EQUAL(memcmp(a->params, b->params, (size_t)a->n_params * sizeof(double)), 0);
    nexp_node_train_state_free(sa);
    nexp_node_train_state_free(sb);
    nexp_node_free(a);
    nexp_node_free(b);
    nexp_node *c = NULL;
    CU_ASSERT_EQUAL(nexp_node_load(nexp_test_data("series/indometh.csv"), NULL, &c, NULL, NULL, &err),
                    NEXP_ERR_FORMAT);
}

static int decay_fails_late(double t, const double *y, double *ydot, void *user)
{
    const double *p = user;
    ydot[0] = -p[0] * y[0];
    return t > 6.0 ? -1 : 0;
}

static int decay_jvp(double t, const double *y, const double *v, const double *dp, double *o, void *user)
{
    (void)t;
    const double *p = user;
    o[0] = -p[0] * v[0] - (dp ? dp[0] * y[0] : 0.0);
    return 0;
}

static int decay_vjp(double t, const double *y, const double *w, double *wy, double *wp, void *user)
{
    (void)t;
    const double *p = user;
    wy[0] = -p[0] * w[0];
    if (wp != NULL) {
        wp[0] = -y[0] * w[0];
    }
    return 0;
}

static int count_failures(const nexp_node_iter_info *info, void *user)
{
    long *failed = user;
    *failed += info->failed;
    if (info->failed > 0) {
        CU_ASSERT_PTR_NOT_NULL(info->failure);
    }
    return 0;
}

static void failed_solves_are_reported_and_skipped(void)
{
    enum { M = 12 };
    double t[M], y[M];
    for (int i = 0; i < M; i++) {
        t[i] = i * 0.8 + 0.05 * (i % 3);   /* irregular: windows are solved one by one */
        y[i] = 3.0 * exp(-0.4 * t[i]);
    }
    long starts[2] = { 0, M };
    char *names[1] = { "c" }, *groups[1] = { "all" };
    nexp_series d = { 1, 1, M, "t", names, NULL, groups, starts, t, y };
    double p0[1] = { 0.25 };
    nexp_node_physics phys = { "decay", 1, 1, p0, decay_fails_late, decay_jvp, decay_vjp };
    nexp_node_spec spec = NEXP_NODE_SPEC_INIT;
    spec.n = 1;
    spec.hidden = 0;
    spec.custom = &phys;
    nexp_node *m = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_node_create(&spec, 1, &m, NULL), NEXP_OK);
    nexp_node_train_options o = NEXP_NODE_TRAIN_OPTIONS_INIT;
    long failed = 0;
    o.iters = 40;
    o.batch = 4;
    o.window = 3;
    o.optim.lr = 0.02;
    o.on_iter = count_failures;
    o.user = &failed;
    nexp_node_train_state *st = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_node_train(m, &d, &o, &st, &err), NEXP_OK);
    CU_ASSERT(failed > 0);
    CU_ASSERT_EQUAL(st->failed, failed);
    CU_ASSERT(m->params[0] > 0.3); /* still learnt the decay rate from the windows that solved */
    nexp_node_train_state_free(st);
    nexp_node_free(m);
}

/* Indometh: six subjects with their own time grids, one-compartment physics plus a network,
 * whole trajectories solved in parallel; the result does not depend on the thread count. */
static void indometh_subjects_train_in_parallel_independently_of_threads(void)
{
    nexp_series *d = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_series_read_csv(nexp_test_data("series/indometh.csv"), "time", "conc", "Subject", &d,
                                               &err),
                          NEXP_OK);
    double params[2][64];
    double first = NAN, last = NAN;
    for (int run = 0; run < 2; run++) {
        nexp_set_threads(run == 0 ? 1 : 2);
        nexp_node_spec spec = NEXP_NODE_SPEC_INIT;
        spec.n = 1;
        spec.hidden = 8;
        spec.physics = "pk";
        spec.net_scale = 0.1;
        nexp_node *m = NULL;
        CU_ASSERT_EQUAL_FATAL(nexp_node_create(&spec, 7, &m, NULL), NEXP_OK);
        CU_ASSERT_EQUAL(nexp_node_normalise_from(m, d, NULL), NEXP_OK);
        nexp_node_train_options o = NEXP_NODE_TRAIN_OPTIONS_INIT;
        o.iters = 20;
        o.optim.lr = 0.01;
        nexp_node_train_state *st = NULL;
        CU_ASSERT_EQUAL(nexp_node_evaluate(m, d, NEXP_NODE_LOSS_MSE, &o.grad.ode, &first, NULL, NULL), NEXP_OK);
        CU_ASSERT_EQUAL_FATAL(nexp_node_train(m, d, &o, &st, &err), NEXP_OK);
        CU_ASSERT_EQUAL(nexp_node_evaluate(m, d, NEXP_NODE_LOSS_MSE, &o.grad.ode, &last, NULL, NULL), NEXP_OK);
        CU_ASSERT(last < 0.5 * first);
        CU_ASSERT(m->n_params <= 64);
        memcpy(params[run], m->params, (size_t)m->n_params * sizeof(double));
        if (run == 1) {
            CU_ASSERT_EQUAL(memcmp(params[0], params[1], (size_t)m->n_params * sizeof(double)), 0);
        }
        nexp_node_train_state_free(st);
        nexp_node_free(m);
    }
    nexp_set_threads(0);
    nexp_series_free(d);
}

/* Overwrite value i of the 14 optimiser settings stored in a checkpoint (raw HDF5: the attribute
 * is read, deleted and written again). */
static void set_optim_setting(const char *path, int i, double value)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t g = f >= 0 ? H5Gopen2(f, "train", H5P_DEFAULT) : -1;
    hid_t a = g >= 0 ? H5Aopen(g, "optim_config", H5P_DEFAULT) : -1;
    double v[14];
    CU_ASSERT_FATAL(a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, v) >= 0);
    H5Aclose(a);
    v[i] = value;
    hsize_t n[1] = { 14 };
    hid_t space = H5Screate_simple(1, n, NULL);
    CU_ASSERT(H5Adelete(g, "optim_config") >= 0);
    a = H5Acreate2(g, "optim_config", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT(a >= 0 && H5Awrite(a, H5T_NATIVE_DOUBLE, v) >= 0);
    H5Aclose(a);
    H5Sclose(space);
    H5Gclose(g);
    H5Fclose(f);
}

/* Found by fuzzing: an optimiser setting of 5.1e61 was converted to int (undefined behaviour). */
static void checkpoint_with_out_of_range_optimiser_settings_is_refused(void)
{
    const char *ckpt = nexp_test_tmp("bad_optim.h5");
    nexp_error err = NEXP_ERROR_INIT;
    nexp_node_spec spec = NEXP_NODE_SPEC_INIT;
    spec.n = 2;
    spec.hidden = 3;
    spec.physics = "lotka-volterra";
    nexp_node *m = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_node_create(&spec, 9, &m, &err), NEXP_OK);
    nexp_node_train_state s = { .iter = 4, .loss = 0.125 };
    nexp_rng_seed(&s.rng, 11);
    nexp_optim_config cfg = NEXP_OPTIM_CONFIG_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_optim_create(&cfg, (size_t)m->n_params, &s.optim, &err), NEXP_OK);
    const int where[4] = { 0, 9, 10, 12 };
    const double bad[4] = { 5.1422e61, -1.0, 2.5, NAN };
    for (int k = 0; k < 4; k++) {
        CU_ASSERT_EQUAL_FATAL(nexp_node_save(ckpt, m, &s, NULL, &err), NEXP_OK);
        set_optim_setting(ckpt, where[k], bad[k]);
        nexp_node *b = NULL;
        nexp_node_train_state *sb = NULL;
        CU_ASSERT_EQUAL(nexp_node_load(ckpt, NULL, &b, &sb, NULL, &err), NEXP_ERR_FORMAT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "optimiser setting"));
        nexp_node_free(b);
        nexp_node_train_state_free(sb);
    }
    nexp_node *b = NULL;
    nexp_node_train_state *sb = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_node_save(ckpt, m, &s, NULL, &err), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_node_load(ckpt, NULL, &b, &sb, NULL, &err), NEXP_OK);
    CU_ASSERT(sb != NULL && sb->iter == 4 && sb->optim->cfg.step_size == cfg.step_size);
    nexp_node_free(b);
    nexp_node_train_state_free(sb);
    nexp_optim_free(s.optim);
    nexp_node_free(m);
}

static CU_TestInfo tests[] = {
    { "node_products_are_consistent_and_match_differences", node_products_are_consistent_and_match_differences },
    { "pure_network_gradients_match_central_differences", pure_network_gradients_match_central_differences },
    { "hybrid_model_gradients_match_central_differences", hybrid_model_gradients_match_central_differences },
    { "time_dependent_network_gradients_match_central_differences",
      time_dependent_network_gradients_match_central_differences },
    { "adjoint_backprop_and_forward_gradients_agree", adjoint_backprop_and_forward_gradients_agree },
    { "mismatched_physics_and_empty_models_are_refused", mismatched_physics_and_empty_models_are_refused },
    { "spiral_fit_brings_the_test_loss_below_0_6_in_200_iterations",
      spiral_fit_brings_the_test_loss_below_0_6_in_200_iterations },
    { "training_resumes_bit_identically_from_a_checkpoint", training_resumes_bit_identically_from_a_checkpoint },
    { "failed_solves_are_reported_and_skipped", failed_solves_are_reported_and_skipped },
    { "indometh_subjects_train_in_parallel_independently_of_threads",
      indometh_subjects_train_in_parallel_independently_of_threads },
    { "checkpoint_with_out_of_range_optimiser_settings_is_refused",
      checkpoint_with_out_of_range_optimiser_settings_is_refused },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return nexp_test_run("node", tests);
}
