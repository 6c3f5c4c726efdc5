/* fuzz_survey_syn.c - the SYN sweep's answer parser (syn.h) over arbitrary bytes: as they
 * are, and with the acknowledgement number rewritten to the cookie the bytes' own addresses
 * and ports call for, so that the fuzzer also reaches the accepting paths. An accepted
 * packet must name the address and port its bytes carry. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "survey/syn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct sv_syn_key k = {0x0123456789abcdefull, 0xfedcba9876543210ull};
    struct ipaddr a;
    uint16_t port;
    sv_syn_parse(&k, NULL, data, size, &a, &port);
    if (size < 20 || size > 4096)
        return 0;
    uint8_t *p = malloc(size);
    if (!p)
        return 0;
    memcpy(p, data, size);
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    if (ihl >= 20 && ihl + 20 <= size) {
        uint8_t *t = p + ihl;
        uint32_t src = be32(p + 12), dst = be32(p + 16);
        uint16_t sport = (uint16_t)(t[0] << 8 | t[1]);
        uint16_t dport = sv_syn_sport(&k, src, sport);
        t[2] = (uint8_t)(dport >> 8);
        t[3] = (uint8_t)dport;
        uint32_t ack = sv_syn_cookie(&k, dst, src, dport, sport) + 1u;
        for (int i = 0; i < 4; i++)
            t[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
        if (sv_syn_parse(&k, NULL, p, size, &a, &port) != SV_SYN_IGNORE &&
            (ipaddr_v4(&a) != src || port != sport))
            abort();
    }
    free(p);
    return 0;
}
