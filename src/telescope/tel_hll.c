/* tel_hll.c - HyperLogLog estimate and merge (see tel_hll.h). */
#include "telescope/tel_hll.h"

#include <math.h>
#include <string.h>

/* Zero registers, counted eight at a time: the high bit of each byte of t is set exactly
 * when that byte of x is zero. */
static size_t count_zero_registers(const uint8_t *reg, size_t m)
{
    size_t zeros = 0;
    size_t i = 0;
    for (; i + 8 <= m; i += 8) {
        uint64_t x;
        memcpy(&x, reg + i, 8);
        uint64_t t = (x & 0x7f7f7f7f7f7f7f7full) + 0x7f7f7f7f7f7f7f7full;
        t = ~(t | x | 0x7f7f7f7f7f7f7f7full);
        /* one bit per zero byte, summed by a multiply (no popcount instruction needed) */
        zeros += (size_t)(((t >> 7) * 0x0101010101010101ull) >> 56);
    }
    for (; i < m; i++)
        zeros += reg[i] == 0;
    return zeros;
}

uint64_t tel_hll_estimate(const uint8_t *reg, unsigned p)
{
    size_t m = TEL_HLL_BYTES(p);
    double md = (double)m;
    size_t zeros = count_zero_registers(reg, m);
    /* Small range: linear counting while it estimates at most 2.5 m, i.e. while more than
     * e^-2.5 of the registers are zero (the HyperLogLog sum is then not needed). */
    if (zeros > 0 && (double)zeros > md * 0.0820849986) /* e^-2.5 */
        return (uint64_t)llround(md * log(md / (double)zeros));
    /* 2^-r for every possible register value (r <= 64 - 4 + 1), without ldexp per register. */
    double pow2neg[66];
    pow2neg[0] = 1.0;
    for (int r = 1; r < 66; r++)
        pow2neg[r] = pow2neg[r - 1] * 0.5;
    double sum = 0.0;
    for (size_t i = 0; i < m; i++)
        sum += pow2neg[reg[i] < 66 ? reg[i] : 65];
    double alpha;
    switch (m) {
    case 16: alpha = 0.673; break;
    case 32: alpha = 0.697; break;
    case 64: alpha = 0.709; break;
    default: alpha = 0.7213 / (1.0 + 1.079 / md); break;
    }
    return (uint64_t)llround(alpha * md * md / sum);
}

void tel_hll_merge(uint8_t *dst, const uint8_t *src, unsigned p)
{
    size_t m = TEL_HLL_BYTES(p);
    for (size_t i = 0; i < m; i++)
        if (src[i] > dst[i])
            dst[i] = src[i];
}

uint64_t tel_lc_estimate(const uint8_t *bits, unsigned nbits)
{
    unsigned ones = 0;
    for (unsigned i = 0; i < nbits / 8; i++)
        ones += (unsigned)__builtin_popcount(bits[i]);
    unsigned zeros = nbits - ones;
    if (zeros * 10 < nbits)
        return UINT64_MAX;
    return (uint64_t)llround((double)nbits * log((double)nbits / (double)zeros));
}
