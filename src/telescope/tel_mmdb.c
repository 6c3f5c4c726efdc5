/* tel_mmdb.c - MaxMind DB tables into prefix maps (see tel_mmdb.h). */
#include "telescope/tel_mmdb.h"

#include <errno.h>
#include <fcntl.h>
#include <maxminddb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"

#define MARKER        "\xab\xcd\xefMaxMind.com"
#define MARKER_WINDOW (128u * 1024) /* the metadata section sits in the file's last 128 KiB */
#define MAX_DEPTH     128

bool tel_mmdb_is_mmdb(const char *path)
{
    size_t len = strlen(path);
    if (len > 5 && !strcasecmp(path + len - 5, ".mmdb"))
        return true;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    bool found = false;
    if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size > 0) {
        size_t want = (size_t)st.st_size < MARKER_WINDOW ? (size_t)st.st_size : MARKER_WINDOW;
        char *buf = malloc(want);
        if (buf && pread(fd, buf, want, st.st_size - (off_t)want) == (ssize_t)want)
            found = memmem(buf, want, MARKER, sizeof MARKER - 1) != NULL;
        free(buf);
    }
    close(fd);
    return found;
}

struct walk {
    uint32_t node;
    uint8_t depth;
    uint8_t bits[16]; /* the path so far, as a 128-bit prefix (IPv4 trees use the first 4) */
};

/* A lookup status: MMDB_SUCCESS, or a path that does not fit this record's shape (absent);
 * anything else means a damaged data section. */
