/* sim_pcap.c - pcap file writer. */
#include "sim/sim_pcap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define IOBUF_SIZE (1u << 20)

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static int pcap_put(struct sim_pcap *p, const void *data, size_t n)
{
    if (p->err)
        return p->err;
    if (fwrite(data, 1, n, p->f) != n) {
        p->err = errno ? -errno : BS_EIO;
        return p->err;
    }
    p->bytes += n;
    return 0;
}

int sim_pcap_open(struct sim_pcap *p, const char *path, uint32_t linktype)
{
    memset(p, 0, sizeof *p);
    p->f = fopen(path, "wb");
    if (!p->f)
        return -errno;
    p->iobuf = malloc(IOBUF_SIZE);
    if (p->iobuf)
        setvbuf(p->f, p->iobuf, _IOFBF, IOBUF_SIZE);
    uint8_t h[24];
    put_le32(h, PCAP_MAGIC_US);
    put_le16(h + 4, 2);
    put_le16(h + 6, 4);
    put_le32(h + 8, 0);  /* thiszone */
    put_le32(h + 12, 0); /* sigfigs */
    put_le32(h + 16, SIM_PCAP_SNAPLEN);
    put_le32(h + 20, linktype);
    return pcap_put(p, h, sizeof h);
}

int sim_pcap_write(struct sim_pcap *p, uint64_t ts_ns, const uint8_t *frame, size_t len)
{
    if (len > SIM_PCAP_SNAPLEN)
        return BS_EMALFORMED;
    uint8_t h[16];
    put_le32(h, (uint32_t)(ts_ns / 1000000000u));
    put_le32(h + 4, (uint32_t)(ts_ns % 1000000000u / 1000u));
    put_le32(h + 8, (uint32_t)len);
    put_le32(h + 12, (uint32_t)len);
    int rc = pcap_put(p, h, sizeof h);
    if (!rc)
        rc = pcap_put(p, frame, len);
    if (!rc)
        p->frames++;
    return rc;
}

int sim_pcap_close(struct sim_pcap *p)
{
    int rc = p->err;
    if (p->f) {
        if (fclose(p->f) && !rc)
            rc = errno ? -errno : BS_EIO;
        p->f = NULL;
    }
    free(p->iobuf);
    p->iobuf = NULL;
    return rc;
}
