/* survey.h - the device survey engine: what it is given, what it reports, and how it is run.
 *
 * One engine drives a whole run on one thread: targets come from the keyed permutation of the
 * scope (targets.h), every connect() passes the scope gate (scope.h) and the rate buckets
 * (rate.h), one device is handled by one session at a time (its ports one after another), and
 * many devices are handled at once over epoll with non-blocking sockets. What a service shows
 * is an observation (struct sv_obs) handed to the assessor (identification and vulnerability
 * matching, a seam filled by the identification code); credential checks follow NOTICE's rule
 * (survey.md: stop at the first success per service, judge success only from the device's
 * answer after login, never send a command, close at once).
 *
 * Everything the engine does to a device is reported to the sink: one evidence record per
 * established connection and per credential attempt, one finding per weak credential,
 * vulnerable firmware or infection sign, and "host done" once a device is finished, which is
 * what a resumed run skips.
 *
 * Ownership: the caller owns everything passed in struct sv_run (scope, credentials, sink,
 * assessor) and keeps it alive for sv_run(); sv_run() allocates and frees its own tables.
 */
#ifndef BS_SURVEY_SURVEY_H
#define BS_SURVEY_SURVEY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"
#include "survey/rate.h"
#include "survey/scope.h"

#define SV_MAX_PORTS   64
#define SV_MAX_SOURCES 16
#define SV_CRED_FIELD  64

struct sv_cred {
    char user[SV_CRED_FIELD];
    char pass[SV_CRED_FIELD];
    uint32_t index; /* 1-based line in the credentials file; 0 for device defaults */
};

struct sv_creds {
    struct sv_cred *v;
    size_t n;
};

#define SV_CREDS_MAX 10000
/* Loads "user:password" lines (the first ':' splits; '#' at the start of a line is a comment;
 * empty lines skipped; a password may be empty). Returns 0, BS_EPARSE (errbuf names file and
 * line), BS_ELIMIT beyond SV_CREDS_MAX, or -errno. */
int sv_creds_load(struct sv_creds *c, const char *path, char *errbuf, size_t errlen);
void sv_creds_release(struct sv_creds *c);

/* What one service of one device showed. Strings are "" when not seen. */
struct sv_obs {
    struct ipaddr addr;
    uint16_t port;
    const char *service; /* module name: "telnet", "ssh", "http", "https", "ftp", "rtsp", "tcp" */
    char banner[512];    /* Telnet text before the login, FTP reply, SSH identification */
    char ssh_banner[256];
    int http_status;
    char http_server[256];
    char http_title[256];
    char http_realm[256];
    char http_auth[16];     /* "basic", "digest" or "" */
    char http_wwwauth[600]; /* the challenge as sent ("Basic realm=...") */
    bool has_favicon;
    int32_t favicon_hash; /* Shodan's mmh3 (http.h) */
    char favicon_md5[33]; /* hex, what Recog's favicons.xml matches */
    char tls_subject[256];
};

/* The assessor's answer for one observation. */
struct sv_ident {
    char vendor[128], product[128], version[128], device_type[64];
    char cpe[256];
    char cves[512]; /* JSON array text of high-risk CVE ids matched, "[]" when none */
    bool vulnerable;
};

/* The identification seam: called once per observed service. identify() fills id (0) or
 * returns BS_ENOTFOUND; default_creds() may list device-specific defaults to try first.
 * Either pointer may be NULL. */
struct sv_assessor {
    int (*identify)(void *ctx, const struct sv_obs *o, struct sv_ident *id);
    size_t (*default_creds)(void *ctx, const struct sv_ident *id, struct sv_cred *out, size_t max);
    void *ctx;
};

enum sv_finding_kind { SV_WEAK_CREDENTIAL, SV_VULNERABLE_FIRMWARE, SV_INFECTED };
const char *sv_finding_name(enum sv_finding_kind k);

#define SV_EVIDENCE_LEN 768

struct sv_finding {
    struct ipaddr addr;
    uint16_t port;
    const char *service;
    enum sv_finding_kind kind;
    const struct sv_ident *id;      /* may be NULL */
    char evidence[SV_EVIDENCE_LEN]; /* JSON object text, always whole (sv_ev__str clips) */
    uint64_t time_ms;
};

struct sv_evidence {
    const char *operator_name;
    struct ipaddr src, dst;
    uint16_t port;
    const char *service;
    uint64_t time_ms;
    char tried[160];   /* what was done: "connect", "banner", "login user=root pair=3" */
    char outcome[160]; /* what came back: "open", "refused", "failed", "success: shell prompt" */
};

/* Where results go. Each callback returns 0 or a negative error, which stops the run. */
struct sv_sink {
    int (*evidence)(void *ctx, const struct sv_evidence *e);
    int (*finding)(void *ctx, const struct sv_finding *f);
    /* A position needs no more work: a finished device (a, with the ports that answered in
     * this run), or a position passed over (a NULL: blocked or special-purpose). */
    int (*host_done)(void *ctx, uint64_t pos, const struct ipaddr *a, const uint16_t *open,
                     size_t n_open);
    void *ctx;
};

struct sv_stats {
    uint64_t hosts_done, hosts_skipped_done, hosts_blocked, hosts_special;
    uint64_t hosts_unfinished; /* a local error stopped them: left for --resume */
    uint64_t connects, refused, timeouts, local_errors, open_ports, sessions, resets;
    uint64_t attempts, successes, findings, evidence;
    /* The SYN sweep (syn.h): probes sent, ports that answered SYN-ACK or a reset, and
     * received packets that were not a valid answer (wrong cookie, ports or source). */
    uint64_t syn_probes, syn_open, syn_closed, syn_ignored;
    bool syn_used; /* the run probed devices with raw SYNs */
    bool aborted, timed_out, interrupted;
    char abort_why[128];
};

/* How open ports are found before the modules connect. CONNECT: a connect() per port
 * (no privileges). SYN: raw SYN probes first (syn.h; needs CAP_NET_RAW: sv_run fails
 * with -EPERM without it), then connect() only to ports that answered SYN-ACK. AUTO: SYN when
 * the process may open a raw socket, else CONNECT. */
enum sv_sweep_mode { SV_SWEEP_CONNECT = 0, SV_SWEEP_SYN, SV_SWEEP_AUTO };

struct sv_run {
    const struct sv_scope *scope;
    enum sv_sweep_mode sweep;
    const char *operator_name;
    struct sv_policy policy;
    uint16_t ports[SV_MAX_PORTS];
    const char *port_module[SV_MAX_PORTS]; /* module name for a port; NULL: by port number */
    size_t n_ports;
    struct ipaddr sources[SV_MAX_SOURCES]; /* bind() addresses, used round-robin per device */
    size_t n_sources;
    const struct sv_creds *creds; /* may be NULL or empty: no credential checks */
    struct sv_assessor assessor;
    struct sv_sink sink;
    uint64_t key; /* permutation key */
    /* Resume: positions for which done(ctx, pos) is true are skipped. */
    bool (*done)(void *ctx, uint64_t pos);
    void *done_ctx;
    bool fetch_favicon;
    const volatile sig_atomic_t *stop; /* set by a signal handler; may be NULL */
};

/* The default port list (docs/SURVEY.md). */
extern const uint16_t sv_default_ports[];
extern const size_t sv_default_ports_n;

/* Runs the survey to the end of the scope, the run-time limit, a stop request, or a health
 * abort. Returns 0 (also for those stops: see stats), or a negative error when the engine
 * cannot run (epoll, memory) or the sink failed. */
int sv_run(const struct sv_run *r, struct sv_stats *stats);

#endif
