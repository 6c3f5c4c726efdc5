/* fuzz_import_binetflow.c - the Argus binetflow importer (src/store/import.c, State flags from
 * import_tcp.c) on arbitrary files. */
#include "fuzz_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_import(IMPORT_BINETFLOW, data, size);
}
