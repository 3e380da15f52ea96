#include "nexp_flowmetrics.h"

#include <math.h>
#include <string.h>

typedef struct acc {
    double epe, aae;
    size_t outliers, count;
} acc;

static void acc_add(acc *a, double epe, double aae, int outlier)
{
    a->epe += epe;
    a->aae += aae;
    a->outliers += (size_t)outlier;
    a->count++;
}

static nexp_flow_error_set acc_finish(const acc *a)
{
    nexp_flow_error_set s = { 0.0, 0.0, 0.0, a->count };
    if (a->count > 0) {
        s.epe = a->epe / (double)a->count;
        s.aae = a->aae / (double)a->count;
        s.fl = (double)a->outliers / (double)a->count;
    }
    return s;
}

nexp_status nexp_flow_errors_compute(const nexp_field *est, const nexp_field *gt, const nexp_field *known,
                                     nexp_flow_errors *out, nexp_error *err)
{
    if (est->channels != 2 || gt->channels != 2) {
        return nexp_error_set(err, NEXP_ERR_ARG, "flow errors need 2-channel fields, got %d (estimate) and %d "
                              "(ground truth)", est->channels, gt->channels);
    }
    if (est->width != gt->width || est->height != gt->height) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "estimate is %d x %d but the ground truth is %d x %d",
                              est->width, est->height, gt->width, gt->height);
    }
    if (known != NULL && (known->channels != 1 || known->width != gt->width || known->height != gt->height)) {
        return nexp_error_set(err, NEXP_ERR_SIZE, "known mask is %d x %d x %d, expected 1 x %d x %d",
                              known->channels, known->width, known->height, gt->width, gt->height);
    }
    acc all = { 0 }, kn = { 0 }, unk = { 0 };
    const double rad2deg = 180.0 / M_PI;
    for (int y = 0; y < gt->height; y++) {
        const float *gu = nexp_field_row(gt, 0, y), *gv = nexp_field_row(gt, 1, y);
        const float *eu = nexp_field_row(est, 0, y), *ev = nexp_field_row(est, 1, y);
        const float *kr = known ? nexp_field_row(known, 0, y) : NULL;
        for (int x = 0; x < gt->width; x++) {
            if (!nexp_field_valid(gt, x, y) || !isfinite(gu[x]) || !isfinite(gv[x]) || fabsf(gu[x]) > 1e9f ||
                fabsf(gv[x]) > 1e9f) {
                continue;
            }
            if (!nexp_field_valid(est, x, y) || !isfinite(eu[x]) || !isfinite(ev[x]) || fabsf(eu[x]) > 1e9f ||
                fabsf(ev[x]) > 1e9f) {
                return nexp_error_set(err, NEXP_ERR_NONFINITE,
                                      "estimate is unknown at x = %d, y = %d where the ground truth is valid", x, y);
            }
            double du = (double)eu[x] - gu[x], dv = (double)ev[x] - gv[x];
            double epe = sqrt(du * du + dv * dv);
            double num = (double)eu[x] * gu[x] + (double)ev[x] * gv[x] + 1.0;
            double den = sqrt(((double)eu[x] * eu[x] + (double)ev[x] * ev[x] + 1.0) *
                              ((double)gu[x] * gu[x] + (double)gv[x] * gv[x] + 1.0));
            double cosang = num / den;
            cosang = cosang > 1.0 ? 1.0 : (cosang < -1.0 ? -1.0 : cosang);
            double aae = acos(cosang) * rad2deg;
            double mag = sqrt((double)gu[x] * gu[x] + (double)gv[x] * gv[x]);
            int outlier = epe > 3.0 && epe > 0.05 * mag;
            acc_add(&all, epe, aae, outlier);
            acc_add(kr != NULL && kr[x] != 0.0f ? &kn : &unk, epe, aae, outlier);
        }
    }
    if (all.count == 0) {
        return nexp_error_set(err, NEXP_ERR_EMPTY, "the ground truth has no valid vector");
    }
    out->all = acc_finish(&all);
    out->known = acc_finish(&kn);
    out->unknown = acc_finish(&unk);
    return NEXP_OK;
}
