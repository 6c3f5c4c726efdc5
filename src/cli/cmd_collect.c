/* cmd_collect.c - `botscope collect`: being built; see the open issues. */
#include "cli/cli.h"
#include "core/err.h"

static int collect_run(int argc, char **argv)
{
    cli_error("collect", "not built yet");
    return BS_EXIT_FAIL;
}

const struct cli_cmd cli_cmd_collect = {
    .name = "collect",
    .summary = "(not built yet)",
    .usage = "botscope collect: not built yet\n",
    .run = collect_run,
};
