/* manifest.h - the manifest of one day partition of the embedded store (flows/YYYY-MM-DD/):
 * which segments the writer committed there, with their sizes and record counts, so that a
 * segment that is missing, truncated or grown, listed twice, or present without having been
 * committed (a copy, a duplicate) is told apart from a complete store.
 *
 * File DAY/MANIFEST, text, append-only between compactions:
 *   botscope-manifest 1
 *   + NAME SIZE RECORDS CRC      a segment committed (NAME: its file name in DAY)
 *   - NAME CRC                   a segment removed by retention (its file may linger)
 * CRC is the CRC-32 (zlib) of the line's text before " CRC", as 8 lowercase hex digits. One
 * manifest per day rather than per 5-minute partition: the same information with 288 times
 * fewer files.
 *
 * Commit protocol (store_embedded.c): segments are written to temp names and fsynced, then
 * their '+' lines are appended and fsynced (the commit point), then the temp files are renamed.
 * A crash before the append leaves temp files only (removed by the next writer); after it, the
 * next writer renames the listed temp files (roll forward). Retention appends '-' before it
 * unlinks. A final line without its newline is an append cut by a crash and is ignored; any
 * other line that does not parse or fails its CRC is counted as damage.
 *
 * Readers list the files first and read the manifest after: a file seen is then always listed,
 * since its line was written before its rename.
 */
#ifndef BS_STORE_MANIFEST_H
#define BS_STORE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define MANIFEST_FILE "MANIFEST"
/* Cap on entries of one day's manifest (a writer flushing every second for a day makes ~1e5). */
#define MANIFEST_MAX_ENTRIES (1u << 22)
/* Longest segment file name (they are 33 characters or so). */
#define MANIFEST_NAME_MAX 64

struct manifest_entry {
    char name[MANIFEST_NAME_MAX];
    uint64_t size, records;
    uint8_t removed; /* a '-' line names it */
    uint8_t twice;   /* two '+' lines name it */
};

/* Entries sorted by name, one per name (ownership: v is owned; manifest_release frees it). */
struct manifest {
    struct manifest_entry *v;
    size_t n, cap;
    unsigned bad_lines;      /* lines that do not parse or fail their CRC */
    unsigned first_bad_line; /* 1-based line number of the first (0 when none) */
};

/* Parses text[0..len). Returns 0 (bad lines are counted, not fatal), BS_ECORRUPT when the
 * header is not a version-1 manifest, BS_ELIMIT above MANIFEST_MAX_ENTRIES, BS_ENOMEM. */
int manifest_parse(const char *text, size_t len, struct manifest *m);
/* Loads daydir/MANIFEST. Returns 0, -ENOENT when there is none, or as manifest_parse. */
int manifest_load(const char *daydir, struct manifest *m);
/* The entry for name, or NULL. */
const struct manifest_entry *manifest_find(const struct manifest *m, const char *name);
void manifest_release(struct manifest *m);

/* Lines to append: add (size, records) or remove a segment. */
struct manifest_op {
    const char *name;
    uint64_t size, records;
    int remove;
};
/* Appends ops[0..n) to daydir/MANIFEST (created with its header when absent) and fsyncs it
 * (and the directory when created). Returns 0 or -errno. */
int manifest_append(const char *daydir, const struct manifest_op *ops, size_t n);
/* Rewrites daydir/MANIFEST from m without its removed entries (temp file, fsync, rename):
 * the compaction a writer does when it opens the store. Returns 0 or -errno. */
int manifest_rewrite(const char *daydir, const struct manifest *m);

#endif
