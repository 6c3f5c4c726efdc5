/* sim_traffic.c - the traffic generators: households, IoT devices, bots (C&C sessions,
 * scans, P2P), infection chains and DDoS attacks (see sim_int.h). */
#include "sim/sim_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"
#include "core/pktbuild.h"

/* ---------------------------------------------------------------------------------------- */
/* Households: ordinary traffic with a diurnal rhythm.                                       */

/* Relative activity by local hour (residential broadband shape: trough before dawn, peak in
 * the evening); linearly interpolated. */
static double diurnal(const struct sim *s, uint64_t t)
{
    static const double f[24] = {0.55, 0.40, 0.30, 0.22, 0.18, 0.18, 0.22, 0.32,
                                 0.42, 0.48, 0.52, 0.56, 0.60, 0.60, 0.60, 0.62,
                                 0.66, 0.72, 0.80, 0.90, 0.97, 1.00, 0.92, 0.75};
    double h = fmod((double)t / 3600000.0 + s->p->tz_offset_h, 24.0);
    if (h < 0)
        h += 24;
    unsigned i = (unsigned)h;
    double fr = h - i;
    return f[i % 24] * (1 - fr) + f[(i + 1) % 24] * fr;
}

enum hh_kind {
    HH_DNS,
    HH_HTTPS,
    HH_HTTP,
    HH_QUIC,
    HH_VIDEO,
    HH_NTP,
    HH_MAIL,
    HH_UPDATE,
    HH_GAME,
    HH_PING,
    HH_N
};
static const double hh_weight[HH_N] = {36, 32, 4, 9, 0.6, 3, 3, 0.3, 0.3, 0.5};

#define HH_SESSIONS_PER_HOUR 150.0

