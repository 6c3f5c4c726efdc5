/* tel_live.c - libpcap live capture loop (see tel_live.h). */
#include "telescope/tel_live.h"

#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "capture/pcapin.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

struct live_ctx {
    struct tel_engine *e;
    enum pkt_link link;
    int err;
    /* libpcap's counters are 32-bit and wrap: kept here as 64-bit totals */
    uint32_t last[3];
    uint64_t total[3];
};

/* Polls libpcap's counters into the engine (64-bit totals across 32-bit wraps). */
static void poll_stats(pcap_t *p, struct live_ctx *c)
{
    struct pcap_stat ps;
    if (pcap_stats(p, &ps) != 0)
        return;
    uint32_t now[3] = {ps.ps_recv, ps.ps_drop, ps.ps_ifdrop};
    for (int i = 0; i < 3; i++) {
        c->total[i] += (uint32_t)(now[i] - c->last[i]);
        c->last[i] = now[i];
    }
    tel_engine_set_capture_stats(c->e, c->total[0], c->total[1], c->total[2]);
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct live_ctx *c = (struct live_ctx *)user;
    uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
    int rc = tel_engine_packet(c->e, ts, bytes, h->caplen, h->len, c->link);
    if (rc && !c->err)
        c->err = rc;
}

int tel_live_run(struct tel_engine *e, const struct tel_live_opts *o, char *errbuf, size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    int rc = 0;
    pcap_t *p = pcap_create(o->interface, perr);
    if (!p) {
        snprintf(errbuf, errlen, "%s: %s", o->interface, perr);
        return BS_EIO;
    }
    pcap_set_snaplen(p, TEL_LIVE_SNAPLEN);
    pcap_set_promisc(p, 1);
    pcap_set_immediate_mode(p, 1);
    pcap_set_timeout(p, 200);
    if (o->buffer_bytes)
        pcap_set_buffer_size(p, (int)(o->buffer_bytes > 0x7fffffff ? 0x7fffffff : o->buffer_bytes));
    int ar = pcap_activate(p);
    if (ar < 0) {
        snprintf(errbuf, errlen, "%s: %s", o->interface, pcap_geterr(p));
        rc = BS_EIO;
        goto out_close;
    }
    int link = pcapin_link_from_dlt(pcap_datalink(p));
    if (link < 0) {
        snprintf(errbuf, errlen, "%s: unsupported link type %d", o->interface, pcap_datalink(p));
        rc = BS_EUNSUPPORTED;
        goto out_close;
    }
    if (o->filter && *o->filter) {
        struct bpf_program prog;
        if (pcap_compile(p, &prog, o->filter, 1, PCAP_NETMASK_UNKNOWN) ||
            pcap_setfilter(p, &prog)) {
            snprintf(errbuf, errlen, "filter: %s", pcap_geterr(p));
            rc = BS_EUSAGE;
            goto out_close;
        }
        pcap_freecode(&prog);
    }
    log_info("telescope", "capturing on %s", o->interface);
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, &old);
    struct live_ctx c = {.e = e, .link = (enum pkt_link)link};
    uint64_t t0 = clock_mono_ms();
    for (;;) {
        int n = pcap_dispatch(p, 4096, on_packet, (u_char *)&c);
        if (n < 0) {
            snprintf(errbuf, errlen, "%s: %s", o->interface, pcap_geterr(p));
            rc = BS_EIO;
            break;
        }
        if (c.err) {
            snprintf(errbuf, errlen, "output: %s", bs_strerror(c.err));
            rc = c.err;
            break;
        }
        poll_stats(p, &c);
        int trc = tel_engine_tick(e, clock_wall_ms());
        if (trc) {
            snprintf(errbuf, errlen, "output: %s", bs_strerror(trc));
            rc = trc;
            break;
        }
        sigset_t pend;
        sigpending(&pend);
        if (sigismember(&pend, SIGINT) || sigismember(&pend, SIGTERM))
            break;
        if (o->duration_ms && clock_mono_ms() - t0 >= o->duration_ms)
            break;
    }
    poll_stats(p, &c);
    /* Consume a pending stop signal so it does not kill us once unblocked. */
    sigset_t pend;
    sigpending(&pend);
    if (sigismember(&pend, SIGINT) || sigismember(&pend, SIGTERM)) {
        int sig;
        sigwait(&stop, &sig);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
out_close:
    pcap_close(p);
    return rc;
}
