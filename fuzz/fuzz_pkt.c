/* fuzz_pkt.c - pkt_decode over every link type: the first input byte picks the link type,
 * the rest is the captured frame. Checks the decoder's output invariants as it goes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "proto/pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum pkt_link links[] = {
        PKT_LINK_ETHERNET, PKT_LINK_RAW,       PKT_LINK_IPV4,       PKT_LINK_IPV6,
        PKT_LINK_NULL,     PKT_LINK_LINUX_SLL, PKT_LINK_LINUX_SLL2,
    };
    if (size < 1)
        return 0;
    enum pkt_link link = links[data[0] % (sizeof links / sizeof links[0])];
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    struct pkt_info pi;
    int rc = pkt_decode(p, n, link, &pi);
    if (pi.caplen != n || pi.payload_off > n || pi.l3_off > n || pi.l4_off > n)
        abort();
    if (pi.tcp_opts && (pi.tcp_opts < p || pi.tcp_opts + pi.tcp_opts_len > p + n))
        abort();
    if (rc == 0 && pi.ip_version != 4 && pi.ip_version != 6)
        abort();
    (void)pkt_decode_ip(p, n, &pi);
    return 0;
}
