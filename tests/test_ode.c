/* ODE module: SUNDIALS integration, built-in systems, gradients of losses over solutions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexp_ode.h"
#include "testlib.h"

static double rel_diff(double a, double b)
{
    double s = fmax(fabs(a), fabs(b));
    return s == 0.0 ? 0.0 : fabs(a - b) / s;
}

/* Reference values printed by SUNDIALS' own cvRoberts_dns example (cvRoberts_dns.out, shipped with
 * libsundials-dev): BDF, rtol 1e-4, atol (1e-8, 1e-14, 1e-6), outputs at 0.4 * 10^k. */
static const double roberts_ref[12][4] = {
    { 4.0e-1, 9.851641e-01, 3.386242e-05, 1.480205e-02 }, { 4.0e+0, 9.055097e-01, 2.240338e-05, 9.446793e-02 },
    { 4.0e+1, 7.158017e-01, 9.185037e-06, 2.841892e-01 }, { 4.0e+2, 4.505360e-01, 3.223271e-06, 5.494608e-01 },
    { 4.0e+3, 1.832299e-01, 8.944378e-07, 8.167692e-01 }, { 4.0e+4, 3.898902e-02, 1.622006e-07, 9.610108e-01 },
    { 4.0e+5, 4.936383e-03, 1.984224e-08, 9.950636e-01 }, { 4.0e+6, 5.168093e-04, 2.068293e-09, 9.994832e-01 },
    { 4.0e+7, 5.202440e-05, 2.081083e-10, 9.999480e-01 }, { 4.0e+8, 5.201061e-06, 2.080435e-11, 9.999948e-01 },
    { 4.0e+9, 5.258603e-07, 2.103442e-12, 9.999995e-01 }, { 4.0e+10, 6.934511e-08, 2.773804e-13, 9.999999e-01 },
};

static void cvode_bdf_on_robertson_matches_the_sundials_reference_output(void)
{
    double p[3] = { 0.04, 1.0e4, 3.0e7 }, y0[3] = { 1.0, 0.0, 0.0 }, atol[3] = { 1e-8, 1e-14, 1e-6 };
    double t[12], Y[36];
    nexp_ode_system sys;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_ode_builtin_system("robertson", p, &sys, &err), NEXP_OK);
    for (int i = 0; i < 12; i++) {
        t[i] = roberts_ref[i][0];
    }
    nexp_ode_options opt = NEXP_ODE_OPTIONS_INIT;
    opt.rtol = 1e-4;
    opt.atol_vec = atol;
    nexp_ode_stats stats;
    CU_ASSERT_EQUAL_FATAL(nexp_ode_solve(&sys, &opt, 0.0, y0, 12, t, Y, &stats, &err), NEXP_OK);
    for (int i = 0; i < 12; i++) {
        for (int k = 0; k < 3; k++) {
            double got = Y[i * 3 + k], want = roberts_ref[i][k + 1];
            if (rel_diff(got, want) > 5e-5) {
                printf("\n  t = %g, y%d = %.7e, reference %.7e", t[i], k + 1, got, want);
            }
            CU_ASSERT(rel_diff(got, want) <= 5e-5);
        }
    }
    CU_ASSERT(stats.steps > 100 && stats.steps < 2000);
    CU_ASSERT(stats.jac_evals > 0);
}

static void every_method_conserves_mass_on_robertson(void)
{
    double p[3] = { 0.04, 1.0e4, 3.0e7 }, y0[3] = { 1.0, 0.0, 0.0 }, t[3] = { 0.4, 4.0, 40.0 }, Y[9];
    nexp_ode_system sys;
    nexp_ode_builtin_system("robertson", p, &sys, NULL);
    nexp_ode_options opt = NEXP_ODE_OPTIONS_INIT;
    opt.rtol = 1e-8;
    opt.atol = 1e-12;
    const nexp_ode_linsol ls[2] = { NEXP_ODE_LS_DENSE, NEXP_ODE_LS_SPGMR };
    for (int k = 0; k < 2; k++) {
        opt.linsol = ls[k];
        nexp_error err = NEXP_ERROR_INIT;
        CU_ASSERT_EQUAL_FATAL(nexp_ode_solve(&sys, &opt, 0.0, y0, 3, t, Y, NULL, &err), NEXP_OK);
        for (int i = 0; i < 3; i++) {
            CU_ASSERT_DOUBLE_EQUAL(Y[3 * i] + Y[3 * i + 1] + Y[3 * i + 2], 1.0, 1e-9);
        }
        CU_ASSERT_DOUBLE_EQUAL(Y[6], 7.158017e-01, 1e-4);
    }
}

