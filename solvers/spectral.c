/* DCT filters with FFTW (see nexp_spectral.h). */
#include "nexp_spectral.h"

#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nexp_core.h"

struct nexp_dct_plan {
    int w, h;
    nexp_dct_precision precision;
    double *buf;          /* double precision workspace (h x w), or NULL */
    float *buff;          /* float precision workspace (h x w), or NULL */
    fftw_plan fwd, bwd;   /* double: REDFT10 / REDFT01 in place on buf */
    fftwf_plan fwdf, bwdf;
    double *cx, *cy;      /* cos(pi k / n) */
    double *gx, *gy;      /* per-axis filter factors, filled per execution */
};

static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;
static int threads_ready;

/* Called with planner_lock held. */
static void init_threads(void)
{
    if (!threads_ready) {
        fftw_init_threads();
        fftwf_init_threads();
        threads_ready = 1;
    }
}

void nexp_dct_plan_free(nexp_dct_plan *p)
{
    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&planner_lock);
    if (p->fwd) {
        fftw_destroy_plan(p->fwd);
    }
    if (p->bwd) {
        fftw_destroy_plan(p->bwd);
    }
    if (p->fwdf) {
        fftwf_destroy_plan(p->fwdf);
    }
    if (p->bwdf) {
        fftwf_destroy_plan(p->bwdf);
    }
    pthread_mutex_unlock(&planner_lock);
    fftw_free(p->buf);
    fftwf_free(p->buff);
    free(p->cx);
    free(p->cy);
    free(p->gx);
    free(p->gy);
    free(p);
}

nexp_status nexp_dct_plan_create(nexp_dct_plan **out, int width, int height, nexp_dct_precision precision,
                                 nexp_error *err)
{
    *out = NULL;
    nexp_status st = nexp_field_check_dims(width, height, 1, err);
    if (st != NEXP_OK) {
        return st;
    }
    nexp_dct_plan *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory allocating a DCT plan");
    }
    p->w = width;
    p->h = height;
    p->precision = precision;
    const size_t n = (size_t)width * (size_t)height;
    p->cx = malloc((size_t)width * sizeof *p->cx);
    p->cy = malloc((size_t)height * sizeof *p->cy);
    p->gx = malloc((size_t)width * sizeof *p->gx);
    p->gy = malloc((size_t)height * sizeof *p->gy);
    if (precision == NEXP_DCT_DOUBLE) {
        p->buf = fftw_alloc_real(n);
    } else {
        p->buff = fftwf_alloc_real(n);
    }
    if (!p->cx || !p->cy || !p->gx || !p->gy || (!p->buf && !p->buff)) {
        nexp_dct_plan_free(p);
        return nexp_error_set(err, NEXP_ERR_NOMEM, "out of memory allocating a %d x %d DCT plan", width, height);
    }
    for (int k = 0; k < width; k++) {
        p->cx[k] = cos(M_PI * k / width);
    }
    for (int k = 0; k < height; k++) {
        p->cy[k] = cos(M_PI * k / height);
    }
    /* below about 512 x 512 pixels FFTW's thread synchronisation costs more than it saves */
    const int nthreads = n >= ((size_t)1 << 18) ? nexp_get_threads() : 1;
    pthread_mutex_lock(&planner_lock);
    init_threads();
    if (precision == NEXP_DCT_DOUBLE) {
        fftw_plan_with_nthreads(nthreads);
        p->fwd = fftw_plan_r2r_2d(height, width, p->buf, p->buf, FFTW_REDFT10, FFTW_REDFT10, FFTW_ESTIMATE);
        p->bwd = fftw_plan_r2r_2d(height, width, p->buf, p->buf, FFTW_REDFT01, FFTW_REDFT01, FFTW_ESTIMATE);
    } else {
        fftwf_plan_with_nthreads(nthreads);
        p->fwdf = fftwf_plan_r2r_2d(height, width, p->buff, p->buff, FFTW_REDFT10, FFTW_REDFT10, FFTW_ESTIMATE);
        p->bwdf = fftwf_plan_r2r_2d(height, width, p->buff, p->buff, FFTW_REDFT01, FFTW_REDFT01, FFTW_ESTIMATE);
    }
    pthread_mutex_unlock(&planner_lock);
    if ((precision == NEXP_DCT_DOUBLE && (!p->fwd || !p->bwd)) ||
        (precision != NEXP_DCT_DOUBLE && (!p->fwdf || !p->bwdf))) {
        nexp_dct_plan_free(p);
        return nexp_error_set(err, NEXP_ERR_SOLVER, "FFTW could not plan a %d x %d DCT", width, height);
    }
    *out = p;
    return NEXP_OK;
}

/* Multiplier of coefficient (kx, ky), normalisation 1 / (4 w h) included. */
static inline double multiplier(const nexp_dct_plan *p, nexp_dct_filter filter, double param, double alpha, int kx,
                                int ky, double norm)
{
    if (filter == NEXP_DCT_FILTER_GAUSSIAN) {
        return p->gx[kx] * p->gy[ky] * norm;
    }
    const double cx = p->cx[kx], cy = p->cy[ky];
    const double lam = (1.0 - 2.0 * alpha) * (2.0 * cx + 2.0 * cy - 4.0) + alpha * (4.0 * cx * cy - 4.0);
    if (filter == NEXP_DCT_FILTER_RESOLVENT) {
        return norm / (1.0 - param * lam);
    }
    return exp(param * lam) * norm;
}

/* Filters the double buffer p->buf in place: forward DCT, multiply by the filter, inverse DCT. */
static void filter_buf_double(nexp_dct_plan *p, nexp_dct_filter filter, double param, double alpha, double norm)
{
    const int w = p->w, h = p->h;
    double *b = p->buf;
    fftw_execute(p->fwd);
#pragma omp parallel for schedule(static) if ((size_t)w * (size_t)h >= ((size_t)1 << 16))
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            b[(size_t)y * w + x] *= multiplier(p, filter, param, alpha, x, y, norm);
        }
    }
    fftw_execute(p->bwd);
}

