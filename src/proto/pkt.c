#include "proto/pkt.h"
#include <string.h>
#include "core/err.h"
int pkt_decode(const uint8_t *buf, size_t len, enum pkt_link link, struct pkt_info *out)
{
    memset(out, 0, sizeof *out);
    return BS_EUNSUPPORTED;
}
int pkt_decode_ip(const uint8_t *buf, size_t len, struct pkt_info *out)
{
    memset(out, 0, sizeof *out);
    return BS_EUNSUPPORTED;
}
