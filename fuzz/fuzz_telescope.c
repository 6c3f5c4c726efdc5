/* fuzz_telescope.c - the telescope's packet path: decode, darknet test, classification,
 * source profiles, victims and interval aggregation, with a fixed darknet.
 *
 * Input: a sequence of records [len:u16 BE][link:u8][dt:u8][len bytes]; link 0 = Ethernet,
 * 1 = raw IP; dt advances the capture clock by dt seconds (so intervals, roll-ups, days and
 * attack expiry are exercised). A short trailing record takes the rest of the input. The
 * engine writes to a sink that aborts on a source record that contradicts itself (first after
 * last, more ports than packets, ...). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "telescope/tel_engine.h"

static int sink_interval(void *st, const struct tel_engine *e, const struct tel_bucket *b,
                         uint32_t r)
{
    struct tel_port_row rows[8];
    tel_bucket_top_ports(b, -1, true, rows, 8);
    tel_bucket_top_ports(b, 0, false, rows, 8);
    return 0;
}

/* A profile as written must be self-consistent whatever the input was. */
static int sink_source(void *st, const struct tel_engine *e, const struct tel_src_rec *r)
{
    char buf[64];
    tel_engine_addr_text(e, &r->addr, buf, sizeof buf);
    if (r->first_ms > r->last_ms || !r->packets || r->nports > TEL_SRC_PORTS ||
        r->nports > r->packets || r->port_count < r->nports || !r->scan_class ||
        (r->nports < TEL_SRC_PORTS && r->port_count != r->nports) || r->syn_packets > r->packets ||
        r->iot_packets > r->syn_packets)
        abort();
    return 0;
}

static int sink_victim(void *st, const struct tel_engine *e, const struct tel_victim *v)
{
    return 0;
}

static const struct tel_sink_ops fuzz_sink = {"fuzz", sink_interval, sink_source, sink_victim};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One engine for the whole run, reset before each input (tel_engine_reset gives what a fresh
 * engine gives: test_engine_reset_gives_what_a_fresh_engine_gives): creating one per input
 * spent most of the time faulting in fresh tables, ~90 inputs/s. */
static struct tel_engine *engine(void)
{
    static struct tel_engine *e;
    if (e)
        return e;
    static struct tel_pmap_entry dk[2];
    if (tel_pmap_parse_list("198.18.0.0/15,2001:db8:dead::/48", dk, 2) != 2)
        abort();
    struct tel_opts o;
    tel_opts_defaults(&o);
    o.darknet = dk;
    o.n_darknet = 2;
    o.max_sources = 64;
    o.max_victims = 16;
    o.sinks[0] = (struct tel_sink){&fuzz_sink, NULL};
    o.n_sinks = 1;
    char err[256];
    if (tel_engine_new(&o, &e, err, sizeof err))
        abort();
    return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tel_engine *e = engine();
    tel_engine_reset(e);
    uint64_t ts = 1700000000000000ull;
    size_t off = 0;
    while (off + 4 <= size) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];
        enum pkt_link link = (data[off + 2] & 1) ? PKT_LINK_RAW : PKT_LINK_ETHERNET;
        ts += (uint64_t)data[off + 3] * 1000000u;
        off += 4;
        if (len > size - off)
            len = size - off;
        tel_engine_packet(e, ts, data + off, (uint32_t)len, (uint32_t)len, link);
        off += len;
    }
    tel_engine_finish(e);
    return 0;
}
