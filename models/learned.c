#include "nexp_learned.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clones_internal.h"
#include "learned_internal.h"
#include "nexp_core.h"
#include "nexp_inpaint.h"
#include "nexp_rng.h"

/* Loss smoothing: sqrt(|e|^2 + LOSS_EPS2). */
#define LOSS_EPS2 1e-6

enum { T_C0W, T_C0B, T_C1W, T_C1B, T_C2W, T_C2B, T_HW, T_HB, T_LB, T_LK, T_COUNT };

static void add_view(nexp_learned *m, const char *name, int ndim, int d0, int d1, int d2, int d3)
{
    nexp_tensor_view *v = &m->tensors[m->n_tensors++];
    snprintf(v->name, sizeof v->name, "%s", name);
    v->ndim = ndim;
    int d[4] = { d0, d1, d2, d3 };
    v->size = 1;
    for (int i = 0; i < 4; i++) {
        v->shape[i] = i < ndim ? d[i] : 0;
        if (i < ndim) {
            v->size *= (size_t)d[i];
        }
    }
    v->offset = m->n_params;
    m->n_params += v->size;
}

/* Network input channels: the image (3), then for flow-fed models the starting flow (2) and mask (1),
 * then for cascade models the coarser level's features (F, from channel cascade_channel). */
static int cascade_channel(const nexp_learned_spec *s)
{
    return s->flow_input ? 6 : 3;
}

static int learned_input_channels(const nexp_learned_spec *s)
{
    return cascade_channel(s) + (s->cascade ? s->features : 0);
}

static float *P(const nexp_learned *m, int t)
{
    return m->params + m->tensors[t].offset;
}

static float *G(const nexp_learned *m, int t)
{
    return m->grads + m->tensors[t].offset;
}

void nexp_learned_free(nexp_learned *m)
{
    if (m == NULL) {
        return;
    }
    free(m->params);
    free(m->grads);
    free(m);
}

void nexp_learned_zero_grads(nexp_learned *m)
{
    memset(m->grads, 0, m->n_params * sizeof(float));
}

const nexp_tensor_view *nexp_learned_tensor(const nexp_learned *m, const char *name)
{
    for (int i = 0; i < m->n_tensors; i++) {
        if (strcmp(m->tensors[i].name, name) == 0) {
            return &m->tensors[i];
        }
    }
    return NULL;
}

nexp_status nexp_learned_create(nexp_learned **out, const nexp_learned_spec *spec, uint64_t seed, nexp_error *err)
{
    *out = NULL;
    nexp_learned_spec s = NEXP_LEARNED_SPEC_INIT;
    if (spec != NULL) {
        s = *spec;
    }
    if (s.features < 1 || s.features > 64 || s.levels < 1 || s.levels > NEXP_LEARNED_MAX_LEVELS || s.steps < 1 ||
        s.steps > 10000 || (s.flow_input != 0 && s.flow_input != 1) || (s.cascade != 0 && s.cascade != 1) ||
        (s.mirror != 0 && s.mirror != 1)) {
        return nexp_error_set(err, NEXP_ERR_ARG,
                              "learned model spec: features %d (1..64), levels %d (1..%d), steps %d (1..10000), "
                              "flow_input %d (0 or 1), cascade %d (0 or 1), mirror %d (0 or 1)",
                              s.features, s.levels, NEXP_LEARNED_MAX_LEVELS, s.steps, s.flow_input, s.cascade,
                              s.mirror);
    }
    nexp_learned *m = calloc(1, sizeof *m);
    if (m == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory creating a model");
    }
    m->spec = s;
    const int F = s.features;
    const int cin0 = learned_input_channels(&s);
    add_view(m, "conv0.weight", 4, F, cin0, 3, 3);
    add_view(m, "conv0.bias", 1, F, 0, 0, 0);
    add_view(m, "conv1.weight", 4, F, F, 3, 3);
    add_view(m, "conv1.bias", 1, F, 0, 0, 0);
    add_view(m, "conv2.weight", 4, F, F, 3, 3);
    add_view(m, "conv2.bias", 1, F, 0, 0, 0);
    add_view(m, "head.weight", 4, LEARNED_NOUT, F, 1, 1);
    add_view(m, "head.bias", 1, LEARNED_NOUT, 0, 0, 0);
    add_view(m, "level.bias", 2, s.levels, LEARNED_NOUT, 0, 0);
    add_view(m, "level.log_kappa", 1, s.levels, 0, 0, 0);
    m->params = calloc(m->n_params, sizeof(float));
    m->grads = calloc(m->n_params, sizeof(float));
    if (m->params == NULL || m->grads == NULL) {
        nexp_learned_free(m);
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory creating a model");
    }
    nexp_rng rng;
    nexp_rng_seed(&rng, seed);
    const int fan_in[4] = { 9 * cascade_channel(&s), 9 * F, 9 * F, F };
    const int wt[4] = { T_C0W, T_C1W, T_C2W, T_HW };
    for (int k = 0; k < 4; k++) {
        double sd = sqrt(2.0 / (1.0 + LEARNED_LEAK * LEARNED_LEAK) / fan_in[k]) * (k == 3 ? 0.1 : 1.0);
        float *w = P(m, wt[k]);
        for (size_t i = 0; i < m->tensors[wt[k]].size; i++) {
            w[i] = (float)(sd * nexp_rng_normal(&rng));
        }
    }
    /* cascade models start as the model without it: zero weights on the coarser level's features (their
     * gradients are not zero, so training opens the path as far as it helps) */
    for (int o = 0; o < F; o++) {
        memset(P(m, T_C0W) + ((size_t)o * cin0 + cascade_channel(&s)) * 9, 0,
               (size_t)(cin0 - cascade_channel(&s)) * 9 * sizeof(float));
    }
    /* eigenvalue scores start at 0.3 and 1.0 (g = 0.92, 0.5 with kappa = 1) so that both the
     * diffusivity and the direction receive gradients from the first step */
    for (int l = 0; l < s.levels; l++) {
        float *lb = P(m, T_LB) + (size_t)l * LEARNED_NOUT;
        lb[2] = 0.3f;
        lb[3] = 1.0f;
    }
    *out = m;
    return NEXP_OK;
}

