/* pcapmm.c - mapped classic pcap reader (see pcapmm.h). */
#include "capture/pcapmm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"

#define FILE_HEADER   24
#define RECORD_HEADER 16

struct pcapmm {
    const uint8_t *base;
    size_t size;
    size_t off;
    bool mapped; /* base is our mapping (pcapmm_open), else borrowed */
    bool swap;   /* file byte order differs from ours */
    bool nanos;  /* nanosecond timestamps */
    enum pkt_link link;
};

static uint32_t get32(const uint8_t *p, bool swap)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swap ? __builtin_bswap32(v) : v;
}

/* Reads the file header into m. Returns 0 or BS_EUNSUPPORTED. */
static int parse_header(const uint8_t *h, size_t len, struct pcapmm *m)
{
    if (len < FILE_HEADER)
        return BS_EUNSUPPORTED;
    uint32_t magic;
    memcpy(&magic, h, 4);
    switch (magic) {
    case 0xa1b2c3d4:
        m->swap = false;
        m->nanos = false;
        break;
    case 0xd4c3b2a1:
        m->swap = true;
        m->nanos = false;
        break;
    case 0xa1b23c4d:
        m->swap = false;
        m->nanos = true;
        break;
    case 0x4d3cb2a1:
        m->swap = true;
        m->nanos = true;
        break;
    default:
        return BS_EUNSUPPORTED; /* pcapng, gzip, ... */
    }
    uint32_t linktype = get32(h + 20, m->swap) & 0x03ffffff; /* upper bits: FCS information */
    int link = pcapin_link_from_dlt((int)linktype);
    if (link < 0)
        return BS_EUNSUPPORTED; /* let libpcap report it */
    m->link = (enum pkt_link)link;
    m->off = FILE_HEADER;
    return 0;
}

int pcapmm_open_mem(const uint8_t *data, size_t len, struct pcapmm **out)
{
    *out = NULL;
    struct pcapmm h = {0};
    int rc = parse_header(data, len, &h);
    if (rc)
        return rc;
    struct pcapmm *m = malloc(sizeof *m);
    if (!m)
        return BS_ENOMEM;
    *m = h;
    m->base = data;
    m->size = len;
    *out = m;
    return 0;
}

int pcapmm_open(const char *path, struct pcapmm **out)
{
    *out = NULL;
    if (!strcmp(path, "-"))
        return BS_EUNSUPPORTED;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < FILE_HEADER) {
        close(fd);
        return BS_EUNSUPPORTED;
    }
    uint8_t hdr[FILE_HEADER];
    struct pcapmm h = {0};
    if (pread(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr || parse_header(hdr, sizeof hdr, &h)) {
        close(fd);
        return BS_EUNSUPPORTED;
    }
    void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (base == MAP_FAILED)
        return BS_EUNSUPPORTED;
    (void)madvise(base, (size_t)st.st_size, MADV_SEQUENTIAL);
    struct pcapmm *m = malloc(sizeof *m);
    if (!m) {
        munmap(base, (size_t)st.st_size);
        return BS_ENOMEM;
    }
    *m = h;
    m->base = base;
    m->size = (size_t)st.st_size;
    m->mapped = true;
    *out = m;
    return 0;
}

int pcapmm_next(struct pcapmm *m, struct pcapin_pkt *pkt)
{
    if (m->off == m->size)
        return 0;
    if (m->size - m->off < RECORD_HEADER)
        return BS_ETRUNC;
    const uint8_t *r = m->base + m->off;
    uint32_t sec = get32(r, m->swap), frac = get32(r + 4, m->swap);
    uint32_t caplen = get32(r + 8, m->swap), wirelen = get32(r + 12, m->swap);
    if (caplen > PCAPMM_MAX_CAPLEN)
        return BS_EMALFORMED;
    if (m->size - m->off - RECORD_HEADER < caplen)
        return BS_ETRUNC;
    pkt->ts_us = (uint64_t)sec * 1000000u + (m->nanos ? frac / 1000u : frac);
    pkt->data = r + RECORD_HEADER;
    pkt->caplen = caplen;
    pkt->wirelen = wirelen < caplen ? caplen : wirelen;
    pkt->link = m->link;
    m->off += RECORD_HEADER + (size_t)caplen;
    return 1;
}

void pcapmm_close(struct pcapmm *m)
{
    if (!m)
        return;
    if (m->mapped)
        munmap((void *)(uintptr_t)m->base, m->size);
    free(m);
}