/* y' = A y with A = [[-0.1, 1], [-1, -0.1]]: y(t) = e^{-0.1 t} (cos t, -sin t) from (1, 0). */
static void every_method_matches_the_exact_linear_solution(void)
{
    double A[4] = { -0.1, 1.0, -1.0, -0.1 }, y0[2] = { 1.0, 0.0 }, t[4] = { 0.0, 0.7, 2.385, 6.0 }, Y[8];
    nexp_ode_system sys;
    nexp_ode_builtin_system("linear", A, &sys, NULL);
    const char *methods[] = { "bdf", "adams", "dopri5", "erk:ARKODE_VERNER_8_5_6", "erk:ARKODE_BOGACKI_SHAMPINE_4_2_3" };
    const nexp_ode_linsol ls[3] = { NEXP_ODE_LS_DENSE, NEXP_ODE_LS_SPGMR, NEXP_ODE_LS_FIXED_POINT };
    for (int m = 0; m < 5; m++) {
        for (int k = 0; k < (m < 2 ? 3 : 1); k++) {
            nexp_ode_options opt = NEXP_ODE_OPTIONS_INIT;
            nexp_error err = NEXP_ERROR_INIT;
            CU_ASSERT_EQUAL_FATAL(nexp_ode_method_parse(methods[m], &opt, &err), NEXP_OK);
            opt.linsol = ls[k];
            opt.rtol = 1e-10;
            opt.atol = 1e-12;
            nexp_ode_stats st;
            CU_ASSERT_EQUAL_FATAL(nexp_ode_solve(&sys, &opt, 0.0, y0, 4, t, Y, &st, &err), NEXP_OK);
            for (int i = 0; i < 4; i++) {
                double e = exp(-0.1 * t[i]);
                CU_ASSERT_DOUBLE_EQUAL(Y[2 * i], e * cos(t[i]), 1e-7);
                CU_ASSERT_DOUBLE_EQUAL(Y[2 * i + 1], -e * sin(t[i]), 1e-7);
            }
            CU_ASSERT(st.steps > 0 && st.rhs_evals >= st.steps);
        }
    }
}

static void unknown_methods_and_tables_are_refused_by_name(void)
{
    nexp_ode_options opt = NEXP_ODE_OPTIONS_INIT;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_ode_method_parse("rk45", &opt, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "rk45") != NULL);
    double A[4] = { -0.1, 1.0, -1.0, -0.1 }, y0[2] = { 1.0, 0.0 }, t[1] = { 1.0 }, Y[2];
    nexp_ode_system sys;
    nexp_ode_builtin_system("linear", A, &sys, NULL);
    CU_ASSERT_EQUAL_FATAL(nexp_ode_method_parse("erk:NO_SUCH_TABLE", &opt, NULL), NEXP_OK);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_ode_solve(&sys, &opt, 0.0, y0, 1, t, Y, NULL, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "NO_SUCH_TABLE") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_ode_builtin_system("brusselator", A, &sys, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "brusselator") != NULL);
}

static void too_few_steps_fail_with_sundials_flag_name(void)
{
    double p[3] = { 10.0, 28.0, 8.0 / 3.0 }, y0[3] = { 1.0, 1.0, 1.0 }, t[1] = { 20.0 }, Y[3];
    nexp_ode_system sys;
    nexp_ode_builtin_system("lorenz", p, &sys, NULL);
    const char *methods[2] = { "bdf", "dopri5" };
    for (int m = 0; m < 2; m++) {
        nexp_ode_options opt = NEXP_ODE_OPTIONS_INIT;
        nexp_ode_method_parse(methods[m], &opt, NULL);
        opt.max_steps = 10;
        nexp_error err = NEXP_ERROR_INIT;
        CU_ASSERT_EQUAL(nexp_ode_solve(&sys, &opt, 0.0, y0, 1, t, Y, NULL, &err), NEXP_ERR_SOLVER);
        CU_ASSERT(strstr(err.msg, "TOO_MUCH_WORK") != NULL);
        CU_ASSERT(strstr(err.msg, "mxstep") != NULL);
    }
}

static int failing_rhs(double t, const double *y, double *ydot, void *user)
{
    (void)user;
    ydot[0] = -y[0];
    return t > 0.5 ? -1 : 0;
}

