/* tel_keyhash.c - SipHash-2-4 and address pseudonyms (see tel_keyhash.h). Written from the
 * algorithm description in the SipHash paper. */
#include "telescope/tel_keyhash.h"

#include <stdio.h>
#include <string.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static inline void sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = ROTL(v[1], 13);
    v[1] ^= v[0];
    v[0] = ROTL(v[0], 32);
    v[2] += v[3];
    v[3] = ROTL(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = ROTL(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = ROTL(v[1], 17);
    v[1] ^= v[2];
    v[2] = ROTL(v[2], 32);
}

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | p[i];
    return x;
}

uint64_t tel_siphash24(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t v[4] = {k0 ^ 0x736f6d6570736575ull, k1 ^ 0x646f72616e646f6dull,
                     k0 ^ 0x6c7967656e657261ull, k1 ^ 0x7465646279746573ull};
    size_t left = len;
    while (left >= 8) {
        uint64_t m = load_le64(p);
        v[3] ^= m;
        sipround(v);
        sipround(v);
        v[0] ^= m;
        p += 8;
        left -= 8;
    }
    uint64_t b = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < left; i++)
        b |= (uint64_t)p[i] << (8 * i);
    v[3] ^= b;
    sipround(v);
    sipround(v);
    v[0] ^= b;
    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++)
        sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

void tel_keyhash_init(struct tel_keyhash *kh, const char *key_text)
{
    size_t n = key_text ? strlen(key_text) : 0;
    kh->k0 =
        tel_siphash24(0x626f7473636f7065ull, 0x6b6579300000000ull, key_text ? key_text : "", n);
    kh->k1 =
        tel_siphash24(0x626f7473636f7065ull, 0x6b6579310000000ull, key_text ? key_text : "", n);
}

char *tel_keyhash_format(const struct tel_keyhash *kh, const struct ipaddr *a, char *buf)
{
    uint64_t h = tel_siphash24(kh->k0, kh->k1, a->b, sizeof a->b);
    snprintf(buf, TEL_KEYHASH_STRLEN, "h:%016llx", (unsigned long long)h);
    return buf;
}
