/* pcapw.c - classic pcap file writer (see pcapw.h). */
#include "core/pcapw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define IOBUF_SIZE    (1u << 20)

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

static int put(struct pcapw *w, const void *data, size_t n)
{
    if (w->err)
        return w->err;
    if (fwrite(data, 1, n, w->f) != n) {
        w->err = errno ? -errno : BS_EIO;
        return w->err;
    }
    w->bytes += n;
    return 0;
}

/* DIR/.NAME.tmp for DIR/NAME (or .NAME.tmp for a bare NAME). */
static char *tmp_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
    size_t n = strlen(path) + 6;
    char *t = malloc(n);
    if (t)
        snprintf(t, n, "%.*s.%s.tmp", (int)dlen, path, path + dlen);
    return t;
}

int pcapw_open(struct pcapw *w, const char *path, const struct pcapw_opts *opts)
{
    static const struct pcapw_opts defaults = {0};
    memset(w, 0, sizeof *w);
    if (!opts)
        opts = &defaults;
    w->snaplen = opts->snaplen ? opts->snaplen : 65535u;
    w->nanosec = opts->nanosec;
    if (w->snaplen > PCAPW_SNAPLEN_MAX)
        return BS_EUSAGE;
    if (!strcmp(path, "-")) {
        w->f = stdout;
    } else {
        w->path = strdup(path);
        if (!w->path)
            return BS_ENOMEM;
        if (opts->atomic && !(w->tmp_path = tmp_name(path)))
            return BS_ENOMEM;
        w->f = fopen(w->tmp_path ? w->tmp_path : path, "wb");
        if (!w->f)
            return -errno;
        w->iobuf = malloc(IOBUF_SIZE);
        if (w->iobuf)
            setvbuf(w->f, w->iobuf, _IOFBF, IOBUF_SIZE);
    }
    uint8_t h[24];
    put_le32(h, opts->nanosec ? PCAP_MAGIC_NS : PCAP_MAGIC_US);
    put_le16(h + 4, 2);
    put_le16(h + 6, 4);
    put_le32(h + 8, 0);  /* thiszone: timestamps are UTC */
    put_le32(h + 12, 0); /* sigfigs */
    put_le32(h + 16, w->snaplen);
    put_le32(h + 20, opts->linktype ? opts->linktype : PCAPW_LINKTYPE_ETHERNET);
    return put(w, h, sizeof h);
}

int pcapw_write(struct pcapw *w, uint64_t ts_ns, const uint8_t *frame, size_t len)
{
    if (len > UINT32_MAX)
        return BS_EMALFORMED;
    size_t caplen = len < w->snaplen ? len : w->snaplen;
    uint32_t frac = (uint32_t)(ts_ns % 1000000000u);
    uint8_t h[16];
    put_le32(h, (uint32_t)(ts_ns / 1000000000u));
    put_le32(h + 4, w->nanosec ? frac : frac / 1000u);
    put_le32(h + 8, (uint32_t)caplen);
    put_le32(h + 12, (uint32_t)len);
    int rc = put(w, h, sizeof h);
    if (!rc)
        rc = put(w, frame, caplen);
    if (!rc)
        w->frames++;
    return rc;
}

static void release(struct pcapw *w)
{
    free(w->iobuf);
    free(w->path);
    free(w->tmp_path);
    w->iobuf = w->path = w->tmp_path = NULL;
    w->f = NULL;
}

int pcapw_close(struct pcapw *w)
{
    int rc = w->err;
    if (w->f == stdout) {
        if (fflush(stdout) && !rc)
            rc = errno ? -errno : BS_EIO;
    } else if (w->f) {
        /* an atomic file is on the disk before the rename makes it final */
        if (w->tmp_path && !rc && (fflush(w->f) || fsync(fileno(w->f))))
            rc = errno ? -errno : BS_EIO;
        if (fclose(w->f) && !rc)
            rc = errno ? -errno : BS_EIO;
        if (w->tmp_path) {
            if (!rc && rename(w->tmp_path, w->path))
                rc = -errno;
            if (rc)
                unlink(w->tmp_path);
        }
    }
    release(w);
    return rc;
}

void pcapw_abort(struct pcapw *w)
{
    if (w->f && w->f != stdout)
        fclose(w->f);
    if (w->tmp_path)
        unlink(w->tmp_path);
    release(w);
}
