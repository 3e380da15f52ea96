/* Inpainting driver: input checks, the coarse-to-fine pyramid, explicit homogeneous steps and the
 * method dispatch. The fast Laplace solver is in inpaint_laplace.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nexp_diffusion.h"
#include "nexp_inpaint.h"
#include "nexp_progress.h"

/* Loops over fewer pixels than this run on one thread: a parallel region costs more there. */
#define PARALLEL_MIN_PIXELS 16384

/* ---- inputs ---------------------------------------------------------------------------------- */

static int value_known(float v)
{
    return isfinite(v) && fabsf(v) <= 1e9f;
}

nexp_status nexp_inpaint_check(const nexp_field *data, const nexp_field *known, const nexp_field *guide,
                               nexp_error *err)
{
    if (data == NULL || known == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "inpainting needs data and a known mask");
    }
    if (known->channels != 1) {
        return nexp_error_set(err, NEXP_ERR_ARG, "the known mask must have 1 channel, got %d", known->channels);
    }
    if (known->width != data->width || known->height != data->height) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "mask is %d x %d but the data are %d x %d", known->width,
                              known->height, data->width, data->height);
    }
    if (guide != NULL && (guide->width != data->width || guide->height != data->height)) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "reference image is %d x %d but the data are %d x %d",
                              guide->width, guide->height, data->width, data->height);
    }
    size_t nknown = 0;
    for (int y = 0; y < data->height; y++) {
        const float *krow = nexp_field_row(known, 0, y);
        for (int x = 0; x < data->width; x++) {
            if (krow[x] == 0.0f) {
                continue;
            }
            nknown++;
            if (!nexp_field_valid(data, x, y)) {
                return nexp_error_set(err, NEXP_ERR_NONFINITE,
                                      "known pixel x = %d, y = %d holds an unknown (invalid) value", x, y);
            }
            for (int c = 0; c < data->channels; c++) {
                float v = nexp_field_row(data, c, y)[x];
                if (!value_known(v)) {
                    return nexp_error_set(err, NEXP_ERR_NONFINITE,
                                          "known pixel x = %d, y = %d has a non-finite or unknown value %g "
                                          "in channel %d",
                                          x, y, (double)v, c);
                }
            }
        }
    }
    if (nknown == 0) {
        return nexp_error_set(err, NEXP_ERR_EMPTY, "the mask has no known pixel (%d x %d, all zero)", data->width,
                              data->height);
    }
    if (guide != NULL) {
        nexp_status st = nexp_field_check_finite(guide, err);
        if (st != NEXP_OK) {
            return nexp_error_prefix(err, "reference image");
        }
    }
    return NEXP_OK;
}

nexp_status nexp_inpaint_known_from_data(const nexp_field *data, nexp_field **known, nexp_error *err)
{
    nexp_status st = nexp_field_create(known, data->width, data->height, 1, err);
    if (st != NEXP_OK) {
        return st;
    }
    (*known)->kind = NEXP_KIND_MASK;
    for (int y = 0; y < data->height; y++) {
        float *krow = nexp_field_row(*known, 0, y);
        for (int x = 0; x < data->width; x++) {
            int ok = nexp_field_valid(data, x, y);
            for (int c = 0; c < data->channels && ok; c++) {
                ok = value_known(nexp_field_row(data, c, y)[x]);
            }
            krow[x] = ok ? 1.0f : 0.0f;
        }
    }
    return NEXP_OK;
}

/* ---- pyramid ---------------------------------------------------------------------------------- */

int nexp_pyramid_max_levels(int width, int height)
{
    int levels = 1;
    while (levels < NEXP_INPAINT_MAX_LEVELS && (width + 1) / 2 >= 4 && (height + 1) / 2 >= 4) {
        width = (width + 1) / 2;
        height = (height + 1) / 2;
        levels++;
    }
    return levels;
}

