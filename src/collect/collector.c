/* collector.c - the live collector (see collector.h for the architecture). */
#include "collect/collector.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "collect/decoder.h"
#include "collect/exporter.h"
#include "collect/listen.h"
#include "collect/ring.h"
#include "collect/statefile.h"
#include "collect/stats.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/vec.h"
#include "core/log.h"
#include "http/httpd.h"

#define COMP "collect"
/* Receive buffer per datagram: the largest UDP payload, so nothing is cut (MSG_TRUNC). */
#define RECV_BUF 65536u
/* Entries a decode thread takes from one ring before looking at the next. */
#define DRAIN_BURST 256
/* How long an idle decode thread sleeps before re-checking (a safety net: pushes ring it). */
#define IDLE_WAIT_MS 200u
/* Statistics publication period of the decode threads. */
#define PUBLISH_MS 1000u
/* After a read that did not fill a whole batch, a receive thread sleeps this long before it
 * polls again, so datagrams gather in the socket buffer and one wake-up (poll, recvmmsg, ring
 * bell) takes many of them: at 2 M flows/s this halves the receive threads' CPU (measured with
 * bench/ingest's sink, FINDINGS.md). The cost is at most this much latency and this much
 * traffic held in the socket buffer: 200 us at 10 M flows/s is ~70 datagrams (~160 KB of
 * buffer), far below any receive buffer the collector asks for. A full batch is followed by
 * the next read at once. */
#define RECV_NAP_NS 200000L

struct collector;

struct receiver {
    struct collector *c;
    const struct listen_addr *la;
    int fd;
    int rcvbuf_eff;
    struct ring *rings; /* one per decode thread */
    pthread_t th;
    bool started;
    uint32_t ovfl_last; /* receive thread only */
    _Atomic uint64_t datagrams, bytes, denied, truncated, kernel_drops, recv_errors;
};

struct dec_thread {
    struct collector *c;
    unsigned idx;
    struct decoder *dec;
    struct ring_bell bell;
    pthread_t th;
    bool started;
    _Atomic int save_req;
    /* published copies, under mu */
    pthread_mutex_t mu;
    struct vec snaps; /* struct exporter_snap: the last published table (n of them) */
    uint64_t datagrams, exporter_limit;
    struct buf state;
    int state_rc;
    uint64_t state_gen;
};

struct collector {
    const struct collect_live_opts *o;
    struct listen_addr la[COLLECT_MAX_LISTEN];
    size_t nla;
    struct receiver *rx;
    size_t nrx;
    struct dec_thread *dt;
    size_t ndt;
    int stop_efd;
    int sig_fd;
    struct httpd *http; /* metrics endpoint, NULL when off */
    uint64_t seed;
    uint64_t start_ms;
};

/* ---- receive threads ------------------------------------------------------------------ */

static void set_relaxed(_Atomic uint64_t *c, uint64_t v)
{
    atomic_store_explicit(c, v, memory_order_relaxed);
}

static void add_relaxed(_Atomic uint64_t *c, uint64_t v)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

static void sockaddr_to_ip(const struct sockaddr_storage *ss, struct ipaddr *a, uint16_t *port)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        ipaddr_from_v4(a, ntohl(s4->sin_addr.s_addr));
        *port = ntohs(s4->sin_port);
    } else {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        ipaddr_from_v6(a, s6->sin6_addr.s6_addr);
        *port = ntohs(s6->sin6_port);
    }
}

struct rx_bufs {
    uint8_t *data;
    struct mmsghdr *msgs;
    struct iovec *iov;
    struct sockaddr_storage *names;
    uint8_t *ctl;
};
#define CTL_LEN CMSG_SPACE(sizeof(uint32_t))

