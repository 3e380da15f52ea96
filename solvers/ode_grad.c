/* Gradients of L = sum_i l_i(y(t_i)) with respect to parameters and initial state: CVODES adjoint
 * with checkpointing, discrete backpropagation through explicit Runge-Kutta (RK4, DOPRI5), and
 * CVODES forward sensitivities. */
#include <cvodes/cvodes.h>
#include <math.h>
#include <nvector/nvector_serial.h>
#include <stdlib.h>
#include <string.h>
#include <sunlinsol/sunlinsol_dense.h>
#include <sunlinsol/sunlinsol_spgmr.h>
#include <sunmatrix/sunmatrix_dense.h>
#include <sunnonlinsol/sunnonlinsol_fixedpoint.h>

#include "clones_internal.h"
#include "ode_internal.h"

nexp_status nexp_ode_grad_method_parse(const char *name, nexp_ode_grad_method *m, nexp_error *err)
{
    if (name != NULL && strcmp(name, "adjoint") == 0) {
        *m = NEXP_ODE_GRAD_ADJOINT;
    } else if (name != NULL && (strcmp(name, "backprop") == 0 || strcmp(name, "backprop-dopri5") == 0)) {
        *m = NEXP_ODE_GRAD_BACKPROP_DOPRI5;
    } else if (name != NULL && strcmp(name, "backprop-rk4") == 0) {
        *m = NEXP_ODE_GRAD_BACKPROP_RK4;
    } else if (name != NULL && strcmp(name, "forward") == 0) {
        *m = NEXP_ODE_GRAD_FORWARD;
    } else {
        return nexp_error_set(err, NEXP_ERR_ARG,
                              "unknown gradient method '%s' (expected adjoint, backprop, backprop-rk4 or forward)",
                              name ? name : "(null)");
    }
    return NEXP_OK;
}

/* Loss of observation i into *loss (summed) and dl (n). */
static nexp_status eval_loss(nexp_ode_loss_fn loss, void *lu, int i, double t, const double *y, int n,
                             double *sum, double *dl, nexp_error *err)
{
    double l = 0.0;
    memset(dl, 0, (size_t)n * sizeof *dl);
    int rc = loss(i, t, y, &l, dl, lu);
    if (rc != 0 || !isfinite(l)) {
        return nexp_error_set(err, NEXP_ERR_NONFINITE, "loss at observation %d (t = %g) failed or is not finite",
                              i, t);
    }
    *sum += l;
    return NEXP_OK;
}

/* ================================================================================================
 * Discrete backpropagation through explicit Runge-Kutta
 * ============================================================================================== */

#define RK_MAX_STAGES 7

typedef struct rk_tableau {
    int s;                                 /* stages that form the solution */
    double a[RK_MAX_STAGES][RK_MAX_STAGES];
    double b[RK_MAX_STAGES];
    double c[RK_MAX_STAGES];
    double e[RK_MAX_STAGES];               /* error weights b - b_hat over all 7 stages (DOPRI5) */
} rk_tableau;

static const rk_tableau rk4_tab = {
    4,
    { { 0 }, { 0.5 }, { 0.0, 0.5 }, { 0.0, 0.0, 1.0 } },
    { 1.0 / 6.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 6.0 },
    { 0.0, 0.5, 0.5, 1.0 },
    { 0 },
};

/* Dormand & Prince (1980) 5(4); stage 7 (FSAL) is f at the new point and only enters the error. */
static const rk_tableau dopri5_tab = {
    6,
    { { 0 },
      { 1.0 / 5.0 },
      { 3.0 / 40.0, 9.0 / 40.0 },
      { 44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0 },
      { 19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0 },
      { 9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0 },
      { 35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0 } },
    { 35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0 },
    { 0.0, 1.0 / 5.0, 3.0 / 10.0, 4.0 / 5.0, 8.0 / 9.0, 1.0, 1.0 },
    { 71.0 / 57600.0, 0.0, -71.0 / 16695.0, 71.0 / 1920.0, -17253.0 / 339200.0, 22.0 / 525.0, -1.0 / 40.0 },
};

/* The recorded forward pass: per step its start time, size, start state and stages. */
typedef struct rk_tape {
    long steps, cap;
    int n, s;
    double *t, *h;  /* (steps) */
    double *y;      /* (steps, n) */
    double *k;      /* (steps, s, n), s the stages evaluated per step */
    size_t rl;      /* record length of the system's f_rec (0: none) */
    double *rec;    /* (steps, s, rl): the records of the solution stages */
} rk_tape;

static int tape_reserve(rk_tape *tp)
{
    if (tp->steps < tp->cap) {
        return 0;
    }
    long cap = tp->cap ? 2 * tp->cap : 64;
    double *t = realloc(tp->t, (size_t)cap * sizeof *t);
    if (t != NULL) {
        tp->t = t;
    }
    double *h = realloc(tp->h, (size_t)cap * sizeof *h);
    if (h != NULL) {
        tp->h = h;
    }
    double *y = realloc(tp->y, (size_t)cap * (size_t)tp->n * sizeof *y);
    if (y != NULL) {
        tp->y = y;
    }
    double *k = realloc(tp->k, (size_t)cap * (size_t)tp->s * (size_t)tp->n * sizeof *k);
    if (k != NULL) {
        tp->k = k;
    }
    if (tp->rl > 0) {
        double *r = realloc(tp->rec, (size_t)cap * (size_t)tp->s * tp->rl * sizeof *r);
        if (r == NULL) {
            return -1;
        }
        tp->rec = r;
    }
    if (t == NULL || h == NULL || y == NULL || k == NULL) {
        return -1;
    }
    tp->cap = cap;
    return 0;
}

