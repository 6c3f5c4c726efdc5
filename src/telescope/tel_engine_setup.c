/* tel_engine_setup.c - building and freeing the telescope engine: option defaults, the
 * darknet prefixes and their fast IPv4 list, the bogon, research, ASN and geo tables, the
 * interval buckets (see tel_engine.h). */
#include "telescope/tel_engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "core/err.h"
#include "telescope/tel_mmdb.h"

const char *const tel_builtin_bogons[] = {
    "0.0.0.0/8",     "10.0.0.0/8",      "100.64.0.0/10",
    "127.0.0.0/8",   "169.254.0.0/16",  "172.16.0.0/12",
    "192.0.0.0/24",  "192.0.2.0/24",    "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4",   "240.0.0.0/4", /* 255.255.255.255 lies in 240/4 */
    "::/128",        "::1/128",         "100::/64",
    "2001:db8::/32", "3fff::/20",       "fc00::/7",
    "fe80::/10",     "ff00::/8",        NULL,
};

static const uint64_t rollup_len[TEL_LEVELS] = {0, 5ull * 60 * 1000, 60ull * 60 * 1000, DAY_MS};

void tel_opts_defaults(struct tel_opts *o)
{
    memset(o, 0, sizeof *o);
    o->interval_ms = 60000;
    o->fp_mask = TEL_FP_ALL;
    o->max_sources = 1000000;
    o->max_victims = 65536;
    o->victim.min_packets = 25;
    o->victim.min_duration_ms = 60000;
    o->victim.min_peak_ppm = 30;
    o->top_n = 20;
}