static void a_fatal_right_hand_side_failure_is_reported(void)
{
    nexp_ode_system sys = { 1, 0, failing_rhs, NULL, NULL, NULL, 0, NULL, NULL };
    double y0[1] = { 1.0 }, t[2] = { 0.25, 1.0 }, Y[2];
    nexp_ode_options opt = NEXP_ODE_OPTIONS_INIT;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_ode_solve(&sys, &opt, 0.0, y0, 2, t, Y, NULL, &err), NEXP_ERR_SOLVER);
    CU_ASSERT(strstr(err.msg, "CV_RHSFUNC_FAIL") != NULL);
    CU_ASSERT_DOUBLE_EQUAL(Y[0], exp(-0.25), 1e-5);
}

static void unsorted_output_times_are_refused(void)
{
    double A[4] = { -0.1, 1.0, -1.0, -0.1 }, y0[2] = { 1.0, 0.0 }, t[3] = { 1.0, 3.0, 2.0 }, Y[6];
    nexp_ode_system sys;
    nexp_ode_builtin_system("linear", A, &sys, NULL);
    nexp_ode_options opt = NEXP_ODE_OPTIONS_INIT;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_ode_solve(&sys, &opt, 0.0, y0, 3, t, Y, NULL, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "increasing") != NULL);
    y0[1] = NAN;
    nexp_error_clear(&err);
    t[2] = 4.0;
    CU_ASSERT_EQUAL(nexp_ode_solve(&sys, &opt, 0.0, y0, 3, t, Y, NULL, &err), NEXP_ERR_NONFINITE);
}

/* Every built-in's jvp and vjp agree with central differences of f and with each other. */
static void builtin_jacobian_products_match_finite_differences(void)
{
    const nexp_ode_builtin *const *b = nexp_ode_builtins();
    for (; *b != NULL; b++) {
        const nexp_ode_builtin *info = *b;
        int n = info->n, np = info->np;
        double p[8], y[4], v[4], dp[8], w[4], jv[4], wy[4], wp[8], fp[4], fm[4];
        memcpy(p, info->params, (size_t)np * sizeof(double));
        nexp_ode_system sys;
        CU_ASSERT_EQUAL_FATAL(nexp_ode_builtin_system(info->name, p, &sys, NULL), NEXP_OK);
        for (int i = 0; i < n; i++) {
            y[i] = 0.7 + 0.31 * i;
            v[i] = 0.45 - 0.27 * i;
            w[i] = -0.38 + 0.53 * i;
        }
        for (int k = 0; k < np; k++) {
            dp[k] = 0.2 + 0.13 * k;
        }
        sys.jvp(0.3, y, v, dp, jv, sys.user);
        sys.vjp(0.3, y, w, wy, wp, sys.user);
        /* w . (J v + Jp dp) == (J^T w) . v + (Jp^T w) . dp */
        double lhs = 0.0, rhs = 0.0;
        for (int i = 0; i < n; i++) {
            lhs += w[i] * jv[i];
            rhs += wy[i] * v[i];
        }
        for (int k = 0; k < np; k++) {
            rhs += wp[k] * dp[k];
        }
        CU_ASSERT(rel_diff(lhs, rhs) < 1e-12);
        /* central differences along (v, dp), relative to the scale of the parameters */
        double eps = 1e-6, yp[4], ym[4], pp[8], pm[8];
        for (int i = 0; i < n; i++) {
            yp[i] = y[i] + eps * v[i];
            ym[i] = y[i] - eps * v[i];
        }
        for (int k = 0; k < np; k++) {
            pp[k] = p[k] + eps * dp[k];
            pm[k] = p[k] - eps * dp[k];
        }
        sys.f(0.3, yp, fp, pp);
        sys.f(0.3, ym, fm, pm);
        for (int i = 0; i < n; i++) {
            double fd = (fp[i] - fm[i]) / (2 * eps);
            CU_ASSERT(fabs(fd - jv[i]) <= 1e-6 * (1.0 + fabs(jv[i])));
        }
    }
}


/* ---- gradients --------------------------------------------------------------------------------- */

/* Lotka-Volterra observed at t0 and four later times against made-up targets. */
#define LV_NT 5
static const double lv_t[LV_NT] = { 0.0, 2.385, 5.0, 7.5, 11.0 };
static const double lv_target[LV_NT][2] = { { 31.0, 3.5 }, { 60.0, 9.0 }, { 20.0, 40.0 }, { 4.0, 20.0 },
                                            { 10.0, 5.0 } };

static int lv_loss(int i, double t, const double *y, double *l, double *dl, void *user)
{
    (void)t;
    (void)user;
    double w = 1.0 / (1.0 + i);
    *l = 0.0;
    for (int k = 0; k < 2; k++) {
        double r = y[k] - lv_target[i][k];
        *l += 0.5 * w * r * r;
        dl[k] = w * r;
    }
    return 0;
}

