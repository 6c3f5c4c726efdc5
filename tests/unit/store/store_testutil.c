/* store_testutil.c - see store_testutil.h. */
#include "store_testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

void st_rm_rf(const char *dir)
{
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

char *st_make_tmpdir(const char *prefix)
{
    char t[256];
    snprintf(t, sizeof t, "/tmp/%s.XXXXXX", prefix);
    assert_non_null(mkdtemp(t));
    char *d = strdup(t);
    assert_non_null(d);
    return d;
}

int st_cmp_rec(const void *a, const void *b)
{
    const struct flow_rec *x = a, *y = b;
    if (x->start_ms != y->start_ms)
        return x->start_ms < y->start_ms ? -1 : 1;
    return memcmp(x, y, sizeof *x);
}

struct config *st_test_config(const char *kv[][3], size_t n)
{
    static struct config cfg;
    struct cfg_error e;
    assert_int_equal(config_init(&cfg), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(config_set(&cfg, kv[i][0], kv[i][1], kv[i][2], &e), 0);
    return &cfg;
}

void st_recs_push(struct st_recs *r, const struct store_block *b, size_t i)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->v = realloc(r->v, r->cap * sizeof *r->v);
        assert_non_null(r->v);
    }
    store_block_record(b, i, &r->v[r->n++]);
}
