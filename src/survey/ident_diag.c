/* ident_diag.c - the load-error report and file reader shared by the recog and vuln loaders. */
#include "survey/ident_diag.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
    char *data = NULL;
    size_t n = 0;
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
    /* Read to the end rather than trusting st_size (pipes and growing files). */
    size_t cap = (size_t)st.st_size + 1;
    data = malloc(cap + 1);
    if (!data) {
        rc = BS_ENOMEM;
        goto close;
    }
    for (;;) {
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (n < cap) {
            if (ferror(f)) {
                rc = -EIO;
                goto free_data;
            }
            break;
        }
        if (cap > max) {
            rc = BS_ELIMIT;
            goto free_data;
        }
        size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
        char *nd = realloc(data, ncap + 1);
        if (!nd) {
            rc = BS_ENOMEM;
            goto free_data;
        }
        data = nd;
        cap = ncap;
    }
    data[n] = '\0';
    *out = data;
    *len = n;
    fclose(f);
    return 0;
free_data:
    free(data);
close:
    fclose(f);
    return rc;
}