static void tape_free(rk_tape *tp)
{
    free(tp->t);
    free(tp->h);
    free(tp->y);
    free(tp->k);
    free(tp->rec);
}

/* f at one stage, writing its record into rec when the system keeps records. */
static int eval_stage(const nexp_ode_system *sys, double t, const double *y, double *k, double *rec)
{
    if (rec != NULL) {
        return sys->f_rec(t, y, k, rec, sys->user);
    }
    return sys->f(t, y, k, sys->user);
}

/* One explicit RK step from (t, y) with size h: stages into K (nst, n) and, with records, their
 * records into R (nst, rl). k1 may be given (FSAL) in K[0] with have_k1. Returns the callback's
 * code. */
NEXP_CLONES
static int rk_stages(const nexp_ode_system *sys, const rk_tableau *tab, int nst, double t, double h,
                     const double *y, double *K, double *R, size_t rl, int have_k1, double *ytmp)
{
    const int n = sys->n;
    for (int i = 0; i < nst; i++) {
        if (i == 0 && have_k1) {
            continue;
        }
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int l = 0; l < i; l++) {
                acc += tab->a[i][l] * K[l * n + j];
            }
            ytmp[j] = y[j] + h * acc;
        }
        int rc = eval_stage(sys, t + tab->c[i] * h, ytmp, K + (size_t)i * n, R ? R + (size_t)i * rl : NULL);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

NEXP_CLONES
static void rk_combine(const rk_tableau *tab, int n, double h, const double *y, const double *K, double *ynew)
{
    for (int j = 0; j < n; j++) {
        double acc = 0.0;
        for (int i = 0; i < tab->s; i++) {
            acc += tab->b[i] * K[i * n + j];
        }
        ynew[j] = y[j] + h * acc;
    }
}

/* DOPRI5's local error estimate h sum_l e_l k_l */
NEXP_CLONES
static void rk_error(const rk_tableau *tab, int n, double h, const double *K, double *e)
{
    for (int j = 0; j < n; j++) {
        double acc = 0.0;
        for (int l = 0; l < 7; l++) {
            acc += tab->e[l] * K[l * n + j];
        }
        e[j] = h * acc;
    }
}

static int all_finite(const double *v, int n)
{
    for (int i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            return 0;
        }
    }
    return 1;
}

NEXP_CLONES
static double wrms_norm(const double *e, const double *y0, const double *y1, int n, double rtol, double atol,
                        const double *atol_vec)
{
    double s = 0.0;
    for (int j = 0; j < n; j++) {
        double sc = (atol_vec ? atol_vec[j] : atol) + rtol * fmax(fabs(y0[j]), fabs(y1[j]));
        double r = e[j] / sc;
        s += r * r;
    }
    return sqrt(s / n);
}