static int get_status(int st)
{
    if (st == MMDB_SUCCESS || st == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
        return 0;
    return BS_EPARSE;
}

/* The value of field f in a data record: 1 with *val set, 0 when absent or of another type,
 * BS_EPARSE for a damaged record. */
static int record_value(MMDB_entry_s *entry, enum tel_mmdb_field f, uint32_t *val)
{
    MMDB_entry_data_s d;
    int st;
    if (f == TEL_MMDB_ASN) {
        st = MMDB_get_value(entry, &d, "autonomous_system_number", NULL);
        if (st != MMDB_SUCCESS || !d.has_data)
            return get_status(st);
        switch (d.type) {
        case MMDB_DATA_TYPE_UINT32:
            *val = d.uint32;
            return 1;
        case MMDB_DATA_TYPE_UINT16:
            *val = d.uint16;
            return 1;
        case MMDB_DATA_TYPE_UINT64:
            if (d.uint64 > UINT32_MAX)
                return 0;
            *val = (uint32_t)d.uint64;
            return 1;
        case MMDB_DATA_TYPE_INT32:
            if (d.int32 < 0)
                return 0;
            *val = (uint32_t)d.int32;
            return 1;
        default:
            return 0;
        }
    }
    static const char *const keys[] = {"country", "registered_country"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        st = MMDB_get_value(entry, &d, keys[i], "iso_code", NULL);
        if (st != MMDB_SUCCESS) {
            if (get_status(st))
                return BS_EPARSE;
            continue;
        }
        if (!d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING || d.data_size != 2)
            continue;
        unsigned char a = (unsigned char)d.utf8_string[0], b = (unsigned char)d.utf8_string[1];
        if (!((a >= 'A' && a <= 'Z') || (a >= 'a' && a <= 'z')) ||
            !((b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z')))
            continue;
        *val = (uint32_t)(a & ~0x20u) << 8 | (uint32_t)(b & ~0x20u);
        return 1;
    }
    return 0;
}

/* The prefix of a tree path: IPv4 trees and the ::/96 part of IPv6 trees become v4-mapped. */
static void path_prefix(const struct walk *w, bool v4_tree, struct ipprefix *p)
{
    memset(p, 0, sizeof *p);
    if (v4_tree) {
        memcpy(p->addr.b + 12, w->bits, 4);
        p->addr.b[10] = p->addr.b[11] = 0xff;
        p->len = (uint8_t)(96 + w->depth);
        return;
    }
    memcpy(p->addr.b, w->bits, 16);
    p->len = w->depth;
    static const uint8_t zero[12];
    if (w->depth >= 96 && !memcmp(w->bits, zero, 12))
        p->addr.b[10] = p->addr.b[11] = 0xff;
}

/* True for the IPv6 tree's aliases of the IPv4 tree (not walked: they repeat it). */
static bool is_alias(const struct walk *w)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (w->depth == 96 && !memcmp(w->bits, mapped, 12))
        return true;
    if (w->depth == 32 && w->bits[0] == 0x20 && w->bits[1] == 0x01 && !w->bits[2] && !w->bits[3])
        return true;
    return w->depth == 16 && w->bits[0] == 0x20 && w->bits[1] == 0x02;
}

int tel_mmdb_load(struct tel_pmap *m, const char *path, enum tel_mmdb_field f, char *errbuf,
                  size_t errlen)
{
    memset(m, 0, sizeof *m);
    MMDB_s db;
    int st = MMDB_open(path, MMDB_MODE_MMAP, &db);
    if (st != MMDB_SUCCESS) {
        int rc = st == MMDB_FILE_OPEN_ERROR ? -errno : BS_EPARSE;
        if (st == MMDB_FILE_OPEN_ERROR && rc == 0)
            rc = -ENOENT;
        if (st == MMDB_FILE_OPEN_ERROR)
            snprintf(errbuf, errlen, "%s: %s", path, strerror(-rc));
        else
            snprintf(errbuf, errlen, "%s: not a usable MaxMind DB (%s)", path, MMDB_strerror(st));
        return rc;
    }
    bool v4_tree = db.metadata.ip_version == 4;
    unsigned max_depth = v4_tree ? 32 : MAX_DEPTH;
    struct tel_pmap_list l;
    tel_pmap_list_init(&l);
    struct walk stack[MAX_DEPTH + 2];
    size_t sp = 0;
    int rc = 0;
    stack[sp++] = (struct walk){.node = 0, .depth = 0};
    while (sp && !rc) {
        struct walk w = stack[--sp];
        MMDB_search_node_s node;
        if (w.depth >= max_depth || MMDB_read_node(&db, w.node, &node) != MMDB_SUCCESS) {
            rc = BS_EPARSE;
            break;
        }
        for (int side = 1; side >= 0 && !rc; side--) { /* push right first: left walked first */
            struct walk c = w;
            c.depth = (uint8_t)(w.depth + 1);
            if (side)
                c.bits[w.depth / 8] |= (uint8_t)(0x80u >> (w.depth % 8));
            uint8_t type = side ? node.right_record_type : node.left_record_type;
            switch (type) {
            case MMDB_RECORD_TYPE_SEARCH_NODE:
                if (!v4_tree && is_alias(&c))
                    break;
                if (sp >= sizeof stack / sizeof *stack) {
                    rc = BS_EPARSE;
                    break;
                }
                c.node = (uint32_t)(side ? node.right_record : node.left_record);
                stack[sp++] = c;
                break;
            case MMDB_RECORD_TYPE_DATA: {
                if (!v4_tree && is_alias(&c))
                    break;
                MMDB_entry_s entry = side ? node.right_record_entry : node.left_record_entry;
                uint32_t val;
                int found = record_value(&entry, f, &val);
                if (found < 0) {
                    rc = found;
                } else if (found) {
                    struct ipprefix p;
                    path_prefix(&c, v4_tree, &p);
                    rc = tel_pmap_list_push(&l, &p, val);
                }
                break;
            }
            case MMDB_RECORD_TYPE_EMPTY:
                break;
            default:
                rc = BS_EPARSE;
                break;
            }
        }
    }
    if (rc == BS_EPARSE)
        snprintf(errbuf, errlen, "%s: damaged MaxMind DB (search tree or data section)", path);
    else if (rc)
        snprintf(errbuf, errlen, "%s: %s", path, bs_strerror(rc));
    else if ((rc = tel_pmap_build(m, l.v.data, l.v.n)))
        snprintf(errbuf, errlen, "%s: %s", path, bs_strerror(rc));
    tel_pmap_list_release(&l);
    MMDB_close(&db);
    return rc;
}