/* ---- forward and backward over the pyramid ------------------------------------------------------ */

typedef struct level_ws {
    int h, w;
    size_t hw;
    float *x0;           /* (cin0, hw) network input: image scaled to [-S, S], then flow-fed models' flow */
    float *a1, *a2, *a3; /* (F, hw) activations after leaky ReLU */
    float *o;            /* (5, hw) network outputs */
    float *e;            /* (4, hw) stencil contributions */
    float *wt;           /* (4, hw) their edge weights (learned_edge_weights) */
    float *f;            /* (nc, hw) data */
    float *known;        /* (hw) */
    float *states;       /* training: (steps + 1) x (nc, hw); inference: 1 x (nc, hw) */
    float *final;        /* points into states: the level's result */
} level_ws;

typedef struct run_ws {
    int levels, nc, store;
    level_ws lv[NEXP_INPAINT_MAX_LEVELS];
    float *col;   /* convolution workspace: `slots` per-thread parts */
    float *pad;   /* inference: a level's step inputs and states on rows learned_pitch apart */
    int slots;
    float fc[2], fscale; /* flow-fed models: the flow normalisation (flow_normalisation) */
    float *final; /* points into level 0's states: the result */
} run_ws;

static void ws_free(run_ws *ws)
{
    for (int l = 0; l < ws->levels; l++) {
        level_ws *v = &ws->lv[l];
        free(v->x0);
        free(v->a1);
        free(v->a2);
        free(v->a3);
        free(v->o);
        free(v->e);
        free(v->wt);
        free(v->f);
        free(v->known);
        free(v->states);
    }
    free(ws->col);
    free(ws->pad);
    memset(ws, 0, sizeof *ws);
}

static void field_to_dense(const nexp_field *f, int c0, int nc, float *out)
{
    const size_t hw = (size_t)f->width * (size_t)f->height;
    for (int c = 0; c < nc; c++) {
        for (int y = 0; y < f->height; y++) {
            memcpy(out + c * hw + (size_t)y * f->width, nexp_field_row(f, c0 + c, y), (size_t)f->width * sizeof(float));
        }
    }
}

NEXP_CLONES_EXACT
static void lrelu(size_t n, float *x)
{
#pragma omp parallel for simd schedule(static) if (n >= 16 * LEARNED_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        x[i] = x[i] < 0.0f ? x[i] * LEARNED_LEAK : x[i];
    }
}

NEXP_CLONES_EXACT
static void lrelu_backward(size_t n, const float *y, float *dy)
{
#pragma omp parallel for simd schedule(static) if (n >= 16 * LEARNED_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        dy[i] = y[i] <= 0.0f ? dy[i] * LEARNED_LEAK : dy[i];
    }
}

