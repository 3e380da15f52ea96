/* Homogeneous diffusion inpainting, fast solver: the Laplace equation on the unknown pixels,
 *   A u = b,  (A u)_i = sum_{j ~ i} (u_i - u_j) over in-domain 4-neighbours j (reflecting boundary),
 * with the known neighbours moved to b. A is symmetric positive definite once one pixel is known.
 * Conjugate gradients, preconditioned by one symmetric multigrid V-cycle.
 *
 * The hierarchy is aggregation multigrid: coarse cell I aggregates the unknown pixels of its 2 x 2
 * children, P is piecewise constant and the coarse operator is the Galerkin product P^T A P. For a
 * 5-point operator written as a weighted graph Laplacian plus a Dirichlet diagonal,
 *   (A u)_i = d_i u_i - sum_j w_ij u_j,   d_i = sum_j w_ij + k_i,
 * the product is again of this form: w_IJ = sum of fine weights between the children of I and J
 * (only 4-neighbour cells are coupled), and d_I = sum of the children's d minus twice the weights
 * inside I. Known pixels (and cells without unknown children) are inactive: d = 0. The smoother is
 * red-black Gauss-Seidel (pre: red, black; post: black, red), so the V-cycle is symmetric and serves
 * as a CG preconditioner; the coarse correction is scaled by MG_OMEGA, the usual over-correction
 * of piecewise-constant aggregation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nexp_inpaint.h"

#define MG_MIN_CELLS 16     /* stop coarsening at this many cells */
#define MG_PRE 1            /* red-black sweeps before the coarse correction */
#define MG_POST 1           /* and after */
#define MG_COARSE_SWEEPS 40 /* symmetric sweeps on the coarsest level */
#define MG_OMEGA 1.6        /* coarse-correction scale */

typedef struct mg_level {
    int w, h;
    double *d;  /* (h, w) diagonal, 0 = inactive */
    double *we; /* (h, w) weight to the east neighbour (0 in the last column) */
    double *ws; /* (h, w) weight to the south neighbour (0 in the last row) */
    double *x;  /* (h, w) correction */
    double *b;  /* (h, w) right-hand side */
    double *r;  /* (h, w) residual */
} mg_level;

struct nexp_laplace_plan {
    int width, height;
    int nlev;
    mg_level lev[32];
    float *known;       /* (h, w) 1 = known pixel */
    double *cg_x, *cg_b, *cg_r, *cg_z, *cg_p, *cg_q; /* (h, w) PCG vectors on level 0 */
    double *row_sums;   /* (h) partial sums of dot products */
};

static void level_free(mg_level *l)
{
    free(l->d);
    free(l->we);
    free(l->ws);
    free(l->x);
    free(l->b);
    free(l->r);
}

static int level_alloc(mg_level *l, int w, int h)
{
    size_t n = (size_t)w * (size_t)h;
    l->w = w;
    l->h = h;
    l->d = calloc(n, sizeof(double));
    l->we = calloc(n, sizeof(double));
    l->ws = calloc(n, sizeof(double));
    l->x = calloc(n, sizeof(double));
    l->b = calloc(n, sizeof(double));
    l->r = calloc(n, sizeof(double));
    return (l->d && l->we && l->ws && l->x && l->b && l->r) ? 0 : -1;
}

/* y = A x on one level. */
static void level_apply(const mg_level *l, const double *x, double *y)
{
    const int w = l->w, h = l->h;
#pragma omp parallel for schedule(static)
    for (int j = 0; j < h; j++) {
        for (int i = 0; i < w; i++) {
            size_t k = (size_t)j * (size_t)w + (size_t)i;
            if (l->d[k] == 0.0) {
                y[k] = 0.0;
                continue;
            }
            double s = l->d[k] * x[k];
            if (i + 1 < w) {
                s -= l->we[k] * x[k + 1];
            }
            if (i > 0) {
                s -= l->we[k - 1] * x[k - 1];
            }
            if (j + 1 < h) {
                s -= l->ws[k] * x[k + (size_t)w];
            }
            if (j > 0) {
                s -= l->ws[k - (size_t)w] * x[k - (size_t)w];
            }
            y[k] = s;
        }
    }
}

