/* import.c - nfdump CSV, Zeek conn.log and Argus binetflow line parsers (see import.h). */
#include "store/import.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/text.h"
#include "store/import_tcp.h"

struct colname {
    const char *name;
    enum import_field f;
};

static const struct colname nfdump_cols[] = {
    {"ts", IF_TS},     {"te", IF_TE},     {"td", IF_TD},     {"sa", IF_SA},     {"da", IF_DA},
    {"sp", IF_SP},     {"dp", IF_DP},     {"pr", IF_PR},     {"flg", IF_FLG},   {"stos", IF_STOS},
    {"ipkt", IF_IPKT}, {"ibyt", IF_IBYT}, {"opkt", IF_OPKT}, {"obyt", IF_OBYT}, {"in", IF_IN},
    {"out", IF_OUT},   {"sas", IF_SAS},   {"das", IF_DAS},   {"smk", IF_SMK},   {"dmk", IF_DMK},
    {"nh", IF_NH},     {"svln", IF_SVLN}, {"ra", IF_RA},     {NULL, IF_COUNT},
};
/* The 1.7 column order, used when the header is missing (nfdump -q). */
static const char *const nfdump_default[] = {
    "ts",     "te",    "td",    "sa",    "da",    "sp",    "dp",    "pr",    "flg",   "fwd",
    "stos",   "ipkt",  "ibyt",  "opkt",  "obyt",  "in",    "out",   "sas",   "das",   "smk",
    "dmk",    "dtos",  "dir",   "nh",    "nhb",   "svln",  "dvln",  "ismc",  "odmc",  "idmc",
    "osmc",   "mpls1", "mpls2", "mpls3", "mpls4", "mpls5", "mpls6", "mpls7", "mpls8", "mpls9",
    "mpls10", "cl",    "sl",    "al",    "ra",    "eng",   "exid",  "tr",    NULL,
};

static const struct colname binetflow_cols[] = {
    {"StartTime", IF_TS},        {"Dur", IF_TD},        {"Proto", IF_PR},
    {"SrcAddr", IF_SA},          {"Sport", IF_SP},      {"Dir", IF_DIR},
    {"DstAddr", IF_DA},          {"Dport", IF_DP},      {"sTos", IF_STOS},
    {"TotPkts", IF_IPKT},        {"TotBytes", IF_IBYT}, {"State", IF_STATE},
    {"SrcBytes", IF_ORIG_BYTES}, {"SrcPkts", IF_SPKT},  {"DstPkts", IF_OPKT},
    {"DstBytes", IF_OBYT},       {NULL, IF_COUNT},
};
static const char *const binetflow_default[] = {
    "StartTime", "Dur",  "Proto", "SrcAddr", "Sport",    "Dir",      "DstAddr", "Dport",
    "State",     "sTos", "dTos",  "TotPkts", "TotBytes", "SrcBytes", "Label",   NULL,
};

static const struct colname zeek_cols[] = {
    {"ts", IF_TS},
    {"id.orig_h", IF_SA},
    {"id.orig_p", IF_SP},
    {"id.resp_h", IF_DA},
    {"id.resp_p", IF_DP},
    {"proto", IF_PR},
    {"duration", IF_TD},
    {"orig_pkts", IF_IPKT},
    {"orig_ip_bytes", IF_IBYT},
    {"resp_pkts", IF_OPKT},
    {"resp_ip_bytes", IF_OBYT},
    {"orig_bytes", IF_ORIG_BYTES},
    {"resp_bytes", IF_RESP_BYTES},
    {"conn_state", IF_STATE},
    {"history", IF_HISTORY},
    {NULL, IF_COUNT},
};

