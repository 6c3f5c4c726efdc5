/* fuzz_import_zeek.c - the Zeek conn.log importer (src/store/import.c: TSV with #fields, the
 * IoT-23 CSV form, JSON lines; TCP flags from import_tcp.c) on arbitrary files. */
#include "fuzz_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_import(IMPORT_ZEEK, data, size);
}