/* r = b - A x. */
static void level_residual(mg_level *l)
{
    level_apply(l, l->x, l->r);
    size_t n = (size_t)l->w * (size_t)l->h;
#pragma omp parallel for schedule(static)
    for (size_t k = 0; k < n; k++) {
        l->r[k] = l->b[k] - l->r[k];
    }
}

/* Gauss-Seidel update of the pixels with (x + y) % 2 == colour. */
static void level_sweep(mg_level *l, int colour)
{
    const int w = l->w, h = l->h;
    double *x = l->x;
#pragma omp parallel for schedule(static)
    for (int j = 0; j < h; j++) {
        for (int i = (j + colour) & 1; i < w; i += 2) {
            size_t k = (size_t)j * (size_t)w + (size_t)i;
            if (l->d[k] == 0.0) {
                continue;
            }
            double s = l->b[k];
            if (i + 1 < w) {
                s += l->we[k] * x[k + 1];
            }
            if (i > 0) {
                s += l->we[k - 1] * x[k - 1];
            }
            if (j + 1 < h) {
                s += l->ws[k] * x[k + (size_t)w];
            }
            if (j > 0) {
                s += l->ws[k - (size_t)w] * x[k - (size_t)w];
            }
            x[k] = s / l->d[k];
        }
    }
}

/* Galerkin coarsening of f into c (already allocated with the halved size). */
static void level_coarsen(const mg_level *f, mg_level *c)
{
    const int fw = f->w, fh = f->h, cw = c->w, ch = c->h;
#pragma omp parallel for schedule(static)
    for (int J = 0; J < ch; J++) {
        for (int I = 0; I < cw; I++) {
            double d = 0.0, we = 0.0, ws = 0.0;
            for (int dy = 0; dy < 2; dy++) {
                int y = 2 * J + dy;
                if (y >= fh) {
                    continue;
                }
                for (int dx = 0; dx < 2; dx++) {
                    int x = 2 * I + dx;
                    if (x >= fw) {
                        continue;
                    }
                    size_t k = (size_t)y * (size_t)fw + (size_t)x;
                    d += f->d[k];
                    /* east edge: inside the cell when dx == 0, to the next cell when dx == 1 */
                    if (dx == 0) {
                        d -= 2.0 * f->we[k];
                    } else {
                        we += f->we[k];
                    }
                    if (dy == 0) {
                        d -= 2.0 * f->ws[k];
                    } else {
                        ws += f->ws[k];
                    }
                }
            }
            size_t K = (size_t)J * (size_t)cw + (size_t)I;
            /* Exact zero for inactive cells; rounding cannot make an active diagonal vanish because
             * every active aggregate touches a known pixel or a neighbour cell. */
            c->d[K] = d > 1e-12 ? d : 0.0;
            c->we[K] = I + 1 < cw ? we : 0.0;
            c->ws[K] = J + 1 < ch ? ws : 0.0;
        }
    }
}

