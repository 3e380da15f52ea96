/* learned_common.h — what the learned-inpainting benchmarks (learned_eval.c, learned_synth.c) share. */
#ifndef NEXP_BENCH_LEARNED_COMMON_H
#define NEXP_BENCH_LEARNED_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "nexp.h"
#include "nexp_flowmetrics.h"

/* The program's name in error messages. */
static const char *bench_name = "bench";

static void die(const nexp_error *err)
{
    fprintf(stderr, "%s: %s\n", bench_name, err->msg);
    exit(1);
}

/* Mean endpoint error of est over the valid pixels of gt. */
static double epe_of(const nexp_field *est, const nexp_field *gt)
{
    nexp_flow_errors e;
    nexp_error err = NEXP_ERROR_INIT;
    if (nexp_flow_errors_compute(est, gt, NULL, &e, &err) != NEXP_OK) {
        die(&err);
    }
    return e.all.epe;
}

#endif
