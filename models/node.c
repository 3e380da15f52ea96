/* Neural ODE / UDE model: right-hand side, exact Jacobian products, losses and their gradients. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clones_internal.h"
#include "nexp_layers.h"
#include "nexp_node.h"

struct nexp_node_work {
    const nexp_node *m;
    int max_batch;
    int B;                  /* trajectories of the current system */
    const double *t_offset; /* (B) or NULL */
    nexp_mlp_workspace *ws;
    double *z, *x, *u, *o;  /* (max_batch, n) */
    double *a, *da, *pre, *dpre; /* (max_batch, max width): forward-mode tangent through the network */
    double *gy, *gp;        /* physics scratch: (n), (np) */
    /* the loss of the current batch */
    const nexp_node_batch *batch;
    nexp_node_loss loss_kind;
};

nexp_status nexp_node_physics_builtin(const char *name, nexp_node_physics *out, nexp_error *err)
{
    const nexp_ode_builtin *b = nexp_ode_builtin_find(name);
    if (b == NULL || out == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG,
                              "unknown physics '%s' (built-ins: lotka-volterra, pendulum, pk, linear, spiral, "
                              "lorenz, robertson; or none)",
                              name ? name : "(null)");
    }
    double dummy[16] = { 0 };
    nexp_ode_system sys;
    nexp_status st = nexp_ode_builtin_system(name, dummy, &sys, err);
    if (st != NEXP_OK) {
        return st;
    }
    out->name = b->name;
    out->n = b->n;
    out->np = b->np;
    out->p0 = b->params;
    out->f = sys.f;
    out->jvp = sys.jvp;
    out->vjp = sys.vjp;
    return NEXP_OK;
}

void nexp_node_free(nexp_node *m)
{
    if (m == NULL) {
        return;
    }
    if (m->mlp != NULL && m->mlp_own_params != NULL) {
        m->mlp->params = m->mlp_own_params;
    }
    nexp_mlp_free(m->mlp);
    free(m->params);
    free(m->mu);
    free(m->sigma);
    free(m);
}

double *nexp_node_physics_params(nexp_node *m)
{
    return m->params + m->n_theta;
}

nexp_status nexp_node_create(const nexp_node_spec *spec, uint64_t seed, nexp_node **out, nexp_error *err)
{
    if (out == NULL || spec == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "node: no spec or output");
    }
    *out = NULL;
    if (spec->n < 1 || spec->n > 4096 || spec->hidden < 0 || (spec->hidden > 0 && spec->layers < 1) ||
        !isfinite(spec->net_scale)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "node: need 1..4096 states, hidden >= 0 and layers >= 1");
    }
    nexp_node_physics phys = { 0 };
    if (spec->custom != NULL) {
        phys = *spec->custom;
        if (phys.f == NULL || phys.vjp == NULL || phys.np < 0) {
            return nexp_error_set(err, NEXP_ERR_ARG, "node: custom physics needs f and vjp (and np >= 0)");
        }
    } else if (spec->physics != NULL && strcmp(spec->physics, "none") != 0) {
        nexp_status st = nexp_node_physics_builtin(spec->physics, &phys, err);
        if (st != NEXP_OK) {
            return st;
        }
    }
    if (phys.f != NULL && phys.n != spec->n) {
        return nexp_error_set(err, NEXP_ERR_MISMATCH, "node: physics '%s' has %d states, the data has %d",
                              phys.name ? phys.name : "custom", phys.n, spec->n);
    }
    if (phys.f == NULL && spec->hidden == 0) {
        return nexp_error_set(err, NEXP_ERR_ARG, "node: a model needs a network (hidden > 0), physics or both");
    }
    nexp_node *m = calloc(1, sizeof *m);
    if (m == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "node: out of memory");
    }
    nexp_status st = NEXP_OK;
    m->n = spec->n;
    m->input = spec->input;
    m->time_input = spec->hidden > 0 && spec->time_input ? 1 : 0;
    m->t_mu = 0.0;
    m->t_sigma = 1.0;
    m->physics = phys;
    snprintf(m->physics_name, sizeof m->physics_name, "%s", phys.f ? (phys.name ? phys.name : "custom") : "none");
    m->physics.name = m->physics_name;
    if (spec->hidden > 0) {
        nexp_mlp_spec ms;
        if ((st = nexp_mlp_spec_init(&ms, spec->n + m->time_input, spec->hidden, spec->layers, spec->n, spec->act,
                                     err)) ||
            (st = nexp_mlp_create(&ms, seed, &m->mlp, err))) {
            goto fail;
        }
        int last = ms.n_layers - 1;
        double *w = nexp_mlp_weight(m->mlp, m->mlp->params, last), *b = nexp_mlp_bias(m->mlp, m->mlp->params, last);
        for (int i = 0; i < ms.width[last + 1] * ms.width[last]; i++) {
            w[i] *= spec->net_scale;
        }
        for (int i = 0; i < ms.width[last + 1]; i++) {
            b[i] *= spec->net_scale;
        }
        m->n_theta = (int)m->mlp->n_params;
    }
    m->np = phys.f ? phys.np : 0;
    m->n_params = m->n_theta + m->np;
    m->params = calloc((size_t)m->n_params + 1, sizeof *m->params);
    m->mu = calloc((size_t)m->n, sizeof *m->mu);
    m->sigma = malloc((size_t)m->n * sizeof *m->sigma);
    if (m->params == NULL || m->mu == NULL || m->sigma == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "node: out of memory");
        goto fail;
    }
    for (int i = 0; i < m->n; i++) {
        m->sigma[i] = 1.0;
    }
    if (m->mlp != NULL) {
        /* one parameter block: the network's weights become a view into m->params */
        memcpy(m->params, m->mlp->params, (size_t)m->n_theta * sizeof *m->params);
        m->mlp_own_params = m->mlp->params;
        m->mlp->params = m->params;
    }
    if (m->np > 0 && phys.p0 != NULL) {
        memcpy(m->params + m->n_theta, phys.p0, (size_t)m->np * sizeof *m->params);
    }
    *out = m;
    return NEXP_OK;
