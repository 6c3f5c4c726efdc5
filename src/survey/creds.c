/* creds.c - the credentials file (survey.h, sv_creds_load). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/vec.h"
#include "survey/survey.h"

int sv_creds_load(struct sv_creds *c, const char *path, char *errbuf, size_t errlen)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        snprintf(errbuf, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    char line[512];
    unsigned lineno = 0;
    int rc = 0;
    struct vec v; /* handed over as c->v, the plain array sv_creds publishes */
    vec_init(&v, sizeof(struct sv_cred), 32, SV_CREDS_MAX);
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (!n || line[0] == '#')
            continue;
        /* Passwords may hold any character, so only the first ':' splits and nothing is
         * trimmed. */
        char *colon = strchr(line, ':');
        if (!colon || colon == line || strlen(colon + 1) >= SV_CRED_FIELD ||
            (size_t)(colon - line) >= SV_CRED_FIELD) {
            snprintf(errbuf, errlen, "%s:%u: expected user:password (each under %d bytes)", path,
                     lineno, SV_CRED_FIELD);
            rc = BS_EPARSE;
            break;
        }
        if (v.n >= SV_CREDS_MAX) {
            snprintf(errbuf, errlen, "%s:%u: more than %d pairs", path, lineno, SV_CREDS_MAX);
            rc = BS_ELIMIT;
            break;
        }
        struct sv_cred *cr = VEC_PUSH(&v, struct sv_cred, &rc);
        if (!cr)
            break;
        *colon = '\0';
        /* Both lengths were checked against SV_CRED_FIELD above. */
        memcpy(cr->user, line, strlen(line) + 1);
        memcpy(cr->pass, colon + 1, strlen(colon + 1) + 1);
        cr->index = lineno;
    }
    fclose(f);
    if (rc) {
        vec_release(&v);
        return rc;
    }
    c->v = v.data; /* malloc'd: sv_creds_release frees it */
    c->n = v.n;
    return 0;
}

void sv_creds_release(struct sv_creds *c)
{
    free(c->v);
    c->v = NULL;
    c->n = 0;
}
