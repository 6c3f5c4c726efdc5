/* tel_out_files.c - the telescope's output files: creation under temporary names, the
 * buffered sources file, commit by rename (provenance.json last), abort (see tel_out.h). */
#include "telescope/tel_out_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "core/err.h"

#define LINE_MAX_BYTES (4u << 20) /* cap on one output line */

const char *const tel_level_suffix[TEL_LEVELS] = {"", "_5m", "_1h", "_1d"};

static const char *const file_base[F_COUNT] = {"sources",   "victims",   "intervals",
                                               "intervals", "intervals", "intervals"};

static const char *const csv_header[F_COUNT] = {
    "day_ms,src,packets,bytes,first_ms,last_ms,rate_pps,destinations,port_count,ports,scan_class,"
    "fingerprints,asn,cc,bogon,research,infected_iot\n",
    "victim,packets,bytes,first_ms,last_ms,duration_ms,ports,tcp_packets,icmp_packets,peak_ppm,"
    "darknet_addresses,observed_pps,scaled_pps\n",
    NULL,
    NULL,
    NULL,
    NULL,
};

static int interval_csv_header(struct buf *b)
{
    int rc = buf_puts(b, "resolution_s,start_ms,end_ms,packets,bytes,unique_sources,"
                         "unique_destinations,non_darknet_packets,non_darknet_bytes,"
                         "undecoded_packets,dropped_source_packets,research_share");
    for (int t = 0; t < TEL_TAG_COUNT && !rc; t++)
        rc = buf_printf(b, ",%s", tel_tag_names[t]);
    for (int f = 0; f < TEL_FP_COUNT && !rc; f++)
        rc = buf_printf(b, ",fp_%s", tel_fp_names[f]);
    if (!rc)
        rc = buf_puts(b, ",top_tcp_port,top_tcp_port_packets,top_udp_port,top_udp_port_packets\n");
    return rc;
}

/* Output files are written under a hidden temporary name beside the final one and renamed by
 * tel_out_commit() once everything is complete, so a failed run (a full disk) never leaves a
 * line cut in the middle or an empty file under a final name. */
void tel_out__path(char *path, size_t len, const char *dir, const char *base, const char *suffix,
                   const char *ext, bool tmp)
{
    snprintf(path, len, "%s/%s%s%s.%s%s", dir, tmp ? "." : "", base, suffix, ext,
             tmp ? ".tmp" : "");
}

static FILE *open_file(const char *dir, const char *base, const char *suffix, const char *ext,
                       char *err, size_t errlen)
{
    char path[4096];
    tel_out__path(path, sizeof path, dir, base, suffix, ext, true);
    FILE *f = fopen(path, "w");
    if (!f)
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    else
        setvbuf(f, NULL, _IOFBF, 1 << 20);
    return f;
}

int tel_out_open(const char *dir, bool csv, const bool levels_on[TEL_LEVELS], struct tel_out **out,
                 char *err, size_t errlen)
{
    *out = NULL;
    int rc = fsutil_mkdir_p(dir);
    if (rc) {
        snprintf(err, errlen, "%s: %s", dir, bs_strerror(rc));
        return rc;
    }
    struct tel_out *o = calloc(1, sizeof *o);
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return BS_ENOMEM;
    }
    buf_init(&o->line, LINE_MAX_BYTES);
    buf_init(&o->tmp, LINE_MAX_BYTES);
    o->sbuf = malloc(SRC_CHUNK);
    o->dir = strdup(dir);
    if (!o->sbuf || !o->dir) {
        free(o->sbuf);
        free(o->dir);
        free(o);
        snprintf(err, errlen, "out of memory");
        return BS_ENOMEM;
    }
    for (int i = 0; i < TEL_TAG_COUNT; i++)
        o->tag_len[i] = (uint8_t)strlen(tel_tag_names[i]);
    for (int i = 0; i < TEL_FP_COUNT; i++)
        o->fp_len[i] = (uint8_t)strlen(tel_fp_names[i]);
    for (int i = 0; i < F_COUNT; i++) {
        if (i >= F_IVL0 && !levels_on[i - F_IVL0])
            continue;
        const char *suffix = i >= F_IVL0 ? tel_level_suffix[i - F_IVL0] : "";
        o->nd[i] = open_file(dir, file_base[i], suffix, "ndjson", err, errlen);
        if (!o->nd[i])
            goto fail;
        o->has_nd[i] = true;
        if (i == F_SOURCES)
            setvbuf(o->nd[i], NULL, _IONBF, 0); /* sbuf is its buffer */
        if (!csv)
            continue;
        o->csv[i] = open_file(dir, file_base[i], suffix, "csv", err, errlen);
        if (!o->csv[i])
            goto fail;
        o->has_csv[i] = true;
        buf_reset(&o->tmp);
        if (i >= F_IVL0)
            interval_csv_header(&o->tmp);
        else
            buf_puts(&o->tmp, csv_header[i]);
        fputs(o->tmp.data, o->csv[i]);
    }
    *out = o;
    return 0;