static void *receiver_main(void *arg)
{
    struct receiver *r = arg;
    struct collector *c = r->c;
    unsigned batch = c->o->batch, ndec = (unsigned)c->ndt;
    struct rx_bufs b = {
        .data = malloc((size_t)batch * RECV_BUF),
        .msgs = calloc(batch, sizeof *b.msgs),
        .iov = calloc(batch, sizeof *b.iov),
        .names = calloc(batch, sizeof *b.names),
        .ctl = calloc(batch, CTL_LEN),
    };
    bool stopping = false, touched[COLLECT_MAX_THREADS];
    if (!b.data || !b.msgs || !b.iov || !b.names || !b.ctl) {
        log_err(COMP, "%s: receive thread out of memory", r->la->text);
        goto out;
    }
    for (;;) {
        if (!stopping) {
            struct pollfd p[2] = {{.fd = r->fd, .events = POLLIN},
                                  {.fd = c->stop_efd, .events = POLLIN}};
            if (poll(p, 2, -1) < 0) {
                if (errno == EINTR)
                    continue;
                log_err(COMP, "%s: poll: %s", r->la->text, strerror(errno));
                break;
            }
            if (p[1].revents & POLLIN)
                stopping = true; /* eventfd stays readable: every thread sees it */
            else if (!(p[0].revents & POLLIN))
                continue;
        }
        for (unsigned i = 0; i < batch; i++) {
            b.iov[i].iov_base = b.data + (size_t)i * RECV_BUF;
            b.iov[i].iov_len = RECV_BUF;
            struct msghdr *h = &b.msgs[i].msg_hdr;
            h->msg_name = &b.names[i];
            h->msg_namelen = sizeof b.names[i];
            h->msg_iov = &b.iov[i];
            h->msg_iovlen = 1;
            h->msg_control = b.ctl + (size_t)i * CTL_LEN;
            h->msg_controllen = CTL_LEN;
            h->msg_flags = 0;
        }
        int n = recvmmsg(r->fd, b.msgs, batch, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                add_relaxed(&r->recv_errors, 1);
            if (stopping)
                break; /* socket drained */
            continue;
        }
        uint64_t now = clock_wall_ms();
        memset(touched, 0, ndec);
        for (int i = 0; i < n; i++) {
            struct msghdr *h = &b.msgs[i].msg_hdr;
            for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR(h, cm)) {
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
                    uint32_t v;
                    memcpy(&v, CMSG_DATA(cm), sizeof v);
                    if (v > r->ovfl_last) {
                        r->ovfl_last = v;
                        set_relaxed(&r->kernel_drops, v);
                    }
                }
            }
            if (h->msg_flags & MSG_TRUNC) {
                add_relaxed(&r->truncated, 1);
                continue;
            }
            struct ring_meta m = {.recv_ms = now, .dst_port = (uint16_t)r->la->port};
            sockaddr_to_ip(&b.names[i], &m.src, &m.src_port);
            add_relaxed(&r->datagrams, 1);
            add_relaxed(&r->bytes, b.msgs[i].msg_len);
            if (!allow_list_permits(c->o->allow, &m.src)) {
                add_relaxed(&r->denied, 1);
                continue;
            }
            unsigned d = exporter_thread(&m.src, c->seed, ndec);
            const uint8_t *p = b.data + (size_t)i * RECV_BUF;
            if (stopping) {
                /* draining at stop: wait for room rather than drop what was received */
                while (!ring_has_room(&r->rings[d], b.msgs[i].msg_len)) {
                    ring_bell_ring(&c->dt[d].bell);
                    struct timespec ts = {.tv_nsec = 200000};
                    nanosleep(&ts, NULL);
                }
            }
            ring_push(&r->rings[d], &m, p, b.msgs[i].msg_len);
            touched[d] = true;
        }
        for (unsigned d = 0; d < ndec; d++)
            if (touched[d])
                ring_bell_ring(&c->dt[d].bell);
        if (!stopping && (unsigned)n < batch) {
            struct timespec nap = {.tv_nsec = RECV_NAP_NS};
            nanosleep(&nap, NULL);
        }
    }
out:
    for (unsigned d = 0; d < ndec; d++) {
        ring_close(&r->rings[d]);
        ring_bell_ring(&c->dt[d].bell);
    }
    free(b.data);
    free(b.msgs);
    free(b.iov);
    free(b.names);
    free(b.ctl);
    return NULL;
}

/* ---- decode threads ------------------------------------------------------------------- */

static void publish(struct dec_thread *t, bool with_state)
{
    size_t n = decoder_snapshot(t->dec, NULL, 0);
    pthread_mutex_lock(&t->mu);
    /* Out of memory: the table published is cut to the room there is (statistics only). */
    (void)vec_reserve(&t->snaps, n);
    t->snaps.n = decoder_snapshot(t->dec, t->snaps.data, t->snaps.cap);
    if (t->snaps.n > t->snaps.cap)
        t->snaps.n = t->snaps.cap;
    t->datagrams = t->dec->datagrams;
    t->exporter_limit = t->dec->exporter_limit;
    if (with_state) {
        buf_reset(&t->state);
        t->state_rc = decoder_save(t->dec, &t->state);
        t->state_gen++;
    }
    pthread_mutex_unlock(&t->mu);
}

