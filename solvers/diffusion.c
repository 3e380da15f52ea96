/* Diffusion plans: models, tensors, explicit / FED / FSI drivers (see nexp_diffusion.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diffusion_internal.h"

static const char *const model_names[] = { "homogeneous", "pm", "charbonnier", "exp", "eed", "ced", "given" };
static const char *const scheme_names[] = { "explicit", "fed", "fsi", "implicit" };

const char *nexp_diffusion_model_name(nexp_diffusion_model m)
{
    return (unsigned)m < sizeof model_names / sizeof model_names[0] ? model_names[m] : "unknown";
}

const char *nexp_diffusion_scheme_name(nexp_diffusion_scheme s)
{
    return (unsigned)s < sizeof scheme_names / sizeof scheme_names[0] ? scheme_names[s] : "unknown";
}

int nexp_diffusion_model_parse(const char *name, nexp_diffusion_model *out)
{
    for (unsigned i = 0; i < sizeof model_names / sizeof model_names[0]; i++) {
        if (strcmp(name, model_names[i]) == 0) {
            *out = (nexp_diffusion_model)i;
            return 0;
        }
    }
    return -1;
}

int nexp_diffusion_scheme_parse(const char *name, nexp_diffusion_scheme *out)
{
    for (unsigned i = 0; i < sizeof scheme_names / sizeof scheme_names[0]; i++) {
        if (strcmp(name, scheme_names[i]) == 0) {
            *out = (nexp_diffusion_scheme)i;
            return 0;
        }
    }
    return -1;
}

/* ---- schedules ------------------------------------------------------------------------------ */

int nexp_fed_steps(double cycle_time, double tau_max)
{
    if (!(cycle_time > 0.0) || !(tau_max > 0.0)) {
        return 1;
    }
    /* smallest n with n (n + 1) / 3 >= cycle_time / tau_max */
    double q = 3.0 * cycle_time / tau_max;
    int n = (int)ceil(0.5 * (-1.0 + sqrt(1.0 + 4.0 * q)) - 1e-9);
    if (n < 1) {
        n = 1;
    }
    while ((double)n * (n + 1) / 3.0 * tau_max < cycle_time * (1.0 - 1e-12)) {
        n++;
    }
    return n;
}

