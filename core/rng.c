#include "nexp_rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void nexp_rng_seed(nexp_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        rng->s[i] = splitmix64(&x);
    }
}

void nexp_rng_seed_stream(nexp_rng *rng, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ 0x6a09e667f3bcc909ULL;
    uint64_t mixed = splitmix64(&x) ^ (stream * 0xd1b54a32d192ed03ULL);
    nexp_rng_seed(rng, mixed);
}

uint64_t nexp_rng_u64(nexp_rng *rng)
{
    uint64_t *s = rng->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double nexp_rng_uniform(nexp_rng *rng)
{
    return (double)(nexp_rng_u64(rng) >> 11) * 0x1.0p-53;
}

double nexp_rng_range(nexp_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * nexp_rng_uniform(rng);
}

uint64_t nexp_rng_below(nexp_rng *rng, uint64_t n)
{
    if (n <= 1) {
        return 0;
    }
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do {
        r = nexp_rng_u64(rng);
    } while (r >= limit);
    return r % n;
}

double nexp_rng_normal(nexp_rng *rng)
{
    double u1 = 1.0 - nexp_rng_uniform(rng); /* (0, 1] */
    double u2 = nexp_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
