#include "nexp_core.h"

#include <omp.h>

#ifndef NEXP_VERSION
#define NEXP_VERSION "unknown"
#endif

const char *nexp_version(void)
{
    return NEXP_VERSION;
}

void nexp_set_threads(int n)
{
    if (n <= 0) {
        n = omp_get_num_procs();
    }
    omp_set_num_threads(n);
}

int nexp_get_threads(void)
{
    return omp_get_max_threads();
}
