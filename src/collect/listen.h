/* listen.h - UDP listen addresses and the sockets of the live collector.
 *
 * Address syntax: "ADDR:PORT" with a numeric IPv4 address ("0.0.0.0:2055", "127.0.0.1:9995")
 * or a bracketed IPv6 address ("[::]:4739", "[::1]:6343"); PORT is 1..65535.
 *
 * listen_socket() opens one UDP socket bound to the address with SO_REUSEPORT (so several
 * receive threads can share the port: the kernel spreads exporters over them by flow hash),
 * SO_RXQ_OVFL (the kernel reports its drop counter in every datagram's control data), and the
 * largest receive buffer it may have: SO_RCVBUFFORCE when the process may (root or
 * CAP_NET_ADMIN), otherwise SO_RCVBUF, which the kernel caps at net.core.rmem_max. An IPv6
 * socket is dual-stack (IPv4 exporters arrive as IPv4-mapped addresses, which ipaddr.h stores
 * like plain IPv4) unless v6only is asked for, which the collector does when the same port is
 * also listed with an IPv4 address.
 */
#ifndef BS_COLLECT_LISTEN_H
#define BS_COLLECT_LISTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct listen_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    int family; /* AF_INET or AF_INET6 */
    unsigned port;
    char text[64]; /* as given */
};

/* Parses "ADDR:PORT" / "[ADDR]:PORT". Returns 0 or BS_EPARSE. */
int listen_addr_parse(const char *s, struct listen_addr *out);

/* Opens and binds a UDP socket (see above). rcvbuf 0 keeps the system default. On success
 * returns 0, *fd and *rcvbuf_effective (bytes, as getsockopt reports); otherwise -errno with
 * errbuf naming the step that failed. The caller closes fd. */
int listen_socket(const struct listen_addr *a, bool v6only, int rcvbuf, int *fd,
                  int *rcvbuf_effective, char *errbuf, size_t errlen);

/* A TCP listening socket (metrics endpoint), non-blocking. Returns 0 or -errno. */
int listen_tcp(const struct listen_addr *a, int *fd, char *errbuf, size_t errlen);

#endif
