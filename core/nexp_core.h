/* nexp_core.h — library version and threading.
 *
 *   printf("nexp %s\n", nexp_version());
 *   nexp_set_threads(2);          // OpenMP kernels and FFTW plans made afterwards use 2 threads
 *   int n = nexp_get_threads();
 *
 * Threading is the only process-wide setting; it is a configuration, not state that results depend
 * on: every kernel gives bit-identical results for any thread count.
 */
#ifndef NEXP_CORE_H
#define NEXP_CORE_H

#ifdef __cplusplus
extern "C" {
#endif

const char *nexp_version(void);
/* n >= 1 sets the OpenMP thread count; n <= 0 restores the default (all cores / OMP_NUM_THREADS). */
void nexp_set_threads(int n);
int nexp_get_threads(void);

#ifdef __cplusplus
}
#endif
#endif