static char *dup_opt(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

static uint32_t v4_mask(unsigned len)
{
    return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

struct v4blk {
    uint64_t start, size;
};

static int v4blk_cmp(const void *pa, const void *pb)
{
    const struct v4blk *a = pa, *b = pb;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    return a->size > b->size ? -1 : a->size < b->size; /* enclosing block first */
}

/* IPv4 addresses covered by the darknet, nested or repeated prefixes counted once (prefixes
 * are nested or disjoint, so after sorting a block either lies in the last counted one or
 * starts past its end). */
static uint64_t darknet_v4_size(const struct tel_pmap_entry *d, size_t n)
{
    struct v4blk blk[TEL_MAX_DARKNET];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ipprefix *p = &d[i].pfx;
        if (!ipaddr_is_v4(&p->addr) || p->len < 96)
            continue;
        unsigned len = p->len - 96u;
        blk[k].start = ipaddr_v4(&p->addr) & v4_mask(len);
        blk[k].size = 1ull << (32 - len);
        k++;
    }
    qsort(blk, k, sizeof *blk, v4blk_cmp);
    uint64_t total = 0, end = 0;
    for (size_t i = 0; i < k; i++) {
        if (blk[i].start + blk[i].size <= end)
            continue;
        total += blk[i].size;
        end = blk[i].start + blk[i].size;
    }
    return total;
}

static int load_bogons(struct tel_engine *e, char *err, size_t errlen)
{
    if (e->bogons_path)
        return tel_pmap_load_prefixes(&e->bogons, e->bogons_path, err, errlen);
    struct tel_pmap_entry ent[32];
    size_t n = 0;
    for (const char *const *p = tel_builtin_bogons; *p && n < 32; p++, n++) {
        if (ipprefix_parse(*p, &ent[n].pfx))
            return BS_EPARSE;
        ent[n].val = 1;
    }
    return tel_pmap_build(&e->bogons, ent, n);
}

/* A bucket (~1.5 MB) on its own 2 MB-aligned block, marked for a transparent huge page: the
 * per-packet updates land at random ports in its 768 KB of port arrays, which on 4 KB pages
 * cost a TLB miss on most packets. The advice may be refused (it is only advice). Free with
 * free(). */
#define BUCKET_ALIGN ((size_t)2 << 20)
static struct tel_bucket *bucket_alloc(void)
{
    void *p = NULL;
    size_t size = (sizeof(struct tel_bucket) + BUCKET_ALIGN - 1) & ~(BUCKET_ALIGN - 1);
    if (posix_memalign(&p, BUCKET_ALIGN, size))
        return NULL;
    (void)madvise(p, size, MADV_HUGEPAGE);
    return p;
}

int tel_engine_new(const struct tel_opts *o, struct tel_engine **out, char *err, size_t errlen)
{
    *out = NULL;
    snprintf(err, errlen, "out of memory");
    if (!o->n_darknet || o->n_darknet > TEL_MAX_DARKNET) {
        snprintf(err, errlen, "the darknet needs 1 to %d prefixes", TEL_MAX_DARKNET);
        return BS_EUSAGE;
    }
    if (o->interval_ms < 1000 || o->interval_ms > DAY_MS || DAY_MS % o->interval_ms) {
        snprintf(err, errlen, "interval must be between 1 s and 1 day and divide a day");
        return BS_EUSAGE;
    }
    if (o->privacy && (!o->privacy_key || !*o->privacy_key)) {
        snprintf(err, errlen, "privacy mode needs a key (--privacy-key or telescope.privacy_key)");
        return BS_EUSAGE;
    }
    struct tel_engine *e = calloc(1, sizeof *e);
    if (!e)
        return BS_ENOMEM;
    int rc = BS_ENOMEM;
    e->o = *o;
    e->bogons_path = dup_opt(o->bogons_path);
    e->research_path = dup_opt(o->research_path);
    e->pfx2as_path = dup_opt(o->pfx2as_path);
    e->geo_path = dup_opt(o->geo_path);
    e->privacy_key = dup_opt(o->privacy_key);
    if ((o->bogons_path && *o->bogons_path && !e->bogons_path) ||
        (o->research_path && *o->research_path && !e->research_path) ||
        (o->pfx2as_path && *o->pfx2as_path && !e->pfx2as_path) ||
        (o->geo_path && *o->geo_path && !e->geo_path) ||
        (o->privacy_key && *o->privacy_key && !e->privacy_key))
        goto fail;
    e->o.bogons_path = e->bogons_path;
    e->o.research_path = e->research_path;
    e->o.pfx2as_path = e->pfx2as_path;
    e->o.geo_path = e->geo_path;
    e->o.privacy_key = e->privacy_key;
    e->o.darknet = NULL;
    e->n_darknet = o->n_darknet;
    for (size_t i = 0; i < o->n_darknet; i++)
        e->darknet_list[i] = o->darknet[i].pfx;
    if ((rc = tel_pmap_build(&e->darknet, o->darknet, o->n_darknet)))
        goto fail;
    /* Fast path: a short IPv4-only darknet is tested with masks, no search. */
    e->fast_only_v4 = o->n_darknet <= FAST_V4_MAX;
    for (size_t i = 0; i < o->n_darknet && e->fast_only_v4; i++) {
        const struct ipprefix *p = &o->darknet[i].pfx;
        if (!ipaddr_is_v4(&p->addr) || p->len < 96) {
            e->fast_only_v4 = false;
            break;
        }
        unsigned len = p->len - 96;
        e->fast_mask[e->n_fast] = v4_mask(len);
        e->fast_net[e->n_fast] = ipaddr_v4(&p->addr) & v4_mask(len);
        e->n_fast++;
    }
    e->darknet_v4_size = darknet_v4_size(o->darknet, o->n_darknet);
    if ((rc = load_bogons(e, err, errlen)))
        goto fail;
    if (e->research_path &&
        (rc = tel_pmap_load_prefixes(&e->research, e->research_path, err, errlen)))
        goto fail;
    if (e->pfx2as_path &&
        (rc = tel_mmdb_is_mmdb(e->pfx2as_path)
                  ? tel_mmdb_load(&e->asn, e->pfx2as_path, TEL_MMDB_ASN, err, errlen)
                  : tel_pmap_load_pfx2as(&e->asn, e->pfx2as_path, err, errlen)))
        goto fail;
    if (e->geo_path &&
        (rc = tel_mmdb_is_mmdb(e->geo_path)
                  ? tel_mmdb_load(&e->geo, e->geo_path, TEL_MMDB_COUNTRY, err, errlen)
                  : tel_pmap_load_geo_csv(&e->geo, e->geo_path, err, errlen)))
        goto fail;
    snprintf(err, errlen, "out of memory");
    uint64_t seed;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
        seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)e;
    if ((rc = tel_src_init(&e->src, o->max_sources, seed)))
        goto fail;
    if ((rc = tel_victim_init(&e->vic, o->max_victims, hash_mix64(seed))))
        goto fail;
    rc = BS_ENOMEM;
    for (int i = 0; i < TEL_LEVELS; i++) {
        uint64_t len = i == 0 ? o->interval_ms : rollup_len[i];
        e->lvl_on[i] = i == 0 || (len > o->interval_ms && len % o->interval_ms == 0);
        if (!e->lvl_on[i])
            continue;
        e->lvl[i] = bucket_alloc();
        if (!e->lvl[i])
            goto fail;
        tel_bucket_init(e->lvl[i], 0, len);
    }
    if (o->privacy)
        tel_keyhash_init(&e->kh, e->privacy_key);
    for (unsigned v = 0; v < 256; v++) {
        char t[8] = {0};
        int n = snprintf(t, sizeof t, "%u", v);
        memcpy(e->octet[v], t, 4); /* the digits, then the terminator */
        e->octet_len[v] = (uint8_t)n;
    }
    *err = '\0';
    *out = e;
    return 0;
fail:
    tel_engine_free(e);
    return rc;
}

void tel_engine_free(struct tel_engine *e)
{
    if (!e)
        return;
    for (int i = 0; i < TEL_LEVELS; i++)
        free(e->lvl[i]);
    tel_src_release(&e->src);
    tel_victim_release(&e->vic);
    tel_pmap_release(&e->darknet);
    tel_pmap_release(&e->bogons);
    tel_pmap_release(&e->research);
    tel_pmap_release(&e->asn);
    tel_pmap_release(&e->geo);
    free(e->bogons_path);
    free(e->research_path);
    free(e->pfx2as_path);
    free(e->geo_path);
    free(e->privacy_key);
    free(e);
}
