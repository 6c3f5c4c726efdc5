/* config.h - the one configuration file format of botscope, validated on load.
 *
 * Format (INI-like, a TOML subset):
 *     # comment
 *     [section]
 *     key = value            ; value: integer, true/false, "quoted string", bare word,
 *     list = [a, "b c", 3]   ; or a list of those on one line
 * Every key any component reads is declared once in config_keys.def with its type, default and
 * documentation and, where it has them, its range or its allowed words; an unknown section
 * or key, a malformed line, a value of the wrong type, out of range or not among the allowed
 * words, and a key set twice in one file are errors naming the file, line and key (exit 2 in
 * the CLI). A path that is not a regular file (a directory) is refused. `botscope config
 * --defaults` prints the whole documented table.
 *
 * Ownership: struct config owns all its strings; config_release() frees them. Getters return
 * pointers into the config, valid until release. A config is read-only after load, so it may
 * be shared between threads.
 */
#ifndef BS_CORE_CONFIG_H
#define BS_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cfg_type { CFG_STR, CFG_INT, CFG_BOOL, CFG_LIST, CFG_DURATION, CFG_SIZE };

struct cfg_key {
    const char *section;
    const char *key;
    enum cfg_type type;
    const char *def; /* default, in file syntax ("" for none) */
    const char *doc;
    /* Optional constraints, checked at load (config_keys.def: CFG_RANGE, CFG_ONEOF). */
    bool ranged; /* INT, DURATION (ms), SIZE (bytes): min <= value <= max */
    int64_t min, max;
    const char *oneof; /* STR, or each LIST item: one of these '|'-separated words */
};
/* Constraint arguments for CFG_KEY lines in config_keys.def. */
#define CFG_RANGE(lo, hi) .ranged = true, .min = (lo), .max = (hi)
#define CFG_ONEOF(words)  .oneof = (words)

/* The schema: every key of every component, NULL-terminated (config_keys.def). */
extern const struct cfg_key cfg_schema[];

struct cfg_val {
    const struct cfg_key *key;
    char *
        text; /* value as written, quotes removed; a list is NUL-separated items ending in "\0\0" */
    unsigned line; /* 0 when the default applies */
};

struct config {
    char *path;           /* NULL when no file was loaded */
    struct cfg_val *vals; /* one per schema key, same order */
    size_t n;
};

/* Error details from config_load(). */
struct cfg_error {
    char msg[512]; /* "FILE:LINE: [section] key: what is wrong" */
};

/* Fills c with the defaults. Returns 0 or BS_ENOMEM. */
int config_init(struct config *c);
/* Loads and validates path into c (already initialised). Returns 0, -errno or BS_EPARSE with
 * err->msg set. */
int config_load(struct config *c, const char *path, struct cfg_error *err);
/* Sets one value as if from a file line (used for command-line overrides). */
int config_set(struct config *c, const char *section, const char *key, const char *value,
               struct cfg_error *err);
void config_release(struct config *c);

const char *config_str(const struct config *c, const char *section, const char *key);
int64_t config_int(const struct config *c, const char *section, const char *key);
bool config_bool(const struct config *c, const char *section, const char *key);
/* Durations ("60s", "5m", "2h", "7d", "250ms", plain seconds) in milliseconds. */
int64_t config_duration_ms(const struct config *c, const char *section, const char *key);
/* Sizes ("64k", "16M", "2G", plain bytes) in bytes. */
int64_t config_size(const struct config *c, const char *section, const char *key);
/* List items: returns the count; items[i] point into c (at most max are stored). */
size_t config_list(const struct config *c, const char *section, const char *key, const char **items,
                   size_t max);

/* Parsers shared with the CLI's option handling. Return 0 or BS_EPARSE. */
int config_parse_duration_ms(const char *s, int64_t *out);
int config_parse_size(const char *s, int64_t *out);
int config_parse_int(const char *s, int64_t *out);

#endif
