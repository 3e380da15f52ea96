/* nexp_core.h — library version, threading and the memory limit.
 *
 *   printf("nexp %s\n", nexp_version());
 *   nexp_set_threads(2);          // OpenMP kernels and FFTW plans made afterwards use 2 threads
 *   int n = nexp_get_threads();
 *   nexp_set_memory_limit((size_t)4 << 30);   // refuse what would take more than 4 GiB
 *   nexp_field_create(&f, 100000, 100000, 2, &err);
 *   // NEXP_ERR_TOO_LARGE: "a 100000 x 100000 x 2 field needs 74.5 GiB, above the memory limit of 4 GiB"
 *
 * Threads and the memory limit are the process-wide settings; they are configuration, not state
 * that results depend on: every kernel gives bit-identical results for any thread count, and a
 * limit only decides whether a call runs at all.
 *
 * The memory limit bounds the library's large allocations: the bytes of all live fields (pixels and
 * masks, counted from nexp_field_create until nexp_field_free) plus the one buffer being allocated
 * (network parameters and plans, optimiser moments, series and arrays read from files). Readers
 * check sizes announced by a file's header against it before allocating anything, so a small file
 * claiming a huge image is refused with NEXP_ERR_TOO_LARGE instead of exhausting memory. Small
 * bookkeeping allocations are not counted. The default is no limit (0).
 */
#ifndef NEXP_CORE_H
#define NEXP_CORE_H

#include <stddef.h>

#include "nexp_status.h"

#ifdef __cplusplus
extern "C" {
#endif

const char *nexp_version(void);
/* Which compiled version of the hot loops this CPU runs, e.g. "x86-64-v3 (AVX2 + FMA)": speed
 * figures depend on it (see the README's Speed). */
const char *nexp_cpu_path(void);
/* n >= 1 sets the OpenMP thread count; n <= 0 restores the default (all cores / OMP_NUM_THREADS).
 * nexp does its parallel work with OpenMP; loading the library sets OpenBLAS (if that is the CBLAS)
 * to one thread, because its own thread pool and OpenMP's fight for the cores. */
void nexp_set_threads(int n);
int nexp_get_threads(void);

/* bytes > 0 sets the memory limit; 0 removes it (the default). */
void nexp_set_memory_limit(size_t bytes);
size_t nexp_get_memory_limit(void);
/* Bytes of the live fields (and other reservations) counted against the limit. */
size_t nexp_memory_in_use(void);
/* NEXP_OK when bytes more would stay within the limit; otherwise NEXP_ERR_TOO_LARGE with
 * "<what> needs <size>, above the memory limit of <limit>" (plus what is already in use). */
nexp_status nexp_memory_check(size_t bytes, const char *what, nexp_error *err);
/* nexp_memory_check, and on success count bytes as in use until nexp_memory_release(bytes). */
nexp_status nexp_memory_reserve(size_t bytes, const char *what, nexp_error *err);
void nexp_memory_release(size_t bytes);
/* bytes as "512 B", "12.3 KiB", ..., "4 GiB" into buf (at least 16 chars); returns buf. */
const char *nexp_format_size(size_t bytes, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