static void *decoder_main(void *arg)
{
    struct dec_thread *t = arg;
    struct collector *c = t->c;
    uint64_t next_pub = 0;
    for (;;) {
        size_t got = 0;
        for (size_t i = 0; i < c->nrx; i++) {
            struct ring *rg = &c->rx[i].rings[t->idx];
            for (int k = 0; k < DRAIN_BURST; k++) {
                const struct ring_entry *e = ring_peek(rg);
                if (!e)
                    break;
                decoder_datagram(t->dec, &e->meta.src, e->data, e->len, e->meta.recv_ms);
                ring_pop(rg);
                got++;
            }
        }
        uint64_t now = clock_mono_ms();
        int save = atomic_exchange(&t->save_req, 0);
        if (now >= next_pub || save) {
            decoder_flush(t->dec);
            decoder_expire(t->dec, clock_wall_ms());
            publish(t, save != 0);
            next_pub = now + PUBLISH_MS;
        }
        if (got)
            continue;
        decoder_flush(t->dec); /* idle: hand the batch to the output */
        bool done = true;
        for (size_t i = 0; i < c->nrx && done; i++)
            done = ring_done(&c->rx[i].rings[t->idx]);
        if (done)
            break;
        ring_bell_arm(&t->bell);
        bool any = false;
        for (size_t i = 0; i < c->nrx && !any; i++)
            any = ring_peek(&c->rx[i].rings[t->idx]) != NULL;
        if (any) {
            ring_bell_disarm(&t->bell);
            continue;
        }
        ring_bell_wait(&t->bell, IDLE_WAIT_MS);
    }
    decoder_flush(t->dec);
    publish(t, true);
    return NULL;
}

/* ---- statistics, metrics, state -------------------------------------------------------- */

struct global_counts {
    uint64_t datagrams, bytes, denied, truncated, kernel_drops, recv_errors, queue_drops, too_big,
        queue_used, queue_cap, dec_datagrams, exporter_limit;
};

static void rx_counts(const struct collector *c, size_t i, struct global_counts *g)
{
    struct receiver *r = &c->rx[i];
    g->datagrams += atomic_load_explicit(&r->datagrams, memory_order_relaxed);
    g->bytes += atomic_load_explicit(&r->bytes, memory_order_relaxed);
    g->denied += atomic_load_explicit(&r->denied, memory_order_relaxed);
    g->truncated += atomic_load_explicit(&r->truncated, memory_order_relaxed);
    g->kernel_drops += atomic_load_explicit(&r->kernel_drops, memory_order_relaxed);
    g->recv_errors += atomic_load_explicit(&r->recv_errors, memory_order_relaxed);
    for (size_t d = 0; d < c->ndt; d++) {
        struct ring *rg = &r->rings[d];
        g->queue_drops += atomic_load_explicit(&rg->full_drops, memory_order_relaxed);
        g->too_big += atomic_load_explicit(&rg->too_big, memory_order_relaxed);
        g->queue_used += ring_used_slots(rg);
        g->queue_cap += rg->nslots;
    }
}

static void totals(const struct collector *c, struct global_counts *g)
{
    memset(g, 0, sizeof *g);
    for (size_t i = 0; i < c->nrx; i++)
        rx_counts(c, i, g);
    for (size_t d = 0; d < c->ndt; d++) {
        pthread_mutex_lock(&c->dt[d].mu);
        g->dec_datagrams += c->dt[d].datagrams;
        g->exporter_limit += c->dt[d].exporter_limit;
        pthread_mutex_unlock(&c->dt[d].mu);
    }
}

/* Copies every decode thread's published exporter statistics into one array. */
static struct exporter_snap *all_snaps(const struct collector *c, size_t *n)
{
    size_t total = 0, k = 0;
    for (size_t d = 0; d < c->ndt; d++) {
        pthread_mutex_lock(&c->dt[d].mu);
        total += c->dt[d].snaps.n;
        pthread_mutex_unlock(&c->dt[d].mu);
    }
    struct exporter_snap *s = calloc(total ? total : 1, sizeof *s);
    if (!s) {
        *n = 0;
        return NULL;
    }
    for (size_t d = 0; d < c->ndt; d++) {
        pthread_mutex_lock(&c->dt[d].mu);
        size_t m = c->dt[d].snaps.n;
        if (m > total - k)
            m = total - k;
        if (m)
            memcpy(s + k, c->dt[d].snaps.data, m * sizeof *s);
        k += m;
        pthread_mutex_unlock(&c->dt[d].mu);
    }
    *n = k;
    return s;
}

