/* nn module: layers, MLP products, models, optimisers, checkpoints. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexp.h"
#include "nexp_checkpoint.h"
#include "nexp_h5.h"
#include "nexp_layers.h"
#include "nexp_mlp.h"
#include "nexp_net.h"
#include "nexp_optim.h"
#include "testlib.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static void fill_uniform(double *x, size_t n, nexp_rng *rng, double lo, double hi)
{
    for (size_t i = 0; i < n; i++) {
        x[i] = nexp_rng_range(rng, lo, hi);
    }
}

/* ||a - b|| / max(||a||, ||b||, tiny): one number per gradient, robust to single tiny entries. */
static double rel_err(const double *a, const double *b, size_t n)
{
    double d = 0.0, na = 0.0, nb = 0.0;
    for (size_t i = 0; i < n; i++) {
        d += (a[i] - b[i]) * (a[i] - b[i]);
        na += a[i] * a[i];
        nb += b[i] * b[i];
    }
    double den = fmax(sqrt(na), sqrt(nb));
    return den < 1e-300 ? 0.0 : sqrt(d) / den;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        s += a[i] * b[i];
    }
    return s;
}

/* ---- MLP products ---------------------------------------------------------------------------- */

/* Loss L = sum v . f(x): its gradients are exactly the VJPs. */
static double mlp_loss(const nexp_mlp *m, nexp_mlp_workspace *ws, int B, const double *x, const double *v,
                       double *y)
{
    CU_ASSERT_EQUAL(nexp_mlp_forward(m, ws, B, x, y, NULL), NEXP_OK);
    return dot(v, y, (size_t)B * (size_t)m->spec.width[m->spec.n_layers]);
}

static void check_mlp_products(const nexp_mlp_spec *spec, uint64_t seed)
{
    nexp_mlp *m = NULL;
    nexp_mlp_workspace *ws = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_mlp_create(spec, seed, &m, &err), NEXP_OK);
    const int B = 5;
    CU_ASSERT_EQUAL_FATAL(nexp_mlp_workspace_create(m, B, &ws, &err), NEXP_OK);
    int in = spec->width[0], out = spec->width[spec->n_layers];
    size_t nx = (size_t)B * in, ny = (size_t)B * out, np = m->n_params;
    double *x = malloc(nx * sizeof *x), *v = malloc(ny * sizeof *v), *y = malloc(ny * sizeof *y);
    double *w = malloc(nx * sizeof *w), *jw = malloc(ny * sizeof *jw), *jw_fd = malloc(ny * sizeof *jw_fd);
    double *dx = calloc(nx, sizeof *dx), *dx_fd = malloc(nx * sizeof *dx_fd);
    double *dth = calloc(np, sizeof *dth), *dth_fd = malloc(np * sizeof *dth_fd);
    double *yp = malloc(ny * sizeof *yp), *ym = malloc(ny * sizeof *ym);
    nexp_rng rng;
    nexp_rng_seed(&rng, seed + 101);
    fill_uniform(x, nx, &rng, -1.7, 1.9);
    fill_uniform(v, ny, &rng, -1.3, 1.1);
    fill_uniform(w, nx, &rng, -0.9, 1.2);
    /* non-zero biases so they matter */
    for (int l = 0; l < spec->n_layers; l++) {
        fill_uniform(nexp_mlp_bias(m, m->params, l), (size_t)spec->width[l + 1], &rng, -0.4, 0.4);
    }
    CU_ASSERT_EQUAL(nexp_mlp_vjp(m, ws, B, x, v, y, dx, dth, &err), NEXP_OK);
    const double h = 1e-5;
    for (size_t i = 0; i < nx; i++) {
        double keep = x[i];
        x[i] = keep + h;
        double lp = mlp_loss(m, ws, B, x, v, yp);
        x[i] = keep - h;
        double lm = mlp_loss(m, ws, B, x, v, ym);
        x[i] = keep;
        dx_fd[i] = (lp - lm) / (2.0 * h);
    }
    for (size_t i = 0; i < np; i++) {
        double keep = m->params[i];
        m->params[i] = keep + h;
        double lp = mlp_loss(m, ws, B, x, v, yp);
        m->params[i] = keep - h;
        double lm = mlp_loss(m, ws, B, x, v, ym);
        m->params[i] = keep;
        dth_fd[i] = (lp - lm) / (2.0 * h);
    }
    /* JVP against the directional difference of f. */
    double *xp = malloc(nx * sizeof *xp);
    for (size_t i = 0; i < nx; i++) {
        xp[i] = x[i] + h * w[i];
    }
    nexp_mlp_forward(m, ws, B, xp, yp, NULL);
    for (size_t i = 0; i < nx; i++) {
        xp[i] = x[i] - h * w[i];
    }
    nexp_mlp_forward(m, ws, B, xp, ym, NULL);
    for (size_t i = 0; i < ny; i++) {
        jw_fd[i] = (yp[i] - ym[i]) / (2.0 * h);
    }
    CU_ASSERT_EQUAL(nexp_mlp_jvp(m, ws, B, x, w, NULL, jw, &err), NEXP_OK);
    double e_dx = rel_err(dx, dx_fd, nx), e_th = rel_err(dth, dth_fd, np), e_jv = rel_err(jw, jw_fd, ny);
    char text[256];
    nexp_mlp_spec_format(spec, text, sizeof text);
    if (e_dx > 1e-6 || e_th > 1e-6 || e_jv > 1e-6) {
        fprintf(stderr, "\n  mlp [%s]: rel err dx %.2e dtheta %.2e jvp %.2e\n", text, e_dx, e_th, e_jv);
    }
    CU_ASSERT(e_dx <= 1e-6);
    CU_ASSERT(e_th <= 1e-6);
    CU_ASSERT(e_jv <= 1e-6);
    /* Adjoint identity per sample: v . (J w) == (v^T J) . w, summed over the batch. */
    CU_ASSERT(fabs(dot(v, jw, ny) - dot(dx, w, nx)) <= 1e-12 * (1.0 + fabs(dot(dx, w, nx))));
    free(x), free(v), free(y), free(w), free(jw), free(jw_fd), free(dx), free(dx_fd), free(dth), free(dth_fd);
    free(yp), free(ym), free(xp);
    nexp_mlp_workspace_free(ws);
    nexp_mlp_free(m);
}

static void mlp_vjp_and_jvp_match_central_differences_for_every_activation(void)
{
    for (int a = 0; a < NEXP_ACT_COUNT_; a++) {
        nexp_mlp_spec spec;
        CU_ASSERT_EQUAL_FATAL(nexp_mlp_spec_init(&spec, 3, 7, 2, 4, (nexp_act)a, NULL), NEXP_OK);
        /* a different activation on the output layer too */
        spec.act[2] = (nexp_act)((a + 3) % NEXP_ACT_COUNT_);
        check_mlp_products(&spec, 17 + (uint64_t)a);
    }
    nexp_mlp_spec node;
    CU_ASSERT_EQUAL_FATAL(nexp_mlp_spec_init(&node, 2, 50, 1, 2, NEXP_ACT_TANH, NULL), NEXP_OK);
    check_mlp_products(&node, 2385);
}

static void mlp_batch_rows_are_independent_samples(void)
{
    nexp_mlp_spec spec;
    nexp_mlp_spec_init(&spec, 2, 9, 2, 3, NEXP_ACT_GELU, NULL);
    nexp_mlp *m = NULL;
    nexp_mlp_workspace *ws = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_mlp_create(&spec, 5, &m, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_mlp_workspace_create(m, 8, &ws, NULL), NEXP_OK);
    double x[16], y[24], y1[3];
    nexp_rng rng;
    nexp_rng_seed(&rng, 9);
    fill_uniform(x, 16, &rng, -2.0, 2.0);
    nexp_mlp_forward(m, ws, 8, x, y, NULL);
    for (int b = 0; b < 8; b++) {
        nexp_mlp_forward(m, ws, 1, x + 2 * b, y1, NULL);
        for (int k = 0; k < 3; k++) {
            CU_ASSERT_DOUBLE_EQUAL(y1[k], y[3 * b + k], 1e-14);
        }
    }
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_mlp_forward(m, ws, 9, x, y, &err), NEXP_ERR_SIZE);
    CU_ASSERT(strstr(err.msg, "batch 9") != NULL);
    nexp_mlp_workspace_free(ws);
    nexp_mlp_free(m);
}

/* The ODE solver calls the products from several threads, each with its own workspace. */
static void mlp_products_from_several_threads_match_serial_results(void)
{
    nexp_mlp_spec spec;
    nexp_mlp_spec_init(&spec, 2, 50, 1, 2, NEXP_ACT_TANH, NULL);
    nexp_mlp *m = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_mlp_create(&spec, 41, &m, NULL), NEXP_OK);
    enum { TASKS = 64, B = 20 };
    static double x[TASKS][2 * B], v[TASKS][2 * B], dx[2][TASKS][2 * B], dth[2][TASKS][252];
    nexp_rng rng;
    nexp_rng_seed(&rng, 8);
    for (int k = 0; k < TASKS; k++) {
        fill_uniform(x[k], 2 * B, &rng, -2, 2);
        fill_uniform(v[k], 2 * B, &rng, -1, 1);
    }
    memset(dx, 0, sizeof dx);
    memset(dth, 0, sizeof dth);
    for (int run = 0; run < 2; run++) {
        int fails = 0;
#pragma omp parallel num_threads(run == 0 ? 1 : 2) reduction(+ : fails)
        {
            nexp_mlp_workspace *ws = NULL;
            fails += nexp_mlp_workspace_create(m, B, &ws, NULL) != NEXP_OK;
#pragma omp for schedule(dynamic)
            for (int k = 0; k < TASKS; k++) {
                fails += nexp_mlp_vjp(m, ws, B, x[k], v[k], NULL, dx[run][k], dth[run][k], NULL) != NEXP_OK;
            }
            nexp_mlp_workspace_free(ws);
        }
        CU_ASSERT_EQUAL(fails, 0);
    }
    CU_ASSERT_EQUAL(memcmp(dx[0], dx[1], sizeof dx[0]), 0);
    CU_ASSERT_EQUAL(memcmp(dth[0], dth[1], sizeof dth[0]), 0);
    nexp_mlp_free(m);
}

