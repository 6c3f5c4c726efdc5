/* listen.c - listen-address parsing and socket setup (see listen.h). */
#include "collect/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

int listen_addr_parse(const char *s, struct listen_addr *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->text, sizeof out->text, "%s", s);
    char host[64];
    const char *port;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof host)
            return BS_EPARSE;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = '\0';
        port = end + 2;
    } else {
        const char *c = strrchr(s, ':');
        if (!c || (size_t)(c - s) >= sizeof host || strchr(s, ':') != c)
            return BS_EPARSE;
        memcpy(host, s, (size_t)(c - s));
        host[c - s] = '\0';
        port = c + 1;
    }
    char *endp;
    errno = 0;
    long p = strtol(port, &endp, 10);
    if (!*port || *endp || errno || p < 1 || p > 65535)
        return BS_EPARSE;
    out->port = (unsigned)p;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
    if (s[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)p);
        out->family = AF_INET;
        out->len = sizeof *v4;
        return 0;
    }
    if (s[0] == '[' && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)p);
        out->family = AF_INET6;
        out->len = sizeof *v6;
        return 0;
    }
    return BS_EPARSE;
}

int listen_socket(const struct listen_addr *a, bool v6only, int rcvbuf, int *fd,
                  int *rcvbuf_effective, char *errbuf, size_t errlen)
{
    const char *step = "socket";
    int one = 1, s = socket(a->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        goto fail;
    step = "SO_REUSEPORT";
    if (setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one))
        goto fail_close;
    step = "SO_RXQ_OVFL";
    if (setsockopt(s, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one))
        goto fail_close;
    if (a->family == AF_INET6) {
        int v = v6only ? 1 : 0;
        step = "IPV6_V6ONLY";
        if (setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof v))
            goto fail_close;
    }
    if (rcvbuf > 0) {
        /* SO_RCVBUFFORCE passes net.core.rmem_max but needs CAP_NET_ADMIN; without it the
         * plain option applies, capped by the kernel. The effective size is reported. */
        if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf)) {
            step = "SO_RCVBUF";
            if (setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf))
                goto fail_close;
        }
    }
    int eff = 0;
    socklen_t el = sizeof eff;
    getsockopt(s, SOL_SOCKET, SO_RCVBUF, &eff, &el);
    *rcvbuf_effective = eff;
    step = "bind";
    if (bind(s, (const struct sockaddr *)&a->ss, a->len))
        goto fail_close;
    *fd = s;
    return 0;
fail_close:;
    int e = errno;
    close(s);
    errno = e;
fail:
    snprintf(errbuf, errlen, "%s: %s: %s", a->text, step, strerror(errno));
    return -errno;
}

int listen_tcp(const struct listen_addr *a, int *fd, char *errbuf, size_t errlen)
{
    const char *step = "socket";
    int one = 1, s = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0)
        goto fail;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    step = "bind";
    if (bind(s, (const struct sockaddr *)&a->ss, a->len))
        goto fail_close;
    step = "listen";
    if (listen(s, 16))
        goto fail_close;
    *fd = s;
    return 0;
fail_close:;
    int e = errno;
    close(s);
    errno = e;
fail:
    snprintf(errbuf, errlen, "%s: %s: %s", a->text, step, strerror(errno));
    return -errno;
}
