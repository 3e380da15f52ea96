/* Neural ODE model: exact products of the right-hand side, gradients of the loss with respect to
 * network weights, physics parameters and initial states by every method. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexp_node.h"
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

static nexp_node *make_model(const char *physics, nexp_node_input input, int hidden)
{
    nexp_node_spec spec = NEXP_NODE_SPEC_INIT;
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
    nexp_node_batch b = { B, NT, tgrid, y0, yobs, NULL };
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
        nexp_node_batch b = { B, NT, tgrid, y0, yobs, NULL };
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
    check_against_fd(NULL, NEXP_NODE_INPUT_CUBE, 6, NEXP_NODE_LOSS_MSE, all, 4);
}

static void hybrid_model_gradients_match_central_differences(void)
{
    const nexp_ode_grad_method all[4] = { NEXP_ODE_GRAD_ADJOINT, NEXP_ODE_GRAD_BACKPROP_DOPRI5,
                                          NEXP_ODE_GRAD_BACKPROP_RK4, NEXP_ODE_GRAD_FORWARD };
    check_against_fd("lotka-volterra", NEXP_NODE_INPUT_IDENTITY, 5, NEXP_NODE_LOSS_MSE, all, 4);
    check_against_fd("pendulum", NEXP_NODE_INPUT_IDENTITY, 4, NEXP_NODE_LOSS_L1, all, 2);
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

static CU_TestInfo tests[] = {
    { "node_products_are_consistent_and_match_differences", node_products_are_consistent_and_match_differences },
    { "pure_network_gradients_match_central_differences", pure_network_gradients_match_central_differences },
    { "hybrid_model_gradients_match_central_differences", hybrid_model_gradients_match_central_differences },
    { "adjoint_backprop_and_forward_gradients_agree", adjoint_backprop_and_forward_gradients_agree },
    { "mismatched_physics_and_empty_models_are_refused", mismatched_physics_and_empty_models_are_refused },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return nexp_test_run("node", tests);
}
