/* Raw integration speed of nexp's SUNDIALS drivers on two classic problems (compare with
 * bench/ode_scipy.py, the same problems with SciPy's solve_ivp):
 *
 *   Lorenz:    x' = 10 (y - x), y' = x (28 - z) - y, z' = x y - 8/3 z, (1, 1, 1), t in [0, 20],
 *              2001 outputs, rtol = atol = 1e-8: ARKODE Dormand-Prince 5(4) and CVODE Adams
 *   Robertson: the stiff kinetics of SUNDIALS' cvRoberts_dns: rtol 1e-4, atol (1e-8, 1e-14, 1e-6),
 *              outputs 0.4 * 10^k, k = 0..11: CVODE BDF with the dense exact Jacobian
 *
 * Usage: ode_integrate [REPEATS]   prints milliseconds per solve (CPU time) and the last state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nexp.h"
#include "nexp_ode.h"

static double cpu_now(void)
{
    return (double)clock() / CLOCKS_PER_SEC;
}

static void run(const char *label, const char *sysname, double *p, const double *y0, int nt, const double *t,
                const nexp_ode_options *opt, int repeats)
{
    nexp_ode_system sys;
    nexp_error err = NEXP_ERROR_INIT;
    nexp_ode_builtin_system(sysname, p, &sys, &err);
    double *Y = malloc((size_t)nt * sys.n * sizeof *Y);
    nexp_ode_stats st;
    double c0 = cpu_now();
    for (int r = 0; r < repeats; r++) {
        if (nexp_ode_solve(&sys, opt, 0.0, y0, nt, t, Y, &st, &err) != NEXP_OK) {
            fprintf(stderr, "%s: %s\n", label, err.msg);
            exit(1);
        }
    }
    double ms = 1e3 * (cpu_now() - c0) / repeats;
    printf("%-28s %9.3f ms/solve  steps %6ld  rhs %7ld  y(end) =", label, ms, st.steps, st.rhs_evals);
    for (int i = 0; i < sys.n; i++) {
        printf(" %.6e", Y[(size_t)(nt - 1) * sys.n + i]);
    }
    printf("\n");
    free(Y);
}

int main(int argc, char **argv)
{
    int repeats = argc > 1 ? atoi(argv[1]) : 20;
    if (repeats < 1) {
        repeats = 1;
    }
    nexp_set_threads(1);
    enum { NL = 2001 };
    static double tl[NL];
    for (int i = 0; i < NL; i++) {
        tl[i] = 20.0 * i / (NL - 1);
    }
    double pl[3] = { 10.0, 28.0, 8.0 / 3.0 }, yl[3] = { 1.0, 1.0, 1.0 };
    nexp_ode_options o = NEXP_ODE_OPTIONS_INIT;
    o.rtol = 1e-8;
    o.atol = 1e-8;
    nexp_ode_method_parse("dopri5", &o, NULL);
    run("lorenz ARKODE dopri5", "lorenz", pl, yl, NL, tl, &o, repeats);
    nexp_ode_method_parse("adams", &o, NULL);
    o.linsol = NEXP_ODE_LS_FIXED_POINT;
    run("lorenz CVODE adams", "lorenz", pl, yl, NL, tl, &o, repeats);

    double tr[12], pr[3] = { 0.04, 1.0e4, 3.0e7 }, yr[3] = { 1.0, 0.0, 0.0 }, atol[3] = { 1e-8, 1e-14, 1e-6 };
    for (int i = 0; i < 12; i++) {
        tr[i] = 0.4;
        for (int k = 0; k < i; k++) {
            tr[i] *= 10.0;
        }
    }
    nexp_ode_options r = NEXP_ODE_OPTIONS_INIT;
    r.rtol = 1e-4;
    r.atol_vec = atol;
    run("robertson CVODE bdf dense", "robertson", pr, yr, 12, tr, &r, repeats);
    return 0;
}
