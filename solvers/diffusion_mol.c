/* Method of lines: du/dt = A u integrated by CVODE (BDF, Newton with matrix-free SPGMR, Jv = A v).
 * Nonlinear models freeze the tensor for one cycle at a time (tensor updated at each cycle start). */
#include <cvode/cvode.h>
#include <math.h>
#include <nvector/nvector_serial.h>
#include <stdlib.h>
#include <string.h>
#include <sundials/sundials_context.h>
#include <sunlinsol/sunlinsol_spgmr.h>

#include "diffusion_internal.h"

typedef struct mol_data {
    nexp_diffusion_plan *p;
    const uint8_t *known;
    float *in, *out; /* float planes (the plan's layout) for the stencil */
    long evals;
} mol_data;

/* y (C, H, W) contiguous doubles -> float planes at the plan's stride. */
static void to_planes(const mol_data *d, const double *y, float *f)
{
    const nexp_grid g = d->p->g;
    const int C = d->p->channels;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < C * g.h; r++) {
        const int c = r / g.h, yy = r % g.h;
        const double *src = y + (size_t)r * g.w;
        float *dst = f + (size_t)c * d->p->plane + (size_t)yy * g.stride;
        for (int x = 0; x < g.w; x++) {
            dst[x] = (float)src[x];
        }
    }
}

/* out = A(in) as doubles, zero at known pixels. */
static void op(mol_data *d, const double *v, double *av)
{
    const nexp_grid g = d->p->g;
    const int C = d->p->channels;
    to_planes(d, v, d->in);
    nexp_stencil_apply_op(g, d->p->dw->w, C, d->p->plane, d->in, d->out, 0, g.h);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < C * g.h; r++) {
        const int c = r / g.h, yy = r % g.h;
        const float *src = d->out + (size_t)c * d->p->plane + (size_t)yy * g.stride;
        const uint8_t *kn = d->known ? d->known + (size_t)yy * g.stride : NULL;
        double *dst = av + (size_t)r * g.w;
        for (int x = 0; x < g.w; x++) {
            dst[x] = kn != NULL && kn[x] ? 0.0 : (double)src[x];
        }
    }
    d->evals++;
}

static int rhs(sunrealtype t, N_Vector y, N_Vector ydot, void *user)
{
    (void)t;
    op((mol_data *)user, N_VGetArrayPointer(y), N_VGetArrayPointer(ydot));
    return 0;
}

static int jtv(N_Vector v, N_Vector Jv, sunrealtype t, N_Vector y, N_Vector fy, void *user, N_Vector tmp)
{
    (void)t;
    (void)y;
    (void)fy;
    (void)tmp;
    op((mol_data *)user, N_VGetArrayPointer(v), N_VGetArrayPointer(Jv));
    return 0;
}

nexp_status nexp_diffusion_mol(nexp_diffusion_plan *p, nexp_field *u, nexp_diffusion_run *run, int cycles,
                               int nonlinear, nexp_error *err)
{
    const nexp_grid g = p->g;
    const int C = p->channels;
    const sunindextype n = (sunindextype)C * g.h * g.w;
    const double T = p->prm.time;
    nexp_status st = NEXP_OK;
    SUNContext ctx = NULL;
    N_Vector y = NULL;
    SUNLinearSolver ls = NULL;
    void *cv = NULL;
    mol_data d = { p, run ? run->known : NULL, u->data, p->tmp->data, 0 };
    long steps = 0;
    double *ya = NULL;
    if (SUNContext_Create(NULL, &ctx) != 0) {
        return nexp_error_set(err, NEXP_ERR_SOLVER, "SUNDIALS context creation failed");
    }
    y = N_VNew_Serial(n, ctx);
    if (y == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory for a CVODE state of %ld values", (long)n);
        goto done;
    }
    ya = N_VGetArrayPointer(y);
    for (int c = 0; c < C; c++) {
        for (int yy = 0; yy < g.h; yy++) {
            const float *src = nexp_field_row(u, c, yy);
            double *dst = ya + ((size_t)c * g.h + yy) * g.w;
            for (int x = 0; x < g.w; x++) {
                dst[x] = src[x];
            }
        }
    }
    cv = CVodeCreate(CV_BDF, ctx);
    ls = SUNLinSol_SPGMR(y, SUN_PREC_NONE, 30, ctx);
    if (cv == NULL || ls == NULL || CVodeInit(cv, rhs, 0.0, y) != CV_SUCCESS ||
        CVodeSStolerances(cv, p->prm.rtol, p->prm.atol) != CV_SUCCESS || CVodeSetUserData(cv, &d) != CV_SUCCESS ||
        CVodeSetLinearSolver(cv, ls, NULL) != CV_SUCCESS || CVodeSetJacTimes(cv, NULL, jtv) != CV_SUCCESS ||
        CVodeSetMaxNumSteps(cv, 1000000) != CV_SUCCESS) {
        st = nexp_error_set(err, NEXP_ERR_SOLVER, "CVODE setup failed");
        goto done;
    }
    const double theta = T / cycles;
    for (int m = 0; m < cycles; m++) {
        const double t0 = theta * m, t1 = (m + 1 == cycles) ? T : theta * (m + 1);
        if (nonlinear) {
            to_planes(&d, ya, d.in);
            st = nexp_diffusion_tensor_from(p, d.in, C, p->plane, p->smooth, err);
            if (st != NEXP_OK) {
                goto done;
            }
            if (CVodeReInit(cv, t0, y) != CV_SUCCESS) {
                st = nexp_error_set(err, NEXP_ERR_SOLVER, "CVODE reinitialisation failed at t = %g", t0);
                goto done;
            }
        }
        CVodeSetStopTime(cv, t1);
        double t = t0;
        while (t < t1 * (1.0 - 1e-12)) {
            int flag = CVode(cv, t1, y, &t, CV_ONE_STEP);
            if (flag < 0) {
                st = nexp_error_set(err, NEXP_ERR_SOLVER, "CVODE failed at t = %g with flag %d (%s)", t, flag,
                                    CVodeGetReturnFlagName(flag));
                goto done;
            }
            steps++;
            if (run != NULL && run->progress != NULL && run->progress(t, T, run->user) != 0) {
                st = nexp_error_set(err, NEXP_ERR_INTERRUPTED, "diffusion interrupted at t = %g of %g", t, T);
                goto done;
            }
        }
    }
done:
    if (ya != NULL) {
        to_planes(&d, ya, u->data);
    }
    if (run != NULL) {
        run->steps = steps;
        run->cycles = cycles;
        run->rhs_evals = d.evals;
    }
    CVodeFree(&cv);
    SUNLinSolFree(ls);
    N_VDestroy(y);
    SUNContext_Free(&ctx);
    return st;
}
