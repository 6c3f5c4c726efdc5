/* ident_diag.c - the load-error report shared by the recog and vuln loaders. */
#include "survey/ident_diag.h"

void ident_diag_clear(struct ident_diag *d)
{
    if (!d)
        return;
    d->file[0] = '\0';
    d->line = 0;
    d->col = 0;
    d->msg[0] = '\0';
}
