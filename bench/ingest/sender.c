/* sender.c - bs-ingest-sender: the paced UDP sender of the ingest benchmark.
 *
 * Sends flow-export datagrams to 127.0.0.1:PORT (never anywhere else: the destination address
 * is fixed in the code) at a given rate for a given time, then prints one JSON line saying
 * exactly what it sent, so a collector's counts can be checked against it.
 *
 * Two sources of datagrams:
 *  - synthetic NetFlow v9 (default): one template (id 256, 20 fields, 48-byte records) and
 *    data datagrams of --records records each (30 by default: 1464 bytes, fits a 1500 MTU).
 *    A pool of distinct datagrams (pseudo-random but seeded flows in 198.18.0.0/15) is built
 *    up front; at send time only the 20-byte header is written (sys_uptime, unix_secs and the
 *    per-exporter sequence number, which counts export packets as RFC 3954 says), through a
 *    two-element iovec so the body is never copied. Every exporter sends its template first
 *    and again every --template-every datagrams; template datagrams are counted apart.
 *  - --pcap FILE: the UDP payloads of a capture of export datagrams (for example what
 *    softflowd or `botscope simulate` produced), sent as they are, in order, in whole passes
 *    over the file; --pcap-flows N says how many flow records one pass holds, so the flow
 *    total can be reported.
 *
 * Exporters: --exporters N sockets bound to 127.0.0.1, 127.0.0.2, ... (all loopback), each a
 * distinct exporter with its own sequence numbers; batches go round robin.
 * Pacing: the schedule is absolute (datagram k is due at start + k / rate). With --tick-us T
 * (default 1000) the sender wakes at most about once per T: when nothing is due it sleeps
 * (clock_nanosleep, TIMER_ABSTIME) until a tick's worth of datagrams (rate x T, at least one)
 * is due, then sends what is due in sendmmsg() batches of at most --batch datagrams. So it
 * never spins and leaves the shared cores to the collector under test; bursts are one tick's
 * datagrams (33 datagrams, 48 KB, at 1 M flows/s), far below any receive buffer. --tick-us 0
 * is the earlier pacing: sleep when more than 200 us ahead, spin otherwise (about one core
 * busy at any rate above ~100k flows/s). When it cannot keep up it sends flat out and the
 * report's achieved rate shows it. The report includes the sender's own CPU time.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define SENDER_MAX_EXPORTERS 64
#define SENDER_MAX_BATCH     1024
#define SENDER_MAX_RECORDS   60   /* 20 + 4 + 60 * 48 = 2904 bytes per datagram at most */
#define SENDER_POOL_SYNTH    4096 /* distinct synthetic datagrams (~6 MB at 30 records) */
#define SENDER_POOL_PCAP_MAX 1000000
#define V9_HDR_LEN           20
#define V9_REC_LEN           48
#define V9_TEMPLATE_ID       256
#define V9_UPTIME0_MS        3600000u /* the exporter "booted" an hour before the run */

struct sender_opts {
    unsigned port;
    double rate; /* flows/s (synthetic) or datagrams/s (--dps, or pcap mode) */
    bool rate_is_dps;
    double duration_s;
    unsigned records;
    unsigned template_every;
    unsigned batch;
    unsigned tick_us; /* pacing quantum; 0: spin when less than 200 us ahead */
    unsigned exporters;
    uint64_t seed;
    const char *pcap;
    uint64_t pcap_flows;
};

struct dgram {
    uint8_t *data; /* synthetic: the body after the v9 header; pcap: the payload */
    uint32_t len;
    uint32_t flows;
    uint64_t packets;
    uint64_t bytes;
};

struct sender_stats {
    uint64_t datagrams;
    uint64_t template_datagrams;
    uint64_t flows;
    uint64_t packets;
    uint64_t bytes;
    uint64_t wire_bytes;
    uint64_t send_errors;
    uint64_t passes;
};

struct sender {
    struct sender_opts o;
    struct dgram *pool;
    size_t npool;
    uint8_t template_body[4 + 4 + 20 * 4];
    int socks[SENDER_MAX_EXPORTERS];
    uint32_t seq[SENDER_MAX_EXPORTERS];
    uint64_t since_template[SENDER_MAX_EXPORTERS];
    uint8_t hdrs[SENDER_MAX_BATCH][V9_HDR_LEN];
    struct mmsghdr msgs[SENDER_MAX_BATCH];
    const struct dgram *which[SENDER_MAX_BATCH]; /* synthetic: NULL for a template datagram */
    uint8_t failed[SENDER_MAX_BATCH];
    struct iovec iov[SENDER_MAX_BATCH][2];
    uint64_t t0_ns;
    double cpu0_s; /* the process's CPU time at t0 */
    struct sender_stats st;
};

