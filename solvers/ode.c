/* ODE integration with CVODE (BDF/Adams; dense, SPGMR or fixed-point) and ARKODE ERKStep. */
#include <arkode/arkode_erkstep.h>
#include <cvodes/cvodes.h>
#include <math.h>
#include <nvector/nvector_serial.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sunlinsol/sunlinsol_dense.h>
#include <sunlinsol/sunlinsol_spgmr.h>
#include <sunmatrix/sunmatrix_dense.h>
#include <sunnonlinsol/sunnonlinsol_fixedpoint.h>

#include "ode_internal.h"

#define DEFAULT_ERK_TABLE "ARKODE_DORMAND_PRINCE_7_4_5"

/* ARKODE's explicit tables (ARKODE_ERKTableID); checked here because ARKODE prints unknown names. */
static const char *const erk_tables[] = {
    "ARKODE_HEUN_EULER_2_1_2",     "ARKODE_BOGACKI_SHAMPINE_4_2_3", "ARKODE_ARK324L2SA_ERK_4_2_3",
    "ARKODE_ZONNEVELD_5_3_4",      "ARKODE_ARK436L2SA_ERK_6_3_4",   "ARKODE_SAYFY_ABURUB_6_3_4",
    "ARKODE_CASH_KARP_6_4_5",      "ARKODE_FEHLBERG_6_4_5",         "ARKODE_DORMAND_PRINCE_7_4_5",
    "ARKODE_ARK548L2SA_ERK_8_4_5", "ARKODE_VERNER_8_5_6",           "ARKODE_FEHLBERG_13_7_8",
    "ARKODE_KNOTH_WOLKE_3_3",      "ARKODE_ARK437L2SA_ERK_7_3_4",   "ARKODE_ARK548L2SAb_ERK_8_4_5",
};

