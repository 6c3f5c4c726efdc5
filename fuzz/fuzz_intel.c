/* fuzz_intel.c - the threat-intelligence parsers on arbitrary bytes. The first byte picks the
 * format (ThreatFox CSV, ThreatFox JSON, Feodo CSV, plain list); the rest is the file. */
#include <stdint.h>
#include <stdlib.h>

#include "detect/intel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 20))
        return 0;
    enum intel_format f = (enum intel_format)(data[0] % INTEL_FORMAT_COUNT);
    struct intel_import_stats st;
    struct intel_error e;
    int rc = intel_parse_only(f, (const char *)data + 1, size - 1, &st, &e);
    /* A failure always says why; a success never claims more indicators than lines. */
    if (rc && !e.msg[0] && rc != -10006 /* BS_ENOMEM */ && rc != -10005 /* BS_ELIMIT */)
        abort();
    if (!rc && st.indicators > st.lines)
        abort();
    return 0;
}
