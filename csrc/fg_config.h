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