static int level_index(const nexp_learned *m, int l)
{
    return l < m->spec.levels ? l : m->spec.levels - 1;
}

/* Network and tensor of one level; v->x0 must be filled. */
static void level_network(const nexp_learned *m, level_ws *v, int l, float *col, int slots)
{
    const int F = m->spec.features, h = v->h, w = v->w, mi = m->spec.mirror;
    const size_t n = v->hw;
    learned_conv_forward(learned_input_channels(&m->spec), F, 3, h, w, v->x0, P(m, T_C0W), P(m, T_C0B), v->a1, col,
                         slots, mi);
    lrelu(F * n, v->a1);
    learned_conv_forward(F, F, 3, h, w, v->a1, P(m, T_C1W), P(m, T_C1B), v->a2, col, slots, mi);
    lrelu(F * n, v->a2);
    learned_conv_forward(F, F, 3, h, w, v->a2, P(m, T_C2W), P(m, T_C2B), v->a3, col, slots, mi);
    lrelu(F * n, v->a3);
    learned_conv_forward(F, LEARNED_NOUT, 1, h, w, v->a3, P(m, T_HW), P(m, T_HB), v->o, NULL, 1, 0);
    int li = level_index(m, l);
    learned_tensor_forward(n, v->o, P(m, T_LB) + (size_t)li * LEARNED_NOUT, P(m, T_LK)[li], v->e);
    learned_edge_weights(h, w, v->e, v->wt);
}

static nexp_status alloc_level(level_ws *v, int cin0, int F, int nc, size_t nstates, nexp_error *err)
{
    const size_t n = v->hw;
    v->x0 = malloc((size_t)cin0 * n * sizeof(float));
    v->a1 = malloc((size_t)F * n * sizeof(float));
    v->a2 = malloc((size_t)F * n * sizeof(float));
    v->a3 = malloc((size_t)F * n * sizeof(float));
    v->o = malloc(LEARNED_NOUT * n * sizeof(float));
    v->e = malloc(LEARNED_NW * n * sizeof(float));
    v->wt = malloc(LEARNED_NW * n * sizeof(float));
    v->f = malloc((size_t)nc * n * sizeof(float));
    v->known = malloc(n * sizeof(float));
    v->states = nc > 0 ? malloc(nstates * (size_t)nc * n * sizeof(float)) : NULL;
    if (!v->x0 || !v->a1 || !v->a2 || !v->a3 || !v->o || !v->e || !v->wt || !v->f || !v->known ||
        (nc > 0 && !v->states)) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory for a %d x %d model level", v->w, v->h);
    }
    return NEXP_OK;
}

/* Image (1 or 3 channels, 0..255) of a pyramid level into x0, scaled to [-S, S] (S = LEARNED_INPUT_SCALE). */
static void image_input(const nexp_field *img, level_ws *v)
{
    for (int c = 0; c < 3; c++) {
        int sc = img->channels >= 3 ? c : 0;
        float *dst = v->x0 + (size_t)c * v->hw;
        for (int y = 0; y < v->h; y++) {
            const float *row = nexp_field_row(img, sc, y);
            for (int x = 0; x < v->w; x++) {
                dst[(size_t)y * v->w + x] = (row[x] * (2.0f / 255.0f) - 1.0f) * LEARNED_INPUT_SCALE;
            }
        }
    }
}

/* The bound on the flow input: z -> z / sqrt(1 + (z / B)^2) with B = LEARNED_FLOW_CLIP, and its slope. */
static inline float flow_clip(float z)
{
    return z / sqrtf(1.0f + z * z * (1.0f / (LEARNED_FLOW_CLIP * LEARNED_FLOW_CLIP)));
}

static inline float flow_clip_slope(float z)
{
    float r = 1.0f / sqrtf(1.0f + z * z * (1.0f / (LEARNED_FLOW_CLIP * LEARNED_FLOW_CLIP)));
    return r * r * r;
}

/* Flow-fed models: the level's starting flow u0 (2, hw), normalised and bounded, and its known mask
 * into x0's channels 3..5. Channel k + 3 = flow_clip((u0_k - c_k) * fscale), channel 5 = known *
 * LEARNED_FLOW_SCALE. */
