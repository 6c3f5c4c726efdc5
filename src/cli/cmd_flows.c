/* cmd_flows.c - `botscope flows`: being built; see the open issues. */
#include "cli/cli.h"
#include "core/err.h"

static int flows_run(int argc, char **argv)
{
    cli_error("flows", "not built yet");
    return BS_EXIT_FAIL;
}

const struct cli_cmd cli_cmd_flows = {
    .name = "flows",
    .summary = "(not built yet)",
    .usage = "botscope flows: not built yet\n",
    .run = flows_run,
};
