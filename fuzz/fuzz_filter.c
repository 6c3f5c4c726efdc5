/* fuzz_filter.c - the flow filter parser and evaluator on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096 || memchr(data, '@', size)) /* no address-list files from fuzz input */
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct filter *f;
    struct filter_error e;
    if (filter_compile(text, &f, &e) == 0) {
        struct flow_rec r;
        memset(&r, 0, sizeof r);
        ipaddr_from_v4(&r.src, 0xc0000201);
        ipaddr_parse("2001:db8::1", &r.dst);
        r.dst_port = 23;
        r.proto = 6;
        r.packets = 3;
        r.bytes = 180;
        r.end_ms = 1500;
        (void)filter_match_rec(f, &r);
        struct store_block_meta m;
        memset(&m, 0, sizeof m);
        m.n = 1;
        m.src_min = m.src_max = r.src;
        m.dst_min = m.dst_max = r.dst;
        m.dst_port_min = m.dst_port_max = 23;
        (void)filter_block_may_match(f, &m);
        (void)filter_columns(f);
        filter_free(f);
    }
    if (filter_compile_having(text, &f, &e) == 0) {
        (void)filter_match_row(f, 1, 2, 3, 4);
        filter_free(f);
    }
    free(text);
    return 0;
}