static int gcd_int(int a, int b)
{
    while (b != 0) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

void nexp_fed_taus(int n, double cycle_time, double *taus)
{
    /* sum over k of 1 / (2 cos^2(pi (2k + 1) / (4n + 2))) is n (n + 1) / 3 */
    const double scale = 3.0 * cycle_time / ((double)n * (n + 1));
    int kappa = n / 2 > 0 ? n / 2 : 1;
    while (kappa > 1 && gcd_int(kappa, n) != 1) {
        kappa--;
    }
    for (int j = 0; j < n; j++) {
        const int k = (int)(((long)j * kappa) % n);
        const double c = cos(M_PI * (2.0 * k + 1.0) / (4.0 * n + 2.0));
        taus[j] = scale / (2.0 * c * c);
    }
}

double nexp_fsi_weights(int n, double cycle_time, double *a)
{
    for (int k = 0; k < n; k++) {
        a[k] = (4.0 * k + 2.0) / (2.0 * k + 3.0);
    }
    return 3.0 * cycle_time / ((double)n * (n + 1));
}

/* ---- plans ---------------------------------------------------------------------------------- */

static int model_is_nonlinear(nexp_diffusion_model m)
{
    return m != NEXP_DIFF_HOMOGENEOUS && m != NEXP_DIFF_GIVEN;
}

static double builtin_bound(double alpha)
{
    return 1.0 / (4.0 * (1.0 - alpha));
}

void nexp_diffusion_plan_free(nexp_diffusion_plan *p)
{
    if (p == NULL) {
        return;
    }
    nexp_delta_weights_free(p->dw);
    nexp_field_free(p->tmp);
    nexp_field_free(p->prev);
    nexp_field_free(p->smooth);
    nexp_dct_plan_free(p->dct_pix);
    nexp_dct_plan_free(p->dct_cell);
    free(p);
}

static nexp_status check_params(const nexp_diffusion_params *prm, nexp_error *err)
{
    if ((unsigned)prm->model > NEXP_DIFF_GIVEN) {
        return nexp_error_set(err, NEXP_ERR_ARG, "unknown diffusion model %d", (int)prm->model);
    }
    if ((unsigned)prm->scheme > NEXP_SCHEME_IMPLICIT) {
        return nexp_error_set(err, NEXP_ERR_ARG, "unknown time scheme %d", (int)prm->scheme);
    }
    if ((unsigned)prm->eed_g > NEXP_G_EXP) {
        return nexp_error_set(err, NEXP_ERR_ARG, "unknown diffusivity %d", (int)prm->eed_g);
    }
    if (!(prm->time > 0.0) || !isfinite(prm->time)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "stopping time must be finite and > 0, got %g", prm->time);
    }
    if (model_is_nonlinear(prm->model) && (!(prm->lambda > 0.0) || !isfinite(prm->lambda))) {
        return nexp_error_set(err, NEXP_ERR_ARG, "contrast lambda must be finite and > 0 for the %s model, got %g",
                              nexp_diffusion_model_name(prm->model), prm->lambda);
    }
    if (!(prm->sigma >= 0.0) || !isfinite(prm->sigma)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "Gaussian pre-smoothing sigma must be finite and >= 0, got %g",
                              prm->sigma);
    }
    if (!(prm->rho >= 0.0) || !isfinite(prm->rho)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "integration scale rho must be finite and >= 0, got %g", prm->rho);
    }
    if (!(prm->alpha >= 0.0 && prm->alpha <= 0.5)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "stencil alpha must be in [0, 1/2], got %g", prm->alpha);
    }
    if (!(prm->tau >= 0.0) || !isfinite(prm->tau)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "time step tau must be finite and >= 0 (0: the bound), got %g",
                              prm->tau);
    }
    if (prm->cycles < 0) {
        return nexp_error_set(err, NEXP_ERR_ARG, "cycle count must be >= 0 (0: automatic), got %d", prm->cycles);
    }
    if (prm->scheme == NEXP_SCHEME_IMPLICIT && (!(prm->rtol > 0.0) || !(prm->atol > 0.0))) {
        return nexp_error_set(err, NEXP_ERR_ARG, "implicit tolerances must be > 0, got rtol %g, atol %g", prm->rtol,
                              prm->atol);
    }
    if (prm->model != NEXP_DIFF_GIVEN && prm->scheme != NEXP_SCHEME_IMPLICIT &&
        prm->tau > builtin_bound(prm->alpha) * (1.0 + 1e-12)) {
        return nexp_error_set(err, NEXP_ERR_UNSTABLE,
                              "time step tau = %g exceeds the stability bound 1 / (4 (1 - alpha)) = %g for alpha = %g",
                              prm->tau, builtin_bound(prm->alpha), prm->alpha);
    }
    return NEXP_OK;
}

nexp_status nexp_diffusion_plan_create(nexp_diffusion_plan **out, int width, int height, int channels,
                                       const nexp_diffusion_params *prm, nexp_error *err)
{
    *out = NULL;
    nexp_status st = check_params(prm, err);
    if (st != NEXP_OK) {
        return st;
    }
    st = nexp_field_check_dims(width, height, channels, err);
    if (st != NEXP_OK) {
        return st;
    }
    nexp_diffusion_plan *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory allocating a diffusion plan");
    }
    p->prm = *prm;
    p->channels = channels;
    st = nexp_delta_weights_create(&p->dw, width, height, err);
    if (st != NEXP_OK) {
        goto fail;
    }
    p->g = p->dw->g;
    st = nexp_field_create(&p->tmp, width, height, channels, err);
    if (st != NEXP_OK) {
        goto fail;
    }
    p->plane = p->tmp->plane;
    if (p->tmp->stride != p->g.stride) {
        st = nexp_error_set(err, NEXP_ERR_SIZE, "field stride %zu differs from the stencil stride %zu",
                            p->tmp->stride, p->g.stride);
        goto fail;
    }
    if (prm->scheme == NEXP_SCHEME_FSI) {
        st = nexp_field_create(&p->prev, width, height, channels, err);
        if (st != NEXP_OK) {
            goto fail;
        }
    }
    if (model_is_nonlinear(prm->model) && prm->sigma > 0.0) {
        st = nexp_field_create(&p->smooth, width, height, channels, err);
        if (st == NEXP_OK) {
            st = nexp_dct_plan_create(&p->dct_pix, width, height, NEXP_DCT_FLOAT, err);
        }
        if (st != NEXP_OK) {
            goto fail;
        }
    }
    if ((prm->model == NEXP_DIFF_EED || prm->model == NEXP_DIFF_CED) && prm->rho > 0.0) {
        st = nexp_dct_plan_create(&p->dct_cell, width - 1, height - 1, NEXP_DCT_FLOAT, err);
        if (st != NEXP_OK) {
            goto fail;
        }
    }
    if (prm->model == NEXP_DIFF_HOMOGENEOUS) {
        for (int y = 0; y < height - 1; y++) {
            for (int x = 0; x < width - 1; x++) {
                const size_t i = (size_t)y * p->g.stride + (size_t)x;
                p->dw->ca[i] = 1.0f;
                p->dw->cb[i] = 0.0f;
                p->dw->cc[i] = 1.0f;
            }
        }
        nexp_stencil_weights(p->g, p->dw->ca, p->dw->cb, p->dw->cc, NULL, (float)prm->alpha, p->dw->w, 0, height);
        p->dw->bound = builtin_bound(prm->alpha);
        p->tensor_ready = 1;
    }
    *out = p;
    return NEXP_OK;
