/* nf_testbuf.h - helpers for the NetFlow/IPFIX unit tests: a byte builder for hand-made
 * datagrams and a sink that keeps the records it receives. Header-only, test code only.
 */
#ifndef BS_TESTS_NF_TESTBUF_H
#define BS_TESTS_NF_TESTBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/flowdec.h"

struct tb {
    uint8_t b[65536];
    size_t n;
    size_t set_at; /* offset of the open set header */
};

static inline void tb_reset(struct tb *t)
{
    t->n = 0;
    t->set_at = 0;
}

static inline void tb_u8(struct tb *t, unsigned v)
{
    t->b[t->n++] = (uint8_t)v;
}

static inline void tb_u16(struct tb *t, unsigned v)
{
    tb_u8(t, v >> 8);
    tb_u8(t, v);
}

static inline void tb_u32(struct tb *t, uint32_t v)
{
    tb_u16(t, v >> 16);
    tb_u16(t, v & 0xffff);
}

static inline void tb_u64(struct tb *t, uint64_t v)
{
    tb_u32(t, (uint32_t)(v >> 32));
    tb_u32(t, (uint32_t)v);
}

static inline void tb_zero(struct tb *t, size_t n)
{
    memset(t->b + t->n, 0, n);
    t->n += n;
}

static inline void tb_put16_at(struct tb *t, size_t at, unsigned v)
{
    t->b[at] = (uint8_t)(v >> 8);
    t->b[at + 1] = (uint8_t)v;
}

/* v9 header: count, sysuptime, unix secs, sequence, source ID. */
static inline void tb_v9_hdr(struct tb *t, unsigned count, uint32_t up, uint32_t secs, uint32_t seq,
                             uint32_t src)
{
    tb_reset(t);
    tb_u16(t, 9);
    tb_u16(t, count);
    tb_u32(t, up);
    tb_u32(t, secs);
    tb_u32(t, seq);
    tb_u32(t, src);
}

/* IPFIX header; the length is patched by tb_ipfix_end(). */
static inline void tb_ipfix_hdr(struct tb *t, uint32_t export_secs, uint32_t seq, uint32_t odid)
{
    tb_reset(t);
    tb_u16(t, 10);
    tb_u16(t, 0);
    tb_u32(t, export_secs);
    tb_u32(t, seq);
    tb_u32(t, odid);
}

static inline void tb_ipfix_end(struct tb *t)
{
    tb_put16_at(t, 2, (unsigned)t->n);
}

static inline void tb_set_begin(struct tb *t, unsigned id)
{
    t->set_at = t->n;
    tb_u16(t, id);
    tb_u16(t, 0);
}

static inline void tb_set_end(struct tb *t)
{
    tb_put16_at(t, t->set_at + 2, (unsigned)(t->n - t->set_at));
}

/* Records kept by the test sink. */
#define TS_MAX 256
struct tsink {
    struct flow_rec r[TS_MAX];
    unsigned n;
    uint64_t packets, bytes;
};

static inline void tsink_emit(void *arg, const struct flow_rec *r)
{
    struct tsink *s = arg;
    if (s->n < TS_MAX)
        s->r[s->n] = *r;
    s->n++;
    s->packets += r->packets;
    s->bytes += r->bytes;
}

static inline struct flow_sink tsink_sink(struct tsink *s)
{
    memset(s, 0, sizeof(*s));
    struct flow_sink k = {tsink_emit, s};
    return k;
}

static inline struct flowdec_exporter *test_exporter(const struct flowdec_config *cfg)
{
    struct ipaddr a;
    struct flowdec_exporter *ex = NULL;
    ipaddr_from_v4(&a, 0x7f000001u);
    if (flowdec_exporter_new(&a, cfg, &ex) != 0)
        return NULL;
    return ex;
}

#endif