static int household_session(struct sim *s, uint64_t t)
{
    struct sim_rng *r = &s->tr;
    int64_t hi = (int64_t)sim_rng_below(r, s->w.nhouseholds);
    const struct sim_host *h = &s->w.hosts[hi];
    unsigned k = sim_rng_weighted(r, hh_weight, HH_N);
    int v6 = h->v6 && (k == HH_DNS || k == HH_HTTPS || k == HH_QUIC || k == HH_VIDEO) &&
             sim_rng_chance(r, 0.5);
    struct ipaddr a, b;
    sim_world_host_addr(&s->w, h, v6, &a);
    struct conv c;
    double dur;
    uint32_t srv;
    switch (k) {
    case HH_DNS: {
        uint32_t res = s->w.isp[h->isp].resolver[sim_rng_below(r, 2)];
        if (v6) {
            /* the ISP's resolver on IPv6: 2001:db8:ii00::53 */
            memset(b.b, 0, 16);
            b.b[0] = 0x20;
            b.b[1] = 0x01;
            b.b[2] = 0x0d;
            b.b[3] = 0xb8;
            b.b[4] = (uint8_t)(h->isp + 1);
            b.b[15] = 0x53;
        } else {
            sim__v4(&b, res);
        }
        sim__conv_init(&c, t, sim_rng_range(r, 2, 40), &a, hi, &b, -1, 17, sim__ephemeral(s), 53);
        c.pkts_ab = c.pkts_ba = 1;
        c.bytes_ab = (v6 ? 48 : 28) + sim_rng_range(r, 30, 60);
        c.bytes_ba = (v6 ? 48 : 28) + sim_rng_range(r, 80, 300);
        return sim__conv_emit(s, &c);
    }
    case HH_HTTPS:
    case HH_HTTP:
    case HH_QUIC: {
        srv = (uint32_t)sim_rng_below(r, 2000);
        if (v6)
            sim__ext_v6(&b, 1, srv);
        else
            sim__v4(&b, SIM_V4(0, srv >> 8, 1 + (srv & 0xff) % 254));
        dur = sim_rng_lognormal(r, 8000, 1.2);
        uint8_t proto = k == HH_QUIC ? 17 : 6;
        sim__conv_init(&c, t, (uint64_t)dur, &a, hi, &b, -1, proto, sim__ephemeral(s),
                       k == HH_HTTP ? 80 : 443);
        c.pkts_ba = 4 + (uint64_t)sim_rng_lognormal(r, 25, 1.3);
        c.pkts_ab = 3 + c.pkts_ba / 2;
        c.bytes_ba = c.pkts_ba * (uint64_t)sim_rng_range(r, 700, 1400);
        c.bytes_ab = c.pkts_ab * (uint64_t)sim_rng_range(r, 60, 200);
        return sim__conv_emit(s, &c);
    }
    case HH_VIDEO:
        srv = (uint32_t)sim_rng_below(r, 500);
        if (v6)
            sim__ext_v6(&b, 2, srv);
        else
            sim__v4(&b, SIM_V4(0, 128 + (srv >> 8), 1 + (srv & 0xff) % 254));
        dur = sim_rng_lognormal(r, 600000, 0.8);
        if (dur < 30000)
            dur = 30000;
        if (dur > 3 * 3600000.0)
            dur = 3 * 3600000.0;
        sim__conv_init(&c, t, (uint64_t)dur, &a, hi, &b, -1, 6, sim__ephemeral(s), 443);
        c.pkts_ba = (uint64_t)(dur / 1000.0 * (double)sim_rng_range(r, 150, 450));
        c.pkts_ab = c.pkts_ba / 3 + 3;
        c.bytes_ba = c.pkts_ba * 1400;
        c.bytes_ab = c.pkts_ab * 52;
        return sim__conv_emit(s, &c);
    case HH_NTP:
        sim__v4(&b, SIM_V4(1, 1, 1 + sim_rng_below(r, 8)));
        sim__conv_init(&c, t, sim_rng_range(r, 10, 80), &a, hi, &b, -1, 17, 123, 123);
        c.pkts_ab = c.pkts_ba = 1;
        c.bytes_ab = c.bytes_ba = 76;
        return sim__conv_emit(s, &c);
    case HH_MAIL:
        sim__v4(&b, SIM_V4(1, 2, 1 + sim_rng_below(r, 20)));
        sim__conv_init(&c, t, (uint64_t)sim_rng_lognormal(r, 3000, 1.0), &a, hi, &b, -1, 6,
                       sim__ephemeral(s), sim_rng_chance(r, 0.7) ? 993 : 587);
        c.pkts_ab = 8 + sim_rng_below(r, 20);
        c.pkts_ba = 8 + sim_rng_below(r, 60);
        c.bytes_ab = c.pkts_ab * 120;
        c.bytes_ba = c.pkts_ba * 700;
        return sim__conv_emit(s, &c);
    case HH_UPDATE:
        sim__v4(&b, SIM_V4(1, 3, 1 + sim_rng_below(r, 50)));
        dur = sim_rng_lognormal(r, 60000, 0.9);
        sim__conv_init(&c, t, (uint64_t)dur, &a, hi, &b, -1, 6, sim__ephemeral(s), 443);
        c.pkts_ba = (uint64_t)(sim_rng_lognormal(r, 40e6, 1.0) / 1400) + 10;
        c.pkts_ab = c.pkts_ba / 2;
        c.bytes_ba = c.pkts_ba * 1400;
        c.bytes_ab = c.pkts_ab * 52;
        return sim__conv_emit(s, &c);
    case HH_PING:
        srv = (uint32_t)sim_rng_below(r, 2000);
        sim__v4(&b, SIM_V4(0, srv >> 8, 1 + (srv & 0xff) % 254));
        sim__conv_init(&c, t, 3000, &a, hi, &b, -1, 1, 0, 8 << 8);
        c.pkts_ab = c.pkts_ba = 4;
        c.bytes_ab = c.bytes_ba = 4 * 84;
        return sim__conv_emit(s, &c);
    default: /* HH_GAME */
        sim__v4(&b, SIM_V4(1, 4, 1 + sim_rng_below(r, 40)));
        dur = sim_rng_lognormal(r, 1200000, 0.5);
        sim__conv_init(&c, t, (uint64_t)dur, &a, hi, &b, -1, 17, sim__ephemeral(s),
                       sim_rng_chance(r, 0.5) ? 3074 : 27015);
        c.pkts_ab = (uint64_t)(dur / 1000.0 * 30);
        c.pkts_ba = (uint64_t)(dur / 1000.0 * 30);
        c.bytes_ab = c.pkts_ab * 90;
        c.bytes_ba = c.pkts_ba * 140;
        return sim__conv_emit(s, &c);
    }
}

