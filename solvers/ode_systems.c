/* Built-in ODE systems with exact Jacobian-vector and vector-Jacobian products. The parameters
 * p are the user pointer. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "nexp_ode.h"

#define UNUSED(x) (void)(x)

/* ---- lorenz: p = (s, r, b) -------------------------------------------------------------------- */
static int lorenz_f(double t, const double *y, double *d, void *user)
{
    UNUSED(t);
    const double *p = user;
    d[0] = p[0] * (y[1] - y[0]);
    d[1] = y[0] * (p[1] - y[2]) - y[1];
    d[2] = y[0] * y[1] - p[2] * y[2];
    return 0;
}

static int lorenz_jvp(double t, const double *y, const double *v, const double *dp, double *o, void *user)
{
    UNUSED(t);
    const double *p = user;
    o[0] = p[0] * (v[1] - v[0]);
    o[1] = v[0] * (p[1] - y[2]) - y[0] * v[2] - v[1];
    o[2] = v[0] * y[1] + y[0] * v[1] - p[2] * v[2];
    if (dp != NULL) {
        o[0] += dp[0] * (y[1] - y[0]);
        o[1] += dp[1] * y[0];
        o[2] -= dp[2] * y[2];
    }
    return 0;
}

static int lorenz_vjp(double t, const double *y, const double *w, double *wy, double *wp, void *user)
{
    UNUSED(t);
    const double *p = user;
    wy[0] = -p[0] * w[0] + (p[1] - y[2]) * w[1] + y[1] * w[2];
    wy[1] = p[0] * w[0] - w[1] + y[0] * w[2];
    wy[2] = -y[0] * w[1] - p[2] * w[2];
    if (wp != NULL) {
        wp[0] = (y[1] - y[0]) * w[0];
        wp[1] = y[0] * w[1];
        wp[2] = -y[2] * w[2];
    }
    return 0;
}

/* ---- lotka-volterra: p = (a, b, c, d), y = (prey, predator) ------------------------------------ */
static int lv_f(double t, const double *y, double *d, void *user)
{
    UNUSED(t);
    const double *p = user;
    d[0] = p[0] * y[0] - p[1] * y[0] * y[1];
    d[1] = -p[2] * y[1] + p[3] * y[0] * y[1];
    return 0;
}

static int lv_jvp(double t, const double *y, const double *v, const double *dp, double *o, void *user)
{
    UNUSED(t);
    const double *p = user;
    o[0] = (p[0] - p[1] * y[1]) * v[0] - p[1] * y[0] * v[1];
    o[1] = p[3] * y[1] * v[0] + (-p[2] + p[3] * y[0]) * v[1];
    if (dp != NULL) {
        o[0] += dp[0] * y[0] - dp[1] * y[0] * y[1];
        o[1] += -dp[2] * y[1] + dp[3] * y[0] * y[1];
    }
    return 0;
}

static int lv_vjp(double t, const double *y, const double *w, double *wy, double *wp, void *user)
{
    UNUSED(t);
    const double *p = user;
    wy[0] = (p[0] - p[1] * y[1]) * w[0] + p[3] * y[1] * w[1];
    wy[1] = -p[1] * y[0] * w[0] + (-p[2] + p[3] * y[0]) * w[1];
    if (wp != NULL) {
        wp[0] = y[0] * w[0];
        wp[1] = -y[0] * y[1] * w[0];
        wp[2] = -y[1] * w[1];
        wp[3] = y[0] * y[1] * w[1];
    }
    return 0;
}

/* ---- damped pendulum: p = (k, g), y = (angle, angular velocity) ------------------------------- */
static int pend_f(double t, const double *y, double *d, void *user)
{
    UNUSED(t);
    const double *p = user;
    d[0] = y[1];
    d[1] = -p[0] * y[1] - p[1] * sin(y[0]);
    return 0;
}

static int pend_jvp(double t, const double *y, const double *v, const double *dp, double *o, void *user)
{
    UNUSED(t);
    const double *p = user;
    o[0] = v[1];
    o[1] = -p[1] * cos(y[0]) * v[0] - p[0] * v[1];
    if (dp != NULL) {
        o[1] += -dp[0] * y[1] - dp[1] * sin(y[0]);
    }
    return 0;
}

static int pend_vjp(double t, const double *y, const double *w, double *wy, double *wp, void *user)
{
    UNUSED(t);
    const double *p = user;
    wy[0] = -p[1] * cos(y[0]) * w[1];
    wy[1] = w[0] - p[0] * w[1];
    if (wp != NULL) {
        wp[0] = -y[1] * w[1];
        wp[1] = -sin(y[0]) * w[1];
    }
    return 0;
}

/* ---- robertson: p = (k1, k2, k3) -------------------------------------------------------------- */
static int rob_f(double t, const double *y, double *d, void *user)
{
    UNUSED(t);
    const double *p = user;
    double r1 = p[0] * y[0], r2 = p[1] * y[1] * y[2], r3 = p[2] * y[1] * y[1];
    d[0] = -r1 + r2;
    d[2] = r3;
    d[1] = r1 - r2 - r3;
    return 0;
}

