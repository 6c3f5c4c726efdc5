/* ipaddr.h - IPv4/IPv6 addresses and prefixes in one 16-byte form.
 *
 * Invariant: an IPv4 address is stored as the IPv4-mapped IPv6 address ::ffff:a.b.c.d, so every
 * address compares, hashes and masks the same way whatever its family. A prefix's len is
 * counted on the 128-bit form (an IPv4 /24 has len 120); ipaddr_prefix_parse() and
 * ipaddr_prefix_format() convert to and from the usual notation.
 */
#ifndef BS_CORE_IPADDR_H
#define BS_CORE_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct ipaddr {
    uint8_t b[16];
};

struct ipprefix {
    struct ipaddr addr; /* masked: bits past len are zero */
    uint8_t len;        /* 0..128, on the 128-bit form */
};

/* Longest text form (IPv6 with scope-free IPv4 tail) plus NUL. */
#define IPADDR_STRLEN   46
#define IPPREFIX_STRLEN 50

static inline void ipaddr_from_v4(struct ipaddr *a, uint32_t v4)
{
    memset(a->b, 0, 10);
    a->b[10] = 0xff;
    a->b[11] = 0xff;
    a->b[12] = (uint8_t)(v4 >> 24);
    a->b[13] = (uint8_t)(v4 >> 16);
    a->b[14] = (uint8_t)(v4 >> 8);
    a->b[15] = (uint8_t)v4;
}

static inline void ipaddr_from_v6(struct ipaddr *a, const uint8_t b[16])
{
    memcpy(a->b, b, 16);
}

static inline bool ipaddr_is_v4(const struct ipaddr *a)
{
    static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a->b, pfx, 12) == 0;
}

static inline uint32_t ipaddr_v4(const struct ipaddr *a)
{
    return (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 | (uint32_t)a->b[14] << 8 | a->b[15];
}

static inline bool ipaddr_is_zero(const struct ipaddr *a)
{
    static const uint8_t z[16];
    return memcmp(a->b, z, 16) == 0;
}

static inline int ipaddr_cmp(const struct ipaddr *a, const struct ipaddr *b)
{
    return memcmp(a->b, b->b, 16);
}

/* Formats a as text (dotted quad for IPv4-mapped, RFC 5952 otherwise). Returns buf. */
char *ipaddr_format(const struct ipaddr *a, char *buf, size_t len);

/* Parses an IPv4 or IPv6 address. Returns 0 or BS_EPARSE. */
int ipaddr_parse(const char *s, struct ipaddr *out);

/* Zeroes every bit of a past the first len bits (len on the 128-bit form). */
void ipaddr_mask(struct ipaddr *a, unsigned len);

/* Parses "addr", "addr/len" (IPv4 len 0..32, IPv6 0..128). A bare address is a host prefix.
 * Host bits set past the length are cleared. Returns 0 or BS_EPARSE. */
int ipprefix_parse(const char *s, struct ipprefix *out);

/* Formats p in the usual notation ("192.0.2.0/24", "2001:db8::/32"). Returns buf. */
char *ipprefix_format(const struct ipprefix *p, char *buf, size_t len);

/* True when a lies inside p. */
bool ipprefix_contains(const struct ipprefix *p, const struct ipaddr *a);

/* Prefix length in the family's own terms (an IPv4 /24 gives 24). */
static inline unsigned ipprefix_family_len(const struct ipprefix *p)
{
    return ipaddr_is_v4(&p->addr) && p->len >= 96 ? p->len - 96u : p->len;
}

#endif
