/* hll.c - HyperLogLog estimate and merge (see hll.h). */
#include "core/hll.h"

#include <math.h>
#include <string.h>

/* Sixteen registers as one vector (GCC/Clang vector extension: SSE2 on x86-64). */
typedef uint8_t hll_v16 __attribute__((vector_size(16)));

/* Zero registers. Per chunk of up to 128 registers, a vector of sixteen byte counters counts
 * the zeros of each column (a compare gives -1 per zero byte, subtracted); each counter is
 * then at most 8, the two halves add to at most 16 a byte and the eight bytes of their sum
 * to at most 128, summed by one multiply. m is a multiple of 16. */
static size_t count_zero_registers(const uint8_t *reg, size_t m)
{
    size_t zeros = 0;
    const hll_v16 zero = {0};
    for (size_t i = 0; i < m;) {
        hll_v16 acc = {0};
        size_t end = i + 128 < m ? i + 128 : m;
        for (; i < end; i += 16) {
            hll_v16 x;
            memcpy(&x, reg + i, sizeof x);
            acc -= (hll_v16)(x == zero);
        }
        uint64_t half[2];
        memcpy(half, &acc, sizeof half);
        zeros += (size_t)(((half[0] + half[1]) * 0x0101010101010101ull) >> 56);
    }
    return zeros;
}

/* Linear-counting estimates llround(m * ln(m / zeros)) for the two small precisions estimated
 * most often (p=6: interval rows and port slots; p=8: victims and source sketches), indexed
 * by the zero count; 0 where the estimate is not linear counting. Generated with this file's
 * formula and libm; test_tel_aggvic checks every entry against the formula. */
static const uint16_t lc_p6[65] = {
    0,  0,  0,  0,  0,  0,  151, 142, 133, 126, 119, 113, 107, 102, 97, 93, 89, 85, 81, 78, 74, 71,
    68, 65, 63, 60, 58, 55, 53,  51,  48,  46,  44,  42,  40,  39,  37, 35, 33, 32, 30, 28, 27, 25,
    24, 23, 21, 20, 18, 17, 16,  15,  13,  12,  11,  10,  9,   7,   6,  5,  4,  3,  2,  1,  0,
};

static const uint16_t lc_p8[257] = {
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   628, 617, 606, 596, 585, 576, 567, 558, 549, 540, 532, 524, 517, 509, 502, 495,
    488, 482, 475, 469, 463, 457, 451, 445, 439, 434, 429, 423, 418, 413, 408, 403, 398, 394, 389,
    385, 380, 376, 371, 367, 363, 359, 355, 351, 347, 343, 339, 336, 332, 328, 325, 321, 318, 314,
    311, 308, 304, 301, 298, 295, 291, 288, 285, 282, 279, 276, 273, 270, 268, 265, 262, 259, 256,
    254, 251, 248, 246, 243, 241, 238, 236, 233, 231, 228, 226, 223, 221, 219, 216, 214, 212, 209,
    207, 205, 203, 200, 198, 196, 194, 192, 190, 188, 186, 184, 181, 179, 177, 175, 173, 172, 170,
    168, 166, 164, 162, 160, 158, 156, 155, 153, 151, 149, 147, 146, 144, 142, 140, 139, 137, 135,
    133, 132, 130, 128, 127, 125, 124, 122, 120, 119, 117, 116, 114, 112, 111, 109, 108, 106, 105,
    103, 102, 100, 99,  97,  96,  94,  93,  92,  90,  89,  87,  86,  85,  83,  82,  80,  79,  78,
    76,  75,  74,  72,  71,  70,  68,  67,  66,  64,  63,  62,  61,  59,  58,  57,  56,  54,  53,
    52,  51,  49,  48,  47,  46,  45,  43,  42,  41,  40,  39,  38,  36,  35,  34,  33,  32,  31,
    30,  29,  27,  26,  25,  24,  23,  22,  21,  20,  19,  18,  17,  15,  14,  13,  12,  11,  10,
    9,   8,   7,   6,   5,   4,   3,   2,   1,   0,
};

/* 2^-r for every possible register value (r <= 64 - 4 + 1), exact. */
static const double pow2neg[66] = {
    0x1p-0,  0x1p-1,  0x1p-2,  0x1p-3,  0x1p-4,  0x1p-5,  0x1p-6,  0x1p-7,  0x1p-8,  0x1p-9,
    0x1p-10, 0x1p-11, 0x1p-12, 0x1p-13, 0x1p-14, 0x1p-15, 0x1p-16, 0x1p-17, 0x1p-18, 0x1p-19,
    0x1p-20, 0x1p-21, 0x1p-22, 0x1p-23, 0x1p-24, 0x1p-25, 0x1p-26, 0x1p-27, 0x1p-28, 0x1p-29,
    0x1p-30, 0x1p-31, 0x1p-32, 0x1p-33, 0x1p-34, 0x1p-35, 0x1p-36, 0x1p-37, 0x1p-38, 0x1p-39,
    0x1p-40, 0x1p-41, 0x1p-42, 0x1p-43, 0x1p-44, 0x1p-45, 0x1p-46, 0x1p-47, 0x1p-48, 0x1p-49,
    0x1p-50, 0x1p-51, 0x1p-52, 0x1p-53, 0x1p-54, 0x1p-55, 0x1p-56, 0x1p-57, 0x1p-58, 0x1p-59,
    0x1p-60, 0x1p-61, 0x1p-62, 0x1p-63, 0x1p-64, 0x1p-65,
};

uint64_t hll_estimate(const uint8_t *reg, unsigned p)
{
    size_t m = HLL_BYTES(p);
    double md = (double)m;
    size_t zeros = count_zero_registers(reg, m);
    /* Small range: linear counting while it estimates at most 2.5 m, i.e. while more than
     * e^-2.5 of the registers are zero (the HyperLogLog sum is then not needed). */
    if (zeros > 0 && (double)zeros > md * 0.0820849986) { /* e^-2.5 */
        if (m == 64)
            return lc_p6[zeros];
        if (m == 256)
            return lc_p8[zeros];
        return (uint64_t)llround(md * log(md / (double)zeros));
    }
    double sum = 0.0;
    for (size_t i = 0; i < m; i++)
        sum += pow2neg[reg[i] < 66 ? reg[i] : 65];
    double alpha;
    switch (m) {
    case 16:
        alpha = 0.673;
        break;
    case 32:
        alpha = 0.697;
        break;
    case 64:
        alpha = 0.709;
        break;
    default:
        alpha = 0.7213 / (1.0 + 1.079 / md);
        break;
    }
    return (uint64_t)llround(alpha * md * md / sum);
}

/* Sixteen registers at a time with a fixed inner trip count and no branch, so that the
 * compiler turns the inner loop into one vector byte-maximum (m is a multiple of 16). */
void hll_merge(uint8_t *restrict dst, const uint8_t *restrict src, unsigned p)
{
    size_t m = HLL_BYTES(p);
    for (size_t i = 0; i < m; i += 16)
        for (size_t j = 0; j < 16; j++) {
            uint8_t a = dst[i + j], b = src[i + j];
            dst[i + j] = a > b ? a : b;
        }
}

uint64_t lc_estimate(const uint8_t *bits, unsigned nbits)
{
    unsigned ones = 0;
    for (unsigned i = 0; i < nbits / 8; i++)
        ones += (unsigned)__builtin_popcount(bits[i]);
    unsigned zeros = nbits - ones;
    if (zeros * 10 < nbits)
        return UINT64_MAX;
    return (uint64_t)llround((double)nbits * log((double)nbits / (double)zeros));
}
