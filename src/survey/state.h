/* state.h - the survey's persistence in the state database (store/statedb.h, records by
 * kind): evidence, findings with their open/remediated status, and the resume state.
 *
 *   evidence  kind STATEDB_EVIDENCE, appended: one access (operator, source, destination,
 *             port, service, time, what was tried, outcome); body {"survey": ...}
 *   finding   kind STATEDB_FINDING, key "addr|port|finding", status "open" or "remediated";
 *             body: the finding's NDJSON object (out.h) plus the operator
 *   resume    kind STATEDB_STATE, key "survey.resume": {"key":K,"low":L,"done":[...],
 *             "complete":bool}: every position below low and those listed are finished
 *
 * Evidence is written in batches (at most SV_STATE_BATCH records or SV_STATE_FLUSH_MS old), and
 * a finished device's pending evidence, findings and the new resume state go in one
 * transaction, so after a crash a device is either finished with all its records or will be
 * surveyed again.
 *
 * Remediation: a run (new or resumed) loads the findings still open; when a device is
 * finished and a port that had a finding answered again without showing it, the finding is
 * marked remediated. A device that no longer answers on that port is left open (absent is not
 * fixed).
 *
 * Ownership: sv_state_open borrows db (the caller closes it after sv_state_close) and copies
 * the operator name. Caps: SV_STATE_MAX_DONE finished positions above the low-water mark,
 * SV_STATE_MAX_OPEN findings loaded for remediation.
 */
#ifndef BS_SURVEY_STATE_H
#define BS_SURVEY_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "store/statedb.h"
#include "survey/survey.h"

#define SV_STATE_BATCH    64
#define SV_STATE_FLUSH_MS 500
#define SV_STATE_MAX_DONE 1000000u
#define SV_STATE_MAX_OPEN 1000000u

struct sv_state;

/* Opens the survey state in db. With resume, the stored run's key is returned in *key (and
 * BS_ENOTFOUND when there is no unfinished run to resume); otherwise *key is the new run's.
 * Open findings are loaded for remediation either way. */
int sv_state_open(struct statedb *db, const char *operator_name, bool resume, uint64_t *key,
                  struct sv_state **out);
/* Flushes what is pending, records whether the run completed, and frees st. Returns 0 or the
 * first error. */
int sv_state_close(struct sv_state *st, bool complete);

/* The sink callbacks and the done predicate of struct sv_run (ctx = the sv_state). */
int sv_state_evidence(void *ctx, const struct sv_evidence *e);
int sv_state_finding(void *ctx, const struct sv_finding *f);
int sv_state_host_done(void *ctx, uint64_t pos, const struct ipaddr *a, const uint16_t *open,
                       size_t n_open);
bool sv_state_is_done(void *ctx, uint64_t pos);

/* Counts for the run summary. */
uint64_t sv_state_remediated(const struct sv_state *st);

#endif
