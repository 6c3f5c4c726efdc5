/* signs.h - signs of infection the survey can see on a device itself, without sending a
 * command: a curated table (signs.c, sources in docs/SURVEY.md) in the spirit of the curated
 * fingerprints. Two kinds:
 *   - text a known bot leaves where a device shows itself (a banner, a page title), e.g. the
 *     notice Linux.Wifatch puts on the Telnet port it closes;
 *   - a port a known bot takes over: Mirai's "killer" kills the Telnet, SSH and web servers
 *     and binds their ports itself, so a connection is accepted and nothing ever answers.
 * A sign is reported as `finding: infected` with the sign as evidence (survey.h's sink). */
#ifndef BS_SURVEY_SIGNS_H
#define BS_SURVEY_SIGNS_H

#include <stdbool.h>
#include <stdint.h>

#include "survey/survey.h"

enum sv_sign_kind {
    SV_SIGN_TEXT,   /* needle (case-insensitive) in the banner, SSH banner, HTTP title or Server */
    SV_SIGN_SILENT, /* the service's port accepted a connection and sent nothing before the
                       I/O timeout (only on the listed ports, for the listed service) */
};

struct sv_sign {
    const char *id;     /* stable name, e.g. "mirai-killer-telnet" */
    const char *family; /* the bot family, as the reference names it */
    enum sv_sign_kind kind;
    const char *service; /* the module whose observation is checked; NULL: any */
    uint16_t port;       /* SILENT: the port the bot binds; TEXT: 0 (any port) */
    const char *needle;  /* TEXT: what is looked for */
    const char *what;    /* one line for the evidence */
    const char *ref;     /* where the behaviour is documented */
};

/* The first sign that an observation shows, or NULL. silent: the first connection to the
 * service was accepted and the device sent no byte before the I/O timeout. */
const struct sv_sign *sv_sign_match(const struct sv_obs *o, bool silent);

/* The table (for tests and documentation). */
const struct sv_sign *sv_signs(size_t *n);

#endif