void nexp_dct_plane(nexp_dct_plan *p, const float *in, float *out, size_t stride, nexp_dct_filter filter,
                    double param, double alpha)
{
    const int w = p->w, h = p->h;
    const double norm = 1.0 / (4.0 * (double)w * (double)h);
    if (filter == NEXP_DCT_FILTER_GAUSSIAN) {
        const double t = 0.5 * param * param;
        for (int k = 0; k < w; k++) {
            const double om = M_PI * k / w;
            p->gx[k] = exp(-t * om * om);
        }
        for (int k = 0; k < h; k++) {
            const double om = M_PI * k / h;
            p->gy[k] = exp(-t * om * om);
        }
    }
    if (p->precision == NEXP_DCT_DOUBLE) {
        double *b = p->buf;
#pragma omp parallel for schedule(static) if ((size_t)w * (size_t)h >= ((size_t)1 << 16))
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                b[(size_t)y * w + x] = in[(size_t)y * stride + x];
            }
        }
        filter_buf_double(p, filter, param, alpha, norm);
#pragma omp parallel for schedule(static) if ((size_t)w * (size_t)h >= ((size_t)1 << 16))
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                out[(size_t)y * stride + x] = (float)b[(size_t)y * w + x];
            }
        }
    } else {
        float *b = p->buff;
#pragma omp parallel for schedule(static) if ((size_t)w * (size_t)h >= ((size_t)1 << 16))
        for (int y = 0; y < h; y++) {
            memcpy(b + (size_t)y * w, in + (size_t)y * stride, (size_t)w * sizeof *b);
        }
        fftwf_execute(p->fwdf);
#pragma omp parallel for schedule(static) if ((size_t)w * (size_t)h >= ((size_t)1 << 16))
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                b[(size_t)y * w + x] *= (float)multiplier(p, filter, param, alpha, x, y, norm);
            }
        }
        fftwf_execute(p->bwdf);
#pragma omp parallel for schedule(static) if ((size_t)w * (size_t)h >= ((size_t)1 << 16))
        for (int y = 0; y < h; y++) {
            memcpy(out + (size_t)y * stride, b + (size_t)y * w, (size_t)w * sizeof *b);
        }
    }
}

void nexp_dct_plane_double(nexp_dct_plan *p, const double *in, double *out, size_t stride, nexp_dct_filter filter,
                           double param, double alpha)
{
    const int w = p->w, h = p->h;
    const double norm = 1.0 / (4.0 * (double)w * (double)h);
    double *b = p->buf;
    if (b == NULL || filter == NEXP_DCT_FILTER_GAUSSIAN) {
        return;
    }
#pragma omp parallel for schedule(static) if ((size_t)w * (size_t)h >= ((size_t)1 << 16))
    for (int y = 0; y < h; y++) {
        memcpy(b + (size_t)y * w, in + (size_t)y * stride, (size_t)w * sizeof *b);
    }
    filter_buf_double(p, filter, param, alpha, norm);
#pragma omp parallel for schedule(static) if ((size_t)w * (size_t)h >= ((size_t)1 << 16))
    for (int y = 0; y < h; y++) {
        memcpy(out + (size_t)y * stride, b + (size_t)y * w, (size_t)w * sizeof *b);
    }
}

static nexp_status check_fields(const nexp_dct_plan *p, const nexp_field *in, const nexp_field *out, nexp_error *err)
{
    if (in->width != p->w || in->height != p->h || out->width != p->w || out->height != p->h ||
        in->channels != out->channels) {
        return nexp_error_set(err, NEXP_ERR_SIZE,
                              "DCT plan is %d x %d; got input %d x %d x %d and output %d x %d x %d", p->w, p->h,
                              in->width, in->height, in->channels, out->width, out->height, out->channels);
    }
    if (in->stride != out->stride) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "DCT input and output strides differ (%zu vs %zu)", in->stride,
                              out->stride);
    }
    return NEXP_OK;
}

nexp_status nexp_dct_gaussian(nexp_dct_plan *p, const nexp_field *in, nexp_field *out, double sigma,
                              nexp_error *err)
{
    nexp_status st = check_fields(p, in, out, err);
    if (st != NEXP_OK) {
        return st;
    }
    if (!(sigma >= 0.0) || !isfinite(sigma)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "Gaussian sigma must be finite and >= 0, got %g", sigma);
    }
    for (int c = 0; c < in->channels; c++) {
        nexp_dct_plane(p, nexp_field_row(in, c, 0), nexp_field_row(out, c, 0), in->stride, NEXP_DCT_FILTER_GAUSSIAN,
                       sigma, 0.0);
    }
    return NEXP_OK;
}

nexp_status nexp_dct_heat(nexp_dct_plan *p, const nexp_field *in, nexp_field *out, double t, double alpha,
                          nexp_error *err)
{
    nexp_status st = check_fields(p, in, out, err);
    if (st != NEXP_OK) {
        return st;
    }
    if (!(t >= 0.0) || !isfinite(t)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "diffusion time must be finite and >= 0, got %g", t);
    }
    if (!(alpha >= 0.0 && alpha <= 0.5)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "stencil alpha must be in [0, 1/2], got %g", alpha);
    }
    for (int c = 0; c < in->channels; c++) {
        nexp_dct_plane(p, nexp_field_row(in, c, 0), nexp_field_row(out, c, 0), in->stride, NEXP_DCT_FILTER_HEAT, t,
                       alpha);
    }
    return NEXP_OK;
}