nexp_status nexp_field_pool2(const nexp_field *fine, const nexp_field *weights, nexp_field *coarse, nexp_error *err)
{
    const int fw = fine->width, fh = fine->height;
    if (coarse->width != (fw + 1) / 2 || coarse->height != (fh + 1) / 2 || coarse->channels != fine->channels) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "pooling %d x %d x %d needs a %d x %d x %d target, got %d x %d x %d",
                              fw, fh, fine->channels, (fw + 1) / 2, (fh + 1) / 2, fine->channels, coarse->width,
                              coarse->height, coarse->channels);
    }
    if (weights != NULL && (weights->width != fw || weights->height != fh || weights->channels != 1)) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "pooling weights must be 1 x %d x %d", fw, fh);
    }
    const int cw = coarse->width, ch = coarse->height;
    for (int c = 0; c < fine->channels; c++) {
#pragma omp parallel for schedule(static) if (cw * ch > PARALLEL_MIN_PIXELS / 4)
        for (int J = 0; J < ch; J++) {
            float *crow = nexp_field_row(coarse, c, J);
            for (int I = 0; I < cw; I++) {
                double s = 0.0;
                int cnt = 0;
                for (int dy = 0; dy < 2 && 2 * J + dy < fh; dy++) {
                    const float *frow = nexp_field_row(fine, c, 2 * J + dy);
                    const float *wrow = weights ? nexp_field_row(weights, 0, 2 * J + dy) : NULL;
                    for (int dx = 0; dx < 2 && 2 * I + dx < fw; dx++) {
                        if (wrow == NULL || wrow[2 * I + dx] != 0.0f) {
                            s += frow[2 * I + dx];
                            cnt++;
                        }
                    }
                }
                crow[I] = cnt > 0 ? (float)(s / cnt) : 0.0f;
            }
        }
    }
    return NEXP_OK;
}

nexp_status nexp_field_upsample_bilinear(const nexp_field *coarse, nexp_field *fine, nexp_error *err)
{
    if (coarse->channels != fine->channels) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "upsampling %d channels into %d", coarse->channels,
                              fine->channels);
    }
    const int cw = coarse->width, ch = coarse->height, fw = fine->width, fh = fine->height;
    for (int c = 0; c < fine->channels; c++) {
#pragma omp parallel for schedule(static) if (fw * fh > PARALLEL_MIN_PIXELS)
        for (int y = 0; y < fh; y++) {
            double sy = (y + 0.5) * ch / (double)fh - 0.5;
            if (sy < 0.0) {
                sy = 0.0;
            }
            int y0 = (int)sy;
            if (y0 > ch - 1) {
                y0 = ch - 1;
            }
            int y1 = y0 + 1 < ch ? y0 + 1 : ch - 1;
            float ay = (float)(sy - y0);
            if (ay > 1.0f) {
                ay = 1.0f;
            }
            const float *r0 = nexp_field_row(coarse, c, y0);
            const float *r1 = nexp_field_row(coarse, c, y1);
            float *out = nexp_field_row(fine, c, y);
            for (int x = 0; x < fw; x++) {
                double sx = (x + 0.5) * cw / (double)fw - 0.5;
                if (sx < 0.0) {
                    sx = 0.0;
                }
                int x0 = (int)sx;
                if (x0 > cw - 1) {
                    x0 = cw - 1;
                }
                int x1 = x0 + 1 < cw ? x0 + 1 : cw - 1;
                float ax = (float)(sx - x0);
                if (ax > 1.0f) {
                    ax = 1.0f;
                }
                float top = r0[x0] + ax * (r0[x1] - r0[x0]);
                float bot = r1[x0] + ax * (r1[x1] - r1[x0]);
                out[x] = top + ay * (bot - top);
            }
        }
    }
    return NEXP_OK;
}

void nexp_pyramid_free(nexp_pyramid *p)
{
    if (p == NULL) {
        return;
    }
    for (int l = 0; l < p->levels; l++) {
        nexp_field_free(p->data[l]);
        nexp_field_free(p->known[l]);
        if (p->guide != NULL) {
            nexp_field_free(p->guide[l]);
        }
    }
    free(p->data);
    free(p->known);
    free(p->guide);
    free(p);
}

