/* Diffusion benchmark: mega-pixel-steps per second of the delta-stencil kernels and of each model's
 * step on 1024 x 1024, for 1 and 2 channels and 1 and 2 threads, against a STREAM triad measured in
 * the same run (roofline: bytes a kernel must move per pixel / triad bandwidth), and CVODE (implicit)
 * against FED for long stopping times.
 *
 *   diffusion [size] [--quick]        (run_diffusion.sh also times the NumPy step)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexp.h"
#include "solvers/diffusion_internal.h"

static double now(void)
{
    return nexp_time_now();
}

/* Best triad bandwidth in GB/s (a = b + s c, 12 bytes per element counted) over n elements per
 * array. The roofline uses a footprint like the kernels' (3 x 8 MB for 1024 x 1024: the given-tensor
 * step touches 24-32 MB), so both stream from the same memory level (on a large-L3 machine that is
 * the L3, not DRAM); the DRAM triad (3 x 256 MB) is printed too. */
static double stream_triad(size_t n)
{
    float *a = aligned_alloc(64, n * sizeof(float)), *b = aligned_alloc(64, n * sizeof(float)),
          *c = aligned_alloc(64, n * sizeof(float));
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        a[i] = 0.0f;
        b[i] = 1.0f;
        c[i] = 2.0f;
    }
    double best = 1e30;
    for (int r = 0; r < 20; r++) {
        double t0 = now();
        const float s = 1.5f + 1e-3f * (float)r;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            a[i] = b[i] + s * c[i];
        }
        double t = now() - t0;
        best = t < best ? t : best;
    }
    volatile float sink = a[n / 2];
    (void)sink;
    free(a);
    free(b);
    free(c);
    return 12.0 * (double)n / best / 1e9;
}

typedef struct bench_ctx {
    int w, h, nc;
    nexp_field *u, *out, *du, *tensor;
    nexp_delta_weights *dw, *dwg;
} bench_ctx;

/* Seconds per call of kernel k (best of several repetitions). */
static double time_kernel(bench_ctx *b, int k, int reps)
{
    nexp_grid g = { b->w, b->h, b->u->stride };
    const nexp_delta_weights *dw = b->dw, *dg = b->dwg;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        switch (k) {
        case 0:
            nexp_stencil_apply(g, dw->w, b->nc, b->u->plane, b->u->data, NULL, b->out->data, 0.3f, 1.0f, 0.0f, NULL, 0,
                               g.h);
            break;
        case 1:
            nexp_stencil_weights(g, dw->ca, dw->cb, dw->cc, dw->cal, 0.0f, dw->w, 0, g.h);
            break;
        case 2:
            nexp_stencil_structure(g, b->nc, b->u->plane, b->u->data, dg->ca, dg->cb, dg->cc, 0, g.h - 1);
            break;
        case 3:
            nexp_stencil_tensor_from_structure(g, NEXP_STENCIL_T_EED, NEXP_STENCIL_G_EXP, 3.0f, dg->ca, dg->cb, dg->cc,
                                               dg->ca, dg->cb, dg->cc, 0, g.h - 1);
            break;
        case 4:
            nexp_stencil_apply_adjoint(g, dw->w, b->nc, b->u->plane, b->out->data, b->du->data, 0.3f, NULL, 0, g.h);
            break;
        default:
            nexp_stencil_weight_grads(g, b->nc, b->u->plane, b->u->data, b->out->data, 0.3f, NULL, dg->w, 0, g.h);
            break;
        }
        double t = now() - t0;
        best = t < best ? t : best;
    }
    return best;
}

static const char *const kernel_names[] = { "delta step (given tensor)", "weights from cell tensor",
                                            "structure tensor",          "EED tensor from structure",
                                            "adjoint step (backward)",   "weight gradients (backward)" };

/* Bytes per pixel each kernel must move (reads + writes, write-allocate not counted, as STREAM). */
static double kernel_bytes(int k, int nc)
{
    switch (k) {
    case 0:
        return 16.0 + 8.0 * nc;  /* 4 weights + u in, out */
    case 1:
        return 16.0 + 16.0;      /* a, b, c, alpha cells in; 4 weights out */
    case 2:
        return 4.0 * nc + 12.0;  /* u in; 3 structure entries out */
    case 3:
        return 24.0;             /* 3 in, 3 out */
    case 4:
        return 16.0 + 12.0 * nc; /* weights, du_next in; du in and out */
    default:
        return 32.0 + 8.0 * nc;  /* u, du_next in; 4 weight gradients in and out */
    }
}

