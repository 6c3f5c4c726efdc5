#include "core/ipaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"

char *ipaddr_format(const struct ipaddr *a, char *buf, size_t len)
{
    if (ipaddr_is_v4(a)) {
        if (!inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)len) && len)
            buf[0] = '\0';
    } else {
        if (!inet_ntop(AF_INET6, a->b, buf, (socklen_t)len) && len)
            buf[0] = '\0';
    }
    return buf;
}

int ipaddr_parse(const char *s, struct ipaddr *out)
{
    uint8_t b[16];
    if (inet_pton(AF_INET, s, b) == 1) {
        ipaddr_from_v4(out,
                       (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
        return 0;
    }
    if (inet_pton(AF_INET6, s, b) == 1) {
        ipaddr_from_v6(out, b);
        return 0;
    }
    return BS_EPARSE;
}

void ipaddr_mask(struct ipaddr *a, unsigned len)
{
    if (len >= 128)
        return;
    unsigned byte = len / 8, bits = len % 8;
    if (bits) {
        a->b[byte] &= (uint8_t)(0xff00u >> bits);
        byte++;
    }
    memset(a->b + byte, 0, 16 - byte);
}

int ipprefix_parse(const char *s, struct ipprefix *out)
{
    char tmp[IPPREFIX_STRLEN];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof tmp)
        return BS_EPARSE;
    memcpy(tmp, s, n + 1);
    char *slash = strchr(tmp, '/');
    long len = -1;
    if (slash) {
        *slash = '\0';
        char *end;
        if (!slash[1] || slash[1] < '0' || slash[1] > '9')
            return BS_EPARSE;
        len = strtol(slash + 1, &end, 10);
        if (*end)
            return BS_EPARSE;
    }
    if (ipaddr_parse(tmp, &out->addr))
        return BS_EPARSE;
    bool v4 = ipaddr_is_v4(&out->addr) && strchr(tmp, ':') == NULL;
    long max = v4 ? 32 : 128;
    if (len < 0)
        len = max;
    if (len > max)
        return BS_EPARSE;
    out->len = (uint8_t)(v4 ? len + 96 : len);
    ipaddr_mask(&out->addr, out->len);
    return 0;
}

char *ipprefix_format(const struct ipprefix *p, char *buf, size_t len)
{
    char a[IPADDR_STRLEN];
    ipaddr_format(&p->addr, a, sizeof a);
    snprintf(buf, len, "%s/%u", a, ipprefix_family_len(p));
    return buf;
}

bool ipprefix_contains(const struct ipprefix *p, const struct ipaddr *a)
{
    unsigned byte = p->len / 8, bits = p->len % 8;
    if (memcmp(p->addr.b, a->b, byte) != 0)
        return false;
    if (bits) {
        uint8_t m = (uint8_t)(0xff00u >> bits);
        return (a->b[byte] & m) == p->addr.b[byte];
    }
    return true;
}
