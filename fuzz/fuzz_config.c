/* fuzz_config.c - the configuration file parser (config_load) on arbitrary bytes, then every
 * typed accessor on every declared key (the accessors must cope with whatever a file that
 * loaded holds). */
#include <stdint.h>
#include <string.h>

#include "core/config.h"
#include "fuzz_memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char path[64];
    int fd = fuzz_memfile(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    struct config c;
    if (config_init(&c) == 0) {
        struct cfg_error e;
        memset(&e, 0, sizeof e);
        if (config_load(&c, path, &e) == 0) {
            for (const struct cfg_key *k = cfg_schema; k->section; k++) {
                const char *items[64];
                switch (k->type) {
                case CFG_STR:
                    (void)config_str(&c, k->section, k->key);
                    break;
                case CFG_INT:
                    (void)config_int(&c, k->section, k->key);
                    break;
                case CFG_BOOL:
                    (void)config_bool(&c, k->section, k->key);
                    break;
                case CFG_LIST:
                    (void)config_list(&c, k->section, k->key, items, 64);
                    break;
                case CFG_DURATION:
                    (void)config_duration_ms(&c, k->section, k->key);
                    break;
                case CFG_SIZE:
                    (void)config_size(&c, k->section, k->key);
                    break;
                }
            }
        }
        config_release(&c);
    }
    close(fd);
    return 0;
}
