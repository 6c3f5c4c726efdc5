/* syn.c - stateless SYN discovery (syn.h): cookies, the SYN packet, the answer parser and the
 * raw socket. */
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/hash.h"
#include "core/rd.h"
#include "survey/syn.h"

/* ---- SipHash-2-4 (Aumasson and Bernstein), little-endian words ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static inline void sip_round(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = ROTL(v[1], 13) ^ v[0];
    v[0] = ROTL(v[0], 32);
    v[2] += v[3];
    v[3] = ROTL(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = ROTL(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = ROTL(v[1], 17) ^ v[2];
    v[2] = ROTL(v[2], 32);
}

static inline uint64_t le64(const uint8_t *p, size_t n)
{
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++)
        w |= (uint64_t)p[i] << (8 * i);
    return w;
}

uint64_t sv_siphash(const struct sv_syn_key *k, const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t v[4] = {k->k0 ^ 0x736f6d6570736575ull, k->k1 ^ 0x646f72616e646f6dull,
                     k->k0 ^ 0x6c7967656e657261ull, k->k1 ^ 0x7465646279746573ull};
    size_t full = n - n % 8;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = le64(b + i, 8);
        v[3] ^= m;
        sip_round(v);
        sip_round(v);
        v[0] ^= m;
    }
    uint64_t last = ((uint64_t)(n & 0xff) << 56) | le64(b + full, n % 8);
    v[3] ^= last;
    sip_round(v);
    sip_round(v);
    v[0] ^= last;
    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++)
        sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

uint16_t sv_syn_sport(const struct sv_syn_key *k, uint32_t daddr, uint16_t dport)
{
    uint8_t m[7] = {'P'};
    put32(m + 1, daddr);
    put16(m + 5, dport);
    return (uint16_t)(SV_SYN_SPORT_BASE + sv_siphash(k, m, sizeof m) % SV_SYN_SPORT_RANGE);
}

uint32_t sv_syn_cookie(const struct sv_syn_key *k, uint32_t saddr, uint32_t daddr, uint16_t sport,
                       uint16_t dport)
{
    uint8_t m[13] = {'C'};
    put32(m + 1, saddr);
    put32(m + 5, daddr);
    put16(m + 9, sport);
    put16(m + 11, dport);
    return (uint32_t)sv_siphash(k, m, sizeof m);
}

uint16_t sv_syn_sport6(const struct sv_syn_key *k, const uint8_t daddr[16], uint16_t dport)
{
    uint8_t m[19] = {'p'};
    memcpy(m + 1, daddr, 16);
    put16(m + 17, dport);
    return (uint16_t)(SV_SYN_SPORT_BASE + sv_siphash(k, m, sizeof m) % SV_SYN_SPORT_RANGE);
}

uint32_t sv_syn_cookie6(const struct sv_syn_key *k, const uint8_t daddr[16], uint16_t sport,
                        uint16_t dport)
{
    uint8_t m[21] = {'c'};
    memcpy(m + 1, daddr, 16);
    put16(m + 17, sport);
    put16(m + 19, dport);
    return (uint32_t)sv_siphash(k, m, sizeof m);
}

/* The TCP header of a probe (checksum 0), shared by both families. */
static void tcp_syn(uint8_t *t, uint16_t sport, uint16_t dport, uint32_t seq)
{
    memset(t, 0, SV_SYN_TCP_LEN);
    put16(t, sport);
    put16(t + 2, dport);
    put32(t + 4, seq);
    t[12] = 6 << 4; /* 24-byte header */
    t[13] = 0x02;   /* SYN */
    put16(t + 14, 65535);
    t[20] = 2; /* MSS 1460: what a normal stack offers; some devices drop SYNs without it */
    t[21] = 4;
    put16(t + 22, 1460);
}

void sv_syn_build6(const struct sv_syn_key *k, const uint8_t daddr[16], uint16_t dport,
                   uint8_t out[SV_SYN_TCP_LEN])
{
    uint16_t sport = sv_syn_sport6(k, daddr, dport);
    tcp_syn(out, sport, dport, sv_syn_cookie6(k, daddr, sport, dport));
}

