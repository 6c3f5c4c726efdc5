/* Unit tests for the flow field table (src/core/flow_field.h) as every user of it sees it: the
 * NDJSON record (keys, order, values parsed back), the CSV header and rows, the aggregation
 * keys (-A by every name, the key's value through a real store scan) and the filter's
 * `NAME [CMP] N` terms (by every name, on records and through the store). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/flow.h"
#include "core/flow_field.h"
#include "core/jw.h"
#include "query/filter.h"
#include "query/query.h"
#include "store/store.h"

/* Two records that differ in every field; every optional field present. */
static void two_records(struct flow_rec *a, struct flow_rec *b)
{
    memset(a, 0, sizeof *a);
    memset(b, 0, sizeof *b);
    ipaddr_parse("192.0.2.1", &a->exporter);
    ipaddr_parse("192.0.2.2", &b->exporter);
    a->version = FLOW_V9;
    b->version = FLOW_IPFIX;
    a->obs_domain = 7;
    b->obs_domain = 70000;
    ipaddr_parse("198.51.100.1", &a->src);
    ipaddr_parse("2001:db8::1", &b->src);
    ipaddr_parse("203.0.113.5", &a->dst);
    ipaddr_parse("203.0.113.6", &b->dst);
    a->src_port = 40000;
    b->src_port = 1;
    a->dst_port = 23;
    b->dst_port = 2323;
    a->proto = 6;
    b->proto = 17;
    a->tcp_flags = 0x12;
    b->tcp_flags = 0x02;
    a->packets = 3;
    b->packets = 5000000000ull;
    a->bytes = 180;
    b->bytes = 9000000000ull;
    a->sampling_rate = 1;
    b->sampling_rate = 4096;
    a->start_ms = 1700000000000ull;
    b->start_ms = 1700000001000ull;
    a->end_ms = 1700000000500ull;
    b->end_ms = 1700000009000ull;
    a->in_if = 1;
    b->in_if = 4000000000u;
    a->out_if = 2;
    b->out_if = 3;
    a->src_as = 64500;
    b->src_as = 4200000000u;
    a->dst_as = 64501;
    b->dst_as = 65000;
    ipaddr_parse("192.0.2.254", &a->nexthop);
    ipaddr_parse("2001:db8::fe", &b->nexthop);
    a->vlan = 10;
    b->vlan = 4000;
    a->tos = 4;
    b->tos = 0xb8;
    a->src_mask = 24;
    b->src_mask = 64;
    a->dst_mask = 16;
    b->dst_mask = 32;
    a->direction = FLOW_DIR_INGRESS;
    b->direction = FLOW_DIR_EGRESS;
    a->has = b->has = FLOW_HAS_SRC_AS | FLOW_HAS_DST_AS | FLOW_HAS_NEXTHOP | FLOW_HAS_VLAN |
                      FLOW_HAS_TIMES | FLOW_HAS_IFACES | FLOW_HAS_MASKS | FLOW_HAS_TOS;
}

static bool same_member(const struct flow_field *f, const struct flow_rec *x,
                        const struct flow_rec *y)
{
    return !memcmp((const char *)x + f->offset, (const char *)y + f->offset, f->size);
}

/* The field's value as unquoted text (what flow_field_parse reads). */
static void value_text(const struct flow_field *f, const struct flow_rec *r, char *out, size_t n)
{
    struct buf b = BUF_INIT(256);
    struct jw w;
    jw_init(&w, &b);
    flow_field_json(f, r, &w, NULL);
    assert_int_equal(jw_finish(&w), 0);
    const char *s = b.data;
    size_t len = b.len;
    if (len >= 2 && s[0] == '"') {
        s++;
        len -= 2;
    }
    assert_true(len < n);
    memcpy(out, s, len);
    out[len] = '\0';
    buf_release(&b);
}

