/* allow.c - exporter allow-list (see allow.h). */
#include "collect/allow.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"

int allow_list_parse(struct allow_list *a, const char *const *items, size_t n, char *errbuf,
                     size_t errlen)
{
    a->pfx = NULL;
    a->n = 0;
    if (n == 0)
        return 0;
    if (n > ALLOW_MAX) {
        snprintf(errbuf, errlen, "more than %u prefixes", ALLOW_MAX);
        return BS_ELIMIT;
    }
    a->pfx = calloc(n, sizeof *a->pfx);
    if (!a->pfx)
        return BS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (ipprefix_parse(items[i], &a->pfx[i])) {
            snprintf(errbuf, errlen, "'%s' is not an address or prefix", items[i]);
            allow_list_release(a);
            return BS_EPARSE;
        }
    }
    a->n = n;
    return 0;
}

bool allow_list_permits(const struct allow_list *a, const struct ipaddr *addr)
{
    if (a->n == 0)
        return true;
    for (size_t i = 0; i < a->n; i++)
        if (ipprefix_contains(&a->pfx[i], addr))
            return true;
    return false;
}

void allow_list_release(struct allow_list *a)
{
    free(a->pfx);
    a->pfx = NULL;
    a->n = 0;
}