fail:
    tel_out_abort(o);
    return -EIO;
}

int tel_out__flush_sources(struct tel_out *o)
{
    size_t n = o->sused;
    o->sused = 0;
    if (n && o->nd[F_SOURCES] && fwrite(o->sbuf, 1, n, o->nd[F_SOURCES]) != n) {
        int rc = errno ? -errno : -EIO;
        if (!o->err)
            o->err = rc;
        return rc;
    }
    return 0;
}

int tel_out_close(struct tel_out *o)
{
    if (!o)
        return 0;
    tel_out__flush_sources(o);
    int rc = o->err;
    for (int i = 0; i < F_COUNT; i++) {
        FILE **fs[2] = {&o->nd[i], &o->csv[i]};
        for (int k = 0; k < 2; k++) {
            FILE *f = *fs[k];
            if (!f)
                continue;
            /* Written through to the disk before the rename makes it final. */
            if ((fflush(f) || fsync(fileno(f))) && !rc)
                rc = -errno;
            if (ferror(f) && !rc)
                rc = -EIO;
            if (fclose(f) && !rc)
                rc = -errno;
            *fs[k] = NULL;
        }
    }
    if (rc && !o->err)
        o->err = rc;
    return rc;
}

/* Calls fn(o, tmp path, final path) for every output file and provenance.json. */
static int each_file(struct tel_out *o, int (*fn)(const char *tmp, const char *fin))
{
    char tmp[4096], fin[4096];
    int rc = 0;
    for (int i = 0; i < F_COUNT; i++) {
        const char *suffix = i >= F_IVL0 ? tel_level_suffix[i - F_IVL0] : "";
        for (int k = 0; k < 2; k++) {
            if (!(k ? o->has_csv[i] : o->has_nd[i]))
                continue;
            const char *ext = k ? "csv" : "ndjson";
            tel_out__path(tmp, sizeof tmp, o->dir, file_base[i], suffix, ext, true);
            tel_out__path(fin, sizeof fin, o->dir, file_base[i], suffix, ext, false);
            int r = fn(tmp, fin);
            if (r && !rc)
                rc = r;
        }
    }
    /* provenance.json last: when it is there, the outputs it describes are too */
    tel_out__path(tmp, sizeof tmp, o->dir, "provenance", "", "json", true);
    tel_out__path(fin, sizeof fin, o->dir, "provenance", "", "json", false);
    if (access(tmp, F_OK) == 0) {
        int r = fn(tmp, fin);
        if (r && !rc)
            rc = r;
    }
    return rc;
}

static int rename_one(const char *tmp, const char *fin)
{
    return rename(tmp, fin) ? -errno : 0;
}

static int unlink_one(const char *tmp, const char *fin)
{
    (void)fin;
    return unlink(tmp) && errno != ENOENT ? -errno : 0;
}

static void out_free(struct tel_out *o)
{
    buf_release(&o->line);
    buf_release(&o->tmp);
    free(o->sbuf);
    free(o->dir);
    free(o);
}

int tel_out_commit(struct tel_out *o)
{
    if (!o)
        return 0;
    int rc = o->err ? o->err : tel_out_close(o);
    if (!rc)
        rc = each_file(o, rename_one);
    if (rc)
        each_file(o, unlink_one);
    out_free(o);
    return rc;
}

void tel_out_abort(struct tel_out *o)
{
    if (!o)
        return;
    for (int i = 0; i < F_COUNT; i++) {
        if (o->nd[i])
            fclose(o->nd[i]);
        if (o->csv[i])
            fclose(o->csv[i]);
        o->nd[i] = o->csv[i] = NULL;
    }
    each_file(o, unlink_one);
    out_free(o);
}
