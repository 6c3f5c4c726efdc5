/* fuzz_segment.c - a segment file reader on arbitrary bytes: parse the footer, decode every
 * column of every block, query the skip indexes. It must reject or read safely. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seg s;
    if (seg_parse(&s, data, size, "fuzz") != 0)
        return 0;
    struct seg_scratch *sc = seg_scratch_new();
    if (sc) {
        for (unsigned b = 0; b < s.nblocks && b < 64; b++) {
            struct store_block blk;
            for (unsigned fl = 0; fl <= STORE_SCAN_ADDR_MIXED; fl += STORE_SCAN_ADDR_MIXED)
                if (seg_decode_block(&s, b, STORE_COLS_ALL, fl, sc, &blk, NULL) == 0 && blk.n) {
                    struct flow_rec r;
                    for (size_t i = 0; i < blk.n; i++) /* (mixed: every row's index) */
                        store_block_record(&blk, i, &r);
                }
            const struct store_block_meta *m = &s.blocks[b].meta;
            struct ipaddr a;
            memset(&a, 0, sizeof a);
            (void)store_block_may_contain_addr(m, STORE_COL_SRC, &a);
            (void)store_block_may_contain_addr(m, STORE_COL_DST, &m->dst_min);
            (void)store_block_may_contain_port(m, STORE_COL_DST_PORT, 23);
            (void)store_block_may_contain_port(m, STORE_COL_SRC_PORT, m->src_port_max);
        }
        seg_scratch_free(sc);
    }
    seg_release(&s);
    return 0;
}
