/* sim_truth.c - writes truth.json: the simulated world as the evaluation reads it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/jw.h"
#include "sim/sim_truth.h"
#include "sim/sim_world.h"

#define TRUTH_CHUNK (256u * 1024u)

static int file_write(void *ctx, const char *p, size_t n)
{
    return fwrite(p, 1, n, ctx) == n ? 0 : errno ? -errno : BS_EIO;
}

static void j_ip4(struct jw *j, const char *key, uint32_t v4)
{
    struct ipaddr a;
    ipaddr_from_v4(&a, v4);
    jw_ip(j, key, &a);
}

static void j_prefix4(struct jw *j, const char *key, uint32_t base, unsigned len)
{
    struct ipprefix p;
    ipaddr_from_v4(&p.addr, base);
    p.len = (uint8_t)(96 + len);
    char s[IPPREFIX_STRLEN];
    ipprefix_format(&p, s, sizeof s);
    jw_str(j, key, s);
}

static const char *fmt_name(enum sim_fmt f)
{
    return f == SIM_FMT_V9 ? "netflow_v9" : f == SIM_FMT_IPFIX ? "ipfix" : "sflow_v5";
}

static const char *vector_name(uint8_t v)
{
    return v == VEC_INITIAL  ? "already_infected"
           : v == VEC_TELNET ? "telnet_bruteforce"
                             : "exploit";
}

static const char *attack_name(uint8_t t)
{
    return t == ATK_UDP_PLAIN     ? "udp_flood"
           : t == ATK_SYN_SPOOFED ? "syn_flood_spoofed"
                                  : "udp_flood_spoofed";
}

static void write_device(struct jw *j, const struct sim_world *w, unsigned d)
{
    const struct sim_device *dv = &w->devices[d];
    const struct sim_model *m = &sim_world_models[dv->model];
    const struct sim_host *h = &w->hosts[dv->host];
    j_ip4(j, "addr", h->v4);
    jw_str(j, "isp", w->isp[h->isp].name);
    jw_str(j, "device_type", sim_world_devtype_name[m->type]);
    jw_str(j, "vendor", m->vendor);
    jw_str(j, "product", m->product);
    jw_str(j, "firmware", m->firmware[dv->fw]);
}

int sim_truth_write(const struct sim_world *w, const char *path, const struct sim_stats *st)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    const struct sim_params *p = &w->p;
    /* Streamed to the file in chunks: one top-level element (an infection, a device) at a
     * time must fit in the buffer's cap. */
    struct buf b = BUF_INIT(4 * TRUTH_CHUNK);
    struct jw j;
    jw_init(&j, &b);
    jw_set_indent(&j, 2);
    jw_set_sink(&j, file_write, f, TRUTH_CHUNK);
    jw_obj(&j, NULL);
    jw_str(&j, "generator", "botscope simulate");
    jw_bool(&j, "simulated", true);
    jw_u64(&j, "seed", p->seed);
    jw_u64(&j, "scale", p->scale);
    jw_u64(&j, "start_ms", p->start_ms);
    jw_u64(&j, "end_ms", w->end_ms);
    jw_u64(&j, "duration_ms", p->duration_ms);

    jw_obj(&j, "address_plan");
    j_prefix4(&j, "ipv4_space", SIM_V4(0, 0, 0), 8);
    j_prefix4(&j, "cdn", SIM_V4(0, 0, 0), 16);
    j_prefix4(&j, "services", SIM_V4(1, 0, 0), 16);
    j_ip4(&j, "public_resolver", SIM_V4(1, 8, 8));
    j_prefix4(&j, "hosting", SIM_V4(2, 0, 0), 16);
    j_prefix4(&j, "research_scanners", SIM_V4(3, 0, 0), 16);
    j_prefix4(&j, "rest_of_internet", SIM_V4(4, 0, 0), 14);
    jw_str(&j, "ipv6_space", "2001:db8::/32");
    jw_end(&j);

    jw_obj(&j, "darknet");
    jw_arr(&j, "prefixes");
    {
        char s[IPPREFIX_STRLEN];
        ipprefix_format(&p->darknet, s, sizeof s);
        jw_str(&j, NULL, s);
    }
    jw_end(&j);
    jw_u64(&j, "packet_interval_per_address_ms", p->darknet_interval_ms);
    jw_dbl(&j, "bot_scan_share", p->darknet_share);
    jw_u64(&j, "packets", st->darknet_packets);
    jw_obj(&j, "packets_by_source");
    for (unsigned k = 0; k < SIM_DK_KINDS; k++)
        jw_u64(&j, sim_dk_kind_name[k], st->darknet_kind[k]);
    jw_end(&j);
    jw_end(&j);

    jw_arr(&j, "isps");
    for (unsigned i = 0; i < w->nisp; i++) {
        const struct sim_isp *isp = &w->isp[i];
        jw_obj(&j, NULL);
        jw_str(&j, "name", isp->name);
        jw_u64(&j, "asn", isp->asn);
        jw_arr(&j, "prefixes");
        j_prefix4(&j, NULL, isp->v4_base, 12);
        char v6[64];
        snprintf(v6, sizeof v6, "2001:db8:%x00::/40", i + 1);
        jw_str(&j, NULL, v6);
        jw_end(&j);
        jw_arr(&j, "resolvers");
        j_ip4(&j, NULL, isp->resolver[0]);
        j_ip4(&j, NULL, isp->resolver[1]);
        jw_end(&j);
        j_ip4(&j, "collector", isp->collector);
        jw_u64(&j, "subscribers", isp->subscribers);
        jw_u64(&j, "iot_devices", isp->devices);
        jw_end(&j);
    }
    jw_end(&j);

    jw_arr(&j, "exporters");
    for (unsigned i = 0; i < w->nrouters; i++) {
        const struct sim_router *rt = &w->routers[i];
        jw_obj(&j, NULL);
        jw_str(&j, "name", rt->name);
        jw_str(&j, "isp", w->isp[rt->isp].name);
        j_ip4(&j, "addr", rt->addr);
        jw_str(&j, "format", fmt_name(rt->ex.fmt));
        jw_u64(&j, "version", rt->ex.fmt == SIM_FMT_SFLOW ? 5 : rt->ex.fmt);
        jw_u64(&j, "obs_domain", rt->ex.source_id);
        jw_u64(&j, "sampling_rate", rt->ex.sampling);
        j_ip4(&j, "collector", w->isp[rt->isp].collector);
        jw_u64(&j, "src_port", rt->sport);
        jw_u64(&j, "dst_port", rt->dport);
        jw_u64(&j, "boot_ms", rt->ex.boot_ms);
        if (rt->ex.fmt != SIM_FMT_SFLOW) {
            jw_u64(&j, "active_timeout_ms", p->active_timeout_ms);
            jw_u64(&j, "inactive_timeout_ms", p->inactive_timeout_ms);
            jw_u64(&j, "template_refresh_datagrams", p->template_every);
        }
        jw_u64(&j, "datagrams", rt->ex.datagrams);
        jw_u64(&j, "flow_records", rt->ex.data_records);
        jw_end(&j);
    }
    jw_end(&j);

    jw_arr(&j, "c2_servers");
    for (unsigned c = 0; c < w->nc2; c++) {
        const struct sim_c2 *cc = &w->c2[c];
        jw_obj(&j, NULL);
        jw_u64(&j, "id", c);
        jw_str(&j, "family", sim_world_family_name[cc->family]);
        jw_str(&j, "proto", "tcp");
        jw_u64(&j, "port", cc->port);
        jw_u64(&j, "keepalive_s", cc->keepalive_s);
        jw_arr(&j, "addresses");
        for (unsigned a = 0; a < cc->naddr; a++) {
            jw_obj(&j, NULL);
            j_ip4(&j, "addr", cc->addr[a]);
            jw_u64(&j, "first_ms", cc->from[a]);
            jw_u64(&j, "last_ms", a + 1 < cc->naddr ? cc->from[a + 1] : w->end_ms);
            jw_arr(&j, "bots");
            for (unsigned i = 0; i < w->ninf; i++) {
                const struct sim_infection *in = &w->inf[i];
                if (in->family != FAM_MOZI && in->c2 == c && (in->c2_mask >> a) & 1)
                    j_ip4(&j, NULL, w->hosts[w->devices[in->device].host].v4);
            }
            jw_end(&j);
            jw_end(&j);
        }
        jw_end(&j);
        if (cc->report_addr) {
            jw_obj(&j, "report_server");
            j_ip4(&j, "addr", cc->report_addr);
            jw_u64(&j, "port", 48101);
            jw_end(&j);
        }
        jw_obj(&j, "loader");
        j_ip4(&j, "addr", cc->loader_addr);
        jw_u64(&j, "port", 80);
        jw_end(&j);
        jw_end(&j);
    }
    jw_end(&j);

    jw_arr(&j, "p2p_botnets");
    jw_obj(&j, NULL);
    jw_str(&j, "family", "mozi");
    jw_str(&j, "proto", "udp");
    jw_arr(&j, "bootstrap_nodes");
    for (unsigned k = 1; k <= 8; k++)
        j_ip4(&j, NULL, SIM_V4(1, 6, k));
    jw_end(&j);
    jw_u64(&j, "bootstrap_port", 6881);
    jw_u64(&j, "external_nodes", w->nmozi_nodes);
    jw_end(&j);
    jw_end(&j);

    jw_arr(&j, "infections");
    for (unsigned i = 0; i < w->ninf; i++) {
        const struct sim_infection *in = &w->inf[i];
        const struct sim_host *h = &w->hosts[w->devices[in->device].host];
        jw_obj(&j, NULL);
        write_device(&j, w, in->device);
        jw_str(&j, "exporter", w->routers[h->router].name);
        jw_str(&j, "family", sim_world_family_name[in->family]);
        jw_str(&j, "vector", vector_name(in->vector));
        if (in->infected_by >= 0)
            j_ip4(&j, "infected_by", w->hosts[w->devices[w->inf[in->infected_by].device].host].v4);
        if (in->family != FAM_MOZI)
            jw_u64(&j, "c2", in->c2);
        else
            jw_u64(&j, "p2p_port", in->p2p_port);
        jw_u64(&j, "first_ms", in->start_ms);
        jw_u64(&j, "last_ms", in->end_ms == SIM_NO_END ? w->end_ms : in->end_ms);
        jw_bool(&j, "cleaned", in->cleaned);
        jw_end(&j);
    }
    jw_end(&j);

    jw_arr(&j, "vulnerable_devices");
    for (unsigned d = 0; d < w->ndevices; d++) {
        const struct sim_device *dv = &w->devices[d];
        const struct sim_model *m = &sim_world_models[dv->model];
        int vfw = (m->vuln_fw_mask >> dv->fw) & 1;
        if (!dv->cred && !vfw)
            continue;
        jw_obj(&j, NULL);
        write_device(&j, w, d);
        jw_arr(&j, "open_ports");
        jw_u64(&j, NULL, 23);
        jw_u64(&j, NULL, 80);
        if (m->cloud_port != 443 && m->cloud_port != 80)
            jw_u64(&j, NULL, m->cloud_port);
        jw_end(&j);
        if (dv->cred) {
            jw_obj(&j, "weak_credential");
            jw_str(&j, "username", sim_world_weak_creds[dv->cred][0]);
            jw_str(&j, "password", sim_world_weak_creds[dv->cred][1]);
            jw_end(&j);
        }
        jw_bool(&j, "vulnerable_firmware", vfw);
        jw_arr(&j, "cves");
        if (vfw) {
            char buf[128];
            snprintf(buf, sizeof buf, "%s", m->cves);
            char *save = NULL;
            for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
                jw_str(&j, NULL, t);
        }
        jw_end(&j);
        jw_bool(&j, "infected", dv->infection >= 0);
        jw_end(&j);
    }
    jw_end(&j);

    jw_arr(&j, "ddos_attacks");
    for (unsigned a = 0; a < w->natk; a++) {
        const struct sim_attack *at = &w->atk[a];
        jw_obj(&j, NULL);
        j_ip4(&j, "victim", at->victim);
        jw_str(&j, "type", attack_name(at->type));
        jw_str(&j, "proto", at->type == ATK_SYN_SPOOFED ? "tcp" : "udp");
        jw_u64(&j, "port", at->port);
        jw_u64(&j, "first_ms", at->start_ms);
        jw_u64(&j, "last_ms", at->end_ms);
        jw_u64(&j, "c2", at->c2);
        jw_bool(&j, "spoofed", at->type != ATK_UDP_PLAIN);
        jw_bool(&j, "backscatter", at->type != ATK_UDP_PLAIN);
        if (at->type != ATK_UDP_PLAIN)
            jw_dbl(&j, "backscatter_pps", at->backscatter_pps);
        else
            jw_dbl(&j, "bot_pps", at->bot_pps);
        jw_arr(&j, "bots");
        for (unsigned i = 0; i < w->ninf; i++) {
            uint64_t s0, e0;
            if (sim_world_attack_bot(w, at, &w->inf[i], &s0, &e0))
                j_ip4(&j, NULL, w->hosts[w->devices[w->inf[i].device].host].v4);
        }
        jw_end(&j);
        jw_end(&j);
    }
    jw_end(&j);

    jw_arr(&j, "research_scanners");
    for (unsigned k = 0; k < w->nscanners; k++) {
        const struct sim_scanner *sc = &w->scanners[k];
        jw_obj(&j, NULL);
        j_ip4(&j, "addr", sc->addr);
        jw_str(&j, "tool", sc->tool == 0 ? "zmap" : "masscan");
        jw_arr(&j, "ports");
        for (unsigned q = 0; q < sc->nports; q++)
            jw_u64(&j, NULL, sc->ports[q]);
        jw_end(&j);
        jw_u64(&j, "first_ms", sc->start_ms);
        jw_u64(&j, "last_ms", sc->end_ms);
        jw_end(&j);
    }
    jw_end(&j);

    jw_arr(&j, "external_infected");
    for (unsigned k = 0; k < w->nextbots; k++) {
        jw_obj(&j, NULL);
        j_ip4(&j, "addr", w->extbots[k].addr);
        jw_str(&j, "family", sim_world_family_name[w->extbots[k].family]);
        jw_end(&j);
    }
    jw_end(&j);

    jw_obj(&j, "outputs");
    jw_obj(&j, "exports");
    jw_str(&j, "file", "exports.pcap");
    jw_u64(&j, "datagrams", st->export_datagrams);
    jw_u64(&j, "flow_records", st->flow_records);
    jw_u64(&j, "v9_records", st->v9_records);
    jw_u64(&j, "ipfix_records", st->ipfix_records);
    jw_u64(&j, "sflow_samples", st->sflow_samples);
    jw_u64(&j, "bytes", st->export_bytes);
    jw_end(&j);
    jw_obj(&j, "darknet");
    jw_str(&j, "file", "darknet.pcap");
    jw_u64(&j, "packets", st->darknet_packets);
    jw_u64(&j, "bytes", st->darknet_bytes);
    jw_end(&j);
    jw_end(&j);
    jw_end(&j);
    int rc = jw_close(&j);
    buf_release(&b);
    if (fclose(f) && !rc)
        rc = -errno;
    return rc;
}
