/* main.c - the botscope command: dispatches to the subcommand table. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/err.h"
#include "core/log.h"

static const struct cli_cmd *const cli_cmds[] = {
    &cli_cmd_collect, &cli_cmd_flows, &cli_cmd_import,   &cli_cmd_store,  &cli_cmd_telescope,
    &cli_cmd_detect,  &cli_cmd_graph, &cli_cmd_simulate, &cli_cmd_survey, &cli_cmd_config,
    &cli_cmd_eval,    &cli_cmd_intel, &cli_cmd_export,
};

#define N_CMDS (sizeof cli_cmds / sizeof cli_cmds[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: botscope COMMAND [OPTIONS]\n"
               "\n"
               "botscope finds IoT botnets from the network side: flow collection and query,\n"
               "a darknet telescope, and a simulator of labelled worlds.\n"
               "\n"
               "Commands:\n");
    for (size_t i = 0; i < N_CMDS; i++)
        fprintf(f, "  %-11s %s\n", cli_cmds[i]->name, cli_cmds[i]->summary);
    fprintf(f,
            "\n"
            "Every command takes --config FILE (see `botscope config --defaults`) and\n"
            "--help. Options given on the command line override the file.\n"
            "\n"
            "Exit status:\n"
            "  0  success\n"
            "  1  runtime failure (I/O, nothing readable, a peer failed)\n"
            "  2  usage or configuration error (the message names the option, or the\n"
            "     file, line and key)\n"
            "\n"
            "botscope %s\n",
            BS_VERSION);
}

void cli_error(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "botscope %s: %s\n", cmd, msg);
}

void cli_usage(const struct cli_cmd *cmd, FILE *f)
{
    fputs(cmd->usage, f);
}

const char *cli_find_config(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            return argv[i + 1];
        if (!strncmp(argv[i], "--config=", 9))
            return argv[i] + 9;
    }
    return NULL;
}

int cli_load_config(const char *cmd, const char *path, struct config *cfg)
{
    if (config_init(cfg)) {
        cli_error(cmd, "out of memory");
        return BS_EXIT_FAIL;
    }
    if (!path)
        return 0;
    struct cfg_error err;
    if (config_load(cfg, path, &err)) {
        cli_error(cmd, "%s", err.msg);
        config_release(cfg);
        return BS_EXIT_USAGE;
    }
    return 0;
}

void cli_set_log_level(const struct config *cfg, int verbose, int quiet)
{
    const char *name = config_str(cfg, "general", "log_level");
    enum log_level lvl = LOG_WARN;
    if (!strcmp(name, "error"))
        lvl = LOG_ERR;
    else if (!strcmp(name, "info"))
        lvl = LOG_INFO;
    else if (!strcmp(name, "debug"))
        lvl = LOG_DEBUG;
    int v = (int)lvl + verbose;
    if (quiet)
        v = LOG_ERR;
    if (v > LOG_DEBUG)
        v = LOG_DEBUG;
    log_set_level((enum log_level)v);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return BS_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
        if (argc > 2) {
            for (size_t i = 0; i < N_CMDS; i++)
                if (!strcmp(cli_cmds[i]->name, argv[2])) {
                    cli_usage(cli_cmds[i], stdout);
                    return BS_EXIT_OK;
                }
        }
        usage(stdout);
        return BS_EXIT_OK;
    }
    if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
        printf("botscope %s\n", BS_VERSION);
        return BS_EXIT_OK;
    }
    for (size_t i = 0; i < N_CMDS; i++) {
        if (!strcmp(cli_cmds[i]->name, name)) {
            for (int j = 2; j < argc; j++) {
                if (!strcmp(argv[j], "--"))
                    break;
                if (!strcmp(argv[j], "-h") || !strcmp(argv[j], "--help")) {
                    cli_usage(cli_cmds[i], stdout);
                    return BS_EXIT_OK;
                }
            }
            return cli_cmds[i]->run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "botscope: unknown command '%s' (see botscope --help)\n", name);
    return BS_EXIT_USAGE;
}