static void flow_input(const run_ws *ws, level_ws *v, const float *u0)
{
    const size_t n = v->hw;
    for (int c = 0; c < 2; c++) {
        float *dst = v->x0 + (size_t)(3 + c) * n;
        for (size_t i = 0; i < n; i++) {
            dst[i] = flow_clip((u0[c * n + i] - ws->fc[c]) * ws->fscale);
        }
    }
    float *dst = v->x0 + 5 * n;
    for (size_t i = 0; i < n; i++) {
        dst[i] = v->known[i] != 0.0f ? LEARNED_FLOW_SCALE : 0.0f;
    }
}

/* The flow normalisation of a flow-fed model from the known vectors at full size: centre c = their
 * mean, fscale = LEARNED_FLOW_SCALE / (root mean square distance from c), 0 for (almost) constant
 * data. The network thus sees the same input for a f + b (a > 0), and the result follows. */
static void flow_normalisation(const nexp_field *data, const nexp_field *known, run_ws *ws)
{
    double sum[2] = { 0.0, 0.0 }, ss = 0.0;
    size_t cnt = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int y = 0; y < data->height; y++) {
            const float *k = nexp_field_row(known, 0, y);
            const float *u = nexp_field_row(data, 0, y), *v = nexp_field_row(data, 1, y);
            for (int x = 0; x < data->width; x++) {
                if (k[x] == 0.0f) {
                    continue;
                }
                if (pass == 0) {
                    sum[0] += u[x];
                    sum[1] += v[x];
                    cnt++;
                } else {
                    double du = u[x] - sum[0], dv = v[x] - sum[1];
                    ss += du * du + dv * dv;
                }
            }
        }
        if (pass == 0) {
            sum[0] /= (double)(cnt ? cnt : 1);
            sum[1] /= (double)(cnt ? cnt : 1);
        }
    }
    double rms = sqrt(ss / (double)(cnt ? cnt : 1));
    ws->fc[0] = (float)sum[0];
    ws->fc[1] = (float)sum[1];
    ws->fscale = rms > 1e-6 ? (float)(LEARNED_FLOW_SCALE / rms) : 0.0f;
}

/* Inference's steps: two states in turn, on copies of the level's planes whose rows are
 * learned_pitch apart (the same arithmetic, so the same bits as unpadded steps); the result goes to
 * the level's first state. pad: PAD_FLOATS(nc, h, learned_pitch(w)) floats or more. */
#define PAD_FLOATS(nc, h, p) ((size_t)(5 + 3 * (nc)) * (size_t)(h) * (size_t)(p))

/* rows of w floats, from rows sp apart to rows dp apart */
static void copy_rows(size_t rows, int w, const float *src, int sp, float *dst, int dp)
{
    for (size_t r = 0; r < rows; r++) {
        memcpy(dst + r * (size_t)dp, src + r * (size_t)sp, (size_t)w * sizeof(float));
    }
}

static void run_steps_padded(level_ws *v, int nc, int S, float *pad)
{
    const int h = v->h, w = v->w, p = learned_pitch(w);
    const size_t hp = (size_t)h * (size_t)p;
    float *wt = pad, *f = wt + 4 * hp, *known = f + (size_t)nc * hp, *cur = known + hp, *next = cur + (size_t)nc * hp;
    copy_rows(4 * (size_t)h, w, v->wt, w, wt, p);
    copy_rows((size_t)nc * h, w, v->f, w, f, p);
    copy_rows((size_t)h, w, v->known, w, known, p);
    copy_rows((size_t)nc * h, w, v->states, w, cur, p);
    for (int s = 1; s <= S; s++) {
        learned_step_forward(nc, h, w, p, cur, f, known, wt, LEARNED_TAU, next);
        float *t = cur;
        cur = next;
        next = t;
    }
    copy_rows((size_t)nc * h, w, cur, p, v->states, w);
    v->final = v->states;
}

