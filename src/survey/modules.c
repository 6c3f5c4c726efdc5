/* modules.c - the registry of survey modules, the plain TCP and FTP modules, and the port
 * map: which module speaks to which port. */
#include <stdio.h>
#include <string.h>

#include "survey/banner.h"
#include "survey/module.h"

/* tcp: the connect sweep alone: an open port is evidence, nothing is sent. */
static enum sv_act tcp_start(struct sv_sess *s)
{
    (void)s;
    return SV_ACT_DONE;
}

static enum sv_act tcp_input(struct sv_sess *s, const uint8_t *p, size_t n)
{
    (void)s;
    (void)p;
    (void)n;
    return SV_ACT_DONE;
}

const struct sv_module sv_mod_tcp = {
    .name = "tcp",
    .start = tcp_start,
    .input = tcp_input,
};

/* ftp: the greeting only; the connection is closed without a command. */
static enum sv_act ftp_start(struct sv_sess *s)
{
    sv_banner_init(sv_sess_state(s), SV_BANNER_FTP);
    return SV_ACT_WAIT;
}

static enum sv_act ftp_result(struct sv_sess *s)
{
    struct sv_banner *b = sv_sess_state(s);
    struct sv_obs *o = sv_sess_obs(s);
    snprintf(o->banner, sizeof o->banner, "%s", b->complete && !b->malformed ? b->ident : "");
    sv_sess_evidence(s, "banner", b->complete && !b->malformed ? b->ident : "no FTP greeting");
    return SV_ACT_DONE;
}

static enum sv_act ftp_input(struct sv_sess *s, const uint8_t *p, size_t n)
{
    if (!sv_banner_feed(sv_sess_state(s), p, n))
        return SV_ACT_WAIT;
    return ftp_result(s);
}

const struct sv_module sv_mod_ftp = {
    .name = "ftp",
    .state_size = sizeof(struct sv_banner),
    .start = ftp_start,
    .input = ftp_input,
    .tick = ftp_result,
    .closed = ftp_result,
};

static const struct sv_module *const registry[] = {
    &sv_mod_tcp,   &sv_mod_telnet, &sv_mod_ssh,  &sv_mod_http,
    &sv_mod_https, &sv_mod_ftp,    &sv_mod_rtsp,
};

/* The usual IoT ports and what answers on them: TR-069 (7547), Huawei HG532 UPnP (37215)
 * and Realtek UPnP (52869) speak HTTP. */
static const struct {
    uint16_t port;
    const struct sv_module *mod;
} port_map[] = {
    {21, &sv_mod_ftp},      {22, &sv_mod_ssh},    {2222, &sv_mod_ssh},   {23, &sv_mod_telnet},
    {2323, &sv_mod_telnet}, {80, &sv_mod_http},   {81, &sv_mod_http},    {8000, &sv_mod_http},
    {8080, &sv_mod_http},   {8081, &sv_mod_http}, {7547, &sv_mod_http},  {37215, &sv_mod_http},
    {52869, &sv_mod_http},  {443, &sv_mod_https}, {8443, &sv_mod_https}, {554, &sv_mod_rtsp},
    {8554, &sv_mod_rtsp},
};

const struct sv_module *sv_module_for_port(uint16_t port)
{
    for (size_t i = 0; i < sizeof port_map / sizeof port_map[0]; i++)
        if (port_map[i].port == port)
            return port_map[i].mod;
    return &sv_mod_tcp;
}

const struct sv_module *sv_module_by_name(const char *name)
{
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        if (!strcmp(registry[i]->name, name))
            return registry[i];
    return NULL;
}
