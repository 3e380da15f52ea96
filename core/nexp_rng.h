/* nexp_rng.h — a seeded, reproducible random number generator (xoshiro256**, seeded by splitmix64).
 *
 *   nexp_rng rng;
 *   nexp_rng_seed(&rng, 42);
 *   double u = nexp_rng_uniform(&rng);        // [0, 1)
 *   double g = nexp_rng_normal(&rng);         // N(0, 1)
 *   uint64_t k = nexp_rng_below(&rng, 10);    // 0..9, unbiased
 *
 * The whole state is the plain struct below: copy it to fork a stream, store its words in a
 * checkpoint to resume bit-identically. Same seed, same sequence, on every platform.
 */
#ifndef NEXP_RNG_H
#define NEXP_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nexp_rng {
    uint64_t s[4];
} nexp_rng;

#define NEXP_RNG_STATE_WORDS 4

void nexp_rng_seed(nexp_rng *rng, uint64_t seed);
/* An independent stream for, e.g., thread or sample i: seeded from (seed, i). */
void nexp_rng_seed_stream(nexp_rng *rng, uint64_t seed, uint64_t stream);
uint64_t nexp_rng_u64(nexp_rng *rng);
/* Uniform double in [0, 1) with 53 random bits. */
double nexp_rng_uniform(nexp_rng *rng);
/* Uniform double in [lo, hi). */
double nexp_rng_range(nexp_rng *rng, double lo, double hi);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint64_t nexp_rng_below(nexp_rng *rng, uint64_t n);
/* Standard normal variate (Box–Muller; consumes two uniforms, caches nothing). */
double nexp_rng_normal(nexp_rng *rng);

#ifdef __cplusplus
}
#endif
#endif