nexp_status nexp_pyramid_create(nexp_pyramid **out, const nexp_field *data, const nexp_field *known,
                                const nexp_field *guide, int levels, nexp_error *err)
{
    *out = NULL;
    nexp_status st = nexp_inpaint_check(data, known, guide, err);
    if (st != NEXP_OK) {
        return st;
    }
    if (levels < 1 || levels > NEXP_INPAINT_MAX_LEVELS) {
        return nexp_error_set(err, NEXP_ERR_ARG, "pyramid levels %d out of range 1..%d", levels,
                              NEXP_INPAINT_MAX_LEVELS);
    }
    int maxl = nexp_pyramid_max_levels(data->width, data->height);
    if (levels > maxl) {
        levels = maxl;
    }
    nexp_pyramid *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory allocating a pyramid");
    }
    p->levels = levels;
    p->data = calloc((size_t)levels, sizeof *p->data);
    p->known = calloc((size_t)levels, sizeof *p->known);
    if (guide != NULL) {
        p->guide = calloc((size_t)levels, sizeof *p->guide);
    }
    if (p->data == NULL || p->known == NULL || (guide != NULL && p->guide == NULL)) {
        nexp_pyramid_free(p);
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory allocating a pyramid");
    }
    int w = data->width, h = data->height;
    for (int l = 0; l < levels; l++) {
        if (l > 0) {
            w = (w + 1) / 2;
            h = (h + 1) / 2;
        }
        st = nexp_field_create(&p->data[l], w, h, data->channels, err);
        if (st == NEXP_OK) {
            st = nexp_field_create(&p->known[l], w, h, 1, err);
        }
        if (st == NEXP_OK && guide != NULL) {
            st = nexp_field_create(&p->guide[l], w, h, guide->channels, err);
        }
        if (st != NEXP_OK) {
            nexp_pyramid_free(p);
            return st;
        }
        p->data[l]->kind = data->kind;
        p->known[l]->kind = NEXP_KIND_MASK;
        if (guide != NULL) {
            p->guide[l]->kind = guide->kind;
        }
        if (l == 0) {
            for (int y = 0; y < h; y++) {
                const float *krow = nexp_field_row(known, 0, y);
                float *k0 = nexp_field_row(p->known[0], 0, y);
                for (int x = 0; x < w; x++) {
                    k0[x] = krow[x] != 0.0f ? 1.0f : 0.0f;
                }
                for (int c = 0; c < data->channels; c++) {
                    const float *drow = nexp_field_row(data, c, y);
                    float *d0 = nexp_field_row(p->data[0], c, y);
                    for (int x = 0; x < w; x++) {
                        d0[x] = k0[x] != 0.0f ? drow[x] : 0.0f;
                    }
                }
                if (guide != NULL) {
                    for (int c = 0; c < guide->channels; c++) {
                        memcpy(nexp_field_row(p->guide[0], c, y), nexp_field_row(guide, c, y),
                               (size_t)w * sizeof(float));
                    }
                }
            }
            continue;
        }
        nexp_field_pool2(p->data[l - 1], p->known[l - 1], p->data[l], NULL);
        /* max-pooling of a 0/1 mask: the mean of the children is > 0 exactly when one is known */
        nexp_field_pool2(p->known[l - 1], NULL, p->known[l], NULL);
        for (int y = 0; y < h; y++) {
            float *krow = nexp_field_row(p->known[l], 0, y);
            for (int x = 0; x < w; x++) {
                krow[x] = krow[x] > 0.0f ? 1.0f : 0.0f;
            }
        }
        if (guide != NULL) {
            nexp_field_pool2(p->guide[l - 1], NULL, p->guide[l], NULL);
        }
    }
    *out = p;
    return NEXP_OK;
}

/* ---- explicit homogeneous steps --------------------------------------------------------------- */

void nexp_inpaint_homogeneous_step_rows(const float *u, float *out, const float *c, int width, int height,
                                        size_t stride, float tau, int y0, int y1)
{
#pragma omp parallel for schedule(static) if ((y1 - y0) * width > PARALLEL_MIN_PIXELS)
    for (int y = y0; y < y1; y++) {
        const float *um = u + (size_t)(y > 0 ? y - 1 : y) * stride;
        const float *u0 = u + (size_t)y * stride;
        const float *up = u + (size_t)(y + 1 < height ? y + 1 : y) * stride;
        const float *cr = c + (size_t)y * stride;
        float *o = out + (size_t)y * stride;
        for (int x = 0; x < width; x++) {
            float left = x > 0 ? u0[x - 1] : u0[x];
            float right = x + 1 < width ? u0[x + 1] : u0[x];
            float lap = left + right + um[x] + up[x] - 4.0f * u0[x];
            o[x] = cr[x] != 0.0f ? u0[x] : u0[x] + tau * lap;
        }
    }
}

/* ---- the driver -------------------------------------------------------------------------------- */