static void mlp_init_is_seeded_and_scaled_by_fan_in(void)
{
    nexp_mlp_spec spec;
    nexp_mlp_spec_init(&spec, 400, 300, 1, 2, NEXP_ACT_RELU, NULL);
    nexp_mlp *a = NULL, *b = NULL, *c = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_mlp_create(&spec, 11, &a, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_mlp_create(&spec, 11, &b, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_mlp_create(&spec, 12, &c, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(memcmp(a->params, b->params, a->n_params * sizeof(double)), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a->params, c->params, a->n_params * sizeof(double)), 0);
    CU_ASSERT_EQUAL(a->n_params, (size_t)(400 * 300 + 300 + 300 * 2 + 2));
    CU_ASSERT_STRING_EQUAL(a->tensors[3].name, "dense1.bias");
    /* He normal before relu: variance 2 / 400 */
    const double *w0 = nexp_mlp_weight(a, a->params, 0);
    double s2 = 0.0;
    for (int i = 0; i < 120000; i++) {
        s2 += w0[i] * w0[i];
    }
    CU_ASSERT(fabs(s2 / 120000 / (2.0 / 400) - 1.0) < 0.03);
    /* Glorot uniform before the identity output: |w| <= sqrt(6 / 302) */
    const double *w1 = nexp_mlp_weight(a, a->params, 1);
    double lim = sqrt(6.0 / 302.0), mx = 0.0;
    for (int i = 0; i < 600; i++) {
        mx = fmax(mx, fabs(w1[i]));
    }
    CU_ASSERT(mx <= lim && mx > 0.9 * lim);
    nexp_mlp_free(a);
    nexp_mlp_free(b);
    nexp_mlp_free(c);
}

static void mlp_spec_text_round_trips_and_bad_text_is_refused(void)
{
    nexp_mlp_spec s, t;
    nexp_mlp_spec_init(&s, 2, 50, 2, 2, NEXP_ACT_SOFTPLUS, NULL);
    char buf[128];
    CU_ASSERT(nexp_mlp_spec_format(&s, buf, sizeof buf) < (int)sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "2 50:softplus 50:softplus 2:identity");
    CU_ASSERT_EQUAL(nexp_mlp_spec_parse(buf, &t, NULL), NEXP_OK);
    CU_ASSERT(nexp_mlp_spec_equal(&s, &t));
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_mlp_spec_parse("2 50:swish 2:identity", &t, &err), NEXP_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "unknown activation \"swish\"") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_mlp_spec_parse("2", &t, &err), NEXP_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "no layers") != NULL);
    CU_ASSERT_EQUAL(nexp_mlp_spec_parse("2 0:tanh", &t, NULL), NEXP_ERR_FORMAT);
    CU_ASSERT_EQUAL(nexp_mlp_spec_init(&s, 2, 0, 1, 2, NEXP_ACT_TANH, NULL), NEXP_ERR_ARG);
}

/* ---- layer gradient checks -------------------------------------------------------------------- */

/* A layer under test: y = f(x; w) and its backward (accumulating dx, dw). */
typedef struct layer_case {
    const char *name;
    size_t nx, nw, ny;
    void (*fwd)(const struct layer_case *c, const double *x, const double *w, double *y);
    void (*bwd)(const struct layer_case *c, const double *x, const double *w, const double *dy, double *dx,
                double *dw);
    nexp_conv2d_shape shape;
    nexp_act act;
    double bcos_b;
    int P, H, W, Ca, Cb;
    double *scratch;
} layer_case;

/* Central differences of L = v . f(x; w) against the backward pass; returns the worse rel. error. */
static double check_layer(layer_case *c, uint64_t seed)
{
    nexp_rng rng;
    nexp_rng_seed(&rng, seed);
    size_t nw = c->nw > 0 ? c->nw : 1;
    double *x = malloc(c->nx * sizeof *x), *w = malloc(nw * sizeof *w), *v = malloc(c->ny * sizeof *v);
    double *y = malloc(c->ny * sizeof *y), *dx = calloc(c->nx, sizeof *dx), *dw = calloc(nw, sizeof *dw);
    double *fx = malloc(c->nx * sizeof *fx), *fw = malloc(nw * sizeof *fw);
    fill_uniform(x, c->nx, &rng, -1.9, 2.3);
    fill_uniform(w, nw, &rng, -0.8, 0.9);
    fill_uniform(v, c->ny, &rng, -1.1, 1.3);
    c->bwd(c, x, w, v, dx, c->nw > 0 ? dw : NULL);
    const double h = 1e-5;
    for (int which = 0; which < 2; which++) {
        double *p = which == 0 ? x : w, *g = which == 0 ? fx : fw;
        size_t n = which == 0 ? c->nx : c->nw;
        for (size_t i = 0; i < n; i++) {
            double keep = p[i];
            p[i] = keep + h;
            c->fwd(c, x, w, y);
            double lp = dot(v, y, c->ny);
            p[i] = keep - h;
            c->fwd(c, x, w, y);
            double lm = dot(v, y, c->ny);
            p[i] = keep;
            g[i] = (lp - lm) / (2.0 * h);
        }
    }
    double e = rel_err(dx, fx, c->nx);
    if (c->nw > 0) {
        e = fmax(e, rel_err(dw, fw, c->nw));
    }
    if (e > 1e-6) {
        fprintf(stderr, "\n  %s: relative error %.3e\n", c->name, e);
    }
    free(x), free(w), free(v), free(y), free(dx), free(dw), free(fx), free(fw);
    return e;
}

static void act_fwd(const layer_case *c, const double *x, const double *w, double *y)
{
    (void)w;
    nexp_act_forward_f64(c->act, c->nx, x, y);
}

static void act_bwd(const layer_case *c, const double *x, const double *w, const double *dy, double *dx, double *dw)
{
    (void)w, (void)dw;
    double *y = malloc(c->nx * sizeof *y);
    nexp_act_forward_f64(c->act, c->nx, x, y);
    nexp_act_backward_f64(c->act, c->nx, x, y, dy, dx);
    free(y);
}

static void every_activation_backward_matches_central_differences(void)
{
    for (int a = 0; a < NEXP_ACT_COUNT_; a++) {
        layer_case c = { .name = nexp_act_name((nexp_act)a), .nx = 40, .ny = 40, .fwd = act_fwd, .bwd = act_bwd,
                         .act = (nexp_act)a };
        CU_ASSERT(check_layer(&c, 300 + (uint64_t)a) <= 1e-6);
    }
    /* softplus and sigmoid stay finite and exact far out */
    double big[4] = { -800.0, -40.0, 40.0, 800.0 }, out[4];
    nexp_act_forward_f64(NEXP_ACT_SOFTPLUS, 4, big, out);
    CU_ASSERT(out[0] >= 0.0 && out[0] < 1e-300 && fabs(out[3] - 800.0) < 1e-12);
    nexp_act_forward_f64(NEXP_ACT_SIGMOID, 4, big, out);
    CU_ASSERT(out[0] >= 0.0 && out[0] < 1e-300 && out[3] == 1.0);
    /* tanh is evaluated without libm, eight values at a time with a padded tail: within a few ulp
     * of libm everywhere, and a value's result does not depend on its place in the array */
    enum { NT = 80003 };
    double *xs = malloc(NT * sizeof *xs), *ts = malloc(NT * sizeof *ts), worst = 0.0;
    int same = 1;
    for (int i = 0; i < NT; i++) {
        xs[i] = (i - NT / 2) * 6.1e-4 + (i % 7) * 1.3e-9;
    }
    xs[5] = INFINITY;
    xs[6] = -INFINITY;
    nexp_act_forward_f64(NEXP_ACT_TANH, NT, xs, ts);
    for (int i = 0; i < NT; i++) {
        double t1;
        nexp_act_forward_f64(NEXP_ACT_TANH, 1, xs + i, &t1);
        same = same && memcmp(&t1, ts + i, sizeof t1) == 0;
        if (xs[i] != 0.0) {
            worst = fmax(worst, fabs(ts[i] - tanh(xs[i])) / fabs(tanh(xs[i])));
        }
    }
    CU_ASSERT(same && ts[5] == 1.0 && ts[6] == -1.0);
    free(xs);
    free(ts);
    double tiny = 1e-300, huge = 800.0, t1, t2;
    nexp_act_forward_f64(NEXP_ACT_TANH, 1, &tiny, &t1);
    nexp_act_forward_f64(NEXP_ACT_TANH, 1, &huge, &t2);
    CU_ASSERT(worst < 1e-15 && t1 == 1e-300 && t2 == 1.0);
    CU_ASSERT_EQUAL(nexp_act_from_name("gelu"), NEXP_ACT_GELU);
    CU_ASSERT_EQUAL(nexp_act_from_name("swish"), -1);
}