/* Forward pass recording the tape; Y (nt, n) receives the observations. */
static nexp_status rk_forward(const nexp_ode_system *sys, const nexp_ode_grad_options *opt, int adaptive,
                              double t0, const double *y0, int nt, const double *tobs, double *Y, long *obs_step,
                              rk_tape *tp, nexp_ode_stats *stats, nexp_error *err)
{
    const int n = sys->n;
    const rk_tableau *tab = adaptive ? &dopri5_tab : &rk4_tab;
    const int nst = tp->s;
    const nexp_ode_options *o = &opt->ode;
    nexp_status st = NEXP_OK;
    const size_t rl = tp->rl;
    double *y = malloc((size_t)n * 4 * sizeof *y);
    /* HINIT's two evaluations; the steps' stages live in the tape */
    double *K = malloc((size_t)n * 2 * sizeof *K);
    double *R = rl > 0 ? malloc(rl * sizeof *R) : NULL;
    if (y == NULL || K == NULL || (rl > 0 && R == NULL)) {
        free(y);
        free(K);
        free(R);
        return nexp_error_set(err, NEXP_ERR_NOMEM, "ode: out of memory for the Runge-Kutta tape");
    }
    double *ynew = y + n, *ytmp = y + 2 * n, *e = y + 3 * n;
    memcpy(y, y0, (size_t)n * sizeof *y);
    double t = t0, h_prop = o->h_init;
    int have_k1 = 0;
    const long step0 = tp->steps;
    const char *who = adaptive ? "DOPRI5" : "RK4";

    if (adaptive && h_prop <= 0.0) {
        /* Hairer, Norsett & Wanner's starting step (their DOPRI5 code's HINIT): a first guess from
         * the sizes of y0 and f(y0), refined by the change of f over an explicit Euler step. */
        if (eval_stage(sys, t0, y, K, R) != 0) {
            st = nexp_error_set(err, NEXP_ERR_SOLVER, "%s: right-hand side failed at t = %g", who, t0);
            goto done;
        }
        stats->rhs_evals++;
        have_k1 = 1;
        double d0 = 0.0, d1 = 0.0, d2 = 0.0;
        for (int j = 0; j < n; j++) {
            double sc = (o->atol_vec ? o->atol_vec[j] : o->atol) + o->rtol * fabs(y[j]);
            d0 += (y[j] / sc) * (y[j] / sc);
            d1 += (K[j] / sc) * (K[j] / sc);
        }
        d0 = sqrt(d0 / n);
        d1 = sqrt(d1 / n);
        double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
        for (int j = 0; j < n; j++) {
            ytmp[j] = y[j] + h0 * K[j];
        }
        if (sys->f(t0 + h0, ytmp, K + n, sys->user) != 0) {
            st = nexp_error_set(err, NEXP_ERR_SOLVER, "%s: right-hand side failed at t = %g", who, t0 + h0);
            goto done;
        }
        stats->rhs_evals++;
        for (int j = 0; j < n; j++) {
            double sc = (o->atol_vec ? o->atol_vec[j] : o->atol) + o->rtol * fabs(y[j]);
            double r = (K[n + j] - K[j]) / sc;
            d2 += r * r;
        }
        d2 = sqrt(d2 / n) / h0;
        double dm = fmax(d1, d2);
        double h1 = dm <= 1e-15 ? fmax(1e-6, 1e-3 * h0) : pow(0.01 / dm, 0.2);
        h_prop = fmin(100.0 * h0, h1);
    }

    for (int i = 0; i < nt; i++) {
        long steps_here = 0;
        const double tend = tobs[i];
        int nfix = opt->fixed_steps;
        for (int fs = 0; t < tend; fs++) {
            double h;
            if (adaptive) {
                h = fmin(h_prop, tend - t);
                if (o->h_max > 0.0) {
                    h = fmin(h, o->h_max);
                }
            } else {
                h = (tend - t) / (nfix - fs);
            }
            int clipped = adaptive && h < h_prop;
            /* the stages (and records) go straight into this step's slot of the tape */
            if (tape_reserve(tp) != 0) {
                st = nexp_error_set(err, NEXP_ERR_NOMEM, "ode: out of memory for the Runge-Kutta tape");
                goto done;
            }
            double *Ks = tp->k + (size_t)tp->steps * tp->s * n;
            double *Rs = rl > 0 ? tp->rec + (size_t)tp->steps * tp->s * rl : NULL;
            if (have_k1) { /* FSAL: k1 is the last stage of the previous step, or HINIT's f(t0, y0) */
                const double *k1 = tp->steps > step0 ? Ks - n : K;
                memcpy(Ks, k1, (size_t)n * sizeof *Ks);
                if (rl > 0) {
                    memcpy(Rs, tp->steps > step0 ? Rs - rl : R, rl * sizeof *Rs);
                }
            }
            for (int attempt = 0;; attempt++) {
                if (++steps_here > o->max_steps) {
                    st = nexp_error_set(err, NEXP_ERR_SOLVER, "%s: more than %ld steps before t = %g (at t = %g)",
                                        who, o->max_steps, tend, t);
                    goto done;
                }
                int rc = rk_stages(sys, tab, nst, t, h, y, Ks, Rs, rl, have_k1, ytmp);
                stats->rhs_evals += nst - have_k1;
                if (rc < 0 || (rc > 0 && !adaptive) || attempt > 60) {
                    st = nexp_error_set(err, NEXP_ERR_SOLVER, "%s: right-hand side failed (code %d) at t = %g", who,
                                        rc, t);
                    goto done;
                }
                if (rc > 0) {
                    clipped = 0;
                    h *= 0.25;
                    continue;
                }
                rk_combine(tab, n, h, y, Ks, ynew);
                if (!adaptive) {
                    break;
                }
                rk_error(tab, n, h, Ks, e);
                double en = all_finite(ynew, n) ? wrms_norm(e, y, ynew, n, o->rtol, o->atol, o->atol_vec) : HUGE_VAL;
                double fac = (en > 0.0) ? 0.9 * pow(en, -0.2) : 5.0;
                fac = fmin(5.0, fmax(0.2, fac));
                if (en <= 1.0) {
                    if (!clipped || fac < 1.0) {
                        h_prop = h * fac;
                    }
                    break;
                }
                stats->err_test_fails++;
                clipped = 0;
                h *= fmax(0.2, fac);
                if (!(h > 1e-14 * fmax(1.0, fabs(t)))) {
                    st = nexp_error_set(err, NEXP_ERR_SOLVER, "%s: step size underflow at t = %g", who, t);
                    goto done;
                }
            }
            if (!all_finite(ynew, n)) {
                st = nexp_error_set(err, NEXP_ERR_NONFINITE, "%s: the solution became non-finite at t = %g", who,
                                    t + h);
                goto done;
            }
            tp->t[tp->steps] = t;
            tp->h[tp->steps] = h;
            memcpy(tp->y + (size_t)tp->steps * n, y, (size_t)n * sizeof *y);
            tp->steps++;
            stats->steps++;
            stats->h_last = h;
            memcpy(y, ynew, (size_t)n * sizeof *y);
            have_k1 = adaptive;
            t = (tend - (t + h) < 1e-13 * fmax(1.0, fabs(tend))) ? tend : t + h;
            if (!adaptive && fs + 1 == nfix) {
                t = tend;
            }
        }
        memcpy(Y + (size_t)i * n, y, (size_t)n * sizeof *y);
        obs_step[i] = tp->steps;
    }
done:
    free(y);
    free(K);
    free(R);
    return st;
}

