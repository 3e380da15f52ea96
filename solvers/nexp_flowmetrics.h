/* nexp_flowmetrics.h — errors of an estimated flow field against ground truth.
 *
 *   nexp_flow_errors e;
 *   nexp_flow_errors_compute(est, gt, known, &e, &err);   // known may be NULL
 *   printf("EPE %.3f  AAE %.2f deg  Fl %.2f %%  (unknown pixels: EPE %.3f)\n",
 *          e.all.epe, e.all.aae, 100.0 * e.all.fl, e.unknown.epe);
 *
 * Over the valid pixels of gt (its validity mask; every pixel without one):
 *  - EPE, the mean endpoint error |(u, v) - (u_gt, v_gt)|;
 *  - AAE, the average angular error of Barron, Fleet & Beauchemin (1994) between the space-time
 *    directions (u, v, 1) and (u_gt, v_gt, 1), in degrees;
 *  - Fl, the fraction (0..1) of pixels whose endpoint error exceeds both 3 px and 5 % of |gt|.
 * Split by a known mask (nonzero = known) into the pixels that were given and those that were filled.
 * An estimate that is invalid or non-finite at a valid ground-truth pixel is an error.
 */
#ifndef NEXP_FLOWMETRICS_H
#define NEXP_FLOWMETRICS_H

#include <stddef.h>

#include "nexp_field.h"
#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nexp_flow_error_set {
    double epe; /* mean endpoint error, px */
    double aae; /* average angular error, degrees */
    double fl;  /* outlier fraction 0..1 */
    size_t count; /* pixels averaged over (0: all three are 0) */
} nexp_flow_error_set;

typedef struct nexp_flow_errors {
    nexp_flow_error_set all, known, unknown; /* known/unknown: all pixels fall into unknown without a mask */
} nexp_flow_errors;

/* est, gt: 2-channel flow fields of equal size; known: NULL or a 1-channel mask of that size. */
nexp_status nexp_flow_errors_compute(const nexp_field *est, const nexp_field *gt, const nexp_field *known,
                                     nexp_flow_errors *out, nexp_error *err);

#ifdef __cplusplus
}
#endif
#endif
