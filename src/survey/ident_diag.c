/* ident_diag.c - the load-error report and file reader shared by the recog and vuln loaders. */
#include "survey/ident_diag.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/err.h"

void ident_diag_clear(struct ident_diag *d)
{
    if (!d)
        return;
    d->file[0] = '\0';
    d->line = 0;
    d->col = 0;
    d->msg[0] = '\0';
}

void ident_diag_set(struct ident_diag *d, const char *file, int line, int col, const char *fmt, ...)
{
    if (!d)
        return;
    snprintf(d->file, sizeof(d->file), "%s", file ? file : "");
    d->line = line;
    d->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
    va_end(ap);
}

int ident_read_file(const char *path, size_t max, char **out, size_t *len)
{
    int rc = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        rc = -errno;
        goto close;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = -EISDIR;
        goto close;
    }
    if ((size_t)st.st_size > max) {
        rc = BS_ELIMIT;
        goto close;
    }
    /* Read to the end rather than trusting st_size (pipes and growing files); the buffer's
     * cap refuses what passes max. */
    struct buf b = BUF_INIT(max);
    if ((rc = buf_reserve(&b, (size_t)st.st_size)))
        goto close;
    char chunk[16384];
    size_t got;
    while (!rc && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = buf_append(&b, chunk, got);
    if (!rc && ferror(f))
        rc = -EIO;
    if (rc) {
        buf_release(&b);
        goto close;
    }
    *out = b.data; /* handed over: malloc'd and NUL-terminated (buf_reserve made it) */
    *len = b.len;
    fclose(f);
    return 0;
close:
    fclose(f);
    return rc;
}
