/* sim_world.c - builds the simulated world from the "world" random stream. */
#include "sim/sim_world.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"

const char *const sim_world_family_name[FAM_N] = {"mirai", "gafgyt", "mozi"};
const char *const sim_world_devtype_name[DEV_N] = {"router", "camera", "dvr", "nvr"};

/* Device models. Vendors and products are real product lines so that a survey can be tested
 * against firmware-to-CVE matching; firmware strings are illustrative. The CVEs are public
 * advisories for those product lines (docs/SIMULATOR.md). */
const struct sim_model sim_world_models[] = {
    {DEV_ROUTER,
     "Huawei",
     "HG532",
     {"V100R001C01B030", "V100R001C01B025", "V100R001C01B016"},
     "CVE-2017-17215",
     0x6,
     443,
     120},
    {DEV_ROUTER,
     "Realtek SDK",
     "RTL819x CPE (miniigd)",
     {"3.4.14", "3.4.11", "3.2.1"},
     "CVE-2014-8361",
     0x6,
     443,
     300},
    {DEV_ROUTER,
     "Dasan",
     "GPON ONT H640GR",
     {"3.0.5", "2.1.8", "2.1.3"},
     "CVE-2018-10561,CVE-2018-10562",
     0x6,
     443,
     180},
    {DEV_ROUTER, "TP-Link", "Archer C7", {"1.0.15", "1.0.12", "1.0.9"}, "", 0x0, 443, 240},
    {DEV_CAMERA,
     "Hikvision",
     "DS-2CD2032-I",
     {"V5.5.0", "V5.4.0", "V5.2.0"},
     "CVE-2017-7921",
     0x6,
     8000,
     30},
    {DEV_CAMERA,
     "Hikvision",
     "DS-2CD2143G0-I",
     {"V5.7.3", "V5.5.800", "V5.5.0"},
     "CVE-2021-36260",
     0x6,
     8000,
     30},
    {DEV_CAMERA,
     "Dahua",
     "IPC-HDW1230S",
     {"2.820.0000000.48", "2.800.0000000.16", "2.622.0000000.7"},
     "CVE-2021-33044",
     0x6,
     37777,
     60},
    {DEV_CAMERA, "Axis", "M3045-V", {"9.80.3.8", "9.80.1", "8.40.1"}, "", 0x0, 443, 90},
    {DEV_DVR,
     "XiongMai",
     "AHB7008T-MH",
     {"V4.02.R11.34500140", "V4.02.R11.7", "V4.01.R12"},
     "",
     0x0,
     34567,
     45},
    {DEV_DVR,
     "MVPower",
     "TV-7104HE",
     {"1.8.4 115215B9", "1.8.4", "1.8.2"},
     "CVE-2016-20016",
     0x7,
     80,
     60},
    {DEV_NVR,
     "Dahua",
     "NVR4104HS-P-4KS2",
     {"4.001.0000000.6", "4.000.0000000.3", "3.216.0000000.1"},
     "CVE-2021-33044",
     0x6,
     37777,
     60},
    {DEV_NVR,
     "Hikvision",
     "DS-7608NI-K2",
     {"V4.30.085", "V4.22.005", "V4.1.50"},
     "CVE-2021-36260",
     0x6,
     8000,
     30},
};
const unsigned sim_world_nmodels = sizeof(sim_world_models) / sizeof(sim_world_models[0]);