/* Reverse pass over one step: abar (n) is the adjoint of the step's end state on entry and of its
 * start state on return; dp (np) accumulates. work: (s + 2) n + np doubles. */
NEXP_CLONES
static nexp_status rk_step_backward(const nexp_ode_system *sys, const rk_tableau *tab, double t, double h,
                                    const double *y, const double *K, const double *R, size_t rl, double *abar,
                                    double *dp, double *work, nexp_error *err)
{
    const int n = sys->n, s = tab->s, np = sys->np;
    double *kbar = work, *ytmp = work + (size_t)s * n, *wy = ytmp + n, *wp = wy + n;
    for (int i = 0; i < s; i++) {
        for (int j = 0; j < n; j++) {
            kbar[i * n + j] = h * tab->b[i] * abar[j];
        }
    }
    for (int i = s - 1; i >= 0; i--) {
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int l = 0; l < i; l++) {
                acc += tab->a[i][l] * K[l * n + j];
            }
            ytmp[j] = y[j] + h * acc;
        }
        double ti = t + tab->c[i] * h;
        int rc = R != NULL ? sys->vjp_rec(ti, ytmp, kbar + (size_t)i * n, R + (size_t)i * rl, wy, np > 0 ? wp : NULL,
                                          sys->user)
                           : sys->vjp(ti, ytmp, kbar + (size_t)i * n, wy, np > 0 ? wp : NULL, sys->user);
        if (rc != 0) {
            return nexp_error_set(err, NEXP_ERR_SOLVER, "backprop: vector-Jacobian product failed at t = %g", t);
        }
        for (int j = 0; j < n; j++) {
            abar[j] += wy[j];
        }
        for (int k = 0; k < np; k++) {
            dp[k] += wp[k];
        }
        for (int l = 0; l < i; l++) {
            double c = h * tab->a[i][l];
            if (c != 0.0) {
                for (int j = 0; j < n; j++) {
                    kbar[l * n + j] += c * wy[j];
                }
            }
        }
    }
    return NEXP_OK;
}

static nexp_status grad_backprop(const nexp_ode_system *sys, const nexp_ode_grad_options *opt, int adaptive,
                                 double t0, const double *y0, int nt, const double *t, nexp_ode_loss_fn loss,
                                 void *lu, double *loss_out, double *Y, double *dp, double *dy0,
                                 nexp_ode_stats *stats, nexp_error *err)
{
    const int n = sys->n, np = sys->np;
    const rk_tableau *tab = adaptive ? &dopri5_tab : &rk4_tab;
    const size_t rl = (sys->rec_len > 0 && sys->f_rec != NULL && sys->vjp_rec != NULL) ? sys->rec_len : 0;
    /* a slot holds every stage evaluated in the step (DOPRI5's FSAL stage too), so the forward pass
     * computes straight into it */
    rk_tape tp = { 0, 0, n, adaptive ? 7 : 4, NULL, NULL, NULL, NULL, rl, NULL };
    nexp_status st = NEXP_OK;
    long *obs_step = malloc((size_t)nt * sizeof *obs_step);
    double *dl = malloc((size_t)nt * n * sizeof *dl);
    double *work = malloc(((size_t)(tab->s + 3) * n + (size_t)np + 1) * sizeof *work);
    double *pacc = calloc((size_t)np + 1, sizeof *pacc);
    if (obs_step == NULL || dl == NULL || work == NULL || pacc == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "ode: out of memory for backpropagation");
        goto done;
    }
    if ((st = rk_forward(sys, opt, adaptive, t0, y0, nt, t, Y, obs_step, &tp, stats, err)) != NEXP_OK) {
        goto done;
    }
    *loss_out = 0.0;
    for (int i = 0; i < nt; i++) {
        if ((st = eval_loss(loss, lu, i, t[i], Y + (size_t)i * n, n, loss_out, dl + (size_t)i * n, err))) {
            goto done;
        }
    }
    if (dp == NULL && dy0 == NULL) {
        goto done; /* the loss only: no reverse pass */
    }
    double *abar = work + (size_t)(tab->s + 2) * n + np;
    memset(abar, 0, (size_t)n * sizeof *abar);
    int next_obs = nt - 1;
    for (long j = tp.steps; j >= 0; j--) {
        while (next_obs >= 0 && obs_step[next_obs] == j) {
            for (int q = 0; q < n; q++) {
                abar[q] += dl[(size_t)next_obs * n + q];
            }
            next_obs--;
        }
        if (j == 0) {
            break;
        }
        if ((st = rk_step_backward(sys, tab, tp.t[j - 1], tp.h[j - 1], tp.y + (size_t)(j - 1) * n,
                                   tp.k + (size_t)(j - 1) * tp.s * n,
                                   rl > 0 ? tp.rec + (size_t)(j - 1) * tp.s * rl : NULL, rl, abar, pacc, work,
                                   err))) {
            goto done;
        }
    }
    if (dy0 != NULL) {
        memcpy(dy0, abar, (size_t)n * sizeof *dy0);
    }
    if (dp != NULL && np > 0) {
        memcpy(dp, pacc, (size_t)np * sizeof *dp);
    }