static volatile sig_atomic_t sender_stop_flag;

static void sender_on_signal(int sig)
{
    (void)sig;
    sender_stop_flag = 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time (user + system) of this process so far: the sender's own cost is reported, as it
 * shares the machine's cores with the collector under test. */
static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru))
        return 0.0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

/* The template: NetFlow v9 field type and length, 48 bytes of record in all. */
static const uint16_t v9_fields[20][2] = {
    {8, 4},  /* IPV4_SRC_ADDR */
    {12, 4}, /* IPV4_DST_ADDR */
    {7, 2},  /* L4_SRC_PORT */
    {11, 2}, /* L4_DST_PORT */
    {4, 1},  /* PROTOCOL */
    {5, 1},  /* SRC_TOS */
    {6, 1},  /* TCP_FLAGS */
    {2, 4},  /* IN_PKTS */
    {1, 4},  /* IN_BYTES */
    {22, 4}, /* FIRST_SWITCHED */
    {21, 4}, /* LAST_SWITCHED */
    {10, 2}, /* INPUT_SNMP */
    {14, 2}, /* OUTPUT_SNMP */
    {16, 2}, /* SRC_AS */
    {17, 2}, /* DST_AS */
    {9, 1},  /* SRC_MASK */
    {13, 1}, /* DST_MASK */
    {15, 4}, /* IPV4_NEXT_HOP */
    {61, 1}, /* DIRECTION */
    {58, 2}, /* SRC_VLAN */
};

static void build_template(struct sender *s)
{
    uint8_t *p = s->template_body;
    p = put16(p, 0); /* template flowset */
    p = put16(p, (uint16_t)sizeof(s->template_body));
    p = put16(p, V9_TEMPLATE_ID);
    p = put16(p, 20);
    for (size_t i = 0; i < 20; i++) {
        p = put16(p, v9_fields[i][0]);
        p = put16(p, v9_fields[i][1]);
    }
}

static int build_synthetic_pool(struct sender *s)
{
    uint64_t rng = s->o.seed;
    size_t body_len = 4 + (size_t)s->o.records * V9_REC_LEN;
    s->pool = calloc(SENDER_POOL_SYNTH, sizeof(*s->pool));
    if (!s->pool)
        return -ENOMEM;
    s->npool = SENDER_POOL_SYNTH;
    for (size_t d = 0; d < s->npool; d++) {
        struct dgram *g = &s->pool[d];
        uint8_t *p = malloc(body_len);
        if (!p)
            return -ENOMEM;
        g->data = p;
        g->len = (uint32_t)body_len;
        g->flows = s->o.records;
        p = put16(p, V9_TEMPLATE_ID);
        p = put16(p, (uint16_t)body_len);
        for (unsigned r = 0; r < s->o.records; r++) {
            uint64_t a = splitmix64(&rng), b = splitmix64(&rng), c = splitmix64(&rng);
            static const uint8_t protos[8] = {6, 6, 6, 6, 17, 17, 17, 1};
            uint8_t proto = protos[c & 7];
            uint32_t pkts = 1 + (uint32_t)((c >> 8) % 64);
            uint32_t bytes = pkts * (40 + (uint32_t)((c >> 16) % 1461));
            uint32_t first = V9_UPTIME0_MS - 60000 + (uint32_t)((c >> 32) % 50000);
            uint32_t last = first + (uint32_t)((c >> 48) % 10000);
            p = put32(p, 0xC6120000u | (uint32_t)(a & 0x1FFFF)); /* 198.18.0.0/15 */
            p = put32(p, 0xC6120000u | (uint32_t)((a >> 17) & 0x1FFFF));
            p = put16(p, proto == 1 ? 0 : (uint16_t)(1024 + (a >> 34) % 64000));
            p = put16(p, proto == 1 ? 0x0800 : (uint16_t)((b & 3) ? 23 + (b >> 2) % 8000 : 443));
            *p++ = proto;
            *p++ = 0;
            *p++ = proto == 6 ? (uint8_t)(0x02 | ((b >> 8) & 0x1B)) : 0;
            p = put32(p, pkts);
            p = put32(p, bytes);
            p = put32(p, first);
            p = put32(p, last);
            p = put16(p, (uint16_t)(1 + (b >> 16) % 48));
            p = put16(p, (uint16_t)(1 + (b >> 24) % 48));
            p = put16(p, (uint16_t)(64496 + (b >> 32) % 1000));
            p = put16(p, (uint16_t)(64496 + (b >> 42) % 1000));
            *p++ = 24;
            *p++ = 24;
            p = put32(p, 0xC6130001u);
            *p++ = (uint8_t)((b >> 52) & 1);
            p = put16(p, (uint16_t)((b >> 53) % 4095));
            g->packets += pkts;
            g->bytes += bytes;
        }
    }
    return 0;
}

