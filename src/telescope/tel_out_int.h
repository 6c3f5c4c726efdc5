/* tel_out_int.h - the state of the telescope's file outputs, shared by tel_out.c (the records:
 * intervals, sources, victims, provenance) and tel_out_files.c (the files: temporary names,
 * buffering, commit by rename, abort). Internal to bs_telescope; the contract is tel_out.h. */
#ifndef BS_TELESCOPE_TEL_OUT_INT_H
#define BS_TELESCOPE_TEL_OUT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "telescope/tel_out.h"

enum out_file { F_SOURCES, F_VICTIMS, F_IVL0, F_COUNT = F_IVL0 + TEL_LEVELS };

/* sources.ndjson lines are formatted straight into sbuf and written SRC_CHUNK bytes at a time
 * (its FILE is unbuffered): a day can hold a million lines. */
#define SRC_CHUNK ((size_t)1 << 20)

struct tel_out {
    char *dir;
    FILE *nd[F_COUNT];
    FILE *csv[F_COUNT];
    bool has_nd[F_COUNT], has_csv[F_COUNT]; /* opened: a temporary file exists */
    struct buf line;
    struct buf tmp;
    char *sbuf;
    size_t sused;
    uint64_t day_ms; /* the day whose text is in day_text (valid when day_len) */
    char day_text[24];
    size_t day_len;
    uint8_t tag_len[TEL_TAG_COUNT], fp_len[TEL_FP_COUNT]; /* strlen of the names */
    int err;
};

/* The path of an output file: DIR/BASE SUFFIX.EXT, or its temporary DIR/.BASE SUFFIX.EXT.tmp. */
void tel_out__path(char *path, size_t len, const char *dir, const char *base, const char *suffix,
                   const char *ext, bool tmp);
/* Writes the buffered source lines. Returns 0 or -EIO (also kept in o->err). */
int tel_out__flush_sources(struct tel_out *o);

#endif