done:
    tape_free(&tp);
    free(obs_step);
    free(dl);
    free(work);
    free(pacc);
    return st;
}

/* ================================================================================================
 * CVODES adjoint
 * ============================================================================================== */

static int adj_rhsB(double t, N_Vector y, N_Vector yB, N_Vector yBdot, void *user)
{
    const ode_cv_user *u = user;
    double *d = N_VGetArrayPointer(yBdot);
    int rc = u->sys->vjp(t, N_VGetArrayPointer(y), N_VGetArrayPointer(yB), d, NULL, u->sys->user);
    for (int j = 0; j < u->sys->n; j++) {
        d[j] = -d[j];
    }
    return rc;
}

static int adj_quadB(double t, N_Vector y, N_Vector yB, N_Vector qBdot, void *user)
{
    const ode_cv_user *u = user;
    double *q = N_VGetArrayPointer(qBdot);
    int rc = u->sys->vjp(t, N_VGetArrayPointer(y), N_VGetArrayPointer(yB), u->work, q, u->sys->user);
    for (int k = 0; k < u->sys->np; k++) {
        q[k] = -q[k];
    }
    return rc;
}

static int adj_jtimesB(N_Vector vB, N_Vector JvB, double t, N_Vector y, N_Vector yB, N_Vector fyB, void *user,
                       N_Vector tmpB)
{
    (void)yB;
    (void)fyB;
    (void)tmpB;
    const ode_cv_user *u = user;
    double *d = N_VGetArrayPointer(JvB);
    int rc = u->sys->vjp(t, N_VGetArrayPointer(y), N_VGetArrayPointer(vB), d, NULL, u->sys->user);
    for (int j = 0; j < u->sys->n; j++) {
        d[j] = -d[j];
    }
    return rc;
}

/* Dense backward Jacobian -(df/dy)^T: column j is -(df/dy)^T e_j. */
static int adj_jacB(double t, N_Vector y, N_Vector yB, N_Vector fyB, SUNMatrix JB, void *user, N_Vector t1,
                    N_Vector t2, N_Vector t3)
{
    (void)yB;
    (void)fyB;
    (void)t1;
    (void)t2;
    (void)t3;
    const ode_cv_user *u = user;
    const int n = u->sys->n;
    double *e = u->work + n;
    memset(e, 0, (size_t)n * sizeof *e);
    for (int j = 0; j < n; j++) {
        double *col = SUNDenseMatrix_Column(JB, j);
        e[j] = 1.0;
        int rc = u->sys->vjp(t, N_VGetArrayPointer(y), e, col, NULL, u->sys->user);
        e[j] = 0.0;
        if (rc != 0) {
            return rc;
        }
        for (int i = 0; i < n; i++) {
            col[i] = -col[i];
        }
    }
    return 0;
}

static nexp_status cvs_fail(nexp_error *err, int flag, double t, const ode_msg *msg)
{
    char *name = CVodeGetReturnFlagName(flag);
    nexp_status st = ode_solver_error(err, "CVODES", name, t, msg);
    free(name);
    return st;
}

#define CVS_TRY(call)                                                                                           \
    do {                                                                                                        \
        int flag_ = (call);                                                                                     \
        if (flag_ < 0) {                                                                                        \
            st = cvs_fail(err, flag_, t0, &msg);                                                                \
            goto done;                                                                                          \
        }                                                                                                       \
    } while (0)

