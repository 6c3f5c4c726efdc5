/* fuzz_import_nfdump.c - the nfdump CSV importer (src/store/import.c) on arbitrary files. */
#include "fuzz_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_import(IMPORT_NFDUMP_CSV, data, size);
}
