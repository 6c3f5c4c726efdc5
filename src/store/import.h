/* import.h - line parsers for flow files of other tools, producing struct flow_rec.
 *
 * Formats:
 *  - nfdump-csv: what `nfdump -o csv` prints (1.7 layout: a header line naming the columns
 *    ts,te,td,sa,da,sp,dp,pr,flg,...,ra,...; columns are found by name, so order may vary), and
 *    the "Summary" block nfdump appends at the end (skipped). ipkt/ibyt are the record's
 *    packets/bytes; ra is the exporter; ICMP "type.code" ports become dst_port type<<8|code.
 *  - zeek: Zeek conn.log, TSV with a #fields header, JSON (one object a line), or the same
 *    columns as CSV with a header line starting "ts," (IoT-23's labelled files; an empty field
 *    is unset). A Zeek connection is bidirectional: it becomes one record orig->resp
 *    (orig_pkts, orig_ip_bytes, or orig_bytes when no IP byte counts) and, when the responder
 *    sent packets, one record resp->orig (resp_pkts, resp_ip_bytes or resp_bytes). When only
 *    the responder sent packets only its record is written; when neither did (bad checksums
 *    only), the orig->resp record with zero counts. TCP flags per direction come from history
 *    or conn_state (import_tcp.h).
 *  - binetflow: Argus/CTU-13 CSV (StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,
 *    sTos,dTos,TotPkts,TotBytes,SrcBytes,Label): split the same way into SrcAddr->DstAddr
 *    (SrcBytes) and DstAddr->SrcAddr (TotBytes - SrcBytes), with TCP flags from State
 *    (import_tcp.h). Packets per side come from SrcPkts/DstPkts when the file has them, else
 *    TotPkts is shared in proportion to the bytes (at least one packet for a side with bytes;
 *    a one-packet record with bytes on both sides stays whole). Dir "<-" puts the DstAddr
 *    side's record first. Without SrcBytes/DstBytes: one record with the totals and both
 *    sides' flags, reversed for "<-". The Label column is dropped.
 * Imported records carry exporter 0.0.0.0 unless the file names one, version 0, sampling 1.
 *
 * The parser is a pure function over one line at a time (modified in place); it keeps only
 * the header state in struct import_ctx and allocates nothing.
 */
#ifndef BS_STORE_IMPORT_H
#define BS_STORE_IMPORT_H

#include "core/flow.h"

enum import_format { IMPORT_NFDUMP_CSV, IMPORT_ZEEK, IMPORT_BINETFLOW };

/* Columns an import format may map. */
enum import_field {
    IF_TS,
    IF_TE,
    IF_TD,
    IF_SA,
    IF_DA,
    IF_SP,
    IF_DP,
    IF_PR,
    IF_FLG,
    IF_STOS,
    IF_IPKT,
    IF_IBYT,
    IF_OPKT,
    IF_OBYT,
    IF_IN,
    IF_OUT,
    IF_SAS,
    IF_DAS,
    IF_SMK,
    IF_DMK,
    IF_NH,
    IF_SVLN,
    IF_RA,
    IF_ORIG_BYTES,
    IF_RESP_BYTES,
    IF_DIR,
    IF_STATE,
    IF_HISTORY,
    IF_SPKT,
    IF_COUNT
};

#define IMPORT_MAX_COLS 128

struct import_ctx {
    enum import_format fmt;
    int col[IF_COUNT]; /* column index of each field, -1 when absent */
    int ncols;
    int have_header;
    char sep;      /* Zeek field separator: tab, or ',' after a CSV header */
    int done;      /* nfdump summary reached: the rest is not flows */
    char err[160]; /* why the last line was rejected */
};

/* "nfdump-csv", "zeek" or "binetflow". Returns 0 or BS_EPARSE. */
int import_format_parse(const char *name, enum import_format *out);
void import_init(struct import_ctx *c, enum import_format fmt);
/* Parses one line (no newline; modified in place). Returns the number of records written to
 * out (0 for header, comment and trailer lines; up to 2), or BS_EPARSE with c->err set. */
int import_line(struct import_ctx *c, char *line, struct flow_rec out[2]);

#endif
