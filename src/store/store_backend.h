/* store_backend.h - the plug-in point behind store.h (internal to bs_store).
 *
 * Each backend is one `const struct store_backend` listed in store_backends[] (store.c). A
 * backend's handle embeds `struct store` as its first member, so store.c dispatches through
 * s->be. store_open picks the first backend whose match() accepts the URL.
 */
#ifndef BS_STORE_STORE_BACKEND_H
#define BS_STORE_STORE_BACKEND_H

#include "store/store.h"

struct store_backend {
    const char *name;
    /* True when url belongs to this backend (e.g. its scheme). */
    bool (*match)(const char *url);
    int (*open)(const char *url, const struct config *cfg, int flags, struct store **out,
                char errbuf[256]);
    int (*append)(struct store *s, const struct flow_rec *recs, size_t n);
    int (*flush)(struct store *s);
    int (*close)(struct store *s);
    int (*scan)(struct store *s, const struct store_scan *sc, struct store_scan_stats *st);
    int (*info)(struct store *s, struct store_info *out);
    int (*prune)(struct store *s, uint64_t now_ms, uint64_t *segs, uint64_t *bytes);
};

struct store {
    const struct store_backend *be;
    int flags;
};

extern const struct store_backend store_backend_embedded;
extern const struct store_backend store_backend_clickhouse;

#endif