/* Forward pass. data NULL (image-fed models only): network and tensors only (no diffusion). */
static nexp_status run_forward(const nexp_learned *m, const nexp_field *image, const nexp_field *data,
                               const nexp_field *known, int store, run_ws *ws, nexp_error *err)
{
    memset(ws, 0, sizeof *ws);
    nexp_pyramid *pyr = NULL;
    nexp_field *ones = NULL;
    nexp_status st;
    if (data == NULL) {
        /* the pyramid of the image alone: a dummy known mask */
        if ((st = nexp_field_create(&ones, image->width, image->height, 1, err)) != NEXP_OK) {
            return st;
        }
        nexp_field_fill(ones, 1.0f);
        st = nexp_pyramid_create(&pyr, ones, ones, image, m->spec.levels, err);
    } else {
        st = nexp_pyramid_create(&pyr, data, known, image, m->spec.levels, err);
    }
    if (st != NEXP_OK) {
        nexp_field_free(ones);
        return st;
    }
    const int F = m->spec.features, S = m->spec.steps, cin0 = learned_input_channels(&m->spec);
    const int nc = data != NULL ? data->channels : 0;
    ws->levels = pyr->levels;
    ws->nc = nc;
    ws->store = store;
    if (m->spec.flow_input) {
        flow_normalisation(data, known, ws);
    }
    /* one convolution workspace per thread (about 10 MB each at 1024 wide), at most 8 */
    ws->slots = omp_get_max_threads() < 8 ? omp_get_max_threads() : 8;
    /* the whole workspace against the memory limit (--max-memory), before any of it is taken */
    const size_t col_floats = (size_t)ws->slots * LEARNED_CONV_COL(F > cin0 ? F : cin0, image->width);
    const size_t pad_floats = !store && nc > 0 ? PAD_FLOATS(nc, image->height, learned_pitch(image->width)) : 0;
    size_t floats = col_floats + pad_floats;
    const size_t per_px = (size_t)cin0 + 3 * (size_t)F + LEARNED_NOUT + 2 * LEARNED_NW + (size_t)nc + 1 +
                          (store ? (size_t)S + 1 : 1) * (size_t)nc; /* alloc_level's buffers */
    for (int l = 0; l < pyr->levels; l++) {
        floats += per_px * (size_t)pyr->known[l]->width * (size_t)pyr->known[l]->height;
    }
    if ((st = nexp_memory_check(floats * sizeof(float), "the learned model's workspace", err)) != NEXP_OK) {
        goto done;
    }
    ws->col = malloc(col_floats * sizeof(float));
    if (pad_floats > 0) {
        ws->pad = malloc(pad_floats * sizeof(float));
    }
    if (ws->col == NULL || (pad_floats > 0 && ws->pad == NULL)) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory for the convolution and step workspaces");
        goto done;
    }
    for (int l = ws->levels - 1; l >= 0; l--) {
        level_ws *v = &ws->lv[l];
        v->w = pyr->known[l]->width;
        v->h = pyr->known[l]->height;
        v->hw = (size_t)v->w * (size_t)v->h;
        if ((st = alloc_level(v, cin0, F, nc, store ? (size_t)S + 1 : 1, err)) != NEXP_OK) {
            goto done;
        }
        image_input(pyr->guide[l], v);
        if (m->spec.cascade) {
            float *dst = v->x0 + (size_t)cascade_channel(&m->spec) * v->hw;
            if (l == ws->levels - 1) {
                memset(dst, 0, (size_t)F * v->hw * sizeof(float));
            } else {
                const level_ws *cv = &ws->lv[l + 1];
                learned_upsample_forward(F, cv->h, cv->w, v->h, v->w, cv->a3, dst);
                const size_t nf = (size_t)F * v->hw;
#pragma omp parallel for schedule(static) if (nf >= LEARNED_PAR_MIN)
                for (size_t i = 0; i < nf; i++) {
                    dst[i] = flow_clip(dst[i] * CASCADE_SCALE);
                }
            }
        }
        if (nc == 0) {
            level_network(m, v, l, ws->col, ws->slots);
            continue;
        }
        field_to_dense(pyr->data[l], 0, nc, v->f);
        field_to_dense(pyr->known[l], 0, 1, v->known);
        const size_t n = v->hw, sz = (size_t)nc * n;
        float *u0 = v->states;
        if (l == ws->levels - 1) {
            /* coarsest level: unknown pixels start at the mean of the known values */
            for (int c = 0; c < nc; c++) {
                double sum = 0.0;
                size_t cnt = 0;
                for (size_t i = 0; i < n; i++) {
                    if (v->known[i] != 0.0f) {
                        sum += v->f[c * n + i];
                        cnt++;
                    }
                }
                float mean = cnt ? (float)(sum / (double)cnt) : 0.0f;
                for (size_t i = 0; i < n; i++) {
                    u0[c * n + i] = v->known[i] != 0.0f ? v->f[c * n + i] : mean;
                }
            }
        } else {
            const level_ws *cv = &ws->lv[l + 1];
            learned_upsample_forward(nc, cv->h, cv->w, v->h, v->w, cv->final, u0);
        }
        if (m->spec.flow_input) {
            flow_input(ws, v, u0);
        }
        level_network(m, v, l, ws->col, ws->slots);
        if (store) {
            /* training keeps every state for the backward pass */
            for (int s = 1; s <= S; s++) {
                learned_step_forward(nc, v->h, v->w, v->w, v->states + (size_t)(s - 1) * sz, v->f, v->known,
                                     v->wt, LEARNED_TAU, v->states + (size_t)s * sz);
            }
            v->final = v->states + (size_t)S * sz;
        } else {
            run_steps_padded(v, nc, S, ws->pad);
        }
    }
    if (nc > 0) {
        ws->final = ws->lv[0].final;
    }