fail:
    nexp_node_free(m);
    return st;
}

nexp_status nexp_node_set_time_normalisation(nexp_node *m, double t_mu, double t_sigma, nexp_error *err)
{
    if (!isfinite(t_mu) || !(t_sigma > 0.0) || !isfinite(t_sigma)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "node: time normalisation needs a finite mean and a positive scale");
    }
    m->t_mu = t_mu;
    m->t_sigma = t_sigma;
    return NEXP_OK;
}

nexp_status nexp_node_set_normalisation(nexp_node *m, const double *mu, const double *sigma, nexp_error *err)
{
    for (int i = 0; i < m->n; i++) {
        if (!isfinite(mu[i]) || !(sigma[i] > 0.0) || !isfinite(sigma[i])) {
            return nexp_error_set(err, NEXP_ERR_ARG, "node: normalisation of state %d needs a finite mean and a "
                                  "positive scale", i);
        }
    }
    memcpy(m->mu, mu, (size_t)m->n * sizeof *mu);
    memcpy(m->sigma, sigma, (size_t)m->n * sizeof *sigma);
    return NEXP_OK;
}

void nexp_node_work_free(nexp_node_work *w)
{
    if (w == NULL) {
        return;
    }
    nexp_mlp_workspace_free(w->ws);
    free(w->z);
    free(w->a);
    free(w->gy);
    free(w);
}

static int max_width(const nexp_node *m)
{
    int wmax = m->n;
    if (m->mlp != NULL) {
        for (int l = 0; l <= m->mlp->spec.n_layers; l++) {
            wmax = m->mlp->spec.width[l] > wmax ? m->mlp->spec.width[l] : wmax;
        }
    }
    return wmax;
}

nexp_status nexp_node_work_create(const nexp_node *m, int max_batch, nexp_node_work **out, nexp_error *err)
{
    if (m == NULL || out == NULL || max_batch < 1) {
        return nexp_error_set(err, NEXP_ERR_ARG, "node: work area needs a model and max_batch >= 1");
    }
    *out = NULL;
    nexp_node_work *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "node: out of memory");
    }
    nexp_status st = NEXP_OK;
    w->m = m;
    w->max_batch = max_batch;
    size_t bn = (size_t)max_batch * (m->n + 1), bw = (size_t)max_batch * max_width(m);
    w->z = malloc(4 * bn * sizeof *w->z);
    w->a = malloc(4 * bw * sizeof *w->a);
    w->gy = malloc(((size_t)m->n + m->np + 1) * sizeof *w->gy);
    if (w->z == NULL || w->a == NULL || w->gy == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "node: out of memory");
        goto fail;
    }
    w->x = w->z + bn;
    w->u = w->x + bn;
    w->o = w->u + bn;
    w->da = w->a + bw;
    w->pre = w->da + bw;
    w->dpre = w->pre + bw;
    w->gp = w->gy + m->n;
    if (m->mlp != NULL && (st = nexp_mlp_workspace_create(m->mlp, max_batch, &w->ws, err)) != NEXP_OK) {
        goto fail;
    }
    *out = w;
    return NEXP_OK;
