/* clones_internal.h — function multiversioning for hot loops (internal, not installed).
 *
 * The library is built for the baseline x86-64 (SSE2), so it runs on any machine Debian supports.
 * Loops that dominate a workload are marked NEXP_CLONES: GCC compiles them three times — for
 * x86-64-v4 (AVX-512), x86-64-v3 (AVX2 + FMA) and the baseline — and the dynamic loader picks the
 * best one the CPU has. Multiply-adds are fused in these functions whatever the language mode
 * (ISO C turns contraction off). Clones differ in the last bits of a result; within one process
 * every call of a function goes through the same clone, so runs stay reproducible on a machine.
 */
#ifndef NEXP_CLONES_INTERNAL_H
#define NEXP_CLONES_INTERNAL_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(NEXP_NO_CLONES)
#define NEXP_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), optimize("fp-contract=fast")))
/* The same without fused multiply-adds (ISO C's default): every clone gives the same bits, for
 * kernels whose results must not depend on the machine's instruction set. */
#define NEXP_CLONES_EXACT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
/* Helpers of a cloned function get its instruction set only when inlined: a static function the
 * compiler leaves out of line is compiled once, for the baseline. */
#define NEXP_CLONE_INLINE inline __attribute__((always_inline))
#else
#define NEXP_CLONES
#define NEXP_CLONES_EXACT
#define NEXP_CLONE_INLINE inline
#endif

#endif
