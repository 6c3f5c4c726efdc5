#include "capture/pcapin.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/err.h"

struct pcapin {
    pcap_t *p;
    FILE *f; /* cookie stream over gz, or NULL when libpcap opened the file itself */
    gzFile gz;
    enum pkt_link link;
    int dlt;
};

int pcapin_link_from_dlt(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
        return PKT_LINK_ETHERNET;
    case DLT_RAW: /* 12 on Linux */
    case 14:      /* DLT_RAW on OpenBSD */
    case 101:     /* LINKTYPE_RAW as written in files */
        return PKT_LINK_RAW;
    case 228: /* LINKTYPE_IPV4 */
        return PKT_LINK_IPV4;
    case 229: /* LINKTYPE_IPV6 */
        return PKT_LINK_IPV6;
    case DLT_NULL:
#ifdef DLT_LOOP
    case DLT_LOOP:
#endif
        return PKT_LINK_NULL;
    case DLT_LINUX_SLL:
        return PKT_LINK_LINUX_SLL;
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2:
        return PKT_LINK_LINUX_SLL2;
#endif
    default:
        return -1;
    }
}

static ssize_t gz_cookie_read(void *cookie, char *buf, size_t size)
{
    if (size > (1u << 30))
        size = 1u << 30;
    int n = gzread((gzFile)cookie, buf, (unsigned)size);
    if (n < 0) {
        errno = EIO;
        return -1;
    }
    return n;
}

static int gz_cookie_close(void *cookie)
{
    return gzclose((gzFile)cookie) == Z_OK ? 0 : -1;
}

/* True when the file at path starts with the gzip magic. */
static int is_gzip(const char *path)
{
    unsigned char m[2];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(m, 1, 2, f);
    fclose(f);
    return n == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

int pcapin_open(const char *path, struct pcapin **out, char errbuf[PCAPIN_ERRLEN])
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    struct pcapin *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(errbuf, PCAPIN_ERRLEN, "%s: out of memory", path);
        return BS_ENOMEM;
    }
    int rc = BS_EIO;
    if (strcmp(path, "-") && !is_gzip(path)) {
        if (access(path, R_OK)) {
            rc = -errno;
            snprintf(errbuf, PCAPIN_ERRLEN, "%s: %s", path, strerror(errno));
            goto fail_free;
        }
        in->p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, perr);
        if (!in->p) {
            snprintf(errbuf, PCAPIN_ERRLEN, "%s: not a pcap or pcapng capture (%s)", path, perr);
            rc = BS_EMALFORMED;
            goto fail_free;
        }
    } else {
        int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
        if (fd < 0) {
            rc = -errno;
            snprintf(errbuf, PCAPIN_ERRLEN, "%s: %s", path, strerror(errno));
            goto fail_free;
        }
        in->gz = gzdopen(fd, "rb"); /* passes plain data through unchanged */
        if (!in->gz) {
            close(fd);
            snprintf(errbuf, PCAPIN_ERRLEN, "%s: cannot open stream", path);
            goto fail_free;
        }
        gzbuffer(in->gz, 256 * 1024);
        cookie_io_functions_t io = {.read = gz_cookie_read, .close = gz_cookie_close};
        in->f = fopencookie(in->gz, "r", io);
        if (!in->f) {
            gzclose(in->gz);
            snprintf(errbuf, PCAPIN_ERRLEN, "%s: %s", path, strerror(errno));
            goto fail_free;
        }
        in->p = pcap_fopen_offline_with_tstamp_precision(in->f, PCAP_TSTAMP_PRECISION_MICRO, perr);
        if (!in->p) {
            fclose(in->f); /* closes gz and fd through the cookie */
            snprintf(errbuf, PCAPIN_ERRLEN, "%s: not a pcap or pcapng capture (%s)", path, perr);
            rc = BS_EMALFORMED;
            goto fail_free;
        }
    }
    in->dlt = pcap_datalink(in->p);
    int link = pcapin_link_from_dlt(in->dlt);
    if (link < 0) {
        snprintf(errbuf, PCAPIN_ERRLEN, "%s: unsupported link type %s (%d)", path,
                 pcap_datalink_val_to_name(in->dlt) ? pcap_datalink_val_to_name(in->dlt) : "?",
                 in->dlt);
        rc = BS_EUNSUPPORTED;
        pcap_close(in->p); /* also closes in->f when libpcap was given the stream */
        goto fail_free;
    }
    in->link = (enum pkt_link)link;
    *out = in;
    return 0;
fail_free:
    free(in);
    return rc;
}

int pcapin_next(struct pcapin *in, struct pcapin_pkt *pkt, char errbuf[PCAPIN_ERRLEN])
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = pcap_next_ex(in->p, &h, &data);
    if (rc == 1) {
        pkt->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        pkt->data = data;
        pkt->caplen = h->caplen;
        pkt->wirelen = h->len;
        pkt->link = in->link;
        return 1;
    }
    if (rc == PCAP_ERROR_BREAK)
        return 0;
    snprintf(errbuf, PCAPIN_ERRLEN, "damaged capture: %s", pcap_geterr(in->p));
    return BS_EMALFORMED;
}

int pcapin_datalink(const struct pcapin *in)
{
    return in->dlt;
}

void pcapin_close(struct pcapin *in)
{
    if (!in)
        return;
    pcap_close(in->p); /* closes the cookie stream (and gz, fd) it was opened on */
    free(in);
}