fail:
    nexp_node_work_free(w);
    return st;
}

/* ---- the right-hand side and its products ----------------------------------------------------- */

static double toff(const nexp_node_work *w, int b)
{
    return w->t_offset ? w->t_offset[b] : 0.0;
}

/* z = (y - mu) / sigma and the network's rows x = (phi(z), [(t - t_mu) / t_sigma]) (width nin). */
NEXP_CLONES
static void net_inputs(const nexp_node *m, nexp_node_work *w, double t, const double *y)
{
    const int n = m->n, nin = n + m->time_input;
    for (int b = 0; b < w->B; b++) {
        for (int i = 0; i < n; i++) {
            double z = (y[b * n + i] - m->mu[i]) / m->sigma[i];
            w->z[b * n + i] = z;
            w->x[b * nin + i] = m->input == NEXP_NODE_INPUT_CUBE ? z * z * z : z;
        }
        if (m->time_input) {
            w->x[b * nin + n] = (t + toff(w, b) - m->t_mu) / m->t_sigma;
        }
    }
}

static double dphi(const nexp_node *m, double z)
{
    return m->input == NEXP_NODE_INPUT_CUBE ? 3.0 * z * z : 1.0;
}

static int node_rhs(double t, const double *y, double *ydot, void *user)
{
    nexp_node_work *w = user;
    const nexp_node *m = w->m;
    const int n = m->n, B = w->B;
    if (m->mlp != NULL) {
        net_inputs(m, w, t, y);
        if (nexp_mlp_forward(m->mlp, w->ws, B, w->x, w->o, NULL) != NEXP_OK) {
            return -1;
        }
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < n; i++) {
                ydot[b * n + i] = m->sigma[i] * w->o[b * n + i];
            }
        }
    } else {
        memset(ydot, 0, (size_t)B * n * sizeof *ydot);
    }
    if (m->physics.f != NULL) {
        double *p = m->params + m->n_theta;
        for (int b = 0; b < B; b++) {
            int rc = m->physics.f(t + toff(w, b), y + b * n, w->gy, p);
            if (rc != 0) {
                return rc;
            }
            for (int i = 0; i < n; i++) {
                ydot[b * n + i] += w->gy[i];
            }
        }
    }
    for (int i = 0; i < B * n; i++) {
        if (!isfinite(ydot[i])) {
            return 1; /* recoverable: let the solver retry with a smaller step */
        }
    }
    return 0;
}

/* Adds the known physics' vector-Jacobian products (w.r.t. y into wy, w.r.t. its parameters into
 * wp when not NULL) for each of the w->B states; 0 or the physics' non-zero return code. */
static int physics_vjp_add(const nexp_node *m, nexp_node_work *w, double t, const double *y, const double *wv,
                           double *wy, double *wp)
{
    if (m->physics.f == NULL) {
        return 0;
    }
    const int n = m->n;
    double *p = m->params + m->n_theta;
    for (int b = 0; b < w->B; b++) {
        int rc = m->physics.vjp(t + toff(w, b), y + b * n, wv + b * n, w->gy, wp ? w->gp : NULL, p);
        if (rc != 0) {
            return rc;
        }
        for (int i = 0; i < n; i++) {
            wy[b * n + i] += w->gy[i];
        }
        for (int k = 0; wp != NULL && k < m->np; k++) {
            wp[m->n_theta + k] += w->gp[k];
        }
    }
    return 0;
}

