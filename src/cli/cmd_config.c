/* cmd_config.c - `botscope config`: print the documented defaults, or validate a file. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/err.h"

static const char config_usage[] =
    "usage: botscope config --defaults\n"
    "       botscope config --check --config FILE\n"
    "\n"
    "Prints every configuration key with its type, range or allowed words, default and\n"
    "meaning (--defaults), or loads FILE and reports the first error with its file, line\n"
    "and key (--check): unknown sections and keys, malformed lines, values of the wrong\n"
    "type, out of range or not among the allowed words, a key set twice, and a FILE that\n"
    "is not a regular file are all errors.\n"
    "The file format is INI-like:\n"
    "\n"
    "    # comment\n"
    "    [collect]\n"
    "    listen = [\"0.0.0.0:2055\", \"[::]:4739\"]\n"
    "    rcvbuf = 32M\n"
    "\n"
    "Exit status: 0 valid, 2 invalid (message names file, line and key).\n";

static const char *type_name(enum cfg_type t)
{
    switch (t) {
    case CFG_STR:
        return "string";
    case CFG_INT:
        return "integer";
    case CFG_BOOL:
        return "boolean";
    case CFG_LIST:
        return "list";
    case CFG_DURATION:
        return "duration";
    case CFG_SIZE:
        return "size";
    }
    return "?";
}

static int config_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"defaults", no_argument, NULL, 'd'},
        {"check", no_argument, NULL, 'k'},
        {"config", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    int defaults = 0, check = 0, c;
    const char *path = NULL;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            defaults = 1;
            break;
        case 'k':
            check = 1;
            break;
        case 'c':
            path = optarg;
            break;
        default:
            cli_usage(&cli_cmd_config, stderr);
            return BS_EXIT_USAGE;
        }
    }
    if (defaults) {
        const char *section = "";
        for (const struct cfg_key *k = cfg_schema; k->key; k++) {
            if (strcmp(section, k->section)) {
                printf("%s[%s]\n", *section ? "\n" : "", k->section);
                section = k->section;
            }
            printf("# %s (%s", k->doc, type_name(k->type));
            if (k->ranged)
                printf(", %lld..%lld%s", (long long)k->min, (long long)k->max,
                       k->type == CFG_DURATION ? " ms"
                       : k->type == CFG_SIZE   ? " bytes"
                                               : "");
            if (k->oneof)
                printf(", one of %s", k->oneof);
            printf(")\n%s = %s\n", k->key, k->def);
        }
        return BS_EXIT_OK;
    }
    if (check && path) {
        struct config cfg;
        int rc = cli_load_config("config", path, &cfg);
        if (rc)
            return rc;
        config_release(&cfg);
        printf("%s: ok\n", path);
        return BS_EXIT_OK;
    }
    cli_usage(&cli_cmd_config, stderr);
    return BS_EXIT_USAGE;
}

const struct cli_cmd cli_cmd_config = {
    .name = "config",
    .summary = "print the documented configuration defaults or check a file",
    .usage = config_usage,
    .run = config_run,
};