static nexp_status grad_adjoint(const nexp_ode_system *sys, const nexp_ode_grad_options *opt, double t0,
                                const double *y0, int nt, const double *t, nexp_ode_loss_fn loss, void *lu,
                                double *loss_out, double *Y, double *dp, double *dy0, nexp_ode_stats *stats,
                                nexp_error *err)
{
    const int n = sys->n, np = sys->np;
    const nexp_ode_options *o = &opt->ode;
    SUNContext ctx = NULL;
    N_Vector y = NULL, yB = NULL, qB = NULL;
    void *mem = NULL;
    ode_cvode_parts parts = { 0 };
    SUNMatrix matB = NULL;
    SUNLinearSolver lsB = NULL;
    SUNNonlinearSolver nlsB = NULL;
    ode_msg msg = { { 0 } };
    ode_cv_user u = { sys, NULL }, uB = { sys, NULL };
    nexp_status st = NEXP_OK;
    double *dl = malloc((size_t)nt * n * sizeof *dl);
    u.work = calloc((size_t)(2 * n + np + 1), sizeof(double));
    uB.work = calloc((size_t)(2 * n + np + 1), sizeof(double));
    if (dl == NULL || u.work == NULL || uB.work == NULL || SUNContext_Create(NULL, &ctx) != 0) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "CVODES: out of memory");
        goto done;
    }
    y = N_VNew_Serial(n, ctx);
    yB = N_VNew_Serial(n, ctx);
    qB = N_VNew_Serial(np > 0 ? np : 1, ctx);
    mem = CVodeCreate(o->method == NEXP_ODE_ADAMS ? CV_ADAMS : CV_BDF, ctx);
    if (y == NULL || yB == NULL || qB == NULL || mem == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "CVODES: out of memory");
        goto done;
    }
    memcpy(N_VGetArrayPointer(y), y0, (size_t)n * sizeof(double));
    CVS_TRY(CVodeInit(mem, ode_cv_rhs, t0, y));
    if ((st = ode_cvode_setup(mem, &u, o, y, ctx, &parts, &msg, err)) != NEXP_OK) {
        goto done;
    }
    CVS_TRY(CVodeAdjInit(mem, opt->checkpoint_steps, CV_HERMITE));

    /* forward pass with checkpoints */
    int ncheck = 0;
    *loss_out = 0.0;
    for (int i = 0; i < nt; i++) {
        if (t[i] > t0) {
            double tret = t0;
            int flag = CVodeF(mem, t[i], y, &tret, CV_NORMAL, &ncheck);
            if (flag < 0) {
                st = cvs_fail(err, flag, tret, &msg);
                goto done;
            }
        }
        memcpy(Y + (size_t)i * n, N_VGetArrayPointer(y), (size_t)n * sizeof(double));
        if ((st = eval_loss(loss, lu, i, t[i], Y + (size_t)i * n, n, loss_out, dl + (size_t)i * n, err))) {
            goto done;
        }
    }
    stats->checkpoints = ncheck;
    ode_cvode_add_stats(mem, stats);

    /* backward pass: lambda(t_{N-1}) = dl_{N-1}, integrate to the previous observation, add its
     * jump, restart, ... down to t0 */
    memcpy(N_VGetArrayPointer(yB), dl + (size_t)(nt - 1) * n, (size_t)n * sizeof(double));
    N_VConst(0.0, qB);
    int i = nt - 1;
    if (t[i] > t0) {
        int which = -1;
        CVS_TRY(CVodeCreateB(mem, o->method == NEXP_ODE_ADAMS ? CV_ADAMS : CV_BDF, &which));
        CVS_TRY(CVodeInitB(mem, which, adj_rhsB, t[i], yB));
        void *memB = CVodeGetAdjCVodeBmem(mem, which);
        CVS_TRY(CVodeSetErrHandlerFn(memB, ode_error_handler, &msg));
        CVS_TRY(CVodeSetMaxHnilWarns(memB, -1));
        CVS_TRY(CVodeSStolerancesB(mem, which, o->rtol, o->atol));
        CVS_TRY(CVodeSetUserDataB(mem, which, &uB));
        CVS_TRY(CVodeSetMaxNumStepsB(mem, which, o->max_steps));
        CVS_TRY(CVodeSetMaxStepB(mem, which, o->h_max));
        if (o->linsol == NEXP_ODE_LS_FIXED_POINT) {
            nlsB = SUNNonlinSol_FixedPoint(yB, 0, ctx);
            if (nlsB == NULL) {
                st = nexp_error_set(err, NEXP_ERR_NOMEM, "CVODES: out of memory");
                goto done;
            }
            CVS_TRY(CVodeSetNonlinearSolverB(mem, which, nlsB));
        } else if (o->linsol == NEXP_ODE_LS_SPGMR) {
            lsB = SUNLinSol_SPGMR(yB, SUN_PREC_NONE, 0, ctx);
            if (lsB == NULL) {
                st = nexp_error_set(err, NEXP_ERR_NOMEM, "CVODES: out of memory");
                goto done;
            }
            CVS_TRY(CVodeSetLinearSolverB(mem, which, lsB, NULL));
            CVS_TRY(CVodeSetJacTimesB(mem, which, NULL, adj_jtimesB));
        } else {
            matB = SUNDenseMatrix(n, n, ctx);
            lsB = matB ? SUNLinSol_Dense(yB, matB, ctx) : NULL;
            if (lsB == NULL) {
                st = nexp_error_set(err, NEXP_ERR_NOMEM, "CVODES: out of memory");
                goto done;
            }
            CVS_TRY(CVodeSetLinearSolverB(mem, which, lsB, matB));
            CVS_TRY(CVodeSetJacFnB(mem, which, adj_jacB));
        }
        if (np > 0) {
            CVS_TRY(CVodeQuadInitB(mem, which, adj_quadB, qB));
            CVS_TRY(CVodeQuadSStolerancesB(mem, which, o->rtol, o->atol));
            CVS_TRY(CVodeSetQuadErrConB(mem, which, SUNTRUE));
        }
        for (; i >= 0 && t[i] > t0; i--) {
            double target = i > 0 ? t[i - 1] : t0;
            int flag = CVodeB(mem, target, CV_NORMAL);
            double tret = target;
            if (flag < 0) {
                st = cvs_fail(err, flag, target, &msg);
                goto done;
            }
            CVS_TRY(CVodeGetB(mem, which, &tret, yB));
            if (np > 0) {
                CVS_TRY(CVodeGetQuadB(mem, which, &tret, qB));
            }
            if (i > 0) {
                double *lam = N_VGetArrayPointer(yB);
                for (int q = 0; q < n; q++) {
                    lam[q] += dl[(size_t)(i - 1) * n + q];
                }
                if (t[i - 1] > t0) {
                    CVS_TRY(CVodeReInitB(mem, which, t[i - 1], yB));
                    if (np > 0) {
                        CVS_TRY(CVodeQuadReInitB(mem, which, qB));
                    }
                }
            }
        }
        long nb = 0;
        if (CVodeGetNumSteps(memB, &nb) == CV_SUCCESS) {
            stats->backward_steps = nb;
        }
    }
    if (dy0 != NULL) {
        memcpy(dy0, N_VGetArrayPointer(yB), (size_t)n * sizeof(double));
    }
    if (dp != NULL && np > 0) {
        memcpy(dp, N_VGetArrayPointer(qB), (size_t)np * sizeof(double));
    }
