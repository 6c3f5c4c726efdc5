/* fuzz_vuln.c - the NVD CVE JSON 2.0 and KEV loaders and the matcher, on arbitrary bytes. The
 * first byte picks the loader (even: NVD record or feed, odd: KEV catalogue); whatever loads
 * is matched against a few device CPEs, and vercmp() compares the input with itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "survey/vercmp.h"
#include "survey/vuln.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 << 20)
        return 0;
    struct vuln_db *db;
    if (vuln_db_new(&db) != 0)
        return 0;
    struct ident_diag d;
    const char *text = (const char *)data + 1;
    int rc = (data[0] & 1) ? vuln_db_load_kev_buffer(db, "fuzz.json", text, size - 1, &d)
                           : vuln_db_load_nvd_buffer(db, "fuzz.json", text, size - 1, &d);
    if (rc == 0) {
        struct vuln_target t = {
            .ncpe = 3,
            .cpe = {"cpe:2.3:o:acme:cam_firmware:1.5", "cpe:2.3:h:acme:cam:-", "cpe:/a:acme:webd"}};
        struct vuln_finding f[8];
        size_t n;
        (void)vuln_match(db, &t, f, 8, &n);
    }
    vuln_db_free(db);
    /* Version order: the input against its own halves (NUL-terminated copies). */
    char *s = malloc(size + 1);
    if (s) {
        memcpy(s, data, size);
        s[size] = '\0';
        (void)vercmp(s, s + size / 2);
        (void)vercmp(s + size / 2, s);
        free(s);
    }
    return 0;
}
