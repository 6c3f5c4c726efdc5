/* store_testutil.h - helpers shared by the store unit tests (test_store, test_store_write).
 * Failures are cmocka assertions, so call these only from inside a running test. */
#ifndef BS_TESTS_STORE_TESTUTIL_H
#define BS_TESTS_STORE_TESTUTIL_H

#include <stddef.h>

#include "core/config.h"
#include "core/flow.h"
#include "store/store.h"

/* Removes dir and everything below it (errors ignored). */
void st_rm_rf(const char *dir);
/* Creates a fresh directory /tmp/PREFIX.XXXXXX; the caller frees the returned path. */
char *st_make_tmpdir(const char *prefix);
/* qsort order of flow records: by start time, then by their bytes. */
int st_cmp_rec(const void *a, const void *b);
/* A configuration holding kv[i] = {section, key, value}; the result is static (one at a time). */
struct config *st_test_config(const char *kv[][3], size_t n);

/* A growable array of records (zero-initialise; free v). */
struct st_recs {
    struct flow_rec *v;
    size_t n, cap;
};
/* Appends record i of block b. */
void st_recs_push(struct st_recs *r, const struct store_block *b, size_t i);

#endif
