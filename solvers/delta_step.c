/* The differentiable given-tensor step and the weights object (see nexp_diffusion.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diffusion_internal.h"

static size_t grid_stride(int width)
{
    const size_t per = NEXP_FIELD_ALIGN / sizeof(float);
    return ((size_t)width + per - 1) / per * per;
}

nexp_status nexp_delta_weights_create(nexp_delta_weights **out, int width, int height, nexp_error *err)
{
    *out = NULL;
    nexp_status st = nexp_field_check_dims(width, height, 1, err);
    if (st != NEXP_OK) {
        return st;
    }
    if (width < 2 || height < 2) {
        return nexp_error_set(err, NEXP_ERR_ARG, "diffusion needs at least 2 x 2 pixels, got %d x %d", width,
                              height);
    }
    nexp_delta_weights *w = calloc(1, sizeof *w);
    if (w == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory allocating stencil weights");
    }
    w->g.w = width;
    w->g.h = height;
    w->g.stride = grid_stride(width);
    const size_t wplane = (size_t)(height + 1) * w->g.stride, cplane = (size_t)height * w->g.stride;
    const size_t bytes = (4 * wplane + 4 * cplane) * sizeof(float);
    w->mem = aligned_alloc(NEXP_FIELD_ALIGN, bytes);
    if (w->mem == NULL) {
        free(w);
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory allocating stencil weights for %d x %d", width,
                              height);
    }
    memset(w->mem, 0, bytes);
    w->w.wx = w->mem + w->g.stride;
    w->w.wy = w->w.wx + wplane;
    w->w.wp = w->w.wy + wplane;
    w->w.wm = w->w.wp + wplane;
    w->ca = w->mem + 4 * wplane;
    w->cb = w->ca + cplane;
    w->cc = w->cb + cplane;
    w->cal = w->cc + cplane;
    w->bound = 0.0;
    *out = w;
    return NEXP_OK;
}

void nexp_delta_weights_free(nexp_delta_weights *w)
{
    if (w == NULL) {
        return;
    }
    free(w->mem);
    free(w);
}

void nexp_delta_weights_zero(nexp_delta_weights *w)
{
    const size_t wplane = (size_t)(w->g.h + 1) * w->g.stride;
    memset(w->mem, 0, 4 * wplane * sizeof(float));
}

static nexp_status check_like(const nexp_delta_weights *w, const nexp_field *f, int channels, const char *what,
                              nexp_error *err)
{
    if (f->width != w->g.w || f->height != w->g.h || (channels > 0 && f->channels != channels)) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "%s is %d x %d x %d, expected %d x %d%s", what, f->width, f->height,
                              f->channels, w->g.w, w->g.h, channels == 4 ? " x 4 (a, b, c, alpha)" : "");
    }
    if (f->stride != w->g.stride || f->plane != w->g.stride * (size_t)w->g.h) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "%s has stride %zu and plane %zu, expected %zu and %zu", what,
                              f->stride, f->plane, w->g.stride, w->g.stride * (size_t)w->g.h);
    }
    return NEXP_OK;
}

/* Bound from the cell tensors; reports a non-PSD cell or bad alpha as NEXP_ERR_ARG. */
nexp_status nexp_delta_weights_set_bound(nexp_delta_weights *w, const float *cal, float alpha, nexp_error *err)
{
    int bx, by;
    float worst = nexp_stencil_bound(w->g, w->ca, w->cb, w->cc, cal, alpha, &bx, &by);
    if (bx >= 0) {
        const size_t i = (size_t)by * w->g.stride + (size_t)bx;
        return nexp_error_set(err, NEXP_ERR_ARG,
                              "diffusion tensor of the cell at (%d, %d) is not positive semidefinite or its alpha is "
                              "outside [0, 1/2]: a = %g, b = %g, c = %g, alpha = %g",
                              bx, by, w->ca[i], w->cb[i], w->cc[i], cal ? w->cal[i] : alpha);
    }
    w->bound = worst > 0.0f ? 1.0 / (4.0 * (double)worst) : INFINITY;
    return NEXP_OK;
}

