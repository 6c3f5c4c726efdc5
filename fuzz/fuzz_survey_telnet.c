/* fuzz_survey_telnet.c - the Telnet reader over arbitrary server bytes: fed whole and fed in
 * two pieces split where the first byte says, it must reach the same state, and its buffers
 * must stay within their caps. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "survey/telnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t cut = data[0] % size;
    static struct sv_telnet a, b;
    sv_telnet_init(&a);
    sv_telnet_feed(&a, data + 1, size - 1);
    sv_telnet_init(&b);
    sv_telnet_feed(&b, data + 1, cut ? cut - 1 : 0);
    sv_telnet_feed(&b, data + (cut ? cut : 1), size - (cut ? cut : 1));
    if (a.banner_len > SV_TELNET_BANNER || a.line_len > SV_TELNET_LINE ||
        a.reply_len > SV_TELNET_REPLY || a.reply_len % 3)
        abort();
    if (strcmp(a.banner, b.banner) || strcmp(a.line, b.line) || a.reply_len != b.reply_len ||
        memcmp(a.reply, b.reply, a.reply_len) || sv_telnet_prompt(&a) != sv_telnet_prompt(&b))
        abort();
    return 0;
}