static void vcycle(nexp_laplace_plan *p, int li)
{
    mg_level *l = &p->lev[li];
    size_t n = (size_t)l->w * (size_t)l->h;
    memset(l->x, 0, n * sizeof(double));
    if (li == p->nlev - 1) {
        for (int s = 0; s < MG_COARSE_SWEEPS; s++) {
            level_sweep(l, 0);
            level_sweep(l, 1);
        }
        for (int s = 0; s < MG_COARSE_SWEEPS; s++) {
            level_sweep(l, 1);
            level_sweep(l, 0);
        }
        return;
    }
    for (int s = 0; s < MG_PRE; s++) {
        level_sweep(l, 0);
        level_sweep(l, 1);
    }
    level_residual(l);
    mg_level *c = &p->lev[li + 1];
    const int fw = l->w, fh = l->h, cw = c->w, ch = c->h;
#pragma omp parallel for schedule(static)
    for (int J = 0; J < ch; J++) {
        for (int I = 0; I < cw; I++) {
            double s = 0.0;
            for (int dy = 0; dy < 2 && 2 * J + dy < fh; dy++) {
                for (int dx = 0; dx < 2 && 2 * I + dx < fw; dx++) {
                    s += l->r[(size_t)(2 * J + dy) * (size_t)fw + (size_t)(2 * I + dx)];
                }
            }
            c->b[(size_t)J * (size_t)cw + (size_t)I] = s;
        }
    }
    vcycle(p, li + 1);
#pragma omp parallel for schedule(static)
    for (int y = 0; y < fh; y++) {
        for (int x = 0; x < fw; x++) {
            size_t k = (size_t)y * (size_t)fw + (size_t)x;
            if (l->d[k] != 0.0) {
                l->x[k] += MG_OMEGA * c->x[(size_t)(y / 2) * (size_t)cw + (size_t)(x / 2)];
            }
        }
    }
    for (int s = 0; s < MG_POST; s++) {
        level_sweep(l, 1);
        level_sweep(l, 0);
    }
}

void nexp_laplace_plan_free(nexp_laplace_plan *plan)
{
    if (plan == NULL) {
        return;
    }
    for (int i = 0; i < plan->nlev; i++) {
        level_free(&plan->lev[i]);
    }
    free(plan->known);
    free(plan->cg_x);
    free(plan->cg_b);
    free(plan->cg_r);
    free(plan->cg_z);
    free(plan->cg_p);
    free(plan->cg_q);
    free(plan->row_sums);
    free(plan);
}

nexp_status nexp_laplace_plan_create(nexp_laplace_plan **out, const nexp_field *known, nexp_error *err)
{
    *out = NULL;
    if (known == NULL || known->channels != 1) {
        return nexp_error_set(err, NEXP_ERR_ARG, "known mask must be a 1-channel field, got %d channels",
                              known ? known->channels : 0);
    }
    const int w = known->width, h = known->height;
    nexp_laplace_plan *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory planning the Laplace solver");
    }
    p->width = w;
    p->height = h;
    size_t n = (size_t)w * (size_t)h;
    p->known = malloc(n * sizeof(float));
    p->cg_x = malloc(n * sizeof(double));
    p->cg_b = malloc(n * sizeof(double));
    p->cg_r = malloc(n * sizeof(double));
    p->cg_z = malloc(n * sizeof(double));
    p->cg_p = malloc(n * sizeof(double));
    p->cg_q = malloc(n * sizeof(double));
    p->row_sums = malloc((size_t)h * sizeof(double));
    if (!p->known || !p->cg_x || !p->cg_b || !p->cg_r || !p->cg_z || !p->cg_p || !p->cg_q || !p->row_sums) {
        goto nomem;
    }
    size_t nknown = 0;
    for (int y = 0; y < h; y++) {
        const float *row = nexp_field_row(known, 0, y);
        for (int x = 0; x < w; x++) {
            float k = row[x] != 0.0f ? 1.0f : 0.0f;
            p->known[(size_t)y * (size_t)w + (size_t)x] = k;
            nknown += k != 0.0f;
        }
    }
    if (nknown == 0) {
        nexp_laplace_plan_free(p);
        return nexp_error_set(err, NEXP_ERR_EMPTY, "the mask has no known pixel (%d x %d, all zero)", w, h);
    }
    p->nlev = 1;
    if (level_alloc(&p->lev[0], w, h) != 0) {
        goto nomem;
    }
    mg_level *l0 = &p->lev[0];
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            size_t k = (size_t)y * (size_t)w + (size_t)x;
            if (p->known[k] != 0.0f) {
                continue;
            }
            int deg = (x > 0) + (x + 1 < w) + (y > 0) + (y + 1 < h);
            l0->d[k] = (double)deg;
            if (x + 1 < w && p->known[k + 1] == 0.0f) {
                l0->we[k] = 1.0;
            }
            if (y + 1 < h && p->known[k + (size_t)w] == 0.0f) {
                l0->ws[k] = 1.0;
            }
        }
    }
    while (p->nlev < 32) {
        const mg_level *f = &p->lev[p->nlev - 1];
        if ((size_t)f->w * (size_t)f->h <= MG_MIN_CELLS || (f->w == 1 && f->h == 1)) {
            break;
        }
        mg_level *c = &p->lev[p->nlev];
        if (level_alloc(c, (f->w + 1) / 2, (f->h + 1) / 2) != 0) {
            p->nlev++;
            goto nomem;
        }
        level_coarsen(f, c);
        p->nlev++;
    }
    *out = p;
    return NEXP_OK;
