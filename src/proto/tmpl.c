/* tmpl.c - template compilation and the data/options record executor (see tmpl.h). */
#include "proto/tmpl.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/rd.h"
#include "proto/flowdec.h"

/* Per-record working area: the record being built plus values that need a final step. */
struct tmpl_scratch {
    struct flow_rec r;
    uint32_t up_start, up_end;
    uint8_t has_up_start, has_up_end;
    uint8_t has_icmp_tc;
    uint8_t icmp_type, icmp_code;
    uint16_t icmp_tc;
    uint64_t sysinit_ms;
    struct tmpl_samp samp;
};

static bool has_ie(const struct tmpl_field *f, unsigned n, uint16_t id)
{
    for (unsigned i = 0; i < n; i++)
        if (f[i].pen == 0 && f[i].id == id)
            return true;
    return false;
}

/* Maps one IANA element to an op kind; TOP_SKIP for anything not used (or with a length the
 * element cannot have). all/n is the whole template, for precedence between elements. */
static unsigned map_ie(const struct tmpl_field *fld, const struct tmpl_field *all, unsigned n)
{
    uint16_t len = fld->len;
    if (fld->pen != 0 || len == TMPL_VARLEN || len == 0)
        return TOP_SKIP; /* enterprise (incl. RFC 5103 reverse), v9 scope, varlen: skipped */
    bool intlen = len <= 8;
    unsigned k = TOP_SKIP;
    switch (fld->id) {
    case 1:
        k = TOP_BYTES;
        break;
    case 2:
        k = TOP_PKTS;
        break;
    case 85:
        k = has_ie(all, n, 1) ? TOP_SKIP : TOP_BYTES;
        break; /* total only without delta */
    case 86:
        k = has_ie(all, n, 2) ? TOP_SKIP : TOP_PKTS;
        break;
    case 4:
        k = TOP_PROTO;
        break;
    case 5:
        k = TOP_TOS;
        break;
    case 6:
        k = TOP_FLAGS;
        break;
    case 7:
        k = TOP_SPORT;
        break;
    case 11:
        k = TOP_DPORT;
        break;
    case 8:
        return len == 4 ? TOP_SRC4 : TOP_SKIP;
    case 12:
        return len == 4 ? TOP_DST4 : TOP_SKIP;
    case 27:
        return len == 16 ? TOP_SRC6 : TOP_SKIP;
    case 28:
        return len == 16 ? TOP_DST6 : TOP_SKIP;
    case 15:
        return len == 4 ? TOP_NH4 : TOP_SKIP;
    case 62:
        return len == 16 ? TOP_NH6 : TOP_SKIP;
    case 9:
    case 29:
        k = TOP_SMASK;
        break;
    case 13:
    case 30:
        k = TOP_DMASK;
        break;
    case 10:
        k = TOP_INIF;
        break;
    case 14:
        k = TOP_OUTIF;
        break;
    case 252:
        k = has_ie(all, n, 10) ? TOP_SKIP : TOP_INIF;
        break;
    case 253:
        k = has_ie(all, n, 14) ? TOP_SKIP : TOP_OUTIF;
        break;
    case 16:
        k = TOP_SAS;
        break;
    case 17:
        k = TOP_DAS;
        break;
    case 21:
        k = TOP_UP_END;
        break;
    case 22:
        k = TOP_UP_START;
        break;
    case 150:
        k = TOP_START_S;
        break;
    case 151:
        k = TOP_END_S;
        break;
    case 152:
        k = TOP_START_MS;
        break;
    case 153:
        k = TOP_END_MS;
        break;
    case 154:
    case 156:
        return len == 8 ? TOP_START_NTP : TOP_SKIP;
    case 155:
    case 157:
        return len == 8 ? TOP_END_NTP : TOP_SKIP;
    case 158:
        k = TOP_START_DUS;
        break;
    case 159:
        k = TOP_END_DUS;
        break;
    case 32:
    case 139:
        k = TOP_ICMP_TC;
        break;
    case 176:
    case 178:
        k = TOP_ICMP_TYPE;
        break;
    case 177:
    case 179:
        k = TOP_ICMP_CODE;
        break;
    case 58:
    case 243:
        k = TOP_VLAN;
        break;
    case 59:
    case 245:
        k = (has_ie(all, n, 58) || has_ie(all, n, 243)) ? TOP_SKIP : TOP_VLAN;
        break;
    case 61:
        k = TOP_DIR;
        break;
    case 160:
        k = TOP_SYSINIT;
        break;
    case 34:
        k = TOP_SAMP_INTERVAL;
        break;
    case 35:
        k = TOP_SAMP_ALGO;
        break;
    case 48:
    case 302:
        k = TOP_SAMPLER_ID;
        break;
    case 49:
        k = TOP_SAMP_MODE;
        break;
    case 50:
        k = TOP_SAMP_RANDOM;
        break;
    case 305:
        k = TOP_SAMP_PINTERVAL;
        break;
    case 306:
        k = TOP_SAMP_PSPACE;
        break;
    case 309:
        k = TOP_SAMP_SIZE;
        break;
    case 310:
        k = TOP_SAMP_POP;
        break;
    default:
        return TOP_SKIP; /* NAT 225-228 (pre-NAT kept), VRF 234/235, out 23/24, ... */
    }
    return intlen ? k : TOP_SKIP;
}