/* Bound on the metrics outside the per-exporter families: a fixed part plus ten families with
 * one sample per listen address (label text <= 64 bytes, names < 64). */
#define METRICS_FIXED_MAX(nla) (16384u + (nla)*10u * 256u)

/* The body is capped by what the exporters known now can need (stats_prometheus_exporters_max),
 * so it grows with the exporter count, which collect.max_exporters caps, instead of failing
 * past a fixed size (at ~46,000 exporters a 64 MiB cap lost every metric). */
static int render_metrics(const struct collector *c, struct buf *b)
{
    int rc = 0;
    char label[128];
    size_t n;
    struct exporter_snap *s = all_snaps(c, &n);
    if (!s)
        return BS_ENOMEM;
    b->max = METRICS_FIXED_MAX(c->nla) + stats_prometheus_exporters_max(n);
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } fams[] = {
        {"botscope_collect_received_datagrams_total", "counter", "Datagrams read from the sockets.",
         offsetof(struct global_counts, datagrams)},
        {"botscope_collect_received_bytes_total", "counter", "UDP payload bytes read.",
         offsetof(struct global_counts, bytes)},
        {"botscope_collect_kernel_drops_total", "counter",
         "Datagrams the kernel dropped on a full socket buffer (SO_RXQ_OVFL).",
         offsetof(struct global_counts, kernel_drops)},
        {"botscope_collect_queue_drops_total", "counter",
         "Datagrams dropped because the receive-to-decode ring was full.",
         offsetof(struct global_counts, queue_drops)},
        {"botscope_collect_denied_total", "counter",
         "Datagrams from exporters outside collect.allow.", offsetof(struct global_counts, denied)},
        {"botscope_collect_truncated_total", "counter",
         "Datagrams longer than the receive buffer (MSG_TRUNC).",
         offsetof(struct global_counts, truncated)},
        {"botscope_collect_receive_errors_total", "counter", "recvmmsg() failures.",
         offsetof(struct global_counts, recv_errors)},
        {"botscope_collect_queue_used_slots", "gauge", "Ring slots in use now.",
         offsetof(struct global_counts, queue_used)},
        {"botscope_collect_queue_capacity_slots", "gauge", "Ring slots in all.",
         offsetof(struct global_counts, queue_cap)},
    };
    for (size_t f = 0; f < sizeof fams / sizeof fams[0]; f++) {
        rc |= stats_prometheus_family(b, fams[f].name, fams[f].type, fams[f].help);
        for (size_t a = 0; a < c->nla; a++) {
            struct global_counts g;
            memset(&g, 0, sizeof g);
            for (size_t i = 0; i < c->nrx; i++)
                if (c->rx[i].la == &c->la[a])
                    rx_counts(c, i, &g);
            uint64_t v;
            memcpy(&v, (const char *)&g + fams[f].off, sizeof v);
            snprintf(label, sizeof label, "listen=\"%s\"", c->la[a].text);
            rc |= stats_prometheus_sample(b, fams[f].name, label, v);
        }
    }
    rc |= stats_prometheus_family(b, "botscope_collect_rcvbuf_bytes", "gauge",
                                  "Effective socket receive buffer (smallest socket).");
    for (size_t a = 0; a < c->nla; a++) {
        uint64_t mn = 0;
        for (size_t i = 0; i < c->nrx; i++)
            if (c->rx[i].la == &c->la[a] && (!mn || (uint64_t)c->rx[i].rcvbuf_eff < mn))
                mn = (uint64_t)c->rx[i].rcvbuf_eff;
        snprintf(label, sizeof label, "listen=\"%s\"", c->la[a].text);
        rc |= stats_prometheus_sample(b, "botscope_collect_rcvbuf_bytes", label, mn);
    }
    struct global_counts g;
    totals(c, &g);
    rc |= stats_prometheus_family(b, "botscope_collect_decoded_datagrams_total", "counter",
                                  "Datagrams taken off the rings by the decode threads.");
    rc |= stats_prometheus_sample(b, "botscope_collect_decoded_datagrams_total", NULL,
                                  g.dec_datagrams);
    rc |= stats_prometheus_family(b, "botscope_collect_exporter_limit_drops_total", "counter",
                                  "Datagrams from new exporters beyond collect.max_exporters.");
    rc |= stats_prometheus_sample(b, "botscope_collect_exporter_limit_drops_total", NULL,
                                  g.exporter_limit);
    rc |= stats_prometheus_family(b, "botscope_collect_records_written_total", "counter",
                                  "Flow records handed to the store or the output stream.");
    rc |= stats_prometheus_sample(b, "botscope_collect_records_written_total", NULL,
                                  atomic_load(&c->o->out->records));
    rc |= stats_prometheus_family(b, "botscope_collect_records_lost_total", "counter",
                                  "Flow records whose write to the store or stream failed.");
    rc |= stats_prometheus_sample(b, "botscope_collect_records_lost_total", NULL,
                                  atomic_load(&c->o->out->lost));
    rc |= stats_prometheus_family(b, "botscope_collect_uptime_seconds", "gauge",
                                  "Seconds since the collector started.");
    rc |= stats_prometheus_sample(b, "botscope_collect_uptime_seconds", NULL,
                                  (clock_mono_ms() - c->start_ms) / 1000);
    rc |= stats_prometheus_family(b, "botscope_collect_exporters", "gauge", "Exporters known.");
    rc |= stats_prometheus_sample(b, "botscope_collect_exporters", NULL, n);
    rc |= stats_prometheus_exporters(s, n, b);
    free(s);
    return rc ? BS_ELIMIT : 0;
}