fail:
    nexp_diffusion_plan_free(p);
    return st;
}

nexp_status nexp_diffusion_tensor_from(nexp_diffusion_plan *p, const float *src, int nc, size_t plane,
                                       nexp_field *smooth, nexp_error *err)
{
    const nexp_diffusion_params *prm = &p->prm;
    const nexp_grid g = p->g;
    nexp_delta_weights *dw = p->dw;
    if (prm->sigma > 0.0) {
        if (smooth == NULL || p->dct_pix == NULL || smooth->channels < nc) {
            return nexp_error_set(err, NEXP_ERR_ARG, "internal: no smoothing workspace for %d channels", nc);
        }
        for (int c = 0; c < nc; c++) {
            nexp_dct_plane(p->dct_pix, src + (size_t)c * plane, nexp_field_row(smooth, c, 0), g.stride,
                           NEXP_DCT_FILTER_GAUSSIAN, prm->sigma, 0.0);
        }
        src = smooth->data;
        plane = smooth->plane;
    }
    nexp_stencil_structure(g, nc, plane, src, dw->ca, dw->cb, dw->cc, 0, g.h - 1);
    nexp_stencil_tensor kind = NEXP_STENCIL_T_ISOTROPIC;
    nexp_stencil_g gfun = NEXP_STENCIL_G_EXP;
    switch (prm->model) {
    case NEXP_DIFF_PM:
        gfun = NEXP_STENCIL_G_PM;
        break;
    case NEXP_DIFF_CHARBONNIER:
        gfun = NEXP_STENCIL_G_CHARBONNIER;
        break;
    case NEXP_DIFF_EXP:
        gfun = NEXP_STENCIL_G_EXP;
        break;
    case NEXP_DIFF_EED:
        kind = NEXP_STENCIL_T_EED;
        gfun = (nexp_stencil_g)prm->eed_g;
        break;
    case NEXP_DIFF_CED:
        kind = NEXP_STENCIL_T_CED;
        break;
    default:
        return nexp_error_set(err, NEXP_ERR_ARG, "the %s model has no tensor from an image",
                              nexp_diffusion_model_name(prm->model));
    }
    if (p->dct_cell != NULL) {
        float *comp[3] = { dw->ca, dw->cb, dw->cc };
        for (int k = 0; k < 3; k++) {
            nexp_dct_plane(p->dct_cell, comp[k], comp[k], g.stride, NEXP_DCT_FILTER_GAUSSIAN, prm->rho, 0.0);
        }
    }
    nexp_stencil_tensor_from_structure(g, kind, gfun, (float)prm->lambda, dw->ca, dw->cb, dw->cc, dw->ca, dw->cb,
                                       dw->cc, 0, g.h - 1);
    nexp_stencil_weights(g, dw->ca, dw->cb, dw->cc, NULL, (float)prm->alpha, dw->w, 0, g.h);
    dw->bound = builtin_bound(prm->alpha);
    return NEXP_OK;
}