/* Skips link, IP and UDP headers; returns the payload offset or -1 when not a UDP datagram. */
static long udp_payload_offset(int dlt, const uint8_t *p, uint32_t len)
{
    uint32_t off = 0;
    uint16_t ethertype = 0;
    if (dlt == DLT_EN10MB) {
        if (len < 14)
            return -1;
        ethertype = (uint16_t)(p[12] << 8 | p[13]);
        off = 14;
        while ((ethertype == 0x8100 || ethertype == 0x88A8) && off + 4 <= len) {
            ethertype = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
            off += 4;
        }
    } else if (dlt == DLT_LINUX_SLL) {
        if (len < 16)
            return -1;
        ethertype = (uint16_t)(p[14] << 8 | p[15]);
        off = 16;
    } else if (dlt == DLT_RAW || dlt == 228 || dlt == 229) {
        if (len < 1)
            return -1;
        ethertype = (p[0] >> 4) == 6 ? 0x86DD : 0x0800;
    } else {
        return -1;
    }
    if (ethertype == 0x0800) {
        if (off + 20 > len || (p[off] >> 4) != 4 || p[off + 9] != 17)
            return -1;
        if ((p[off + 6] & 0x3F) != 0 || p[off + 7] != 0)
            return -1; /* fragment: not replayable as one datagram */
        off += (uint32_t)(p[off] & 0x0F) * 4;
    } else if (ethertype == 0x86DD) {
        if (off + 40 > len || p[off + 6] != 17)
            return -1;
        off += 40;
    } else {
        return -1;
    }
    if (off + 8 > len)
        return -1;
    return (long)off + 8;
}

static int load_pcap_pool(struct sender *s)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(s->o.pcap, errbuf);
    if (!pc) {
        fprintf(stderr, "sender: %s: %s\n", s->o.pcap, errbuf);
        return -EINVAL;
    }
    int dlt = pcap_datalink(pc);
    size_t cap = 1024;
    s->pool = calloc(cap, sizeof(*s->pool));
    if (!s->pool) {
        pcap_close(pc);
        return -ENOMEM;
    }
    struct pcap_pkthdr *h;
    const uint8_t *pkt;
    int rc;
    while ((rc = pcap_next_ex(pc, &h, &pkt)) == 1) {
        long off = udp_payload_offset(dlt, pkt, h->caplen);
        if (off < 0 || (uint32_t)off >= h->caplen)
            continue;
        if (s->npool == cap) {
            if (cap >= SENDER_POOL_PCAP_MAX)
                break;
            struct dgram *np = realloc(s->pool, cap * 2 * sizeof(*np));
            if (!np) {
                pcap_close(pc);
                return -ENOMEM;
            }
            s->pool = np;
            cap *= 2;
        }
        struct dgram *g = &s->pool[s->npool];
        memset(g, 0, sizeof(*g));
        g->len = h->caplen - (uint32_t)off;
        g->data = malloc(g->len);
        if (!g->data) {
            pcap_close(pc);
            return -ENOMEM;
        }
        memcpy(g->data, pkt + off, g->len);
        s->npool++;
    }
    pcap_close(pc);
    if (s->npool == 0) {
        fprintf(stderr, "sender: %s: no UDP datagram found\n", s->o.pcap);
        return -EINVAL;
    }
    return 0;
}

static int open_sockets(struct sender *s)
{
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->o.port)};
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1, always */
    for (unsigned i = 0; i < s->o.exporters; i++) {
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0)
            return -errno;
        s->socks[i] = fd;
        int sz = 4 << 20;
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + i); /* 127.0.0.1 + i: still loopback */
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0)
            return -errno;
        if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0)
            return -errno;
    }
    return 0;
}