/* The Internet checksum's running sum over big-endian 16-bit words. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

void sv_syn_build(const struct sv_syn_key *k, uint32_t saddr, uint32_t daddr, uint16_t dport,
                  uint8_t out[SV_SYN_PKT_LEN])
{
    memset(out, 0, SV_SYN_PKT_LEN);
    uint16_t sport = sv_syn_sport(k, daddr, dport);
    /* IPv4: the kernel fills the identification (left 0) and the header checksum. */
    out[0] = 0x45;
    put16(out + 2, SV_SYN_PKT_LEN);
    out[8] = 64; /* TTL */
    out[9] = IPPROTO_TCP;
    put32(out + 12, saddr);
    put32(out + 16, daddr);
    uint8_t *t = out + 20;
    tcp_syn(t, sport, dport, sv_syn_cookie(k, saddr, daddr, sport, dport));
    uint8_t pseudo[12];
    put32(pseudo, saddr);
    put32(pseudo + 4, daddr);
    pseudo[8] = 0;
    pseudo[9] = IPPROTO_TCP;
    put16(pseudo + 10, 24);
    put16(t + 16, csum_fold(csum_add(csum_add(0, pseudo, sizeof pseudo), t, 24)));
}

struct tcp_answer {
    uint16_t sport, dport;
    uint32_t ack;
};

/* The TCP segment of an answer (n bytes: the segment as the IP header bounds it): SYN-ACK or
 * RST-ACK with a sane header, or SV_SYN_IGNORE. */
static enum sv_syn_answer tcp_answer(const uint8_t *seg, size_t n, struct tcp_answer *t)
{
    struct rd r;
    rd_init(&r, seg, n);
    t->sport = rd_u16(&r);
    t->dport = rd_u16(&r);
    rd_u32(&r); /* the device's sequence number */
    t->ack = rd_u32(&r);
    uint8_t off = rd_u8(&r), flags = rd_u8(&r);
    if (rd_err(&r) || (off >> 4) < 5 || (size_t)(off >> 4) * 4 > n)
        return SV_SYN_IGNORE;
    if ((flags & 0x16) == 0x12) /* SYN and ACK, no RST */
        return SV_SYN_OPEN;
    if ((flags & 0x16) == 0x14) /* RST with ACK, no SYN: a refusal of our SYN */
        return SV_SYN_CLOSED;
    return SV_SYN_IGNORE;
}

enum sv_syn_answer sv_syn_parse(const struct sv_syn_key *k, const struct sv_scope *sc,
                                const uint8_t *pkt, size_t n, struct ipaddr *addr, uint16_t *port)
{
    struct rd r;
    rd_init(&r, pkt, n);
    uint8_t vihl = rd_u8(&r);
    rd_u8(&r); /* TOS */
    uint16_t tot = rd_u16(&r);
    rd_u16(&r); /* identification */
    uint16_t frag = rd_u16(&r);
    rd_u8(&r); /* TTL */
    uint8_t proto = rd_u8(&r);
    rd_u16(&r); /* header checksum: the kernel checked it */
    uint32_t src = rd_u32(&r), dst = rd_u32(&r);
    size_t ihl = (size_t)(vihl & 0x0f) * 4;
    if (rd_err(&r) || vihl >> 4 != 4 || ihl < 20 || ihl > n || tot < ihl + 20 || tot > n ||
        proto != IPPROTO_TCP || (frag & 0x3fff))
        return SV_SYN_IGNORE; /* malformed, not TCP, or a fragment (MF or an offset) */
    struct tcp_answer t;
    enum sv_syn_answer a = tcp_answer(pkt + ihl, tot - ihl, &t);
    /* Ours: the source port we would use for this device and port, and the cookie. */
    if (!a || t.dport != sv_syn_sport(k, src, t.sport) ||
        t.ack != sv_syn_cookie(k, dst, src, t.dport, t.sport) + 1u)
        return SV_SYN_IGNORE;
    struct ipaddr a4;
    ipaddr_from_v4(&a4, src);
    if (sc && sv_scope_check(sc, &a4) != SV_ALLOW)
        return SV_SYN_IGNORE;
    *addr = a4;
    *port = t.sport;
    return a;
}

enum sv_syn_answer sv_syn_parse6(const struct sv_syn_key *k, const struct sv_scope *sc,
                                 const uint8_t src[16], const uint8_t *seg, size_t n,
                                 struct ipaddr *addr, uint16_t *port)
{
    struct tcp_answer t;
    enum sv_syn_answer a = tcp_answer(seg, n, &t);
    if (!a || t.dport != sv_syn_sport6(k, src, t.sport) ||
        t.ack != sv_syn_cookie6(k, src, t.dport, t.sport) + 1u)
        return SV_SYN_IGNORE;
    struct ipaddr a6;
    ipaddr_from_v6(&a6, src);
    if (sc && sv_scope_check(sc, &a6) != SV_ALLOW)
        return SV_SYN_IGNORE;
    *addr = a6;
    *port = t.sport;
    return a;
}

/* ---- the raw socket ---- */

/* Classic BPF: accept TCP segments to our source-port range whose flags have SYN+ACK or RST;
 * everything else the machine receives never reaches user space. */
