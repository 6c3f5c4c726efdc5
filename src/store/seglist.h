/* seglist.h - the segment files of an embedded store directory, checked against the per-day
 * manifests (manifest.h). Internal to bs_store (store_embedded.c).
 *
 * Damage a listing can find, reported through a sink with the path, what is wrong and how many
 * records go missing from every answer because of it (0 when unknown):
 *   - missing: a committed segment whose file is gone (and not being renamed right now);
 *   - size: a committed segment whose file is not the size committed (truncated, grown,
 *     overwritten): left out of the listing, since it cannot be what was written;
 *   - unlisted: a segment file the manifest does not name (a copy or a duplicate, or a file put
 *     there by hand): left out, so no record is counted twice;
 *   - twice: a manifest naming a segment twice (read once);
 *   - manifest: a day whose manifest does not parse, or has bad lines (its files are read
 *     unchecked), or a day with segment files and no manifest (a store written by a botscope
 *     before manifests: a writer opening the store writes them).
 */
#ifndef BS_STORE_SEGLIST_H
#define BS_STORE_SEGLIST_H

#include <stddef.h>
#include <stdint.h>

/* One segment file found on disk. */
struct seg_file {
    char *path;
    uint64_t start_ms, len_ms, seq, size;
    uint64_t mtime_ms; /* when the file was written (retention counts from it too) */
    uint64_t records;  /* as committed in the manifest; 0 when unknown */
};

struct seg_list {
    struct seg_file *v;
    size_t n, cap;
};

void seg_list_release(struct seg_list *l);

/* Parses "YYYYMMDDTHHMMSSZ_P_SEQ.seg". Returns 0 or BS_EPARSE. */
int seg_parse_name(const char *name, uint64_t *start_ms, uint64_t *len_ms, uint64_t *seq);

struct seg_damage_sink {
    void (*report)(void *ctx, const char *path, const char *what, uint64_t records_missing);
    void *ctx;
};

/* Lists the segments under dir/flows, sorted by time then sequence. When clean_tmp is set,
 * leftover temp files of an interrupted writer are removed (and logged). With a sink, each
 * day is checked against its manifest as above. Returns 0 or a negative error. */
int seg_list_dir(const char *dir, struct seg_list *out, int clean_tmp,
                 const struct seg_damage_sink *sink);

/* What a writer does on open, before removing temp files: in every day, renames the temp
 * files of committed segments (a crash between the commit and the renames), removes the files
 * of removed entries and compacts the manifest, and writes a manifest for a day that has
 * segment files and none (counting records from the segment footers). Logs what it did.
 * Returns 0 or a negative error. */
int seg_reconcile(const char *dir);

/* fsync of a directory. Returns 0 or -errno. */
int seg_fsync_dir(const char *path);

#endif
