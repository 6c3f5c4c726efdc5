/* signs.c - the curated infection signs (signs.h). Each entry cites where the behaviour is
 * documented; docs/SURVEY.md lists them with their limits. Kept small on purpose: a sign must
 * be specific enough that a clean device does not show it. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "survey/signs.h"

#define MIRAI_REF                                                                                  \
    "Mirai source (2016), bot/killer.c: killer_init() kills the process on the port, binds it "    \
    "and listens without accepting (KILLER_REBIND_TELNET/SSH/HTTP)"

static const struct sv_sign signs[] = {
    {"wifatch-telnet-notice", "Linux.Wifatch", SV_SIGN_TEXT, NULL, 0,
     "Telnet has been closed to avoid further infection",
     "the notice Linux.Wifatch leaves after it closes Telnet on a device it infected",
     "Symantec, 'Is there an Internet-of-Things vigilante out there?' (2015-10-01); "
     "Wifatch source (GitLab, 2015)"},
    {"mirai-killer-telnet", "Mirai", SV_SIGN_SILENT, "telnet", 23, NULL,
     "tcp/23 accepts connections and never answers: Mirai's killer holds the Telnet port",
     MIRAI_REF},
    {"mirai-killer-ssh", "Mirai", SV_SIGN_SILENT, "ssh", 22, NULL,
     "tcp/22 accepts connections and never sends an SSH identification: Mirai's killer "
     "holds the SSH port",
     MIRAI_REF},
    {"mirai-killer-http", "Mirai", SV_SIGN_SILENT, "http", 80, NULL,
     "tcp/80 accepts connections and never answers a request: Mirai's killer holds the web "
     "port",
     MIRAI_REF},
};

const struct sv_sign *sv_signs(size_t *n)
{
    *n = sizeof signs / sizeof signs[0];
    return signs;
}

/* Case-insensitive substring search (banners come in any case and with any line ends). */
static bool contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return true;
    return false;
}

const struct sv_sign *sv_sign_match(const struct sv_obs *o, bool silent)
{
    for (size_t i = 0; i < sizeof signs / sizeof signs[0]; i++) {
        const struct sv_sign *g = &signs[i];
        if (g->service && (!o->service || strcmp(g->service, o->service)))
            continue;
        if (g->kind == SV_SIGN_SILENT) {
            if (silent && o->port == g->port)
                return g;
            continue;
        }
        const char *texts[] = {o->banner, o->ssh_banner, o->http_title, o->http_server};
        for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++)
            if (contains(texts[k], g->needle))
                return g;
    }
    return NULL;
}
