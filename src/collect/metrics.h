/* metrics.h - a tiny HTTP/1.0 responder for the Prometheus endpoint (GET /metrics).
 *
 * Single-threaded and run from the collector's main thread: metrics_serve_one() accepts one
 * connection from a non-blocking listening socket, reads the request head (at most
 * METRICS_REQ_MAX bytes, 2 s timeout), answers GET /metrics with the text the render callback
 * produces (text/plain; version=0.0.4), 404 for other paths, 405 for other methods, and closes
 * the connection. A stuck client holds the main thread for at most the 2 s send/receive
 * timeouts; the data path (receive and decode threads) never waits for it.
 */
#ifndef BS_COLLECT_METRICS_H
#define BS_COLLECT_METRICS_H

#include "core/buf.h"

#define METRICS_REQ_MAX 4096
#define METRICS_BODY_MAX (64u << 20)

/* Returns 0 (served, or nothing to accept), or -errno of accept(). */
int metrics_serve_one(int listen_fd, int (*render)(void *ctx, struct buf *body), void *ctx);

#endif