/* Entries of the credential list in the published Mirai source (scanner.c), index 0 unused. */
const char *const sim_world_weak_creds[][2] = {
    {"", ""},
    {"root", "xc3511"},
    {"root", "vizxv"},
    {"root", "admin"},
    {"admin", "admin"},
    {"root", "888888"},
    {"root", "xmhdipc"},
    {"root", "default"},
    {"root", "juantech"},
    {"root", "123456"},
    {"root", "54321"},
    {"support", "support"},
    {"root", ""},
    {"admin", "password"},
    {"root", "root"},
    {"root", "12345"},
    {"user", "user"},
    {"admin", ""},
    {"root", "pass"},
    {"admin", "admin1234"},
    {"root", "1111"},
    {"admin", "smcadmin"},
    {"admin", "1111"},
    {"root", "666666"},
    {"root", "password"},
    {"root", "1234"},
    {"root", "klv123"},
    {"Administrator", "admin"},
    {"service", "service"},
    {"supervisor", "supervisor"},
    {"guest", "guest"},
    {"guest", "12345"},
    {"ubnt", "ubnt"},
    {"root", "hi3518"},
    {"root", "Zte521"},
    {"admin", "12345"},
};
const unsigned sim_world_nweak_creds =
    sizeof(sim_world_weak_creds) / sizeof(sim_world_weak_creds[0]);

/* Vendor default credentials that Mirai's list targets (index into sim_world_weak_creds). */
static unsigned model_default_cred(const struct sim_model *m)
{
    if (!strcmp(m->vendor, "XiongMai"))
        return 1; /* root:xc3511 */
    if (!strcmp(m->vendor, "Dahua"))
        return 2; /* root:vizxv */
    if (!strcmp(m->vendor, "Hikvision"))
        return 35; /* admin:12345 */
    if (!strcmp(m->vendor, "Huawei") || !strcmp(m->vendor, "TP-Link"))
        return 4; /* admin:admin */
    return 0;
}

/* Random draws to find the bot that spreads an infection. */
#define SPREADER_TRIES 64

/* Stream numbers of the seeded generator. */
enum { STREAM_WORLD = 1 };

static unsigned ilog2u(unsigned v)
{
    unsigned r = 0;
    while (v >>= 1)
        r++;
    return r;
}

/* Records host index val for address key. The map was reserved for every host, so this
 * cannot fail. */
static void map_put(struct sim_world *w, uint32_t key, uint32_t val)
{
    bool is_new;
    int rc;
    uint32_t *v = htab_put(&w->host_map, &key, &is_new, &rc);
    if (v)
        *v = val;
}

int64_t sim_world_host_of(const struct sim_world *w, uint32_t v4)
{
    const uint32_t *v = v4 ? htab_find(&w->host_map, &v4) : NULL;
    return v ? (int64_t)*v : -1;
}

void sim_world_host_addr(const struct sim_world *w, const struct sim_host *h, int v6,
                         struct ipaddr *a)
{
    (void)w;
    if (!v6 || !h->v6) {
        ipaddr_from_v4(a, h->v4);
        return;
    }
    /* 2001:db8:ii00::/40 per ISP, one /56 per subscriber, a stable interface identifier. */
    memset(a->b, 0, 16);
    a->b[0] = 0x20;
    a->b[1] = 0x01;
    a->b[2] = 0x0d;
    a->b[3] = 0xb8;
    a->b[4] = (uint8_t)(h->isp + 1);
    a->b[5] = (uint8_t)(h->v6_idx >> 8);
    a->b[6] = (uint8_t)h->v6_idx;
    uint64_t iid = hash_mix64(h->v4 ^ 0x5eedull);
    for (int i = 0; i < 8; i++)
        a->b[8 + i] = (uint8_t)(iid >> (56 - 8 * i));
}

unsigned sim_world_c2_addr_index(const struct sim_c2 *c, uint64_t t)
{
    unsigned i = 0;
    while (i + 1 < c->naddr && t >= c->from[i + 1])
        i++;
    return i;
}

/* Offsets inside a block of 2^bits addresses, distinct for distinct k (odd multiplier). */
static uint32_t spread(uint32_t k, unsigned bits, uint32_t mult)
{
    uint32_t mask = (bits >= 32) ? 0xffffffffu : ((1u << bits) - 1);
    return (k * (mult | 1u) + 0x9e37u) & mask;
}

static uint32_t hosting_addr(uint32_t *next)
{
    /* 25.2.0.0/16 without .0 and .255 host parts */
    for (;;) {
        uint32_t off = spread((*next)++, 16, 40503u);
        uint32_t a = SIM_V4(2, 0, 0) + off;
        if ((a & 0xff) != 0 && (a & 0xff) != 255)
            return a;
    }
}

