/* query_keys.c - the aggregation keys of the query engine: names, sizes, columns, parsing of
 * -A / -s / -D, and the spec's defaults (see query.h). */
#include "query/query.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/flow_field.h"

/* The flow field of each key: names, aliases, sizes and columns come from the field table. */
static const enum flow_field_id key_field[] = {
    [QK_SRCIP] = FLOW_F_SRC_ADDR,   [QK_DSTIP] = FLOW_F_DST_ADDR,
    [QK_SRCPORT] = FLOW_F_SRC_PORT, [QK_DSTPORT] = FLOW_F_DST_PORT,
    [QK_PROTO] = FLOW_F_PROTO,      [QK_EXPORTER] = FLOW_F_EXPORTER,
    [QK_NEXTHOP] = FLOW_F_NEXT_HOP, [QK_IN_IF] = FLOW_F_IN_IF,
    [QK_OUT_IF] = FLOW_F_OUT_IF,    [QK_SRC_AS] = FLOW_F_SRC_AS,
    [QK_DST_AS] = FLOW_F_DST_AS,    [QK_TOS] = FLOW_F_TOS,
    [QK_FLAGS] = FLOW_F_TCP_FLAGS,  [QK_SAMPLING] = FLOW_F_SAMPLING_RATE,
    [QK_VLAN] = FLOW_F_VLAN,        [QK_VERSION] = FLOW_F_VERSION,
};
#define QK_COUNT (sizeof key_field / sizeof key_field[0])

const struct flow_field *query_key_field(enum query_keyid id)
{
    return &flow_fields[key_field[id]];
}

int query_key_from_field(const struct flow_field *f, enum query_keyid *id)
{
    for (size_t i = 0; i < QK_COUNT; i++)
        if (key_field[i] == flow_field_id(f)) {
            *id = (enum query_keyid)i;
            return 0;
        }
    return BS_ENOTFOUND;
}

const char *query_key_name(const struct query_key *k)
{
    return query_key_field(k->id)->name;
}

bool query_key_is_addr(enum query_keyid id)
{
    return query_key_field(id)->type == FLOW_FT_ADDR;
}

size_t query_key_size(enum query_keyid id)
{
    return query_key_is_addr(id) ? 16 : query_key_field(id)->size;
}

uint64_t query_key_cols(enum query_keyid id)
{
    return STORE_COLBIT(query_key_field(id)->store_col);
}

static int kerr(struct query_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int kerr(struct query_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return BS_EPARSE;
}

static int parse_len(const char *s, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || (unsigned long)v > max)
        return BS_EPARSE;
    *out = (unsigned)v;
    return 0;
}