static void write_v9_header(uint8_t *h, uint16_t count, uint32_t uptime, uint32_t secs,
                            uint32_t seq, uint32_t source_id)
{
    uint8_t *p = put16(h, 9);
    p = put16(p, count);
    p = put32(p, uptime);
    p = put32(p, secs);
    p = put32(p, seq);
    put32(p, source_id);
}

/* Sends n prepared messages on fd, retrying partial sends. A message the kernel refuses
 * (ECONNREFUSED: an ICMP port-unreachable from an earlier datagram, nobody listening yet or
 * any more) is marked failed and skipped, so the report never counts it as sent. */
static void send_batch(struct sender *s, int fd, unsigned n)
{
    unsigned done = 0;
    memset(s->failed, 0, n);
    while (done < n) {
        int r = sendmmsg(fd, s->msgs + done, n - done, 0);
        if (r > 0) {
            done += (unsigned)r;
            continue;
        }
        if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOBUFS))
            continue;
        s->st.send_errors++;
        s->failed[done++] = 1;
    }
}

static void prepare_msgs(struct sender *s, unsigned n, size_t iovlen)
{
    for (unsigned i = 0; i < n; i++) {
        memset(&s->msgs[i], 0, sizeof(s->msgs[i]));
        s->msgs[i].msg_hdr.msg_iov = s->iov[i];
        s->msgs[i].msg_hdr.msg_iovlen = iovlen;
    }
}

/* Prepares and sends up to `want` synthetic data datagrams for exporter e, with a template
 * datagram first when one is due. Returns the number of data datagrams handed to the kernel
 * (sent or refused): the schedule moves on either way. */
static unsigned send_synthetic(struct sender *s, unsigned e, unsigned want, uint64_t *pool_pos)
{
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    uint32_t uptime = V9_UPTIME0_MS + (uint32_t)((now_ns() - s->t0_ns) / 1000000u);
    unsigned n = 0, data = 0;
    if (s->since_template[e] == 0 || s->since_template[e] >= s->o.template_every) {
        write_v9_header(s->hdrs[n], 1, uptime, (uint32_t)rt.tv_sec, s->seq[e]++, 0);
        s->iov[n][0] = (struct iovec){s->hdrs[n], V9_HDR_LEN};
        s->iov[n][1] = (struct iovec){s->template_body, sizeof(s->template_body)};
        s->which[n] = NULL;
        n++;
        s->since_template[e] = 1;
    }
    while (data < want && n < s->o.batch + 1) {
        const struct dgram *g = &s->pool[*pool_pos % s->npool];
        (*pool_pos)++;
        write_v9_header(s->hdrs[n], (uint16_t)g->flows, uptime, (uint32_t)rt.tv_sec, s->seq[e]++,
                        0);
        s->iov[n][0] = (struct iovec){s->hdrs[n], V9_HDR_LEN};
        s->iov[n][1] = (struct iovec){g->data, g->len};
        s->which[n] = g;
        n++;
        data++;
        s->since_template[e]++;
    }
    prepare_msgs(s, n, 2);
    send_batch(s, s->socks[e], n);
    for (unsigned i = 0; i < n; i++) {
        if (s->failed[i])
            continue;
        const struct dgram *g = s->which[i];
        s->st.wire_bytes += V9_HDR_LEN + s->iov[i][1].iov_len;
        if (!g) {
            s->st.template_datagrams++;
            continue;
        }
        s->st.datagrams++;
        s->st.flows += g->flows;
        s->st.packets += g->packets;
        s->st.bytes += g->bytes;
    }
    return data;
}

/* pcap mode: sends up to `want` datagrams of the capture, stopping at the end of a pass. */
static unsigned send_pcap(struct sender *s, unsigned e, unsigned want, uint64_t *pool_pos)
{
    unsigned n = 0;
    while (n < want) {
        const struct dgram *g = &s->pool[*pool_pos % s->npool];
        (*pool_pos)++;
        s->iov[n][0] = (struct iovec){g->data, g->len};
        n++;
        if (*pool_pos % s->npool == 0)
            break;
    }
    prepare_msgs(s, n, 1);
    send_batch(s, s->socks[e], n);
    for (unsigned i = 0; i < n; i++) {
        if (s->failed[i])
            continue;
        s->st.datagrams++;
        s->st.wire_bytes += s->iov[i][0].iov_len;
    }
    return n;
}