static int node_vjp(double t, const double *y, const double *wv, double *wy, double *wp, void *user)
{
    nexp_node_work *w = user;
    const nexp_node *m = w->m;
    const int n = m->n, B = w->B;
    if (wp != NULL) {
        memset(wp, 0, (size_t)m->n_params * sizeof *wp);
    }
    memset(wy, 0, (size_t)B * n * sizeof *wy);
    if (m->mlp != NULL) {
        const int nin = n + m->time_input;
        net_inputs(m, w, t, y);
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < n; i++) {
                w->u[b * n + i] = m->sigma[i] * wv[b * n + i];
            }
        }
        memset(w->o, 0, (size_t)B * nin * sizeof *w->o);
        if (nexp_mlp_vjp(m->mlp, w->ws, B, w->x, w->u, NULL, w->o, wp, NULL) != NEXP_OK) {
            return -1;
        }
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < n; i++) {
                wy[b * n + i] = w->o[b * nin + i] * dphi(m, w->z[b * n + i]) / m->sigma[i];
            }
        }
    }
    return physics_vjp_add(m, w, t, y, wv, wy, wp);
}

/* Forward-mode tangent of the network for B rows: input tangent dx (B, in) and parameter tangent
 * dtheta (n_theta, or NULL), result (B, out) into jout. Pre-activations are recomputed per layer. */
static void mlp_tangent(const nexp_mlp *mlp, nexp_node_work *w, int B, const double *x, const double *dx,
                        const double *dtheta, double *jout)
{
    const nexp_mlp_spec *s = &mlp->spec;
    memcpy(w->a, x, (size_t)B * s->width[0] * sizeof *w->a);
    memcpy(w->da, dx, (size_t)B * s->width[0] * sizeof *w->da);
    for (int l = 0; l < s->n_layers; l++) {
        int in = s->width[l], out = s->width[l + 1];
        const double *W = nexp_mlp_weight(mlp, mlp->params, l), *bias = nexp_mlp_bias(mlp, mlp->params, l);
        nexp_dense_forward_f64(B, in, out, w->a, W, bias, w->pre);
        nexp_dense_forward_f64(B, in, out, w->da, W, NULL, w->dpre);
        if (dtheta != NULL) {
            const double *dW = nexp_mlp_weight(mlp, (double *)dtheta, l), *db = nexp_mlp_bias(mlp, (double *)dtheta, l);
            for (int b = 0; b < B; b++) {
                for (int o = 0; o < out; o++) {
                    double acc = db[o];
                    for (int i = 0; i < in; i++) {
                        acc += w->a[b * in + i] * dW[o * in + i];
                    }
                    w->dpre[b * out + o] += acc;
                }
            }
        }
        /* a = act(pre), da = act'(pre) * dpre */
        nexp_act_forward_f64(s->act[l], (size_t)B * out, w->pre, w->a);
        nexp_act_derivative_f64(s->act[l], (size_t)B * out, w->pre, w->a, w->pre);
        for (int i = 0; i < B * out; i++) {
            w->da[i] = w->pre[i] * w->dpre[i];
        }
    }
    memcpy(jout, w->da, (size_t)B * s->width[s->n_layers] * sizeof *jout);
}

static int node_jvp(double t, const double *y, const double *dy, const double *dp, double *out, void *user)
{
    nexp_node_work *w = user;
    const nexp_node *m = w->m;
    const int n = m->n, B = w->B;
    memset(out, 0, (size_t)B * n * sizeof *out);
    if (m->mlp != NULL) {
        const int nin = n + m->time_input;
        net_inputs(m, w, t, y);
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < n; i++) {
                w->u[b * nin + i] = dphi(m, w->z[b * n + i]) * dy[b * n + i] / m->sigma[i];
            }
            if (m->time_input) {
                w->u[b * nin + n] = 0.0;
            }
        }
        mlp_tangent(m->mlp, w, B, w->x, w->u, dp, w->o);
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < n; i++) {
                out[b * n + i] = m->sigma[i] * w->o[b * n + i];
            }
        }
    }
    if (m->physics.f != NULL) {
        double *p = m->params + m->n_theta;
        if (m->physics.jvp == NULL) {
            return -1;
        }
        for (int b = 0; b < B; b++) {
            int rc = m->physics.jvp(t + toff(w, b), y + b * n, dy + b * n, dp ? dp + m->n_theta : NULL, w->gy, p);
            if (rc != 0) {
                return rc;
            }
            for (int i = 0; i < n; i++) {
                out[b * n + i] += w->gy[i];
            }
        }
    }
    return 0;
}

/* ---- recorded evaluations for backpropagation: the network's activations of each stage ---------
 * record of B rows: x (B, nin), then per layer l its pre-activations (B, out_l), kept only when the
 * activation's slope needs them, and its activations (B, out_l), then the input map's slope
 * phi'(z) (B, n). */
static int rec_keeps_pre(const nexp_mlp_spec *s, int l)
{
    return !nexp_act_slope_from_output(s->act[l]);
}

