/* tel_inputs.c - the telescope command's inputs: the capture list, directory expansion in
 * time order, and the reading loop (see tel_inputs.h). */
#include "cli/tel_inputs.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "capture/pcapin.h"
#include "capture/pcapmm.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"

#define CMD "telescope"

void tel_inputs_init(struct tel_inputs *l)
{
    vec_init(&l->v, sizeof(char *), 16, TEL_INPUTS_MAX);
}

const char *tel_inputs_at(const struct tel_inputs *l, size_t i)
{
    return *VEC_AT(&l->v, char *, i);
}

int tel_inputs_add(struct tel_inputs *l, const char *p)
{
    char *copy = strdup(p);
    if (!copy)
        return BS_ENOMEM;
    int rc;
    char **slot = VEC_PUSH(&l->v, char *, &rc);
    if (!slot) {
        free(copy);
        return rc;
    }
    *slot = copy;
    return 0;
}

void tel_inputs_free(struct tel_inputs *l)
{
    for (size_t i = 0; i < l->v.n; i++)
        free(*VEC_AT(&l->v, char *, i));
    vec_release(&l->v);
}

static bool capture_name(const char *n)
{
    static const char *const ext[] = {".pcap",    ".pcapng",    ".cap",
                                      ".pcap.gz", ".pcapng.gz", ".cap.gz"};
    size_t len = strlen(n);
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        size_t el = strlen(ext[i]);
        if (len > el && !strcasecmp(n + len - el, ext[i]))
            return true;
    }
    return false;
}

struct dir_entry {
    char *path;
    uint64_t first_us;
};

static int dir_entry_cmp(const void *a, const void *b)
{
    const struct dir_entry *x = a, *y = b;
    if (x->first_us != y->first_us)
        return x->first_us < y->first_us ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* Adds the captures of directory dir, ordered by first packet time, then name. */
int tel_inputs_add_directory(struct tel_inputs *l, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        cli_error(CMD, "%s: cannot open directory", dir);
        return BS_EXIT_FAIL;
    }
    /* a directory holds at most TEL_INPUTS_MAX captures (the input list's cap) */
    struct vec ents;
    vec_init(&ents, sizeof(struct dir_entry), 16, TEL_INPUTS_MAX);
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !capture_name(de->d_name))
            continue;
        /* Only regular files (symlinks followed): opening a FIFO would block the run until
         * some writer appears, and a device or socket is no capture either. */
        struct stat fst;
        if (fstatat(dirfd(d), de->d_name, &fst, 0) != 0 || !S_ISREG(fst.st_mode)) {
            log_warn(CMD, "%s/%s: not a regular file, skipped", dir, de->d_name);
            continue;
        }
        if (vec_reserve(&ents, ents.n + 1)) {
            rc = BS_EXIT_FAIL;
            break;
        }
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        char *p = malloc(len);
        if (!p) {
            rc = BS_EXIT_FAIL;
            break;
        }
        snprintf(p, len, "%s/%s", dir, de->d_name);
        uint64_t first = UINT64_MAX;
        struct pcapin *in;
        char eb[PCAPIN_ERRLEN];
        if (pcapin_open(p, &in, eb) == 0) {
            struct pcapin_pkt pk;
            if (pcapin_next(in, &pk, eb) == 1)
                first = pk.ts_us;
            pcapin_close(in);
        }
        int prc;
        struct dir_entry *ent = VEC_PUSH(&ents, struct dir_entry, &prc); /* reserved above */
        ent->path = p;
        ent->first_us = first;
    }
    closedir(d);
    struct dir_entry *all = ents.data;
    if (!rc) {
        qsort(all, ents.n, sizeof *all, dir_entry_cmp);
        for (size_t i = 0; i < ents.n && !rc; i++)
            if (tel_inputs_add(l, all[i].path))
                rc = BS_EXIT_FAIL;
    }
    for (size_t i = 0; i < ents.n; i++)
        free(all[i].path);
    vec_release(&ents);
    if (rc)
        cli_error(CMD, "%s: out of memory or more than %u captures listing the directory", dir,
                  (unsigned)TEL_INPUTS_MAX);
    return rc;
}

