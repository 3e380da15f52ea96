/* ode_internal.h — shared pieces of the SUNDIALS drivers (solvers/ode*.c); not installed. */
#ifndef NEXP_ODE_INTERNAL_H
#define NEXP_ODE_INTERNAL_H

#include <sundials/sundials_context.h>
#include <sundials/sundials_nvector.h>

#include "nexp_ode.h"

/* CVODE user data of every driver: the system and a scratch vector of np + n doubles. */
typedef struct ode_cv_user {
    const nexp_ode_system *sys;
    double *work;
} ode_cv_user;

/* Last message SUNDIALS reported through its error handler (instead of printing it). */
typedef struct ode_msg {
    char text[320];
} ode_msg;

/* SUNDIALS error-handler shape (CVErrHandlerFn / ARKErrHandlerFn); eh_data is an ode_msg. */
void ode_error_handler(int error_code, const char *module, const char *function, char *msg, void *eh_data);

/* Validates the system, options and output times shared by every driver. */
nexp_status ode_check_problem(const nexp_ode_system *sys, const nexp_ode_options *opt, double t0, const double *y0,
                              int nt, const double *t, nexp_error *err);

/* NEXP_ERR_SOLVER with "<who>: <flag name> at t = ..: <message>". */
nexp_status ode_solver_error(nexp_error *err, const char *who, const char *flag_name, double t, const ode_msg *m);

/* The CVODE setup both the plain solve and the gradient drivers use: tolerances, max steps, steps
 * sizes, error handler, linear/nonlinear solver per opt. *ls, *mat and *nls receive objects the
 * caller frees after CVodeFree. */
typedef struct ode_cvode_parts {
    SUNMatrix mat;
    SUNLinearSolver ls;
    SUNNonlinearSolver nls;
    N_Vector atol;
} ode_cvode_parts;

nexp_status ode_cvode_setup(void *cvode_mem, ode_cv_user *u, const nexp_ode_options *opt, N_Vector y,
                            SUNContext ctx, ode_cvode_parts *parts, ode_msg *msg, nexp_error *err);
void ode_cvode_parts_free(ode_cvode_parts *parts);
/* CVODE's statistics added into *st. */
void ode_cvode_add_stats(void *cvode_mem, nexp_ode_stats *st);

/* The CVODE right-hand side wrapping sys (user data: an ode_cv_user). */
int ode_cv_rhs(double t, N_Vector y, N_Vector ydot, void *user);

#endif