static const struct {
    const char *name;
    uint8_t num;
} proto_tab[] = {
    {"HOPOPT", 0}, {"ICMP", 1},       {"IGMP", 2},   {"GGP", 3},    {"IPIP", 4},      {"ST", 5},
    {"TCP", 6},    {"CBT", 7},        {"EGP", 8},    {"IGP", 9},    {"UDP", 17},      {"IPv6", 41},
    {"Rte6", 43},  {"Frag6", 44},     {"RSVP", 46},  {"GRE", 47},   {"ESP", 50},      {"AH", 51},
    {"ICMP6", 58}, {"IPV6-ICMP", 58}, {"NoNxt", 59}, {"Opts6", 60}, {"EIGRP", 88},    {"OSPF", 89},
    {"PIM", 103},  {"VRRP", 112},     {"L2TP", 115}, {"SCTP", 132}, {"UDPLite", 136}, {"ARP", 0},
    {"RTP", 17},   {"RTCP", 17},      {"UDT", 17},
};

int import_format_parse(const char *name, enum import_format *out)
{
    if (!strcmp(name, "nfdump-csv"))
        *out = IMPORT_NFDUMP_CSV;
    else if (!strcmp(name, "zeek"))
        *out = IMPORT_ZEEK;
    else if (!strcmp(name, "binetflow"))
        *out = IMPORT_BINETFLOW;
    else
        return BS_EPARSE;
    return 0;
}

void import_init(struct import_ctx *c, enum import_format fmt)
{
    memset(c, 0, sizeof *c);
    c->fmt = fmt;
    c->sep = '\t';
    for (int i = 0; i < IF_COUNT; i++)
        c->col[i] = -1;
}

static int bad(struct import_ctx *c, const char *what, const char *val)
{
    if (val)
        snprintf(c->err, sizeof c->err, "%s '%.60s'", what, val);
    else
        snprintf(c->err, sizeof c->err, "%s", what);
    return BS_EPARSE;
}

static int split(char *line, char sep, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        char *q = strchr(p, sep);
        if (n == max)
            return -1;
        if (q)
            *q = '\0';
        f[n++] = text_trim(p);
        if (!q)
            break;
        p = q + 1;
    }
    return n;
}

static const struct colname *cols_of(enum import_format fmt)
{
    return fmt == IMPORT_NFDUMP_CSV ? nfdump_cols : fmt == IMPORT_ZEEK ? zeek_cols : binetflow_cols;
}

static enum import_field lookup_col(enum import_format fmt, const char *name)
{
    for (const struct colname *c = cols_of(fmt); c->name; c++)
        if (!strcmp(c->name, name))
            return c->f;
    return IF_COUNT;
}

static int set_header(struct import_ctx *c, char **names, int n)
{
    for (int i = 0; i < IF_COUNT; i++)
        c->col[i] = -1;
    for (int i = 0; i < n; i++) {
        enum import_field f = lookup_col(c->fmt, names[i]);
        if (f != IF_COUNT && c->col[f] < 0)
            c->col[f] = i;
    }
    c->ncols = n;
    c->have_header = 1;
    if (c->col[IF_TS] < 0 || c->col[IF_SA] < 0 || c->col[IF_DA] < 0)
        return BS_EPARSE;
    return 0;
}

static int set_default_header(struct import_ctx *c, const char *const *names)
{
    char *v[IMPORT_MAX_COLS];
    int n = 0;
    while (names[n] && n < IMPORT_MAX_COLS) {
        v[n] = (char *)(uintptr_t)names[n]; /* read only by set_header */
        n++;
    }
    return set_header(c, v, n);
}

/* Times: "YYYY-MM-DD HH:MM:SS[.frac]", "YYYY/MM/DD HH:MM:SS[.frac]", ISO with T and Z, or
 * epoch seconds with a fraction. */