done:
    nexp_pyramid_free(pyr);
    nexp_field_free(ones);
    if (st != NEXP_OK) {
        ws_free(ws);
    }
    return st;
}

static nexp_status check_inputs(const nexp_learned *m, const nexp_field *image, const nexp_field *data,
                                const nexp_field *known, nexp_error *err)
{
    if (image->channels != 1 && image->channels != 3) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "reference image has %d channels (need 1 or 3)", image->channels);
    }
    if (data->channels > 8) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "data has %d channels (at most 8)", data->channels);
    }
    if (m->spec.flow_input && data->channels != 2) {
        return nexp_error_set(err, NEXP_ERR_SIZE,
                              "this model reads the flow it inpaints: data has %d channels (need 2)", data->channels);
    }
    return nexp_inpaint_check(data, known, image, err);
}

nexp_status nexp_learned_inpaint(const nexp_learned *m, const nexp_field *image, const nexp_field *data,
                                 const nexp_field *known, nexp_field **out, nexp_error *err)
{
    *out = NULL;
    nexp_status st = check_inputs(m, image, data, known, err);
    if (st != NEXP_OK) {
        return st;
    }
    run_ws ws;
    if ((st = run_forward(m, image, data, known, 0, &ws, err)) != NEXP_OK) {
        return st;
    }
    if ((st = nexp_field_create(out, data->width, data->height, data->channels, err)) == NEXP_OK) {
        (*out)->kind = data->kind;
        const size_t n = ws.lv[0].hw;
        for (int c = 0; c < data->channels; c++) {
            for (int y = 0; y < data->height; y++) {
                memcpy(nexp_field_row(*out, c, y), ws.final + c * n + (size_t)y * data->width,
                       (size_t)data->width * sizeof(float));
            }
        }
    }
    ws_free(&ws);
    return st;
}

nexp_status nexp_learned_tensors(const nexp_learned *m, const nexp_field *image, const nexp_field *data,
                                 const nexp_field *known, nexp_field **out, int *levels_out, nexp_error *err)
{
    *out = NULL;
    nexp_status st;
    if (data != NULL && known != NULL) {
        st = check_inputs(m, image, data, known, err);
    } else if (m->spec.flow_input) {
        st = nexp_error_set(err, NEXP_ERR_ARG, "this model reads the flow: its tensors need the data and mask");
    } else if (image->channels != 1 && image->channels != 3) {
        st = nexp_error_set(err, NEXP_ERR_SIZE, "reference image has %d channels (need 1 or 3)", image->channels);
    } else {
        st = NEXP_OK;
        data = known = NULL;
    }
    if (st != NEXP_OK) {
        return st;
    }
    run_ws ws;
    if ((st = run_forward(m, image, data, known, 0, &ws, err)) != NEXP_OK) {
        return st;
    }
    const int W = image->width, H = image->height;
    float *t5 = malloc(5 * ws.lv[0].hw * sizeof(float));
    if (t5 == NULL) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory describing tensors");
    } else if ((st = nexp_field_create(out, W, H, 5 * ws.levels, err)) == NEXP_OK) {
        (*out)->kind = NEXP_KIND_TENSOR;
        for (int l = 0; l < ws.levels; l++) {
            const level_ws *v = &ws.lv[l];
            int li = level_index(m, l);
            learned_tensor_describe(v->hw, v->o, P(m, T_LB) + (size_t)li * LEARNED_NOUT, P(m, T_LK)[li], t5);
            for (int c = 0; c < 5; c++) {
                for (int y = 0; y < H; y++) {
                    float *row = nexp_field_row(*out, 5 * l + c, y);
                    int sy = (int)((long)y * v->h / H);
                    for (int x = 0; x < W; x++) {
                        int sx = (int)((long)x * v->w / W);
                        row[x] = t5[(size_t)c * v->hw + (size_t)sy * v->w + sx];
                    }
                }
            }
        }
    }
    free(t5);
    if (levels_out != NULL) {
        *levels_out = ws.levels;
    }
    ws_free(&ws);
    return st;
}

