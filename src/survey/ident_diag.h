/* ident_diag.h - where a fingerprint or vulnerability file failed to load, for the operator.
 *
 * The loaders of recog.h and vuln.h fill one of these when they return an error, so the CLI
 * can print "FILE:LINE:COL: MESSAGE" and exit 2 (bad data file) without the library printing.
 * line and col are 1-based and 0 when unknown (e.g. the file could not be opened).
 */
#ifndef BS_SURVEY_IDENT_DIAG_H
#define BS_SURVEY_IDENT_DIAG_H

#include <stddef.h>

struct ident_diag {
    char file[512]; /* the file that failed (truncated if longer) */
    int line;       /* 1-based line in file, 0 if unknown */
    int col;        /* 1-based column in file, 0 if unknown */
    char msg[256];  /* what is wrong, one sentence without a trailing newline */
};

/* Clears d (empty file and message, line and col 0). d may be NULL (then nothing happens). */
void ident_diag_clear(struct ident_diag *d);

/* Sets d's file, line, column and a printf-style message. d may be NULL. */
void ident_diag_set(struct ident_diag *d, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Reads the whole file at path into a new NUL-terminated buffer (*out, owned by the caller,
 * free()), its size in *len. Returns 0, -errno, BS_ELIMIT when the file is larger than max
 * bytes, BS_ENOMEM. */
int ident_read_file(const char *path, size_t max, char **out, size_t *len);

#endif
