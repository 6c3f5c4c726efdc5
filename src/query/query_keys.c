/* query_keys.c - the aggregation keys of the query engine: names, sizes, columns, parsing of
 * -A / -s / -D, and the spec's defaults (see query.h). */
#include "query/query.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"

static const struct {
    const char *name; /* as typed */
    enum query_keyid id;
} key_names[] = {
    {"srcip", QK_SRCIP},     {"dstip", QK_DSTIP},      {"srcport", QK_SRCPORT},
    {"dstport", QK_DSTPORT}, {"proto", QK_PROTO},      {"exporter", QK_EXPORTER},
    {"nexthop", QK_NEXTHOP}, {"in_if", QK_IN_IF},      {"inif", QK_IN_IF},
    {"out_if", QK_OUT_IF},   {"outif", QK_OUT_IF},     {"src_as", QK_SRC_AS},
    {"srcas", QK_SRC_AS},    {"dst_as", QK_DST_AS},    {"dstas", QK_DST_AS},
    {"tos", QK_TOS},         {"flags", QK_FLAGS},      {"sampling", QK_SAMPLING},
    {"vlan", QK_VLAN},       {"version", QK_VERSION},  {"src_addr", QK_SRCIP},
    {"dst_addr", QK_DSTIP},  {"src_port", QK_SRCPORT}, {"dst_port", QK_DSTPORT},
};

static const char *const key_record_names[] = {
    [QK_SRCIP] = "src_addr",   [QK_DSTIP] = "dst_addr",
    [QK_SRCPORT] = "src_port", [QK_DSTPORT] = "dst_port",
    [QK_PROTO] = "proto",      [QK_EXPORTER] = "exporter",
    [QK_NEXTHOP] = "nexthop",  [QK_IN_IF] = "in_if",
    [QK_OUT_IF] = "out_if",    [QK_SRC_AS] = "src_as",
    [QK_DST_AS] = "dst_as",    [QK_TOS] = "tos",
    [QK_FLAGS] = "tcp_flags",  [QK_SAMPLING] = "sampling_rate",
    [QK_VLAN] = "vlan",        [QK_VERSION] = "version",
};

const char *query_key_name(const struct query_key *k)
{
    return key_record_names[k->id];
}

bool query_key_is_addr(enum query_keyid id)
{
    return id == QK_SRCIP || id == QK_DSTIP || id == QK_EXPORTER || id == QK_NEXTHOP;
}

size_t query_key_size(enum query_keyid id)
{
    switch (id) {
    case QK_SRCIP:
    case QK_DSTIP:
    case QK_EXPORTER:
    case QK_NEXTHOP:
        return 16;
    case QK_SRCPORT:
    case QK_DSTPORT:
    case QK_VLAN:
        return 2;
    case QK_PROTO:
    case QK_TOS:
    case QK_FLAGS:
    case QK_VERSION:
        return 1;
    default:
        return 4;
    }
}

uint64_t query_key_cols(enum query_keyid id)
{
    switch (id) {
    case QK_SRCIP:
        return STORE_COLBIT(STORE_COL_SRC);
    case QK_DSTIP:
        return STORE_COLBIT(STORE_COL_DST);
    case QK_SRCPORT:
        return STORE_COLBIT(STORE_COL_SRC_PORT);
    case QK_DSTPORT:
        return STORE_COLBIT(STORE_COL_DST_PORT);
    case QK_PROTO:
        return STORE_COLBIT(STORE_COL_PROTO);
    case QK_EXPORTER:
        return STORE_COLBIT(STORE_COL_EXPORTER);
    case QK_NEXTHOP:
        return STORE_COLBIT(STORE_COL_NEXTHOP);
    case QK_IN_IF:
        return STORE_COLBIT(STORE_COL_IN_IF);
    case QK_OUT_IF:
        return STORE_COLBIT(STORE_COL_OUT_IF);
    case QK_SRC_AS:
        return STORE_COLBIT(STORE_COL_SRC_AS);
    case QK_DST_AS:
        return STORE_COLBIT(STORE_COL_DST_AS);
    case QK_TOS:
        return STORE_COLBIT(STORE_COL_TOS);
    case QK_FLAGS:
        return STORE_COLBIT(STORE_COL_TCP_FLAGS);
    case QK_SAMPLING:
        return STORE_COLBIT(STORE_COL_SAMPLING);
    case QK_VLAN:
        return STORE_COLBIT(STORE_COL_VLAN);
    case QK_VERSION:
        return STORE_COLBIT(STORE_COL_VERSION);
    }
    return 0;
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
    size_t i;
    for (i = 0; i < sizeof key_names / sizeof key_names[0]; i++)
        if (!strcasecmp(name, key_names[i].name))
            break;
    if (i == sizeof key_names / sizeof key_names[0])
        return kerr(err,
                    "'%s' is not an aggregation key (srcip, dstip, srcport, dstport, "
                    "proto, exporter, in_if, out_if, src_as, dst_as, tos, flags, ...)",
                    text);
    k->id = key_names[i].id;
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
        if (parse_len(m1, fam == 4 ? 32 : 128, &a))
            return kerr(err, "'%s': bad mask", text);
        if (a <= 32) /* srcip/24: an IPv4 mask; IPv6 addresses stay whole */
            k->v4len = (uint8_t)a;
        else
            k->v6len = (uint8_t)a;
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