static nexp_ode_grad_options grad_opts(nexp_ode_grad_method m)
{
    nexp_ode_grad_options o = NEXP_ODE_GRAD_OPTIONS_INIT;
    o.method = m;
    o.ode.rtol = 1e-11;
    o.ode.atol = 1e-9;
    o.fixed_steps = 20;
    o.checkpoint_steps = 50;
    return o;
}

/* Loss only, through the same method (for central differences). */
static double lv_loss_of(const nexp_ode_grad_options *o, const double *p, const double *y0)
{
    double pc[4], l = NAN;
    memcpy(pc, p, sizeof pc);
    nexp_ode_system sys;
    nexp_ode_builtin_system("lotka-volterra", pc, &sys, NULL);
    nexp_ode_gradient(&sys, o, 0.0, y0, LV_NT, lv_t, lv_loss, NULL, &l, NULL, NULL, NULL, NULL, NULL);
    return l;
}

/* g (6: dp then dy0) by central differences of the method's own loss. */
static void lv_fd_gradient(const nexp_ode_grad_options *o, double *g)
{
    double p[4] = { 0.55, 0.028, 0.84, 0.026 }, y0[2] = { 30.0, 4.0 };
    for (int k = 0; k < 6; k++) {
        double *v = k < 4 ? &p[k] : &y0[k - 4];
        double v0 = *v, h = 1e-5 * fabs(v0);
        *v = v0 + h;
        double lp = lv_loss_of(o, p, y0);
        *v = v0 - h;
        double lm = lv_loss_of(o, p, y0);
        *v = v0;
        g[k] = (lp - lm) / (2 * h);
    }
}

static int grads_agree(const double *a, const double *b, int n, double rel)
{
    int ok = 1;
    for (int k = 0; k < n; k++) {
        if (!(fabs(a[k] - b[k]) <= rel * fabs(b[k]) + 1e-12)) {
            printf("\n  component %d: %.10g vs %.10g (rel %.2e)", k, a[k], b[k], rel_diff(a[k], b[k]));
            ok = 0;
        }
    }
    return ok;
}

static void lv_gradient(nexp_ode_grad_method m, nexp_ode_linsol ls, nexp_ode_method lmm, double *g, double *loss,
                        nexp_ode_stats *st)
{
    double p[4] = { 0.55, 0.028, 0.84, 0.026 }, y0[2] = { 30.0, 4.0 };
    nexp_ode_system sys;
    nexp_ode_builtin_system("lotka-volterra", p, &sys, NULL);
    nexp_ode_grad_options o = grad_opts(m);
    o.ode.linsol = ls;
    o.ode.method = lmm;
    nexp_error err = NEXP_ERROR_INIT;
    double Y[LV_NT * 2];
    CU_ASSERT_EQUAL(nexp_ode_gradient(&sys, &o, 0.0, y0, LV_NT, lv_t, lv_loss, NULL, loss, Y, g, g + 4, st, &err),
                    NEXP_OK);
    if (err.code != NEXP_OK) {
        printf("\n  %s", err.msg);
    }
    CU_ASSERT_DOUBLE_EQUAL(Y[0], 30.0, 0.0);
}

static void adjoint_gradient_matches_central_differences(void)
{
    double g[6], fd[6], loss;
    nexp_ode_stats st;
    nexp_ode_grad_options o = grad_opts(NEXP_ODE_GRAD_ADJOINT);
    lv_fd_gradient(&o, fd);
    const nexp_ode_linsol ls[3] = { NEXP_ODE_LS_DENSE, NEXP_ODE_LS_SPGMR, NEXP_ODE_LS_FIXED_POINT };
    const nexp_ode_method lmm[3] = { NEXP_ODE_BDF, NEXP_ODE_BDF, NEXP_ODE_ADAMS };
    for (int k = 0; k < 3; k++) {
        lv_gradient(NEXP_ODE_GRAD_ADJOINT, ls[k], lmm[k], g, &loss, &st);
        CU_ASSERT(grads_agree(g, fd, 6, 1e-5));
        CU_ASSERT(st.backward_steps > 0 && st.checkpoints > 0);
    }
}

static void forward_sensitivities_match_central_differences(void)
{
    double g[6], fd[6], loss;
    nexp_ode_stats st;
    nexp_ode_grad_options o = grad_opts(NEXP_ODE_GRAD_FORWARD);
    lv_fd_gradient(&o, fd);
    lv_gradient(NEXP_ODE_GRAD_FORWARD, NEXP_ODE_LS_DENSE, NEXP_ODE_BDF, g, &loss, &st);
    CU_ASSERT(grads_agree(g, fd, 6, 1e-5));
    lv_gradient(NEXP_ODE_GRAD_FORWARD, NEXP_ODE_LS_FIXED_POINT, NEXP_ODE_ADAMS, g, &loss, &st);
    CU_ASSERT(grads_agree(g, fd, 6, 1e-5));
}

