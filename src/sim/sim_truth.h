/* sim_truth.h - writes the simulated world's ground truth (truth.json, docs/SIMULATOR.md).
 *
 * Ownership: w and st are borrowed; the file at path is created or truncated.
 */
#ifndef BS_SIM_SIM_TRUTH_H
#define BS_SIM_SIM_TRUTH_H

#include "sim/sim.h"
#include "sim/sim_world.h"

/* Writes truth.json for world w and the run's counters st. Returns 0 or -errno/BS_ELIMIT. */
int sim_truth_write(const struct sim_world *w, const char *path, const struct sim_stats *st);

#endif
