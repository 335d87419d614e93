/* check.h: the C tests' assertion macros. A failed check prints its place and
 * makes the program exit nonzero at the end (ctest reports it). */
#ifndef FG_TEST_CHECK_H
#define FG_TEST_CHECK_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <math.h>

static int fg_test_failures = 0;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            fg_test_failures++;                                                \
        }                                                                      \
    } while (0)

#define CHECK_STATUS(expr, want)                                               \
    do {                                                                       \
        int got_ = (int)(expr);                                                \
        if (got_ != (int)(want)) {                                             \
            fprintf(stderr, "%s:%d: %s returned %d, expected %d\n", __FILE__, __LINE__, \
                    #expr, got_, (int)(want));                                 \
            fg_test_failures++;                                                \
        }                                                                      \
    } while (0)

#define TEST_EXIT() (fg_test_failures ? (fprintf(stderr, "%d failures\n", fg_test_failures), 1) : 0)

/* A reproducible uniform double in [lo, hi) (xorshift64*). */
static double fg_test_uniform(uint64_t *s, double lo, double hi)
{
    *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
    const uint64_t r = *s * 2685821657736338717ULL;
    return lo + (hi - lo) * (double)(r >> 11) * 0x1p-53;
}

/* Exactly n elements on the heap, so ASan sees any read or write past them. */
static double *fg_test_doubles(size_t n, uint64_t *seed, double lo, double hi)
{
    double *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) abort();
    for (size_t i = 0; i < n; i++) p[i] = fg_test_uniform(seed, lo, hi);
    return p;
}

static float *fg_test_floats(size_t n, uint64_t *seed, double lo, double hi)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) abort();
    for (size_t i = 0; i < n; i++) p[i] = (float)fg_test_uniform(seed, lo, hi);
    return p;
}

/* The edge sizes every kernel is run at: empty, one, odd tails around the
 * vector widths, and a size with a long vector body. */
static const size_t FG_TEST_SIZES[] = {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 1001};
#define FG_TEST_NSIZES (sizeof FG_TEST_SIZES / sizeof FG_TEST_SIZES[0])

#endif
