/* fuzz_survey_http.c - the HTTP/RTSP response reader over arbitrary bytes: whole versus split
 * where the first byte says must agree; the title, challenge parameters and Digest answer must
 * stay within their buffers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "survey/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t cut = 1 + (data[0] * (size - 1)) / 256;
    static struct sv_http a, b;
    sv_http_init(&a, false);
    sv_http_feed(&a, data + 1, size - 1);
    sv_http_eof(&a);
    sv_http_init(&b, false);
    sv_http_feed(&b, data + 1, cut - 1);
    sv_http_feed(&b, data + cut, size - cut);
    sv_http_eof(&b);
    if (a.status != b.status || a.code != b.code || a.body_len != b.body_len ||
        memcmp(a.body, b.body, a.body_len) || strcmp(a.server, b.server) ||
        strcmp(a.auth_digest, b.auth_digest) || a.body_len > SV_HTTP_BODY)
        abort();
    char title[128], out[2048], v[64];
    sv_http_title(&a, title, sizeof title);
    if (strlen(title) >= sizeof title)
        abort();
    sv_http_auth_param(a.auth_digest, "nonce", v, sizeof v);
    if (sv_http_digest_header(a.auth_digest, "GET", "/", "admin", "admin", "c0ffee", out,
                              sizeof out) == 0 &&
        strncmp(out, "Authorization: Digest ", 22))
        abort();
    return 0;
}
