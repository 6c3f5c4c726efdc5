/* cmd_import.c - `botscope import`: being built; see the open issues. */
#include "cli/cli.h"
#include "core/err.h"

static int import_run(int argc, char **argv)
{
    cli_error("import", "not built yet");
    return BS_EXIT_FAIL;
}

const struct cli_cmd cli_cmd_import = {
    .name = "import",
    .summary = "(not built yet)",
    .usage = "botscope import: not built yet\n",
    .run = import_run,
};