static void backprop_gradients_are_exact_for_the_discrete_solution(void)
{
    double g[6], fd[6], loss;
    nexp_ode_stats st;
    const nexp_ode_grad_method m[2] = { NEXP_ODE_GRAD_BACKPROP_RK4, NEXP_ODE_GRAD_BACKPROP_DOPRI5 };
    for (int k = 0; k < 2; k++) {
        nexp_ode_grad_options o = grad_opts(m[k]);
        lv_fd_gradient(&o, fd);
        lv_gradient(m[k], NEXP_ODE_LS_DENSE, NEXP_ODE_BDF, g, &loss, &st);
        CU_ASSERT(grads_agree(g, fd, 6, 1e-5));
        CU_ASSERT(st.steps >= 4 * (k == 0 ? 20 : 1));
    }
}

static void all_gradient_methods_agree_with_each_other(void)
{
    double ga[6], gf[6], gd[6], la, lf, ld;
    nexp_ode_stats st;
    lv_gradient(NEXP_ODE_GRAD_ADJOINT, NEXP_ODE_LS_DENSE, NEXP_ODE_BDF, ga, &la, &st);
    lv_gradient(NEXP_ODE_GRAD_FORWARD, NEXP_ODE_LS_DENSE, NEXP_ODE_BDF, gf, &lf, &st);
    lv_gradient(NEXP_ODE_GRAD_BACKPROP_DOPRI5, NEXP_ODE_LS_DENSE, NEXP_ODE_BDF, gd, &ld, &st);
    CU_ASSERT(rel_diff(la, lf) < 1e-7 && rel_diff(la, ld) < 1e-7);
    CU_ASSERT(grads_agree(ga, gf, 6, 1e-5));
    CU_ASSERT(grads_agree(gd, gf, 6, 1e-5));
}

static void gradient_methods_refuse_systems_without_products(void)
{
    nexp_ode_system sys = { 1, 0, failing_rhs, NULL, NULL, NULL, 0, NULL, NULL };
    double y0[1] = { 1.0 }, t[1] = { 0.2 }, l;
    nexp_ode_grad_options o = NEXP_ODE_GRAD_OPTIONS_INIT;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_ode_gradient(&sys, &o, 0.0, y0, 1, t, lv_loss, NULL, &l, NULL, NULL, NULL, NULL, &err),
                    NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "vjp") != NULL);
    nexp_ode_grad_method m;
    CU_ASSERT_EQUAL(nexp_ode_grad_method_parse("backprop", &m, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(m, NEXP_ODE_GRAD_BACKPROP_DOPRI5);
    CU_ASSERT_EQUAL(nexp_ode_grad_method_parse("magic", &m, NULL), NEXP_ERR_ARG);
}

static CU_TestInfo tests[] = {
    { "cvode_bdf_on_robertson_matches_the_sundials_reference_output",
      cvode_bdf_on_robertson_matches_the_sundials_reference_output },
    { "every_method_conserves_mass_on_robertson", every_method_conserves_mass_on_robertson },
    { "every_method_matches_the_exact_linear_solution", every_method_matches_the_exact_linear_solution },
    { "unknown_methods_and_tables_are_refused_by_name", unknown_methods_and_tables_are_refused_by_name },
    { "too_few_steps_fail_with_sundials_flag_name", too_few_steps_fail_with_sundials_flag_name },
    { "a_fatal_right_hand_side_failure_is_reported", a_fatal_right_hand_side_failure_is_reported },
    { "unsorted_output_times_are_refused", unsorted_output_times_are_refused },
    { "builtin_jacobian_products_match_finite_differences", builtin_jacobian_products_match_finite_differences },
    { "adjoint_gradient_matches_central_differences", adjoint_gradient_matches_central_differences },
    { "forward_sensitivities_match_central_differences", forward_sensitivities_match_central_differences },
    { "backprop_gradients_are_exact_for_the_discrete_solution",
      backprop_gradients_are_exact_for_the_discrete_solution },
    { "all_gradient_methods_agree_with_each_other", all_gradient_methods_agree_with_each_other },
    { "gradient_methods_refuse_systems_without_products", gradient_methods_refuse_systems_without_products },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return nexp_test_run("ode", tests);
}
