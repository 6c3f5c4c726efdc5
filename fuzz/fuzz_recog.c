/* fuzz_recog.c - the Recog XML loader, the Ruby-to-PCRE2 pattern translation, interpolation
 * and the matcher, on arbitrary bytes. The input is loaded as a fingerprint file; what loads
 * is then run over its own examples and over the input itself under a few keys. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "survey/cpe.h"
#include "survey/recog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    struct ident_db *db;
    if (ident_db_new(&db) != 0)
        return 0;
    struct ident_diag d;
    if (ident_db_load_buffer(db, "fuzz.xml", (const char *)data, size, &d) == 0) {
        size_t pass, nfail;
        (void)ident_db_check_examples(db, NULL, &pass, &nfail, NULL, NULL);
        static const char *const keys[] = {"fuzz", "http_header.server", "telnet.banner",
                                           "ssh.banner", "html_title"};
        struct recog_result *r = malloc(sizeof(*r));
        if (r) {
            for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                if (recog_match(db, keys[i], (const char *)data, size, r) == 1) {
                    struct cpe c;
                    (void)cpe_parse(&c, r->cpe, strlen(r->cpe));
                }
            free(r);
        }
    }
    ident_db_free(db);
    /* The CPE parser on the raw bytes as well: both bindings. */
    struct cpe c;
    if (cpe_parse(&c, (const char *)data, size) == 0) {
        char buf[CPE_STR_MAX];
        (void)cpe_format(&c, buf, sizeof(buf));
        (void)cpe_match(&c, &c);
    }
    return 0;
}
