#include "nexp_mlp.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nexp_rng.h"
#include "nexp_core.h"

struct nexp_mlp_workspace {
    int max_batch;
    int n_layers;
    size_t max_width;
    double *z[NEXP_MLP_MAX_LAYERS]; /* pre-activations of layer l, (max_batch, width[l+1]) */
    double *a[NEXP_MLP_MAX_LAYERS]; /* activations of layer l; equals z[l] for identity */
    double *g0, *g1, *g2;           /* three (max_batch, max_width) scratch buffers */
    double *block;                  /* the one allocation behind all of the above */
};

nexp_status nexp_mlp_spec_check(const nexp_mlp_spec *spec, nexp_error *err)
{
    if (spec == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "mlp spec: NULL");
    }
    if (spec->n_layers < 1 || spec->n_layers > NEXP_MLP_MAX_LAYERS) {
        return nexp_error_set(err, NEXP_ERR_ARG, "mlp spec: %d layers, expected 1..%d", spec->n_layers,
                              NEXP_MLP_MAX_LAYERS);
    }
    for (int l = 0; l <= spec->n_layers; l++) {
        if (spec->width[l] < 1 || spec->width[l] > NEXP_MLP_MAX_WIDTH) {
            return nexp_error_set(err, NEXP_ERR_ARG, "mlp spec: width[%d] = %d, expected 1..%d", l, spec->width[l],
                                  NEXP_MLP_MAX_WIDTH);
        }
    }
    for (int l = 0; l < spec->n_layers; l++) {
        if ((int)spec->act[l] < 0 || spec->act[l] >= NEXP_ACT_COUNT_) {
            return nexp_error_set(err, NEXP_ERR_ARG, "mlp spec: layer %d has unknown activation %d", l,
                                  (int)spec->act[l]);
        }
    }
    return NEXP_OK;
}

nexp_status nexp_mlp_spec_init(nexp_mlp_spec *spec, int in, int hidden, int n_hidden, int out, nexp_act act,
                               nexp_error *err)
{
    if (spec == NULL || n_hidden < 0 || n_hidden + 1 > NEXP_MLP_MAX_LAYERS) {
        return nexp_error_set(err, NEXP_ERR_ARG, "mlp spec: %d hidden layers, expected 0..%d", n_hidden,
                              NEXP_MLP_MAX_LAYERS - 1);
    }
    memset(spec, 0, sizeof *spec);
    spec->n_layers = n_hidden + 1;
    spec->width[0] = in;
    for (int l = 0; l < n_hidden; l++) {
        spec->width[l + 1] = hidden;
        spec->act[l] = act;
    }
    spec->width[n_hidden + 1] = out;
    spec->act[n_hidden] = NEXP_ACT_IDENTITY;
    return nexp_mlp_spec_check(spec, err);
}

int nexp_mlp_spec_format(const nexp_mlp_spec *spec, char *buf, size_t len)
{
    char tmp[NEXP_MLP_MAX_LAYERS * 32 + 16];
    int used = snprintf(tmp, sizeof tmp, "%d", spec->width[0]);
    for (int l = 0; l < spec->n_layers && l < NEXP_MLP_MAX_LAYERS; l++) {
        used += snprintf(tmp + used, sizeof tmp - (size_t)used, " %d:%s", spec->width[l + 1],
                         nexp_act_name(spec->act[l]));
    }
    if (buf != NULL && len > 0) {
        snprintf(buf, len, "%s", tmp);
    }
    return used;
}

static const char *skip_space(const char *p)
{
    while (*p != '\0' && isspace((unsigned char)*p)) {
        p++;
    }
    return p;
}

static int parse_width(const char *p, const char **end)
{
    errno = 0;
    char *e = NULL;
    long v = strtol(p, &e, 10);
    if (e == p || errno != 0 || v < 1 || v > NEXP_MLP_MAX_WIDTH) {
        return -1;
    }
    *end = e;
    return (int)v;
}