done:
    CVodeFree(&mem);
    ode_cvode_parts_free(&parts);
    if (lsB != NULL) {
        SUNLinSolFree(lsB);
    }
    if (matB != NULL) {
        SUNMatDestroy(matB);
    }
    if (nlsB != NULL) {
        SUNNonlinSolFree(nlsB);
    }
    if (y != NULL) {
        N_VDestroy(y);
    }
    if (yB != NULL) {
        N_VDestroy(yB);
    }
    if (qB != NULL) {
        N_VDestroy(qB);
    }
    free(dl);
    free(u.work);
    free(uB.work);
    SUNContext_Free(&ctx);
    return st;
}

/* ================================================================================================
 * CVODES forward sensitivities of (p, y0)
 * ============================================================================================== */

static int fsa_rhs(int Ns, double t, N_Vector y, N_Vector ydot, N_Vector *yS, N_Vector *ySdot, void *user,
                   N_Vector tmp1, N_Vector tmp2)
{
    (void)ydot;
    (void)tmp1;
    (void)tmp2;
    const ode_cv_user *u = user;
    const nexp_ode_system *sys = u->sys;
    double *e = u->work + sys->n; /* unit vector in parameter space */
    for (int k = 0; k < Ns; k++) {
        int is_p = k < sys->np;
        if (is_p) {
            e[k] = 1.0;
        }
        int rc = sys->jvp(t, N_VGetArrayPointer(y), N_VGetArrayPointer(yS[k]), is_p ? e : NULL,
                          N_VGetArrayPointer(ySdot[k]), sys->user);
        if (is_p) {
            e[k] = 0.0;
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static nexp_status grad_forward(const nexp_ode_system *sys, const nexp_ode_grad_options *opt, double t0,
                                const double *y0, int nt, const double *t, nexp_ode_loss_fn loss, void *lu,
                                double *loss_out, double *Y, double *dp, double *dy0, nexp_ode_stats *stats,
                                nexp_error *err)
{
    const int n = sys->n, np = sys->np, ns = np + n;
    const nexp_ode_options *o = &opt->ode;
    SUNContext ctx = NULL;
    N_Vector y = NULL, *yS = NULL;
    void *mem = NULL;
    ode_cvode_parts parts = { 0 };
    SUNNonlinearSolver nlsS = NULL;
    ode_msg msg = { { 0 } };
    ode_cv_user u = { sys, NULL };
    nexp_status st = NEXP_OK;
    double *dl = malloc((size_t)n * sizeof *dl);
    double *g = calloc((size_t)ns, sizeof *g);
    u.work = calloc((size_t)(n + np + 1), sizeof(double));
    if (dl == NULL || g == NULL || u.work == NULL || SUNContext_Create(NULL, &ctx) != 0) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "CVODES: out of memory");
        goto done;
    }
    y = N_VNew_Serial(n, ctx);
    mem = CVodeCreate(o->method == NEXP_ODE_ADAMS ? CV_ADAMS : CV_BDF, ctx);
    yS = y ? N_VCloneVectorArray(ns, y) : NULL;
    if (y == NULL || mem == NULL || yS == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "CVODES: out of memory");
        goto done;
    }
    memcpy(N_VGetArrayPointer(y), y0, (size_t)n * sizeof(double));
    for (int k = 0; k < ns; k++) {
        N_VConst(0.0, yS[k]);
        if (k >= np) {
            N_VGetArrayPointer(yS[k])[k - np] = 1.0;
        }
    }
    CVS_TRY(CVodeInit(mem, ode_cv_rhs, t0, y));
    if ((st = ode_cvode_setup(mem, &u, o, y, ctx, &parts, &msg, err)) != NEXP_OK) {
        goto done;
    }
    CVS_TRY(CVodeSensInit(mem, ns, CV_SIMULTANEOUS, fsa_rhs, yS));
    CVS_TRY(CVodeSensEEtolerances(mem));
    CVS_TRY(CVodeSetSensErrCon(mem, SUNTRUE));
    if (o->linsol == NEXP_ODE_LS_FIXED_POINT) {
        nlsS = SUNNonlinSol_FixedPointSens(ns + 1, y, 0, ctx);
        if (nlsS == NULL) {
            st = nexp_error_set(err, NEXP_ERR_NOMEM, "CVODES: out of memory");
            goto done;
        }
        CVS_TRY(CVodeSetNonlinearSolverSensSim(mem, nlsS));
    }
    *loss_out = 0.0;
    for (int i = 0; i < nt; i++) {
        if (t[i] > t0) {
            double tret = t0;
            int flag = CVode(mem, t[i], y, &tret, CV_NORMAL);
            if (flag < 0) {
                st = cvs_fail(err, flag, tret, &msg);
                goto done;
            }
            CVS_TRY(CVodeGetSens(mem, &tret, yS));
        }
        memcpy(Y + (size_t)i * n, N_VGetArrayPointer(y), (size_t)n * sizeof(double));
        if ((st = eval_loss(loss, lu, i, t[i], Y + (size_t)i * n, n, loss_out, dl, err))) {
            goto done;
        }
        for (int k = 0; k < ns; k++) {
            const double *s = N_VGetArrayPointer(yS[k]);
            double acc = 0.0;
            for (int q = 0; q < n; q++) {
                acc += dl[q] * s[q];
            }
            g[k] += acc;
        }
    }
    ode_cvode_add_stats(mem, stats);
    if (dp != NULL && np > 0) {
        memcpy(dp, g, (size_t)np * sizeof *dp);
    }
    if (dy0 != NULL) {
        memcpy(dy0, g + np, (size_t)n * sizeof *dy0);
    }
done:
    CVodeFree(&mem);
    ode_cvode_parts_free(&parts);
    if (nlsS != NULL) {
        SUNNonlinSolFree(nlsS);
    }
    if (yS != NULL) {
        N_VDestroyVectorArray(yS, ns);
    }
    if (y != NULL) {
        N_VDestroy(y);
    }
    free(dl);
    free(g);
    free(u.work);
    SUNContext_Free(&ctx);
    return st;
}