/* Backward through levels, tensors and network from dfinal (nc, H, W) at level 0. */
static nexp_status run_backward(nexp_learned *m, run_ws *ws, const float *dfinal, double weight, nexp_error *err)
{
    const int F = m->spec.features, S = m->spec.steps, nc = ws->nc;
    const size_t n0 = ws->lv[0].hw;
    size_t maxn = n0;
    float *g = calloc((size_t)nc * maxn, sizeof(float));
    float *gp = calloc((size_t)nc * maxn, sizeof(float));
    float *de = calloc(LEARNED_NW * maxn, sizeof(float));
    float *dO = calloc(LEARNED_NOUT * maxn, sizeof(float));
    float *da = calloc((size_t)F * maxn, sizeof(float));
    float *db = calloc((size_t)F * maxn, sizeof(float));
    float *scratch = calloc((LEARNED_NOUT + 1) * maxn, sizeof(float));
    const int cin0 = learned_input_channels(&m->spec);
    const int need_dx0 = m->spec.flow_input || m->spec.cascade;
    float *dx0 = need_dx0 ? malloc((size_t)cin0 * maxn * sizeof(float)) : NULL;
    /* cascade models: d/d(this level's a3) from the finer level's input */
    float *dfeat = m->spec.cascade ? calloc((size_t)F * maxn, sizeof(float)) : NULL;
    int have_dfeat = 0;
    nexp_status st = NEXP_OK;
    if (!g || !gp || !de || !dO || !da || !db || !scratch || (need_dx0 && !dx0) || (m->spec.cascade && !dfeat)) {
        st = nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory in the backward pass");
        goto done;
    }
    for (size_t i = 0; i < (size_t)nc * n0; i++) {
        g[i] = (float)weight * dfinal[i];
    }
    for (int l = 0; l < ws->levels; l++) {
        level_ws *v = &ws->lv[l];
        const size_t n = v->hw, sz = (size_t)nc * n;
        memset(de, 0, LEARNED_NW * n * sizeof(float));
        for (int s = S; s >= 1; s--) {
            memset(gp, 0, sz * sizeof(float));
            learned_step_backward(nc, v->h, v->w, v->states + (size_t)(s - 1) * sz, v->known, v->wt, LEARNED_TAU, g,
                                  gp, de);
            float *t = g;
            g = gp;
            gp = t;
        }
        int li = level_index(m, l);
        memset(dO, 0, LEARNED_NOUT * n * sizeof(float));
        learned_tensor_backward(n, v->o, P(m, T_LB) + (size_t)li * LEARNED_NOUT, P(m, T_LK)[li], de, dO,
                                G(m, T_LB) + (size_t)li * LEARNED_NOUT, G(m, T_LK) + li, scratch);
        memset(da, 0, (size_t)F * n * sizeof(float));
        learned_conv_backward(F, LEARNED_NOUT, 1, v->h, v->w, v->a3, P(m, T_HW), dO, da, G(m, T_HW), G(m, T_HB), NULL,
                              0);
        if (have_dfeat) {
            for (size_t i = 0; i < (size_t)F * n; i++) {
                da[i] += dfeat[i];
            }
        }
        lrelu_backward((size_t)F * n, v->a3, da);
        memset(db, 0, (size_t)F * n * sizeof(float));
        learned_conv_backward(F, F, 3, v->h, v->w, v->a2, P(m, T_C2W), da, db, G(m, T_C2W), G(m, T_C2B), ws->col,
                              m->spec.mirror);
        lrelu_backward((size_t)F * n, v->a2, db);
        memset(da, 0, (size_t)F * n * sizeof(float));
        learned_conv_backward(F, F, 3, v->h, v->w, v->a1, P(m, T_C1W), db, da, G(m, T_C1W), G(m, T_C1B), ws->col,
                              m->spec.mirror);
        lrelu_backward((size_t)F * n, v->a1, da);
        if (dx0 != NULL) {
            memset(dx0, 0, (size_t)cin0 * n * sizeof(float));
        }
        learned_conv_backward(cin0, F, 3, v->h, v->w, v->x0, P(m, T_C0W), da, dx0, G(m, T_C0W), G(m, T_C0B), ws->col,
                              m->spec.mirror);
        /* cascade models: the input's feature channels came from the coarser level's a3 */
        have_dfeat = m->spec.cascade && l + 1 < ws->levels;
        if (have_dfeat) {
            const level_ws *cv = &ws->lv[l + 1];
            memset(dfeat, 0, (size_t)F * cv->hw * sizeof(float));
            float *dc = dx0 + (size_t)cascade_channel(&m->spec) * n;
            const float *xc = v->x0 + (size_t)cascade_channel(&m->spec) * n;
            for (size_t i = 0; i < (size_t)F * n; i++) {
                /* the bound's slope from its value y: (1 - (y / B)^2)^(3/2) */
                float q = 1.0f - xc[i] * xc[i] * (1.0f / (LEARNED_FLOW_CLIP * LEARNED_FLOW_CLIP));
                dc[i] *= CASCADE_SCALE * q * sqrtf(q);
            }
            learned_upsample_backward(F, cv->h, cv->w, v->h, v->w, dc, dfeat);
        }
        /* g = d/d(initial state u0); flow-fed models also read u0 through the network */
        if (m->spec.flow_input) {
            const float *u0 = v->states;
            for (int c = 0; c < 2; c++) {
                for (size_t i = 0; i < n; i++) {
                    float z = (u0[c * n + i] - ws->fc[c]) * ws->fscale;
                    g[c * n + i] += dx0[(size_t)(3 + c) * n + i] * ws->fscale * flow_clip_slope(z);
                }
            }
        }
        /* u0 came from the coarser level's result */
        if (l + 1 < ws->levels) {
            const level_ws *cv = &ws->lv[l + 1];
            memset(gp, 0, (size_t)nc * cv->hw * sizeof(float));
            learned_upsample_backward(nc, cv->h, cv->w, v->h, v->w, g, gp);
            float *t = g;
            g = gp;
            gp = t;
        }
    }
done:
    free(g);
    free(gp);
    free(de);
    free(dO);
    free(da);
    free(db);
    free(scratch);
    free(dx0);
    free(dfeat);
    return st;
}

