/* manifest.c - per-day segment manifest of the embedded store (format in manifest.h). */
#include "store/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crc32.h"
#include "core/err.h"

#define MANIFEST_HEADER "botscope-manifest 1\n"
/* Largest manifest file read (MANIFEST_MAX_ENTRIES lines of ~60 bytes fit well below it). */
#define MANIFEST_MAX_BYTES (512u << 20)

static uint32_t line_crc(const char *s, size_t n)
{
    return crc32_ieee(s, n);
}

/* Parses a decimal u64 token; returns the end or NULL. */
static const char *tok_u64(const char *p, const char *end, uint64_t *v)
{
    uint64_t x = 0;
    const char *s = p;
    while (p < end && *p >= '0' && *p <= '9') {
        if (x > (UINT64_MAX - 9) / 10)
            return NULL;
        x = x * 10 + (uint64_t)(*p++ - '0');
    }
    if (p == s)
        return NULL;
    *v = x;
    return p;
}

static int push(struct manifest *m, const struct manifest_entry *e)
{
    if (m->n == m->cap) {
        if (m->n >= MANIFEST_MAX_ENTRIES)
            return BS_ELIMIT;
        size_t nc = m->cap ? m->cap * 2 : 64;
        struct manifest_entry *nv = realloc(m->v, nc * sizeof *nv);
        if (!nv)
            return BS_ENOMEM;
        m->v = nv;
        m->cap = nc;
    }
    m->v[m->n++] = *e;
    return 0;
}

/* One line without its newline: 0 and *e filled, or -1 when it does not parse. */
static int parse_line(const char *p, const char *end, struct manifest_entry *e)
{
    const char *crc_at = end;
    while (crc_at > p && crc_at[-1] != ' ')
        crc_at--;
    if (crc_at == p || end - crc_at != 8)
        return -1;
    char hex[9];
    memcpy(hex, crc_at, 8);
    hex[8] = '\0';
    char *hend;
    unsigned long want = strtoul(hex, &hend, 16);
    if (*hend || line_crc(p, (size_t)(crc_at - 1 - p)) != (uint32_t)want)
        return -1;
    end = crc_at - 1; /* the text the CRC covers */
    memset(e, 0, sizeof *e);
    if (end - p < 3 || (p[0] != '+' && p[0] != '-') || p[1] != ' ')
        return -1;
    e->removed = p[0] == '-';
    const char *n = p + 2, *ne = n;
    while (ne < end && *ne != ' ')
        ne++;
    if (ne == n || ne - n >= MANIFEST_NAME_MAX || memchr(n, '/', (size_t)(ne - n)))
        return -1;
    memcpy(e->name, n, (size_t)(ne - n));
    if (e->removed)
        return ne == end ? 0 : -1;
    const char *q;
    if (ne == end || !(q = tok_u64(ne + 1, end, &e->size)) || q == end || *q != ' ' ||
        !(q = tok_u64(q + 1, end, &e->records)) || q != end)
        return -1;
    return 0;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct manifest_entry *)a)->name,
                  ((const struct manifest_entry *)b)->name);
}

int manifest_parse(const char *text, size_t len, struct manifest *m)
{
    memset(m, 0, sizeof *m);
    size_t hl = sizeof MANIFEST_HEADER - 1;
    if (len < hl || memcmp(text, MANIFEST_HEADER, hl))
        return BS_ECORRUPT;
    const char *p = text + hl, *end = text + len;
    unsigned lineno = 1;
    int rc = 0;
    while (p < end && !rc) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        lineno++;
        if (!nl)
            break; /* an append cut short by a crash: never committed */
        struct manifest_entry e;
        if (parse_line(p, nl, &e)) {
            if (!m->bad_lines++)
                m->first_bad_line = lineno;
        } else {
            rc = push(m, &e);
        }
        p = nl + 1;
    }
    if (rc) {
        manifest_release(m);
        return rc;
    }
    if (m->n > 1)
        qsort(m->v, m->n, sizeof *m->v, cmp_entry);
    /* One entry per name: a '-' line wins (names are never reused), two '+' lines are noted. */
    size_t w = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (w && !strcmp(m->v[w - 1].name, m->v[i].name)) {
            struct manifest_entry *x = &m->v[w - 1];
            if (m->v[i].removed || x->removed) {
                uint64_t size = x->removed ? m->v[i].size : x->size;
                uint64_t recs = x->removed ? m->v[i].records : x->records;
                x->removed = 1;
                x->size = size;
                x->records = recs;
            } else {
                x->twice = 1;
            }
            continue;
        }
        m->v[w++] = m->v[i];
    }
    m->n = w;
    return 0;
}