/* Calls fn with every name of f: the canonical one, then each alias. */
static void each_name(const struct flow_field *f,
                      void (*fn)(const struct flow_field *, const char *))
{
    fn(f, f->name);
    char al[128];
    snprintf(al, sizeof al, "%s", f->aliases);
    char *save = NULL;
    for (char *t = strtok_r(al, " ", &save); t; t = strtok_r(NULL, " ", &save))
        fn(f, t);
}

static void test_field_table_is_consistent(void **state)
{
    static const struct {
        enum flow_field_id id;
        enum store_col col;
    } cols[] = {
        {FLOW_F_EXPORTER, STORE_COL_EXPORTER},
        {FLOW_F_VERSION, STORE_COL_VERSION},
        {FLOW_F_OBS_DOMAIN, STORE_COL_OBS_DOMAIN},
        {FLOW_F_SRC_ADDR, STORE_COL_SRC},
        {FLOW_F_DST_ADDR, STORE_COL_DST},
        {FLOW_F_SRC_PORT, STORE_COL_SRC_PORT},
        {FLOW_F_DST_PORT, STORE_COL_DST_PORT},
        {FLOW_F_PROTO, STORE_COL_PROTO},
        {FLOW_F_TCP_FLAGS, STORE_COL_TCP_FLAGS},
        {FLOW_F_PACKETS, STORE_COL_PACKETS},
        {FLOW_F_BYTES, STORE_COL_BYTES},
        {FLOW_F_SAMPLING_RATE, STORE_COL_SAMPLING},
        {FLOW_F_START_MS, STORE_COL_START_MS},
        {FLOW_F_END_MS, STORE_COL_END_MS},
        {FLOW_F_IN_IF, STORE_COL_IN_IF},
        {FLOW_F_OUT_IF, STORE_COL_OUT_IF},
        {FLOW_F_SRC_AS, STORE_COL_SRC_AS},
        {FLOW_F_DST_AS, STORE_COL_DST_AS},
        {FLOW_F_NEXT_HOP, STORE_COL_NEXTHOP},
        {FLOW_F_VLAN, STORE_COL_VLAN},
        {FLOW_F_TOS, STORE_COL_TOS},
        {FLOW_F_SRC_MASK, STORE_COL_SRC_MASK},
        {FLOW_F_DST_MASK, STORE_COL_DST_MASK},
        {FLOW_F_DIRECTION, STORE_COL_DIRECTION},
    };
    assert_int_equal(sizeof cols / sizeof cols[0], FLOW_F_COUNT);
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        assert_int_equal(flow_fields[cols[i].id].store_col, cols[i].col);
    /* every name names exactly one field; every member lies inside the record */
    for (size_t i = 0; i < FLOW_F_COUNT; i++) {
        const struct flow_field *f = &flow_fields[i];
        assert_non_null(f->name);
        assert_ptr_equal(flow_field_by_name(f->name), f);
        assert_int_equal(flow_field_id(f), i);
        assert_true(f->offset + f->size <= sizeof(struct flow_rec));
        assert_true(f->type == FLOW_FT_ADDR
                        ? f->size == sizeof(struct ipaddr)
                        : f->size == 1 || f->size == 2 || f->size == 4 || f->size == 8);
        for (size_t j = 0; j < FLOW_F_COUNT; j++)
            if (j != i) {
                assert_false(flow_field_named(&flow_fields[j], f->name));
                char al[128];
                snprintf(al, sizeof al, "%s", f->aliases);
                char *save = NULL;
                for (char *t = strtok_r(al, " ", &save); t; t = strtok_r(NULL, " ", &save))
                    assert_false(flow_field_named(&flow_fields[j], t));
            }
    }
    assert_ptr_equal(flow_field_by_name("DSTPORT"), &flow_fields[FLOW_F_DST_PORT]);
    assert_null(flow_field_by_name("dst"));
    assert_null(flow_field_by_name("dstport "));
}

