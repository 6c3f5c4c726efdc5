/* cmd_simulate.c - `botscope simulate`: being built; see the open issues. */
#include "cli/cli.h"
#include "core/err.h"

static int simulate_run(int argc, char **argv)
{
    cli_error("simulate", "not built yet");
    return BS_EXIT_FAIL;
}

const struct cli_cmd cli_cmd_simulate = {
    .name = "simulate",
    .summary = "(not built yet)",
    .usage = "botscope simulate: not built yet\n",
    .run = simulate_run,
};