static int add_infection(struct sim_world *w, uint32_t dev, uint8_t fam, uint8_t vec,
                         uint64_t start, struct sim_rng *r)
{
    if (w->ninf == w->inf_cap)
        return BS_ELIMIT;
    struct sim_infection *in = &w->inf[w->ninf];
    memset(in, 0, sizeof *in);
    in->device = dev;
    in->family = fam;
    in->vector = vec;
    in->infected_by = -1;
    in->start_ms = start;
    static const double clean_per_h[FAM_N] = {0.20, 0.15, 0.05};
    double life_ms = sim_rng_exp(r, 3600000.0 / clean_per_h[fam]);
    uint64_t end = start + (uint64_t)life_ms;
    in->end_ms = end < w->end_ms ? end : SIM_NO_END;
    in->cleaned = in->end_ms != SIM_NO_END;
    in->scan_sport = (uint16_t)sim_rng_range(r, 1024, 65535);
    in->scan_window = (uint16_t)sim_rng_range(r, 1, 65535);
    in->p2p_port = (uint16_t)sim_rng_range(r, 1024, 65535);
    in->next_c2_ms = start + sim_rng_range(r, 500, 5000);
    w->devices[dev].infection = (int32_t)w->ninf;
    w->ninf++;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

struct pending_inf {
    uint64_t t;
    uint32_t dev;
    uint8_t fam;
    uint8_t vec;
};

static int cmp_pending(const void *a, const void *b)
{
    const struct pending_inf *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->dev < y->dev ? -1 : x->dev > y->dev;
}

int sim_world_build(struct sim_world *w, const struct sim_params *p)
{
    int rc = BS_ENOMEM;
    memset(w, 0, sizeof *w);
    w->p = *p;
    w->end_ms = p->start_ms + p->duration_ms;
    struct sim_rng r;
    sim_rng_init(&r, p->seed, STREAM_WORLD);
    unsigned S = p->scale;
    double hours = (double)p->duration_ms / 3600000.0;

    /* ISPs and routers */
    w->nisp = p->isps;
    unsigned rpi = p->routers_per_isp ? p->routers_per_isp : 2 + ilog2u(S);
    if (rpi > SIM_MAX_ROUTERS_PER_ISP)
        rpi = SIM_MAX_ROUTERS_PER_ISP;
    w->nrouters = w->nisp * rpi;
    w->routers = calloc(w->nrouters, sizeof *w->routers);
    if (!w->routers)
        goto fail;
    unsigned households_per_isp = 300 * S, devices_per_isp = 180 * S;
    for (unsigned i = 0; i < w->nisp; i++) {
        struct sim_isp *isp = &w->isp[i];
        snprintf(isp->name, sizeof isp->name, "isp-%c", 'a' + i);
        isp->asn = 64500 + i; /* RFC 5398 documentation ASNs */
        isp->v4_base = SIM_V4(16 * (i + 1), 0, 0);
        isp->first_router = i * rpi;
        isp->nrouters = rpi;
        isp->resolver[0] = isp->v4_base + 53;
        isp->resolver[1] = isp->v4_base + 54;
        isp->collector = isp->v4_base + 250;
        isp->subscribers = households_per_isp;
        isp->devices = devices_per_isp;
        for (unsigned k = 0; k < rpi; k++) {
            unsigned g = i * rpi + k;
            struct sim_router *rt = &w->routers[g];
            rt->isp = i;
            rt->addr = isp->v4_base + 1 + k;
            snprintf(rt->name, sizeof rt->name, "%s-bng%u", isp->name, k + 1);
            enum sim_fmt fmt;
            if (p->format == SIM_FORMAT_MIXED) {
                static const enum sim_fmt cycle[3] = {SIM_FMT_V9, SIM_FMT_IPFIX, SIM_FMT_SFLOW};
                fmt = cycle[g % 3];
            } else {
                fmt = (enum sim_fmt)p->format;
            }
            rt->ex.fmt = fmt;
            ipaddr_from_v4(&rt->ex.addr, rt->addr);
            rt->ex.source_id = (i + 1) << 8 | (k + 1);
            rt->ex.sampling =
                fmt == SIM_FMT_SFLOW && p->sampling <= 1 ? p->sflow_sampling : p->sampling;
            /* booted 1 to 40 days before the start: sysUptime stays below its 49.7-day wrap
             * for runs shorter than 9 days */
            rt->ex.boot_ms = p->start_ms - sim_rng_range(&r, 86400000ull, 40 * 86400000ull);
            rt->ex.template_every = p->template_every;
            rt->uplink_if = 1000 + k;
            rt->ex.uplink_if = rt->uplink_if;
            rt->sport = (uint16_t)sim_rng_range(&r, 49152, 65535);
            rt->dport = fmt == SIM_FMT_V9 ? 2055 : fmt == SIM_FMT_IPFIX ? 4739 : 6343;
        }
    }

    /* Lines: all households first, then all device lines. */
    w->nhouseholds = households_per_isp * w->nisp;
    w->nhosts = w->nhouseholds + devices_per_isp * w->nisp;
    w->ndevices = devices_per_isp * w->nisp;
    w->hosts = calloc(w->nhosts, sizeof *w->hosts);
    w->devices = calloc(w->ndevices, sizeof *w->devices);
    htab_init(&w->host_map, sizeof(uint32_t), sizeof(uint32_t), w->nhosts, 0);
    if (!w->hosts || !w->devices || htab_reserve(&w->host_map, w->nhosts))
        goto fail;
    const uint32_t usable = (1u << 20) - 256; /* the /12 minus its infrastructure /24 */
    const uint32_t mult = 700001u;            /* coprime with usable = 2^8*3^2*5*7*13 */
    for (unsigned h = 0; h < w->nhosts; h++) {
        int dev = h >= w->nhouseholds;
        unsigned rel = dev ? h - w->nhouseholds : h;
        unsigned per = dev ? devices_per_isp : households_per_isp;
        unsigned i = rel / per;
        unsigned k = (dev ? households_per_isp : 0) + rel % per; /* line number in the ISP */
        struct sim_host *ho = &w->hosts[h];
        ho->isp = (uint16_t)i;
        uint32_t off = 256 + (uint32_t)(((uint64_t)k * mult + 12345u) % usable);
        ho->v4 = w->isp[i].v4_base + off;
        ho->router = (uint16_t)(w->isp[i].first_router + sim_rng_below(&r, w->isp[i].nrouters));
        ho->ifindex = (uint16_t)(1 + sim_rng_below(&r, 48));
        ho->is_device = (uint8_t)dev;
        ho->v6_idx = k;
        ho->v6 = !dev && k < 65536 && sim_rng_chance(&r, 0.3);
        map_put(w, ho->v4, h);
    }

    /* Devices. */
    static const double type_w[DEV_N] = {0.40, 0.30, 0.20, 0.10};
    for (unsigned d = 0; d < w->ndevices; d++) {
        struct sim_device *dv = &w->devices[d];
        dv->host = w->nhouseholds + d;
        unsigned t = sim_rng_weighted(&r, type_w, DEV_N);
        unsigned cand[16], nc = 0;
        for (unsigned m = 0; m < sim_world_nmodels && nc < 16; m++)
            if (sim_world_models[m].type == t)
                cand[nc++] = m;
        dv->model = (uint16_t)cand[sim_rng_below(&r, nc)];
        const struct sim_model *m = &sim_world_models[dv->model];
        double u = sim_rng_unit(&r);
        dv->fw = u < 0.75 ? 0 : u < 0.92 ? 1 : 2;
        dv->cred = 0;
        if (sim_rng_chance(&r, 0.2)) {
            unsigned def = model_default_cred(m);
            dv->cred = (uint8_t)(def && sim_rng_chance(&r, 0.6)
                                     ? def
                                     : 1 + sim_rng_below(&r, sim_world_nweak_creds - 1));
        }
        dv->infection = -1;
        dv->next_cloud_ms = p->start_ms;
        dv->next_ntp_ms = p->start_ms + sim_rng_below(&r, 3600000);
    }

    /* C&C servers. */
    uint32_t hosting_next = 1;
    unsigned nmirai_c2 = 2 + 2 * ilog2u(S), ngafgyt_c2 = 1 + ilog2u(S);
    w->nc2 = nmirai_c2 + ngafgyt_c2;
    w->c2 = calloc(w->nc2, sizeof *w->c2);
    if (!w->c2)
        goto fail;
    for (unsigned c = 0; c < w->nc2; c++) {
        struct sim_c2 *cc = &w->c2[c];
        int mirai = c < nmirai_c2;
        static const uint16_t mirai_ports[] = {23, 23, 1791, 6969, 3778, 38241};
        static const uint16_t gafgyt_ports[] = {6667, 6667, 666, 1014, 6982};
        cc->family = mirai ? FAM_MIRAI : FAM_GAFGYT;
        cc->port = mirai ? mirai_ports[sim_rng_below(&r, 6)] : gafgyt_ports[sim_rng_below(&r, 5)];
        cc->keepalive_s = mirai ? 60 : 30;
        unsigned moves = (unsigned)sim_rng_poisson(&r, hours * 0.5);
        if (c == 0 && moves == 0)
            moves = 1; /* at least one C&C changes address in every run */
        if (moves > SIM_MAX_C2_ADDRS - 1)
            moves = SIM_MAX_C2_ADDRS - 1;
        uint64_t t[SIM_MAX_C2_ADDRS];
        for (unsigned k = 0; k < moves; k++)
            t[k] =
                p->start_ms + p->duration_ms / 10 + sim_rng_below(&r, p->duration_ms * 8 / 10 + 1);
        qsort(t, moves, sizeof t[0], cmp_u64);
        cc->naddr = moves + 1;
        cc->from[0] = p->start_ms;
        for (unsigned k = 0; k < cc->naddr; k++) {
            cc->addr[k] = hosting_addr(&hosting_next);
            if (k)
                cc->from[k] = t[k - 1];
        }
        cc->loader_addr = hosting_addr(&hosting_next);
        cc->report_addr = mirai ? hosting_addr(&hosting_next) : 0;
    }

    /* Infections: initial ones at the start, new ones over the run in time order. */
    w->inf_cap = w->ndevices;
    w->inf = calloc(w->inf_cap ? w->inf_cap : 1, sizeof *w->inf);
    struct pending_inf *pend = calloc(w->ndevices ? w->ndevices : 1, sizeof *pend);
    if (!w->inf || !pend) {
        free(pend);
        goto fail;
    }
    unsigned npend = 0;
    for (unsigned d = 0; d < w->ndevices; d++) {
        struct sim_device *dv = &w->devices[d];
        const struct sim_model *m = &sim_world_models[dv->model];
        int weak = dv->cred != 0, vfw = (m->vuln_fw_mask >> dv->fw) & 1;
        if (!weak && !vfw)
            continue;
        uint8_t fam, vec;
        if (weak) {
            double u = sim_rng_unit(&r);
            fam = u < 0.7 ? FAM_MIRAI : FAM_GAFGYT;
            vec = VEC_TELNET;
        } else {
            fam = sim_rng_chance(&r, 0.6) ? FAM_MOZI : FAM_MIRAI;
            vec = VEC_EXPLOIT;
        }
        if (sim_rng_chance(&r, weak ? 0.25 : 0.15)) {
            rc = add_infection(w, d, fam, VEC_INITIAL, p->start_ms, &r);
            if (rc) {
                free(pend);
                goto fail;
            }
            continue;
        }
        double t = sim_rng_exp(&r, 3600000.0 / 0.1); /* hazard 0.1 per hour */
        if (t < (double)p->duration_ms && (uint64_t)t > 120000) {
            pend[npend].t = p->start_ms + (uint64_t)t;
            pend[npend].dev = d;
            pend[npend].fam = fam;
            pend[npend].vec = vec;
            npend++;
        }
    }
    qsort(pend, npend, sizeof *pend, cmp_pending);
    for (unsigned k = 0; k < npend; k++) {
        unsigned idx = w->ninf;
        rc = add_infection(w, pend[k].dev, pend[k].fam, pend[k].vec, pend[k].t, &r);
        if (rc) {
            free(pend);
            goto fail;
        }
        /* the spreader: a bot of the same family active for the whole infection chain, found
         * by up to SPREADER_TRIES random draws among the earlier infections (a bot outside the
         * ISPs when none is found) */
        w->inf[idx].infected_by = -1;
        for (unsigned tries = 0; idx && tries < SPREADER_TRIES; tries++) {
            unsigned j = (unsigned)sim_rng_below(&r, idx);
            const struct sim_infection *s = &w->inf[j];
            if (s->family == pend[k].fam && s->start_ms + 60000 <= pend[k].t - 60000 &&
                s->end_ms > pend[k].t) {
                w->inf[idx].infected_by = (int32_t)j;
                break;
            }
        }
    }
    free(pend);
    for (unsigned k = 0; k < w->ninf; k++) {
        struct sim_infection *in = &w->inf[k];
        if (in->family == FAM_MIRAI)
            in->c2 = (uint16_t)sim_rng_below(&r, nmirai_c2);
        else if (in->family == FAM_GAFGYT)
            in->c2 = (uint16_t)(nmirai_c2 + sim_rng_below(&r, ngafgyt_c2));
    }

    /* DDoS attacks ordered by C&C servers. */
    double mean_atk = hours * 4.0 * (1 + ilog2u(S));
    w->natk = (unsigned)sim_rng_poisson(&r, mean_atk);
    if (w->natk < 3)
        w->natk = 3;
    w->atk = calloc(w->natk, sizeof *w->atk);
    if (!w->atk)
        goto fail;
    for (unsigned a = 0; a < w->natk; a++) {
        struct sim_attack *at = &w->atk[a];
        static const double type_w3[3] = {0.4, 0.4, 0.2};
        at->type = (uint8_t)sim_rng_weighted(&r, type_w3, 3);
        if (a < 2)
            at->type = a == 0 ? ATK_UDP_PLAIN : ATK_SYN_SPOOFED; /* every run has both kinds */
        at->c2 = (uint16_t)sim_rng_below(&r, w->nc2);
        if (at->type != ATK_UDP_PLAIN && w->nhouseholds && sim_rng_chance(&r, 0.2))
            at->victim = w->hosts[sim_rng_below(&r, w->nhouseholds)].v4;
        else
            at->victim = hosting_addr(&hosting_next);
        static const uint16_t syn_ports[] = {80, 443, 443, 22, 25565, 3074};
        static const uint16_t udp_ports[] = {53, 27015, 3074, 9987, 30120};
        at->port = at->type == ATK_SYN_SPOOFED ? syn_ports[sim_rng_below(&r, 6)]
                                               : udp_ports[sim_rng_below(&r, 5)];
        static const uint8_t ttls[] = {64, 128, 255};
        at->ttl = ttls[sim_rng_below(&r, 3)];
        double dur = sim_rng_lognormal(&r, 480000.0, 0.6);
        if (dur < 120000)
            dur = 120000;
        if (dur > 1800000)
            dur = 1800000;
        if (dur > (double)p->duration_ms / 2)
            dur = (double)p->duration_ms / 2;
        /* the whole attack falls inside the run when the run is long enough */
        uint64_t room =
            p->duration_ms > (uint64_t)dur + 30000 ? p->duration_ms - (uint64_t)dur - 30000 : 1;
        at->start_ms = p->start_ms + 30000 + sim_rng_below(&r, room);
        at->end_ms = at->start_ms + (uint64_t)dur;
        if (at->end_ms > w->end_ms)
            at->end_ms = w->end_ms;
        at->bot_pps = (double)sim_rng_range(&r, 200, 1500);
        at->backscatter_pps = 1.0 + 7.0 * sim_rng_unit(&r);
    }

    /* Research scanners (ZMap and Masscan campaigns). */
    w->nscanners = 5 + ilog2u(S);
    w->scanners = calloc(w->nscanners, sizeof *w->scanners);
    if (!w->scanners)
        goto fail;
    static const uint16_t scan_ports[] = {80,   443,  22,   23,    7547,  8080, 3389, 445,
                                          5555, 8443, 2323, 37215, 52869, 6379, 1883, 161};
    for (unsigned s = 0; s < w->nscanners; s++) {
        struct sim_scanner *sc = &w->scanners[s];
        sc->tool = s % 5 < 3 ? 0 : 1;
        sc->addr = SIM_V4(3, s, 10 + sim_rng_below(&r, 200));
        sc->nports = (uint8_t)(1 + sim_rng_below(&r, 6));
        for (unsigned k = 0; k < sc->nports; k++)
            sc->ports[k] = scan_ports[sim_rng_below(&r, 16)];
        sc->sport = (uint16_t)sim_rng_range(&r, 32768, 61000);
        uint64_t len = p->duration_ms * (30 + sim_rng_below(&r, 71)) / 100;
        sc->start_ms = p->start_ms + sim_rng_below(&r, p->duration_ms - len + 1);
        sc->end_ms = sc->start_ms + len;
        sc->weight = 0.2 + sim_rng_unit(&r);
    }

    /* The rest of the Internet: external bots and Mozi DHT nodes in .4.0.0/14. */
    w->nextbots = 100 * S > 150000 ? 150000 : 100 * S;
    w->nmozi_nodes = 50 * S > 100000 ? 100000 : 50 * S;
    w->extbots = calloc(w->nextbots, sizeof *w->extbots);
    w->mozi_nodes = calloc(w->nmozi_nodes, sizeof *w->mozi_nodes);
    if (!w->extbots || !w->mozi_nodes)
        goto fail;
    for (unsigned k = 0; k < w->nextbots + w->nmozi_nodes; k++) {
        uint32_t a = SIM_V4(4, 0, 0) + spread(k, 18, 97561u);
        if ((a & 0xff) == 0 || (a & 0xff) == 255)
            a ^= 1;
        if (k < w->nextbots) {
            struct sim_extbot *b = &w->extbots[k];
            b->addr = a;
            b->family = sim_rng_chance(&r, 0.8) ? FAM_MIRAI : FAM_GAFGYT;
            b->sport = (uint16_t)sim_rng_range(&r, 1024, 65535);
            b->window = (uint16_t)sim_rng_range(&r, 1, 65535);
        } else {
            w->mozi_nodes[k - w->nextbots] = a;
        }
    }
    return 0;
fail:
    if (!rc)
        rc = BS_ENOMEM;
    sim_world_release(w);
    return rc;
}

bool sim_world_attack_bot(const struct sim_world *w, const struct sim_attack *at,
                          const struct sim_infection *in, uint64_t *start, uint64_t *end)
{
    if (at->type != ATK_UDP_PLAIN || in->family == FAM_MOZI || in->c2 != at->c2 ||
        !sim_world_inf_active(in, at->start_ms))
        return false;
    /* bots start within 3 s of the command, a stable per-bot delay */
    *start = at->start_ms + hash_mix64((uint64_t)(in - w->inf) * 31 + at->start_ms) % 3000;
    *end = at->end_ms < in->end_ms ? at->end_ms : in->end_ms;
    return *end > *start;
}

void sim_world_release(struct sim_world *w)
{
    free(w->routers);
    free(w->hosts);
    free(w->devices);
    free(w->inf);
    free(w->c2);
    free(w->atk);
    free(w->scanners);
    free(w->extbots);
    free(w->mozi_nodes);
    htab_release(&w->host_map);
    memset(w, 0, sizeof *w);
}