static uint16_t has_bits(unsigned kind)
{
    switch (kind) {
    case TOP_SAS:
        return FLOW_HAS_SRC_AS;
    case TOP_DAS:
        return FLOW_HAS_DST_AS;
    case TOP_NH4:
    case TOP_NH6:
        return FLOW_HAS_NEXTHOP;
    case TOP_VLAN:
        return FLOW_HAS_VLAN;
    case TOP_INIF:
    case TOP_OUTIF:
        return FLOW_HAS_IFACES;
    case TOP_SMASK:
    case TOP_DMASK:
        return FLOW_HAS_MASKS;
    case TOP_TOS:
        return FLOW_HAS_TOS;
    case TOP_UP_END:
    case TOP_UP_START:
    case TOP_START_S:
    case TOP_END_S:
    case TOP_START_MS:
    case TOP_END_MS:
    case TOP_START_NTP:
    case TOP_END_NTP:
    case TOP_START_DUS:
    case TOP_END_DUS:
        return FLOW_HAS_TIMES;
    default:
        return 0;
    }
}

static uint16_t flag_bits(unsigned kind)
{
    switch (kind) {
    case TOP_UP_END:
    case TOP_UP_START:
        return TMPL_F_UPTIME;
    case TOP_ICMP_TC:
    case TOP_ICMP_TYPE:
    case TOP_ICMP_CODE:
        return TMPL_F_ICMP;
    case TOP_SYSINIT:
        return TMPL_F_SYSINIT;
    case TOP_SAMP_INTERVAL:
    case TOP_SAMPLER_ID:
    case TOP_SAMP_RANDOM:
    case TOP_SAMP_PINTERVAL:
    case TOP_SAMP_PSPACE:
    case TOP_SAMP_SIZE:
    case TOP_SAMP_POP:
        return TMPL_F_SAMPLING;
    default:
        return 0;
    }
}

int tmpl_compile(struct tmpl *t, unsigned version, uint32_t domain, uint16_t id, bool options,
                 const struct tmpl_field *fields, unsigned n, unsigned scope_n)
{
    memset(t, 0, sizeof(*t));
    if (n == 0 || scope_n > n)
        return BS_EMALFORMED;
    if (n > FLOWDEC_MAX_FIELDS)
        return BS_ELIMIT;
    bool varlen = false;
    uint32_t total = 0;
    for (unsigned i = 0; i < n; i++) {
        if (fields[i].len == TMPL_VARLEN) {
            varlen = true;
            total += 1;
        } else {
            total += fields[i].len;
        }
    }
    if (total == 0 || total > 65535)
        return BS_EMALFORMED;

    t->fields = malloc(n * sizeof(*t->fields));
    t->ops = malloc(n * sizeof(*t->ops));
    if (!t->fields || !t->ops) {
        tmpl_release(t);
        return BS_ENOMEM;
    }
    memcpy(t->fields, fields, n * sizeof(*fields));
    t->domain = domain;
    t->id = id;
    t->version = (uint8_t)version;
    t->options = options ? 1 : 0;
    t->nfields = (uint16_t)n;
    t->scope_n = (uint16_t)scope_n;
    t->min_len = total;
    t->flags = varlen ? TMPL_F_VARLEN : 0;

    unsigned nops = 0;
    uint32_t off = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned kind = map_ie(&fields[i], fields, n);
        uint16_t len = fields[i].len;
        t->has |= has_bits(kind);
        t->flags |= flag_bits(kind);
        if (varlen) {
            /* Sequential walk: one op per field, unmapped fixed runs merged. */
            if (kind == TOP_SKIP && len != TMPL_VARLEN && nops > 0 &&
                t->ops[nops - 1].kind == TOP_SKIP && t->ops[nops - 1].len != TMPL_VARLEN &&
                (uint32_t)t->ops[nops - 1].len + len < TMPL_VARLEN) {
                t->ops[nops - 1].len = (uint16_t)(t->ops[nops - 1].len + len);
                continue;
            }
            t->ops[nops++] = (struct tmpl_op){.off = 0, .len = len, .kind = (uint8_t)kind};
        } else {
            if (kind != TOP_SKIP)
                t->ops[nops++] =
                    (struct tmpl_op){.off = (uint16_t)off, .len = len, .kind = (uint8_t)kind};
            off += len;
        }
    }
    t->nops = (uint16_t)nops;
    return 0;
}