static int parse_time(const char *s, uint64_t *ms)
{
    char buf[64];
    size_t n = strlen(s);
    if (!n || n >= sizeof buf)
        return BS_EPARSE;
    memcpy(buf, s, n + 1);
    if (buf[n - 1] == 'Z')
        buf[--n] = '\0';
    if (n > 4 && (buf[4] == '-' || buf[4] == '/')) {
        char *colon = strrchr(buf, ':');
        char *dot = colon ? strchr(colon, '.') : NULL;
        uint64_t frac = 0;
        if (dot) {
            *dot = '\0';
            const char *d = dot + 1;
            unsigned digits = 0;
            while (isdigit((unsigned char)*d) && digits < 3) {
                frac = frac * 10 + (uint64_t)(*d - '0');
                d++;
                digits++;
            }
            while (digits++ < 3)
                frac *= 10;
        }
        if (clock_parse_utc(buf, ms))
            return BS_EPARSE;
        *ms += frac;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (errno || end == buf || *end || !(v >= 0) || v > 1e13)
        return BS_EPARSE;
    *ms = (uint64_t)llround(v * 1000.0);
    return 0;
}

static int parse_u64(const char *s, uint64_t *v)
{
    if (!*s || !strcmp(s, "-") || !strcmp(s, "(empty)")) {
        *v = 0;
        return 0;
    }
    char *end;
    errno = 0;
    int base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16;
    unsigned long long x = strtoull(s, &end, base);
    if (errno || end == s || *end || s[0] == '-')
        return BS_EPARSE;
    *v = x;
    return 0;
}

static int parse_secs_ms(const char *s, uint64_t *ms)
{
    if (!*s || !strcmp(s, "-")) {
        *ms = 0;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > 1e10)
        return BS_EPARSE;
    *ms = (uint64_t)llround(v * 1000.0);
    return 0;
}

static int parse_proto(const char *s, uint8_t *p)
{
    uint64_t v;
    if (isdigit((unsigned char)s[0])) {
        if (parse_u64(s, &v) || v > 255)
            return BS_EPARSE;
        *p = (uint8_t)v;
        return 0;
    }
    for (size_t i = 0; i < sizeof proto_tab / sizeof proto_tab[0]; i++)
        if (!strcasecmp(s, proto_tab[i].name)) {
            *p = proto_tab[i].num;
            return 0;
        }
    return BS_EPARSE;
}

/* A port, or nfdump's ICMP "type.code". Sets *icmp when the dotted form was used. */
static int parse_port(const char *s, uint16_t *port, int *icmp)
{
    const char *dot = strchr(s, '.');
    uint64_t a, b;
    if (dot) {
        char t[16];
        size_t l = (size_t)(dot - s);
        if (l >= sizeof t)
            return BS_EPARSE;
        memcpy(t, s, l);
        t[l] = '\0';
        if (parse_u64(t, &a) || parse_u64(dot + 1, &b) || a > 255 || b > 255)
            return BS_EPARSE;
        *port = (uint16_t)(a << 8 | b);
        *icmp = 1;
        return 0;
    }
    if (parse_u64(s, &a) || a > 0xffff)
        return BS_EPARSE;
    *port = (uint16_t)a;
    return 0;
}

static uint8_t parse_flags(const char *s)
{
    uint8_t f = 0;
    for (; *s; s++) {
        switch (toupper((unsigned char)*s)) {
        case 'F':
            f |= 0x01;
            break;
        case 'S':
            f |= 0x02;
            break;
        case 'R':
            f |= 0x04;
            break;
        case 'P':
            f |= 0x08;
            break;
        case 'A':
            f |= 0x10;
            break;
        case 'U':
            f |= 0x20;
            break;
        case 'E':
            f |= 0x40;
            break;
        case 'C':
            f |= 0x80;
            break;
        }
    }
    return f;
}

static const char *fld(char **v, const struct import_ctx *c, enum import_field f)
{
    int i = c->col[f];
    return i >= 0 && i < c->ncols && v[i] ? v[i] : NULL;
}

/* Parses the optional numeric column f into *x; *have says whether it had a value. */
static int opt_num(struct import_ctx *c, char **v, enum import_field f, uint64_t *x, int *have)
{
    const char *s = fld(v, c, f);
    *x = 0;
    *have = s && *s && strcmp(s, "-");
    if (*have && parse_u64(s, x))
        return bad(c, "bad number", s);
    return 0;
}

/* The other direction of r: addresses and ports swapped (ICMP keeps its type/code). */
static void reverse_of(const struct flow_rec *r, struct flow_rec *rev)
{
    *rev = *r;
    rev->src = r->dst;
    rev->dst = r->src;
    if (r->proto == 1 || r->proto == 58) {
        rev->src_port = 0;
        rev->dst_port = r->dst_port;
    } else {
        rev->src_port = r->dst_port;
        rev->dst_port = r->src_port;
    }
}

/* One record per direction that sent packets, the originator's first; when neither sent any
 * (Zeek's bad-checksum-only connections) the originator's record with zero counts, so the
 * connection is still counted. */
static int place(const struct flow_rec *orig, const struct flow_rec *resp, struct flow_rec *out0,
                 struct flow_rec *out1, int *nrev)
{
    struct flow_rec o = *orig, r = *resp;
    *nrev = 0;
    if (!o.packets && r.packets) {
        *out0 = r;
        return 0;
    }
    *out0 = o;
    if (r.packets) {
        *out1 = r;
        *nrev = 1;
    }
    return 0;
}

/* Zeek: r holds orig->resp with orig_pkts/orig_ip_bytes; adds resp->orig and the flags. */
static int zeek_split(struct import_ctx *c, char **v, struct flow_rec *r, struct flow_rec *rev,
                      int *nrev)
{
    uint64_t opay, rpay, rpk, rby;
    int have, have_ipb, rc;
    if ((rc = opt_num(c, v, IF_ORIG_BYTES, &opay, &have)) ||
        (rc = opt_num(c, v, IF_RESP_BYTES, &rpay, &have)) ||
        (rc = opt_num(c, v, IF_OPKT, &rpk, &have)) ||
        (rc = opt_num(c, v, IF_OBYT, &rby, &have_ipb)))
        return rc;
    /* IP byte counts when the log has them, else the payload counts. */
    if (!fld(v, c, IF_IBYT))
        r->bytes = opay;
    if (!fld(v, c, IF_OBYT))
        rby = rpay;
    uint8_t fo = 0, fr = 0;
    const char *hist = fld(v, c, IF_HISTORY);
    if (r->proto == 6 && import_zeek_flags(fld(v, c, IF_STATE), hist, opay, rpay, &fo, &fr))
        return bad(c, "bad history", hist);
    struct flow_rec b;
    reverse_of(r, &b);
    b.packets = rpk;
    b.bytes = rby;
    b.tcp_flags = fr;
    r->tcp_flags = fo;
    return place(r, &b, r, rev, nrev);
}

/* Argus: r holds SrcAddr->DstAddr with the totals. With SrcBytes (or the Src/Dst packet and
 * byte columns) it becomes one record per side; packets per side, when the file does not
 * have them, are TotPkts shared in proportion to the bytes, at least one for a side with
 * bytes (an estimate: CTU-13 files carry no per-side packet counts). Counters stay with the
 * Argus side they belong to; Dir "<-" (Argus thinks DstAddr began) only makes the DstAddr
 * side's record the first. */
static int argus_split(struct import_ctx *c, char **v, struct flow_rec *r, struct flow_rec *rev,
                       int *nrev)
{
    uint8_t fs = 0, fd = 0;
    const char *st = fld(v, c, IF_STATE), *s;
    if (r->proto == 6 && import_argus_flags(st, &fs, &fd))
        return bad(c, "bad TCP state", st);
    int back = (s = fld(v, c, IF_DIR)) && strstr(s, "<-") && !strstr(s, "<->");
    uint64_t tp = r->packets, tb = r->bytes, sb, db, sp, dp;
    int hsb, hdb, hsp, hdp, rc;
    if ((rc = opt_num(c, v, IF_ORIG_BYTES, &sb, &hsb)) ||
        (rc = opt_num(c, v, IF_OBYT, &db, &hdb)) || (rc = opt_num(c, v, IF_SPKT, &sp, &hsp)) ||
        (rc = opt_num(c, v, IF_OPKT, &dp, &hdp)))
        return rc;
    if (!hsb && !hdb) {
        /* No way to split: one record with both sides' totals and flags. */
        r->tcp_flags = fs | fd;
        if (back) {
            struct flow_rec t;
            reverse_of(r, &t);
            *r = t;
        }
        return 0;
    }
    if (!hdb) {
        if (sb > tb)
            return bad(c, "SrcBytes above TotBytes", fld(v, c, IF_ORIG_BYTES));
        db = tb - sb;
    } else if (!hsb) {
        if (db > tb)
            return bad(c, "DstBytes above TotBytes", fld(v, c, IF_OBYT));
        sb = tb - db;
    }
    if (hsp && !hdp) {
        if (sp > tp)
            return bad(c, "SrcPkts above TotPkts", fld(v, c, IF_SPKT));
        dp = tp - sp;
    } else if (hdp && !hsp) {
        if (dp > tp)
            return bad(c, "DstPkts above TotPkts", fld(v, c, IF_OPKT));
        sp = tp - dp;
    } else if (!hsp && !hdp) {
        if (!db) {
            sp = tp;
            dp = 0;
        } else if (!sb) {
            sp = 0;
            dp = tp;
        } else if (tp < 2) {
            /* Bytes on both sides but one packet: cannot be split, keep it whole. */
            sp = tp;
            sb += db;
            dp = db = 0;
        } else {
            dp = (uint64_t)llround((double)tp * (double)db / (double)(sb + db));
            dp = dp < 1 ? 1 : dp > tp - 1 ? tp - 1 : dp;
            sp = tp - dp;
        }
    }
    struct flow_rec b;
    reverse_of(r, &b);
    r->packets = sp;
    r->bytes = sb;
    r->tcp_flags = fs;
    b.packets = dp;
    b.bytes = db;
    b.tcp_flags = fd;
    if (back) {
        struct flow_rec a = *r;
        return place(&b, &a, r, rev, nrev);
    }
    return place(r, &b, r, rev, nrev);
}

/* Fills r from the field values v (indexed by column). Returns 0 or BS_EPARSE. */
static int build(struct import_ctx *c, char **v, struct flow_rec *r, struct flow_rec *rev,
                 int *nrev)
{
    const char *s;
    uint64_t x;
    memset(r, 0, sizeof *r);
    *nrev = 0;
    r->sampling_rate = 1;
    ipaddr_from_v4(&r->exporter, 0);
    ipaddr_from_v4(&r->nexthop, 0);
    if (!(s = fld(v, c, IF_TS)) || parse_time(s, &r->start_ms))
        return bad(c, "bad start time", s);
    r->end_ms = r->start_ms;
    r->has |= FLOW_HAS_TIMES;
    if ((s = fld(v, c, IF_TE)) && *s) {
        if (parse_time(s, &r->end_ms))
            return bad(c, "bad end time", s);
    } else if ((s = fld(v, c, IF_TD))) {
        if (parse_secs_ms(s, &x))
            return bad(c, "bad duration", s);
        r->end_ms = r->start_ms + x;
    }
    if (!(s = fld(v, c, IF_SA)) || ipaddr_parse(s, &r->src))
        return bad(c, "bad source address", s);
    if (!(s = fld(v, c, IF_DA)) || ipaddr_parse(s, &r->dst))
        return bad(c, "bad destination address", s);
    if ((s = fld(v, c, IF_PR)) && parse_proto(s, &r->proto))
        return bad(c, "bad protocol", s);
    int icmp = 0;
    uint16_t sp = 0, dp = 0;
    if ((s = fld(v, c, IF_SP)) && *s && parse_port(s, &sp, &icmp))
        return bad(c, "bad source port", s);
    if ((s = fld(v, c, IF_DP)) && *s && parse_port(s, &dp, &icmp))
        return bad(c, "bad destination port", s);
    if ((r->proto == 1 || r->proto == 58) && !icmp && c->fmt != IMPORT_NFDUMP_CSV) {
        /* Zeek and Argus put the ICMP type in the source port and the code in the dest. */
        dp = (uint16_t)((sp & 0xff) << 8 | (dp & 0xff));
        sp = 0;
    }
    r->src_port = sp;
    r->dst_port = dp;
    if ((s = fld(v, c, IF_FLG)))
        r->tcp_flags = parse_flags(s);
    static const struct {
        enum import_field f;
        int what;
    } nums[] = {{IF_STOS, 0}, {IF_IPKT, 1}, {IF_IBYT, 2}, {IF_IN, 3},  {IF_OUT, 4},
                {IF_SAS, 5},  {IF_DAS, 6},  {IF_SMK, 7},  {IF_DMK, 8}, {IF_SVLN, 9}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (!(s = fld(v, c, nums[i].f)))
            continue;
        if (parse_u64(s, &x))
            return bad(c, "bad number", s);
        switch (nums[i].what) {
        case 0:
            r->tos = (uint8_t)x;
            r->has |= FLOW_HAS_TOS;
            break;
        case 1:
            r->packets = x;
            break;
        case 2:
            r->bytes = x;
            break;
        case 3:
            r->in_if = (uint32_t)x;
            r->has |= FLOW_HAS_IFACES;
            break;
        case 4:
            r->out_if = (uint32_t)x;
            r->has |= FLOW_HAS_IFACES;
            break;
        case 5:
            r->src_as = (uint32_t)x;
            r->has |= FLOW_HAS_SRC_AS;
            break;
        case 6:
            r->dst_as = (uint32_t)x;
            r->has |= FLOW_HAS_DST_AS;
            break;
        case 7:
            r->src_mask = (uint8_t)x;
            r->has |= FLOW_HAS_MASKS;
            break;
        case 8:
            r->dst_mask = (uint8_t)x;
            r->has |= FLOW_HAS_MASKS;
            break;
        case 9:
            r->vlan = (uint16_t)x;
            if (x)
                r->has |= FLOW_HAS_VLAN;
            break;
        }
    }
    if ((s = fld(v, c, IF_NH)) && *s && ipaddr_parse(s, &r->nexthop))
        return bad(c, "bad next hop", s);
    if ((s = fld(v, c, IF_RA)) && *s && ipaddr_parse(s, &r->exporter))
        return bad(c, "bad exporter address", s);
    if (c->fmt == IMPORT_ZEEK)
        return zeek_split(c, v, r, rev, nrev);
    if (c->fmt == IMPORT_BINETFLOW)
        return argus_split(c, v, r, rev, nrev);
    return 0;
}

/* Minimal flat JSON object scanner for Zeek's JSON logs: fills v[] by column of zeek_cols
 * (strings unescaped in place for the simple escapes; nested values skipped). */
static int json_fields(struct import_ctx *c, char *p, char **v)
{
    for (int i = 0; i < IF_COUNT; i++)
        v[i] = NULL;
    while (isspace((unsigned char)*p))
        p++;
    if (*p != '{')
        return bad(c, "not a JSON object", NULL);
    p++;
    for (;;) {
        while (isspace((unsigned char)*p) || *p == ',')
            p++;
        if (*p == '}')
            return 0;
        if (*p != '"') /* (not *p++: at the end, p would pass the terminator) */
            return bad(c, *p ? "bad JSON key" : "unterminated JSON object", *p ? p : NULL);
        p++;
        char *key = p;
        while (*p && *p != '"')
            p++;
        if (!*p)
            return bad(c, "unterminated JSON key", key);
        *p++ = '\0';
        while (isspace((unsigned char)*p))
            p++;
        if (*p != ':')
            return bad(c, "bad JSON", key);
        p++;
        while (isspace((unsigned char)*p))
            p++;
        char *val = p;
        if (*p == '"') {
            val = ++p;
            char *w = p;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                *w++ = *p++;
            }
            if (!*p)
                return bad(c, "unterminated JSON string", val);
            *w = '\0';
            p++;
        } else if (*p == '[' || *p == '{') {
            int depth = 0, instr = 0;
            for (; *p; p++) {
                if (instr) {
                    if (*p == '\\' && p[1])
                        p++;
                    else if (*p == '"')
                        instr = 0;
                    continue;
                }
                if (*p == '"')
                    instr = 1;
                else if (*p == '[' || *p == '{')
                    depth++;
                else if ((*p == ']' || *p == '}') && --depth == 0) {
                    p++;
                    break;
                }
            }
            val = NULL;
        } else {
            while (*p && *p != ',' && *p != '}' && !isspace((unsigned char)*p))
                p++;
            char end = *p;
            *p = '\0';
            if (end == '}') {
                enum import_field f = lookup_col(IMPORT_ZEEK, key);
                if (f != IF_COUNT)
                    v[f] = val;
                return 0;
            }
            if (end)
                p++;
        }
        enum import_field f = lookup_col(IMPORT_ZEEK, key);
        if (f != IF_COUNT && val)
            v[f] = val;
        if (!*p)
            return bad(c, "unterminated JSON object", NULL);
    }
}

