/* tel_mmdb.h - MaxMind DB (.mmdb) country and ASN tables, loaded into a prefix map.
 *
 * --geo and --pfx2as accept a MaxMind DB file (GeoLite2/GeoIP2 Country or City, GeoLite2
 * ASN, or any database of the same shape) besides their text forms. The file is read once
 * with libmaxminddb: its search tree is walked and every network with a value becomes a
 * tel_pmap prefix, so the per-packet path stays one binary search with no library call
 * and no allocation (the same map as the CSV tables). Values: TEL_MMDB_COUNTRY takes
 * country.iso_code, else registered_country.iso_code (value CC[0] << 8 | CC[1], as the CSV
 * loader); TEL_MMDB_ASN takes autonomous_system_number. Networks without the field are
 * left out. In an IPv6 database the IPv4 space (::/96) is mapped to the v4-mapped form used
 * by ipaddr.h and the aliases of the IPv4 tree (::ffff:0:0/96, 2001::/32, 2002::/16) are
 * skipped. Caps: TEL_PMAP_MAX_PREFIXES networks (BS_ELIMIT); tree depth 128.
 *
 * Ownership: the map is the caller's (tel_pmap_release()); the database is closed before
 * tel_mmdb_load() returns.
 */
#ifndef BS_TELESCOPE_TEL_MMDB_H
#define BS_TELESCOPE_TEL_MMDB_H

#include <stdbool.h>
#include <stddef.h>

#include "telescope/tel_pmap.h"

enum tel_mmdb_field { TEL_MMDB_COUNTRY, TEL_MMDB_ASN };

/* True when path names a MaxMind DB: its name ends in .mmdb, or the file's last 128 KiB hold
 * the metadata marker "\xab\xcd\xefMaxMind.com". False for unreadable files (the text
 * loaders then report them). */
bool tel_mmdb_is_mmdb(const char *path);

/* Loads field f of every network of the database at path into m. Returns 0, BS_EPARSE (not
 * a readable MaxMind DB; errbuf names the file and libmaxminddb's reason), -errno (cannot
 * open), BS_ENOMEM or BS_ELIMIT. */
int tel_mmdb_load(struct tel_pmap *m, const char *path, enum tel_mmdb_field f, char *errbuf,
                  size_t errlen);

#endif
