/* sim_rng.h - the simulator's seeded pseudo-random generator (xoshiro256** seeded by
 * splitmix64, both written from the published algorithm descriptions of Blackman and Vigna).
 *
 * A struct sim_rng is plain state owned by its caller: no global state, no time(), no rand().
 * The same (seed, stream) gives the same sequence on every run, so the simulator's outputs are
 * reproducible byte for byte. Independent streams (world, traffic, darknet) come from the same
 * seed with different stream numbers, so changing one part of the model does not shift the
 * random numbers of another.
 *
 * The floating-point helpers (exponential, normal, binomial, geometric) use libm's log, sqrt
 * and cos; their results are identical across runs on one platform.
 */
#ifndef BS_SIM_SIM_RNG_H
#define BS_SIM_SIM_RNG_H

#include <stdint.h>

struct sim_rng {
    uint64_t s[4];
};

/* One splitmix64 step: advances *state and returns the next output. */
uint64_t sim_rng_splitmix64(uint64_t *state);

/* Seeds r from (seed, stream): the state is four splitmix64 outputs of seed mixed with the
 * stream number, never all zero. */
void sim_rng_init(struct sim_rng *r, uint64_t seed, uint64_t stream);

/* Next 64 random bits (xoshiro256**). */
uint64_t sim_rng_next(struct sim_rng *r);

/* Uniform integer in [0, n) without modulo bias (Lemire's method); 0 when n is 0. */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);

/* Uniform integer in [lo, hi] (inclusive); lo when hi <= lo. */
uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi);

/* Uniform double in [0, 1) with 53 random bits. */
double sim_rng_unit(struct sim_rng *r);

/* True with probability p. */
int sim_rng_chance(struct sim_rng *r, double p);

/* Exponential variate with the given mean. */
double sim_rng_exp(struct sim_rng *r, double mean);

/* Normal variate (Box-Muller). */
double sim_rng_normal(struct sim_rng *r, double mean, double sd);

/* Log-normal variate whose median is median and whose log has standard deviation sigma. */
double sim_rng_lognormal(struct sim_rng *r, double median, double sigma);

/* Poisson count with the given mean (inversion below 30, normal approximation above). */
uint64_t sim_rng_poisson(struct sim_rng *r, double mean);

/* Binomial count of n trials with probability p (exact below 64 trials, Poisson or normal
 * approximation above). Returns n when p >= 1. */
uint64_t sim_rng_binomial(struct sim_rng *r, uint64_t n, double p);

/* Number of trials up to and including the first success with probability p (>= 1);
 * 1 when p >= 1. Used for 1:N packet sampling (p = 1/N). */
uint64_t sim_rng_geometric(struct sim_rng *r, double p);

/* Index in [0, n) chosen with the given non-negative weights (sum > 0). */
unsigned sim_rng_weighted(struct sim_rng *r, const double *w, unsigned n);

#endif
