/* sim_json.h - a small streaming writer of nested JSON (objects and arrays) for truth.json.
 *
 * Strings are escaped with jw_escape() from core/jw.h (RFC 8259). Keys are trusted snake_case
 * literals. Output goes to a FILE through a capped buffer flushed every SIM_JSON_CHUNK bytes,
 * so memory stays bounded whatever the document's size: the buffer is drained whenever an
 * element at depth 1 or 2 closes, so one such element (e.g. one entry of a top-level array)
 * must fit in the 4 * SIM_JSON_CHUNK cap. Elements at depth 1 and 2 start on
 * their own indented line; deeper ones are written compactly, one leaf object per line.
 * Errors (write failures, nesting past SIM_JSON_MAX_DEPTH) are sticky and returned by
 * sim_json_finish().
 *
 * Ownership: the writer borrows f (the caller closes it) and owns its buffer until finish.
 */
#ifndef BS_SIM_SIM_JSON_H
#define BS_SIM_SIM_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/ipaddr.h"

#define SIM_JSON_MAX_DEPTH 16
#define SIM_JSON_CHUNK (256u * 1024u)

struct sim_json {
    FILE *f;
    struct buf b;
    int err;
    int depth;
    bool first[SIM_JSON_MAX_DEPTH];
    char closer[SIM_JSON_MAX_DEPTH];
};

void sim_json_init(struct sim_json *j, FILE *f);
/* Opens an object or array; key is NULL for an array element or the top level. */
void sim_json_obj(struct sim_json *j, const char *key);
void sim_json_arr(struct sim_json *j, const char *key);
/* Closes the innermost object or array. */
void sim_json_end(struct sim_json *j);
void sim_json_str(struct sim_json *j, const char *key, const char *val);
void sim_json_u64(struct sim_json *j, const char *key, uint64_t val);
void sim_json_dbl(struct sim_json *j, const char *key, double val);
void sim_json_bool(struct sim_json *j, const char *key, bool val);
void sim_json_ip(struct sim_json *j, const char *key, const struct ipaddr *a);
/* Writes the rest, releases the buffer. Returns 0 or the first error. */
int sim_json_finish(struct sim_json *j);

#endif