static int run(struct sender *s)
{
    double dps = s->o.rate_is_dps || s->o.pcap ? s->o.rate : s->o.rate / s->o.records;
    uint64_t duration_ns = (uint64_t)(s->o.duration_s * 1e9);
    uint64_t due_total = 0, sent = 0, pool_pos = 0;
    unsigned e = 0;
    s->cpu0_s = cpu_seconds();
    s->t0_ns = now_ns();
    while (!sender_stop_flag) {
        uint64_t now = now_ns();
        uint64_t el = now - s->t0_ns;
        if (el >= duration_ns && (!s->o.pcap || pool_pos % s->npool == 0))
            break;
        due_total = (uint64_t)((double)el * dps / 1e9) + 1;
        if (sent >= due_total) {
            /* the due time of datagram number `sent`, the next one to go */
            uint64_t next = s->t0_ns + (uint64_t)((double)sent * 1e9 / dps);
            if (s->o.tick_us) {
                /* sleep until a tick's worth is due (no spinning) */
                double burst = dps * s->o.tick_us / 1e6;
                if (burst > 1)
                    next = s->t0_ns + (uint64_t)(((double)sent + burst - 1) * 1e9 / dps);
                if (next > now) {
                    struct timespec ts = {(time_t)(next / 1000000000u), (long)(next % 1000000000u)};
                    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
                }
            } else if (next > now + 200000) {
                uint64_t wake = next - 100000;
                struct timespec ts = {(time_t)(wake / 1000000000u), (long)(wake % 1000000000u)};
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
            }
            continue;
        }
        uint64_t want64 = due_total - sent;
        unsigned want = want64 > s->o.batch ? s->o.batch : (unsigned)want64;
        if (s->o.pcap)
            sent += send_pcap(s, e, want, &pool_pos);
        else
            sent += send_synthetic(s, e, want, &pool_pos);
        e = (e + 1) % s->o.exporters;
    }
    /* A sender starved of CPU falls behind its schedule; what was due by the deadline still
     * goes (late), so that a run offers rate x duration whatever the machine's load. */
    uint64_t target = (uint64_t)ceil(s->o.duration_s * dps);
    while (!sender_stop_flag && !s->o.pcap && sent < target) {
        unsigned want = target - sent > s->o.batch ? s->o.batch : (unsigned)(target - sent);
        unsigned n = send_synthetic(s, e, want, &pool_pos);
        if (!n)
            break; /* (refused: counted in send_errors) */
        sent += n;
        e = (e + 1) % s->o.exporters;
    }
    double el_s = (double)(now_ns() - s->t0_ns) / 1e9;
    double cpu_s = cpu_seconds() - s->cpu0_s;
    if (s->o.pcap) {
        /* Flows are known per whole pass only; a pass with a refused datagram is not whole. */
        s->st.passes = pool_pos / s->npool;
        s->st.flows = s->st.send_errors ? 0 : s->st.passes * s->o.pcap_flows;
    }
    printf("{\"mode\":\"%s\",\"port\":%u,\"exporters\":%u,\"records_per_datagram\":%u,"
           "\"offered_rate\":%.0f,\"rate_unit\":\"%s\",\"duration_s\":%.3f,"
           "\"datagrams\":%" PRIu64 ",\"template_datagrams\":%" PRIu64 ",\"passes\":%" PRIu64
           ",\"flows\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
           ",\"wire_bytes\":%" PRIu64 ",\"send_errors\":%" PRIu64
           ",\"achieved_datagrams_per_s\":%.0f,\"achieved_flows_per_s\":%.0f"
           ",\"cpu_s\":%.3f,\"cpu_cores\":%.2f}\n",
           s->o.pcap ? "pcap" : "v9", s->o.port, s->o.exporters, s->o.pcap ? 0 : s->o.records,
           s->o.rate, s->o.rate_is_dps || s->o.pcap ? "datagrams/s" : "flows/s", el_s,
           s->st.datagrams, s->st.template_datagrams, s->st.passes, s->st.flows, s->st.packets,
           s->st.bytes, s->st.wire_bytes, s->st.send_errors, (double)s->st.datagrams / el_s,
           (double)s->st.flows / el_s, cpu_s, el_s > 0 ? cpu_s / el_s : 0.0);
    fflush(stdout);
    return s->st.send_errors ? 1 : 0;
}