/* GET /metrics, in the HTTP server's thread: reads only atomics and the decode threads'
 * published copies (under their locks). */
static void metrics_get(void *ctx, const char *path, struct httpd_reply *rep)
{
    (void)path;
    rep->type = "text/plain; version=0.0.4";
    if (render_metrics(ctx, &rep->body)) {
        /* Out of memory (the cap above cannot be reached): say so rather than send a part. */
        buf_reset(&rep->body);
        rep->status = 500;
        rep->type = "text/plain";
        buf_puts(&rep->body, "metrics could not be rendered (out of memory)\n");
    }
}

static const struct httpd_route metrics_routes[] = {
    {.path = "/metrics", .get = metrics_get, .body_max = 0 /* set by render_metrics */},
};

static void log_stats(const struct collector *c, const char *when)
{
    struct global_counts g;
    totals(c, &g);
    log_info(COMP,
             "%s: received %" PRIu64 " datagrams (%" PRIu64 " bytes), decoded %" PRIu64
             ", records %" PRIu64 ", queue drops %" PRIu64 ", kernel drops %" PRIu64
             ", denied %" PRIu64 ", truncated %" PRIu64 ", exporter-limit drops %" PRIu64,
             when, g.datagrams, g.bytes, g.dec_datagrams, atomic_load(&c->o->out->records),
             g.queue_drops, g.kernel_drops, g.denied, g.truncated, g.exporter_limit);
    if (log_get_level() < LOG_INFO)
        return;
    size_t n;
    struct exporter_snap *s = all_snaps(c, &n);
    struct buf line = BUF_INIT(4096);
    for (size_t i = 0; s && i < n; i++) {
        buf_reset(&line);
        if (stats_exporter_line(&s[i], &line) == 0 && line.len) {
            line.data[--line.len] = '\0'; /* log_msg adds its own newline */
            log_info(COMP, "%s", line.data);
        }
    }
    buf_release(&line);
    free(s);
}

/* Writes the latest published state of every decode thread. */
static void save_state(const struct collector *c)
{
    if (!c->o->state_file)
        return;
    const struct buf *blobs[COLLECT_MAX_THREADS];
    for (size_t d = 0; d < c->ndt; d++) {
        pthread_mutex_lock(&c->dt[d].mu);
        blobs[d] = c->dt[d].state_rc == 0 ? &c->dt[d].state : NULL;
        if (c->dt[d].state_rc)
            log_warn(COMP, "state of decode thread %zu not saved: %s", d,
                     bs_strerror(c->dt[d].state_rc));
    }
    int rc = statefile_write(c->o->state_file, blobs, c->ndt);
    for (size_t d = 0; d < c->ndt; d++)
        pthread_mutex_unlock(&c->dt[d].mu);
    if (rc)
        log_warn(COMP, "cannot write state file %s: %s", c->o->state_file, bs_strerror(rc));
    else
        log_debug(COMP, "state saved to %s", c->o->state_file);
}