static void dense_fwd(const layer_case *c, const double *x, const double *w, double *y)
{
    nexp_dense_forward_f64(c->P, c->H, c->W, x, w, w + (size_t)c->H * c->W, y);
}

static void dense_bwd(const layer_case *c, const double *x, const double *w, const double *dy, double *dx, double *dw)
{
    nexp_dense_backward_f64(c->P, c->H, c->W, x, w, dy, dx, dw, dw + (size_t)c->H * c->W);
}

static void dense_backward_matches_central_differences(void)
{
    /* P = batch, H = in, W = out; w holds weight then bias */
    layer_case c = { .name = "dense", .nx = 4 * 6, .nw = 6 * 5 + 5, .ny = 4 * 5, .fwd = dense_fwd, .bwd = dense_bwd,
                     .P = 4, .H = 6, .W = 5 };
    CU_ASSERT(check_layer(&c, 77) <= 1e-6);
    /* narrow layers take the row-update path (inner dimension <= 4) forward and backward */
    layer_case narrow_in = { .name = "dense 2 -> 50", .nx = 7 * 2, .nw = 50 * 2 + 50, .ny = 7 * 50,
                             .fwd = dense_fwd, .bwd = dense_bwd, .P = 7, .H = 2, .W = 50 };
    CU_ASSERT(check_layer(&narrow_in, 78) <= 1e-6);
    layer_case narrow_out = { .name = "dense 37 -> 3", .nx = 5 * 37, .nw = 3 * 37 + 3, .ny = 5 * 3,
                              .fwd = dense_fwd, .bwd = dense_bwd, .P = 5, .H = 37, .W = 3 };
    CU_ASSERT(check_layer(&narrow_out, 79) <= 1e-6);
}

/* The overwriting variants equal the accumulating kernels started from zero, whatever was in the
 * output before. */
static void overwriting_backward_variants_equal_accumulation_from_zero(void)
{
    nexp_rng rng;
    nexp_rng_seed(&rng, 91);
    enum { N = 203 };
    double x[N], y[N], dy[N], acc[N], set[N];
    for (int i = 0; i < N; i++) {
        x[i] = 4.0 * nexp_rng_uniform(&rng) - 2.0;
        dy[i] = nexp_rng_uniform(&rng) - 0.5;
    }
    for (int a = 0; a < NEXP_ACT_COUNT_; a++) {
        nexp_act_forward_f64((nexp_act)a, N, x, y);
        memset(acc, 0, sizeof acc);
        nexp_act_backward_f64((nexp_act)a, N, x, y, dy, acc);
        for (int i = 0; i < N; i++) {
            set[i] = NAN;
        }
        nexp_act_backward_set_f64((nexp_act)a, N, x, y, dy, set);
        int same = 1;
        for (int i = 0; i < N; i++) {
            same = same && acc[i] == set[i]; /* == : 0 + (-0) is +0 */
        }
        CU_ASSERT(same);
    }
    int shapes[3][3] = { { 6, 2, 50 }, { 4, 37, 3 }, { 3, 20, 30 } }; /* B, in, out */
    for (int k = 0; k < 3; k++) {
        int B = shapes[k][0], in = shapes[k][1], out = shapes[k][2];
        double *w = malloc((size_t)in * out * sizeof *w), *g = malloc((size_t)B * out * sizeof *g);
        double *dx0 = calloc((size_t)B * in, sizeof *dx0), *dx1 = malloc((size_t)B * in * sizeof *dx1);
        for (int i = 0; i < in * out; i++) {
            w[i] = nexp_rng_uniform(&rng) - 0.5;
        }
        for (int i = 0; i < B * out; i++) {
            g[i] = nexp_rng_uniform(&rng) - 0.5;
        }
        for (int i = 0; i < B * in; i++) {
            dx1[i] = NAN;
        }
        nexp_dense_backward_f64(B, in, out, NULL, w, g, dx0, NULL, NULL);
        nexp_dense_input_grad_f64(B, in, out, w, g, dx1);
        double worst = 0.0;
        for (int i = 0; i < B * in; i++) {
            worst = fmax(worst, fabs(dx0[i] - dx1[i]));
        }
        CU_ASSERT(worst < 1e-14);
        free(w);
        free(g);
        free(dx0);
        free(dx1);
    }
}

static void conv_fwd(const layer_case *c, const double *x, const double *w, double *y)
{
    const nexp_conv2d_shape *s = &c->shape;
    const double *b = w + nexp_conv2d_weight_size(s);
    if (s->transposed) {
        nexp_tconv2d_forward_f64(s, x, w, b, y, c->scratch);
    } else {
        nexp_conv2d_forward_f64(s, x, w, b, y, c->scratch);
    }
}

static void conv_bwd(const layer_case *c, const double *x, const double *w, const double *dy, double *dx, double *dw)
{
    const nexp_conv2d_shape *s = &c->shape;
    size_t nw = nexp_conv2d_weight_size(s);
    if (s->transposed) {
        nexp_tconv2d_backward_f64(s, x, w, dy, dx, dw, dw + nw, c->scratch);
    } else {
        nexp_conv2d_backward_f64(s, x, w, dy, dx, dw, dw + nw, c->scratch);
    }
}

static void convolutions_backward_match_central_differences(void)
{
    const struct { int k, stride, transposed; nexp_pad pad; } cases[] = {
        { 3, 1, 0, NEXP_PAD_ZERO }, { 3, 2, 0, NEXP_PAD_ZERO },     { 3, 1, 0, NEXP_PAD_REPLICATE },
        { 3, 2, 0, NEXP_PAD_REPLICATE }, { 1, 1, 0, NEXP_PAD_ZERO }, { 1, 2, 0, NEXP_PAD_ZERO },
        { 2, 2, 1, NEXP_PAD_ZERO },      { 4, 2, 1, NEXP_PAD_ZERO }, { 3, 1, 1, NEXP_PAD_ZERO },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        layer_case c = { .name = "conv2d", .fwd = conv_fwd, .bwd = conv_bwd };
        nexp_conv2d_shape *s = &c.shape;
        CU_ASSERT_EQUAL_FATAL(nexp_conv2d_shape_init(s, 2, 3, 7, 6, 4, cases[i].k, cases[i].stride, cases[i].pad,
                                                     cases[i].transposed, NULL),
                              NEXP_OK);
        c.nx = (size_t)s->N * s->C_in * s->H * s->W;
        c.ny = (size_t)s->N * s->C_out * s->H_out * s->W_out;
        c.nw = nexp_conv2d_weight_size(s) + (size_t)s->C_out;
        c.scratch = malloc((nexp_conv2d_scratch_size(s) + 1) * sizeof(double));
        double e = check_layer(&c, 500 + i);
        if (e > 1e-6) {
            fprintf(stderr, "  case k %d stride %d transposed %d pad %d\n", cases[i].k, cases[i].stride,
                    cases[i].transposed, (int)cases[i].pad);
        }
        CU_ASSERT(e <= 1e-6);
        free(c.scratch);
    }
    nexp_conv2d_shape s;
    nexp_conv2d_shape_init(&s, 1, 1, 8, 6, 1, 4, 2, NEXP_PAD_ZERO, 1, NULL);
    CU_ASSERT(s.H_out == 16 && s.W_out == 12);
    nexp_conv2d_shape_init(&s, 1, 1, 7, 6, 1, 3, 2, NEXP_PAD_ZERO, 0, NULL);
    CU_ASSERT(s.H_out == 4 && s.W_out == 3);
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_conv2d_shape_init(&s, 1, 1, 7, 6, 1, 3, 3, NEXP_PAD_ZERO, 0, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "stride 3") != NULL);
}

static void bcos_fwd(const layer_case *c, const double *x, const double *w, double *y)
{
    nexp_bcos_forward_f64(&c->shape, c->bcos_b, x, w, y, c->scratch);
}

static void bcos_bwd(const layer_case *c, const double *x, const double *w, const double *dy, double *dx, double *dw)
{
    nexp_bcos_backward_f64(&c->shape, c->bcos_b, x, w, dy, dx, dw, c->scratch);
}