int sim__gen_households(struct sim *s, uint64_t t0, uint64_t t1)
{
    double mean = (double)s->w.nhouseholds * HH_SESSIONS_PER_HOUR * diurnal(s, (t0 + t1) / 2) *
                  (double)(t1 - t0) / 3600000.0;
    uint64_t n = sim_rng_poisson(&s->tr, mean);
    for (uint64_t i = 0; i < n; i++) {
        int rc = household_session(s, t0 + sim_rng_below(&s->tr, t1 - t0));
        if (rc)
            return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* IoT devices: vendor-cloud heartbeat sessions and NTP (a periodic hard negative for C&C).  */

int sim__gen_devices(struct sim *s, uint64_t t0, uint64_t t1)
{
    struct sim_rng *r = &s->tr;
    for (unsigned d = 0; d < s->w.ndevices; d++) {
        struct sim_device *dv = &s->w.devices[d];
        const struct sim_model *m = &sim_world_models[dv->model];
        int64_t hi = dv->host;
        const struct sim_host *h = &s->w.hosts[hi];
        struct ipaddr a, b;
        sim_world_host_addr(&s->w, h, 0, &a);
        while (dv->next_cloud_ms < t1) {
            uint64_t st = dv->next_cloud_ms;
            double dur = sim_rng_exp(r, 2 * 3600000.0);
            if (dur < 60000)
                dur = 60000;
            int rc = sim__dns_query(s, st, hi, s->w.isp[h->isp].resolver[0]);
            if (rc)
                return rc;
            sim__v4(&b, SIM_V4(1, 5, 1 + (dv->model * 16 + sim_rng_below(r, 4)) % 254));
            struct conv c;
            sim__conv_init(&c, st + 30, (uint64_t)dur, &a, hi, &b, -1, 6, sim__ephemeral(s),
                           m->cloud_port);
            uint64_t beats = (uint64_t)(dur / 1000.0 / m->heartbeat_s);
            c.pkts_ab = 1 + beats;
            c.pkts_ba = 1 + beats;
            c.bytes_ab = c.pkts_ab * 40 + beats * 64 + 600;
            c.bytes_ba = c.pkts_ba * 40 + beats * 32 + 3000;
            rc = sim__conv_emit(s, &c);
            if (rc)
                return rc;
            dv->next_cloud_ms = st + (uint64_t)dur + sim_rng_range(r, 1000, 30000);
        }
        while (dv->next_ntp_ms < t1) {
            sim__v4(&b, SIM_V4(1, 1, 1 + sim_rng_below(r, 8)));
            struct conv c;
            sim__conv_init(&c, dv->next_ntp_ms, 30, &a, hi, &b, -1, 17, 123, 123);
            c.pkts_ab = c.pkts_ba = 1;
            c.bytes_ab = c.bytes_ba = 76;
            int rc = sim__conv_emit(s, &c);
            if (rc)
                return rc;
            dv->next_ntp_ms += 3600000 + sim_rng_below(r, 600000);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Bots.                                                                                     */

static const uint16_t mozi_scan_ports[] = {23, 2323, 80, 8080, 7547, 37215, 52869, 5555, 8443};

static int bot_c2_sessions(struct sim *s, struct sim_infection *in, uint64_t t1)
{
    struct sim_rng *r = &s->tr;
    struct sim_c2 *cc = &s->w.c2[in->c2];
    const struct sim_device *dv = &s->w.devices[in->device];
    int64_t hi = dv->host;
    const struct sim_host *h = &s->w.hosts[hi];
    while (in->next_c2_ms < t1 && in->next_c2_ms < in->end_ms && in->next_c2_ms < s->w.end_ms) {
        uint64_t st = in->next_c2_ms;
        unsigned ai = sim_world_c2_addr_index(cc, st);
        uint64_t change = ai + 1 < cc->naddr ? cc->from[ai + 1] : SIM_NO_END;
        uint64_t end = st + (uint64_t)sim_rng_exp(r, 3 * 3600000.0);
        int moved = 0;
        if (change < end) {
            end = change;
            moved = 1;
        }
        if (in->end_ms < end)
            end = in->end_ms;
        if (end <= st + 200)
            end = st + 200;
        /* Mirai resolves its C&C name before each connection (8.8.8.8 in the source; the
         * simulated public resolver here) */
        int rc = sim__dns_query(s, st, hi, SIM_V4(1, 8, 8));
        if (rc)
            return rc;
        struct conv c;
        struct ipaddr a, b;
        sim_world_host_addr(&s->w, h, 0, &a);
        sim__v4(&b, cc->addr[ai]);
        sim__conv_init(&c, st + 40, end - st - 40, &a, hi, &b, -1, 6, sim__ephemeral(s), cc->port);
        /* the connection's opening, then one keep-alive exchange per period: each direction
         * carries beats + 1 packets spread evenly, so its packets are keepalive_s apart */
        uint64_t beats = (end - st) / (cc->keepalive_s * 1000ull);
        c.pkts_ab = 1 + beats;
        c.pkts_ba = 1 + beats;
        uint64_t pay = in->family == FAM_MIRAI ? 2 : 5; /* Mirai: 2-byte ping; Gafgyt PING/PONG */
        c.bytes_ab = c.pkts_ab * 40 + beats * pay + 4 * 40 + 32; /* + handshake and login */
        c.bytes_ba = c.pkts_ba * 40 + beats * pay + 3 * 40;
        rc = sim__conv_emit(s, &c);
        if (rc)
            return rc;
        in->c2_mask |= (uint8_t)(1u << ai);
        in->next_c2_ms =
            end + (moved ? sim_rng_range(r, 10000, 300000) : sim_rng_range(r, 1000, 60000));
    }
    return 0;
}

int sim__gen_bots(struct sim *s, uint64_t t0, uint64_t t1)
{
    struct sim_rng *r = &s->tr;
    s->nmozi_active = 0;
    for (unsigned i = 0; i < s->w.ninf; i++) {
        const struct sim_infection *in = &s->w.inf[i];
        if (in->family == FAM_MOZI && in->start_ms < t1 && in->end_ms > t0)
            s->mozi_active[s->nmozi_active++] = i;
    }
    for (unsigned i = 0; i < s->w.ninf; i++) {
        struct sim_infection *in = &s->w.inf[i];
        uint64_t a = in->start_ms > t0 ? in->start_ms : t0;
        uint64_t b = in->end_ms < t1 ? in->end_ms : t1;
        if (a >= b)
            continue;
        double secs = (double)(b - a) / 1000.0;
        int rc = 0;
        const struct sim_device *dv = &s->w.devices[in->device];
        int64_t hi = dv->host;
        if (in->family == FAM_MIRAI) {
            uint64_t n = sim_rng_poisson(r, s->p->scan_pps * secs);
            for (uint64_t k = 0; k < n && !rc; k++)
                /* scanner.c: port 23 nine times in ten, 2323 otherwise */
                rc = sim__bot_probe(s, in, a + sim_rng_below(r, b - a),
                                    sim_rng_chance(r, 0.9) ? 23 : 2323, 1, 0);
            uint64_t rep = sim_rng_poisson(r, secs / 600.0);
            const struct sim_c2 *cc = &s->w.c2[in->c2];
            for (uint64_t k = 0; k < rep && !rc; k++) {
                uint64_t t = a + sim_rng_below(r, b - a);
                rc = sim__dns_query(s, t, hi, SIM_V4(1, 8, 8));
                if (!rc)
                    rc = sim__tcp_exchange(s, t + 30, 400, s->w.hosts[hi].v4, cc->report_addr,
                                           48101, 5, 5 * 40 + 24, 3, 120);
            }
        } else if (in->family == FAM_GAFGYT) {
            uint64_t n = sim_rng_poisson(r, 0.3 * s->p->scan_pps * secs);
            for (uint64_t k = 0; k < n && !rc; k++)
                rc = sim__bot_probe(s, in, a + sim_rng_below(r, b - a),
                                    sim_rng_chance(r, 0.8) ? 23 : 22, 0, 0);
        } else {
            uint64_t n = sim_rng_poisson(r, 0.3 * s->p->scan_pps * secs);
            for (uint64_t k = 0; k < n && !rc; k++)
                rc = sim__bot_probe(s, in, a + sim_rng_below(r, b - a),
                                    mozi_scan_ports[sim_rng_below(r, 9)], 0, 0);
            /* DHT traffic: UDP exchanges with other Mozi nodes, no central server */
            uint64_t x = sim_rng_poisson(r, secs / 20.0);
            for (uint64_t k = 0; k < x && !rc; k++) {
                uint64_t t = a + sim_rng_below(r, b - a);
                double u = sim_rng_unit(r);
                uint32_t peer;
                uint16_t pport;
                if (u < 0.4 && s->nmozi_active > 1) {
                    const struct sim_infection *o =
                        &s->w.inf[s->mozi_active[sim_rng_below(r, s->nmozi_active)]];
                    if (o == in || !sim_world_inf_active(o, t))
                        continue;
                    peer = s->w.hosts[s->w.devices[o->device].host].v4;
                    pport = o->p2p_port;
                } else if (u < 0.9 && s->w.nmozi_nodes) {
                    peer = s->w.mozi_nodes[sim_rng_below(r, s->w.nmozi_nodes)];
                    pport = (uint16_t)(1024 + hash_mix64(peer) % 64511);
                } else {
                    peer = SIM_V4(1, 6, 1 + sim_rng_below(r, 8)); /* DHT bootstrap nodes */
                    pport = 6881;
                }
                struct conv c;
                struct ipaddr pa, pb;
                sim_world_host_addr(&s->w, &s->w.hosts[hi], 0, &pa);
                sim__v4(&pb, peer);
                sim__conv_init(&c, t, sim_rng_range(r, 20, 400), &pa, hi, &pb,
                               sim_world_host_of(&s->w, peer), 17, in->p2p_port, pport);
                c.pkts_ab = 1;
                c.pkts_ba = sim_rng_chance(r, 0.8);
                c.bytes_ab = 28 + sim_rng_range(r, 90, 420);
                c.bytes_ba = c.pkts_ba ? 28 + sim_rng_range(r, 90, 420) : 0;
                rc = sim__conv_emit(s, &c);
            }
        }
        if (!rc && in->family != FAM_MOZI)
            rc = bot_c2_sessions(s, in, t1);
        if (rc)
            return rc;
    }
    return 0;
}

/* The flows that lead to an infection: a probe and a telnet brute force by the spreading bot,
 * its report, the loader's login and the new bot's download (Mirai, Gafgyt); an exploit
 * request and a download from the infecting peer (Mozi). */
int sim__gen_chains(struct sim *s, uint64_t t0, uint64_t t1)
{
    for (unsigned i = 0; i < s->w.ninf; i++) {
        const struct sim_infection *in = &s->w.inf[i];
        if (in->vector == VEC_INITIAL)
            continue;
        uint64_t c0 = in->start_ms - 60000;
        if (c0 < t0 || c0 >= t1)
            continue;
        const struct sim_device *dv = &s->w.devices[in->device];
        uint32_t dev = s->w.hosts[dv->host].v4;
        uint32_t spreader;
        if (in->infected_by >= 0)
            spreader = s->w.hosts[s->w.devices[s->w.inf[in->infected_by].device].host].v4;
        else
            spreader =
                s->w.nextbots ? s->w.extbots[hash_mix64(i) % s->w.nextbots].addr : SIM_V4(4, 0, 1);
        int rc;
        if (in->family == FAM_MOZI || in->vector == VEC_EXPLOIT) {
            uint16_t port = mozi_scan_ports[2 + hash_mix64(i) % 7];
            rc = sim__tcp_exchange(s, c0, 800, spreader, dev, port, 5, 5 * 40 + 400, 4,
                                   4 * 40 + 200);
            if (!rc)
                rc = sim__tcp_exchange(s, in->start_ms - 20000, 15000, dev, spreader,
                                       (uint16_t)(1024 + hash_mix64(spreader) % 60000), 60, 60 * 52,
                                       110, 110 * 1400);
            if (rc)
                return rc;
            continue;
        }
        const struct sim_c2 *cc = &s->w.c2[in->c2];
        if (in->infected_by >= 0 && in->family == FAM_MIRAI) {
            rc = sim__bot_probe(s, &s->w.inf[in->infected_by], c0, 23, 1, dev);
            if (rc)
                return rc;
        }
        rc = sim__tcp_exchange(s, c0 + 2000, 20000, spreader, dev, 23, 40, 40 * 48, 35, 35 * 60);
        if (!rc && cc->report_addr && in->infected_by >= 0)
            rc = sim__tcp_exchange(s, c0 + 23000, 400, spreader, cc->report_addr, 48101, 5, 224, 3,
                                   120);
        if (!rc)
            rc = sim__tcp_exchange(s, c0 + 35000, 12000, cc->loader_addr, dev, 23, 30, 30 * 80, 25,
                                   25 * 70);
        if (!rc)
            rc = sim__tcp_exchange(s, c0 + 50000, 6000, dev, cc->loader_addr, 80, 40, 40 * 52, 60,
                                   60 * 1400);
        if (rc)
            return rc;
    }
    return 0;
}

int sim__gen_attacks(struct sim *s, uint64_t t0, uint64_t t1)
{
    struct sim_rng *r = &s->tr;
    for (unsigned k = 0; k < s->w.natk; k++) {
        struct sim_attack *at = &s->w.atk[k];
        if (at->type == ATK_UDP_PLAIN) {
            if (at->start_ms < t0 || at->start_ms >= t1)
                continue;
            /* every bot of the ordering C&C floods the victim (non-spoofed UDP, fixed port) */
            for (unsigned i = 0; i < s->w.ninf; i++) {
                struct sim_infection *in = &s->w.inf[i];
                uint64_t st, en;
                if (!sim_world_attack_bot(&s->w, at, in, &st, &en))
                    continue;
                int64_t hi = s->w.devices[in->device].host;
                struct conv c;
                struct ipaddr a, b;
                sim_world_host_addr(&s->w, &s->w.hosts[hi], 0, &a);
                sim__v4(&b, at->victim);
                sim__conv_init(&c, st, en - st, &a, hi, &b, sim_world_host_of(&s->w, at->victim),
                               17, sim__ephemeral(s), at->port);
                c.pkts_ab = (uint64_t)((double)(en - st) / 1000.0 * at->bot_pps);
                c.bytes_ab = c.pkts_ab * (20 + 8 + 512);
                int rc = sim__conv_emit(s, &c);
                if (rc)
                    return rc;
                at->bots++;
                in->attacked = 1;
            }
            continue;
        }
        uint64_t a = at->start_ms > t0 ? at->start_ms : t0;
        uint64_t b = at->end_ms < t1 ? at->end_ms : t1;
        if (a >= b)
            continue;
        /* backscatter: the victim answers spoofed sources, some of which are darknet addresses */
        uint64_t n = sim_rng_poisson(r, at->backscatter_pps * (double)(b - a) / 1000.0);
        uint8_t ttl = (uint8_t)(at->ttl - sim__hops_of(at->victim));
        for (uint64_t i = 0; i < n; i++) {
            struct dpkt *d = sim__dk_add(s, a * 1000000ull + sim_rng_below(r, (b - a) * 1000000ull),
                                         DK_BACKSCATTER);
            if (!d)
                return s->err;
            d->src = at->victim;
            d->dst = sim__darknet_random(s, r);
            d->ttl = ttl;
            d->ip_id = (uint16_t)sim_rng_next(r);
            if (at->type == ATK_SYN_SPOOFED) {
                d->proto = 6;
                d->sport = at->port;
                d->dport = (uint16_t)sim_rng_range(r, 1024, 65535);
                d->ack = (uint32_t)sim_rng_next(r);
                int open = at->port == 80 || at->port == 443 || at->port == 22;
                if (open && !sim_rng_chance(r, 0.1)) {
                    d->flags = F_SYN | F_ACK;
                    d->seq = (uint32_t)sim_rng_next(r);
                    d->window = 65160;
                    d->style = STY_SYNACK;
                } else {
                    d->flags = F_RST | F_ACK;
                    d->seq = 0;
                    d->window = 0;
                }
            } else {
                d->proto = 1;
                d->icmp_type = 3; /* destination unreachable */
                d->icmp_code = 3; /* port unreachable */
                d->in_src = d->dst;
                d->in_dst = at->victim;
                d->in_sport = (uint16_t)sim_rng_range(r, 1024, 65535);
                d->in_dport = at->port;
                d->in_id = (uint16_t)sim_rng_next(r);
                d->in_ttl = (uint8_t)sim_rng_range(r, 40, 60);
            }
        }
    }
    return 0;
}

/* Background darknet traffic from the rest of the Internet. */