static nexp_status check_field(const nexp_diffusion_plan *p, const nexp_field *f, int channels, const char *what,
                               nexp_error *err)
{
    if (f->width != p->g.w || f->height != p->g.h || (channels > 0 && f->channels != channels)) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "%s is %d x %d with %d channels; the plan is for %d x %d%s", what,
                              f->width, f->height, f->channels, p->g.w, p->g.h,
                              channels > 0 ? " with the plan's channel count" : "");
    }
    if (f->stride != p->g.stride || f->plane != p->plane) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "%s has stride %zu / plane %zu; expected %zu / %zu (a field from "
                              "nexp_field_create or a channel view of one)", what, f->stride, f->plane, p->g.stride,
                              p->plane);
    }
    return NEXP_OK;
}

nexp_status nexp_diffusion_plan_set_guide(nexp_diffusion_plan *p, const nexp_field *guide, nexp_error *err)
{
    if (!model_is_nonlinear(p->prm.model)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "a guidance image needs a model with an image-driven tensor "
                              "(pm, charbonnier, exp, eed, ced), not %s", nexp_diffusion_model_name(p->prm.model));
    }
    nexp_status st = check_field(p, guide, 0, "guidance image", err);
    if (st != NEXP_OK) {
        return st;
    }
    st = nexp_field_check_finite(guide, err);
    if (st != NEXP_OK) {
        return nexp_error_prefix(err, "guidance image");
    }
    nexp_field *smooth = NULL;
    if (p->prm.sigma > 0.0) {
        st = nexp_field_create_like(&smooth, guide, err);
        if (st != NEXP_OK) {
            return st;
        }
    }
    st = nexp_diffusion_tensor_from(p, guide->data, guide->channels, guide->plane, smooth, err);
    nexp_field_free(smooth);
    if (st == NEXP_OK) {
        p->tensor_ready = 1;
        p->guided = 1;
    }
    return st;
}

nexp_status nexp_diffusion_plan_set_tensor(nexp_diffusion_plan *p, const nexp_field *tensor, nexp_error *err)
{
    if (p->prm.model != NEXP_DIFF_GIVEN) {
        return nexp_error_set(err, NEXP_ERR_ARG, "a given tensor needs the given model, not %s",
                              nexp_diffusion_model_name(p->prm.model));
    }
    p->tensor_ready = 0;
    nexp_status st = nexp_delta_weights_forward(p->dw, tensor, err);
    if (st != NEXP_OK) {
        return st;
    }
    if (p->prm.scheme != NEXP_SCHEME_IMPLICIT && p->prm.tau > p->dw->bound * (1.0 + 1e-12)) {
        return nexp_error_set(err, NEXP_ERR_UNSTABLE,
                              "time step tau = %g exceeds the stability bound 1 / (4 max (1 - alpha) lambda_max) = %g "
                              "of the given tensor", p->prm.tau, p->dw->bound);
    }
    p->tensor_ready = 1;
    return NEXP_OK;
}

double nexp_diffusion_tau_bound(const nexp_diffusion_plan *p)
{
    if (p->prm.model == NEXP_DIFF_GIVEN) {
        return p->tensor_ready ? p->dw->bound : 0.0;
    }
    return builtin_bound(p->prm.alpha);
}

/* ---- execution ------------------------------------------------------------------------------ */

static void copy_planes(const nexp_diffusion_plan *p, float *dst, const float *src)
{
    memcpy(dst, src, (size_t)p->channels * p->plane * sizeof(float));
}

static nexp_status update_tensor(nexp_diffusion_plan *p, const float *u, nexp_error *err)
{
    return nexp_diffusion_tensor_from(p, u, p->channels, p->plane, p->smooth, err);
}

static int report(nexp_diffusion_run *run, double t, double T)
{
    return run != NULL && run->progress != NULL && run->progress(t, T, run->user) != 0;
}

static long default_cycles(const nexp_diffusion_plan *p, double tau_max, int nonlinear)
{
    const double T = p->prm.time;
    if (p->prm.scheme == NEXP_SCHEME_IMPLICIT) {
        return nonlinear ? (long)ceil(T / 5.0) : 1;
    }
    long m = (long)ceil(T / (tau_max * 110.0 / 3.0) - 1e-9);
    return m < 1 ? 1 : m;
}