nexp_status nexp_mlp_spec_parse(const char *text, nexp_mlp_spec *spec, nexp_error *err)
{
    if (text == NULL || spec == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "mlp spec: NULL text");
    }
    nexp_mlp_spec s;
    memset(&s, 0, sizeof s);
    const char *p = skip_space(text);
    const char *e = NULL;
    if ((s.width[0] = parse_width(p, &e)) < 0) {
        return nexp_error_set(err, NEXP_ERR_FORMAT, "mlp spec \"%s\": expected the input width first", text);
    }
    p = skip_space(e);
    while (*p != '\0') {
        if (s.n_layers == NEXP_MLP_MAX_LAYERS) {
            return nexp_error_set(err, NEXP_ERR_FORMAT, "mlp spec \"%s\": more than %d layers", text,
                                  NEXP_MLP_MAX_LAYERS);
        }
        int w = parse_width(p, &e);
        if (w < 0 || *e != ':') {
            return nexp_error_set(err, NEXP_ERR_FORMAT, "mlp spec \"%s\": expected width:activation at \"%s\"",
                                  text, p);
        }
        p = e + 1;
        char name[32];
        size_t n = 0;
        while (p[n] != '\0' && !isspace((unsigned char)p[n]) && n + 1 < sizeof name) {
            name[n] = p[n];
            n++;
        }
        name[n] = '\0';
        int act = nexp_act_from_name(name);
        if (act < 0) {
            return nexp_error_set(err, NEXP_ERR_FORMAT, "mlp spec \"%s\": unknown activation \"%s\"", text, name);
        }
        s.width[s.n_layers + 1] = w;
        s.act[s.n_layers] = (nexp_act)act;
        s.n_layers++;
        p = skip_space(p + n);
    }
    if (s.n_layers == 0) {
        return nexp_error_set(err, NEXP_ERR_FORMAT, "mlp spec \"%s\": no layers", text);
    }
    *spec = s;
    return NEXP_OK;
}

int nexp_mlp_spec_equal(const nexp_mlp_spec *a, const nexp_mlp_spec *b)
{
    if (a->n_layers != b->n_layers) {
        return 0;
    }
    for (int l = 0; l <= a->n_layers; l++) {
        if (a->width[l] != b->width[l]) {
            return 0;
        }
    }
    for (int l = 0; l < a->n_layers; l++) {
        if (a->act[l] != b->act[l]) {
            return 0;
        }
    }
    return 1;
}

nexp_status nexp_mlp_create(const nexp_mlp_spec *spec, uint64_t seed, nexp_mlp **out, nexp_error *err)
{
    if (out == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "mlp create: NULL output");
    }
    *out = NULL;
    nexp_status st = nexp_mlp_spec_check(spec, err);
    if (st != NEXP_OK) {
        return st;
    }
    nexp_mlp *m = calloc(1, sizeof *m);
    if (m == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "mlp create: out of memory");
    }
    m->spec = *spec;
    size_t off = 0;
    for (int l = 0; l < spec->n_layers; l++) {
        nexp_tensor_view *w = &m->tensors[2 * l], *b = &m->tensors[2 * l + 1];
        snprintf(w->name, sizeof w->name, "dense%d.weight", l);
        w->offset = off;
        w->ndim = 2;
        w->shape[0] = spec->width[l + 1];
        w->shape[1] = spec->width[l];
        w->size = (size_t)w->shape[0] * (size_t)w->shape[1];
        off += w->size;
        snprintf(b->name, sizeof b->name, "dense%d.bias", l);
        b->offset = off;
        b->ndim = 1;
        b->shape[0] = spec->width[l + 1];
        b->size = (size_t)b->shape[0];
        off += b->size;
    }
    m->n_tensors = 2 * spec->n_layers;
    m->n_params = off;
    char what[64];
    snprintf(what, sizeof what, "an MLP of %zu parameters", off);
    if (off > SIZE_MAX / (2 * sizeof(double)) ||
        nexp_memory_check(2 * off * sizeof(double), what, err) != NEXP_OK) {
        nexp_mlp_free(m);
        return nexp_error_set(err, NEXP_ERR_TOO_LARGE, "%s is too large", what);
    }
    m->params = calloc(off, sizeof(double));
    m->grads = calloc(off, sizeof(double));
    if (m->params == NULL || m->grads == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "mlp create: out of memory for %zu parameters", off);
        goto fail;
    }
    nexp_mlp_init(m, seed);
    *out = m;
    return NEXP_OK;
fail:
    nexp_mlp_free(m);
    return st;
}

void nexp_mlp_free(nexp_mlp *mlp)
{
    if (mlp == NULL) {
        return;
    }
    free(mlp->params);
    free(mlp->grads);
    free(mlp);
}

void nexp_mlp_init(nexp_mlp *mlp, uint64_t seed)
{
    nexp_rng rng;
    nexp_rng_seed(&rng, seed);
    for (int l = 0; l < mlp->spec.n_layers; l++) {
        int fan_in = mlp->spec.width[l], fan_out = mlp->spec.width[l + 1];
        double *w = nexp_mlp_weight(mlp, mlp->params, l);
        size_t n = (size_t)fan_in * (size_t)fan_out;
        nexp_act a = mlp->spec.act[l];
        if (a == NEXP_ACT_RELU || a == NEXP_ACT_LEAKY_RELU || a == NEXP_ACT_GELU || a == NEXP_ACT_SOFTPLUS) {
            double sd = sqrt(2.0 / fan_in);
            for (size_t i = 0; i < n; i++) {
                w[i] = sd * nexp_rng_normal(&rng);
            }
        } else {
            double lim = sqrt(6.0 / (fan_in + fan_out));
            for (size_t i = 0; i < n; i++) {
                w[i] = nexp_rng_range(&rng, -lim, lim);
            }
        }
        memset(nexp_mlp_bias(mlp, mlp->params, l), 0, (size_t)fan_out * sizeof(double));
    }
}

