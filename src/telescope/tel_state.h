/* tel_state.h - the telescope's state-database sink: writes its results into the state
 * database (store/statedb.h): <dir>/state.db, the SQLite file the flow store keeps in its
 * data directory, or the ClickHouse database a store URL names, for the notification side and
 * the C&C detector's seed set.
 *
 * Rows (statedb.h has the columns): telescope_sources (per source and UTC day; by default only
 * the sources listed as infected_iot, or every profiled source with TEL_STATE_ALL_SOURCES),
 * telescope_victims (attacks that met the thresholds), telescope_intervals (every interval
 * and roll-up, with resolution_s), and one telescope_runs row per run (provenance: command,
 * darknet, inputs, version, counters, status). Rows are upserted by key (source + day,
 * victim + first packet, resolution + start), so re-running the same input leaves the same
 * rows. Rows are committed at least every TEL_STATE_COMMIT_MS of wall time (a live run's
 * progress becomes visible) and at close.
 *
 * Ownership: tel_state_open() returns a handle that is the state of tel_state_sink_ops in
 * tel_opts.sinks; tel_state_close() records the run's totals, commits and frees it.
 */
#ifndef BS_TELESCOPE_TEL_STATE_H
#define BS_TELESCOPE_TEL_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "store/statedb.h"
#include "telescope/tel_engine.h"

#define TEL_STATE_COMMIT_MS 2000u

enum tel_state_which {
    TEL_STATE_INFECTED_SOURCES, /* sources with infected_iot (default) */
    TEL_STATE_ALL_SOURCES,      /* every profiled source */
};

struct tel_state;

extern const struct tel_sink_ops tel_state_sink_ops;

/* Opens the state database of dir and starts the run described by run: a directory (created
 * when missing) holds state.db, SQLite, created or migrated; a URL such as
 * "clickhouse://HOST:PORT/DB" names a state database elsewhere (statedb_open_cfg: user and
 * password from cfg's [clickhouse], cfg may be NULL). Returns 0 or a negative code (BS_EUSAGE
 * for a malformed URL, -ECONNREFUSED/-ETIMEDOUT for a server that does not answer),
 * described in err. */
struct config;
int tel_state_open(const char *dir, const struct config *cfg, const struct statedb_tel_run *run,
                   enum tel_state_which which, struct tel_state **out, char *err, size_t errlen);
/* Records e's totals with status ok (or failed when !ok), commits and closes. e may be NULL
 * (the run is then marked failed). Returns 0 or the first error seen (sink or commit). */
int tel_state_close(struct tel_state *s, const struct tel_engine *e, bool ok);

#endif
