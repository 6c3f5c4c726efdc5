/* allow.h - the exporter allow-list (collect.allow): which source addresses may send flows.
 *
 * An empty list allows every exporter. Otherwise a datagram is accepted when its source lies
 * in one of the prefixes (IPv4 and IPv6 in one list; IPv4 also matches when it arrives as an
 * IPv4-mapped address on a dual-stack socket, since ipaddr.h stores both alike). The list is
 * read-only after parsing, so receive threads share it without locks.
 *
 * Ownership: allow_list_parse() allocates; allow_list_release() frees. Cap: ALLOW_MAX prefixes
 * (matching is a linear scan; operators list a handful of exporter ranges).
 */
#ifndef BS_COLLECT_ALLOW_H
#define BS_COLLECT_ALLOW_H

#include <stdbool.h>
#include <stddef.h>

#include "core/ipaddr.h"

#define ALLOW_MAX 1024u

struct allow_list {
    struct ipprefix *pfx;
    size_t n;
};

/* Parses n prefix strings ("192.0.2.0/24", "2001:db8::/32", "198.51.100.7"). Returns 0,
 * BS_EPARSE with errbuf naming the bad item, BS_ELIMIT past ALLOW_MAX, or BS_ENOMEM. */
int allow_list_parse(struct allow_list *a, const char *const *items, size_t n, char *errbuf,
                     size_t errlen);
bool allow_list_permits(const struct allow_list *a, const struct ipaddr *addr);
void allow_list_release(struct allow_list *a);

#endif
