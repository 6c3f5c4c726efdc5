/* tel_inputs.h - the inputs of `botscope telescope --read`: the list of captures (files,
 * '-', and directories expanded to their captures in time order), and reading them into the
 * engine. Part of the CLI (it reports errors itself, as the commands do).
 *
 * Caps: at most TEL_INPUTS_MAX inputs in all (a directory with more fails).
 *
 * Ownership: a struct tel_inputs owns its path copies; tel_inputs_free releases them.
 */
#ifndef BS_CLI_TEL_INPUTS_H
#define BS_CLI_TEL_INPUTS_H

#include <stddef.h>

#include "core/vec.h"
#include "telescope/tel_engine.h"
#include "telescope/tel_out.h"

#define TEL_INPUTS_MAX 65536

struct tel_inputs {
    struct vec v; /* char *, owned; at most TEL_INPUTS_MAX */
};

void tel_inputs_init(struct tel_inputs *l);
void tel_inputs_free(struct tel_inputs *l);
/* The i-th input (i < l->v.n). */
const char *tel_inputs_at(const struct tel_inputs *l, size_t i);
/* Appends a copy of path p. Returns 0, BS_ELIMIT or BS_ENOMEM. */
int tel_inputs_add(struct tel_inputs *l, const char *p);
/* Appends the captures of directory dir (*.pcap, *.pcapng, *.cap and their .gz; regular
 * files only), ordered by first packet time, then name. Returns 0, or BS_EXIT_FAIL after
 * reporting the error. */
int tel_inputs_add_directory(struct tel_inputs *l, const char *dir);
/* Reads every input into e (info[i] describes input i); one that cannot be read at all is
 * named and skipped. Returns the number of such inputs, or -1 after an output error. */
int tel_inputs_read(struct tel_engine *e, const struct tel_inputs *inputs,
                    struct tel_input_info *info);
/* Reports how many inputs could not be read, and the first names. */
void tel_inputs_report_unreadable(const struct tel_inputs *inputs,
                                  const struct tel_input_info *info, int failures);

#endif