void nexp_mlp_zero_grad(nexp_mlp *mlp)
{
    memset(mlp->grads, 0, mlp->n_params * sizeof(double));
}

double *nexp_mlp_weight(const nexp_mlp *mlp, double *block, int layer)
{
    return block + mlp->tensors[2 * layer].offset;
}

double *nexp_mlp_bias(const nexp_mlp *mlp, double *block, int layer)
{
    return block + mlp->tensors[2 * layer + 1].offset;
}

nexp_status nexp_mlp_workspace_create(const nexp_mlp *mlp, int max_batch, nexp_mlp_workspace **out,
                                      nexp_error *err)
{
    if (out == NULL || mlp == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "mlp workspace: NULL argument");
    }
    *out = NULL;
    if (max_batch < 1) {
        return nexp_error_set(err, NEXP_ERR_ARG, "mlp workspace: max_batch = %d, expected >= 1", max_batch);
    }
    const nexp_mlp_spec *s = &mlp->spec;
    size_t maxw = 0, total = 0;
    for (int l = 0; l <= s->n_layers; l++) {
        maxw = (size_t)s->width[l] > maxw ? (size_t)s->width[l] : maxw;
    }
    for (int l = 0; l < s->n_layers; l++) {
        total += (size_t)s->width[l + 1] * (s->act[l] == NEXP_ACT_IDENTITY ? 1 : 2);
    }
    total += 3 * maxw;
    if (total > ((size_t)1 << 40) / (size_t)max_batch) {
        return nexp_error_set(err, NEXP_ERR_TOO_LARGE, "mlp workspace: %d samples of %zu values too large",
                              max_batch, total);
    }
    char what[80];
    snprintf(what, sizeof what, "an MLP workspace for %d samples", max_batch);
    nexp_status cst = nexp_memory_check(total * (size_t)max_batch * sizeof(double), what, err);
    if (cst != NEXP_OK) {
        return cst;
    }
    nexp_mlp_workspace *ws = calloc(1, sizeof *ws);
    if (ws == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "mlp workspace: out of memory");
    }
    ws->block = calloc(total * (size_t)max_batch, sizeof(double));
    if (ws->block == NULL) {
        free(ws);
        return nexp_error_set(err, NEXP_ERR_NOMEM, "mlp workspace: out of memory for %d samples", max_batch);
    }
    ws->max_batch = max_batch;
    ws->n_layers = s->n_layers;
    ws->max_width = maxw;
    double *p = ws->block;
    for (int l = 0; l < s->n_layers; l++) {
        size_t n = (size_t)s->width[l + 1] * (size_t)max_batch;
        ws->z[l] = p;
        p += n;
        if (s->act[l] == NEXP_ACT_IDENTITY) {
            ws->a[l] = ws->z[l];
        } else {
            ws->a[l] = p;
            p += n;
        }
    }
    ws->g0 = p;
    ws->g1 = p + maxw * (size_t)max_batch;
    ws->g2 = p + 2 * maxw * (size_t)max_batch;
    *out = ws;
    return NEXP_OK;
}

void nexp_mlp_workspace_free(nexp_mlp_workspace *ws)
{
    if (ws == NULL) {
        return;
    }
    free(ws->block);
    free(ws);
}

static nexp_status check_call(const nexp_mlp *mlp, const nexp_mlp_workspace *ws, int B, const char *what,
                              nexp_error *err)
{
    if (mlp == NULL || ws == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "mlp %s: NULL model or workspace", what);
    }
    if (ws->n_layers != mlp->spec.n_layers) {
        return nexp_error_set(err, NEXP_ERR_MISMATCH, "mlp %s: workspace made for another model", what);
    }
    if (B < 1 || B > ws->max_batch) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "mlp %s: batch %d, workspace holds 1..%d", what, B,
                              ws->max_batch);
    }
    return NEXP_OK;
}

/* Fills ws->z and ws->a for batch x. */
static void mlp_forward_into(const nexp_mlp *mlp, nexp_mlp_workspace *ws, int B, const double *x)
{
    const nexp_mlp_spec *s = &mlp->spec;
    const double *in = x;
    for (int l = 0; l < s->n_layers; l++) {
        nexp_dense_forward_f64(B, s->width[l], s->width[l + 1], in, nexp_mlp_weight(mlp, mlp->params, l),
                               nexp_mlp_bias(mlp, mlp->params, l), ws->z[l]);
        if (s->act[l] != NEXP_ACT_IDENTITY) {
            nexp_act_forward_f64(s->act[l], (size_t)B * (size_t)s->width[l + 1], ws->z[l], ws->a[l]);
        }
        in = ws->a[l];
    }
}

