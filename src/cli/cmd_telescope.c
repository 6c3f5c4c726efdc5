/* cmd_telescope.c - `botscope telescope`: being built; see the open issues. */
#include "cli/cli.h"
#include "core/err.h"

static int telescope_run(int argc, char **argv)
{
    cli_error("telescope", "not built yet");
    return BS_EXIT_FAIL;
}

const struct cli_cmd cli_cmd_telescope = {
    .name = "telescope",
    .summary = "(not built yet)",
    .usage = "botscope telescope: not built yet\n",
    .run = telescope_run,
};
