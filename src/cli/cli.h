/* cli.h - the botscope command table and what every subcommand shares.
 *
 * Each subcommand is one `const struct cli_cmd` defined in its own cmd_<name>.c and listed in
 * the table in main.c. run() receives argv with argv[0] = the subcommand name, parses its own
 * options (getopt_long; every subcommand takes --config FILE and -h/--help) and returns an
 * exit code (enum bs_exit). Only run() functions print to stdout/stderr and choose exit codes.
 */
#ifndef BS_CLI_CLI_H
#define BS_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "core/config.h"

struct cli_cmd {
    const char *name;
    const char *summary; /* one line for `botscope --help` */
    const char *usage;   /* full man-page-quality text for `botscope NAME --help` */
    int (*run)(int argc, char **argv);
};

extern const struct cli_cmd cli_cmd_collect;
extern const struct cli_cmd cli_cmd_flows;
extern const struct cli_cmd cli_cmd_import;
extern const struct cli_cmd cli_cmd_store;
extern const struct cli_cmd cli_cmd_telescope;
extern const struct cli_cmd cli_cmd_detect;
extern const struct cli_cmd cli_cmd_graph;
extern const struct cli_cmd cli_cmd_simulate;
extern const struct cli_cmd cli_cmd_survey;
extern const struct cli_cmd cli_cmd_config;
extern const struct cli_cmd cli_cmd_eval;
extern const struct cli_cmd cli_cmd_intel;
extern const struct cli_cmd cli_cmd_export;

/* Prints "botscope NAME: message" to stderr. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Loads the defaults and, when path is non-NULL, the file. On error prints the message
 * (naming file, line and key) and returns BS_EXIT_USAGE; 0 on success. */
int cli_load_config(const char *cmd, const char *path, struct config *cfg);

/* Scans argv for --config FILE / --config=FILE without consuming it (so options given on
 * the command line can be applied after the file). Returns the path or NULL. */
const char *cli_find_config(int argc, char **argv);

/* Prints the usage of cmd to f. */
void cli_usage(const struct cli_cmd *cmd, FILE *f);

/* Sets the log level from -v counts / --quiet and the config's general.log_level. */
void cli_set_log_level(const struct config *cfg, int verbose, int quiet);

/* Stored JSON (a state-database body read with jansson) written back through core/jw
 * (cli_json.c): cli_json_copy writes v as the member key (NULL in an array or at the top);
 * cli_json_members writes the members of object o into the object open on w. Members keep
 * their stored order, or go sorted by key (strcmp) when sorted; integers stay exact.
 * Nesting is bounded by the writer's depth cap. */
struct jw;
struct json_t;
void cli_json_copy(struct jw *w, const char *key, struct json_t *v, bool sorted);
void cli_json_members(struct jw *w, struct json_t *o, bool sorted);

#endif
