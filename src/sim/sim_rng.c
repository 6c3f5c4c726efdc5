/* sim_rng.c - xoshiro256** with splitmix64 seeding, and the variates the simulator draws. */
#include "sim/sim_rng.h"

#include <math.h>

uint64_t sim_rng_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sim_rng_init(struct sim_rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t st = seed ^ (stream * 0xd1b54a32d192ed03ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = sim_rng_splitmix64(&st);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        r->s[0] = 1; /* the all-zero state is the one fixed point */
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t sim_rng_next(struct sim_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t n)
{
    if (n == 0)
        return 0;
    /* Lemire: multiply into 128 bits, reject the few low products that would bias. */
    unsigned __int128 m = (unsigned __int128)sim_rng_next(r) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        uint64_t thresh = (0 - n) % n;
        while (lo < thresh) {
            m = (unsigned __int128)sim_rng_next(r) * n;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return lo;
    if (hi - lo == UINT64_MAX)
        return sim_rng_next(r);
    return lo + sim_rng_below(r, hi - lo + 1);
}

double sim_rng_unit(struct sim_rng *r)
{
    return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

int sim_rng_chance(struct sim_rng *r, double p)
{
    return sim_rng_unit(r) < p;
}

double sim_rng_exp(struct sim_rng *r, double mean)
{
    return -mean * log(1.0 - sim_rng_unit(r));
}

double sim_rng_normal(struct sim_rng *r, double mean, double sd)
{
    double u1 = 1.0 - sim_rng_unit(r), u2 = sim_rng_unit(r);
    return mean + sd * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double sim_rng_lognormal(struct sim_rng *r, double median, double sigma)
{
    return median * exp(sim_rng_normal(r, 0.0, sigma));
}

uint64_t sim_rng_poisson(struct sim_rng *r, double mean)
{
    if (mean <= 0)
        return 0;
    if (mean < 30) {
        double l = exp(-mean), p = sim_rng_unit(r), f = l;
        uint64_t k = 0;
        while (p > f && k < 1000) {
            p -= f;
            k++;
            f *= mean / (double)k;
        }
        return k;
    }
    double x = floor(sim_rng_normal(r, mean, sqrt(mean)) + 0.5);
    return x < 0 ? 0 : (uint64_t)x;
}

uint64_t sim_rng_binomial(struct sim_rng *r, uint64_t n, double p)
{
    if (p >= 1.0)
        return n;
    if (p <= 0.0 || n == 0)
        return 0;
    if (n < 64) {
        uint64_t k = 0;
        for (uint64_t i = 0; i < n; i++)
            k += sim_rng_unit(r) < p;
        return k;
    }
    double mean = (double)n * p;
    double x;
    if (p < 0.05 || mean < 30)
        x = (double)sim_rng_poisson(r, mean);
    else
        x = floor(sim_rng_normal(r, mean, sqrt(mean * (1.0 - p))) + 0.5);
    if (x < 0)
        x = 0;
    if (x > (double)n)
        x = (double)n;
    return (uint64_t)x;
}

uint64_t sim_rng_geometric(struct sim_rng *r, double p)
{
    if (p >= 1.0)
        return 1;
    double u = 1.0 - sim_rng_unit(r); /* (0, 1] */
    double k = floor(log(u) / log1p(-p)) + 1.0;
    if (k < 1)
        k = 1;
    if (k > 1e18)
        k = 1e18;
    return (uint64_t)k;
}

unsigned sim_rng_weighted(struct sim_rng *r, const double *w, unsigned n)
{
    double sum = 0;
    for (unsigned i = 0; i < n; i++)
        sum += w[i];
    double x = sim_rng_unit(r) * sum;
    for (unsigned i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n ? n - 1 : 0;
}
