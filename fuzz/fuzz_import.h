/* fuzz_import.h - shared body of the importer fuzz targets: the input is a file of that format,
 * fed line by line to import_line() as `botscope import` does (each line in an exact-size heap
 * copy, so ASan sees any read past it), with the invariants of import.h checked. */
#ifndef BS_FUZZ_IMPORT_H
#define BS_FUZZ_IMPORT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "store/import.h"

static int fuzz_import(enum import_format fmt, const uint8_t *data, size_t size)
{
    if (size > 1 << 20)
        return 0;
    struct import_ctx c;
    import_init(&c, fmt);
    size_t off = 0;
    while (off < size) {
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
        char *line = malloc(len + 1);
        if (!line)
            return 0;
        memcpy(line, data + off, len);
        line[len] = '\0';
        struct flow_rec r[2];
        int n = import_line(&c, line, r);
        if (n > 2 || (n < 0 && n != BS_EPARSE) || (n == BS_EPARSE && !c.err[0]))
            abort();
        for (int i = 0; i < n; i++) {
            /* Flags only for TCP from the state columns (nfdump's flg column may set any). */
            if (fmt != IMPORT_NFDUMP_CSV && r[i].proto != 6 && r[i].tcp_flags)
                abort();
            if (!r[i].sampling_rate)
                abort();
        }
        free(line);
        off += len + 1;
    }
    return 0;
}

#endif