static void test_field_ndjson_round_trips(void **state)
{
    struct flow_rec recs[2];
    two_records(&recs[0], &recs[1]);
    for (int k = 0; k < 2; k++) {
        struct buf b = BUF_INIT(4096);
        assert_int_equal(flow_to_ndjson(&recs[k], &b), 0);
        json_error_t je;
        json_t *o = json_loads(b.data, 0, &je);
        assert_non_null(o);
        /* keys in table order, one per present field, each parsing back to the same member */
        size_t i = 0;
        struct flow_rec back;
        memset(&back, 0, sizeof back);
        const char *key;
        json_t *v;
        void *it = json_object_iter(o);
        for (; it; it = json_object_iter_next(o, it), i++) {
            key = json_object_iter_key(it);
            v = json_object_iter_value(it);
            while (i < FLOW_F_COUNT && !flow_field_present(&flow_fields[i], &recs[k]))
                i++;
            assert_true(i < FLOW_F_COUNT);
            const struct flow_field *f = &flow_fields[i];
            assert_string_equal(key, f->name);
            char text[64];
            if (json_is_string(v))
                snprintf(text, sizeof text, "%s", json_string_value(v));
            else if (json_is_integer(v))
                snprintf(text, sizeof text, "%llu", (unsigned long long)json_integer_value(v));
            else
                fail_msg("%s: not a string or integer", key);
            assert_int_equal(flow_field_parse(f, text, &back), 0);
            assert_true(same_member(f, &back, &recs[k]));
        }
        for (; i < FLOW_F_COUNT; i++)
            assert_false(flow_field_present(&flow_fields[i], &recs[k]));
        json_decref(o);
        buf_release(&b);
    }
    /* optional fields are left out when their presence bit is clear */
    struct flow_rec r = recs[0];
    r.has = 0;
    r.direction = FLOW_DIR_UNKNOWN;
    struct buf b = BUF_INIT(4096);
    assert_int_equal(flow_to_ndjson(&r, &b), 0);
    assert_null(strstr(b.data, "src_as"));
    assert_null(strstr(b.data, "next_hop"));
    assert_null(strstr(b.data, "direction"));
    assert_non_null(strstr(b.data, "\"in_if\":1,"));
    buf_release(&b);
}