static int rob_jvp(double t, const double *y, const double *v, const double *dp, double *o, void *user)
{
    UNUSED(t);
    const double *p = user;
    double r1 = p[0] * v[0], r2 = p[1] * (v[1] * y[2] + y[1] * v[2]), r3 = 2.0 * p[2] * y[1] * v[1];
    if (dp != NULL) {
        r1 += dp[0] * y[0];
        r2 += dp[1] * y[1] * y[2];
        r3 += dp[2] * y[1] * y[1];
    }
    o[0] = -r1 + r2;
    o[2] = r3;
    o[1] = r1 - r2 - r3;
    return 0;
}

static int rob_vjp(double t, const double *y, const double *w, double *wy, double *wp, void *user)
{
    UNUSED(t);
    const double *p = user;
    double g1 = w[1] - w[0];         /* d/d r1 */
    double g2 = w[0] - w[1];         /* d/d r2 */
    double g3 = w[2] - w[1];         /* d/d r3 */
    wy[0] = g1 * p[0];
    wy[1] = g2 * p[1] * y[2] + g3 * 2.0 * p[2] * y[1];
    wy[2] = g2 * p[1] * y[1];
    if (wp != NULL) {
        wp[0] = g1 * y[0];
        wp[1] = g2 * y[1] * y[2];
        wp[2] = g3 * y[1] * y[1];
    }
    return 0;
}

/* ---- spiral: y' = (y^3) A as a row vector: y'_j = sum_i y_i^3 A_ij ----------------------------- */
static int spiral_f(double t, const double *y, double *d, void *user)
{
    UNUSED(t);
    const double *A = user;
    double c0 = y[0] * y[0] * y[0], c1 = y[1] * y[1] * y[1];
    d[0] = c0 * A[0] + c1 * A[2];
    d[1] = c0 * A[1] + c1 * A[3];
    return 0;
}

static int spiral_jvp(double t, const double *y, const double *v, const double *dp, double *o, void *user)
{
    UNUSED(t);
    const double *A = user;
    double e0 = 3.0 * y[0] * y[0] * v[0], e1 = 3.0 * y[1] * y[1] * v[1];
    o[0] = e0 * A[0] + e1 * A[2];
    o[1] = e0 * A[1] + e1 * A[3];
    if (dp != NULL) {
        double c0 = y[0] * y[0] * y[0], c1 = y[1] * y[1] * y[1];
        o[0] += c0 * dp[0] + c1 * dp[2];
        o[1] += c0 * dp[1] + c1 * dp[3];
    }
    return 0;
}

static int spiral_vjp(double t, const double *y, const double *w, double *wy, double *wp, void *user)
{
    UNUSED(t);
    const double *A = user;
    wy[0] = 3.0 * y[0] * y[0] * (A[0] * w[0] + A[1] * w[1]);
    wy[1] = 3.0 * y[1] * y[1] * (A[2] * w[0] + A[3] * w[1]);
    if (wp != NULL) {
        double c0 = y[0] * y[0] * y[0], c1 = y[1] * y[1] * y[1];
        wp[0] = c0 * w[0];
        wp[1] = c0 * w[1];
        wp[2] = c1 * w[0];
        wp[3] = c1 * w[1];
    }
    return 0;
}

/* ---- pk: one compartment, c' = -ke c ---------------------------------------------------------- */
static int pk_f(double t, const double *y, double *d, void *user)
{
    UNUSED(t);
    const double *p = user;
    d[0] = -p[0] * y[0];
    return 0;
}

static int pk_jvp(double t, const double *y, const double *v, const double *dp, double *o, void *user)
{
    UNUSED(t);
    const double *p = user;
    o[0] = -p[0] * v[0] - (dp != NULL ? dp[0] * y[0] : 0.0);
    return 0;
}

static int pk_vjp(double t, const double *y, const double *w, double *wy, double *wp, void *user)
{
    UNUSED(t);
    const double *p = user;
    wy[0] = -p[0] * w[0];
    if (wp != NULL) {
        wp[0] = -y[0] * w[0];
    }
    return 0;
}

/* ---- linear: y' = A y, 2 states --------------------------------------------------------------- */
static int lin_f(double t, const double *y, double *d, void *user)
{
    UNUSED(t);
    const double *A = user;
    d[0] = A[0] * y[0] + A[1] * y[1];
    d[1] = A[2] * y[0] + A[3] * y[1];
    return 0;
}

static int lin_jvp(double t, const double *y, const double *v, const double *dp, double *o, void *user)
{
    UNUSED(t);
    const double *A = user;
    o[0] = A[0] * v[0] + A[1] * v[1];
    o[1] = A[2] * v[0] + A[3] * v[1];
    if (dp != NULL) {
        o[0] += dp[0] * y[0] + dp[1] * y[1];
        o[1] += dp[2] * y[0] + dp[3] * y[1];
    }
    return 0;
}

static int lin_vjp(double t, const double *y, const double *w, double *wy, double *wp, void *user)
{
    UNUSED(t);
    const double *A = user;
    wy[0] = A[0] * w[0] + A[2] * w[1];
    wy[1] = A[1] * w[0] + A[3] * w[1];
    if (wp != NULL) {
        wp[0] = w[0] * y[0];
        wp[1] = w[0] * y[1];
        wp[2] = w[1] * y[0];
        wp[3] = w[1] * y[1];
    }
    return 0;
}