static void load_state(struct collector *c)
{
    if (!c->o->state_file)
        return;
    struct buf b = BUF_INIT(STATEFILE_MAX);
    int rc = statefile_read(c->o->state_file, &b);
    if (rc == -ENOENT) {
        log_info(COMP, "no state file %s yet: starting without templates", c->o->state_file);
        goto out;
    }
    if (rc) {
        log_warn(COMP, "state file %s not loaded: %s", c->o->state_file, bs_strerror(rc));
        goto out;
    }
    size_t off = 0, restored = 0;
    while (off < b.len) {
        struct flowdec_exporter *dec;
        size_t used = 0;
        rc = flowdec_exporter_load((const uint8_t *)b.data + off, b.len - off, &c->o->fcfg, &used,
                                   &dec);
        if (rc || used == 0) {
            if (!rc)
                flowdec_exporter_free(dec);
            log_warn(COMP, "state file %s damaged at byte %zu (%s): kept %zu exporter states",
                     c->o->state_file, off + STATEFILE_MAGIC_LEN,
                     bs_strerror(rc ? rc : BS_EMALFORMED), restored);
            goto out;
        }
        off += used;
        const struct ipaddr *a = flowdec_exporter_addr(dec);
        size_t d = exporter_thread(a, c->seed, (unsigned)c->ndt);
        if (exporter_table_adopt(&c->dt[d].dec->ex, dec) == 0)
            restored++;
    }
    log_info(COMP, "restored %zu exporter states from %s", restored, c->o->state_file);
out:
    buf_release(&b);
}

/* ---- setup and the main loop ---------------------------------------------------------- */

static int setup(struct collector *c, char *errbuf, size_t errlen)
{
    const struct collect_live_opts *o = c->o;
    if (o->nlisten == 0 || o->nlisten > COLLECT_MAX_LISTEN) {
        snprintf(errbuf, errlen, "need 1 to %u listen addresses", COLLECT_MAX_LISTEN);
        return BS_EPARSE;
    }
    for (size_t i = 0; i < o->nlisten; i++) {
        if (listen_addr_parse(o->listen[i], &c->la[i])) {
            snprintf(errbuf, errlen, "bad listen address '%s' (want ADDR:PORT or [ADDR]:PORT)",
                     o->listen[i]);
            return BS_EPARSE;
        }
    }
    c->nla = o->nlisten;
    c->ndt = o->decode_threads;
    c->nrx = c->nla * o->threads;
    c->rx = calloc(c->nrx, sizeof *c->rx);
    c->dt = calloc(c->ndt, sizeof *c->dt);
    if (!c->rx || !c->dt)
        return BS_ENOMEM;
    for (size_t i = 0; i < c->nrx; i++)
        c->rx[i].fd = -1;
    size_t per_ring = o->queue_datagrams / (c->nrx * c->ndt);
    if (per_ring < 64) /* also makes a ring hold one 64 KiB datagram */
        per_ring = 64;
    size_t max_ex = o->max_exporters ? (o->max_exporters + c->ndt - 1) / c->ndt : 0;
    for (size_t d = 0; d < c->ndt; d++) {
        struct dec_thread *t = &c->dt[d];
        t->c = c;
        t->idx = (unsigned)d;
        atomic_init(&t->save_req, 0);
        buf_init(&t->state, STATEFILE_MAX);
        /* As many as the decoder's table holds: max_exporters caps it (0: no cap). */
        vec_init(&t->snaps, sizeof(struct exporter_snap), 64, max_ex ? max_ex : SIZE_MAX);
        pthread_mutex_init(&t->mu, NULL);
        if (ring_bell_init(&t->bell))
            return BS_ENOMEM;
        t->dec = malloc(sizeof *t->dec);
        if (!t->dec || decoder_init(t->dec, o->out, max_ex, &o->fcfg, c->seed))
            return BS_ENOMEM;
    }
    for (size_t i = 0; i < c->nrx; i++) {
        struct receiver *r = &c->rx[i];
        r->c = c;
        r->la = &c->la[i / o->threads];
        r->rings = calloc(c->ndt, sizeof *r->rings);
        if (!r->rings)
            return BS_ENOMEM;
        for (size_t d = 0; d < c->ndt; d++)
            if (ring_init(&r->rings[d], (uint32_t)per_ring, COLLECT_SLOT_SIZE))
                return BS_ENOMEM;
        bool v6only = false;
        if (r->la->family == AF_INET6)
            for (size_t k = 0; k < c->nla; k++)
                if (c->la[k].family == AF_INET && c->la[k].port == r->la->port)
                    v6only = true;
        int rc = listen_socket(r->la, v6only, o->rcvbuf, &r->fd, &r->rcvbuf_eff, errbuf, errlen);
        if (rc)
            return rc;
        if (i % o->threads == 0) {
            log_info(COMP, "listening on udp %s (%u sockets, receive buffer %d bytes)", r->la->text,
                     o->threads, r->rcvbuf_eff);
            if (o->rcvbuf > 0 && r->rcvbuf_eff < o->rcvbuf)
                log_warn(COMP,
                         "%s: receive buffer is %d bytes, not the %d asked for (raise "
                         "net.core.rmem_max, or run with CAP_NET_ADMIN)",
                         r->la->text, r->rcvbuf_eff, o->rcvbuf);
        }
    }
    if (o->metrics_listen && *o->metrics_listen) {
        struct listen_addr ma;
        if (listen_addr_parse(o->metrics_listen, &ma)) {
            snprintf(errbuf, errlen, "bad metrics address '%s' (want ADDR:PORT or [ADDR]:PORT)",
                     o->metrics_listen);
            return BS_EPARSE;
        }
        int fd, rc = listen_tcp(&ma, &fd, errbuf, errlen);
        if (rc)
            return rc;
        /* Served from its own thread, so no client can hold up flushes, state saves or a
         * stop (the main loop below never touches a connection). Limits: httpd.h defaults. */
        const struct httpd_opts ho = {.routes = metrics_routes,
                                      .nroutes = sizeof metrics_routes / sizeof metrics_routes[0],
                                      .ctx = c};
        rc = httpd_start(fd, &ho, &c->http, errbuf, errlen);
        if (rc) {
            close(fd);
            return rc;
        }
        log_info(COMP, "metrics on http://%s/metrics", o->metrics_listen);
    }
    return 0;
}

