/* cmd_store.c - `botscope store`: being built; see the open issues. */
#include "cli/cli.h"
#include "core/err.h"

static int store_run(int argc, char **argv)
{
    cli_error("store", "not built yet");
    return BS_EXIT_FAIL;
}

const struct cli_cmd cli_cmd_store = {
    .name = "store",
    .summary = "(not built yet)",
    .usage = "botscope store: not built yet\n",
    .run = store_run,
};