int import_line(struct import_ctx *c, char *line, struct flow_rec out[2])
{
    c->err[0] = '\0';
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\r' || line[n - 1] == '\n'))
        line[--n] = '\0';
    /* A UTF-8 byte order mark (editors on Windows write one) is not part of the first field. */
    if (!strncmp(line, "\xef\xbb\xbf", 3))
        line += 3;
    char *p = text_trim(line);
    if (!*p || c->done)
        return 0;
    char *v[IMPORT_MAX_COLS];
    int nrev = 0, rc;
    if (c->fmt == IMPORT_ZEEK) {
        if (*p == '#') {
            if (!strncmp(p, "#fields", 7)) {
                int k = split(p, '\t', v, IMPORT_MAX_COLS);
                if (k < 2 || set_header(c, v + 1, k - 1))
                    return bad(c, "bad #fields header", NULL);
                c->sep = '\t';
            }
            return 0;
        }
        if (*p == '{') {
            char *jv[IF_COUNT];
            if ((rc = json_fields(c, p, jv)))
                return rc;
            /* Map the fields as columns 0..IF_COUNT-1. */
            struct import_ctx jc = *c;
            for (int i = 0; i < IF_COUNT; i++)
                jc.col[i] = i;
            jc.ncols = IF_COUNT;
            rc = build(&jc, jv, &out[0], &out[1], &nrev);
            if (rc)
                memcpy(c->err, jc.err, sizeof c->err);
            return rc ? rc : 1 + nrev;
        }
        if (!strncmp(p, "ts,", 3)) {
            /* The conn.log columns as CSV (IoT-23): a header line, then one row a line. */
            int k = split(p, ',', v, IMPORT_MAX_COLS);
            if (k < 0 || set_header(c, v, k))
                return bad(c, "bad CSV header", NULL);
            c->sep = ',';
            return 0;
        }
        if (!c->have_header)
            return bad(c, "Zeek line before the #fields or CSV header", p);
        int k = split(p, c->sep, v, IMPORT_MAX_COLS);
        if (k != c->ncols)
            return bad(c, "wrong number of fields", NULL);
        rc = build(c, v, &out[0], &out[1], &nrev);
        return rc ? rc : 1 + nrev;
    }
    if (c->fmt == IMPORT_NFDUMP_CSV) {
        /* nfdump's trailer: "Summary", its own header and totals, then free text. */
        if (!strcmp(p, "Summary")) {
            c->done = 1;
            return 0;
        }
        if (!strncmp(p, "No matching flows", 17))
            return 0;
    }
    char first[32];
    snprintf(first, sizeof first, "%s", p);
    char *comma = strchr(first, ',');
    if (comma)
        *comma = '\0';
    if (lookup_col(c->fmt, text_trim(first)) == IF_TS) {
        int k = split(p, ',', v, IMPORT_MAX_COLS);
        if (k < 0 || set_header(c, v, k))
            return bad(c, "header lacks a time or address column", NULL);
        return 0;
    }
    if (!c->have_header)
        set_default_header(c, c->fmt == IMPORT_NFDUMP_CSV ? nfdump_default : binetflow_default);
    int k = split(p, ',', v, IMPORT_MAX_COLS);
    if (k < 0 || (c->fmt == IMPORT_NFDUMP_CSV ? k != c->ncols : k < c->ncols - 1))
        return bad(c, "wrong number of fields", NULL);
    for (int i = k; i < c->ncols; i++)
        v[i] = NULL;
    rc = build(c, v, &out[0], &out[1], &nrev);
    return rc ? rc : 1 + nrev;
}