void tmpl_release(struct tmpl *t)
{
    free(t->fields);
    free(t->ops);
    t->fields = NULL;
    t->ops = NULL;
    t->nfields = t->nops = 0;
}

uint32_t tmpl_samp_rate(const struct tmpl_samp *s)
{
    uint64_t r = 0;
    if (s->interval)
        r = s->interval;
    else if (s->random)
        r = s->random;
    else if (s->pinterval)
        r = (s->pinterval + s->pspace) / s->pinterval;
    else if (s->size && s->population)
        r = (s->population + s->size / 2) / s->size;
    if (r > UINT32_MAX)
        r = UINT32_MAX;
    return (uint32_t)r;
}

/* Unsigned big-endian value of 1..8 bytes (reduced-size encoding); the length was checked at
 * compile time. */
static inline bool bytes_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static inline __attribute__((always_inline)) uint64_t get_uint(const uint8_t *p, unsigned len)
{
    switch (len) {
    case 1:
        return p[0];
    case 2:
        return be16(p);
    case 4:
        return be32(p);
    case 8:
        return be64(p);
    default: {
        uint64_t v = 0;
        for (unsigned i = 0; i < len; i++)
            v = v << 8 | p[i];
        return v;
    }
    }
}

/* Forced inline: this switch is the per-field hot path (see bench/decode_bench.c). */
static inline __attribute__((always_inline)) void apply_op(struct tmpl_scratch *s, unsigned kind,
                                                           const uint8_t *f, unsigned len,
                                                           const struct tmpl_env *env)
{
    struct flow_rec *r = &s->r;
    switch (kind) {
    case TOP_SKIP:
        break;
    case TOP_BYTES:
        r->bytes = get_uint(f, len);
        break;
    case TOP_PKTS:
        r->packets = get_uint(f, len);
        break;
    case TOP_PROTO:
        r->proto = (uint8_t)get_uint(f, len);
        break;
    case TOP_TOS:
        r->tos = (uint8_t)get_uint(f, len);
        break;
    case TOP_FLAGS:
        r->tcp_flags = (uint8_t)get_uint(f, len);
        break;
    case TOP_SPORT:
        r->src_port = (uint16_t)get_uint(f, len);
        break;
    case TOP_DPORT:
        r->dst_port = (uint16_t)get_uint(f, len);
        break;
    /* Some exporters (Procera, Juniper physical-interface templates) send both the IPv4 and
     * the IPv6 address fields and fill only one family, leaving the other zero. An all-zero
     * field therefore never replaces an address another field already set. */
    case TOP_SRC4:
        if (be32(f) || ipaddr_is_zero(&r->src))
            ipaddr_from_v4(&r->src, be32(f));
        break;
    case TOP_DST4:
        if (be32(f) || ipaddr_is_zero(&r->dst))
            ipaddr_from_v4(&r->dst, be32(f));
        break;
    case TOP_SRC6:
        if (!bytes_zero(f, 16))
            memcpy(r->src.b, f, 16);
        break;
    case TOP_DST6:
        if (!bytes_zero(f, 16))
            memcpy(r->dst.b, f, 16);
        break;
    case TOP_SMASK:
        r->src_mask = (uint8_t)get_uint(f, len);
        break;
    case TOP_DMASK:
        r->dst_mask = (uint8_t)get_uint(f, len);
        break;
    case TOP_INIF:
        r->in_if = (uint32_t)get_uint(f, len);
        break;
    case TOP_OUTIF:
        r->out_if = (uint32_t)get_uint(f, len);
        break;
    case TOP_NH4:
        ipaddr_from_v4(&r->nexthop, be32(f));
        break;
    case TOP_NH6:
        memcpy(r->nexthop.b, f, 16);
        break;
    case TOP_SAS:
        r->src_as = (uint32_t)get_uint(f, len);
        break;
    case TOP_DAS:
        r->dst_as = (uint32_t)get_uint(f, len);
        break;
    case TOP_UP_END:
        s->up_end = (uint32_t)get_uint(f, len);
        s->has_up_end = 1;
        break;
    case TOP_UP_START:
        s->up_start = (uint32_t)get_uint(f, len);
        s->has_up_start = 1;
        break;
    case TOP_START_S:
        r->start_ms = get_uint(f, len) * 1000u;
        break;
    case TOP_END_S:
        r->end_ms = get_uint(f, len) * 1000u;
        break;
    case TOP_START_MS:
        r->start_ms = get_uint(f, len);
        break;
    case TOP_END_MS:
        r->end_ms = get_uint(f, len);
        break;
    case TOP_START_NTP:
        r->start_ms = tmpl_ntp_to_ms(be64(f));
        break;
    case TOP_END_NTP:
        r->end_ms = tmpl_ntp_to_ms(be64(f));
        break;
    case TOP_START_DUS: {
        uint64_t back = get_uint(f, len) / 1000u;
        r->start_ms = back < env->export_ms ? env->export_ms - back : 0;
        break;
    }
    case TOP_END_DUS: {
        uint64_t back = get_uint(f, len) / 1000u;
        r->end_ms = back < env->export_ms ? env->export_ms - back : 0;
        break;
    }
    case TOP_ICMP_TC:
        s->icmp_tc = (uint16_t)get_uint(f, len);
        s->has_icmp_tc = 1;
        break;
    case TOP_ICMP_TYPE:
        s->icmp_type = (uint8_t)get_uint(f, len);
        break;
    case TOP_ICMP_CODE:
        s->icmp_code = (uint8_t)get_uint(f, len);
        break;
    case TOP_VLAN: {
        uint16_t v = (uint16_t)(get_uint(f, len) & 0x0fff);
        if (v)
            r->vlan = v;
        break;
    }
    case TOP_DIR:
        r->direction = get_uint(f, len) ? FLOW_DIR_EGRESS : FLOW_DIR_INGRESS;
        break;
    case TOP_SYSINIT:
        s->sysinit_ms = get_uint(f, len);
        break;
    case TOP_SAMP_INTERVAL:
        s->samp.interval = get_uint(f, len);
        break;
    case TOP_SAMP_ALGO:
        s->samp.algo = (uint8_t)get_uint(f, len);
        break;
    case TOP_SAMPLER_ID:
        s->samp.sampler_id = get_uint(f, len);
        s->samp.has_sampler_id = 1;
        break;
    case TOP_SAMP_MODE:
        s->samp.mode = (uint8_t)get_uint(f, len);
        break;
    case TOP_SAMP_RANDOM:
        s->samp.random = get_uint(f, len);
        break;
    case TOP_SAMP_PINTERVAL:
        s->samp.pinterval = get_uint(f, len);
        break;
    case TOP_SAMP_PSPACE:
        s->samp.pspace = get_uint(f, len);
        break;
    case TOP_SAMP_SIZE:
        s->samp.size = get_uint(f, len);
        break;
    case TOP_SAMP_POP:
        s->samp.population = get_uint(f, len);
        break;
    default:
        break;
    }
}

