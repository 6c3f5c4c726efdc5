/* flow_field.c - the flow record's field table and its accessors (see flow_field.h). */
#include "core/flow_field.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/ipaddr.h"
#include "core/jw.h"

#define MEMBER(m) .offset = offsetof(struct flow_rec, m), .size = sizeof(((struct flow_rec *)0)->m)

/* store_col values are enum store_col of store/store.h (START_MS 0, END_MS 1, PACKETS 2,
 * BYTES 3, SRC 4, DST 5, EXPORTER 6, NEXTHOP 7, SAMPLING 8, OBS_DOMAIN 9, IN_IF 10, OUT_IF 11,
 * SRC_AS 12, DST_AS 13, SRC_PORT 14, DST_PORT 15, VLAN 16, HAS 17, PROTO 18, TCP_FLAGS 19,
 * TOS 20, VERSION 21, DIRECTION 22, SRC_MASK 23, DST_MASK 24); tests/unit/query checks them. */
const struct flow_field flow_fields[FLOW_F_COUNT] = {
    [FLOW_F_EXPORTER] = {"exporter", "", "exporter", FLOW_FT_ADDR, FLOW_FU_CSV | FLOW_FU_KEY, 6,
                         MEMBER(exporter), 0},
    [FLOW_F_VERSION] = {"version", "", "version", FLOW_FT_VERSION, FLOW_FU_CSV | FLOW_FU_KEY, 21,
                        MEMBER(version), 0},
    [FLOW_F_OBS_DOMAIN] = {"obs_domain", "", "obs_domain", FLOW_FT_UINT, FLOW_FU_CSV, 9,
                           MEMBER(obs_domain), 0},
    [FLOW_F_SRC_ADDR] = {"src_addr", "srcip", "src", FLOW_FT_ADDR, FLOW_FU_CSV | FLOW_FU_KEY, 4,
                         MEMBER(src), 0},
    [FLOW_F_DST_ADDR] = {"dst_addr", "dstip", "dst", FLOW_FT_ADDR, FLOW_FU_CSV | FLOW_FU_KEY, 5,
                         MEMBER(dst), 0},
    [FLOW_F_SRC_PORT] = {"src_port", "srcport", "src_port", FLOW_FT_UINT, FLOW_FU_CSV | FLOW_FU_KEY,
                         14, MEMBER(src_port), 0},
    [FLOW_F_DST_PORT] = {"dst_port", "dstport", "dst_port", FLOW_FT_UINT, FLOW_FU_CSV | FLOW_FU_KEY,
                         15, MEMBER(dst_port), 0},
    [FLOW_F_PROTO] = {"proto", "", "proto", FLOW_FT_PROTO, FLOW_FU_CSV | FLOW_FU_KEY, 18,
                      MEMBER(proto), 0},
    [FLOW_F_TCP_FLAGS] = {"tcp_flags", "flags", "tcp_flags", FLOW_FT_FLAGS,
                          FLOW_FU_CSV | FLOW_FU_KEY, 19, MEMBER(tcp_flags), 0},
    [FLOW_F_PACKETS] = {"packets", "", "packets", FLOW_FT_UINT, FLOW_FU_CSV, 2, MEMBER(packets), 0},
    [FLOW_F_BYTES] = {"bytes", "", "bytes", FLOW_FT_UINT, FLOW_FU_CSV, 3, MEMBER(bytes), 0},
    [FLOW_F_SAMPLING_RATE] = {"sampling_rate", "sampling", "sampling", FLOW_FT_UINT,
                              FLOW_FU_CSV | FLOW_FU_KEY | FLOW_FU_ZERO_IS_ONE, 8,
                              MEMBER(sampling_rate), 0},
    [FLOW_F_START_MS] = {"start_ms", "", "start_ms", FLOW_FT_TIME_MS, FLOW_FU_CSV, 0,
                         MEMBER(start_ms), 0},
    [FLOW_F_END_MS] = {"end_ms", "", "end_ms", FLOW_FT_TIME_MS, FLOW_FU_CSV, 1, MEMBER(end_ms), 0},
    [FLOW_F_IN_IF] = {"in_if", "inif", "in_if", FLOW_FT_UINT, FLOW_FU_CSV | FLOW_FU_KEY, 10,
                      MEMBER(in_if), 0},
    [FLOW_F_OUT_IF] = {"out_if", "outif", "out_if", FLOW_FT_UINT, FLOW_FU_CSV | FLOW_FU_KEY, 11,
                       MEMBER(out_if), 0},
    [FLOW_F_SRC_AS] = {"src_as", "srcas", "src_as", FLOW_FT_UINT, FLOW_FU_CSV | FLOW_FU_KEY, 12,
                       MEMBER(src_as), FLOW_HAS_SRC_AS},
    [FLOW_F_DST_AS] = {"dst_as", "dstas", "dst_as", FLOW_FT_UINT, FLOW_FU_CSV | FLOW_FU_KEY, 13,
                       MEMBER(dst_as), FLOW_HAS_DST_AS},
    [FLOW_F_NEXT_HOP] = {"next_hop", "nexthop", "nexthop", FLOW_FT_ADDR, FLOW_FU_KEY, 7,
                         MEMBER(nexthop), FLOW_HAS_NEXTHOP},
    [FLOW_F_VLAN] = {"vlan", "", "vlan", FLOW_FT_UINT, FLOW_FU_KEY, 16, MEMBER(vlan),
                     FLOW_HAS_VLAN},
    [FLOW_F_TOS] = {"tos", "", "tos", FLOW_FT_UINT, FLOW_FU_KEY, 20, MEMBER(tos), FLOW_HAS_TOS},
    [FLOW_F_SRC_MASK] = {"src_mask", "", "src_mask", FLOW_FT_UINT, 0, 23, MEMBER(src_mask),
                         FLOW_HAS_MASKS},
    [FLOW_F_DST_MASK] = {"dst_mask", "", "dst_mask", FLOW_FT_UINT, 0, 24, MEMBER(dst_mask),
                         FLOW_HAS_MASKS},
    [FLOW_F_DIRECTION] = {"direction", "", "direction", FLOW_FT_DIRECTION, 0, 22, MEMBER(direction),
                          0},
};