nexp_inpaint_options nexp_inpaint_defaults(nexp_inpaint_method method)
{
    nexp_inpaint_options o;
    memset(&o, 0, sizeof o);
    o.method = method;
    o.tol = 1e-6;
    o.max_iter = 500;
    o.levels = 6;
    o.n_steps = 1;
    o.steps[0] = 200;
    o.fed_cycle = 20;
    o.lambda = 3.0;
    o.sigma = 0.0;
    o.alpha = 0.3;
    o.diffusivity = NEXP_G_EXP;
    o.scheme = NEXP_SCHEME_FED;
    if (method == NEXP_INPAINT_EED || method == NEXP_INPAINT_EED_FLOW) {
        /* Tuned on Sintel alley_1 and the chairs crops at 1-10 %: the coarse levels do the long-range
         * filling cheaply, the finest level only sharpens. */
        static const int eed_steps[] = { 400, 300, 200, 100, 50, 30 };
        o.n_steps = (int)(sizeof eed_steps / sizeof eed_steps[0]);
        memcpy(o.steps, eed_steps, sizeof eed_steps);
    }
    return o;
}

const char *nexp_inpaint_method_name(nexp_inpaint_method method)
{
    switch (method) {
    case NEXP_INPAINT_HOMOGENEOUS:
        return "homogeneous";
    case NEXP_INPAINT_HOMOGENEOUS_EXPLICIT:
        return "homogeneous-explicit";
    case NEXP_INPAINT_EED:
        return "eed";
    case NEXP_INPAINT_EED_FLOW:
        return "eed-flow";
    default:
        return "unknown";
    }
}

/* Steps of pyramid level l (0 = finest) of L levels; steps are listed coarsest first. */
static int level_steps(const nexp_inpaint_options *opt, int l, int L)
{
    int idx = L - 1 - l;
    return opt->steps[idx < opt->n_steps ? idx : opt->n_steps - 1];
}

/* Coarsest start: each channel's unknown pixels get the mean of its known values. */
static void fill_with_known_mean(nexp_field *u, const nexp_field *known)
{
    for (int c = 0; c < u->channels; c++) {
        double s = 0.0;
        size_t n = 0;
        for (int y = 0; y < u->height; y++) {
            const float *k = nexp_field_row(known, 0, y);
            const float *r = nexp_field_row(u, c, y);
            for (int x = 0; x < u->width; x++) {
                if (k[x] != 0.0f) {
                    s += r[x];
                    n++;
                }
            }
        }
        float m = n > 0 ? (float)(s / (double)n) : 0.0f;
        for (int y = 0; y < u->height; y++) {
            const float *k = nexp_field_row(known, 0, y);
            float *r = nexp_field_row(u, c, y);
            for (int x = 0; x < u->width; x++) {
                if (k[x] == 0.0f) {
                    r[x] = m;
                }
            }
        }
    }
}

static void reset_known(nexp_field *u, const nexp_field *data, const nexp_field *known)
{
    for (int c = 0; c < u->channels; c++) {
        for (int y = 0; y < u->height; y++) {
            const float *k = nexp_field_row(known, 0, y);
            const float *d = nexp_field_row(data, c, y);
            float *r = nexp_field_row(u, c, y);
            for (int x = 0; x < u->width; x++) {
                if (k[x] != 0.0f) {
                    r[x] = d[x];
                }
            }
        }
    }
}

/* n explicit homogeneous steps on u (tmp: same size), as ceil(n / cycle) FED cycles. */
static nexp_status run_homogeneous_fed(nexp_field *u, nexp_field *tmp, const nexp_field *known, int n, int cycle,
                                       nexp_error *err)
{
    double *tau = malloc((size_t)cycle * sizeof(double));
    if (tau == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory for the FED schedule");
    }
    int done = 0;
    while (done < n) {
        int m = n - done < cycle ? n - done : cycle;
        nexp_fed_taus(m, 0.25 * m * (m + 1) / 3.0, tau);
        for (int k = 0; k < m; k++) {
            for (int c = 0; c < u->channels; c++) {
                nexp_inpaint_homogeneous_step_rows(nexp_field_row(u, c, 0), nexp_field_row(tmp, c, 0),
                                                   nexp_field_row(known, 0, 0), u->width, u->height, u->stride,
                                                   (float)tau[k], 0, u->height);
            }
            float *sw = u->data;
            u->data = tmp->data;
            tmp->data = sw;
        }
        done += m;
    }
    free(tau);
    return NEXP_OK;
}

/* n steps of EED on u (one pyramid level) with the known pixels fixed: as ceil(n / cycle) FED or FSI
 * cycles of `cycle` steps each, whose time the diffusion plan turns back into that many steps. The
 * tensor comes from guide (guided, computed once) or from u itself (guide NULL: updated every cycle). */