/* Runs t's ops over the record at p (at most avail bytes). Returns the record's length, or 0
 * when it does not fit (variable-length field past the end). */
static inline size_t run_record(const struct tmpl *t, const uint8_t *p, size_t avail,
                                struct tmpl_scratch *s, const struct tmpl_env *env)
{
    const struct tmpl_op *op = t->ops, *end = t->ops + t->nops;
    if (!(t->flags & TMPL_F_VARLEN)) {
        for (; op < end; op++)
            apply_op(s, op->kind, p + op->off, op->len, env);
        return t->min_len;
    }
    size_t off = 0;
    for (; op < end; op++) {
        size_t len = op->len;
        if (len == TMPL_VARLEN) {
            if (off >= avail)
                return 0;
            len = p[off++];
            if (len == 255) {
                if (avail - off < 2)
                    return 0;
                len = be16(p + off);
                off += 2;
            }
        }
        if (len > avail - off)
            return 0;
        if (op->kind != TOP_SKIP)
            apply_op(s, op->kind, p + off, (unsigned)len, env);
        off += len;
    }
    return off;
}

static inline void finish_record(const struct tmpl *t, struct tmpl_scratch *s,
                                 const struct tmpl_env *env)
{
    struct flow_rec *r = &s->r;
    unsigned fl = t->flags;
    if (fl & TMPL_F_UPTIME) {
        uint64_t boot = (fl & TMPL_F_SYSINIT) && s->sysinit_ms ? s->sysinit_ms : env->boot_ms;
        if (env->has_sysuptime) {
            if (s->has_up_start)
                r->start_ms = tmpl_uptime_to_ms(env->export_ms, env->sysuptime, s->up_start);
            if (s->has_up_end)
                r->end_ms = tmpl_uptime_to_ms(env->export_ms, env->sysuptime, s->up_end);
        } else if (boot) {
            if (s->has_up_start)
                r->start_ms = boot + s->up_start;
            if (s->has_up_end)
                r->end_ms = boot + s->up_end;
        }
    }
    if (!r->start_ms)
        r->start_ms = r->end_ms ? r->end_ms : env->export_ms;
    if (!r->end_ms)
        r->end_ms = r->start_ms;
    if (r->start_ms > r->end_ms)
        r->start_ms = r->end_ms;
    if ((fl & TMPL_F_ICMP) && (r->proto == 1 || r->proto == 58)) {
        r->dst_port = s->has_icmp_tc ? s->icmp_tc : (uint16_t)(s->icmp_type << 8 | s->icmp_code);
        r->src_port = 0;
    }
    if (fl & TMPL_F_SAMPLING) {
        uint32_t rate = tmpl_samp_rate(&s->samp);
        if (!rate && s->samp.has_sampler_id && env->sampler_rate)
            rate = env->sampler_rate(env->sampler_arg, s->samp.sampler_id);
        if (rate)
            r->sampling_rate = rate;
    }
}

