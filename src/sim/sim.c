/* sim.c - the traffic engine: parameters, the run's time slices, the active-flow heap and
 * pool, the address plan (the rest of the engine: sim_int.h). */
#include "sim/sim_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/hash.h"
#include "core/pktbuild.h"
#include "sim/sim_truth.h"

/* ---------------------------------------------------------------------------------------- */
/* Heap of active flows, ordered by (due time, insertion order): deterministic ties.        */

static int heap_less(const struct heap_item *a, const struct heap_item *b)
{
    return a->key < b->key || (a->key == b->key && a->ord < b->ord);
}

int sim__heap_push(struct sim *s, uint64_t key, uint32_t idx)
{
    int rc;
    if (!VEC_PUSH(&s->heap, struct heap_item, &rc))
        return rc;
    struct heap_item *h = s->heap.data;
    size_t i = s->heap.n - 1;
    struct heap_item it = {key, s->ord++, idx};
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!heap_less(&it, &h[parent]))
            break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = it;
    if (s->heap.n > s->st->peak_active_flows)
        s->st->peak_active_flows = s->heap.n;
    return 0;
}

struct heap_item sim__heap_pop(struct sim *s)
{
    struct heap_item *h = s->heap.data;
    struct heap_item top = h[0];
    struct heap_item last = h[--s->heap.n];
    size_t i = 0, n = s->heap.n;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct heap_item *best = &last;
        if (l < n && heap_less(&h[l], best)) {
            m = l;
            best = &h[l];
        }
        if (r < n && heap_less(&h[r], best))
            m = r;
        if (m == i)
            break;
        h[i] = h[m];
        i = m;
    }
    if (n)
        h[i] = last;
    return top;
}

int sim__pool_alloc(struct sim *s, uint32_t *idx)
{
    if (s->free_list.n) {
        *idx = *VEC_AT(&s->free_list, uint32_t, --s->free_list.n);
        return 0;
    }
    int rc;
    if (!VEC_PUSH(&s->pool, struct flow_ent, &rc))
        return rc;
    /* Every flow number may be free at once: the free list keeps room for all of them, so
     * pool_free never allocates. */
    if ((rc = vec_reserve(&s->free_list, s->pool.cap))) {
        s->pool.n--;
        return rc;
    }
    *idx = (uint32_t)(s->pool.n - 1);
    return 0;
}

void sim__pool_free(struct sim *s, uint32_t idx)
{
    *VEC_AT(&s->free_list, uint32_t, s->free_list.n++) = idx;
}

/* ---------------------------------------------------------------------------------------- */
/* Addresses, AS numbers and masks of the address plan.                                      */

void sim__addr_info(const struct sim_world *w, const struct ipaddr *a, uint32_t *as, uint8_t *mask)
{
    if (!ipaddr_is_v4(a)) {
        if (a->b[4] >= 1 && a->b[4] <= w->nisp) {
            *as = w->isp[a->b[4] - 1].asn;
            *mask = 40;
        } else {
            *as = 64510;
            *mask = 36;
        }
        return;
    }
    uint32_t v = ipaddr_v4(a);
    unsigned b = (v >> 16) & 0xff;
    if (b >= 16 && b / 16 - 1 < w->nisp) {
        *as = w->isp[b / 16 - 1].asn;
        *mask = 12;
    } else if (b == 0) {
        *as = 64510; /* CDN */
        *mask = 16;
    } else if (b <= 3) {
        *as = 64511; /* services, hosting, research networks */
        *mask = 16;
    } else {
        *as = 65536 + ((v >> 12) & 0xf); /* RFC 5398 32-bit documentation ASNs */
        *mask = 14;
    }
}

uint32_t sim__darknet_base(const struct sim *s)
{
    return ipaddr_v4(&s->p->darknet.addr);
}

uint32_t sim__darknet_size(const struct sim *s)
{
    unsigned l = ipprefix_family_len(&s->p->darknet);
    return l >= 32 ? 1u : 1u << (32 - l);
}

int sim__in_darknet(const struct sim *s, uint32_t v4)
{
    uint32_t size = sim__darknet_size(s);
    return v4 - sim__darknet_base(s) < size;
}

/* Path length (hops) from a source to the darknet sensor: stable per source. */
uint8_t sim__hops_of(uint32_t addr)
{
    return (uint8_t)(6 + hash_mix64(addr * 0x9e3779b97f4a7c15ull) % 15);
}

void sim__mac_of(uint8_t mac[6], uint32_t tag)
{
    mac[0] = 0x02; /* locally administered */
    mac[1] = 0x42;
    mac[2] = (uint8_t)(tag >> 24);
    mac[3] = (uint8_t)(tag >> 16);
    mac[4] = (uint8_t)(tag >> 8);
    mac[5] = (uint8_t)tag;
}