static nexp_status run_eed(nexp_field *u, const nexp_field *known, const nexp_field *guide,
                           const nexp_inpaint_options *opt, int n, long *steps_run, nexp_error *err)
{
    const int w = u->width, h = u->height;
    int cycles = (n + opt->fed_cycle - 1) / opt->fed_cycle;
    int L = opt->fed_cycle;
    double tau_max = 1.0 / (4.0 * (1.0 - opt->alpha));
    nexp_diffusion_params prm = NEXP_DIFFUSION_PARAMS_INIT;
    prm.model = NEXP_DIFF_EED;
    prm.scheme = opt->scheme;
    prm.lambda = opt->lambda;
    prm.sigma = opt->sigma;
    prm.alpha = opt->alpha;
    prm.eed_g = opt->diffusivity;
    /* slightly below L steps' reach so that rounding never asks for L + 1 steps */
    prm.time = cycles * tau_max * L * (L + 1) / 3.0 * (1.0 - 1e-9);
    prm.cycles = cycles;
    uint8_t *kb = malloc(u->stride * (size_t)h);
    if (kb == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory for a %d x %d known mask", w, h);
    }
    for (int y = 0; y < h; y++) {
        const float *kr = nexp_field_row(known, 0, y);
        for (size_t x = 0; x < u->stride; x++) {
            kb[(size_t)y * u->stride + x] = x < (size_t)w && kr[x] != 0.0f;
        }
    }
    nexp_diffusion_plan *plan = NULL;
    nexp_status st = nexp_diffusion_plan_create(&plan, w, h, u->channels, &prm, err);
    if (st == NEXP_OK && guide != NULL) {
        st = nexp_diffusion_plan_set_guide(plan, guide, err);
    }
    if (st == NEXP_OK) {
        nexp_diffusion_run run = NEXP_DIFFUSION_RUN_INIT;
        run.known = kb;
        st = nexp_diffusion_execute(plan, u, &run, err);
        *steps_run += run.steps;
    }
    nexp_diffusion_plan_free(plan);
    free(kb);
    return st;
}

/* Coarse to fine: start each level from the upsampled result of the level below, reset the known
 * pixels and run the level's explicit steps (none for steps_override == 0). Result in *out. */
static nexp_status coarse_to_fine(const nexp_pyramid *pyr, const nexp_inpaint_options *opt, int explicit_steps,
                                  nexp_field **out, long *steps_run, nexp_error *err)
{
    nexp_field *u = NULL, *prev = NULL, *tmp = NULL;
    nexp_status st = NEXP_OK;
    *steps_run = 0;
    for (int l = pyr->levels - 1; l >= 0; l--) {
        st = nexp_field_create_like(&u, pyr->data[l], err);
        if (st != NEXP_OK) {
            goto done;
        }
        if (prev == NULL) {
            nexp_field_copy(u, pyr->data[l], NULL);
            fill_with_known_mean(u, pyr->known[l]);
        } else {
            nexp_field_upsample_bilinear(prev, u, NULL);
            reset_known(u, pyr->data[l], pyr->known[l]);
            nexp_field_free(prev);
            prev = NULL;
        }
        int n = explicit_steps ? level_steps(opt, l, pyr->levels) : 0;
        if (n > 0 && (opt->method == NEXP_INPAINT_EED || opt->method == NEXP_INPAINT_EED_FLOW)) {
            /* levels have sides >= 4 (nexp_pyramid_max_levels), as the diffusion plans require */
            st = run_eed(u, pyr->known[l], opt->method == NEXP_INPAINT_EED ? pyr->guide[l] : NULL, opt, n,
                         steps_run, err);
            if (st != NEXP_OK) {
                goto done;
            }
        } else if (n > 0) {
            st = nexp_field_create_like(&tmp, u, err);
            if (st == NEXP_OK) {
                st = run_homogeneous_fed(u, tmp, pyr->known[l], n, opt->fed_cycle, err);
            }
            nexp_field_free(tmp);
            tmp = NULL;
            if (st != NEXP_OK) {
                goto done;
            }
            *steps_run += n;
        }
        prev = u;
        u = NULL;
    }
    *out = prev;
    prev = NULL;
done:
    nexp_field_free(u);
    nexp_field_free(prev);
    return st;
}

