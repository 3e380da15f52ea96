/* nn module: layers, MLP products, models, optimisers, checkpoints. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexp.h"
#include "nexp_layers.h"
#include "nexp_mlp.h"
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

static CU_TestInfo tests[] = {
    { "mlp_vjp_and_jvp_match_central_differences_for_every_activation",
      mlp_vjp_and_jvp_match_central_differences_for_every_activation },
    { "mlp_batch_rows_are_independent_samples", mlp_batch_rows_are_independent_samples },
    { "mlp_init_is_seeded_and_scaled_by_fan_in", mlp_init_is_seeded_and_scaled_by_fan_in },
    { "mlp_spec_text_round_trips_and_bad_text_is_refused", mlp_spec_text_round_trips_and_bad_text_is_refused },
    CU_TEST_INFO_NULL,
};

int main(void)
{
    return nexp_test_run("nn", tests);
}
