/* out.h - findings as the CLI contract writes them (../shared/CLI.md, "Survey"): NDJSON with
 * addr, port, service, finding, vendor, product, version, cves (list), evidence (object), and
 * time_ms; or CSV with the same columns (cves joined by ';', evidence as JSON text). The same
 * NDJSON object is the body of the finding's state-database record. */
#ifndef BS_SURVEY_OUT_H
#define BS_SURVEY_OUT_H

#include "core/buf.h"
#include "survey/survey.h"

/* Appends one NDJSON line (with '\n'). Returns 0 or BS_ELIMIT. */
int sv_out_ndjson(struct buf *b, const struct sv_finding *f);
/* Appends the CSV header line. */
int sv_out_csv_header(struct buf *b);
/* Appends one CSV line (RFC 4180 quoting). */
int sv_out_csv(struct buf *b, const struct sv_finding *f);

#endif