nomem:
    nexp_laplace_plan_free(p);
    return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory planning the Laplace solver for %d x %d", w, h);
}

/* a . b over (h, w) vectors: per-row partial sums in parallel, then a fixed-order sum, so the result
 * does not depend on the thread count. */
static double dot(const nexp_laplace_plan *p, const double *a, const double *b)
{
    const int w = p->width, h = p->height;
    double *part = p->row_sums;
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++) {
        const double *ar = a + (size_t)y * (size_t)w, *br = b + (size_t)y * (size_t)w;
        double s = 0.0;
        for (int x = 0; x < w; x++) {
            s += ar[x] * br[x];
        }
        part[y] = s;
    }
    double s = 0.0;
    for (int y = 0; y < h; y++) {
        s += part[y];
    }
    return s;
}

/* b of channel c: the known neighbours' data, 0 at known pixels. */
static void build_rhs(const nexp_laplace_plan *p, const nexp_field *u, int c, double *b)
{
    const int w = p->width, h = p->height;
    const float *kn = p->known;
#pragma omp parallel for schedule(static)
    for (int y = 0; y < h; y++) {
        const float *row = nexp_field_row(u, c, y);
        for (int x = 0; x < w; x++) {
            size_t k = (size_t)y * (size_t)w + (size_t)x;
            double s = 0.0;
            if (kn[k] == 0.0f) {
                if (x > 0 && kn[k - 1] != 0.0f) {
                    s += row[x - 1];
                }
                if (x + 1 < w && kn[k + 1] != 0.0f) {
                    s += row[x + 1];
                }
                if (y > 0 && kn[k - (size_t)w] != 0.0f) {
                    s += nexp_field_row(u, c, y - 1)[x];
                }
                if (y + 1 < h && kn[k + (size_t)w] != 0.0f) {
                    s += nexp_field_row(u, c, y + 1)[x];
                }
            }
            b[k] = s;
        }
    }
}

double nexp_laplace_plan_residual(const nexp_laplace_plan *plan, const nexp_field *u, int c)
{
    nexp_laplace_plan *p = (nexp_laplace_plan *)plan;
    const int w = p->width, h = p->height;
    size_t n = (size_t)w * (size_t)h;
    mg_level *l0 = &p->lev[0];
    build_rhs(p, u, c, p->cg_b);
    for (int y = 0; y < h; y++) {
        const float *row = nexp_field_row(u, c, y);
        for (int x = 0; x < w; x++) {
            size_t k = (size_t)y * (size_t)w + (size_t)x;
            p->cg_x[k] = p->known[k] != 0.0f ? 0.0 : (double)row[x];
        }
    }
    level_apply(l0, p->cg_x, p->cg_q);
    double rr = 0.0, bb = 0.0;
    for (size_t k = 0; k < n; k++) {
        double r = p->cg_b[k] - p->cg_q[k];
        rr += r * r;
        bb += p->cg_b[k] * p->cg_b[k];
    }
    return bb > 0.0 ? sqrt(rr / bb) : sqrt(rr);
}