static size_t node_rec_len(const nexp_node *m, int B)
{
    if (m->mlp == NULL) {
        return 1;
    }
    const nexp_mlp_spec *s = &m->mlp->spec;
    size_t len = (size_t)B * (m->n + m->time_input);
    for (int l = 0; l < s->n_layers; l++) {
        len += (size_t)(1 + rec_keeps_pre(s, l)) * B * s->width[l + 1];
    }
    return len + (size_t)B * m->n;
}

static void physics_add(const nexp_node *m, nexp_node_work *w, double t, const double *y, double *ydot, int *rc)
{
    const int n = m->n;
    double *p = m->params + m->n_theta;
    for (int b = 0; b < w->B && *rc == 0; b++) {
        *rc = m->physics.f(t + toff(w, b), y + b * n, w->gy, p);
        for (int i = 0; i < n && *rc == 0; i++) {
            ydot[b * n + i] += w->gy[i];
        }
    }
}

NEXP_CLONES
static int node_f_rec(double t, const double *y, double *ydot, double *rec, void *user)
{
    nexp_node_work *w = user;
    const nexp_node *m = w->m;
    const int n = m->n, B = w->B;
    int rc = 0;
    memset(ydot, 0, (size_t)B * n * sizeof *ydot);
    if (m->mlp != NULL) {
        const nexp_mlp_spec *s = &m->mlp->spec;
        net_inputs(m, w, t, y);
        memcpy(rec, w->x, (size_t)B * s->width[0] * sizeof *rec);
        const double *a = rec;
        double *r = rec + (size_t)B * s->width[0];
        for (int l = 0; l < s->n_layers; l++) {
            int in = s->width[l], out = s->width[l + 1];
            double *pre = r, *post = r + (size_t)rec_keeps_pre(s, l) * B * out;
            nexp_dense_forward_f64(B, in, out, a, nexp_mlp_weight(m->mlp, m->mlp->params, l),
                                   nexp_mlp_bias(m->mlp, m->mlp->params, l), pre);
            nexp_act_forward_f64(s->act[l], (size_t)B * out, pre, post); /* in place without pre */
            a = post;
            r = post + (size_t)B * out;
        }
        for (int b = 0; b < B; b++) {
            for (int i = 0; i < n; i++) {
                ydot[b * n + i] = m->sigma[i] * a[b * n + i];
                r[b * n + i] = dphi(m, w->z[b * n + i]);
            }
        }
    }
    if (m->physics.f != NULL) {
        physics_add(m, w, t, y, ydot, &rc);
    }
    for (int i = 0; rc == 0 && i < B * n; i++) {
        if (!isfinite(ydot[i])) {
            rc = 1;
        }
    }
    return rc;
}

NEXP_CLONES
static int node_vjp_rec(double t, const double *y, const double *wv, const double *rec, double *wy, double *wp,
                        void *user)
{
    nexp_node_work *w = user;
    const nexp_node *m = w->m;
    const int n = m->n, B = w->B;
    if (m->mlp == NULL) {
        return node_vjp(t, y, wv, wy, wp, user);
    }
    const nexp_mlp_spec *s = &m->mlp->spec;
    const int L = s->n_layers, nin = s->width[0];
    if (wp != NULL) {
        memset(wp, 0, (size_t)m->n_params * sizeof *wp);
    }
    /* each layer's activations in the record, and what its slope is computed from */
    const double *pre[NEXP_MLP_MAX_LAYERS], *post[NEXP_MLP_MAX_LAYERS];
    const double *r = rec + (size_t)B * nin;
    for (int l = 0; l < L; l++) {
        pre[l] = r;
        post[l] = r + (size_t)rec_keeps_pre(s, l) * B * s->width[l + 1];
        r = post[l] + (size_t)B * s->width[l + 1];
    }
    double *dpost = w->a, *dprev = w->da, *dpre = w->pre;
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < n; i++) {
            dpost[b * n + i] = m->sigma[i] * wv[b * n + i];
        }
    }
    for (int l = L - 1; l >= 0; l--) {
        int in = s->width[l], out = s->width[l + 1];
        const double *aprev = l > 0 ? post[l - 1] : rec;
        const double *W = nexp_mlp_weight(m->mlp, m->mlp->params, l);
        nexp_act_backward_set_f64(s->act[l], (size_t)B * out, pre[l], post[l], dpost, dpre);
        nexp_dense_input_grad_f64(B, in, out, W, dpre, dprev);
        nexp_dense_backward_f64(B, in, out, aprev, W, dpre, NULL, wp ? nexp_mlp_weight(m->mlp, wp, l) : NULL,
                                wp ? nexp_mlp_bias(m->mlp, wp, l) : NULL);
        double *tmp = dpost;
        dpost = dprev;
        dprev = tmp;
    }
    const double *slope = r; /* phi'(z), recorded after the layers */
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < n; i++) {
            wy[b * n + i] = dpost[b * nin + i] * slope[b * n + i] / m->sigma[i];
        }
    }
    return physics_vjp_add(m, w, t, y, wv, wy, wp);
}

