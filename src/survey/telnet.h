/* telnet.h - incremental Telnet reader (RFC 854/855) and the prompt classifier for device
 * logins.
 *
 * sv_telnet_feed() takes whatever bytes arrived, in any split, and:
 *   - removes IAC commands and subnegotiations from the text;
 *   - queues the client's answers to option negotiation in reply[]: DO for the server's WILL
 *     ECHO / WILL SUPPRESS-GO-AHEAD (what a terminal would accept), DONT for any other WILL,
 *     WONT for every DO (botscope offers no terminal type, window size or environment), and
 *     nothing for WONT/DONT (never answer a refusal, RFC 854's loop rule);
 *   - keeps the text: the first SV_TELNET_BANNER bytes (the banner, for identification) and
 *     the current line (since the last newline, at most SV_TELNET_LINE bytes), where prompts
 *     appear; NUL and CR are dropped, and ANSI escape sequences are skipped.
 * The state machine keeps its position across calls, so a split anywhere gives the same result
 * as one call with everything (tested at every byte boundary). Pure: no I/O, no allocation.
 *
 * sv_telnet_prompt() classifies the current line as devices print it: "login:", "Username:",
 * "User Name:", "Password:", shell prompts ("# ", "$ ", "> ", "WAP>", "~ #") and the failure
 * messages of busybox, Dahua, Hikvision, ZTE and Huawei firmware.
 */
#ifndef BS_SURVEY_TELNET_H
#define BS_SURVEY_TELNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SV_TELNET_BANNER 512
#define SV_TELNET_LINE   256
#define SV_TELNET_REPLY  96

struct sv_telnet {
    uint8_t state; /* position in the IAC grammar (telnet.c) */
    uint8_t cmd;   /* WILL/WONT/DO/DONT being read */
    uint8_t esc;   /* position in an ANSI escape sequence */
    char banner[SV_TELNET_BANNER + 1];
    size_t banner_len;
    char line[SV_TELNET_LINE + 1];
    size_t line_len;
    bool failure_seen; /* a failure message appeared since sv_telnet_clear_failure() */
    uint8_t reply[SV_TELNET_REPLY];
    size_t reply_len;                 /* answers queued; the caller sends and clears them */
    uint32_t negotiations, anomalies; /* counts (anomalies: e.g. reply queue full) */
};

enum sv_prompt {
    SV_PROMPT_NONE = 0,
    SV_PROMPT_LOGIN,    /* asks for a user name */
    SV_PROMPT_PASSWORD, /* asks for a password */
    SV_PROMPT_SHELL,    /* a command prompt: logged in */
    SV_PROMPT_FAILED,   /* a login failure message */
};

void sv_telnet_init(struct sv_telnet *t);
void sv_telnet_feed(struct sv_telnet *t, const uint8_t *p, size_t n);
/* Classifies the current line (and failure messages seen since the last clear). */
enum sv_prompt sv_telnet_prompt(const struct sv_telnet *t);
/* Forgets the current line and the failure flag (after the client answered a prompt). */
void sv_telnet_clear_line(struct sv_telnet *t);
const char *sv_prompt_name(enum sv_prompt p);

#endif