nexp_status nexp_laplace_plan_solve(nexp_laplace_plan *p, nexp_field *u, double tol, int max_iter,
                                    nexp_laplace_info *info, nexp_error *err)
{
    if (u->width != p->width || u->height != p->height) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "field is %d x %d but the Laplace plan is for %d x %d",
                              u->width, u->height, p->width, p->height);
    }
    if (!(tol > 0.0) || max_iter < 1) {
        return nexp_error_set(err, NEXP_ERR_ARG, "tolerance %g must be > 0 and max_iter %d >= 1", tol, max_iter);
    }
    const int w = p->width, h = p->height;
    const size_t n = (size_t)w * (size_t)h;
    mg_level *l0 = &p->lev[0];
    double *x = p->cg_x, *b = p->cg_b, *r = p->cg_r, *z = p->cg_z, *pp = p->cg_p, *q = p->cg_q;
    nexp_laplace_info inf = { 0, 0.0, p->nlev };
    for (int c = 0; c < u->channels; c++) {
        build_rhs(p, u, c, b);
        for (int y = 0; y < h; y++) {
            const float *row = nexp_field_row(u, c, y);
            for (int xx = 0; xx < w; xx++) {
                size_t k = (size_t)y * (size_t)w + (size_t)xx;
                x[k] = p->known[k] != 0.0f ? 0.0 : (double)row[xx];
            }
        }
        double bnorm = sqrt(dot(p, b, b));
        level_apply(l0, x, q);
        for (size_t k = 0; k < n; k++) {
            r[k] = b[k] - q[k];
        }
        double rnorm = sqrt(dot(p, r, r));
        int it = 0;
        if (bnorm == 0.0) {
            memset(x, 0, n * sizeof(double));
            rnorm = 0.0;
        }
        double rz = 0.0;
        /* Half the tolerance in double, so that the float result (rounding adds ~3e-7) meets tol. */
        while (rnorm > 0.5 * tol * bnorm) {
            if (it == max_iter) {
                return nexp_error_set(err, NEXP_ERR_SOLVER,
                                      "Laplace solver: relative residual %.3g after %d iterations "
                                      "(channel %d, tolerance %.3g)",
                                      rnorm / bnorm, it, c, tol);
            }
            memcpy(l0->b, r, n * sizeof(double));
            vcycle(p, 0);
            memcpy(z, l0->x, n * sizeof(double));
            double rz_new = dot(p, r, z);
            if (it == 0) {
                memcpy(pp, z, n * sizeof(double));
            } else {
                double beta = rz_new / rz;
#pragma omp parallel for schedule(static)
                for (size_t k = 0; k < n; k++) {
                    pp[k] = z[k] + beta * pp[k];
                }
            }
            rz = rz_new;
            level_apply(l0, pp, q);
            double pq = dot(p, pp, q);
            if (!(pq > 0.0)) {
                return nexp_error_set(err, NEXP_ERR_SOLVER,
                                      "Laplace solver broke down at iteration %d (p'Ap = %g, channel %d)", it, pq,
                                      c);
            }
            double alpha = rz / pq;
#pragma omp parallel for schedule(static)
            for (size_t k = 0; k < n; k++) {
                x[k] += alpha * pp[k];
                r[k] -= alpha * q[k];
            }
            rnorm = sqrt(dot(p, r, r));
            it++;
        }
        for (int y = 0; y < h; y++) {
            float *row = nexp_field_row(u, c, y);
            for (int xx = 0; xx < w; xx++) {
                size_t k = (size_t)y * (size_t)w + (size_t)xx;
                if (p->known[k] == 0.0f) {
                    row[xx] = (float)x[k];
                }
            }
        }
        double rel = nexp_laplace_plan_residual(p, u, c);
        if (it > inf.iterations) {
            inf.iterations = it;
        }
        if (rel > inf.rel_residual) {
            inf.rel_residual = rel;
        }
    }
    if (info != NULL) {
        *info = inf;
    }
    return NEXP_OK;
}