/* ---------------------------------------------------------------------------------------- */

void sim_params_default(struct sim_params *p)
{
    memset(p, 0, sizeof *p);
    p->seed = 1;
    p->scale = 1;
    p->start_ms = 1767225600000ull; /* 2026-01-01 00:00:00 UTC */
    p->duration_ms = 3600000;
    p->format = SIM_FORMAT_MIXED;
    p->isps = 3;
    p->routers_per_isp = 0;
    p->sampling = 1;
    p->sflow_sampling = 1024;
    p->active_timeout_ms = 60000;
    p->inactive_timeout_ms = 15000;
    p->template_every = 20;
    ipprefix_parse("25.240.0.0/20", &p->darknet);
    p->darknet_interval_ms = 60000;
    p->darknet_share = 0.02;
    p->scan_pps = 0.5;
    p->tz_offset_h = 9;
    p->out_dir = ".";
}

/* A darknet must be dark: not inside the service blocks (25.0.0.0/13) nor an ISP's /12. */
static int darknet_overlaps_world(const struct sim_params *p)
{
    if (!ipaddr_is_v4(&p->darknet.addr))
        return 0;
    unsigned l = ipprefix_family_len(&p->darknet);
    uint64_t lo = ipaddr_v4(&p->darknet.addr);
    uint64_t hi = lo + (l >= 32 ? 1ull : 1ull << (32 - l)); /* exclusive */
    uint64_t used_lo[2] = {SIM_V4(0, 0, 0), SIM_V4(16, 0, 0)};
    uint64_t used_hi[2] = {SIM_V4(8, 0, 0), SIM_V4(16, 0, 0) + ((uint64_t)p->isps << 20)};
    for (int i = 0; i < 2; i++)
        if (lo < used_hi[i] && used_lo[i] < hi)
            return 1;
    return 0;
}

int sim_params_check(const struct sim_params *p, char *msg, size_t msglen)
{
    const char *bad = NULL;
    if (p->scale < 1 || p->scale > SIM_MAX_SCALE)
        bad = "scale must be 1..10000";
    else if (p->duration_ms < 1000 || p->duration_ms > 366ull * 86400000)
        bad = "duration must be 1s..366d";
    else if (p->isps < 1 || p->isps > SIM_MAX_ISPS)
        bad = "isps must be 1..13";
    else if (p->routers_per_isp > SIM_MAX_ROUTERS_PER_ISP)
        bad = "routers_per_isp must be 0..64";
    else if (p->sampling < 1 || p->sampling > SIM_MAX_SAMPLING)
        bad = "sampling must be 1..65536";
    else if (p->sflow_sampling < 1 || p->sflow_sampling > SIM_MAX_SAMPLING)
        bad = "sflow_sampling must be 1..65536";
    else if (p->active_timeout_ms < 1000 || p->inactive_timeout_ms < 1000)
        bad = "timeouts must be at least 1s";
    else if (p->template_every < 1)
        bad = "template_refresh must be at least 1";
    else if (!ipaddr_is_v4(&p->darknet.addr) || ipprefix_family_len(&p->darknet) < 8 ||
             ipprefix_family_len(&p->darknet) > 30)
        bad = "darknet must be an IPv4 prefix /8../30";
    else if (darknet_overlaps_world(p))
        bad = "darknet overlaps the simulated ISPs or services (use e.g. 25.240.0.0/12 space)";
    else if (p->darknet_interval_ms < 10)
        bad = "darknet_interval must be at least 10ms";
    else if (p->darknet_share < 0 || p->darknet_share > 1)
        bad = "darknet_share must be 0..1";
    else if (p->scan_pps < 0 || p->scan_pps > 10000)
        bad = "scan_pps must be 0..10000";
    else if (p->format != SIM_FORMAT_MIXED && p->format != SIM_FORMAT_V9 &&
             p->format != SIM_FORMAT_IPFIX && p->format != SIM_FORMAT_SFLOW)
        bad = "format must be v9, ipfix, sflow or mixed";
    if (bad) {
        snprintf(msg, msglen, "%s", bad);
        return BS_EUSAGE;
    }
    return 0;
}

static int join(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= len ? BS_ELIMIT : 0;
}

