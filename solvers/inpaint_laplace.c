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
 * of piecewise-constant aggregation. The hierarchy is in float, the CG vectors in double.
 *
 * Threads: the operator is shared and read-only; each channel has its own workspace. With at least
 * as many channels as threads (a flow field on 2 cores) the channels are solved concurrently, one per
 * thread, with serial loops inside (no barriers at all); otherwise one channel at a time with
 * parallel loops over rows. Every loop and every dot product (per-row partial sums, then a sum in
 * row order) gives the same bits for any thread count.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "nexp_inpaint.h"

#define MG_MIN_CELLS 16         /* stop coarsening at this many cells */
#define MG_PRE 2                /* red-black sweeps before the coarse correction */
#define MG_POST 2               /* and after */
#define MG_COARSE_SWEEPS 40     /* symmetric sweeps on the coarsest level */
#define MG_OMEGA 1.4f           /* coarse-correction scale */
#define MG_PARALLEL_MIN 16384   /* loops over fewer cells run on one thread */
#define MG_MAX_LEVELS 32

/* Parallel loops only for large levels and outside the channel-parallel region. */
#define PAR_IF(cells) if ((cells) > MG_PARALLEL_MIN && !omp_in_parallel())

typedef struct mg_level {
    int w, h;
    float *d;  /* (h, w) diagonal, 0 = inactive */
    float *we; /* (h, w) weight to the east neighbour (0 in the last column) */
    float *ws; /* (h, w) weight to the south neighbour (0 in the last row) */
} mg_level;

/* One channel's workspace. */
typedef struct mg_work {
    float *x[MG_MAX_LEVELS], *b[MG_MAX_LEVELS], *r[MG_MAX_LEVELS]; /* per level (h, w) */
    double *cg_x, *cg_b, *cg_r, *cg_z, *cg_p, *cg_q;                 /* (h, w) PCG vectors */
    double *row_sums;                                                /* (h) dot-product partials */
} mg_work;

#define MG_WORKS 4 /* channels solved concurrently at most */

struct nexp_laplace_plan {
    int width, height;
    int nlev;
    mg_level lev[MG_MAX_LEVELS];
    float *known; /* (h, w) 1 = known pixel */
    int nwork;
    mg_work work[MG_WORKS];
};

static size_t level_cells(const mg_level *l)
{
    return (size_t)l->w * (size_t)l->h;
}

/* y = A x on level 0, in double (the CG operator). */
static void apply_d(const mg_level *l, const double *x, double *y)
{
    const int w = l->w, h = l->h;
#pragma omp parallel for schedule(static) PAR_IF(level_cells(l))
    for (int j = 0; j < h; j++) {
        for (int i = 0; i < w; i++) {
            size_t k = (size_t)j * (size_t)w + (size_t)i;
            if (l->d[k] == 0.0f) {
                y[k] = 0.0;
                continue;
            }
            double s = (double)l->d[k] * x[k];
            if (i + 1 < w) {
                s -= (double)l->we[k] * x[k + 1];
            }
            if (i > 0) {
                s -= (double)l->we[k - 1] * x[k - 1];
            }
            if (j + 1 < h) {
                s -= (double)l->ws[k] * x[k + (size_t)w];
            }
            if (j > 0) {
                s -= (double)l->ws[k - (size_t)w] * x[k - (size_t)w];
            }
            y[k] = s;
        }
    }
}

/* r = b - A x on one level, in float (inside the preconditioner). */
static void level_residual(const mg_level *l, const float *x, const float *b, float *r)
{
    const int w = l->w, h = l->h;
#pragma omp parallel for schedule(static) PAR_IF(level_cells(l))
    for (int j = 0; j < h; j++) {
        for (int i = 0; i < w; i++) {
            size_t k = (size_t)j * (size_t)w + (size_t)i;
            if (l->d[k] == 0.0f) {
                r[k] = 0.0f;
                continue;
            }
            float s = b[k] - l->d[k] * x[k];
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
            r[k] = s;
        }
    }
}

