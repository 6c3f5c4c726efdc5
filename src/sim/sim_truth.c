/* sim_truth.c - writes truth.json: the simulated world as the evaluation reads it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "sim/sim_json.h"
#include "sim/sim_truth.h"
#include "sim/sim_world.h"

static void j_ip4(struct sim_json *j, const char *key, uint32_t v4)
{
    struct ipaddr a;
    ipaddr_from_v4(&a, v4);
    sim_json_ip(j, key, &a);
}

static void j_prefix4(struct sim_json *j, const char *key, uint32_t base, unsigned len)
{
    struct ipprefix p;
    ipaddr_from_v4(&p.addr, base);
    p.len = (uint8_t)(96 + len);
    char s[IPPREFIX_STRLEN];
    ipprefix_format(&p, s, sizeof s);
    sim_json_str(j, key, s);
}

static const char *fmt_name(enum sim_fmt f)
{
    return f == SIM_FMT_V9 ? "netflow_v9" : f == SIM_FMT_IPFIX ? "ipfix" : "sflow_v5";
}

static const char *vector_name(uint8_t v)
{
    return v == VEC_INITIAL ? "already_infected" : v == VEC_TELNET ? "telnet_bruteforce" : "exploit";
}

static const char *attack_name(uint8_t t)
{
    return t == ATK_UDP_PLAIN ? "udp_flood" : t == ATK_SYN_SPOOFED ? "syn_flood_spoofed"
                                                                   : "udp_flood_spoofed";
}

static void write_device(struct sim_json *j, const struct sim_world *w, unsigned d)
{
    const struct sim_device *dv = &w->devices[d];
    const struct sim_model *m = &sim_world_models[dv->model];
    const struct sim_host *h = &w->hosts[dv->host];
    j_ip4(j, "addr", h->v4);
    sim_json_str(j, "isp", w->isp[h->isp].name);
    sim_json_str(j, "device_type", sim_world_devtype_name[m->type]);
    sim_json_str(j, "vendor", m->vendor);
    sim_json_str(j, "product", m->product);
    sim_json_str(j, "firmware", m->firmware[dv->fw]);
}

int sim_truth_write(const struct sim_world *w, const char *path, const struct sim_stats *st)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    const struct sim_params *p = &w->p;
    struct sim_json j;
    sim_json_init(&j, f);
    sim_json_obj(&j, NULL);
    sim_json_str(&j, "generator", "botscope simulate");
    sim_json_bool(&j, "simulated", true);
    sim_json_u64(&j, "seed", p->seed);
    sim_json_u64(&j, "scale", p->scale);
    sim_json_u64(&j, "start_ms", p->start_ms);
    sim_json_u64(&j, "end_ms", w->end_ms);
    sim_json_u64(&j, "duration_ms", p->duration_ms);

    sim_json_obj(&j, "address_plan");
    j_prefix4(&j, "ipv4_space", SIM_V4(0, 0, 0), 8);
    j_prefix4(&j, "cdn", SIM_V4(0, 0, 0), 16);
    j_prefix4(&j, "services", SIM_V4(1, 0, 0), 16);
    j_ip4(&j, "public_resolver", SIM_V4(1, 8, 8));
    j_prefix4(&j, "hosting", SIM_V4(2, 0, 0), 16);
    j_prefix4(&j, "research_scanners", SIM_V4(3, 0, 0), 16);
    j_prefix4(&j, "rest_of_internet", SIM_V4(4, 0, 0), 14);
    sim_json_str(&j, "ipv6_space", "2001:db8::/32");
    sim_json_end(&j);

    sim_json_obj(&j, "darknet");
    sim_json_arr(&j, "prefixes");
    {
        char s[IPPREFIX_STRLEN];
        ipprefix_format(&p->darknet, s, sizeof s);
        sim_json_str(&j, NULL, s);
    }
    sim_json_end(&j);
    sim_json_u64(&j, "packet_interval_per_address_ms", p->darknet_interval_ms);
    sim_json_dbl(&j, "bot_scan_share", p->darknet_share);
    sim_json_u64(&j, "packets", st->darknet_packets);
    sim_json_obj(&j, "packets_by_source");
    for (unsigned k = 0; k < SIM_DK_KINDS; k++)
        sim_json_u64(&j, sim_dk_kind_name[k], st->darknet_kind[k]);
    sim_json_end(&j);
    sim_json_end(&j);

    sim_json_arr(&j, "isps");
    for (unsigned i = 0; i < w->nisp; i++) {
        const struct sim_isp *isp = &w->isp[i];
        sim_json_obj(&j, NULL);
        sim_json_str(&j, "name", isp->name);
        sim_json_u64(&j, "asn", isp->asn);
        sim_json_arr(&j, "prefixes");
        j_prefix4(&j, NULL, isp->v4_base, 12);
        char v6[64];
        snprintf(v6, sizeof v6, "2001:db8:%x00::/40", i + 1);
        sim_json_str(&j, NULL, v6);
        sim_json_end(&j);
        sim_json_arr(&j, "resolvers");
        j_ip4(&j, NULL, isp->resolver[0]);
        j_ip4(&j, NULL, isp->resolver[1]);
        sim_json_end(&j);
        j_ip4(&j, "collector", isp->collector);
        sim_json_u64(&j, "subscribers", isp->subscribers);
        sim_json_u64(&j, "iot_devices", isp->devices);
        sim_json_end(&j);
    }
    sim_json_end(&j);

    sim_json_arr(&j, "exporters");
    for (unsigned i = 0; i < w->nrouters; i++) {
        const struct sim_router *rt = &w->routers[i];
        sim_json_obj(&j, NULL);
        sim_json_str(&j, "name", rt->name);
        sim_json_str(&j, "isp", w->isp[rt->isp].name);
        j_ip4(&j, "addr", rt->addr);
        sim_json_str(&j, "format", fmt_name(rt->ex.fmt));
        sim_json_u64(&j, "version", rt->ex.fmt == SIM_FMT_SFLOW ? 5 : rt->ex.fmt);
        sim_json_u64(&j, "obs_domain", rt->ex.source_id);
        sim_json_u64(&j, "sampling_rate", rt->ex.sampling);
        j_ip4(&j, "collector", w->isp[rt->isp].collector);
        sim_json_u64(&j, "src_port", rt->sport);
        sim_json_u64(&j, "dst_port", rt->dport);
        sim_json_u64(&j, "boot_ms", rt->ex.boot_ms);
        if (rt->ex.fmt != SIM_FMT_SFLOW) {
            sim_json_u64(&j, "active_timeout_ms", p->active_timeout_ms);
            sim_json_u64(&j, "inactive_timeout_ms", p->inactive_timeout_ms);
            sim_json_u64(&j, "template_refresh_datagrams", p->template_every);
        }
        sim_json_u64(&j, "datagrams", rt->ex.datagrams);
        sim_json_u64(&j, "flow_records", rt->ex.data_records);
        sim_json_end(&j);
    }
    sim_json_end(&j);

    sim_json_arr(&j, "c2_servers");
    for (unsigned c = 0; c < w->nc2; c++) {
        const struct sim_c2 *cc = &w->c2[c];
        sim_json_obj(&j, NULL);
        sim_json_u64(&j, "id", c);
        sim_json_str(&j, "family", sim_world_family_name[cc->family]);
        sim_json_str(&j, "proto", "tcp");
        sim_json_u64(&j, "port", cc->port);
        sim_json_u64(&j, "keepalive_s", cc->keepalive_s);
        sim_json_arr(&j, "addresses");
        for (unsigned a = 0; a < cc->naddr; a++) {
            sim_json_obj(&j, NULL);
            j_ip4(&j, "addr", cc->addr[a]);
            sim_json_u64(&j, "first_ms", cc->from[a]);
            sim_json_u64(&j, "last_ms", a + 1 < cc->naddr ? cc->from[a + 1] : w->end_ms);
            sim_json_arr(&j, "bots");
            for (unsigned i = 0; i < w->ninf; i++) {
                const struct sim_infection *in = &w->inf[i];
                if (in->family != FAM_MOZI && in->c2 == c && (in->c2_mask >> a) & 1)
                    j_ip4(&j, NULL, w->hosts[w->devices[in->device].host].v4);
            }
            sim_json_end(&j);
            sim_json_end(&j);
        }
        sim_json_end(&j);
        if (cc->report_addr) {
            sim_json_obj(&j, "report_server");
            j_ip4(&j, "addr", cc->report_addr);
            sim_json_u64(&j, "port", 48101);
            sim_json_end(&j);
        }
        sim_json_obj(&j, "loader");
        j_ip4(&j, "addr", cc->loader_addr);
        sim_json_u64(&j, "port", 80);
        sim_json_end(&j);
        sim_json_end(&j);
    }
    sim_json_end(&j);

    sim_json_arr(&j, "p2p_botnets");
    sim_json_obj(&j, NULL);
    sim_json_str(&j, "family", "mozi");
    sim_json_str(&j, "proto", "udp");
    sim_json_arr(&j, "bootstrap_nodes");
    for (unsigned k = 1; k <= 8; k++)
        j_ip4(&j, NULL, SIM_V4(1, 6, k));
    sim_json_end(&j);
    sim_json_u64(&j, "bootstrap_port", 6881);
    sim_json_u64(&j, "external_nodes", w->nmozi_nodes);
    sim_json_end(&j);
    sim_json_end(&j);

    sim_json_arr(&j, "infections");
    for (unsigned i = 0; i < w->ninf; i++) {
        const struct sim_infection *in = &w->inf[i];
        const struct sim_host *h = &w->hosts[w->devices[in->device].host];
        sim_json_obj(&j, NULL);
        write_device(&j, w, in->device);
        sim_json_str(&j, "exporter", w->routers[h->router].name);
        sim_json_str(&j, "family", sim_world_family_name[in->family]);
        sim_json_str(&j, "vector", vector_name(in->vector));
        if (in->infected_by >= 0)
            j_ip4(&j, "infected_by",
                  w->hosts[w->devices[w->inf[in->infected_by].device].host].v4);
        if (in->family != FAM_MOZI)
            sim_json_u64(&j, "c2", in->c2);
        else
            sim_json_u64(&j, "p2p_port", in->p2p_port);
        sim_json_u64(&j, "first_ms", in->start_ms);
        sim_json_u64(&j, "last_ms", in->end_ms == SIM_NO_END ? w->end_ms : in->end_ms);
        sim_json_bool(&j, "cleaned", in->cleaned);
        sim_json_end(&j);
    }
    sim_json_end(&j);

    sim_json_arr(&j, "vulnerable_devices");
    for (unsigned d = 0; d < w->ndevices; d++) {
        const struct sim_device *dv = &w->devices[d];
        const struct sim_model *m = &sim_world_models[dv->model];
        int vfw = (m->vuln_fw_mask >> dv->fw) & 1;
        if (!dv->cred && !vfw)
            continue;
        sim_json_obj(&j, NULL);
        write_device(&j, w, d);
        sim_json_arr(&j, "open_ports");
        sim_json_u64(&j, NULL, 23);
        sim_json_u64(&j, NULL, 80);
        if (m->cloud_port != 443 && m->cloud_port != 80)
            sim_json_u64(&j, NULL, m->cloud_port);
        sim_json_end(&j);
        if (dv->cred) {
            sim_json_obj(&j, "weak_credential");
            sim_json_str(&j, "username", sim_world_weak_creds[dv->cred][0]);
            sim_json_str(&j, "password", sim_world_weak_creds[dv->cred][1]);
            sim_json_end(&j);
        }
        sim_json_bool(&j, "vulnerable_firmware", vfw);
        sim_json_arr(&j, "cves");
        if (vfw) {
            char buf[128];
            snprintf(buf, sizeof buf, "%s", m->cves);
            char *save = NULL;
            for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
                sim_json_str(&j, NULL, t);
        }
        sim_json_end(&j);
        sim_json_bool(&j, "infected", dv->infection >= 0);
        sim_json_end(&j);
    }
    sim_json_end(&j);

    sim_json_arr(&j, "ddos_attacks");
    for (unsigned a = 0; a < w->natk; a++) {
        const struct sim_attack *at = &w->atk[a];
        sim_json_obj(&j, NULL);
        j_ip4(&j, "victim", at->victim);
        sim_json_str(&j, "type", attack_name(at->type));
        sim_json_str(&j, "proto", at->type == ATK_SYN_SPOOFED ? "tcp" : "udp");
        sim_json_u64(&j, "port", at->port);
        sim_json_u64(&j, "first_ms", at->start_ms);
        sim_json_u64(&j, "last_ms", at->end_ms);
        sim_json_u64(&j, "c2", at->c2);
        sim_json_bool(&j, "spoofed", at->type != ATK_UDP_PLAIN);
        sim_json_bool(&j, "backscatter", at->type != ATK_UDP_PLAIN);
        if (at->type != ATK_UDP_PLAIN)
            sim_json_dbl(&j, "backscatter_pps", at->backscatter_pps);
        else
            sim_json_dbl(&j, "bot_pps", at->bot_pps);
        sim_json_arr(&j, "bots");
        for (unsigned i = 0; i < w->ninf; i++) {
            uint64_t s0, e0;
            if (sim_world_attack_bot(w, at, &w->inf[i], &s0, &e0))
                j_ip4(&j, NULL, w->hosts[w->devices[w->inf[i].device].host].v4);
        }
        sim_json_end(&j);
        sim_json_end(&j);
    }
    sim_json_end(&j);

    sim_json_arr(&j, "research_scanners");
    for (unsigned k = 0; k < w->nscanners; k++) {
        const struct sim_scanner *sc = &w->scanners[k];
        sim_json_obj(&j, NULL);
        j_ip4(&j, "addr", sc->addr);
        sim_json_str(&j, "tool", sc->tool == 0 ? "zmap" : "masscan");
        sim_json_arr(&j, "ports");
        for (unsigned q = 0; q < sc->nports; q++)
            sim_json_u64(&j, NULL, sc->ports[q]);
        sim_json_end(&j);
        sim_json_u64(&j, "first_ms", sc->start_ms);
        sim_json_u64(&j, "last_ms", sc->end_ms);
        sim_json_end(&j);
    }
    sim_json_end(&j);

    sim_json_arr(&j, "external_infected");
    for (unsigned k = 0; k < w->nextbots; k++) {
        sim_json_obj(&j, NULL);
        j_ip4(&j, "addr", w->extbots[k].addr);
        sim_json_str(&j, "family", sim_world_family_name[w->extbots[k].family]);
        sim_json_end(&j);
    }
    sim_json_end(&j);

    sim_json_obj(&j, "outputs");
    sim_json_obj(&j, "exports");
    sim_json_str(&j, "file", "exports.pcap");
    sim_json_u64(&j, "datagrams", st->export_datagrams);
    sim_json_u64(&j, "flow_records", st->flow_records);
    sim_json_u64(&j, "v9_records", st->v9_records);
    sim_json_u64(&j, "ipfix_records", st->ipfix_records);
    sim_json_u64(&j, "sflow_samples", st->sflow_samples);
    sim_json_u64(&j, "bytes", st->export_bytes);
    sim_json_end(&j);
    sim_json_obj(&j, "darknet");
    sim_json_str(&j, "file", "darknet.pcap");
    sim_json_u64(&j, "packets", st->darknet_packets);
    sim_json_u64(&j, "bytes", st->darknet_bytes);
    sim_json_end(&j);
    sim_json_end(&j);
    sim_json_end(&j);
    int rc = sim_json_finish(&j);
    if (fclose(f) && !rc)
        rc = -errno;
    return rc;
}