static void usage(FILE *f)
{
    fputs("usage: bs-ingest-sender --port PORT [--rate FLOWS/S | --dps DATAGRAMS/S]\n"
          "                        [--duration S] [--records N] [--template-every N]\n"
          "                        [--batch N] [--exporters N] [--seed N] [--tick-us N]\n"
          "                        [--pcap FILE [--pcap-flows N]]\n"
          "Sends NetFlow v9 (or a capture's datagrams) to 127.0.0.1:PORT only, paced, and\n"
          "prints one JSON line with what was sent. Defaults: --rate 100000 --duration 10\n"
          "--records 30 --template-every 1000 --batch 64 --exporters 1 --seed 1 --tick-us 1000.\n"
          "Exit: 0 ok, 1 some datagrams could not be sent (counted), 2 usage.\n",
          f);
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s)
        return -EINVAL;
    if (*end == 'k' || *end == 'K') {
        v *= 1e3;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        v *= 1e6;
        end++;
    }
    if (*end || v < lo || v > hi)
        return -EINVAL;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    struct sender *s = calloc(1, sizeof(*s));
    if (!s)
        return 1;
    for (unsigned i = 0; i < SENDER_MAX_EXPORTERS; i++)
        s->socks[i] = -1;
    s->o = (struct sender_opts){.rate = 100000,
                                .duration_s = 10,
                                .records = 30,
                                .template_every = 1000,
                                .batch = 64,
                                .tick_us = 1000,
                                .exporters = 1,
                                .seed = 1};
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        double v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            rc = 0;
            goto out;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "sender: %s: missing value\n", a);
            usage(stderr);
            goto out;
        }
        const char *val = argv[++i];
        if (!strcmp(a, "--pcap")) {
            s->o.pcap = val;
            continue;
        }
        int bad = 0;
        if (!strcmp(a, "--port") && !(bad = parse_num(val, 1, 65535, &v)))
            s->o.port = (unsigned)v;
        else if (!strcmp(a, "--rate") && !(bad = parse_num(val, 1, 1e9, &v)))
            s->o.rate = v;
        else if (!strcmp(a, "--dps") && !(bad = parse_num(val, 1, 1e8, &v))) {
            s->o.rate = v;
            s->o.rate_is_dps = true;
        } else if (!strcmp(a, "--duration") && !(bad = parse_num(val, 0.001, 86400, &v)))
            s->o.duration_s = v;
        else if (!strcmp(a, "--records") && !(bad = parse_num(val, 1, SENDER_MAX_RECORDS, &v)))
            s->o.records = (unsigned)v;
        else if (!strcmp(a, "--template-every") && !(bad = parse_num(val, 1, 1e9, &v)))
            s->o.template_every = (unsigned)v;
        else if (!strcmp(a, "--batch") && !(bad = parse_num(val, 1, SENDER_MAX_BATCH - 1, &v)))
            s->o.batch = (unsigned)v;
        else if (!strcmp(a, "--tick-us") && !(bad = parse_num(val, 0, 1e6, &v)))
            s->o.tick_us = (unsigned)v;
        else if (!strcmp(a, "--exporters") && !(bad = parse_num(val, 1, SENDER_MAX_EXPORTERS, &v)))
            s->o.exporters = (unsigned)v;
        else if (!strcmp(a, "--seed") && !(bad = parse_num(val, 0, 1e18, &v)))
            s->o.seed = (uint64_t)v;
        else if (!strcmp(a, "--pcap-flows") && !(bad = parse_num(val, 0, 1e15, &v)))
            s->o.pcap_flows = (uint64_t)v;
        else {
            fprintf(stderr, "sender: %s %s: unknown option or bad value\n", a, val);
            usage(stderr);
            goto out;
        }
        if (bad) {
            fprintf(stderr, "sender: %s %s: bad value\n", a, val);
            goto out;
        }
    }
    if (!s->o.port) {
        fprintf(stderr, "sender: --port is required\n");
        usage(stderr);
        goto out;
    }
    struct sigaction sa = {.sa_handler = sender_on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = 1;
    build_template(s);
    int err = s->o.pcap ? load_pcap_pool(s) : build_synthetic_pool(s);
    if (err) {
        fprintf(stderr, "sender: cannot prepare datagrams: %s\n", strerror(-err));
        goto out;
    }
    err = open_sockets(s);
    if (err) {
        fprintf(stderr, "sender: socket: %s\n", strerror(-err));
        goto out;
    }
    rc = run(s);
out:
    for (unsigned i = 0; i < SENDER_MAX_EXPORTERS; i++)
        if (s->socks[i] >= 0)
            close(s->socks[i]);
    if (s->pool) {
        for (size_t i = 0; i < s->npool; i++)
            free(s->pool[i].data);
        free(s->pool);
    }
    free(s);
    return rc;
}
