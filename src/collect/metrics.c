/* metrics.c - HTTP responder for GET /metrics (see metrics.h). */
#include "collect/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/err.h"

static void send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void reply(int fd, const char *status, const char *type, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, type, len);
    send_all(fd, head, (size_t)n);
    send_all(fd, body, len);
}

int metrics_serve_one(int listen_fd, int (*render)(void *ctx, struct buf *body), void *ctx)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char req[METRICS_REQ_MAX + 1];
    size_t got = 0;
    while (got < METRICS_REQ_MAX) {
        ssize_t r = recv(fd, req + got, METRICS_REQ_MAX - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
            break;
    }
    req[got] = '\0';
    if (strncmp(req, "GET ", 4) != 0) {
        static const char m[] = "method not allowed\n";
        reply(fd, "405 Method Not Allowed", "text/plain", m, sizeof m - 1);
    } else if (strncmp(req + 4, "/metrics", 8) != 0 ||
               (req[12] != ' ' && req[12] != '?' && req[12] != '\r' && req[12] != '\n')) {
        static const char m[] = "not found: try /metrics\n";
        reply(fd, "404 Not Found", "text/plain", m, sizeof m - 1);
    } else {
        struct buf body = BUF_INIT(METRICS_BODY_MAX);
        int rc = render(ctx, &body);
        if (rc) {
            static const char m[] = "metrics too large\n";
            reply(fd, "500 Internal Server Error", "text/plain", m, sizeof m - 1);
        } else {
            reply(fd, "200 OK", "text/plain; version=0.0.4", body.data ? body.data : "",
                  body.len);
        }
        buf_release(&body);
    }
    close(fd);
    return 0;
}