int query_parse_key(const char *text, struct query_key *k, struct query_error *err)
{
    char name[64];
    const char *slash = strchr(text, '/');
    size_t nl = slash ? (size_t)(slash - text) : strlen(text);
    if (nl == 0 || nl >= sizeof name)
        return kerr(err, "'%s' is not an aggregation key", text);
    memcpy(name, text, nl);
    name[nl] = '\0';
    int fam = 0; /* 4 or 6 for srcip4/srcip6 */
    if ((!strcasecmp(name, "srcip4") || !strcasecmp(name, "dstip4") ||
         !strcasecmp(name, "srcip6") || !strcasecmp(name, "dstip6"))) {
        fam = name[5] - '0';
        name[5] = '\0';
    }
    const struct flow_field *f = flow_field_by_name(name);
    enum query_keyid id;
    if (!f || !(f->use & FLOW_FU_KEY) || query_key_from_field(f, &id))
        return kerr(err,
                    "'%s' is not an aggregation key (srcip, dstip, srcport, dstport, "
                    "proto, exporter, in_if, out_if, src_as, dst_as, tos, flags, ...)",
                    text);
    k->id = id;
    k->v4len = 32;
    k->v6len = 128;
    if (!slash)
        return 0;
    if (!query_key_is_addr(k->id))
        return kerr(err, "'%s': only address keys take a /mask", text);
    char m1[16] = "", m2[16] = "";
    const char *s2 = strchr(slash + 1, '/');
    size_t l1 = s2 ? (size_t)(s2 - slash - 1) : strlen(slash + 1);
    if (l1 >= sizeof m1 || (s2 && strlen(s2 + 1) >= sizeof m2))
        return kerr(err, "'%s': bad mask", text);
    memcpy(m1, slash + 1, l1);
    m1[l1] = '\0';
    if (s2)
        memcpy(m2, s2 + 1, strlen(s2 + 1) + 1);
    unsigned a, b;
    if (fam == 6) {
        if (s2 || parse_len(m1, 128, &b))
            return kerr(err, "'%s': IPv6 mask must be 0..128", text);
        k->v6len = (uint8_t)b;
    } else if (s2) {
        if (parse_len(m1, 32, &a) || parse_len(m2, 128, &b))
            return kerr(err, "'%s': masks must be IPv4 0..32 and IPv6 0..128", text);
        k->v4len = (uint8_t)a;
        k->v6len = (uint8_t)b;
    } else {
        /* srcip/24: an IPv4 mask, IPv6 addresses stay whole. Above 32 it cannot be an IPv4
         * mask; it is refused (as nfdump refuses srcip4/33) rather than read as an IPv6 mask
         * that leaves IPv4 unmasked. */
        if (parse_len(m1, 32, &a))
            return kerr(err,
                        "'%s': an address mask is 0..32 (IPv4); use srcip/24/64 for both "
                        "families or srcip6/64 for IPv6 only",
                        text);
        k->v4len = (uint8_t)a;
    }
    return 0;
}

int query_parse_keys(const char *text, struct query_key *keys, size_t max, size_t *n,
                     struct query_error *err)
{
    char buf[512];
    if (strlen(text) >= sizeof buf)
        return kerr(err, "%s", "aggregation key list too long");
    memcpy(buf, text, strlen(text) + 1);
    *n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (*n == max)
            return kerr(err, "more than %s aggregation keys", "8");
        int rc = query_parse_key(t, &keys[*n], err);
        if (rc)
            return rc;
        (*n)++;
    }
    if (!*n)
        return kerr(err, "'%s': no aggregation key", text);
    return 0;
}

int query_parse_stat(const char *text, struct query_spec *q, struct query_error *err)
{
    char buf[512];
    if (strlen(text) >= sizeof buf)
        return kerr(err, "%s", "-s argument too long");
    memcpy(buf, text, strlen(text) + 1);
    /* The order is the last '/' part when it names a measure. */
    q->order = QO_FLOWS;
    char *last = strrchr(buf, '/');
    if (last) {
        const char *o = last + 1;
        int found = 1;
        if (!strcasecmp(o, "flows") || !strcasecmp(o, "records"))
            q->order = QO_FLOWS;
        else if (!strcasecmp(o, "packets"))
            q->order = QO_PACKETS;
        else if (!strcasecmp(o, "bytes"))
            q->order = QO_BYTES;
        else if (!strncasecmp(o, "distinct:", 9)) {
            q->order = QO_DISTINCT;
            q->has_distinct = true;
            int rc = query_parse_key(o + 9, &q->distinct, err);
            if (rc)
                return rc;
        } else if (!strcasecmp(o, "distinct")) {
            q->order = QO_DISTINCT;
        } else {
            found = 0;
        }
        if (found)
            *last = '\0';
    }
    return query_parse_keys(buf, q->keys, QUERY_MAX_KEYS, &q->nkeys, err);
}

void query_spec_init(struct query_spec *q)
{
    memset(q, 0, sizeof *q);
    q->t_hi = UINT64_MAX;
    q->order = QO_FLOWS;
    q->format = QF_TABLE;
    q->summary = true;
    q->threads = 1;
    q->max_groups = QUERY_DEFAULT_MAX_GROUPS;
    q->max_distinct = QUERY_DEFAULT_MAX_DISTINCT;
    q->out = stdout;
}