nexp_status nexp_delta_weights_forward(nexp_delta_weights *w, const nexp_field *tensor, nexp_error *err)
{
    nexp_status st = check_like(w, tensor, 4, "diffusion tensor field", err);
    if (st != NEXP_OK) {
        return st;
    }
    st = nexp_field_check_finite(tensor, err);
    if (st != NEXP_OK) {
        return nexp_error_prefix(err, "diffusion tensor");
    }
    const nexp_grid g = w->g;
    for (int y = 0; y < g.h; y++) {
        const float *a = nexp_field_row(tensor, 0, y), *b = nexp_field_row(tensor, 1, y),
                    *c = nexp_field_row(tensor, 2, y), *al = nexp_field_row(tensor, 3, y);
        for (int x = 0; x < g.w; x++) {
            const float tol = 1e-5f * (fabsf(a[x]) + fabsf(c[x]));
            if (!(a[x] >= 0.0f && c[x] >= 0.0f && a[x] * c[x] - b[x] * b[x] >= -tol * (fabsf(a[x]) + fabsf(c[x])) &&
                  al[x] >= 0.0f && al[x] <= 0.5f)) {
                return nexp_error_set(err, NEXP_ERR_ARG,
                                      "diffusion tensor at pixel (%d, %d) is not positive semidefinite or its alpha is "
                                      "outside [0, 1/2]: a = %g, b = %g, c = %g, alpha = %g",
                                      x, y, a[x], b[x], c[x], al[x]);
            }
        }
    }
    const float *pix[4] = { nexp_field_row(tensor, 0, 0), nexp_field_row(tensor, 1, 0), nexp_field_row(tensor, 2, 0),
                            nexp_field_row(tensor, 3, 0) };
    float *const cells[4] = { w->ca, w->cb, w->cc, w->cal };
    nexp_stencil_cells_from_pixels(g, 4, pix, cells, 0, g.h - 1);
    st = nexp_delta_weights_set_bound(w, w->cal, 0.0f, err);
    if (st != NEXP_OK) {
        return st;
    }
    nexp_stencil_weights(g, w->ca, w->cb, w->cc, w->cal, 0.0f, w->w, 0, g.h);
    return NEXP_OK;
}

double nexp_delta_weights_tau_bound(const nexp_delta_weights *w)
{
    return w->bound;
}

nexp_status nexp_delta_weights_backward(const nexp_delta_weights *w, nexp_delta_weights *dw, nexp_field *dtensor,
                                        nexp_error *err)
{
    nexp_status st = check_like(w, dtensor, 4, "tensor gradient field", err);
    if (st != NEXP_OK) {
        return st;
    }
    if (dw->g.w != w->g.w || dw->g.h != w->g.h) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "weight gradients are %d x %d, weights %d x %d", dw->g.w, dw->g.h,
                              w->g.w, w->g.h);
    }
    const nexp_grid g = w->g;
    nexp_stencil_cell_grads(g, w->ca, w->cb, w->cc, w->cal, 0.0f, dw->w, dw->ca, dw->cb, dw->cc, dw->cal, 0, g.h - 1);
    const float *dc[4] = { dw->ca, dw->cb, dw->cc, dw->cal };
    float *const dp[4] = { nexp_field_row(dtensor, 0, 0), nexp_field_row(dtensor, 1, 0),
                           nexp_field_row(dtensor, 2, 0), nexp_field_row(dtensor, 3, 0) };
    nexp_stencil_pixels_from_cells_adjoint(g, 4, dc, dp, 0, g.h);
    return NEXP_OK;
}

nexp_status nexp_delta_step_forward(const nexp_delta_weights *w, double tau, const nexp_field *u,
                                    const uint8_t *known, nexp_field *u_next, nexp_error *err)
{
    nexp_status st = check_like(w, u, 0, "u", err);
    if (st == NEXP_OK) {
        st = check_like(w, u_next, u->channels, "u_next", err);
    }
    if (st != NEXP_OK) {
        return st;
    }
    if (u->data == u_next->data) {
        return nexp_error_set(err, NEXP_ERR_ARG, "u_next must not alias u");
    }
    nexp_stencil_apply(w->g, w->w, u->channels, u->plane, u->data, NULL, u_next->data, (float)tau, 1.0f, 0.0f, known,
                       0, w->g.h);
    return NEXP_OK;
}

nexp_status nexp_delta_step_backward(const nexp_delta_weights *w, double tau, const nexp_field *u,
                                     const uint8_t *known, const nexp_field *du_next, nexp_field *du,
                                     nexp_delta_weights *dw, nexp_error *err)
{
    nexp_status st = check_like(w, u, 0, "u", err);
    if (st == NEXP_OK) {
        st = check_like(w, du_next, u->channels, "du_next", err);
    }
    if (st == NEXP_OK && du != NULL) {
        st = check_like(w, du, u->channels, "du", err);
    }
    if (st != NEXP_OK) {
        return st;
    }
    if (du != NULL) {
        nexp_stencil_apply_adjoint(w->g, w->w, u->channels, u->plane, du_next->data, du->data, (float)tau, known, 0,
                                   w->g.h);
    }
    if (dw != NULL) {
        if (dw->g.w != w->g.w || dw->g.h != w->g.h) {
            return nexp_error_set(err, NEXP_ERR_SIZE, "weight gradients are %d x %d, weights %d x %d", dw->g.w,
                                  dw->g.h, w->g.w, w->g.h);
        }
        nexp_stencil_weight_grads(w->g, u->channels, u->plane, u->data, du_next->data, (float)tau, known, dw->w, 0,
                                  w->g.h);
    }
    return NEXP_OK;
}