static nexp_status check_options(const nexp_inpaint_options *opt, nexp_error *err)
{
    if ((int)opt->method < 0 || opt->method >= NEXP_INPAINT_METHOD_COUNT) {
        return nexp_error_set(err, NEXP_ERR_ARG, "unknown inpainting method %d", (int)opt->method);
    }
    if (!(opt->tol > 0.0) || opt->max_iter < 1) {
        return nexp_error_set(err, NEXP_ERR_ARG, "tolerance %g must be > 0 and max_iter %d >= 1", opt->tol,
                              opt->max_iter);
    }
    if (opt->levels < 1 || opt->levels > NEXP_INPAINT_MAX_LEVELS) {
        return nexp_error_set(err, NEXP_ERR_ARG, "levels %d out of range 1..%d", opt->levels,
                              NEXP_INPAINT_MAX_LEVELS);
    }
    if (opt->n_steps < 1 || opt->n_steps > NEXP_INPAINT_MAX_LEVELS) {
        return nexp_error_set(err, NEXP_ERR_ARG, "need 1..%d step counts, got %d", NEXP_INPAINT_MAX_LEVELS,
                              opt->n_steps);
    }
    for (int i = 0; i < opt->n_steps; i++) {
        if (opt->steps[i] < 0) {
            return nexp_error_set(err, NEXP_ERR_ARG, "step count %d of level %d is negative", opt->steps[i], i);
        }
    }
    if (opt->fed_cycle < 1) {
        return nexp_error_set(err, NEXP_ERR_ARG, "FED cycle length %d must be >= 1", opt->fed_cycle);
    }
    if (opt->method == NEXP_INPAINT_EED || opt->method == NEXP_INPAINT_EED_FLOW) {
        if (!(opt->lambda > 0.0) || !(opt->sigma >= 0.0) || !(opt->alpha >= 0.0 && opt->alpha <= 0.5)) {
            return nexp_error_set(err, NEXP_ERR_ARG, "EED needs lambda > 0 (got %g), sigma >= 0 (got %g) and alpha "
                                  "in [0, 1/2] (got %g)", opt->lambda, opt->sigma, opt->alpha);
        }
        if (opt->scheme != NEXP_SCHEME_FED && opt->scheme != NEXP_SCHEME_FSI) {
            return nexp_error_set(err, NEXP_ERR_ARG, "EED inpainting runs FED or FSI cycles, not %s",
                                  nexp_diffusion_scheme_name(opt->scheme));
        }
    }
    return NEXP_OK;
}

nexp_status nexp_inpaint(const nexp_field *data, const nexp_field *known, const nexp_field *guide,
                         const nexp_inpaint_options *opt, nexp_field **out, nexp_inpaint_report *rep,
                         nexp_error *err)
{
    *out = NULL;
    double t0 = nexp_time_now();
    nexp_status st = check_options(opt, err);
    if (st != NEXP_OK) {
        return st;
    }
    if (opt->method == NEXP_INPAINT_EED && guide == NULL) {
        return nexp_error_set(err, NEXP_ERR_ARG, "guided EED inpainting needs the reference image");
    }
    nexp_pyramid *pyr = NULL;
    nexp_laplace_plan *plan = NULL;
    nexp_field *u = NULL;
    nexp_inpaint_report r;
    memset(&r, 0, sizeof r);
    int levels = opt->method == NEXP_INPAINT_HOMOGENEOUS ? NEXP_INPAINT_MAX_LEVELS : opt->levels;
    st = nexp_pyramid_create(&pyr, data, known, guide, levels, err);
    if (st != NEXP_OK) {
        goto done;
    }
    r.levels = pyr->levels;
    switch (opt->method) {
    case NEXP_INPAINT_HOMOGENEOUS:
        st = coarse_to_fine(pyr, opt, 0, &u, &r.steps, err);
        if (st == NEXP_OK) {
            st = nexp_laplace_plan_create(&plan, pyr->known[0], err);
        }
        if (st == NEXP_OK) {
            st = nexp_laplace_plan_solve(plan, u, opt->tol, opt->max_iter, &r.laplace, err);
        }
        break;
    case NEXP_INPAINT_HOMOGENEOUS_EXPLICIT:
    case NEXP_INPAINT_EED:
    case NEXP_INPAINT_EED_FLOW:
        st = coarse_to_fine(pyr, opt, 1, &u, &r.steps, err);
        break;
    default:
        st = nexp_error_set(err, NEXP_ERR_ARG, "unknown inpainting method %d", (int)opt->method);
        break;
    }
    if (st != NEXP_OK) {
        goto done;
    }
    u->kind = data->kind;
    *out = u;
    u = NULL;
    r.seconds = nexp_time_now() - t0;
    if (rep != NULL) {
        *rep = r;
    }
done:
    nexp_field_free(u);
    nexp_laplace_plan_free(plan);
    nexp_pyramid_free(pyr);
    return st;
}