nexp_status nexp_diffusion_execute(nexp_diffusion_plan *p, nexp_field *u, nexp_diffusion_run *run, nexp_error *err)
{
    nexp_status st = check_field(p, u, p->channels, "input field", err);
    if (st != NEXP_OK) {
        return st;
    }
    st = nexp_field_check_finite(u, err);
    if (st != NEXP_OK) {
        return nexp_error_prefix(err, "diffusion input");
    }
    if (p->prm.model == NEXP_DIFF_GIVEN && !p->tensor_ready) {
        return nexp_error_set(err, NEXP_ERR_ARG, "the given model needs a tensor: call nexp_diffusion_plan_set_tensor");
    }
    const int nonlinear = !p->tensor_ready;
    const double T = p->prm.time;
    const double bound = nexp_diffusion_tau_bound(p);
    const double tau_max = p->prm.tau > 0.0 ? p->prm.tau : bound;
    const uint8_t *known = run ? run->known : NULL;
    if (run != NULL) {
        run->steps = 0;
        run->cycles = 0;
        run->rhs_evals = 0;
    }
    long cycles = p->prm.cycles > 0 ? p->prm.cycles : default_cycles(p, tau_max, nonlinear);
    if (p->prm.scheme == NEXP_SCHEME_IMPLICIT) {
        return nexp_diffusion_mol(p, u, run, (int)cycles, nonlinear, err);
    }
    if (!(tau_max > 0.0) || !isfinite(tau_max)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "the tensor is zero everywhere: set tau explicitly");
    }
    float *cur = u->data, *nxt = p->tmp->data, *old = p->prev ? p->prev->data : NULL;
    const nexp_grid g = p->g;
    const int C = p->channels;
    double t = 0.0;
    long steps = 0, done_cycles = 0;
    double *sched = NULL;
    if (p->prm.scheme == NEXP_SCHEME_EXPLICIT) {
        const long n = (long)ceil(T / tau_max * (1.0 - 1e-12));
        const double step = T / (double)(n < 1 ? 1 : n);
        for (long k = 0; k < (n < 1 ? 1 : n); k++) {
            if (nonlinear) {
                st = update_tensor(p, cur, err);
                if (st != NEXP_OK) {
                    goto done;
                }
                done_cycles++;
            }
            nexp_stencil_apply(g, p->dw->w, C, p->plane, cur, NULL, nxt, (float)step, 1.0f, 0.0f, known, 0, g.h);
            float *s = cur;
            cur = nxt;
            nxt = s;
            steps++;
            t = T * (double)(k + 1) / (double)n;
            if (report(run, t, T)) {
                st = nexp_error_set(err, NEXP_ERR_INTERRUPTED, "diffusion interrupted at t = %g of %g", t, T);
                goto done;
            }
        }
    } else {
        const double theta = T / (double)cycles;
        const int n = nexp_fed_steps(theta, tau_max);
        sched = malloc((size_t)n * sizeof *sched);
        if (sched == NULL) {
            st = nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory for a %d-step schedule", n);
            goto done;
        }
        double fsi_tau = 0.0;
        if (p->prm.scheme == NEXP_SCHEME_FED) {
            nexp_fed_taus(n, theta, sched);
        } else {
            fsi_tau = nexp_fsi_weights(n, theta, sched);
        }
        for (long m = 0; m < cycles; m++) {
            if (nonlinear) {
                st = update_tensor(p, cur, err);
                if (st != NEXP_OK) {
                    goto done;
                }
            }
            done_cycles++;
            for (int k = 0; k < n; k++) {
                if (p->prm.scheme == NEXP_SCHEME_FED) {
                    nexp_stencil_apply(g, p->dw->w, C, p->plane, cur, NULL, nxt, (float)sched[k], 1.0f, 0.0f, known,
                                       0, g.h);
                    float *s = cur;
                    cur = nxt;
                    nxt = s;
                } else {
                    const float a = (float)sched[k];
                    nexp_stencil_apply(g, p->dw->w, C, p->plane, cur, k == 0 ? cur : old, nxt, (float)fsi_tau, a,
                                       1.0f - a, known, 0, g.h);
                    float *s = old;
                    old = cur;
                    cur = nxt;
                    nxt = s;
                }
                steps++;
                t = theta * ((double)m + (double)(k + 1) / n);
                if (report(run, t, T)) {
                    st = nexp_error_set(err, NEXP_ERR_INTERRUPTED, "diffusion interrupted at t = %g of %g", t, T);
                    goto done;
                }
            }
        }
    }
done:
    if (cur != u->data) {
        copy_planes(p, u->data, cur);
    }
    free(sched);
    if (run != NULL) {
        run->steps = steps;
        run->cycles = done_cycles;
    }
    return st;
}