static void bcos_backward_matches_central_differences_and_output_is_bounded_by_the_norm(void)
{
    const struct { int H, W, k, stride; double B; } cases[] = {
        { 6, 5, 3, 1, 2.0 }, { 6, 5, 3, 2, 2.0 }, { 1, 1, 1, 1, 2.0 }, { 5, 4, 3, 1, 2.5 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        layer_case c = { .name = "bcos", .fwd = bcos_fwd, .bwd = bcos_bwd, .bcos_b = cases[i].B };
        nexp_conv2d_shape *s = &c.shape;
        CU_ASSERT_EQUAL_FATAL(nexp_conv2d_shape_init(s, 2, 3, cases[i].H, cases[i].W, 4, cases[i].k, cases[i].stride,
                                                     NEXP_PAD_REPLICATE, 0, NULL),
                              NEXP_OK);
        c.nx = (size_t)s->N * s->C_in * s->H * s->W;
        c.ny = (size_t)s->N * s->C_out * s->H_out * s->W_out;
        c.nw = nexp_conv2d_weight_size(s);
        c.scratch = malloc(nexp_bcos_scratch_size(s) * sizeof(double));
        CU_ASSERT(check_layer(&c, 700 + i) <= 1e-6);
        free(c.scratch);
    }
    /* B-cos property: |y| <= |x| (|cos| <= 1, unit-norm weight), equality when x is parallel to w. */
    nexp_conv2d_shape s;
    nexp_conv2d_shape_init(&s, 1, 5, 1, 1, 1, 1, 1, NEXP_PAD_ZERO, 0, NULL);
    double w[5] = { 0.3, -1.2, 0.7, 2.1, -0.4 }, x[5], y, scratch[64];
    for (int i = 0; i < 5; i++) {
        x[i] = 2.385 * w[i];
    }
    nexp_bcos_forward_f64(&s, 2.0, x, w, &y, scratch);
    double nx = sqrt(dot(x, x, 5));
    CU_ASSERT(fabs(y - nx) < 1e-6 * nx);
    x[0] = -x[0];
    nexp_bcos_forward_f64(&s, 2.0, x, w, &y, scratch);
    CU_ASSERT(fabs(y) < nx);
}

static void resample_fwd(const layer_case *c, const double *x, const double *w, double *y)
{
    (void)w;
    if (c->act == 0) {
        nexp_upsample2x_forward_f64(c->P, c->H, c->W, 2 * c->H - 1, 2 * c->W, x, y);
    } else if (c->act == 1) {
        nexp_avgpool2_forward_f64(c->P, c->H, c->W, x, y);
    } else if (c->act == 2) {
        nexp_maxpool2_forward_f64(c->P, c->H, c->W, x, y);
    } else {
        nexp_concat_forward_f64(c->P, c->Ca, c->Cb, (size_t)c->H * c->W, x, x + (size_t)c->P * c->Ca * c->H * c->W, y);
    }
}

static void resample_bwd(const layer_case *c, const double *x, const double *w, const double *dy, double *dx,
                         double *dw)
{
    (void)w, (void)dw;
    if (c->act == 0) {
        nexp_upsample2x_backward_f64(c->P, c->H, c->W, 2 * c->H - 1, 2 * c->W, dy, dx);
    } else if (c->act == 1) {
        nexp_avgpool2_backward_f64(c->P, c->H, c->W, dy, dx);
    } else if (c->act == 2) {
        nexp_maxpool2_backward_f64(c->P, c->H, c->W, x, dy, dx);
    } else {
        nexp_concat_backward_f64(c->P, c->Ca, c->Cb, (size_t)c->H * c->W, dy, dx,
                                 dx + (size_t)c->P * c->Ca * c->H * c->W);
    }
}

static void upsampling_pooling_and_concat_backward_match_central_differences(void)
{
    const char *names[4] = { "upsample2x", "avgpool2", "maxpool2", "concat" };
    for (int op = 0; op < 4; op++) {
        layer_case c = { .name = names[op], .fwd = resample_fwd, .bwd = resample_bwd, .act = (nexp_act)op, .P = 3,
                         .H = 5, .W = 7, .Ca = 2, .Cb = 3 };
        size_t hw = 35;
        c.nx = op == 3 ? (size_t)3 * 5 * hw : 3 * hw;
        c.ny = op == 0 ? 3 * 9 * 14 : op == 3 ? c.nx : 3 * 2 * 3; /* upsampling to 9 x 14 (odd rows) */
        CU_ASSERT(check_layer(&c, 900 + (uint64_t)op) <= 1e-6);
    }
    /* bilinear upsampling reproduces a linear ramp away from the border and keeps constants */
    double x[16], y[64];
    for (int i = 0; i < 16; i++) {
        x[i] = 1.5 + 0.25 * (i % 4);
    }
    nexp_upsample2x_forward_f64(1, 4, 4, 8, 8, x, y);
    CU_ASSERT_DOUBLE_EQUAL(y[8 * 3 + 3], 1.5 + 0.25 * 1.25, 1e-14);
    CU_ASSERT_DOUBLE_EQUAL(y[8 * 5 + 0], 1.5, 1e-14);
}

/* The float instantiation is the same source: spot-check it at float tolerance. */
static void float_kernels_agree_with_double_kernels(void)
{
    nexp_conv2d_shape s;
    CU_ASSERT_EQUAL_FATAL(nexp_conv2d_shape_init(&s, 2, 3, 9, 8, 5, 3, 2, NEXP_PAD_REPLICATE, 0, NULL), NEXP_OK);
    size_t nx = 2 * 3 * 72, nw = nexp_conv2d_weight_size(&s), ny = (size_t)2 * 5 * s.H_out * s.W_out;
    double xd[432], wd[135], bd[5], yd[200], dyd[200], dxd[432] = { 0 }, dwd[135] = { 0 }, dbd[5] = { 0 };
    float xf[432], wf[135], bf[5], yf[200], dyf[200], dxf[432] = { 0 }, dwf[135] = { 0 }, dbf[5] = { 0 };
    double cd[4096];
    float cf[4096];
    nexp_rng rng;
    nexp_rng_seed(&rng, 4);
    fill_uniform(xd, nx, &rng, -1, 1);
    fill_uniform(wd, nw, &rng, -1, 1);
    fill_uniform(bd, 5, &rng, -1, 1);
    fill_uniform(dyd, ny, &rng, -1, 1);
    for (size_t i = 0; i < nx; i++) {
        xf[i] = (float)xd[i];
    }
    for (size_t i = 0; i < nw; i++) {
        wf[i] = (float)wd[i];
    }
    for (size_t i = 0; i < 5; i++) {
        bf[i] = (float)bd[i];
    }
    for (size_t i = 0; i < ny; i++) {
        dyf[i] = (float)dyd[i];
    }
    nexp_conv2d_forward_f64(&s, xd, wd, bd, yd, cd);
    nexp_conv2d_forward_f32(&s, xf, wf, bf, yf, cf);
    nexp_conv2d_backward_f64(&s, xd, wd, dyd, dxd, dwd, dbd, cd);
    nexp_conv2d_backward_f32(&s, xf, wf, dyf, dxf, dwf, dbf, cf);
    double ey = 0, edx = 0, edw = 0;
    for (size_t i = 0; i < ny; i++) {
        ey = fmax(ey, fabs(yd[i] - yf[i]));
    }
    for (size_t i = 0; i < nx; i++) {
        edx = fmax(edx, fabs(dxd[i] - dxf[i]));
    }
    for (size_t i = 0; i < nw; i++) {
        edw = fmax(edw, fabs(dwd[i] - dwf[i]));
    }
    CU_ASSERT(ey < 1e-5 && edx < 1e-5 && edw < 1e-4);
}

/* ---- optimisers -------------------------------------------------------------------------------- */

static void optimisers_follow_their_update_rules(void)
{
    double g[3] = { 0.5, -2.0, 0.125 };
    nexp_optim_config c = NEXP_OPTIM_CONFIG_INIT;
    nexp_optim *o = NULL;
    /* Adam's first step moves every parameter by lr against the sign of its gradient. */
    c.lr = 0.01;
    CU_ASSERT_EQUAL_FATAL(nexp_optim_create(&c, 3, &o, NULL), NEXP_OK);
    double p[3] = { 1.0, 2.0, 3.0 };
    CU_ASSERT_EQUAL(nexp_optim_step_f64(o, p, g, NULL, NULL), NEXP_OK);
    CU_ASSERT_DOUBLE_EQUAL(p[0], 0.99, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(p[1], 2.01, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(p[2], 2.99, 1e-8);
    nexp_optim_free(o);
    /* SGD with momentum 0.9: v1 = g, v2 = 0.9 g + g (constant gradient). */
    c.kind = NEXP_OPTIM_SGD;
    c.momentum = 0.9;
    c.lr = 0.1;
    CU_ASSERT_EQUAL_FATAL(nexp_optim_create(&c, 3, &o, NULL), NEXP_OK);
    float pf[3] = { 1.0f, 2.0f, 3.0f }, gf[3] = { 0.5f, -2.0f, 0.125f };
    nexp_optim_step_f32(o, pf, gf, NULL, NULL);
    nexp_optim_step_f32(o, pf, gf, NULL, NULL);
    CU_ASSERT_DOUBLE_EQUAL(pf[1], 2.0 + 0.1 * 2.0 * 2.9, 1e-6);
    nexp_optim_free(o);
    /* RMSprop's first step: lr g / (sqrt(1 - alpha) |g| + eps). */
    c.kind = NEXP_OPTIM_RMSPROP;
    c.lr = 1e-3;
    CU_ASSERT_EQUAL_FATAL(nexp_optim_create(&c, 3, &o, NULL), NEXP_OK);
    double q[3] = { 0.0, 0.0, 0.0 };
    nexp_optim_step_f64(o, q, g, NULL, NULL);
    CU_ASSERT_DOUBLE_EQUAL(q[1], 1e-3 * 2.0 / (sqrt(0.01) * 2.0 + 1e-8), 1e-12);
    nexp_optim_free(o);
    /* AdamW decays the weights by lr * wd before the Adam update; a zero gradient shows it alone. */
    c.kind = NEXP_OPTIM_ADAMW;
    c.lr = 0.1;
    c.weight_decay = 0.5;
    CU_ASSERT_EQUAL_FATAL(nexp_optim_create(&c, 3, &o, NULL), NEXP_OK);
    double r[3] = { 2.0, -4.0, 8.0 }, zero[3] = { 0.0, 0.0, 0.0 };
    nexp_optim_step_f64(o, r, zero, NULL, NULL);
    CU_ASSERT_DOUBLE_EQUAL(r[2], 8.0 * 0.95, 1e-12);
    nexp_optim_free(o);
}

static void clipping_rescales_to_the_norm_and_nonfinite_gradients_are_skipped(void)
{
    nexp_optim_config c = NEXP_OPTIM_CONFIG_INIT;
    c.kind = NEXP_OPTIM_SGD;
    c.lr = 1.0;
    c.clip_norm = 1.0;
    nexp_optim *o = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_optim_create(&c, 2, &o, NULL), NEXP_OK);
    double p[2] = { 0.0, 0.0 }, g[2] = { 3.0, 4.0 }, norm = 0.0;
    nexp_optim_step_f64(o, p, g, &norm, NULL);
    CU_ASSERT_DOUBLE_EQUAL(norm, 5.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(p[0], -0.6, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(p[1], -0.8, 1e-12);
    g[1] = NAN;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_optim_step_f64(o, p, g, NULL, &err), NEXP_ERR_NONFINITE);
    CU_ASSERT(strstr(err.msg, "skipped") != NULL);
    CU_ASSERT_DOUBLE_EQUAL(p[0], -0.6, 1e-12);
    CU_ASSERT_EQUAL(o->step, 1);
    nexp_optim_free(o);
    c.lr = -1.0;
    CU_ASSERT_EQUAL(nexp_optim_create(&c, 2, &o, NULL), NEXP_ERR_ARG);
}

static void schedules_decay_as_documented(void)
{
    nexp_optim_config c = NEXP_OPTIM_CONFIG_INIT;
    c.lr = 0.2;
    c.schedule = NEXP_SCHEDULE_COSINE;
    c.total_steps = 100;
    c.lr_min = 0.02;
    CU_ASSERT_DOUBLE_EQUAL(nexp_optim_lr(&c, 0), 0.2, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(nexp_optim_lr(&c, 50), 0.11, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(nexp_optim_lr(&c, 100), 0.02, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(nexp_optim_lr(&c, 1000), 0.02, 1e-15);
    c.schedule = NEXP_SCHEDULE_STEP;
    c.step_size = 30;
    c.gamma = 0.5;
    CU_ASSERT_DOUBLE_EQUAL(nexp_optim_lr(&c, 29), 0.2, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(nexp_optim_lr(&c, 65), 0.05, 1e-15);
    CU_ASSERT_EQUAL(nexp_optim_kind_from_name("adamw"), NEXP_OPTIM_ADAMW);
    CU_ASSERT_EQUAL(nexp_schedule_from_name("cosine"), NEXP_SCHEDULE_COSINE);
    CU_ASSERT_EQUAL(nexp_schedule_from_name("linear"), -1);
}

static void mlp_learns_sin_on_minus_pi_to_pi(void)
{
    nexp_mlp_spec spec;
    nexp_mlp_spec_init(&spec, 1, 32, 2, 1, NEXP_ACT_TANH, NULL);
    nexp_mlp *m = NULL;
    nexp_mlp_workspace *ws = NULL;
    nexp_optim *opt = NULL;
    const int B = 64, iters = 2500;
    CU_ASSERT_EQUAL_FATAL(nexp_mlp_create(&spec, 2024, &m, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_mlp_workspace_create(m, 200, &ws, NULL), NEXP_OK);
    nexp_optim_config c = NEXP_OPTIM_CONFIG_INIT;
    c.lr = 0.01;
    c.schedule = NEXP_SCHEDULE_COSINE;
    c.total_steps = iters;
    c.lr_min = 1e-4;
    CU_ASSERT_EQUAL_FATAL(nexp_optim_create(&c, m->n_params, &opt, NULL), NEXP_OK);
    double x[200], t[200], y[200], v[200];
    for (int i = 0; i < B; i++) {
        x[i] = -M_PI + 2.0 * M_PI * (i + 0.5) / B;
        t[i] = sin(x[i]);
    }
    for (int it = 0; it < iters; it++) {
        nexp_mlp_forward(m, ws, B, x, y, NULL);
        for (int i = 0; i < B; i++) {
            v[i] = 2.0 * (y[i] - t[i]) / B;
        }
        nexp_mlp_zero_grad(m);
        nexp_mlp_vjp(m, ws, B, x, v, NULL, NULL, m->grads, NULL);
        CU_ASSERT_EQUAL_FATAL(nexp_optim_step_f64(opt, m->params, m->grads, NULL, NULL), NEXP_OK);
    }
    /* test on a finer grid, including the end points */
    for (int i = 0; i < 200; i++) {
        x[i] = -M_PI + 2.0 * M_PI * i / 199.0;
    }
    nexp_mlp_forward(m, ws, 200, x, y, NULL);
    double mse = 0.0;
    for (int i = 0; i < 200; i++) {
        mse += (y[i] - sin(x[i])) * (y[i] - sin(x[i])) / 200.0;
    }
    fprintf(stderr, " [test MSE %.2e] ", mse);
    CU_ASSERT(mse < 1e-3);
    nexp_optim_free(opt);
    nexp_mlp_workspace_free(ws);
    nexp_mlp_free(m);
}

/* ---- networks ---------------------------------------------------------------------------------- */

/* L = sum_k v_k . out_k in double for the current net->params. */
static double net_loss(const nexp_net *net, nexp_net_plan *plan, const float *x, float *const *v)
{
    CU_ASSERT_EQUAL(nexp_net_forward(net, plan, x, NULL), NEXP_OK);
    double L = 0.0;
    for (int k = 0; k < net->n_heads; k++) {
        int sh[4];
        const float *o = nexp_net_output(plan, k, sh);
        size_t n = (size_t)sh[0] * sh[1] * sh[2] * sh[3];
        for (size_t i = 0; i < n; i++) {
            L += (double)v[k][i] * (double)o[i];
        }
    }
    return L;
}

/* Whole-network central differences in float against backward; returns the worse rel. error. */
static double check_net(const nexp_net_spec *spec, int N, int H, int W, uint64_t seed)
{
    nexp_net *net = NULL;
    nexp_net_plan *plan = NULL;
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_net_create(spec, seed, &net, &err), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_net_plan_create(net, N, H, W, &plan, &err), NEXP_OK);
    nexp_rng rng;
    nexp_rng_seed(&rng, seed + 1);
    size_t nx = (size_t)N * spec->in_channels * H * W;
    float *x = malloc(nx * sizeof *x), *dx = calloc(nx, sizeof *dx);
    for (size_t i = 0; i < nx; i++) {
        x[i] = (float)nexp_rng_range(&rng, -1.0, 1.0);
    }
    for (size_t i = 0; i < net->n_params; i++) {
        net->params[i] += (float)nexp_rng_range(&rng, -0.05, 0.05); /* non-zero biases */
    }
    float *v[NEXP_NET_MAX_HEADS] = { 0 };
    nexp_net_forward(net, plan, x, NULL);
    for (int k = 0; k < net->n_heads; k++) {
        int sh[4];
        nexp_net_output(plan, k, sh);
        size_t n = (size_t)sh[0] * sh[1] * sh[2] * sh[3];
        v[k] = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) {
            v[k][i] = (float)nexp_rng_range(&rng, -1.0, 1.0);
        }
    }
    nexp_net_zero_grad(net);
    CU_ASSERT_EQUAL(nexp_net_backward(net, plan, (const float *const *)v, dx, net->grads, &err), NEXP_OK);
    double *fd = malloc((net->n_params + nx) * sizeof *fd), *an = malloc((net->n_params + nx) * sizeof *an);
    const float h = 4e-3f;
    for (size_t i = 0; i < net->n_params + nx; i++) {
        float *p = i < net->n_params ? &net->params[i] : &x[i - net->n_params];
        float keep = *p;
        *p = keep + h;
        double lp = net_loss(net, plan, x, v);
        *p = keep - h;
        double lm = net_loss(net, plan, x, v);
        *p = keep;
        fd[i] = (lp - lm) / (2.0 * (double)h);
        an[i] = i < net->n_params ? net->grads[i] : dx[i - net->n_params];
    }
    double e = fmax(rel_err(an, fd, net->n_params), rel_err(an + net->n_params, fd + net->n_params, nx));
    free(fd), free(an), free(x), free(dx);
    for (int k = 0; k < net->n_heads; k++) {
        free(v[k]);
    }
    nexp_net_plan_free(plan);
    nexp_net_free(net);
    return e;
}

static void unet_gradients_match_central_differences_with_two_heads(void)
{
    for (int up = 0; up < 3; up++) {
        nexp_unet_config u = NEXP_UNET_CONFIG_INIT;
        u.bcos_b = up == 2 ? 2.0 : 0.0; /* the interpretable B-cos variant */
        u.in_channels = 2;
        u.depth = 2;
        u.widths[0] = 3, u.widths[1] = 4, u.widths[2] = 5;
        u.out_channels = 2;
        u.head_levels = 0x1 | 0x2;
        u.act = NEXP_ACT_TANH;
        u.transposed_up = up == 1;
        nexp_net_spec spec;
        nexp_error err = NEXP_ERROR_INIT;
        CU_ASSERT_EQUAL_FATAL(nexp_unet_spec(&u, &spec, &err), NEXP_OK);
        /* bilinear upsampling handles odd sizes: 7 x 10 -> 4 x 5 -> 2 x 3 and back */
        double e = up == 0 ? check_net(&spec, 2, 7, 10, 31) : check_net(&spec, 2, 8, 12, 31 + (uint64_t)up);
        fprintf(stderr, " [unet up=%d rel err %.1e] ", up, e);
        CU_ASSERT(e <= 1e-3);
    }
}

static void graph_with_bcos_pooling_and_activations_has_exact_gradients(void)
{
    nexp_net_spec s;
    CU_ASSERT_EQUAL_FATAL(nexp_net_spec_begin(&s, 3, NULL), NEXP_OK);
    int a = nexp_net_add_bcos(&s, 0, 4, 3, 1, NEXP_PAD_REPLICATE, 2.0, NULL);
    int b = nexp_net_add_simple(&s, NEXP_NET_AVGPOOL, a, NEXP_ACT_SOFTPLUS, NULL);
    int c = nexp_net_add_conv(&s, b, 5, 1, 1, NEXP_PAD_ZERO, NEXP_ACT_GELU, NULL);
    int d = nexp_net_add_simple(&s, NEXP_NET_UPSAMPLE, c, NEXP_ACT_IDENTITY, NULL);
    int e = nexp_net_add_concat(&s, d, 0, NULL);
    int f = nexp_net_add_conv(&s, e, 2, 3, 2, NEXP_PAD_ZERO, NEXP_ACT_SIGMOID, NULL);
    int g = nexp_net_add_simple(&s, NEXP_NET_ACT, f, NEXP_ACT_LEAKY_RELU, NULL);
    CU_ASSERT(a > 0 && b > 0 && c > 0 && d > 0 && e > 0 && f > 0 && g > 0);
    CU_ASSERT_EQUAL(nexp_net_mark_head(&s, g, NULL), 0);
    double err = check_net(&s, 2, 6, 8, 77);
    fprintf(stderr, " [graph rel err %.1e] ", err);
    CU_ASSERT(err <= 1e-3);
}

static void net_spec_text_round_trips_and_errors_name_the_line(void)
{
    nexp_unet_config u = NEXP_UNET_CONFIG_INIT;
    u.head_levels = 0x5;
    u.out_channels = 4;
    nexp_net_spec s, t;
    CU_ASSERT_EQUAL_FATAL(nexp_unet_spec(&u, &s, NULL), NEXP_OK);
    int len = nexp_net_spec_format(&s, NULL, 0);
    char *text = malloc((size_t)len + 1);
    nexp_net_spec_format(&s, text, (size_t)len + 1);
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL(nexp_net_spec_parse(text, &t, &err), NEXP_OK);
    char *again = malloc((size_t)len + 1);
    CU_ASSERT_EQUAL(nexp_net_spec_format(&t, again, (size_t)len + 1), len);
    CU_ASSERT_STRING_EQUAL(text, again);
    free(text), free(again);
    CU_ASSERT_EQUAL(nexp_net_spec_parse("net in=3\nconv src=0 c=4 k=3 s=5 head=0\n", &t, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "stride 5") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_net_spec_parse("net in=3\nconv src=0 c=4 act=swish head=0\n", &t, &err), NEXP_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "line 2") != NULL && strstr(err.msg, "swish") != NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_net_spec_parse("net in=3\nconv src=4 c=4 head=0\n", &t, &err), NEXP_ERR_ARG);
    CU_ASSERT(strstr(err.msg, "reads node 4") != NULL);
    /* 2 heads at levels 0 and 2 of a depth-2 U-Net; a 30x30 input is fine with bilinear
     * upsampling, not with transposed convolutions (30 is not divisible by 4) */
    nexp_net *net = NULL, *tnet = NULL;
    nexp_net_plan *plan = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_net_create(&s, 1, &net, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(net->n_heads, 2);
    CU_ASSERT_EQUAL(nexp_net_plan_create(net, 1, 30, 30, &plan, NULL), NEXP_OK);
    nexp_net_plan_free(plan);
    plan = NULL;
    u.transposed_up = 1;
    CU_ASSERT_EQUAL_FATAL(nexp_unet_spec(&u, &t, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_net_create(&t, 1, &tnet, NULL), NEXP_OK);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_net_plan_create(tnet, 1, 30, 30, &plan, &err), NEXP_ERR_SIZE);
    CU_ASSERT(strstr(err.msg, "divisible") != NULL);
    nexp_net_free(tnet);
    CU_ASSERT_EQUAL_FATAL(nexp_net_plan_create(net, 1, 32, 16, &plan, &err), NEXP_OK);
    float x[3 * 32 * 16] = { 0 };
    CU_ASSERT_EQUAL(nexp_net_forward(net, plan, x, NULL), NEXP_OK);
    int sh[4];
    CU_ASSERT_PTR_NOT_NULL(nexp_net_output(plan, 1, sh));
    CU_ASSERT(sh[0] == 1 && sh[1] == 4 && sh[2] == 8 && sh[3] == 4);
    CU_ASSERT_PTR_NULL(nexp_net_output(plan, 2, sh));
    nexp_net_plan_free(plan);
    nexp_net_free(net);
}

static void tiny_conv_net_learns_a_known_3x3_filter(void)
{
    const float filt[9] = { 0.25f, -0.5f, 0.125f, 1.0f, 0.375f, -0.75f, 0.0625f, 0.5f, -0.25f };
    const float bias = 0.3f;
    nexp_net_spec s;
    nexp_net_spec_begin(&s, 1, NULL);
    int c = nexp_net_add_conv(&s, 0, 1, 3, 1, NEXP_PAD_ZERO, NEXP_ACT_IDENTITY, NULL);
    nexp_net_mark_head(&s, c, NULL);
    nexp_net *net = NULL;
    nexp_net_plan *plan = NULL;
    nexp_optim *opt = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_net_create(&s, 3, &net, NULL), NEXP_OK);
    const int N = 4, H = 16, W = 16, n = N * H * W;
    CU_ASSERT_EQUAL_FATAL(nexp_net_plan_create(net, N, H, W, &plan, NULL), NEXP_OK);
    nexp_optim_config cfg = NEXP_OPTIM_CONFIG_INIT;
    cfg.lr = 0.02;
    cfg.schedule = NEXP_SCHEDULE_COSINE;
    cfg.total_steps = 600;
    CU_ASSERT_EQUAL_FATAL(nexp_optim_create(&cfg, net->n_params, &opt, NULL), NEXP_OK);
    float *x = malloc((size_t)n * sizeof *x), *t = malloc((size_t)n * sizeof *t), *d = malloc((size_t)n * sizeof *d);
    float cols[9 * 256];
    nexp_conv2d_shape sh;
    nexp_conv2d_shape_init(&sh, N, 1, H, W, 1, 3, 1, NEXP_PAD_ZERO, 0, NULL);
    nexp_rng rng;
    nexp_rng_seed(&rng, 99);
    for (int it = 0; it < 600; it++) {
        for (int i = 0; i < n; i++) {
            x[i] = (float)nexp_rng_normal(&rng);
        }
        nexp_conv2d_forward_f32(&sh, x, filt, &bias, t, cols);
        nexp_net_forward(net, plan, x, NULL);
        const float *y = nexp_net_output(plan, 0, NULL);
        for (int i = 0; i < n; i++) {
            d[i] = 2.0f * (y[i] - t[i]) / (float)n;
        }
        nexp_net_zero_grad(net);
        const float *douts[1] = { d };
        nexp_net_backward(net, plan, douts, NULL, net->grads, NULL);
        nexp_optim_step_f32(opt, net->params, net->grads, NULL, NULL);
    }
    double e = 0.0;
    for (int i = 0; i < 9; i++) {
        e = fmax(e, fabs(net->params[i] - filt[i]));
    }
    e = fmax(e, fabs(net->params[9] - bias));
    fprintf(stderr, " [max weight error %.1e] ", e);
    CU_ASSERT(e < 1e-3);
    free(x), free(t), free(d);
    nexp_optim_free(opt);
    nexp_net_plan_free(plan);
    nexp_net_free(net);
}

static void unet_results_do_not_depend_on_the_thread_count(void)
{
    nexp_unet_config u = NEXP_UNET_CONFIG_INIT;
    u.head_levels = 0x3;
    nexp_net_spec s;
    nexp_unet_spec(&u, &s, NULL);
    nexp_net *net = NULL;
    nexp_net_plan *plan = NULL;
    CU_ASSERT_EQUAL_FATAL(nexp_net_create(&s, 5, &net, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_net_plan_create(net, 2, 64, 64, &plan, NULL), NEXP_OK);
    size_t nx = 2 * 3 * 64 * 64;
    float *x = malloc(nx * sizeof *x), *d = malloc(nx * sizeof *d), *g[2];
    nexp_rng rng;
    nexp_rng_seed(&rng, 6);
    for (size_t i = 0; i < nx; i++) {
        x[i] = (float)nexp_rng_uniform(&rng);
        d[i] = (float)nexp_rng_normal(&rng);
    }
    for (int r = 0; r < 2; r++) {
        nexp_set_threads(r + 1);
        nexp_net_forward(net, plan, x, NULL);
        const float *douts[2] = { d, d };
        g[r] = calloc(net->n_params, sizeof(float));
        nexp_net_backward(net, plan, douts, NULL, g[r], NULL);
    }
    nexp_set_threads(0);
    CU_ASSERT_EQUAL(memcmp(g[0], g[1], net->n_params * sizeof(float)), 0);
    free(g[0]), free(g[1]), free(x), free(d);
    nexp_net_plan_free(plan);
    nexp_net_free(net);
}

/* ---- checkpoints -------------------------------------------------------------------------------- */

/* One training step of the MLP on a minibatch of 8 points of sin drawn with rng. */
static void mlp_train_step(nexp_mlp *m, nexp_mlp_workspace *ws, nexp_optim *opt, nexp_rng *rng)
{
    double x[8], y[8], v[8];
    for (int i = 0; i < 8; i++) {
        x[i] = nexp_rng_range(rng, -M_PI, M_PI);
    }
    nexp_mlp_forward(m, ws, 8, x, y, NULL);
    for (int i = 0; i < 8; i++) {
        v[i] = 2.0 * (y[i] - sin(x[i])) / 8.0;
    }
    nexp_mlp_zero_grad(m);
    nexp_mlp_vjp(m, ws, 8, x, v, NULL, NULL, m->grads, NULL);
    nexp_optim_step_f64(opt, m->params, m->grads, NULL, NULL);
}

static nexp_status write_user_extra(nexp_h5_file *h, void *user, nexp_error *err)
{
    size_t dims[1] = { 2 };
    return nexp_h5_write_array(h, "user/normalisation", NEXP_H5_DOUBLE, 1, dims, user, err);
}

static void mlp_checkpoint_round_trips_parameters_optimiser_rng_and_metadata(void)
{
    nexp_mlp_spec spec;
    nexp_mlp_spec_init(&spec, 1, 12, 2, 1, NEXP_ACT_GELU, NULL);
    nexp_mlp *m = NULL, *back = NULL;
    nexp_mlp_workspace *ws = NULL;
    nexp_optim *opt = NULL, *oback = NULL;
    nexp_optim_config c = NEXP_OPTIM_CONFIG_INIT;
    c.kind = NEXP_OPTIM_ADAMW;
    c.weight_decay = 0.01;
    c.schedule = NEXP_SCHEDULE_STEP;
    c.step_size = 7;
    c.gamma = 0.5;
    CU_ASSERT_EQUAL_FATAL(nexp_mlp_create(&spec, 8, &m, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_mlp_workspace_create(m, 8, &ws, NULL), NEXP_OK);
    CU_ASSERT_EQUAL_FATAL(nexp_optim_create(&c, m->n_params, &opt, NULL), NEXP_OK);
    nexp_rng rng;
    nexp_rng_seed(&rng, 3);
    for (int i = 0; i < 10; i++) {
        mlp_train_step(m, ws, opt, &rng);
    }
    double norm[2] = { 2.385, -0.173 };
    nexp_ckpt_state st = NEXP_CKPT_STATE_INIT;
    st.step = 10;
    st.rng = &rng;
    st.metadata = "nexp test --seed 3";
    st.extra = write_user_extra;
    st.extra_user = norm;
    const char *path = nexp_test_tmp("mlp_ckpt.h5");
    nexp_error err = NEXP_ERROR_INIT;
    CU_ASSERT_EQUAL_FATAL(nexp_checkpoint_save_mlp(path, m, opt, &st, &err), NEXP_OK);
    nexp_ckpt_info info;
    CU_ASSERT_EQUAL_FATAL(nexp_checkpoint_load_mlp(path, &back, &oback, &info, &err), NEXP_OK);
    CU_ASSERT(nexp_mlp_spec_equal(&back->spec, &m->spec));
    CU_ASSERT_EQUAL(memcmp(back->params, m->params, m->n_params * sizeof(double)), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(oback);
    CU_ASSERT_EQUAL(oback->step, 10);
    CU_ASSERT_EQUAL(oback->cfg.kind, NEXP_OPTIM_ADAMW);
    CU_ASSERT_EQUAL(oback->cfg.step_size, 7);
    CU_ASSERT_EQUAL(memcmp(oback->m1, opt->m1, opt->n * sizeof(double)), 0);
    CU_ASSERT_EQUAL(memcmp(oback->m2, opt->m2, opt->n * sizeof(double)), 0);
    CU_ASSERT_EQUAL(info.step, 10);
    CU_ASSERT(info.has_rng && memcmp(info.rng.s, rng.s, sizeof rng.s) == 0);
    CU_ASSERT_STRING_EQUAL(info.metadata, "nexp test --seed 3");
    nexp_ckpt_info_clear(&info);
    nexp_h5_file *h = NULL;
    double nb[2] = { 0, 0 };
    size_t dims[1] = { 2 };
    CU_ASSERT_EQUAL_FATAL(nexp_h5_open_read(&h, path, NULL), NEXP_OK);
    CU_ASSERT_EQUAL(nexp_h5_read_array(h, "user/normalisation", NEXP_H5_DOUBLE, 1, dims, nb, NULL), NEXP_OK);
    CU_ASSERT(nb[0] == 2.385 && nb[1] == -0.173);
    nexp_h5_close(h);
    nexp_optim_free(oback);
    nexp_mlp_free(back);
    nexp_optim_free(opt);
    nexp_mlp_workspace_free(ws);
    nexp_mlp_free(m);
}

/* Runs n steps from the current state, saving after k steps to path and, if resume, continuing
 * from what the file alone rebuilds. Returns the final model. */
static nexp_mlp *mlp_run(int n, int k, const char *path)
{
    nexp_mlp_spec spec;
    nexp_mlp_spec_init(&spec, 1, 16, 1, 1, NEXP_ACT_TANH, NULL);
    nexp_mlp *m = NULL;
    nexp_mlp_workspace *ws = NULL;
    nexp_optim *opt = NULL;
    nexp_optim_config c = NEXP_OPTIM_CONFIG_INIT;
    c.lr = 0.01;
    c.clip_norm = 0.5;
    c.schedule = NEXP_SCHEDULE_COSINE;
    c.total_steps = n;
    nexp_mlp_create(&spec, 21, &m, NULL);
    nexp_optim_create(&c, m->n_params, &opt, NULL);
    nexp_mlp_workspace_create(m, 8, &ws, NULL);
    nexp_rng rng;
    nexp_rng_seed(&rng, 1234);
    for (int it = 0; it < n; it++) {
        if (path != NULL && it == k) {
            nexp_ckpt_state st = NEXP_CKPT_STATE_INIT;
            st.step = it;
            st.rng = &rng;
            CU_ASSERT_EQUAL_FATAL(nexp_checkpoint_save_mlp(path, m, opt, &st, NULL), NEXP_OK);
            nexp_mlp_free(m);
            nexp_optim_free(opt);
            nexp_mlp_workspace_free(ws);
            memset(&rng, 0, sizeof rng);
            nexp_ckpt_info info;
            CU_ASSERT_EQUAL_FATAL(nexp_checkpoint_load_mlp(path, &m, &opt, &info, NULL), NEXP_OK);
            CU_ASSERT_EQUAL(info.step, k);
            rng = info.rng;
            nexp_ckpt_info_clear(&info);
            nexp_mlp_workspace_create(m, 8, &ws, NULL);
        }
        mlp_train_step(m, ws, opt, &rng);
    }
    nexp_optim_free(opt);
    nexp_mlp_workspace_free(ws);
    return m;
}

static void resuming_an_mlp_from_a_checkpoint_is_bit_identical(void)
{
    nexp_mlp *a = mlp_run(60, 0, NULL);
    nexp_mlp *b = mlp_run(60, 23, nexp_test_tmp("resume_mlp.h5"));
    CU_ASSERT_EQUAL(memcmp(a->params, b->params, a->n_params * sizeof(double)), 0);
    nexp_mlp_free(a);
    nexp_mlp_free(b);
}

/* The same for a U-Net trained with AdamW on random images; restore into existing objects. */
static void net_run(int n, int k, const char *path, float *out, size_t n_out)
{
    nexp_unet_config u = NEXP_UNET_CONFIG_INIT;
    u.widths[0] = 4, u.widths[1] = 6, u.widths[2] = 8;
    u.head_levels = 0x3;
    u.out_channels = 2;
    nexp_net_spec spec;
    nexp_unet_spec(&u, &spec, NULL);
    nexp_net *net = NULL;
    nexp_net_plan *plan = NULL;
    nexp_optim *opt = NULL;
    nexp_optim_config c = NEXP_OPTIM_CONFIG_INIT;
    c.kind = NEXP_OPTIM_ADAMW;
    c.weight_decay = 0.05;
    nexp_net_create(&spec, 4, &net, NULL);
    nexp_net_plan_create(net, 2, 16, 16, &plan, NULL);
    nexp_optim_create(&c, net->n_params, &opt, NULL);
    nexp_rng rng;
    nexp_rng_seed(&rng, 77);
    float x[2 * 3 * 256], d0[2 * 2 * 256], d1[2 * 2 * 64];
    for (int it = 0; it < n; it++) {
        if (path != NULL && it == k) {
            nexp_ckpt_state st = NEXP_CKPT_STATE_INIT;
            st.step = it;
            st.rng = &rng;
            CU_ASSERT_EQUAL_FATAL(nexp_checkpoint_save_net(path, net, opt, &st, NULL), NEXP_OK);
            nexp_net_init(net, 999); /* scramble, then restore */
            memset(opt->m1, 0, opt->n * sizeof(double));
            nexp_rng_seed(&rng, 5);
            nexp_ckpt_info info;
            CU_ASSERT_EQUAL_FATAL(nexp_checkpoint_restore_net(path, net, opt, &info, NULL), NEXP_OK);
            rng = info.rng;
            nexp_ckpt_info_clear(&info);
        }
        for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) {
            x[i] = (float)nexp_rng_uniform(&rng);
        }
        nexp_net_forward(net, plan, x, NULL);
        const float *o0 = nexp_net_output(plan, 0, NULL), *o1 = nexp_net_output(plan, 1, NULL);
        for (size_t i = 0; i < sizeof d0 / sizeof d0[0]; i++) {
            d0[i] = o0[i] - x[i];
        }
        for (size_t i = 0; i < sizeof d1 / sizeof d1[0]; i++) {
            d1[i] = o1[i];
        }
        const float *douts[2] = { d0, d1 };
        nexp_net_zero_grad(net);
        nexp_net_backward(net, plan, douts, NULL, net->grads, NULL);
        nexp_optim_step_f32(opt, net->params, net->grads, NULL, NULL);
    }
    CU_ASSERT_EQUAL(net->n_params, n_out);
    memcpy(out, net->params, n_out * sizeof(float));
    nexp_optim_free(opt);
    nexp_net_plan_free(plan);
    nexp_net_free(net);
}

static void resuming_a_unet_from_a_checkpoint_is_bit_identical(void)
{
    /* widths 4, 6, 8 with two heads of 2 channels */
    size_t n = (3 * 4 * 9 + 4) + (4 * 6 * 9 + 6) + (6 * 6 * 9 + 6) + (6 * 8 * 9 + 8) + (8 * 8 * 9 + 8) +
               (14 * 6 * 9 + 6) + (6 * 2 + 2) + (10 * 4 * 9 + 4) + (4 * 2 + 2);
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    net_run(6, 0, NULL, a, n);
    net_run(6, 2, nexp_test_tmp("resume_net.h5"), b, n);
    CU_ASSERT_EQUAL(memcmp(a, b, n * sizeof(float)), 0);
    free(a);
    free(b);
}

static void damaged_foreign_or_mismatched_checkpoints_give_clear_errors(void)
{
    nexp_mlp_spec spec, other;
    nexp_mlp_spec_init(&spec, 2, 50, 1, 2, NEXP_ACT_TANH, NULL);
    nexp_mlp_spec_init(&other, 2, 40, 1, 2, NEXP_ACT_TANH, NULL);
    nexp_mlp *m = NULL, *o = NULL, *back = NULL;
    nexp_mlp_create(&spec, 1, &m, NULL);
    nexp_mlp_create(&other, 2, &o, NULL);
    char good[4096];
    snprintf(good, sizeof good, "%s", nexp_test_tmp("good_ckpt.h5")); /* nexp_test_tmp reuses its buffer */
    CU_ASSERT_EQUAL_FATAL(nexp_checkpoint_save_mlp(good, m, NULL, NULL, NULL), NEXP_OK);
    size_t len = 0;
    unsigned char *bytes = nexp_test_read_bytes(good, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
    nexp_error err = NEXP_ERROR_INIT;
    /* truncated */
    const char *cut = nexp_test_tmp("truncated_ckpt.h5");
    nexp_test_write_bytes(cut, bytes, len / 2);
    CU_ASSERT_NOT_EQUAL(nexp_checkpoint_load_mlp(cut, &back, NULL, NULL, &err), NEXP_OK);
    CU_ASSERT_PTR_NULL(back);
    CU_ASSERT(strstr(err.msg, "truncated_ckpt.h5") != NULL);
    /* not HDF5 at all */
    nexp_error_clear(&err);
    const char *junk = nexp_test_tmp("junk_ckpt.h5");
    nexp_test_write_bytes(junk, "PIEH not a checkpoint", 21);
    CU_ASSERT_EQUAL(nexp_checkpoint_load_mlp(junk, &back, NULL, NULL, &err), NEXP_ERR_FORMAT);
    /* an HDF5 file that is not a checkpoint */
    nexp_error_clear(&err);
    const char *foreign = nexp_test_tmp("foreign_ckpt.h5");
    nexp_field *f = NULL;
    nexp_field_create(&f, 4, 3, 1, NULL);
    CU_ASSERT_EQUAL_FATAL(nexp_h5_write_field(foreign, NULL, f, NULL, NULL), NEXP_OK);
    nexp_field_free(f);
    CU_ASSERT_EQUAL(nexp_checkpoint_load_mlp(foreign, &back, NULL, NULL, &err), NEXP_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "not an nexp checkpoint") != NULL);
    /* a different architecture: restore refuses and leaves the model untouched */
    nexp_error_clear(&err);
    double keep = o->params[5];
    CU_ASSERT_EQUAL(nexp_checkpoint_restore_mlp(good, o, NULL, NULL, &err), NEXP_ERR_MISMATCH);
    CU_ASSERT(strstr(err.msg, "model spec differs") != NULL && strstr(err.msg, "2 50:tanh 2:identity") != NULL &&
              strstr(err.msg, "2 40:tanh 2:identity") != NULL);
    CU_ASSERT_EQUAL(o->params[5], keep);
    /* asking for an optimiser state that was not saved */
    nexp_optim_config c = NEXP_OPTIM_CONFIG_INIT;
    nexp_optim *opt = NULL;
    nexp_optim_create(&c, m->n_params, &opt, NULL);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_checkpoint_restore_mlp(good, m, opt, NULL, &err), NEXP_ERR_FORMAT);
    CU_ASSERT(strstr(err.msg, "no optimiser state") != NULL);
    /* a net checkpoint read as an MLP */
    nexp_net_spec ns;
    nexp_net_spec_begin(&ns, 1, NULL);
    nexp_net_mark_head(&ns, nexp_net_add_conv(&ns, 0, 2, 3, 1, NEXP_PAD_ZERO, NEXP_ACT_RELU, NULL), NULL);
    nexp_net *net = NULL;
    nexp_net_create(&ns, 1, &net, NULL);
    const char *netp = nexp_test_tmp("net_ckpt.h5");
    CU_ASSERT_EQUAL_FATAL(nexp_checkpoint_save_net(netp, net, NULL, NULL, NULL), NEXP_OK);
    nexp_error_clear(&err);
    CU_ASSERT_EQUAL(nexp_checkpoint_load_mlp(netp, &back, NULL, NULL, &err), NEXP_ERR_MISMATCH);
    CU_ASSERT(strstr(err.msg, "holds a \"net\" model") != NULL);
    nexp_net *nback = NULL;
    CU_ASSERT_EQUAL(nexp_checkpoint_load_net(netp, &nback, NULL, NULL, NULL), NEXP_OK);
    CU_ASSERT(nback != NULL && memcmp(nback->params, net->params, net->n_params * sizeof(float)) == 0);
    nexp_net_free(nback);
    nexp_net_free(net);
    nexp_optim_free(opt);
    free(bytes);
    nexp_mlp_free(m);
    nexp_mlp_free(o);
}

static CU_TestInfo tests[] = {
    { "mlp_vjp_and_jvp_match_central_differences_for_every_activation",
      mlp_vjp_and_jvp_match_central_differences_for_every_activation },
    { "mlp_batch_rows_are_independent_samples", mlp_batch_rows_are_independent_samples },
    { "mlp_products_from_several_threads_match_serial_results",
      mlp_products_from_several_threads_match_serial_results },
    { "mlp_init_is_seeded_and_scaled_by_fan_in", mlp_init_is_seeded_and_scaled_by_fan_in },
    { "mlp_spec_text_round_trips_and_bad_text_is_refused", mlp_spec_text_round_trips_and_bad_text_is_refused },
    { "every_activation_backward_matches_central_differences", every_activation_backward_matches_central_differences },
    { "dense_backward_matches_central_differences", dense_backward_matches_central_differences },
    { "overwriting_backward_variants_equal_accumulation_from_zero",
      overwriting_backward_variants_equal_accumulation_from_zero },
    { "convolutions_backward_match_central_differences", convolutions_backward_match_central_differences },
    { "bcos_backward_matches_central_differences_and_output_is_bounded_by_the_norm",
      bcos_backward_matches_central_differences_and_output_is_bounded_by_the_norm },
    { "upsampling_pooling_and_concat_backward_match_central_differences",
      upsampling_pooling_and_concat_backward_match_central_differences },
    { "float_kernels_agree_with_double_kernels", float_kernels_agree_with_double_kernels },
    { "optimisers_follow_their_update_rules", optimisers_follow_their_update_rules },
    { "clipping_rescales_to_the_norm_and_nonfinite_gradients_are_skipped",
      clipping_rescales_to_the_norm_and_nonfinite_gradients_are_skipped },
    { "schedules_decay_as_documented", schedules_decay_as_documented },
    { "mlp_learns_sin_on_minus_pi_to_pi", mlp_learns_sin_on_minus_pi_to_pi },
    { "unet_gradients_match_central_differences_with_two_heads",
      unet_gradients_match_central_differences_with_two_heads },
    { "graph_with_bcos_pooling_and_activations_has_exact_gradients",
      graph_with_bcos_pooling_and_activations_has_exact_gradients },
    { "net_spec_text_round_trips_and_errors_name_the_line", net_spec_text_round_trips_and_errors_name_the_line },
    { "tiny_conv_net_learns_a_known_3x3_filter", tiny_conv_net_learns_a_known_3x3_filter },
    { "unet_results_do_not_depend_on_the_thread_count", unet_results_do_not_depend_on_the_thread_count },
    { "mlp_checkpoint_round_trips_parameters_optimiser_rng_and_metadata",
      mlp_checkpoint_round_trips_parameters_optimiser_rng_and_metadata },
    { "resuming_an_mlp_from_a_checkpoint_is_bit_identical", resuming_an_mlp_from_a_checkpoint_is_bit_identical },
    { "resuming_a_unet_from_a_checkpoint_is_bit_identical", resuming_a_unet_from_a_checkpoint_is_bit_identical },
    { "damaged_foreign_or_mismatched_checkpoints_give_clear_errors",
      damaged_foreign_or_mismatched_checkpoints_give_clear_errors },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return nexp_test_run("nn", tests);
}
