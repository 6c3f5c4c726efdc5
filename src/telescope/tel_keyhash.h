/* tel_keyhash.h - keyed pseudonyms for exported addresses (privacy mode).
 *
 * SipHash-2-4 (Aumasson and Bernstein, 2012), a keyed pseudo-random function: without the key
 * the pseudonym of an address cannot be computed, so a published file does not reveal which
 * addresses were seen, while the same key gives the same pseudonym across runs (a source can
 * still be followed from day to day). The 128-bit SipHash key is derived from the operator's
 * key text by SipHash itself under two fixed constants. Not prefix-preserving: two addresses
 * in one /24 get unrelated pseudonyms. Pseudonyms are written as "h:" + 16 hex digits.
 */
#ifndef BS_TELESCOPE_TEL_KEYHASH_H
#define BS_TELESCOPE_TEL_KEYHASH_H

#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

struct tel_keyhash {
    uint64_t k0, k1;
};

#define TEL_KEYHASH_STRLEN 19 /* "h:" + 16 hex + NUL */

uint64_t tel_siphash24(uint64_t k0, uint64_t k1, const void *data, size_t len);
void tel_keyhash_init(struct tel_keyhash *kh, const char *key_text);
/* Writes the pseudonym of a into buf (at least TEL_KEYHASH_STRLEN bytes). Returns buf. */
char *tel_keyhash_format(const struct tel_keyhash *kh, const struct ipaddr *a, char *buf);

#endif