/* Feeds one input to the engine: plain classic pcap files through the mapped fast path,
 * everything else (pcapng, gzip, stdin) through pcapin. Returns 0, -1 for an output error
 * (stop everything), or 1 when this input failed (reported; the run goes on). */
static int read_one(struct tel_engine *e, const char *path, struct tel_input_info *info)
{
    struct pcapin_pkt pk;
    int er;
    struct pcapmm *mm;
    int rc = pcapmm_open(path, &mm);
    if (rc == 0) {
        while ((rc = pcapmm_next(mm, &pk)) == 1) {
            if (!info->packets)
                info->first_ms = pk.ts_us / 1000;
            info->packets++;
            if ((er = tel_engine_packet(e, pk.ts_us, pk.data, pk.caplen, pk.wirelen, pk.link)))
                goto out_write;
        }
        pcapmm_close(mm);
        if (rc < 0) {
            info->error = rc;
            if (info->packets) {
                log_warn(CMD, "%s: %s (packets before the damage were used)", path,
                         bs_strerror(rc));
                return 0;
            }
            cli_error(CMD, "%s: %s", path, bs_strerror(rc));
            return 1;
        }
        return 0;
    }
    if (rc != BS_EUNSUPPORTED && rc != BS_EMALFORMED) {
        cli_error(CMD, "%s: %s", path, bs_strerror(rc));
        info->error = rc;
        return 1;
    }
    struct pcapin *in;
    char eb[PCAPIN_ERRLEN];
    rc = pcapin_open(path, &in, eb);
    if (rc) {
        cli_error(CMD, "%s", eb);
        info->error = rc;
        return 1;
    }
    while ((rc = pcapin_next(in, &pk, eb)) == 1) {
        if (!info->packets)
            info->first_ms = pk.ts_us / 1000;
        info->packets++;
        if ((er = tel_engine_packet(e, pk.ts_us, pk.data, pk.caplen, pk.wirelen, pk.link))) {
            pcapin_close(in);
            cli_error(CMD, "writing output: %s", bs_strerror(er));
            return -1;
        }
    }
    pcapin_close(in);
    if (rc < 0) {
        info->error = rc;
        if (info->packets) {
            log_warn(CMD, "%s: %s (packets before the damage were used)", path, eb);
            return 0;
        }
        cli_error(CMD, "%s", eb);
        return 1;
    }
    return 0;
out_write:
    pcapmm_close(mm);
    cli_error(CMD, "writing output: %s", bs_strerror(er));
    return -1;
}

/* Reads every input; one that cannot be read at all is named and skipped. Returns the number
 * of such inputs, or -1 after an output error. */
int tel_inputs_read(struct tel_engine *e, const struct tel_inputs *inputs,
                    struct tel_input_info *info)
{
    int failures = 0;
    for (size_t i = 0; i < inputs->v.n; i++) {
        info[i].path = tel_inputs_at(inputs, i);
        int rc = read_one(e, tel_inputs_at(inputs, i), &info[i]);
        if (rc < 0)
            return -1;
        failures += rc;
    }
    return failures;
}

/* The summary of a partial failure: how many inputs could not be read, and the first names. */
void tel_inputs_report_unreadable(const struct tel_inputs *inputs,
                                  const struct tel_input_info *info, int failures)
{
    struct buf b = BUF_INIT(4096);
    int named = 0;
    for (size_t i = 0; i < inputs->v.n; i++) {
        if (!info[i].error || info[i].packets)
            continue;
        if (named++ == 8) {
            buf_printf(&b, ", ... (%d more)", failures - 8);
            break;
        }
        buf_printf(&b, "%s%s", named > 1 ? ", " : "", tel_inputs_at(inputs, i));
    }
    cli_error(CMD, "%d of %zu inputs could not be read: %s (the others were used)", failures,
              inputs->v.n, b.data ? b.data : "");
    buf_release(&b);
}