int tmpl_decode_data(const struct tmpl *t, const uint8_t *p, size_t len, const struct tmpl_env *env,
                     const struct flow_sink *sink, uint32_t *nrec)
{
    struct tmpl_scratch s;
    uint32_t n = 0;
    int rc = 0;
    size_t off = 0;
    memset(&s, 0, sizeof(s));
    while (len - off >= t->min_len) {
        s.r = env->base;
        s.r.has = (uint16_t)(s.r.has | t->has);
        s.r.sampling_rate = env->default_rate;
        /* Reset only what this template's ops can set (finish_record reads no more). */
        if (t->flags & TMPL_F_UPTIME)
            s.has_up_start = s.has_up_end = 0;
        if (t->flags & TMPL_F_ICMP)
            s.has_icmp_tc = s.icmp_type = s.icmp_code = 0;
        if (t->flags & TMPL_F_SYSINIT)
            s.sysinit_ms = 0;
        if (t->flags & TMPL_F_SAMPLING)
            memset(&s.samp, 0, sizeof(s.samp));
        size_t used = run_record(t, p + off, len - off, &s, env);
        if (!used) {
            rc = BS_EMALFORMED;
            break;
        }
        off += used;
        finish_record(t, &s, env);
        sink->emit(sink->arg, &s.r);
        n++;
    }
    *nrec = n;
    return rc;
}

int tmpl_decode_options(const struct tmpl *t, const uint8_t *p, size_t len,
                        void (*fn)(void *arg, const struct tmpl_samp *s), void *arg, uint32_t *nrec)
{
    struct tmpl_scratch s;
    struct tmpl_env env;
    uint32_t n = 0;
    int rc = 0;
    size_t off = 0;
    memset(&env, 0, sizeof(env));
    while (len - off >= t->min_len) {
        memset(&s, 0, sizeof(s));
        size_t used = run_record(t, p + off, len - off, &s, &env);
        if (!used) {
            rc = BS_EMALFORMED;
            break;
        }
        off += used;
        if (t->flags & TMPL_F_SYSINIT) {
            s.samp.sysinit_ms = s.sysinit_ms;
            s.samp.has_sysinit = 1;
        }
        fn(arg, &s.samp);
        n++;
    }
    *nrec = n;
    return rc;
}
