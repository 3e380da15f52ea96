#include "nexp_core.h"

#include <omp.h>

#ifndef NEXP_VERSION
#define NEXP_VERSION "unknown"
#endif

const char *nexp_version(void)
{
    return NEXP_VERSION;
}

const char *nexp_cpu_path(void)
{
    /* the same test as the resolvers of NEXP_CLONES functions (core/clones_internal.h) */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(NEXP_NO_CLONES)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) {
        return "x86-64-v4 (AVX-512)";
    }
    if (__builtin_cpu_supports("x86-64-v3")) {
        return "x86-64-v3 (AVX2 + FMA)";
    }
    return "x86-64 baseline (SSE2)";
#else
    return "one version for every CPU (built without per-CPU clones)";
#endif
}

/* OpenBLAS (Debian's default build runs its own thread pool) and OpenMP spin against each other
 * when both want the cores: on 2 cores the learned inpainting model took 1.10 s with both pools and
 * 0.69 s with BLAS on one thread, and a 2-thread U-Net step was slower than a 1-thread one. nexp
 * parallelises with OpenMP (splitting its large products itself) and keeps BLAS on one thread,
 * from the moment the library is loaded. Weak: any other CBLAS works too, untouched. */
extern void openblas_set_num_threads(int n) __attribute__((weak));

__attribute__((constructor)) static void nexp_blas_single_threaded(void)
{
    if (openblas_set_num_threads != NULL) {
        openblas_set_num_threads(1);
    }
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