static void test_field_parse_refuses_malformed_values(void **state)
{
    struct flow_rec r, before;
    memset(&r, 0x5a, sizeof r);
    before = r;
    const struct flow_field *port = &flow_fields[FLOW_F_DST_PORT];
    const char *bad[] = {
        "", "65536", "-1", "+1", " 1", "1 ", "0x10", "1e3", "18446744073709551616"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(flow_field_parse(port, bad[i], &r), BS_EPARSE);
    assert_int_equal(flow_field_parse(&flow_fields[FLOW_F_SRC_ADDR], "300.1.1.1", &r), BS_EPARSE);
    assert_int_equal(flow_field_parse(&flow_fields[FLOW_F_DIRECTION], "inbound", &r), BS_EPARSE);
    assert_int_equal(flow_field_parse(&flow_fields[FLOW_F_PROTO], "256", &r), BS_EPARSE);
    assert_memory_equal(&r, &before, sizeof r);
    /* both sides of each width's boundary */
    assert_int_equal(flow_field_parse(port, "65535", &r), 0);
    assert_int_equal(r.dst_port, 65535);
    assert_int_equal(flow_field_parse(&flow_fields[FLOW_F_PROTO], "255", &r), 0);
    assert_int_equal(flow_field_parse(&flow_fields[FLOW_F_IN_IF], "4294967295", &r), 0);
    assert_int_equal(flow_field_parse(&flow_fields[FLOW_F_IN_IF], "4294967296", &r), BS_EPARSE);
    assert_int_equal(flow_field_parse(&flow_fields[FLOW_F_BYTES], "18446744073709551615", &r), 0);
    assert_int_equal(r.bytes, UINT64_MAX);
    assert_int_equal(flow_field_parse(&flow_fields[FLOW_F_VERSION], "sflow5", &r), 0);
    assert_int_equal(r.version, FLOW_SFLOW5);
}

static void test_field_csv_header_and_rows_follow_the_table(void **state)
{
    char want[1024] = "";
    size_t wl = 0;
    for (size_t i = 0; i < FLOW_F_COUNT; i++)
        if (flow_fields[i].use & FLOW_FU_CSV)
            wl += (size_t)snprintf(want + wl, sizeof want - wl, "%s%s", wl ? "," : "",
                                   flow_fields[i].name);
    snprintf(want + wl, sizeof want - wl, "\n");
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    query_print_record_header(QF_CSV, m);
    fclose(m);
    assert_string_equal(text, want);
    /* the documented layout of `flows -o csv` (CLI.md keys, this order) */
    assert_string_equal(text, "exporter,version,obs_domain,src_addr,dst_addr,src_port,dst_port,"
                              "proto,tcp_flags,packets,bytes,sampling_rate,start_ms,end_ms,in_if,"
                              "out_if,src_as,dst_as\n");
    free(text);

    struct flow_rec recs[2];
    two_records(&recs[0], &recs[1]);
    for (int k = 0; k < 2; k++) {
        struct buf line = BUF_INIT(4096);
        text = NULL;
        m = open_memstream(&text, &len);
        query_print_record(&recs[k], QF_CSV, &line, m);
        fclose(m);
        buf_release(&line);
        struct flow_rec back;
        memset(&back, 0, sizeof back);
        char *save = NULL, *cell = strtok_r(text, ",\n", &save);
        for (size_t i = 0; i < FLOW_F_COUNT; i++) {
            if (!(flow_fields[i].use & FLOW_FU_CSV))
                continue;
            assert_non_null(cell);
            assert_int_equal(flow_field_parse(&flow_fields[i], cell, &back), 0);
            assert_true(same_member(&flow_fields[i], &back, &recs[k]));
            cell = strtok_r(NULL, ",\n", &save);
        }
        assert_null(cell);
        free(text);
    }
}

/* ---- through a store -------------------------------------------------------------------- */

static char *store_dir;
static struct store *store;
static struct flow_rec recs[2];

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static int store_setup(void **state)
{
    two_records(&recs[0], &recs[1]);
    store_dir = strdup("/tmp/bs_fields_test.XXXXXX");
    if (!mkdtemp(store_dir))
        return -1;
    char err[256];
    struct store *w;
    if (store_open(store_dir, NULL, STORE_WRITE, &w, err) || store_append(w, recs, 2) ||
        store_close(w))
        return -1;
    return store_open(store_dir, NULL, STORE_RDONLY, &store, err);
}

static int store_teardown(void **state)
{
    store_close(store);
    nftw(store_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(store_dir);
    return 0;
}

static unsigned keys_checked, terms_checked;

/* -A NAME over the store: two groups, whose key texts are the two records' values. */
static void check_key(const struct flow_field *f, const char *name)
{
    struct query_spec q;
    query_spec_init(&q);
    struct query_error e;
    assert_int_equal(query_parse_keys(name, q.keys, QUERY_MAX_KEYS, &q.nkeys, &e), 0);
    assert_string_equal(query_key_name(&q.keys[0]), f->name);
    assert_ptr_equal(query_key_field(q.keys[0].id), f);
    struct query_result *res;
    assert_int_equal(query_exec(store, &q, &res, &e), 0);
    assert_int_equal(res->nrows, 2);
    bool seen[2] = {false, false};
    for (size_t i = 0; i < 2; i++) {
        char got[64], want[64];
        bool num;
        query_key_text(res, &res->rows[i], 0, got, sizeof got, &num, false);
        for (int k = 0; k < 2; k++) {
            value_text(f, &recs[k], want, sizeof want);
            if (f->type == FLOW_FT_VERSION)
                snprintf(want, sizeof want, "%s", flow_version_name(recs[k].version));
            if (!strcmp(got, want))
                seen[k] = true;
        }
    }
    assert_true(seen[0] && seen[1]);
    query_result_free(res);
    keys_checked++;
}

/* "NAME == value of record 0" matches record 0 only, on records and through the store scan
 * (which decodes only the columns the filter names). */
static void check_term(const struct flow_field *f, const char *name)
{
    char text[128], v[64];
    value_text(f, &recs[0], v, sizeof v);
    snprintf(text, sizeof text, "%s == %s", name, v);
    struct filter *flt;
    struct filter_error fe;
    if (filter_compile(text, &flt, &fe))
        fail_msg("'%s': %s", text, fe.msg);
    assert_true(filter_match_rec(flt, &recs[0]));
    assert_false(filter_match_rec(flt, &recs[1]));
    assert_true(filter_columns(flt) & STORE_COLBIT(f->store_col));
    filter_free(flt);
    struct query_spec q;
    query_spec_init(&q);
    q.filter = text;
    q.count_only = true;
    struct query_result *res;
    struct query_error e;
    assert_int_equal(query_exec(store, &q, &res, &e), 0);
    assert_int_equal(res->stats.matched, 1);
    assert_int_equal(res->stats.packets, recs[0].packets);
    query_result_free(res);
    terms_checked++;
}

static void test_field_keys_by_every_name(void **state)
{
    keys_checked = 0;
    unsigned want = 0;
    for (size_t i = 0; i < FLOW_F_COUNT; i++) {
        const struct flow_field *f = &flow_fields[i];
        enum query_keyid id;
        bool is_key = !query_key_from_field(f, &id);
        assert_int_equal(is_key, !!(f->use & FLOW_FU_KEY));
        if (!is_key) {
            struct query_key k;
            struct query_error e;
            assert_int_equal(query_parse_key(f->name, &k, &e), BS_EPARSE);
            continue;
        }
        each_name(f, check_key);
        want++;
    }
    assert_true(keys_checked >= want);
    assert_int_equal(want, 16);
}

static void test_field_filter_terms_by_every_name(void **state)
{
    terms_checked = 0;
    /* the number fields the filter evaluates (proto is its own keyword: proto tcp|N) */
    static const enum flow_field_id terms[] = {
        FLOW_F_SRC_PORT,      FLOW_F_DST_PORT, FLOW_F_PACKETS, FLOW_F_BYTES,
        FLOW_F_SRC_AS,        FLOW_F_DST_AS,   FLOW_F_IN_IF,   FLOW_F_OUT_IF,
        FLOW_F_SAMPLING_RATE, FLOW_F_TOS,      FLOW_F_VLAN,
    };
    for (size_t i = 0; i < sizeof terms / sizeof terms[0]; i++)
        each_name(&flow_fields[terms[i]], check_term);
    assert_true(terms_checked >= sizeof terms / sizeof terms[0]);
    /* a field the filter cannot test is refused, not ignored */
    struct filter *flt;
    struct filter_error fe;
    assert_int_equal(filter_compile("obs_domain == 7", &flt, &fe), BS_EPARSE);
    assert_int_equal(filter_compile("next_hop == 1", &flt, &fe), BS_EPARSE);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(test_field_table_is_consistent),
        cmocka_unit_test(test_field_ndjson_round_trips),
        cmocka_unit_test(test_field_parse_refuses_malformed_values),
        cmocka_unit_test(test_field_csv_header_and_rows_follow_the_table),
    };
    const struct CMUnitTest stored[] = {
        cmocka_unit_test(test_field_keys_by_every_name),
        cmocka_unit_test(test_field_filter_terms_by_every_name),
    };
    int rc = cmocka_run_group_tests_name("fields", pure, NULL, NULL);
    return rc | cmocka_run_group_tests_name("fields_store", stored, store_setup, store_teardown);
}