int sim_run(const struct sim_params *p, const struct sim_output *out, struct sim_stats *st)
{
    struct sim *s = calloc(1, sizeof *s);
    if (!s)
        return BS_ENOMEM;
    memset(st, 0, sizeof *st);
    s->p = p;
    s->out = out;
    s->st = st;
    s->next_deadline = UINT64_MAX;
    vec_init(&s->pool, sizeof(struct flow_ent), 4096, SIM_MAX_ACTIVE_FLOWS);
    vec_init(&s->free_list, sizeof(uint32_t), 4096, SIM_MAX_ACTIVE_FLOWS);
    vec_init(&s->heap, sizeof(struct heap_item), 4096, SIM_MAX_ACTIVE_FLOWS);
    vec_init(&s->dk, sizeof(struct dpkt), 8192, SIM_MAX_SLICE_DARKNET);
    char path[4096];
    int rc = sim_world_build(&s->w, p);
    if (rc)
        goto out_free;
    sim_rng_init(&s->tr, p->seed, STREAM_TRAFFIC);
    sim_rng_init(&s->dr, p->seed, STREAM_DARKNET);
    sim_rng_init(&s->sr, p->seed, STREAM_SAMPLING);
    s->mozi_active = calloc(s->w.ninf ? s->w.ninf : 1, sizeof *s->mozi_active);
    if (!s->mozi_active) {
        rc = BS_ENOMEM;
        goto out_world;
    }
    for (unsigned i = 0; i < s->w.nrouters; i++) {
        struct sim_router *rt = &s->w.routers[i];
        rt->ex.emit = sim__on_datagram;
        rt->ex.emit_arg = s;
        sim_export_start(&rt->ex, p->start_ms);
        sim__update_deadline(s, &rt->ex);
    }
    /* Both captures are written under temporary names and renamed only when the whole
     * world was generated: a failed run leaves no cut capture behind. */
    static const struct pcapw_opts popts = {.linktype = PCAPW_LINKTYPE_ETHERNET, .atomic = true};
    if ((rc = join(path, sizeof path, p->out_dir, "exports.pcap")) ||
        (rc = pcapw_open(&s->exp_pcap, path, &popts)))
        goto out_exp;
    if ((rc = join(path, sizeof path, p->out_dir, "darknet.pcap")) ||
        (rc = pcapw_open(&s->dk_pcap, path, &popts)))
        goto out_dk;

    uint64_t end = s->w.end_ms;
    for (uint64_t t0 = p->start_ms; t0 < end; t0 += SIM_SLICE_MS) {
        uint64_t t1 = t0 + SIM_SLICE_MS < end ? t0 + SIM_SLICE_MS : end;
        if ((rc = sim__gen_households(s, t0, t1)) || (rc = sim__gen_devices(s, t0, t1)) ||
            (rc = sim__gen_chains(s, t0, t1)) || (rc = sim__gen_bots(s, t0, t1)) ||
            (rc = sim__gen_attacks(s, t0, t1)) || (rc = sim__gen_darknet_bg(s, t0, t1)) ||
            (rc = s->err))
            goto out_dk;
        if ((rc = sim__drain(s, t1)) || (rc = sim__dk_write(s)))
            goto out_dk;
    }
    /* Let the last flows expire and the exporters send what they hold. */
    uint64_t final = end + p->inactive_timeout_ms + p->active_timeout_ms + 2 * SIM_EXPORT_HOLD_MS;
    if ((rc = sim__drain(s, final)))
        goto out_dk;
    for (unsigned i = 0; i < s->w.nrouters; i++)
        sim_export_flush(&s->w.routers[i].ex, final);
    rc = s->err;
    st->flow_records = st->v9_records + st->ipfix_records + st->sflow_samples;
    st->exporters = s->w.nrouters;
    st->subscribers = s->w.nhouseholds;
    st->devices = s->w.ndevices;
    st->infections = s->w.ninf;
    st->c2_servers = s->w.nc2;
    st->attacks = s->w.natk;
out_dk:
    if (rc)
        pcapw_abort(&s->dk_pcap);
    else
        rc = pcapw_close(&s->dk_pcap);
    st->darknet_bytes = s->dk_pcap.bytes;
out_exp:
    if (rc)
        pcapw_abort(&s->exp_pcap);
    else
        rc = pcapw_close(&s->exp_pcap);
    st->export_bytes = s->exp_pcap.bytes;
    if (!rc) {
        for (unsigned i = 0; i < s->w.ndevices; i++) {
            const struct sim_device *dv = &s->w.devices[i];
            if (dv->cred || ((sim_world_models[dv->model].vuln_fw_mask >> dv->fw) & 1))
                st->vulnerable++;
        }
        rc = join(path, sizeof path, p->out_dir, "truth.json");
        if (!rc)
            rc = sim_truth_write(&s->w, path, st);
        struct stat sb;
        if (!rc && stat(path, &sb) == 0)
            st->truth_bytes = (uint64_t)sb.st_size;
    }
out_world:
    free(s->mozi_active);
    sim_world_release(&s->w);
out_free:
    vec_release(&s->pool);
    vec_release(&s->free_list);
    vec_release(&s->heap);
    vec_release(&s->dk);
    free(s);
    return rc;
}
