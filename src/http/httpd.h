/* httpd.h - a small embedded HTTP server over libmicrohttpd, for the collector's Prometheus
 * endpoint now and the API later.
 *
 * Threading: the server runs in its own thread (libmicrohttpd's internal polling thread, one
 * event loop over every connection). A slow or stuck client only occupies a connection slot;
 * it never holds up the thread that started the server, nor the other clients. Handlers run
 * in the server thread, one at a time, so they must be quick and may only read state that is
 * safe to read from another thread (atomics, or data under its owner's lock).
 *
 * Bounds (hostile clients cannot grow memory or hold resources past them):
 *  - max_conns connections in all, max_conns_per_ip from one address; further connections
 *    are accepted and closed at once;
 *  - max_request bytes for the request line and headers together (libmicrohttpd answers 431
 *    or 414 beyond it); GET and HEAD only, so there is no request body to bound;
 *  - idle_timeout_s: a connection with no complete request and no byte moving for that long
 *    is closed. A client that trickles bytes is bounded by max_request: it runs out of room
 *    after max_request bytes and is answered with an error and closed.
 *
 * Routes: exact path match on the request path (the query string is not part of it). A known
 * path with another method than GET/HEAD is 405, an unknown path 404 (both short text bodies).
 */
#ifndef BS_HTTP_HTTPD_H
#define BS_HTTP_HTTPD_H

#include <stddef.h>

#include "core/buf.h"

/* Defaults of struct httpd_opts (0 in a field picks these). */
#define HTTPD_DEFAULT_CONNS        32u
#define HTTPD_DEFAULT_CONNS_PER_IP 8u
#define HTTPD_DEFAULT_TIMEOUT_S    10u
#define HTTPD_DEFAULT_REQUEST_MAX  8192u

/* What a handler fills. status defaults to 200 and type to "text/plain"; body starts empty
 * with the cap the route declares (body_max). A handler that knows a tighter or larger bound
 * for this request from its own caps (e.g. the number of exporters known now, itself capped by
 * the configuration) may set body.max before appending. type must be a static string. */
struct httpd_reply {
    unsigned status;
    const char *type;
    struct buf body;
};

/* A handler: fills rep from ctx. It is called in the server thread. */
typedef void (*httpd_handler_fn)(void *ctx, const char *path, struct httpd_reply *rep);

struct httpd_route {
    const char *path;     /* exact, e.g. "/metrics" */
    httpd_handler_fn get; /* GET and HEAD */
    size_t body_max;      /* cap on the body the handler may build; 0: 1 MiB */
};

struct httpd_opts {
    unsigned max_conns;
    unsigned max_conns_per_ip;
    unsigned idle_timeout_s;
    size_t max_request;
    const struct httpd_route *routes; /* borrowed: must outlive the server */
    size_t nroutes;
    void *ctx; /* passed to every handler */
};

struct httpd;

/* Starts serving on listen_fd (a bound, listening TCP socket). On success the server owns
 * listen_fd (httpd_stop() closes it) and *out is set; on failure listen_fd is left to the
 * caller. Returns 0, BS_ENOMEM, or -errno / BS_EIO when libmicrohttpd could not start (errbuf
 * says so). */
int httpd_start(int listen_fd, const struct httpd_opts *o, struct httpd **out, char *errbuf,
                size_t errlen);

/* Stops the server: closes every connection and the listening socket, joins the thread and
 * frees h. NULL is a no-op. */
void httpd_stop(struct httpd *h);

#endif
