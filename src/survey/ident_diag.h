/* ident_diag.h - where a fingerprint or vulnerability file failed to load, for the operator.
 *
 * The loaders of recog.h and vuln.h fill one of these when they return an error, so the CLI
 * can print "FILE:LINE:COL: MESSAGE" and exit 2 (bad data file) without the library printing.
 * line and col are 1-based and 0 when unknown (e.g. the file could not be opened).
 */
#ifndef BS_SURVEY_IDENT_DIAG_H
#define BS_SURVEY_IDENT_DIAG_H

struct ident_diag {
    char file[512]; /* the file that failed (truncated if longer) */
    int line;       /* 1-based line in file, 0 if unknown */
    int col;        /* 1-based column in file, 0 if unknown */
    char msg[256];  /* what is wrong, one sentence without a trailing newline */
};

/* Clears d (empty file and message, line and col 0). d may be NULL (then nothing happens). */
void ident_diag_clear(struct ident_diag *d);

#endif