nexp_status nexp_node_system(const nexp_node *m, nexp_node_work *w, int B, const double *t_offset,
                             nexp_ode_system *sys, nexp_error *err)
{
    if (m == NULL || w == NULL || sys == NULL || B < 1 || B > w->max_batch || w->m != m) {
        return nexp_error_set(err, NEXP_ERR_ARG, "node: batch of %d trajectories does not fit the work area (%d)",
                              B, w ? w->max_batch : 0);
    }
    w->B = B;
    w->t_offset = t_offset;
    sys->n = B * m->n;
    sys->np = m->n_params;
    sys->f = node_rhs;
    sys->jvp = (m->physics.f == NULL || m->physics.jvp != NULL) ? node_jvp : NULL;
    sys->vjp = node_vjp;
    sys->user = w;
    sys->rec_len = m->mlp != NULL ? node_rec_len(m, B) : 0;
    sys->f_rec = m->mlp != NULL ? node_f_rec : NULL;
    sys->vjp_rec = m->mlp != NULL ? node_vjp_rec : NULL;
    return NEXP_OK;
}

/* ---- losses ----------------------------------------------------------------------------------- */

static int node_loss(int i, double t, const double *y, double *l, double *dl, void *user)
{
    (void)t;
    const nexp_node_work *w = user;
    const nexp_node *m = w->m;
    const nexp_node_batch *b = w->batch;
    const int n = m->n, B = b->B;
    const double N = (double)b->nt * B * n;
    const double *obs = b->yobs + (size_t)i * B * n;
    double acc = 0.0;
    for (int r = 0; r < B; r++) {
        for (int k = 0; k < n; k++) {
            double res = (y[r * n + k] - obs[r * n + k]) / m->sigma[k];
            if (w->loss_kind == NEXP_NODE_LOSS_L1) {
                acc += fabs(res);
                dl[r * n + k] = (res > 0.0 ? 1.0 : res < 0.0 ? -1.0 : 0.0) / (m->sigma[k] * N);
            } else {
                acc += res * res;
                dl[r * n + k] = 2.0 * res / (m->sigma[k] * N);
            }
        }
    }
    *l = acc / N;
    return 0;
}

nexp_status nexp_node_loss_grad(const nexp_node *m, nexp_node_work *w, const nexp_node_batch *b,
                                nexp_node_loss loss_kind, const nexp_ode_grad_options *opt, double *loss,
                                double *grad, double *dy0, double *Y, nexp_error *err)
{
    if (b == NULL || b->nt < 1 || b->t == NULL || b->y0 == NULL || b->yobs == NULL || opt == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "node: incomplete batch");
    }
    nexp_ode_system sys;
    nexp_status st = nexp_node_system(m, w, b->B, b->t_offset, &sys, err);
    if (st != NEXP_OK) {
        return st;
    }
    w->batch = b;
    w->loss_kind = loss_kind;
    double l = 0.0;
    st = nexp_ode_gradient(&sys, opt, b->t[0], b->y0, b->nt, b->t, node_loss, w, &l, Y, grad, dy0, NULL, err);
    w->batch = NULL;
    if (loss != NULL) {
        *loss = l;
    }
    return st;
}

nexp_status nexp_node_predict(const nexp_node *m, nexp_node_work *w, double t0, const double *y0, int nt,
                              const double *t, const nexp_ode_options *opt, double *Y, nexp_error *err)
{
    nexp_ode_system sys;
    nexp_status st = nexp_node_system(m, w, 1, NULL, &sys, err);
    if (st != NEXP_OK) {
        return st;
    }
    return nexp_ode_solve(&sys, opt, t0, y0, nt, t, Y, NULL, err);
}