static void copy_output(const nexp_mlp *mlp, const nexp_mlp_workspace *ws, int B, double *y)
{
    int L = mlp->spec.n_layers;
    memcpy(y, ws->a[L - 1], (size_t)B * (size_t)mlp->spec.width[L] * sizeof(double));
}

/* The start of every evaluation: checks the call (what names it in errors), runs the forward pass
 * and copies the output into y when y is not NULL. */
static nexp_status checked_forward(const nexp_mlp *mlp, nexp_mlp_workspace *ws, int B, const double *x, double *y,
                                   const char *what, nexp_error *err)
{
    nexp_status st = check_call(mlp, ws, B, what, err);
    if (st != NEXP_OK) {
        return st;
    }
    mlp_forward_into(mlp, ws, B, x);
    if (y != NULL) {
        copy_output(mlp, ws, B, y);
    }
    return NEXP_OK;
}

nexp_status nexp_mlp_forward(const nexp_mlp *mlp, nexp_mlp_workspace *ws, int B, const double *x, double *y,
                             nexp_error *err)
{
    return checked_forward(mlp, ws, B, x, y, "forward", err);
}

nexp_status nexp_mlp_vjp(const nexp_mlp *mlp, nexp_mlp_workspace *ws, int B, const double *x, const double *v,
                         double *y, double *dx, double *dtheta, nexp_error *err)
{
    nexp_status st = checked_forward(mlp, ws, B, x, y, "vjp", err);
    if (st != NEXP_OK) {
        return st;
    }
    const nexp_mlp_spec *s = &mlp->spec;
    /* g: gradient with respect to the activations of layer l (starts as v). gz: w.r.t. its
     * pre-activations. The gradient for a layer's input goes to the other scratch buffer. */
    const double *g = v;
    double *bufs[2] = { ws->g0, ws->g1 };
    int which = 0;
    for (int l = s->n_layers - 1; l >= 0; l--) {
        size_t nout = (size_t)B * (size_t)s->width[l + 1];
        const double *gz = g;
        if (s->act[l] != NEXP_ACT_IDENTITY) {
            double *buf = bufs[which];
            nexp_act_backward_set_f64(s->act[l], nout, ws->z[l], ws->a[l], g, buf);
            gz = buf;
            which ^= 1;
        }
        const double *in = l > 0 ? ws->a[l - 1] : x;
        const double *W = nexp_mlp_weight(mlp, mlp->params, l);
        double *gin = NULL;
        if (l > 0) { /* into scratch, overwritten */
            gin = bufs[which];
            nexp_dense_input_grad_f64(B, s->width[l], s->width[l + 1], W, gz, gin);
            which ^= 1;
        }
        /* the caller's dx (layer 0) accumulates */
        nexp_dense_backward_f64(B, s->width[l], s->width[l + 1], in, W, gz, l == 0 ? dx : NULL,
                                dtheta != NULL ? nexp_mlp_weight(mlp, dtheta, l) : NULL,
                                dtheta != NULL ? nexp_mlp_bias(mlp, dtheta, l) : NULL);
        g = gin;
    }
    return NEXP_OK;
}

nexp_status nexp_mlp_jvp(const nexp_mlp *mlp, nexp_mlp_workspace *ws, int B, const double *x, const double *w,
                         double *y, double *jw, nexp_error *err)
{
    nexp_status st = checked_forward(mlp, ws, B, x, y, "jvp", err);
    if (st != NEXP_OK) {
        return st;
    }
    const nexp_mlp_spec *s = &mlp->spec;
    /* Tangent propagation: t_{l+1} = f_l'(z_l) * (W_l t_l). */
    const double *t = w;
    double *bufs[2] = { ws->g0, ws->g1 };
    int which = 0;
    for (int l = 0; l < s->n_layers; l++) {
        int last = l == s->n_layers - 1;
        double *tz = last ? jw : bufs[which];
        which ^= 1;
        nexp_dense_forward_f64(B, s->width[l], s->width[l + 1], t, nexp_mlp_weight(mlp, mlp->params, l), NULL, tz);
        if (s->act[l] != NEXP_ACT_IDENTITY) {
            size_t n = (size_t)B * (size_t)s->width[l + 1];
            nexp_act_derivative_f64(s->act[l], n, ws->z[l], ws->a[l], ws->g2);
            for (size_t i = 0; i < n; i++) {
                tz[i] *= ws->g2[i];
            }
        }
        t = tz;
    }
    return NEXP_OK;
}