/* No gradient wanted: the plain CVODE solve the continuous methods start with, and the losses. */
static nexp_status loss_only_cvode(const nexp_ode_system *sys, const nexp_ode_grad_options *opt, double t0,
                                   const double *y0, int nt, const double *t, nexp_ode_loss_fn loss, void *lu,
                                   double *loss_out, double *Y, nexp_ode_stats *stats, nexp_error *err)
{
    const int n = sys->n;
    double *dl = malloc((size_t)n * sizeof *dl);
    if (dl == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "ode gradient: out of memory");
    }
    nexp_status st = nexp_ode_solve(sys, &opt->ode, t0, y0, nt, t, Y, stats, err);
    *loss_out = 0.0;
    for (int i = 0; st == NEXP_OK && i < nt; i++) {
        st = eval_loss(loss, lu, i, t[i], Y + (size_t)i * n, n, loss_out, dl, err);
    }
    free(dl);
    return st;
}

nexp_status nexp_ode_gradient(const nexp_ode_system *sys, const nexp_ode_grad_options *opt, double t0,
                              const double *y0, int nt, const double *t, nexp_ode_loss_fn loss, void *loss_user,
                              double *loss_out, double *Y, double *dp, double *dy0, nexp_ode_stats *stats,
                              nexp_error *err)
{
    if (opt == NULL || loss == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "ode gradient: no options or no loss");
    }
    nexp_status st = ode_check_problem(sys, &opt->ode, t0, y0, nt, t, err);
    if (st != NEXP_OK) {
        return st;
    }
    if (opt->method == NEXP_ODE_GRAD_FORWARD ? sys->jvp == NULL : sys->vjp == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "ode gradient: the %s method needs the system's %s callback",
                              opt->method == NEXP_ODE_GRAD_FORWARD ? "forward" : "adjoint/backprop",
                              opt->method == NEXP_ODE_GRAD_FORWARD ? "jvp" : "vjp");
    }
    if (opt->fixed_steps < 1 || opt->checkpoint_steps < 1) {
        return nexp_error_set(err, NEXP_ERR_ARG, "ode gradient: fixed_steps and checkpoint_steps must be >= 1");
    }
    nexp_ode_stats local;
    nexp_ode_stats *stp = stats ? stats : &local;
    memset(stp, 0, sizeof *stp);
    double lsum = 0.0;
    double *Yw = Y ? Y : malloc((size_t)nt * sys->n * sizeof *Yw);
    if (Yw == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "ode gradient: out of memory");
    }
    int loss_only = dp == NULL && dy0 == NULL;
    switch (opt->method) {
    case NEXP_ODE_GRAD_ADJOINT:
    case NEXP_ODE_GRAD_FORWARD:
        if (loss_only) {
            st = loss_only_cvode(sys, opt, t0, y0, nt, t, loss, loss_user, &lsum, Yw, stp, err);
            break;
        }
        if (opt->method == NEXP_ODE_GRAD_FORWARD) {
            st = grad_forward(sys, opt, t0, y0, nt, t, loss, loss_user, &lsum, Yw, dp, dy0, stp, err);
            break;
        }
        st = grad_adjoint(sys, opt, t0, y0, nt, t, loss, loss_user, &lsum, Yw, dp, dy0, stp, err);
        break;
    case NEXP_ODE_GRAD_BACKPROP_RK4:
    case NEXP_ODE_GRAD_BACKPROP_DOPRI5:
        st = grad_backprop(sys, opt, opt->method == NEXP_ODE_GRAD_BACKPROP_DOPRI5, t0, y0, nt, t, loss, loss_user,
                           &lsum, Yw, dp, dy0, stp, err);
        break;
    default:
        st = nexp_error_set(err, NEXP_ERR_ARG, "ode gradient: unknown method %d", (int)opt->method);
    }
    if (Yw != Y) {
        free(Yw);
    }
    if (loss_out != NULL) {
        *loss_out = lsum;
    }
    return st;
}