nexp_status nexp_learned_loss_grad(nexp_learned *m, const nexp_field *image, const nexp_field *gt,
                                   const nexp_field *known, double weight, double *loss, double *epe,
                                   nexp_error *err)
{
    if (gt->channels != 2) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "ground truth has %d channels (need 2: u, v)", gt->channels);
    }
    nexp_status st = check_inputs(m, image, gt, known, err);
    if (st != NEXP_OK) {
        return st;
    }
    run_ws ws;
    if ((st = run_forward(m, image, gt, known, 1, &ws, err)) != NEXP_OK) {
        return st;
    }
    const int W = gt->width, H = gt->height;
    const size_t n = ws.lv[0].hw;
    float *d = calloc(2 * n, sizeof(float));
    if (d == NULL) {
        ws_free(&ws);
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory for the loss gradient");
    }
    double sl = 0.0, se = 0.0;
    size_t cnt = 0;
    for (int y = 0; y < H; y++) {
        const float *gu = nexp_field_row(gt, 0, y), *gv = nexp_field_row(gt, 1, y);
        for (int x = 0; x < W; x++) {
            if (!nexp_field_valid(gt, x, y)) {
                continue;
            }
            size_t i = (size_t)y * W + x;
            double eu = ws.final[i] - gu[x], ev = ws.final[n + i] - gv[x];
            double r = sqrt(eu * eu + ev * ev + LOSS_EPS2);
            sl += r;
            se += sqrt(eu * eu + ev * ev);
            d[i] = (float)(eu / r);
            d[n + i] = (float)(ev / r);
            cnt++;
        }
    }
    if (cnt == 0) {
        free(d);
        ws_free(&ws);
        return nexp_error_set(err, NEXP_ERR_EMPTY, "ground truth has no valid vector to score");
    }
    for (size_t i = 0; i < 2 * n; i++) {
        d[i] /= (float)cnt;
    }
    st = run_backward(m, &ws, d, weight, err);
    free(d);
    ws_free(&ws);
    if (loss != NULL) {
        *loss = sl / (double)cnt;
    }
    if (epe != NULL) {
        *epe = se / (double)cnt;
    }
    return st;
}
