/* tel_hll.c - HyperLogLog estimate and merge (see tel_hll.h). */
#include "telescope/tel_hll.h"

#include <math.h>

uint64_t tel_hll_estimate(const uint8_t *reg, unsigned p)
{
    size_t m = TEL_HLL_BYTES(p);
    double sum = 0.0;
    size_t zeros = 0;
    /* 2^-r for every possible register value (r <= 64 - 4 + 1), without ldexp per register. */
    double pow2neg[66];
    pow2neg[0] = 1.0;
    for (int r = 1; r < 66; r++)
        pow2neg[r] = pow2neg[r - 1] * 0.5;
    for (size_t i = 0; i < m; i++) {
        sum += pow2neg[reg[i] < 66 ? reg[i] : 65];
        zeros += reg[i] == 0;
    }
    double alpha;
    switch (m) {
    case 16: alpha = 0.673; break;
    case 32: alpha = 0.697; break;
    case 64: alpha = 0.709; break;
    default: alpha = 0.7213 / (1.0 + 1.079 / (double)m); break;
    }
    double md = (double)m;
    double e = alpha * md * md / sum;
    if (e <= 2.5 * md && zeros > 0)
        e = md * log(md / (double)zeros); /* linear counting: exact-ish for small sets */
    return (uint64_t)llround(e);
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