static void teardown(struct collector *c)
{
    httpd_stop(c->http); /* first: its handler reads the threads' state freed below */
    c->http = NULL;
    for (size_t i = 0; c->rx && i < c->nrx; i++) {
        if (c->rx[i].fd >= 0)
            close(c->rx[i].fd);
        for (size_t d = 0; c->rx[i].rings && d < c->ndt; d++)
            ring_release(&c->rx[i].rings[d]);
        free(c->rx[i].rings);
    }
    for (size_t d = 0; c->dt && d < c->ndt; d++) {
        struct dec_thread *t = &c->dt[d];
        if (t->dec) {
            decoder_release(t->dec);
            free(t->dec);
        }
        if (t->c) {
            ring_bell_release(&t->bell);
            pthread_mutex_destroy(&t->mu);
            buf_release(&t->state);
        }
        vec_release(&t->snaps);
    }
    free(c->rx);
    free(c->dt);
    if (c->stop_efd >= 0)
        close(c->stop_efd);
    if (c->sig_fd >= 0)
        close(c->sig_fd);
}

static uint64_t next_tick(uint64_t now, uint64_t interval)
{
    return interval ? now + interval : UINT64_MAX;
}

int collector_run(const struct collect_live_opts *o, char *errbuf, size_t errlen)
{
    struct collector c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.stop_efd = c.sig_fd = -1;
    c.start_ms = clock_mono_ms();
    if (getrandom(&c.seed, sizeof c.seed, 0) != (ssize_t)sizeof c.seed)
        c.seed = clock_mono_ns() ^ (uint64_t)getpid() << 32;
    /* Block the stop signals in this thread before any other starts, so every thread inherits
     * the mask and the signals are only ever read from the signalfd. */
    sigset_t stopsigs, oldmask;
    sigemptyset(&stopsigs);
    sigaddset(&stopsigs, SIGTERM);
    sigaddset(&stopsigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stopsigs, &oldmask);
    int rc = setup(&c, errbuf, errlen);
    if (rc)
        goto out;
    c.stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    c.sig_fd = signalfd(-1, &stopsigs, SFD_CLOEXEC | SFD_NONBLOCK);
    if (c.stop_efd < 0 || c.sig_fd < 0) {
        rc = -errno;
        snprintf(errbuf, errlen, "eventfd/signalfd: %s", strerror(errno));
        goto out;
    }
    load_state(&c);
    for (size_t d = 0; d < c.ndt; d++) {
        if ((rc = -pthread_create(&c.dt[d].th, NULL, decoder_main, &c.dt[d])) != 0) {
            snprintf(errbuf, errlen, "cannot start decode thread: %s", strerror(-rc));
            goto stop;
        }
        c.dt[d].started = true;
    }
    for (size_t i = 0; i < c.nrx; i++) {
        if ((rc = -pthread_create(&c.rx[i].th, NULL, receiver_main, &c.rx[i])) != 0) {
            snprintf(errbuf, errlen, "cannot start receive thread: %s", strerror(-rc));
            goto stop;
        }
        c.rx[i].started = true;
    }
    log_info(COMP, "collector running: %zu receive threads, %zu decode threads", c.nrx, c.ndt);

    uint64_t now = clock_mono_ms();
    uint64_t t_flush = next_tick(now, o->flush_interval_ms);
    uint64_t t_stats = next_tick(now, o->stats_interval_ms);
    uint64_t t_state = next_tick(now, o->state_file ? o->state_interval_ms : 0);
    uint64_t save_gen[COLLECT_MAX_THREADS];
    bool save_pending = false;
    for (;;) {
        uint64_t due = t_flush < t_stats ? t_flush : t_stats;
        if (t_state < due)
            due = t_state;
        int timeout = save_pending ? 100 : 1000;
        if (due != UINT64_MAX && due > now && due - now < (uint64_t)timeout)
            timeout = (int)(due - now);
        else if (due <= now)
            timeout = 0;
        struct pollfd p[1] = {{.fd = c.sig_fd, .events = POLLIN}};
        int n = poll(p, 1, timeout);
        if (n < 0 && errno != EINTR) {
            log_err(COMP, "poll: %s", strerror(errno));
            break;
        }
        if (n > 0 && (p[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(c.sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
                log_info(COMP, "signal %u: stopping", si.ssi_signo);
                break;
            }
        }
        now = clock_mono_ms();
        if (now >= t_flush) {
            int frc = collect_out_flush(o->out);
            if (frc)
                log_warn(COMP, "flush failed: %s (the batch is kept for the next flush)",
                         bs_strerror(frc));
            t_flush = next_tick(now, o->flush_interval_ms);
        }
        if (now >= t_stats) {
            log_stats(&c, "statistics");
            t_stats = next_tick(now, o->stats_interval_ms);
        }
        if (now >= t_state && !save_pending) {
            for (size_t d = 0; d < c.ndt; d++) {
                pthread_mutex_lock(&c.dt[d].mu);
                save_gen[d] = c.dt[d].state_gen;
                pthread_mutex_unlock(&c.dt[d].mu);
                atomic_store(&c.dt[d].save_req, 1);
                ring_bell_ring(&c.dt[d].bell);
            }
            save_pending = true;
            t_state = next_tick(now, o->state_interval_ms);
        }
        if (save_pending) {
            bool all = true;
            for (size_t d = 0; d < c.ndt && all; d++) {
                pthread_mutex_lock(&c.dt[d].mu);
                all = c.dt[d].state_gen != save_gen[d];
                pthread_mutex_unlock(&c.dt[d].mu);
            }
            if (all) {
                save_state(&c);
                save_pending = false;
            }
        }
    }
    rc = 0;
stop:;
    /* Graceful stop: receivers drain their sockets and close their rings; decoders drain
     * the rings and publish their final state. */
    uint64_t one = 1;
    if (c.stop_efd >= 0 && write(c.stop_efd, &one, sizeof one) < 0)
        log_err(COMP, "cannot signal the receive threads: %s", strerror(errno));
    for (size_t i = 0; i < c.nrx; i++) {
        if (c.rx[i].started)
            pthread_join(c.rx[i].th, NULL);
        else
            for (size_t d = 0; d < c.ndt; d++)
                ring_close(&c.rx[i].rings[d]);
    }
    for (size_t d = 0; d < c.ndt; d++) {
        ring_bell_ring(&c.dt[d].bell);
        if (c.dt[d].started)
            pthread_join(c.dt[d].th, NULL);
    }
    if (c.dt && c.dt[0].started) {
        int frc = collect_out_flush(o->out);
        if (frc)
            log_err(COMP, "final flush failed: %s", bs_strerror(frc));
        save_state(&c);
        log_stats(&c, "stopped");
    }
out:
    teardown(&c);
    pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
    return rc;
}