static int attach_filter(int fd)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9), /* protocol */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, 0, 11),
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6), /* flags and fragment offset */
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, 9, 0),
        BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0), /* X = IP header length */
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),  /* TCP destination port */
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SV_SYN_SPORT_BASE, 0, 6),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SV_SYN_SPORT_BASE + SV_SYN_SPORT_RANGE, 5, 0),
        BPF_STMT(BPF_LD | BPF_B | BPF_IND, 13), /* TCP flags */
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x04, 2, 0),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x12, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xffff),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
}

/* The same filter for an IPv6 raw socket, which sees the TCP segment without the IPv6 header
 * (extension headers are parsed by the kernel before delivery). */
static int attach_filter6(int fd)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 2), /* TCP destination port */
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SV_SYN_SPORT_BASE, 0, 6),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SV_SYN_SPORT_BASE + SV_SYN_SPORT_RANGE, 5, 0),
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13), /* TCP flags */
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x04, 2, 0),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x12, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xffff),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
}

/* The IPv6 socket, best effort: -1 when the system has no IPv6 or it cannot be set up. */
static int open6(void)
{
    int fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0)
        return -1;
    int csum = 16, rcv = 8 << 20; /* the kernel fills the TCP checksum at offset 16 */
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &csum, sizeof csum) < 0 ||
        attach_filter6(fd) < 0) {
        close(fd);
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    return fd;
}

int sv_syn_open(struct sv_syn *y)
{
    memset(y, 0, sizeof *y);
    y->udp = y->fd6 = -1;
    if (getrandom(&y->key, sizeof y->key, 0) != sizeof y->key)
        return -EIO;
    y->fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (y->fd < 0)
        return -errno;
    int one = 1, rcv = 8 << 20;
    int rc = 0;
    if (setsockopt(y->fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof one) < 0 || attach_filter(y->fd) < 0)
        rc = -errno;
    /* Answers come in bursts at the sweep's rate: a deep receive queue (best effort: the
     * system's rmem_max caps it unless CAP_NET_ADMIN forces it). */
    if (!rc && setsockopt(y->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0)
        setsockopt(y->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    if (!rc) {
        y->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (y->udp < 0)
            rc = -errno;
    }
    if (!rc)
        y->fd6 = open6();
    if (rc) {
        sv_syn_close(y);
        return rc;
    }
    return 0;
}

void sv_syn_close(struct sv_syn *y)
{
    if (y->fd >= 0)
        close(y->fd);
    if (y->udp >= 0)
        close(y->udp);
    if (y->fd6 >= 0)
        close(y->fd6);
    y->fd = y->udp = y->fd6 = -1;
}

int sv_syn_source(struct sv_syn *y, uint32_t daddr, uint32_t *saddr)
{
    uint32_t net = daddr & 0xffffff00u;
    struct sv_syn_src *c = &y->cache[hash_mix64(net ^ y->key.k1) % SV_SYN_SRC_CACHE];
    if (c->used && c->net == net) {
        *saddr = c->src;
        return 0;
    }
    /* A connected UDP socket shows the routing table's choice without sending a packet. */
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
    to.sin_addr.s_addr = htonl(daddr);
    struct sockaddr_in me;
    socklen_t ml = sizeof me;
    if (connect(y->udp, (struct sockaddr *)&to, sizeof to) < 0 ||
        getsockname(y->udp, (struct sockaddr *)&me, &ml) < 0)
        return -errno;
    *c = (struct sv_syn_src){.net = net, .src = ntohl(me.sin_addr.s_addr), .used = true};
    *saddr = c->src;
    return 0;
}

int sv_syn_send(struct sv_syn *y, uint32_t saddr, uint32_t daddr, uint16_t dport)
{
    uint8_t pkt[SV_SYN_PKT_LEN];
    sv_syn_build(&y->key, saddr, daddr, dport, pkt);
    struct sockaddr_in to = {.sin_family = AF_INET};
    to.sin_addr.s_addr = htonl(daddr);
    if (sendto(y->fd, pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to) < 0)
        return -errno;
    return 0;
}

int sv_syn_send6(struct sv_syn *y, const uint8_t daddr[16], uint16_t dport)
{
    uint8_t seg[SV_SYN_TCP_LEN];
    sv_syn_build6(&y->key, daddr, dport, seg);
    struct sockaddr_in6 to = {.sin6_family = AF_INET6};
    memcpy(&to.sin6_addr, daddr, 16);
    if (sendto(y->fd6, seg, sizeof seg, 0, (struct sockaddr *)&to, sizeof to) < 0)
        return -errno;
    return 0;
}
