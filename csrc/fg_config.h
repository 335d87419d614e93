/* fg_config.h: compiler plumbing shared by the C core (private, not part of
 * the embedding API).
 *
 * FG_VECTOR_CLONES: gcc's target_clones builds a hot loop three times
 * (AVX-512, AVX2+FMA, baseline) and picks one at load time through an ifunc,
 * so a portable wheel runs at -march=native speed without being built for it.
 */
#ifndef FASTGRAD_CONFIG_H
#define FASTGRAD_CONFIG_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(FG_NO_CLONES)
#define FG_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FG_VECTOR_CLONES
#endif

/* FG_ELEM_HOT: the tape's hot loops (the elementwise value and adjoint
 * kernels, the sums) are each kept out of line, so that their loops are
 * register-allocated on their own (flattened into one driver, the loops
 * reload their pointers from the stack), and built for AVX2 and baseline
 * x86-64 (one ifunc dispatch per instruction). An AVX-512 clone measured no
 * faster on these short loops (n ~ 100: longer vector epilogues) and was
 * slower at n = 2. -ffp-contract=off and no reassociation keep all clones
 * bit-identical. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(FG_NO_CLONES)
#define FG_ELEM_HOT __attribute__((target_clones("arch=x86-64-v3", "default"), noinline))
#elif defined(__GNUC__)
#define FG_ELEM_HOT __attribute__((noinline))
#else
#define FG_ELEM_HOT
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FG_INLINE static inline __attribute__((always_inline))
#define FG_RESTRICT __restrict__
#define FG_LIKELY(x) __builtin_expect(!!(x), 1)
#define FG_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define FG_INLINE static inline
#define FG_RESTRICT
#define FG_LIKELY(x) (x)
#define FG_UNLIKELY(x) (x)
#endif

#endif /* FASTGRAD_CONFIG_H */