static double model_rate(int w, int h, int nc, nexp_diffusion_model m, nexp_diffusion_scheme s, const nexp_field *u0)
{
    nexp_diffusion_params prm = NEXP_DIFFUSION_PARAMS_INIT;
    prm.model = m;
    prm.scheme = s;
    prm.lambda = 3.0;
    prm.sigma = 1.0;
    prm.rho = m == NEXP_DIFF_CED ? 2.0 : 0.0;
    prm.alpha = 0.4;
    prm.time = s == NEXP_SCHEME_EXPLICIT ? 4 * 1.0 / (4.0 * 0.6) : 2 * 110.0 / 3.0 / (4.0 * 0.6);
    prm.cycles = s == NEXP_SCHEME_EXPLICIT ? 0 : 2;
    nexp_diffusion_plan *p = NULL;
    nexp_field *u = NULL;
    nexp_field_clone(&u, u0, NULL);
    if (nexp_diffusion_plan_create(&p, w, h, nc, &prm, NULL) != NEXP_OK) {
        return 0.0;
    }
    nexp_diffusion_run run = NEXP_DIFFUSION_RUN_INIT;
    double t0 = now();
    nexp_diffusion_execute(p, u, &run, NULL);
    double t = now() - t0;
    nexp_diffusion_plan_free(p);
    nexp_field_free(u);
    return (double)w * h * (double)run.steps / t / 1e6;
}