/* Gauss-Seidel update of the cells with (x + y) % 2 == colour. */
static void level_sweep(const mg_level *l, float *x, const float *b, int colour)
{
    const int w = l->w, h = l->h;
#pragma omp parallel for schedule(static) PAR_IF(level_cells(l))
    for (int j = 0; j < h; j++) {
        for (int i = (j + colour) & 1; i < w; i += 2) {
            size_t k = (size_t)j * (size_t)w + (size_t)i;
            if (l->d[k] == 0.0f) {
                continue;
            }
            float s = b[k];
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
#pragma omp parallel for schedule(static) PAR_IF(level_cells(c))
    for (int J = 0; J < ch; J++) {
        for (int I = 0; I < cw; I++) {
            double d = 0.0, we = 0.0, ws = 0.0;
            for (int dy = 0; dy < 2 && 2 * J + dy < fh; dy++) {
                for (int dx = 0; dx < 2 && 2 * I + dx < fw; dx++) {
                    size_t k = (size_t)(2 * J + dy) * (size_t)fw + (size_t)(2 * I + dx);
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
            /* Exact zero for inactive cells (all weights are small integers, so d is exact). */
            c->d[K] = d > 0.5 ? (float)d : 0.0f;
            c->we[K] = I + 1 < cw ? (float)we : 0.0f;
            c->ws[K] = J + 1 < ch ? (float)ws : 0.0f;
        }
    }
}

/* x[li] = V-cycle approximation of A^-1 b[li] (x starts at 0). */
static void vcycle(const nexp_laplace_plan *p, mg_work *wk, int li)
{
    const mg_level *l = &p->lev[li];
    float *x = wk->x[li], *b = wk->b[li], *r = wk->r[li];
    memset(x, 0, level_cells(l) * sizeof(float));
    if (li == p->nlev - 1) {
        for (int s = 0; s < MG_COARSE_SWEEPS; s++) {
            level_sweep(l, x, b, 0);
            level_sweep(l, x, b, 1);
        }
        for (int s = 0; s < MG_COARSE_SWEEPS; s++) {
            level_sweep(l, x, b, 1);
            level_sweep(l, x, b, 0);
        }
        return;
    }
    for (int s = 0; s < MG_PRE; s++) {
        level_sweep(l, x, b, 0);
        level_sweep(l, x, b, 1);
    }
    level_residual(l, x, b, r);
    const mg_level *c = &p->lev[li + 1];
    float *cb = wk->b[li + 1], *cx = wk->x[li + 1];
    const int fw = l->w, fh = l->h, cw = c->w, ch = c->h;
#pragma omp parallel for schedule(static) PAR_IF(level_cells(l))
    for (int J = 0; J < ch; J++) {
        for (int I = 0; I < cw; I++) {
            float s = 0.0f;
            for (int dy = 0; dy < 2 && 2 * J + dy < fh; dy++) {
                for (int dx = 0; dx < 2 && 2 * I + dx < fw; dx++) {
                    s += r[(size_t)(2 * J + dy) * (size_t)fw + (size_t)(2 * I + dx)];
                }
            }
            cb[(size_t)J * (size_t)cw + (size_t)I] = s;
        }
    }
    vcycle(p, wk, li + 1);
#pragma omp parallel for schedule(static) PAR_IF(level_cells(l))
    for (int y = 0; y < fh; y++) {
        for (int xx = 0; xx < fw; xx++) {
            size_t k = (size_t)y * (size_t)fw + (size_t)xx;
            if (l->d[k] != 0.0f) {
                x[k] += MG_OMEGA * cx[(size_t)(y / 2) * (size_t)cw + (size_t)(xx / 2)];
            }
        }
    }
    for (int s = 0; s < MG_POST; s++) {
        level_sweep(l, x, b, 1);
        level_sweep(l, x, b, 0);
    }
}

static void work_free(mg_work *wk)
{
    for (int i = 0; i < MG_MAX_LEVELS; i++) {
        free(wk->x[i]);
        free(wk->b[i]);
        free(wk->r[i]);
    }
    free(wk->cg_x);
    free(wk->cg_b);
    free(wk->cg_r);
    free(wk->cg_z);
    free(wk->cg_p);
    free(wk->cg_q);
    free(wk->row_sums);
}

static int work_alloc(mg_work *wk, const nexp_laplace_plan *p)
{
    for (int i = 0; i < p->nlev; i++) {
        size_t n = level_cells(&p->lev[i]);
        wk->x[i] = calloc(n, sizeof(float));
        wk->b[i] = calloc(n, sizeof(float));
        wk->r[i] = calloc(n, sizeof(float));
        if (!wk->x[i] || !wk->b[i] || !wk->r[i]) {
            return -1;
        }
    }
    size_t n = (size_t)p->width * (size_t)p->height;
    wk->cg_x = malloc(n * sizeof(double));
    wk->cg_b = malloc(n * sizeof(double));
    wk->cg_r = malloc(n * sizeof(double));
    wk->cg_z = malloc(n * sizeof(double));
    wk->cg_p = malloc(n * sizeof(double));
    wk->cg_q = malloc(n * sizeof(double));
    wk->row_sums = malloc((size_t)p->height * sizeof(double));
    return (wk->cg_x && wk->cg_b && wk->cg_r && wk->cg_z && wk->cg_p && wk->cg_q && wk->row_sums) ? 0 : -1;
}

void nexp_laplace_plan_free(nexp_laplace_plan *plan)
{
    if (plan == NULL) {
        return;
    }
    for (int i = 0; i < plan->nlev; i++) {
        free(plan->lev[i].d);
        free(plan->lev[i].we);
        free(plan->lev[i].ws);
    }
    for (int i = 0; i < MG_WORKS; i++) {
        work_free(&plan->work[i]);
    }
    free(plan->known);
    free(plan);
}

static int level_alloc(mg_level *l, int w, int h)
{
    size_t n = (size_t)w * (size_t)h;
    l->w = w;
    l->h = h;
    l->d = calloc(n, sizeof(float));
    l->we = calloc(n, sizeof(float));
    l->ws = calloc(n, sizeof(float));
    return (l->d && l->we && l->ws) ? 0 : -1;
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
    if (p->known == NULL) {
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
            l0->d[k] = (float)deg;
            if (x + 1 < w && p->known[k + 1] == 0.0f) {
                l0->we[k] = 1.0f;
            }
            if (y + 1 < h && p->known[k + (size_t)w] == 0.0f) {
                l0->ws[k] = 1.0f;
            }
        }
    }
    while (p->nlev < MG_MAX_LEVELS) {
        const mg_level *f = &p->lev[p->nlev - 1];
        if (level_cells(f) <= MG_MIN_CELLS) {
            break;
        }
        mg_level *c = &p->lev[p->nlev];
        p->nlev++;
        if (level_alloc(c, (f->w + 1) / 2, (f->h + 1) / 2) != 0) {
            goto nomem;
        }
        level_coarsen(f, c);
    }
    int threads = omp_get_max_threads();
    p->nwork = threads < 1 ? 1 : (threads > MG_WORKS ? MG_WORKS : threads);
    for (int i = 0; i < p->nwork; i++) {
        if (work_alloc(&p->work[i], p) != 0) {
            goto nomem;
        }
    }
    *out = p;
    return NEXP_OK;
nomem:
    nexp_laplace_plan_free(p);
    return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory planning the Laplace solver for %d x %d", w, h);
}

/* a . b over (h, w) vectors: per-row partial sums, then a fixed-order sum, so the result does not
 * depend on the thread count. */
static double dot(const nexp_laplace_plan *p, mg_work *wk, const double *a, const double *b)
{
    const int w = p->width, h = p->height;
    double *part = wk->row_sums;
#pragma omp parallel for schedule(static) PAR_IF((size_t)w * (size_t)h)
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

/* b of channel c: the known neighbours' data, 0 at known pixels; x: u at unknown pixels, else 0. */
static void load_channel(const nexp_laplace_plan *p, const nexp_field *u, int c, double *b, double *x)
{
    const int w = p->width, h = p->height;
    const float *kn = p->known;
#pragma omp parallel for schedule(static) PAR_IF((size_t)w * (size_t)h)
    for (int y = 0; y < h; y++) {
        const float *row = nexp_field_row(u, c, y);
        for (int i = 0; i < w; i++) {
            size_t k = (size_t)y * (size_t)w + (size_t)i;
            double s = 0.0;
            if (kn[k] == 0.0f) {
                if (i > 0 && kn[k - 1] != 0.0f) {
                    s += row[i - 1];
                }
                if (i + 1 < w && kn[k + 1] != 0.0f) {
                    s += row[i + 1];
                }
                if (y > 0 && kn[k - (size_t)w] != 0.0f) {
                    s += nexp_field_row(u, c, y - 1)[i];
                }
                if (y + 1 < h && kn[k + (size_t)w] != 0.0f) {
                    s += nexp_field_row(u, c, y + 1)[i];
                }
            }
            b[k] = s;
            x[k] = kn[k] != 0.0f ? 0.0 : (double)row[i];
        }
    }
}

static double residual_with(const nexp_laplace_plan *p, mg_work *wk, const nexp_field *u, int c)
{
    const size_t n = (size_t)p->width * (size_t)p->height;
    load_channel(p, u, c, wk->cg_b, wk->cg_x);
    apply_d(&p->lev[0], wk->cg_x, wk->cg_q);
    for (size_t k = 0; k < n; k++) {
        wk->cg_r[k] = wk->cg_b[k] - wk->cg_q[k];
    }
    double rr = dot(p, wk, wk->cg_r, wk->cg_r), bb = dot(p, wk, wk->cg_b, wk->cg_b);
    return bb > 0.0 ? sqrt(rr / bb) : sqrt(rr);
}

double nexp_laplace_plan_residual(const nexp_laplace_plan *plan, const nexp_field *u, int c)
{
    return residual_with(plan, (mg_work *)&plan->work[0], u, c);
}

/* PCG on channel c of u with workspace wk; returns 0, or -1 (max_iter reached) / -2 (breakdown) and
 * the iterations and final relative residual of the float result. */
static int solve_channel(const nexp_laplace_plan *p, mg_work *wk, nexp_field *u, int c, double tol, int max_iter,
                         int *iters, double *rel)
{
    const int w = p->width, h = p->height;
    const size_t n = (size_t)w * (size_t)h;
    const mg_level *l0 = &p->lev[0];
    double *x = wk->cg_x, *b = wk->cg_b, *r = wk->cg_r, *z = wk->cg_z, *pp = wk->cg_p, *q = wk->cg_q;
    float *b0 = wk->b[0], *x0 = wk->x[0];
    load_channel(p, u, c, b, x);
    double bnorm = sqrt(dot(p, wk, b, b));
    apply_d(l0, x, q);
    for (size_t k = 0; k < n; k++) {
        r[k] = b[k] - q[k];
    }
    double rnorm = sqrt(dot(p, wk, r, r));
    if (bnorm == 0.0) {
        memset(x, 0, n * sizeof(double));
        rnorm = 0.0;
    }
    int it = 0, status = 0;
    double rz = 0.0;
    /* Half the tolerance in double, so that the float result (rounding adds ~3e-7) meets tol. */
    while (rnorm > 0.5 * tol * bnorm) {
        if (it == max_iter) {
            status = -1;
            break;
        }
#pragma omp parallel for schedule(static) PAR_IF(n)
        for (size_t k = 0; k < n; k++) {
            b0[k] = (float)r[k];
        }
        vcycle(p, wk, 0);
        double rz_new = 0.0;
#pragma omp parallel for schedule(static) PAR_IF(n)
        for (size_t k = 0; k < n; k++) {
            z[k] = (double)x0[k];
        }
        rz_new = dot(p, wk, r, z);
        if (it == 0) {
            memcpy(pp, z, n * sizeof(double));
        } else {
            double beta = rz_new / rz;
#pragma omp parallel for schedule(static) PAR_IF(n)
            for (size_t k = 0; k < n; k++) {
                pp[k] = z[k] + beta * pp[k];
            }
        }
        rz = rz_new;
        apply_d(l0, pp, q);
        double pq = dot(p, wk, pp, q);
        if (!(pq > 0.0)) {
            status = -2;
            break;
        }
        double alpha = rz / pq;
#pragma omp parallel for schedule(static) PAR_IF(n)
        for (size_t k = 0; k < n; k++) {
            x[k] += alpha * pp[k];
            r[k] -= alpha * q[k];
        }
        rnorm = sqrt(dot(p, wk, r, r));
        it++;
    }
    for (int y = 0; y < h; y++) {
        float *row = nexp_field_row(u, c, y);
        for (int i = 0; i < w; i++) {
            size_t k = (size_t)y * (size_t)w + (size_t)i;
            if (p->known[k] == 0.0f) {
                row[i] = (float)x[k];
            }
        }
    }
    *iters = it;
    *rel = status == 0 ? residual_with(p, wk, u, c) : (bnorm > 0.0 ? rnorm / bnorm : 0.0);
    return status;
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
    nexp_laplace_info inf = { 0, 0.0, p->nlev };
    int threads = omp_get_max_threads();
    int batch = (threads > 1 && u->channels >= 2) ? (threads < p->nwork ? threads : p->nwork) : 1;
    int iters[NEXP_FIELD_MAX_CHANNELS];
    int status[NEXP_FIELD_MAX_CHANNELS];
    double rel[NEXP_FIELD_MAX_CHANNELS];
    for (int c0 = 0; c0 < u->channels; c0 += batch) {
        int nb = u->channels - c0 < batch ? u->channels - c0 : batch;
#pragma omp parallel for schedule(static, 1) num_threads(nb) if (nb > 1)
        for (int i = 0; i < nb; i++) {
            status[c0 + i] = solve_channel(p, &p->work[i], u, c0 + i, tol, max_iter, &iters[c0 + i], &rel[c0 + i]);
        }
    }
    for (int c = 0; c < u->channels; c++) {
        if (status[c] == -1) {
            return nexp_error_set(err, NEXP_ERR_SOLVER,
                                  "Laplace solver: relative residual %.3g after %d iterations (channel %d, "
                                  "tolerance %.3g)",
                                  rel[c], iters[c], c, tol);
        }
        if (status[c] == -2) {
            return nexp_error_set(err, NEXP_ERR_SOLVER, "Laplace solver broke down at iteration %d (channel %d)",
                                  iters[c], c);
        }
        inf.iterations = iters[c] > inf.iterations ? iters[c] : inf.iterations;
        inf.rel_residual = rel[c] > inf.rel_residual ? rel[c] : inf.rel_residual;
    }
    if (info != NULL) {
        *info = inf;
    }
    return NEXP_OK;
}
