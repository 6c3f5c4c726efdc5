/* fuzz_survey_banner.c - the FTP/SSH/line banner reader over arbitrary bytes, whole versus
 * split, for each kind. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "survey/banner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t cut = 1 + (data[0] * (size - 1)) / 256;
    for (int k = 0; k < 3; k++) {
        static struct sv_banner a, b;
        sv_banner_init(&a, (enum sv_banner_kind)k);
        sv_banner_feed(&a, data + 1, size - 1);
        sv_banner_init(&b, (enum sv_banner_kind)k);
        sv_banner_feed(&b, data + 1, cut - 1);
        sv_banner_feed(&b, data + cut, size - cut);
        if (a.complete != b.complete || a.malformed != b.malformed || strcmp(a.ident, b.ident) ||
            a.code != b.code || a.text_len > SV_BANNER_TEXT)
            abort();
    }
    return 0;
}
