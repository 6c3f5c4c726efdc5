/* tel_out.h - the telescope's file outputs: NDJSON (always) and CSV (on request), plus
 * provenance.json. Layout of DIR:
 *   intervals.ndjson      one line per base interval (default 60 s), empty intervals included
 *   intervals_5m.ndjson   roll-ups; each line also carries "resolution_s" (60, 300, 3600,
 *   intervals_1h.ndjson   86400) so the files can be concatenated; a roll-up level exists only
 *   intervals_1d.ndjson   when it is a multiple of, and longer than, the interval
 *   sources.ndjson        one line per source address per UTC day
 *   victims.ndjson        one line per backscatter attack that met the thresholds
 *   provenance.json       configuration, darknet, version, inputs, counters (see below)
 *   *.csv                 the same records flattened, with --format csv
 * Keys are snake_case, times integer ms since the epoch, addresses text (or "h:<hex>"
 * pseudonyms in privacy mode). The exact keys are listed in src/telescope/README.md and in
 * `botscope telescope --help`.
 *
 * Completeness: every file is written under a hidden temporary name in DIR (".NAME.tmp") and
 * only tel_out_commit() renames them to their final names, provenance.json last; a run that
 * fails (a full disk: the first write error is kept) calls tel_out_abort(), or commit sees the
 * error, and the temporary files are removed: no NDJSON cut mid-line, no empty provenance.json
 * under a final name; files of an earlier complete run stay as they were.
 *
 * Ownership: tel_out_open() creates the files and returns a handle the caller ends with
 * tel_out_commit() or tel_out_abort() (tel_out_close() before them only flushes and closes).
 * The handle is used as the state of tel_out_sink_ops in tel_opts.sinks.
 */
#ifndef BS_TELESCOPE_TEL_OUT_H
#define BS_TELESCOPE_TEL_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "telescope/tel_engine.h"

struct tel_out;

extern const struct tel_sink_ops tel_out_sink_ops;

/* Creates dir when missing and opens the output files. levels_on[i] tells which of the
 * TEL_LEVELS interval files to create. */
int tel_out_open(const char *dir, bool csv, const bool levels_on[TEL_LEVELS], struct tel_out **out,
                 char *err, size_t errlen);
/* Flushes, syncs and closes every file (still under the temporary names); returns 0 or the
 * first error seen (-errno, e.g. -ENOSPC). The handle stays for commit or abort. */
int tel_out_close(struct tel_out *o);
/* Closes when not yet closed, then renames every file and a provenance.json written by
 * tel_out_provenance() to the final names; on any error (an earlier write error included)
 * removes the temporary files instead. Frees o; returns 0 or the first error. */
int tel_out_commit(struct tel_out *o);
/* Removes the temporary files and frees o (NULL is a no-op). */
void tel_out_abort(struct tel_out *o);

struct tel_input_info {
    const char *path;
    uint64_t packets;
    uint64_t first_ms;
    int error; /* 0, or the code of a damaged file (packets before it were used) */
};

/* Writes DIR/provenance.json under its temporary name (tel_out_commit() makes it final). mode
 * is "offline" or "live"; argv is recorded as given. */
int tel_out_provenance(const char *dir, const struct tel_engine *e, const char *mode,
                       const struct tel_input_info *in, size_t n_in, const char *interface,
                       int argc, char **argv, bool csv);

/* A source's rate_pps (packets per second over max(last - first, 1 s)) as printf's "%.6g"
 * writes it, mostly without printf (a million source lines a day). Returns the length. */
size_t tel_out_format_rate(char out[32], uint64_t packets, uint64_t first_ms, uint64_t last_ms);

/* Writes v in decimal at p (no terminator; up to 20 bytes) and returns the end. */
char *tel_out_format_u64(char *p, uint64_t v);

/* The roll-up names of the levels ("", "5m", "1h", "1d"). */
extern const char *const tel_level_suffix[TEL_LEVELS];

#endif
