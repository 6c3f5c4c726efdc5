#include "core/flow.h"

const char *flow_version_name(unsigned version)
{
    switch (version) {
    case FLOW_V5: return "5";
    case FLOW_V9: return "9";
    case FLOW_IPFIX: return "10";
    case FLOW_SFLOW5: return "sflow5";
    default: return "unknown";
    }
}

#include "core/jw.h"

int flow_to_ndjson(const struct flow_rec *r, struct buf *b)
{
    struct jw w;
    jw_open(&w, b);
    jw_ip(&w, "exporter", &r->exporter);
    if (r->version == FLOW_SFLOW5)
        jw_str(&w, "version", "sflow5");
    else
        jw_u64(&w, "version", r->version);
    jw_u64(&w, "obs_domain", r->obs_domain);
    jw_ip(&w, "src_addr", &r->src);
    jw_ip(&w, "dst_addr", &r->dst);
    jw_u64(&w, "src_port", r->src_port);
    jw_u64(&w, "dst_port", r->dst_port);
    jw_u64(&w, "proto", r->proto);
    jw_u64(&w, "tcp_flags", r->tcp_flags);
    jw_u64(&w, "packets", r->packets);
    jw_u64(&w, "bytes", r->bytes);
    jw_u64(&w, "sampling_rate", r->sampling_rate ? r->sampling_rate : 1);
    jw_u64(&w, "start_ms", r->start_ms);
    jw_u64(&w, "end_ms", r->end_ms);
    jw_u64(&w, "in_if", r->in_if);
    jw_u64(&w, "out_if", r->out_if);
    if (r->has & FLOW_HAS_SRC_AS)
        jw_u64(&w, "src_as", r->src_as);
    if (r->has & FLOW_HAS_DST_AS)
        jw_u64(&w, "dst_as", r->dst_as);
    if (r->has & FLOW_HAS_NEXTHOP)
        jw_ip(&w, "next_hop", &r->nexthop);
    if (r->has & FLOW_HAS_VLAN)
        jw_u64(&w, "vlan", r->vlan);
    if (r->has & FLOW_HAS_TOS)
        jw_u64(&w, "tos", r->tos);
    if (r->has & FLOW_HAS_MASKS) {
        jw_u64(&w, "src_mask", r->src_mask);
        jw_u64(&w, "dst_mask", r->dst_mask);
    }
    if (r->direction != FLOW_DIR_UNKNOWN)
        jw_str(&w, "direction", r->direction == FLOW_DIR_INGRESS ? "ingress" : "egress");
    return jw_close(&w);
}