int main(int argc, char **argv)
{
    int n = 1024, quick = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
        } else {
            n = atoi(argv[i]);
        }
    }
    if (n < 16) {
        fprintf(stderr, "diffusion: size must be >= 16\n");
        return 2;
    }
    const int reps = quick ? 3 : 20;
    printf("# nexp diffusion benchmark, %d x %d, float32\n", n, n);
    double bw[3] = { 0, 0, 0 };
    for (int th = 1; th <= 2; th++) {
        nexp_set_threads(th);
        bw[th] = stream_triad((size_t)2 * n * n);
        double big = stream_triad((size_t)64 << 20);
        printf("# STREAM triad, %d thread%s: %.2f GB/s (3 x %zu MB, the roofline), %.2f GB/s (3 x 256 MB)\n", th,
               th > 1 ? "s" : "", bw[th], (size_t)2 * n * n * sizeof(float) >> 20, big);
    }
    printf("\n| kernel | channels | threads | MPix/s | B/pixel | GB/s | %% of triad roofline | 2T/1T |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (int nc = 1; nc <= 2; nc++) {
        bench_ctx b = { n, n, nc, NULL, NULL, NULL, NULL, NULL, NULL };
        nexp_field_create(&b.u, n, n, nc, NULL);
        nexp_field_create(&b.out, n, n, nc, NULL);
        nexp_field_create(&b.du, n, n, nc, NULL);
        nexp_field_create(&b.tensor, n, n, 4, NULL);
        nexp_rng rng;
        nexp_rng_seed(&rng, 7);
        for (int c = 0; c < nc; c++) {
            for (int y = 0; y < n; y++) {
                for (int x = 0; x < n; x++) {
                    nexp_field_row(b.u, c, y)[x] = (float)nexp_rng_range(&rng, 0, 255);
                    nexp_field_row(b.out, c, y)[x] = (float)nexp_rng_range(&rng, -1, 1);
                }
            }
        }
        for (int y = 0; y < n; y++) {
            for (int x = 0; x < n; x++) {
                double th = nexp_rng_range(&rng, 0, M_PI), l1 = nexp_rng_uniform(&rng), l2 = nexp_rng_uniform(&rng);
                double cs = cos(th), sn = sin(th);
                nexp_field_row(b.tensor, 0, y)[x] = (float)(l1 * cs * cs + l2 * sn * sn);
                nexp_field_row(b.tensor, 1, y)[x] = (float)((l1 - l2) * cs * sn);
                nexp_field_row(b.tensor, 2, y)[x] = (float)(l1 * sn * sn + l2 * cs * cs);
                nexp_field_row(b.tensor, 3, y)[x] = (float)nexp_rng_range(&rng, 0.0, 0.5);
            }
        }
        nexp_delta_weights_create(&b.dw, n, n, NULL);
        nexp_delta_weights_create(&b.dwg, n, n, NULL);
        nexp_error err = NEXP_ERROR_INIT;
        if (nexp_delta_weights_forward(b.dw, b.tensor, &err) != NEXP_OK) {
            fprintf(stderr, "diffusion: %s\n", err.msg);
            return 1;
        }
        for (int k = 0; k < 6; k++) {
            double rate[3] = { 0, 0, 0 };
            for (int th = 1; th <= 2; th++) {
                nexp_set_threads(th);
                time_kernel(&b, k, 1);
                double t = time_kernel(&b, k, reps);
                rate[th] = (double)n * n / t / 1e6;
                double gbs = rate[th] * kernel_bytes(k, nc) / 1e3;
                printf("| %s | %d | %d | %.1f | %.0f | %.2f | %.0f %% | %s |\n", kernel_names[k], nc, th, rate[th],
                       kernel_bytes(k, nc), gbs, 100.0 * gbs / bw[th], th == 2 ? "" : "");
            }
            printf("| %s | %d | 2T/1T | | | | | %.2fx |\n", kernel_names[k], nc, rate[2] / rate[1]);
        }
        printf("\n| model step (whole scheme, incl. tensor updates) | channels | threads | MPix-steps/s |\n");
        printf("|---|---|---|---|\n");
        for (int m = NEXP_DIFF_HOMOGENEOUS; m <= NEXP_DIFF_CED; m++) {
            for (int s = NEXP_SCHEME_EXPLICIT; s <= NEXP_SCHEME_FED; s++) {
                for (int th = 1; th <= 2; th++) {
                    nexp_set_threads(th);
                    double r = model_rate(n, n, nc, (nexp_diffusion_model)m, (nexp_diffusion_scheme)s, b.u);
                    printf("| %s, %s | %d | %d | %.1f |\n", nexp_diffusion_model_name((nexp_diffusion_model)m),
                           s == NEXP_SCHEME_EXPLICIT ? "explicit (tensor every step)" : "FED (tensor per cycle)", nc,
                           th, r);
                }
            }
        }
        printf("\n");
        nexp_field_free(b.u);
        nexp_field_free(b.out);
        nexp_field_free(b.du);
        nexp_field_free(b.tensor);
        nexp_delta_weights_free(b.dw);
        nexp_delta_weights_free(b.dwg);
    }
    /* CVODE (implicit) against FED for long stopping times, homogeneous, 256 x 256, one thread (the
     * comparison is about work, not parallel overhead) */
    nexp_set_threads(1);
    const int m = 256;
    nexp_field *u0 = NULL;
    nexp_field_create(&u0, m, m, 1, NULL);
    nexp_rng rng;
    nexp_rng_seed(&rng, 9);
    for (int y = 0; y < m; y++) {
        for (int x = 0; x < m; x++) {
            nexp_field_row(u0, 0, y)[x] = (float)(x < m / 2 ? 50 : 200) + (float)nexp_rng_range(&rng, -20, 20);
        }
    }
    printf("| homogeneous %d x %d, 1 thread, T | FED s | FED steps | implicit s | CVODE steps | stencil applications |\n", m, m);
    printf("|---|---|---|---|---|---|\n");
    const double times[3] = { 100.0, 1000.0, 10000.0 };
    for (int i = 0; i < (quick ? 2 : 3); i++) {
        double sec[2];
        long st[2], ev = 0;
        for (int s = 0; s < 2; s++) {
            nexp_diffusion_params prm = NEXP_DIFFUSION_PARAMS_INIT;
            prm.time = times[i];
            prm.scheme = s == 0 ? NEXP_SCHEME_FED : NEXP_SCHEME_IMPLICIT;
            prm.cycles = 1;
            nexp_diffusion_plan *p = NULL;
            nexp_field *u = NULL;
            nexp_field_clone(&u, u0, NULL);
            nexp_diffusion_plan_create(&p, m, m, 1, &prm, NULL);
            nexp_diffusion_run run = NEXP_DIFFUSION_RUN_INIT;
            double t0 = now();
            nexp_error err = NEXP_ERROR_INIT;
            if (nexp_diffusion_execute(p, u, &run, &err) != NEXP_OK) {
                fprintf(stderr, "diffusion: %s\n", err.msg);
            }
            sec[s] = now() - t0;
            st[s] = run.steps;
            if (s == 1) {
                ev = run.rhs_evals;
            }
            nexp_diffusion_plan_free(p);
            nexp_field_free(u);
        }
        printf("| %g | %.3f | %ld | %.3f | %ld | %ld |\n", times[i], sec[0], st[0], sec[1], st[1], ev);
    }
    nexp_field_free(u0);
    return 0;
}
