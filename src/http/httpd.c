/* httpd.c - the embedded HTTP server (see httpd.h). */
#include "http/httpd.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"

#define COMP             "httpd"
#define BODY_MAX_DEFAULT (1u << 20)

struct httpd {
    struct MHD_Daemon *d;
    struct httpd_opts o;
};

/* libmicrohttpd's own diagnostics (a refused connection, a full pool) go to the debug log:
 * they are about single clients, which must not flood the operator's log. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (log_get_level() < LOG_DEBUG)
        return;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = '\0';
    log_debug(COMP, "%s", line);
}

static enum MHD_Result queue_static(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text,
                                                             MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static const struct httpd_route *find_route(const struct httpd *h, const char *path)
{
    for (size_t i = 0; i < h->o.nroutes; i++)
        if (strcmp(h->o.routes[i].path, path) == 0)
            return &h->o.routes[i];
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    struct httpd *h = cls;
    (void)version;
    (void)upload_data;
    (void)req_cls;
    const struct httpd_route *rt = find_route(h, url);
    if (!rt)
        return queue_static(conn, MHD_HTTP_NOT_FOUND, "not found\n");
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        /* Answered before any body is read; libmicrohttpd then closes the connection, so an
         * announced upload is never buffered. */
        *upload_data_size = 0;
        return queue_static(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    }
    size_t max = rt->body_max;
    struct httpd_reply rep = {.status = 200, .type = "text/plain"};
    buf_init(&rep.body, max ? max : BODY_MAX_DEFAULT);
    rt->get(h->o.ctx, url, &rep);
    struct MHD_Response *r;
    if (rep.body.len) {
        r = MHD_create_response_from_buffer_with_free_callback(rep.body.len, rep.body.data, free);
        if (r)
            rep.body.data = NULL; /* the response owns it now */
    } else {
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    }
    buf_release(&rep.body);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rep.type);
    enum MHD_Result ret = MHD_queue_response(conn, rep.status, r);
    MHD_destroy_response(r);
    return ret;
}

int httpd_start(int listen_fd, const struct httpd_opts *o, struct httpd **out, char *errbuf,
                size_t errlen)
{
    struct httpd *h = calloc(1, sizeof *h);
    if (!h)
        return BS_ENOMEM;
    h->o = *o;
    if (!h->o.max_conns)
        h->o.max_conns = HTTPD_DEFAULT_CONNS;
    if (!h->o.max_conns_per_ip)
        h->o.max_conns_per_ip = HTTPD_DEFAULT_CONNS_PER_IP;
    if (!h->o.idle_timeout_s)
        h->o.idle_timeout_s = HTTPD_DEFAULT_TIMEOUT_S;
    if (!h->o.max_request)
        h->o.max_request = HTTPD_DEFAULT_REQUEST_MAX;
    /* The connection memory pool holds the request head and the response headers; the
     * response body lives outside it. A floor keeps room for the response headers. */
    size_t pool = h->o.max_request < 4096 ? 4096 : h->o.max_request;
    errno = 0;
    h->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            on_request, h, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)listen_fd,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)h->o.max_conns,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)h->o.max_conns_per_ip,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)h->o.idle_timeout_s,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool, MHD_OPTION_EXTERNAL_LOGGER,
                            mhd_log, NULL, MHD_OPTION_END);
    if (!h->d) {
        int rc = errno ? -errno : BS_EIO;
        snprintf(errbuf, errlen, "cannot start the HTTP server: %s", bs_strerror(rc));
        free(h);
        return rc;
    }
    *out = h;
    return 0;
}

void httpd_stop(struct httpd *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    free(h);
}
