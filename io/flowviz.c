/* Middlebury flow colour coding (Baker, Scharstein, Lewis, Roth, Black, Szeliski, "A database and
 * evaluation methodology for optical flow", IJCV 2011; their flowToColor / computeColor):
 * a 55-hue colour wheel, hue from the direction, saturation from the normalised radius. */
#include <float.h>
#include <math.h>

#include "io_internal.h"

#define WHEEL_RY 15
#define WHEEL_YG 6
#define WHEEL_GC 4
#define WHEEL_CB 11
#define WHEEL_BM 13
#define WHEEL_MR 6
#define WHEEL_N (WHEEL_RY + WHEEL_YG + WHEEL_GC + WHEEL_CB + WHEEL_BM + WHEEL_MR)

/* wheel[k] = (r, g, b) in 0..255, exactly the reference's integer ramps. */
static void make_wheel(int wheel[WHEEL_N][3])
{
    int k = 0;
    for (int i = 0; i < WHEEL_RY; i++, k++) {
        wheel[k][0] = 255, wheel[k][1] = 255 * i / WHEEL_RY, wheel[k][2] = 0;
    }
    for (int i = 0; i < WHEEL_YG; i++, k++) {
        wheel[k][0] = 255 - 255 * i / WHEEL_YG, wheel[k][1] = 255, wheel[k][2] = 0;
    }
    for (int i = 0; i < WHEEL_GC; i++, k++) {
        wheel[k][0] = 0, wheel[k][1] = 255, wheel[k][2] = 255 * i / WHEEL_GC;
    }
    for (int i = 0; i < WHEEL_CB; i++, k++) {
        wheel[k][0] = 0, wheel[k][1] = 255 - 255 * i / WHEEL_CB, wheel[k][2] = 255;
    }
    for (int i = 0; i < WHEEL_BM; i++, k++) {
        wheel[k][0] = 255 * i / WHEEL_BM, wheel[k][1] = 0, wheel[k][2] = 255;
    }
    for (int i = 0; i < WHEEL_MR; i++, k++) {
        wheel[k][0] = 255, wheel[k][1] = 0, wheel[k][2] = 255 - 255 * i / WHEEL_MR;
    }
}

/* Colour of a normalised vector (fx, fy) as in computeColor: radius <= 1 blends from white,
 * larger radii are out of range and darkened to 75 %. */
static void color_of(const int wheel[WHEEL_N][3], double fx, double fy, float rgb[3])
{
    double rad = sqrt(fx * fx + fy * fy);
    double a = atan2(-fy, -fx) / M_PI;
    double fk = (a + 1.0) / 2.0 * (WHEEL_N - 1);
    int k0 = (int)fk;
    int k1 = (k0 + 1) % WHEEL_N;
    double f = fk - k0;
    for (int b = 0; b < 3; b++) {
        double col0 = wheel[k0][b] / 255.0;
        double col1 = wheel[k1][b] / 255.0;
        double col = (1.0 - f) * col0 + f * col1;
        if (rad <= 1.0) {
            col = 1.0 - rad * (1.0 - col);
        } else {
            col *= 0.75;
        }
        rgb[b] = (float)floor(255.0 * col);
    }
}

static int vector_known(const nexp_field *flow, int x, int y, float u, float v)
{
    return nexp_field_valid(flow, x, y) && isfinite(u) && isfinite(v) && fabsf(u) <= 1e9f && fabsf(v) <= 1e9f;
}

nexp_status nexp_flow_to_color(const nexp_field *flow, double max_flow, nexp_field **rgb, nexp_error *err)
{
    *rgb = NULL;
    if (flow == NULL || flow->channels != 2) {
        return nexp_error_set(err, NEXP_ERR_ARG, "flow colour coding needs a 2-channel field, got %d channels",
                              flow ? flow->channels : 0);
    }
    if (!isfinite(max_flow)) {
        return nexp_error_set(err, NEXP_ERR_ARG, "max_flow must be finite");
    }
    double maxrad = max_flow;
    if (maxrad <= 0.0) {
        maxrad = 0.0;
        for (int y = 0; y < flow->height; y++) {
            const float *u = nexp_field_row(flow, 0, y), *v = nexp_field_row(flow, 1, y);
            for (int x = 0; x < flow->width; x++) {
                if (vector_known(flow, x, y, u[x], v[x])) {
                    double r = sqrt((double)u[x] * u[x] + (double)v[x] * v[x]);
                    maxrad = r > maxrad ? r : maxrad;
                }
            }
        }
    }
    nexp_field *out = NULL;
    nexp_status st = nexp_field_create(&out, flow->width, flow->height, 3, err);
    if (st != NEXP_OK) {
        return st;
    }
    out->kind = NEXP_KIND_IMAGE;
    out->bit_depth = 8;
    int wheel[WHEEL_N][3];
    make_wheel(wheel);
    double scale = 1.0 / (maxrad + DBL_EPSILON);
#pragma omp parallel for schedule(static)
    for (int y = 0; y < flow->height; y++) {
        const float *u = nexp_field_row(flow, 0, y), *v = nexp_field_row(flow, 1, y);
        float *r = nexp_field_row(out, 0, y), *g = nexp_field_row(out, 1, y), *b = nexp_field_row(out, 2, y);
        for (int x = 0; x < flow->width; x++) {
            float rgb[3] = { 0.0f, 0.0f, 0.0f };
            if (vector_known(flow, x, y, u[x], v[x])) {
                color_of((const int(*)[3])wheel, u[x] * scale, v[x] * scale, rgb);
            }
            r[x] = rgb[0];
            g[x] = rgb[1];
            b[x] = rgb[2];
        }
    }
    *rgb = out;
    return NEXP_OK;
}