bool flow_field_named(const struct flow_field *f, const char *name)
{
    if (!strcasecmp(f->name, name))
        return true;
    size_t n = strlen(name);
    for (const char *a = f->aliases; *a;) {
        const char *end = strchr(a, ' ');
        size_t len = end ? (size_t)(end - a) : strlen(a);
        if (len == n && !strncasecmp(a, name, n))
            return true;
        a += len;
        while (*a == ' ')
            a++;
    }
    return false;
}

const struct flow_field *flow_field_by_name(const char *name)
{
    for (size_t i = 0; i < FLOW_F_COUNT; i++)
        if (flow_field_named(&flow_fields[i], name))
            return &flow_fields[i];
    return NULL;
}

enum flow_field_id flow_field_id(const struct flow_field *f)
{
    return (enum flow_field_id)(f - flow_fields);
}

uint64_t flow_field_get_uint(const struct flow_field *f, const struct flow_rec *r)
{
    const unsigned char *p = (const unsigned char *)r + f->offset;
    switch (f->size) {
    case 1:
        return *p;
    case 2: {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case 4: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    case 8: {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    default:
        return 0; /* an address */
    }
}

void flow_field_set_uint(const struct flow_field *f, struct flow_rec *r, uint64_t v)
{
    unsigned char *p = (unsigned char *)r + f->offset;
    switch (f->size) {
    case 1:
        *p = (uint8_t)v;
        return;
    case 2: {
        uint16_t x = (uint16_t)v;
        memcpy(p, &x, 2);
        return;
    }
    case 4: {
        uint32_t x = (uint32_t)v;
        memcpy(p, &x, 4);
        return;
    }
    case 8:
        memcpy(p, &v, 8);
        return;
    default:
        return;
    }
}

static const struct ipaddr *field_addr(const struct flow_field *f, const struct flow_rec *r)
{
    return (const struct ipaddr *)(const void *)((const unsigned char *)r + f->offset);
}

bool flow_field_present(const struct flow_field *f, const struct flow_rec *r)
{
    if (f->has && !(r->has & f->has))
        return false;
    if (f->type == FLOW_FT_DIRECTION)
        return r->direction != FLOW_DIR_UNKNOWN;
    return true;
}

void flow_field_json(const struct flow_field *f, const struct flow_rec *r, struct jw *w,
                     const char *key)
{
    uint64_t v = flow_field_get_uint(f, r);
    switch (f->type) {
    case FLOW_FT_ADDR:
        jw_ip(w, key, field_addr(f, r));
        return;
    case FLOW_FT_VERSION:
        if (v == FLOW_SFLOW5) {
            jw_str(w, key, "sflow5");
            return;
        }
        break;
    case FLOW_FT_DIRECTION:
        jw_str(w, key, v == FLOW_DIR_INGRESS ? "ingress" : "egress");
        return;
    default:
        break;
    }
    if ((f->use & FLOW_FU_ZERO_IS_ONE) && !v)
        v = 1;
    jw_u64(w, key, v);
}

int flow_field_put_csv(const struct flow_field *f, const struct flow_rec *r, struct buf *b)
{
    char s[IPADDR_STRLEN];
    uint64_t v = flow_field_get_uint(f, r);
    switch (f->type) {
    case FLOW_FT_ADDR:
        return buf_puts(b, ipaddr_format(field_addr(f, r), s, sizeof s));
    case FLOW_FT_VERSION:
        return buf_puts(b, flow_version_name((unsigned)v));
    case FLOW_FT_DIRECTION:
        return buf_puts(b, v == FLOW_DIR_INGRESS  ? "ingress"
                           : v == FLOW_DIR_EGRESS ? "egress"
                                                  : "");
    default:
        return buf_printf(b, "%" PRIu64, v);
    }
}

int flow_field_parse(const struct flow_field *f, const char *text, struct flow_rec *r)
{
    if (f->type == FLOW_FT_ADDR) {
        struct ipaddr a;
        if (ipaddr_parse(text, &a))
            return BS_EPARSE;
        memcpy((unsigned char *)r + f->offset, &a, sizeof a);
        return 0;
    }
    uint64_t v;
    if (f->type == FLOW_FT_VERSION && !strcmp(text, "sflow5")) {
        v = FLOW_SFLOW5;
    } else if (f->type == FLOW_FT_DIRECTION && !strcmp(text, "ingress")) {
        v = FLOW_DIR_INGRESS;
    } else if (f->type == FLOW_FT_DIRECTION && !strcmp(text, "egress")) {
        v = FLOW_DIR_EGRESS;
    } else {
        if (*text < '0' || *text > '9')
            return BS_EPARSE; /* strtoull would take a sign or blanks */
        char *end;
        errno = 0;
        unsigned long long x = strtoull(text, &end, 10);
        if (errno || *end)
            return BS_EPARSE;
        v = x;
        if (f->size < 8 && v >> (8 * f->size))
            return BS_EPARSE;
    }
    flow_field_set_uint(f, r, v);
    return 0;
}

int flow_field_csv_header(struct buf *b)
{
    int rc = 0;
    bool first = true;
    for (size_t i = 0; i < FLOW_F_COUNT && !rc; i++) {
        if (!(flow_fields[i].use & FLOW_FU_CSV))
            continue;
        if (!first)
            rc = buf_putc(b, ',');
        if (!rc)
            rc = buf_puts(b, flow_fields[i].name);
        first = false;
    }
    return rc ? rc : buf_putc(b, '\n');
}