int manifest_load(const char *daydir, struct manifest *m)
{
    memset(m, 0, sizeof *m);
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", daydir, MANIFEST_FILE) >= (int)sizeof path)
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return BS_ECORRUPT;
    }
    if ((uint64_t)st.st_size > MANIFEST_MAX_BYTES) {
        close(fd);
        return BS_ELIMIT;
    }
    size_t len = (size_t)st.st_size;
    char *buf = malloc(len ? len : 1);
    if (!buf) {
        close(fd);
        return BS_ENOMEM;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t k = read(fd, buf + got, len - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    int rc = manifest_parse(buf, got, m);
    free(buf);
    return rc;
}

const struct manifest_entry *manifest_find(const struct manifest *m, const char *name)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->v[mid].name, name);
        if (!c)
            return &m->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void manifest_release(struct manifest *m)
{
    free(m->v);
    memset(m, 0, sizeof *m);
}

/* Formats one line (with its CRC and newline) into buf; returns its length or 0. */
static size_t format_line(char *buf, size_t cap, const char *name, uint64_t size, uint64_t records,
                          int remove)
{
    int n = remove ? snprintf(buf, cap, "- %s", name)
                   : snprintf(buf, cap, "+ %s %llu %llu", name, (unsigned long long)size,
                              (unsigned long long)records);
    if (n < 0 || (size_t)n + 10 >= cap)
        return 0;
    uint32_t c = line_crc(buf, (size_t)n);
    int k = snprintf(buf + n, cap - (size_t)n, " %08x\n", (unsigned)c);
    return (size_t)n + (size_t)k;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) ? -errno : 0;
    close(fd);
    return rc;
}

int manifest_append(const char *daydir, const struct manifest_op *ops, size_t n)
{
    char path[4096], line[256];
    if (snprintf(path, sizeof path, "%s/%s", daydir, MANIFEST_FILE) >= (int)sizeof path)
        return -ENAMETOOLONG;
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    int created = 0, rc = 0;
    if (fd < 0 && errno == ENOENT) {
        /* Created whole under a temp name, so no reader sees a manifest without header. */
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s/.tmp.%s", daydir, MANIFEST_FILE);
        int t = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (t < 0)
            return -errno;
        rc = write_all(t, MANIFEST_HEADER, sizeof MANIFEST_HEADER - 1);
        if (!rc && fsync(t))
            rc = -errno;
        close(t);
        if (!rc && rename(tmp, path))
            rc = -errno;
        if (rc) {
            unlink(tmp);
            return rc;
        }
        created = 1;
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    }
    if (fd < 0)
        return -errno;
    /* Lines go out in chunks; a crash can cut only the last one (ignored by readers). */
    char chunk[8192];
    size_t used = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        size_t l =
            format_line(line, sizeof line, ops[i].name, ops[i].size, ops[i].records, ops[i].remove);
        if (!l) {
            rc = -ENAMETOOLONG;
            break;
        }
        if (used + l > sizeof chunk) {
            rc = write_all(fd, chunk, used);
            used = 0;
        }
        memcpy(chunk + used, line, l);
        used += l;
    }
    if (!rc && used)
        rc = write_all(fd, chunk, used);
    if (!rc && fsync(fd))
        rc = -errno;
    close(fd);
    if (!rc && created)
        rc = sync_dir(daydir);
    return rc;
}

int manifest_rewrite(const char *daydir, const struct manifest *m)
{
    char path[4096], tmp[4200], line[256];
    if (snprintf(path, sizeof path, "%s/%s", daydir, MANIFEST_FILE) >= (int)sizeof path)
        return -ENAMETOOLONG;
    snprintf(tmp, sizeof tmp, "%s/.tmp.%s", daydir, MANIFEST_FILE);
    FILE *f = fopen(tmp, "we");
    if (!f)
        return -errno;
    int rc = fputs(MANIFEST_HEADER, f) < 0 ? -EIO : 0;
    for (size_t i = 0; i < m->n && !rc; i++) {
        if (m->v[i].removed)
            continue;
        size_t l = format_line(line, sizeof line, m->v[i].name, m->v[i].size, m->v[i].records, 0);
        if (!l || fwrite(line, 1, l, f) != l)
            rc = l ? -EIO : -ENAMETOOLONG;
    }
    if (fflush(f) && !rc)
        rc = -errno;
    if (!rc && fsync(fileno(f)))
        rc = -errno;
    if (fclose(f) && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path))
        rc = -errno;
    if (rc)
        unlink(tmp);
    else
        rc = sync_dir(daydir);
    return rc;
}
