/* The process-wide memory limit: a configured bound and a count of the bytes reserved against it. */
#include <stdint.h>
#include <stdio.h>

#include "nexp_core.h"

static size_t memory_limit;
static size_t memory_in_use;

void nexp_set_memory_limit(size_t bytes)
{
    __atomic_store_n(&memory_limit, bytes, __ATOMIC_RELAXED);
}

size_t nexp_get_memory_limit(void)
{
    return __atomic_load_n(&memory_limit, __ATOMIC_RELAXED);
}

size_t nexp_memory_in_use(void)
{
    return __atomic_load_n(&memory_in_use, __ATOMIC_RELAXED);
}

const char *nexp_format_size(size_t bytes, char *buf, size_t n)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024.0 && u < 6) {
        v /= 1024.0;
        u++;
    }
    if (u == 0 || v == (double)(long long)v) {
        snprintf(buf, n, "%lld %s", (long long)v, units[u]);
    } else {
        snprintf(buf, n, "%.1f %s", v, units[u]);
    }
    return buf;
}

static nexp_status refuse(size_t bytes, size_t limit, size_t used, const char *what, nexp_error *err)
{
    char need[32], lim[32], in_use[32];
    nexp_format_size(bytes, need, sizeof need);
    nexp_format_size(limit, lim, sizeof lim);
    if (used == 0) {
        return nexp_error_set(err, NEXP_ERR_TOO_LARGE, "%s needs %s, above the memory limit of %s",
                              what != NULL ? what : "an allocation", need, lim);
    }
    return nexp_error_set(err, NEXP_ERR_TOO_LARGE, "%s needs %s with %s already in use, above the memory limit of %s",
                          what != NULL ? what : "an allocation", need, nexp_format_size(used, in_use, sizeof in_use),
                          lim);
}

nexp_status nexp_memory_check(size_t bytes, const char *what, nexp_error *err)
{
    size_t limit = nexp_get_memory_limit(), used = nexp_memory_in_use();
    if (limit != 0 && (bytes > limit || used > limit - bytes)) {
        return refuse(bytes, limit, used, what, err);
    }
    return NEXP_OK;
}

nexp_status nexp_memory_reserve(size_t bytes, const char *what, nexp_error *err)
{
    size_t used = nexp_memory_in_use();
    for (;;) {
        size_t limit = nexp_get_memory_limit();
        if ((limit != 0 && (bytes > limit || used > limit - bytes)) || used > SIZE_MAX - bytes) {
            return refuse(bytes, limit != 0 ? limit : SIZE_MAX, used, what, err);
        }
        if (__atomic_compare_exchange_n(&memory_in_use, &used, used + bytes, 0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
            return NEXP_OK;
        }
    }
}

void nexp_memory_release(size_t bytes)
{
    __atomic_fetch_sub(&memory_in_use, bytes, __ATOMIC_RELAXED);
}
