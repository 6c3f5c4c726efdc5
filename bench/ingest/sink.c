/* sink.c - bs-ingest-sink: the ceiling of the ingest benchmark, a receiver that only counts.
 *
 * Binds --threads SO_REUSEPORT UDP sockets to 127.0.0.1:PORT with the collector's socket setup
 * (SO_RCVBUFFORCE of --rcvbuf, falling back to SO_RCVBUF; SO_RXQ_OVFL), one receive thread
 * each, and reads batches of --batch datagrams with recvmmsg() into 64 KiB buffers, as the
 * collector does, then discards them. For each datagram it reads only the NetFlow v9 header
 * and the first flowset id, to count the data records (header count of a datagram whose
 * first set is a data set, id >= 256), so run.sh can compare its count with the sender's.
 * Nothing is decoded, copied, queued or stored: what this cannot receive without loss, no
 * collector on the same machine can.
 *
 * Two receive loops:
 *   --mode block (default): blocking recvmmsg(MSG_WAITFORONE) with a 100 ms SO_RCVTIMEO, so a
 *       thread sleeps in the kernel until a datagram arrives and returns with whatever is
 *       queued then (one system call per batch);
 *   --mode poll: poll() on the socket and a stop eventfd, then recvmmsg(MSG_DONTWAIT) (two
 *       system calls per batch: the collector's loop before this benchmark's changes).
 *
 * --nap-us N: after a read that returned less than a full batch, sleep N us before the next, so
 * datagrams gather in the socket buffer and each wake-up reads more of them.
 *
 * Stops on SIGTERM or SIGINT: each thread drains its socket (MSG_DONTWAIT until EAGAIN), then
 * one line goes to stdout:
 *   sink: datagrams N data_datagrams N flows N bytes N kernel_drops N
 * Signals are blocked in every thread and taken by sigwait() in the main thread; no globals.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

/* Caps: threads and datagrams per recvmmsg(), as the collector's. */
#define SINK_MAX_THREADS 64u
#define SINK_MAX_BATCH   1024u
/* Receive buffer per datagram: the largest UDP payload (the collector's RECV_BUF). */
#define SINK_RECV_BUF 65536u
/* Blocking mode: how often a sleeping thread looks at the stop flag. */
#define SINK_TIMEOUT_MS 100
#define SINK_CTL_LEN    CMSG_SPACE(sizeof(uint32_t))

struct sink_opts {
    unsigned port, threads, batch;
    unsigned nap_us; /* after a short batch, sleep this long before the next read (0: never) */
    int rcvbuf;
    bool poll_mode;
};

struct sink_thread {
    const struct sink_opts *o;
    int fd, stop_efd;
    _Atomic bool *stop;
    pthread_t th;
    uint64_t datagrams, data_datagrams, flows, bytes, recv_errors;
    uint32_t ovfl;
};

static int sink_socket(const struct sink_opts *o, int *fd)
{
    int one = 1, s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_usec = SINK_TIMEOUT_MS * 1000};
    if (setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) ||
        setsockopt(s, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) ||
        setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv))
        goto fail;
    if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &o->rcvbuf, sizeof o->rcvbuf) &&
        setsockopt(s, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof o->rcvbuf))
        goto fail;
    if (bind(s, (const struct sockaddr *)&a, sizeof a))
        goto fail;
    *fd = s;
    return 0;
fail:;
    int e = errno;
    close(s);
    return -e;
}

/* Counts what recvmmsg() returned: datagrams, bytes, v9 data records, the kernel's drops. */
static void sink_count(struct sink_thread *t, const uint8_t *data, struct mmsghdr *m, int n)
{
    for (int i = 0; i < n; i++) {
        struct msghdr *h = &m[i].msg_hdr;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR(h, cm))
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL)
                memcpy(&t->ovfl, CMSG_DATA(cm), sizeof t->ovfl);
        const uint8_t *p = data + (size_t)i * SINK_RECV_BUF;
        uint32_t len = m[i].msg_len;
        t->datagrams++;
        t->bytes += len;
        /* v9 header: version(2) count(2) ... 20 bytes; then the first set's id(2). */
        if (len >= 22 && p[0] == 0 && p[1] == 9 && ((unsigned)p[20] << 8 | p[21]) >= 256) {
            t->data_datagrams++;
            t->flows += (unsigned)p[2] << 8 | p[3];
        }
    }
}

