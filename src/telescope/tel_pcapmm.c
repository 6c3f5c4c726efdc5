/* tel_pcapmm.c - mapped classic pcap reader (see tel_pcapmm.h). */
#include "telescope/tel_pcapmm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"

struct tel_pcapmm {
    const uint8_t *base;
    size_t size;
    size_t off;
    bool swap;      /* file byte order differs from ours */
    bool nanos;     /* nanosecond timestamps */
    enum pkt_link link;
};

static uint32_t get32(const uint8_t *p, bool swap)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

int tel_pcapmm_open(const char *path, struct tel_pcapmm **out)
{
    *out = NULL;
    if (!strcmp(path, "-"))
        return BS_EUNSUPPORTED;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 24) {
        close(fd);
        return BS_EUNSUPPORTED;
    }
    uint8_t h[24];
    if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h) {
        close(fd);
        return BS_EUNSUPPORTED;
    }
    uint32_t magic;
    memcpy(&magic, h, 4);
    bool swap, nanos;
    switch (magic) {
    case 0xa1b2c3d4: swap = false; nanos = false; break;
    case 0xd4c3b2a1: swap = true; nanos = false; break;
    case 0xa1b23c4d: swap = false; nanos = true; break;
    case 0x4d3cb2a1: swap = true; nanos = true; break;
    default: close(fd); return BS_EUNSUPPORTED; /* pcapng, gzip, ... */
    }
    uint32_t linktype = get32(h + 20, swap) & 0x03ffffff; /* upper bits: FCS information */
    int link = pcapin_link_from_dlt((int)linktype);
    if (link < 0) {
        close(fd);
        return BS_EUNSUPPORTED; /* let libpcap report it */
    }
    void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (base == MAP_FAILED)
        return BS_EUNSUPPORTED;
    (void)madvise(base, (size_t)st.st_size, MADV_SEQUENTIAL);
    struct tel_pcapmm *m = calloc(1, sizeof *m);
    if (!m) {
        munmap(base, (size_t)st.st_size);
        return BS_ENOMEM;
    }
    m->base = base;
    m->size = (size_t)st.st_size;
    m->off = 24;
    m->swap = swap;
    m->nanos = nanos;
    m->link = (enum pkt_link)link;
    *out = m;
    return 0;
}

int tel_pcapmm_next(struct tel_pcapmm *m, struct pcapin_pkt *pkt)
{
    if (m->off == m->size)
        return 0;
    if (m->size - m->off < 16)
        return BS_ETRUNC;
    const uint8_t *r = m->base + m->off;
    uint32_t sec = get32(r, m->swap), frac = get32(r + 4, m->swap);
    uint32_t caplen = get32(r + 8, m->swap), wirelen = get32(r + 12, m->swap);
    if (caplen > TEL_PCAPMM_MAX_CAPLEN)
        return BS_EMALFORMED;
    if (m->size - m->off - 16 < caplen)
        return BS_ETRUNC;
    pkt->ts_us = (uint64_t)sec * 1000000u + (m->nanos ? frac / 1000u : frac);
    pkt->data = r + 16;
    pkt->caplen = caplen;
    pkt->wirelen = wirelen < caplen ? caplen : wirelen;
    pkt->link = m->link;
    m->off += 16 + (size_t)caplen;
    return 1;
}

void tel_pcapmm_close(struct tel_pcapmm *m)
{
    if (!m)
        return;
    munmap((void *)(uintptr_t)m->base, m->size);
    free(m);
}