static int erk_table_known(const char *name)
{
    for (size_t i = 0; i < sizeof erk_tables / sizeof erk_tables[0]; i++) {
        if (strcmp(erk_tables[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

void ode_error_handler(int error_code, const char *module, const char *function, char *msg, void *eh_data)
{
    (void)error_code;
    ode_msg *m = eh_data;
    if (m != NULL) {
        snprintf(m->text, sizeof m->text, "%s (%s, %s)", msg ? msg : "", function ? function : "?",
                 module ? module : "?");
    }
}

nexp_status ode_solver_error(nexp_error *err, const char *who, const char *flag_name, double t, const ode_msg *m)
{
    return nexp_error_set(err, NEXP_ERR_SOLVER, "%s: %s at t = %.6g%s%s", who, flag_name ? flag_name : "failure",
                          t, (m != NULL && m->text[0]) ? ": " : "", (m != NULL) ? m->text : "");
}

nexp_status ode_check_problem(const nexp_ode_system *sys, const nexp_ode_options *opt, double t0, const double *y0,
                              int nt, const double *t, nexp_error *err)
{
    if (sys == NULL || sys->f == NULL || sys->n < 1 || sys->np < 0) {
        return nexp_error_set(err, NEXP_ERR_ARG, "ode: the system needs n >= 1 states and a right-hand side");
    }
    if (opt == NULL || !(opt->rtol > 0.0) || !(opt->atol > 0.0) || opt->max_steps < 1 || !(opt->h_init >= 0.0) ||
        !(opt->h_max >= 0.0)) {
        return nexp_error_set(err, NEXP_ERR_ARG,
                              "ode: tolerances must be > 0, max_steps >= 1, h_init and h_max >= 0");
    }
    if (y0 == NULL || t == NULL || nt < 1 || !isfinite(t0)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "ode: need an initial state and at least one output time");
    }
    for (int i = 0; i < sys->n; i++) {
        if (!isfinite(y0[i])) {
            return nexp_error_set(err, NEXP_ERR_NONFINITE, "ode: initial state component %d is not finite", i);
        }
    }
    for (int i = 0; i < nt; i++) {
        if (!isfinite(t[i]) || t[i] < t0 || (i > 0 && !(t[i] > t[i - 1]))) {
            return nexp_error_set(err, NEXP_ERR_ARG,
                                  "ode: output times must be finite, >= t0 = %g and strictly increasing "
                                  "(time %d is %g)",
                                  t0, i, t[i]);
        }
    }
    return NEXP_OK;
}

int ode_cv_rhs(double t, N_Vector y, N_Vector ydot, void *user)
{
    const ode_cv_user *u = user;
    return u->sys->f(t, N_VGetArrayPointer(y), N_VGetArrayPointer(ydot), u->sys->user);
}

/* Dense Jacobian column by column from the system's jvp. */
static int cv_jac_from_jvp(double t, N_Vector y, N_Vector fy, SUNMatrix J, void *user, N_Vector tmp1,
                           N_Vector tmp2, N_Vector tmp3)
{
    (void)fy;
    (void)tmp1;
    (void)tmp2;
    (void)tmp3;
    const ode_cv_user *u = user;
    const nexp_ode_system *sys = u->sys;
    double *e = u->work;
    memset(e, 0, (size_t)sys->n * sizeof *e);
    for (int j = 0; j < sys->n; j++) {
        e[j] = 1.0;
        int rc = sys->jvp(t, N_VGetArrayPointer(y), e, NULL, SUNDenseMatrix_Column(J, j), sys->user);
        e[j] = 0.0;
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int cv_jtimes_from_jvp(N_Vector v, N_Vector Jv, double t, N_Vector y, N_Vector fy, void *user, N_Vector tmp)
{
    (void)fy;
    (void)tmp;
    const ode_cv_user *u = user;
    return u->sys->jvp(t, N_VGetArrayPointer(y), N_VGetArrayPointer(v), NULL, N_VGetArrayPointer(Jv), u->sys->user);
}

static nexp_status cv_check(int flag, const char *call, nexp_error *err)
{
    if (flag < 0) {
        return nexp_error_set(err, NEXP_ERR_SOLVER, "CVODE: %s failed with flag %d", call, flag);
    }
    return NEXP_OK;
}

nexp_status ode_cvode_setup(void *cvode_mem, ode_cv_user *u, const nexp_ode_options *opt, N_Vector y,
                            SUNContext ctx, ode_cvode_parts *parts, ode_msg *msg, nexp_error *err)
{
    const nexp_ode_system *sys = u->sys;
    nexp_status st;
    memset(parts, 0, sizeof *parts);
    if ((st = cv_check(CVodeSetErrHandlerFn(cvode_mem, ode_error_handler, msg), "CVodeSetErrHandlerFn", err))) {
        return st;
    }
    if (opt->atol_vec != NULL) {
        parts->atol = N_VNew_Serial(sys->n, ctx);
        if (parts->atol == NULL) {
            return nexp_error_set(err, NEXP_ERR_NOMEM, "CVODE: out of memory");
        }
        memcpy(N_VGetArrayPointer(parts->atol), opt->atol_vec, (size_t)sys->n * sizeof(double));
        st = cv_check(CVodeSVtolerances(cvode_mem, opt->rtol, parts->atol), "CVodeSVtolerances", err);
    } else {
        st = cv_check(CVodeSStolerances(cvode_mem, opt->rtol, opt->atol), "CVodeSStolerances", err);
    }
    if (st != NEXP_OK || (st = cv_check(CVodeSetUserData(cvode_mem, u), "CVodeSetUserData", err)) ||
        (st = cv_check(CVodeSetMaxNumSteps(cvode_mem, opt->max_steps), "CVodeSetMaxNumSteps", err)) ||
        (st = cv_check(CVodeSetInitStep(cvode_mem, opt->h_init), "CVodeSetInitStep", err)) ||
        (st = cv_check(CVodeSetMaxStep(cvode_mem, opt->h_max), "CVodeSetMaxStep", err)) ||
        (st = cv_check(CVodeSetMaxHnilWarns(cvode_mem, -1), "CVodeSetMaxHnilWarns", err))) {
        return st;
    }
    switch (opt->linsol) {
    case NEXP_ODE_LS_DENSE:
        parts->mat = SUNDenseMatrix(sys->n, sys->n, ctx);
        parts->ls = parts->mat ? SUNLinSol_Dense(y, parts->mat, ctx) : NULL;
        if (parts->ls == NULL) {
            return nexp_error_set(err, NEXP_ERR_NOMEM, "CVODE: cannot create the dense linear solver");
        }
        if ((st = cv_check(CVodeSetLinearSolver(cvode_mem, parts->ls, parts->mat), "CVodeSetLinearSolver", err))) {
            return st;
        }
        if (sys->jvp != NULL) {
            return cv_check(CVodeSetJacFn(cvode_mem, cv_jac_from_jvp), "CVodeSetJacFn", err);
        }
        return NEXP_OK;
    case NEXP_ODE_LS_SPGMR:
        parts->ls = SUNLinSol_SPGMR(y, SUN_PREC_NONE, 0, ctx);
        if (parts->ls == NULL) {
            return nexp_error_set(err, NEXP_ERR_NOMEM, "CVODE: cannot create the SPGMR linear solver");
        }
        if ((st = cv_check(CVodeSetLinearSolver(cvode_mem, parts->ls, NULL), "CVodeSetLinearSolver", err))) {
            return st;
        }
        if (sys->jvp != NULL) {
            return cv_check(CVodeSetJacTimes(cvode_mem, NULL, cv_jtimes_from_jvp), "CVodeSetJacTimes", err);
        }
        return NEXP_OK;
    case NEXP_ODE_LS_FIXED_POINT:
        parts->nls = SUNNonlinSol_FixedPoint(y, 0, ctx);
        if (parts->nls == NULL) {
            return nexp_error_set(err, NEXP_ERR_NOMEM, "CVODE: cannot create the fixed-point solver");
        }
        return cv_check(CVodeSetNonlinearSolver(cvode_mem, parts->nls), "CVodeSetNonlinearSolver", err);
    }
    return nexp_error_set(err, NEXP_ERR_ARG, "CVODE: unknown linear solver %d", (int)opt->linsol);
}

void ode_cvode_parts_free(ode_cvode_parts *parts)
{
    if (parts->ls != NULL) {
        SUNLinSolFree(parts->ls);
    }
    if (parts->mat != NULL) {
        SUNMatDestroy(parts->mat);
    }
    if (parts->nls != NULL) {
        SUNNonlinSolFree(parts->nls);
    }
    if (parts->atol != NULL) {
        N_VDestroy(parts->atol);
    }
    memset(parts, 0, sizeof *parts);
}

void ode_cvode_add_stats(void *cvode_mem, nexp_ode_stats *st)
{
    long v = 0;
    double h = 0.0;
    if (CVodeGetNumSteps(cvode_mem, &v) == CV_SUCCESS) {
        st->steps += v;
    }
    if (CVodeGetNumRhsEvals(cvode_mem, &v) == CV_SUCCESS) {
        st->rhs_evals += v;
    }
    if (CVodeGetNumLinSolvSetups(cvode_mem, &v) == CV_SUCCESS) {
        st->lin_setups += v;
    }
    if (CVodeGetNumErrTestFails(cvode_mem, &v) == CV_SUCCESS) {
        st->err_test_fails += v;
    }
    if (CVodeGetNumNonlinSolvIters(cvode_mem, &v) == CV_SUCCESS) {
        st->nonlin_iters += v;
    }
    if (CVodeGetNumNonlinSolvConvFails(cvode_mem, &v) == CV_SUCCESS) {
        st->nonlin_fails += v;
    }
    if (CVodeGetNumJacEvals(cvode_mem, &v) == CV_SUCCESS) {
        st->jac_evals += v;
    }
    if (CVodeGetNumJtimesEvals(cvode_mem, &v) == CV_SUCCESS) {
        st->jac_evals += v;
    }
    if (CVodeGetLastStep(cvode_mem, &h) == CV_SUCCESS) {
        st->h_last = h;
    }
}

/* How solve_cvode and solve_erk advance to an output time and name a failure's flag. */
typedef struct ode_stepper {
    const char *who;
    int (*evolve)(void *mem, double tout, N_Vector y, double *tret, int itask);
    int itask;
    char *(*flag_name)(long int flag);
} ode_stepper;

static const ode_stepper cvode_stepper = { "CVODE", CVode, CV_NORMAL, CVodeGetReturnFlagName };
static const ode_stepper erk_stepper = { "ARKODE", ERKStepEvolve, ARK_NORMAL, ERKStepGetReturnFlagName };

/* Advances the solver mem (state y) to each output time t[i] and copies the n states into row i
 * of Y (y0 itself where t[i] == t0); a failure is reported with the solver's flag name and msg. */
static nexp_status ode_outputs(const ode_stepper *s, void *mem, double t0, const double *y0, int n, int nt,
                               const double *t, N_Vector y, double *Y, const ode_msg *msg, nexp_error *err)
{
    for (int i = 0; i < nt; i++) {
        if (t[i] == t0) {
            memcpy(Y + (size_t)i * n, y0, (size_t)n * sizeof(double));
            continue;
        }
        double tret = t0;
        int flag = s->evolve(mem, t[i], y, &tret, s->itask);
        if (flag < 0) {
            char *name = s->flag_name(flag);
            nexp_status st = ode_solver_error(err, s->who, name, tret, msg);
            free(name);
            return st;
        }
        memcpy(Y + (size_t)i * n, N_VGetArrayPointer(y), (size_t)n * sizeof(double));
    }
    return NEXP_OK;
}

static nexp_status solve_cvode(const nexp_ode_system *sys, const nexp_ode_options *opt, double t0, const double *y0,
                               int nt, const double *t, double *Y, nexp_ode_stats *stats, nexp_error *err)
{
    SUNContext ctx = NULL;
    N_Vector y = NULL;
    void *mem = NULL;
    ode_cvode_parts parts = { 0 };
    ode_msg msg = { { 0 } };
    ode_cv_user u = { sys, NULL };
    nexp_status st = NEXP_OK;
    const int n = sys->n;

    if (SUNContext_Create(NULL, &ctx) != 0) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "SUNDIALS: cannot create a context");
    }
    u.work = calloc((size_t)n + (size_t)sys->np + 1, sizeof(double));
    y = N_VNew_Serial(n, ctx);
    mem = CVodeCreate(opt->method == NEXP_ODE_ADAMS ? CV_ADAMS : CV_BDF, ctx);
    if (u.work == NULL || y == NULL || mem == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "CVODE: out of memory");
        goto done;
    }
    memcpy(N_VGetArrayPointer(y), y0, (size_t)n * sizeof(double));
    if ((st = cv_check(CVodeInit(mem, ode_cv_rhs, t0, y), "CVodeInit", err)) ||
        (st = ode_cvode_setup(mem, &u, opt, y, ctx, &parts, &msg, err))) {
        goto done;
    }
    st = ode_outputs(&cvode_stepper, mem, t0, y0, n, nt, t, y, Y, &msg, err);
done:
    if (stats != NULL && mem != NULL) {
        memset(stats, 0, sizeof *stats);
        ode_cvode_add_stats(mem, stats);
    }
    CVodeFree(&mem);
    ode_cvode_parts_free(&parts);
    if (y != NULL) {
        N_VDestroy(y);
    }
    free(u.work);
    SUNContext_Free(&ctx);
    return st;
}

static int erk_rhs(double t, N_Vector y, N_Vector ydot, void *user)
{
    const nexp_ode_system *sys = user;
    return sys->f(t, N_VGetArrayPointer(y), N_VGetArrayPointer(ydot), sys->user);
}

static nexp_status erk_check(int flag, const char *call, nexp_error *err)
{
    if (flag < 0) {
        return nexp_error_set(err, NEXP_ERR_SOLVER, "ARKODE: %s failed with flag %d", call, flag);
    }
    return NEXP_OK;
}

static nexp_status solve_erk(const nexp_ode_system *sys, const nexp_ode_options *opt, double t0, const double *y0,
                             int nt, const double *t, double *Y, nexp_ode_stats *stats, nexp_error *err)
{
    SUNContext ctx = NULL;
    N_Vector y = NULL, atol = NULL;
    void *mem = NULL;
    ode_msg msg = { { 0 } };
    nexp_status st = NEXP_OK;
    const int n = sys->n;
    const char *table = opt->erk_table ? opt->erk_table : DEFAULT_ERK_TABLE;

    if (SUNContext_Create(NULL, &ctx) != 0) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "SUNDIALS: cannot create a context");
    }
    y = N_VNew_Serial(n, ctx);
    if (y == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "ARKODE: out of memory");
        goto done;
    }
    memcpy(N_VGetArrayPointer(y), y0, (size_t)n * sizeof(double));
    mem = ERKStepCreate(erk_rhs, t0, y, ctx);
    if (mem == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "ARKODE: ERKStepCreate failed");
        goto done;
    }
    if ((st = erk_check(ERKStepSetErrHandlerFn(mem, ode_error_handler, &msg), "ERKStepSetErrHandlerFn", err))) {
        goto done;
    }
    if (!erk_table_known(table) || ERKStepSetTableName(mem, table) != ARK_SUCCESS) {
        st = nexp_error_set(err, NEXP_ERR_ARG, "ARKODE: unknown explicit Runge-Kutta table '%s'", table);
        goto done;
    }
    if (opt->atol_vec != NULL) {
        atol = N_VNew_Serial(n, ctx);
        if (atol == NULL) {
            st = nexp_error_set(err, NEXP_ERR_NOMEM, "ARKODE: out of memory");
            goto done;
        }
        memcpy(N_VGetArrayPointer(atol), opt->atol_vec, (size_t)n * sizeof(double));
        st = erk_check(ERKStepSVtolerances(mem, opt->rtol, atol), "ERKStepSVtolerances", err);
    } else {
        st = erk_check(ERKStepSStolerances(mem, opt->rtol, opt->atol), "ERKStepSStolerances", err);
    }
    if (st != NEXP_OK ||
        (st = erk_check(ERKStepSetUserData(mem, (void *)sys), "ERKStepSetUserData", err)) ||
        (st = erk_check(ERKStepSetMaxNumSteps(mem, opt->max_steps), "ERKStepSetMaxNumSteps", err)) ||
        (st = erk_check(ERKStepSetInitStep(mem, opt->h_init), "ERKStepSetInitStep", err)) ||
        (st = erk_check(ERKStepSetMaxStep(mem, opt->h_max), "ERKStepSetMaxStep", err)) ||
        (st = erk_check(ERKStepSetMaxHnilWarns(mem, -1), "ERKStepSetMaxHnilWarns", err))) {
        goto done;
    }
    st = ode_outputs(&erk_stepper, mem, t0, y0, n, nt, t, y, Y, &msg, err);