static void *sink_main(void *arg)
{
    struct sink_thread *t = arg;
    unsigned batch = t->o->batch;
    uint8_t *data = malloc((size_t)batch * SINK_RECV_BUF);
    struct mmsghdr *m = calloc(batch, sizeof *m);
    struct iovec *iov = calloc(batch, sizeof *iov);
    uint8_t *ctl = calloc(batch, SINK_CTL_LEN);
    if (!data || !m || !iov || !ctl) {
        fprintf(stderr, "sink: out of memory\n");
        goto out;
    }
    bool stopping = false;
    for (;;) {
        for (unsigned i = 0; i < batch; i++) {
            iov[i] = (struct iovec){data + (size_t)i * SINK_RECV_BUF, SINK_RECV_BUF};
            m[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i],
                                           .msg_iovlen = 1,
                                           .msg_control = ctl + (size_t)i * SINK_CTL_LEN,
                                           .msg_controllen = SINK_CTL_LEN};
        }
        int flags = MSG_WAITFORONE;
        if (stopping) {
            flags = MSG_DONTWAIT;
        } else if (t->o->poll_mode) {
            struct pollfd p[2] = {{.fd = t->fd, .events = POLLIN},
                                  {.fd = t->stop_efd, .events = POLLIN}};
            if (poll(p, 2, -1) < 0 && errno != EINTR)
                break;
            if (p[1].revents & POLLIN)
                stopping = true;
            flags = MSG_DONTWAIT;
        }
        int n = recvmmsg(t->fd, m, batch, flags, NULL);
        if (n > 0) {
            sink_count(t, data, m, n);
            if (t->o->nap_us && (unsigned)n < batch && !stopping) {
                struct timespec ts = {.tv_nsec = (long)t->o->nap_us * 1000};
                nanosleep(&ts, NULL);
            }
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            t->recv_errors++;
        if (stopping && n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break; /* drained */
        if (atomic_load_explicit(t->stop, memory_order_relaxed))
            stopping = true;
    }
out:
    free(data);
    free(m);
    free(iov);
    free(ctl);
    return NULL;
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s)
        return -1;
    if (*end == 'M' || *end == 'm')
        v *= 1 << 20, end++;
    else if (*end == 'K' || *end == 'k')
        v *= 1 << 10, end++;
    if (*end || v < (long)lo || v > (long)hi)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int main(int argc, char **argv)
{
    struct sink_opts o = {.threads = 2, .batch = 64, .rcvbuf = 32 << 20};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned u = 0;
        if (!strcmp(a, "--mode") && v) {
            if (strcmp(v, "block") && strcmp(v, "poll"))
                goto usage;
            o.poll_mode = !strcmp(v, "poll");
        } else if (!strcmp(a, "--port") && v && !parse_uint(v, 1, 65535, &u)) {
            o.port = u;
        } else if (!strcmp(a, "--nap-us") && v && !parse_uint(v, 0, 100000, &u)) {
            o.nap_us = u;
        } else if (!strcmp(a, "--threads") && v && !parse_uint(v, 1, SINK_MAX_THREADS, &u)) {
            o.threads = u;
        } else if (!strcmp(a, "--batch") && v && !parse_uint(v, 1, SINK_MAX_BATCH, &u)) {
            o.batch = u;
        } else if (!strcmp(a, "--rcvbuf") && v && !parse_uint(v, 4096, 1u << 30, &u)) {
            o.rcvbuf = (int)u;
        } else {
            goto usage;
        }
        i++;
    }
    if (!o.port)
        goto usage;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    _Atomic bool stop = false;
    struct sink_thread t[SINK_MAX_THREADS];
    memset(t, 0, sizeof t);
    for (unsigned i = 0; i < SINK_MAX_THREADS; i++)
        t[i].fd = -1;
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), rc = 1;
    unsigned started = 0;
    if (efd < 0) {
        perror("sink: eventfd");
        return 1;
    }
    for (unsigned i = 0; i < o.threads; i++) {
        int err = sink_socket(&o, &t[i].fd);
        if (err) {
            fprintf(stderr, "sink: 127.0.0.1:%u: %s\n", o.port, strerror(-err));
            goto stop;
        }
        t[i].o = &o;
        t[i].stop_efd = efd;
        t[i].stop = &stop;
    }
    for (; started < o.threads; started++)
        if (pthread_create(&t[started].th, NULL, sink_main, &t[started])) {
            fprintf(stderr, "sink: cannot start a thread\n");
            goto stop;
        }
    int sig;
    sigwait(&sigs, &sig);
    rc = 0;
stop:
    atomic_store(&stop, true);
    uint64_t one = 1;
    if (write(efd, &one, sizeof one) < 0)
        perror("sink: eventfd write");
    uint64_t d = 0, dd = 0, f = 0, b = 0, k = 0, e = 0;
    for (unsigned i = 0; i < started; i++) {
        pthread_join(t[i].th, NULL);
        d += t[i].datagrams;
        dd += t[i].data_datagrams;
        f += t[i].flows;
        b += t[i].bytes;
        k += t[i].ovfl;
        e += t[i].recv_errors;
    }
    for (unsigned i = 0; i < o.threads; i++)
        if (t[i].fd >= 0)
            close(t[i].fd);
    close(efd);
    printf("sink: datagrams %" PRIu64 " data_datagrams %" PRIu64 " flows %" PRIu64 " bytes %" PRIu64
           " kernel_drops %" PRIu64 " recv_errors %" PRIu64 "\n",
           d, dd, f, b, k, e);
    fflush(stdout);
    return rc;
usage:
    fputs("usage: bs-ingest-sink --port PORT [--threads N] [--batch N] [--rcvbuf SIZE]\n"
          "                      [--mode block|poll] [--nap-us N]\n"
          "Receives UDP on 127.0.0.1:PORT like botscope collect, counts, discards; prints the\n"
          "counts on SIGTERM. Defaults: --threads 2 --batch 64 --rcvbuf 32M --mode block\n",
          stderr);
    return 2;
}