/* ---- the table -------------------------------------------------------------------------------- */
typedef struct builtin_entry {
    nexp_ode_builtin info;
    nexp_ode_rhs_fn f;
    nexp_ode_jvp_fn jvp;
    nexp_ode_vjp_fn vjp;
} builtin_entry;

static const double lorenz_p[] = { 10.0, 28.0, 8.0 / 3.0 }, lorenz_y0[] = { 1.0, 1.0, 1.0 };
static const double lv_p[] = { 0.55, 0.028, 0.84, 0.026 }, lv_y0[] = { 30.0, 4.0 };
static const double pend_p[] = { 0.25, 9.81 }, pend_y0[] = { 3.0, 0.0 };
static const double rob_p[] = { 0.04, 1.0e4, 3.0e7 }, rob_y0[] = { 1.0, 0.0, 0.0 };
static const double spiral_p[] = { -0.1, 2.0, -2.0, -0.1 }, spiral_y0[] = { 2.0, 0.0 };
static const double pk_p[] = { 0.5 }, pk_y0[] = { 2.0 };
static const double lin_p[] = { -0.1, 1.0, -1.0, -0.1 }, lin_y0[] = { 1.0, 0.0 };

static const builtin_entry entries[] = {
    { { "lorenz", "Lorenz 1963 convection model (chaotic)", 3, 3, "x,y,z", "sigma,rho,beta", lorenz_p, lorenz_y0,
        20.0, NEXP_ODE_ADAMS },
      lorenz_f, lorenz_jvp, lorenz_vjp },
    { { "lotka-volterra", "predator-prey: prey' = a prey - b prey pred, pred' = -c pred + d prey pred", 2, 4,
        "prey,predator", "alpha,beta,gamma,delta", lv_p, lv_y0, 20.0, NEXP_ODE_ADAMS },
      lv_f, lv_jvp, lv_vjp },
    { { "pendulum", "damped pendulum: theta'' = -k theta' - g sin(theta)", 2, 2, "theta,omega", "k,g", pend_p,
        pend_y0, 10.0, NEXP_ODE_ADAMS },
      pend_f, pend_jvp, pend_vjp },
    { { "robertson", "Robertson's stiff chemical kinetics (3 species)", 3, 3, "y1,y2,y3", "k1,k2,k3", rob_p, rob_y0,
        4.0e10, NEXP_ODE_BDF },
      rob_f, rob_jvp, rob_vjp },
    { { "spiral", "cubic spiral y' = (y^3) A, A = [[-0.1, 2], [-2, -0.1]]", 2, 4, "y1,y2", "a11,a12,a21,a22",
        spiral_p, spiral_y0, 25.0, NEXP_ODE_ADAMS },
      spiral_f, spiral_jvp, spiral_vjp },
    { { "pk", "one-compartment pharmacokinetics after an IV bolus: c' = -ke c", 1, 1, "conc", "ke", pk_p, pk_y0,
        8.0, NEXP_ODE_ADAMS },
      pk_f, pk_jvp, pk_vjp },
    { { "linear", "linear system y' = A y", 2, 4, "y1,y2", "a11,a12,a21,a22", lin_p, lin_y0, 20.0,
        NEXP_ODE_ADAMS },
      lin_f, lin_jvp, lin_vjp },
};

#define N_ENTRIES ((int)(sizeof entries / sizeof entries[0]))

static const nexp_ode_builtin *const table[] = { &entries[0].info, &entries[1].info, &entries[2].info,
                                                 &entries[3].info, &entries[4].info, &entries[5].info,
                                                 &entries[6].info, NULL };

const nexp_ode_builtin *const *nexp_ode_builtins(void)
{
    return table;
}

static const builtin_entry *find_entry(const char *name)
{
    for (int i = 0; name != NULL && i < N_ENTRIES; i++) {
        if (strcmp(entries[i].info.name, name) == 0) {
            return &entries[i];
        }
    }
    return NULL;
}

const nexp_ode_builtin *nexp_ode_builtin_find(const char *name)
{
    const builtin_entry *e = find_entry(name);
    return e ? &e->info : NULL;
}

nexp_status nexp_ode_builtin_system(const char *name, double *p, nexp_ode_system *sys, nexp_error *err)
{
    const builtin_entry *e = find_entry(name);
    if (e == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG,
                              "unknown system '%s' (built-ins: lorenz, lotka-volterra, pendulum, robertson, "
                              "spiral, pk, linear)",
                              name ? name : "(null)");
    }
    if (p == NULL || sys == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "%s: no parameters or no system to fill", name);
    }
    sys->n = e->info.n;
    sys->np = e->info.np;
    sys->f = e->f;
    sys->jvp = e->jvp;
    sys->vjp = e->vjp;
    sys->user = p;
    sys->rec_len = 0;
    sys->f_rec = NULL;
    sys->vjp_rec = NULL;
    return NEXP_OK;
}