done:
    if (stats != NULL && mem != NULL) {
        long v = 0, v2 = 0;
        double h = 0.0;
        memset(stats, 0, sizeof *stats);
        if (ERKStepGetNumSteps(mem, &v) == ARK_SUCCESS) {
            stats->steps = v;
        }
        if (ERKStepGetNumRhsEvals(mem, &v) == ARK_SUCCESS) {
            stats->rhs_evals = v;
        }
        if (ERKStepGetNumErrTestFails(mem, &v2) == ARK_SUCCESS) {
            stats->err_test_fails = v2;
        }
        if (ERKStepGetLastStep(mem, &h) == ARK_SUCCESS) {
            stats->h_last = h;
        }
    }
    if (mem != NULL) {
        ERKStepFree(&mem);
    }
    if (atol != NULL) {
        N_VDestroy(atol);
    }
    if (y != NULL) {
        N_VDestroy(y);
    }
    SUNContext_Free(&ctx);
    return st;
}

nexp_status nexp_ode_solve(const nexp_ode_system *sys, const nexp_ode_options *opt, double t0, const double *y0,
                           int nt, const double *t, double *Y, nexp_ode_stats *stats, nexp_error *err)
{
    nexp_status st = ode_check_problem(sys, opt, t0, y0, nt, t, err);
    if (st != NEXP_OK) {
        return st;
    }
    if (Y == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "ode: no output array");
    }
    switch (opt->method) {
    case NEXP_ODE_BDF:
    case NEXP_ODE_ADAMS:
        return solve_cvode(sys, opt, t0, y0, nt, t, Y, stats, err);
    case NEXP_ODE_ERK:
        return solve_erk(sys, opt, t0, y0, nt, t, Y, stats, err);
    }
    return nexp_error_set(err, NEXP_ERR_ARG, "ode: unknown method %d", (int)opt->method);
}

nexp_status nexp_ode_method_parse(const char *name, nexp_ode_options *opt, nexp_error *err)
{
    if (name == NULL || opt == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "ode: no method name");
    }
    if (strcmp(name, "bdf") == 0) {
        opt->method = NEXP_ODE_BDF;
    } else if (strcmp(name, "adams") == 0) {
        opt->method = NEXP_ODE_ADAMS;
    } else if (strcmp(name, "dopri5") == 0) {
        opt->method = NEXP_ODE_ERK;
        opt->erk_table = DEFAULT_ERK_TABLE;
    } else if (strncmp(name, "erk:", 4) == 0 && name[4] != '\0') {
        opt->method = NEXP_ODE_ERK;
        opt->erk_table = name + 4;
    } else {
        return nexp_error_set(err, NEXP_ERR_ARG,
                              "unknown ODE method '%s' (expected bdf, adams, dopri5 or erk:<ARKODE table name>)",
                              name);
    }
    return NEXP_OK;
}
