/* clock.h - wall, monotonic and CPU time, and UTC formatting. */
#ifndef BS_CORE_CLOCK_H
#define BS_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

uint64_t clock_wall_ms(void);
uint64_t clock_mono_ms(void);
uint64_t clock_mono_ns(void);
/* The process's CPU time so far (every thread's), user and system, in ns: what a phase costs
 * beside its wall time (on a virtual machine the system part includes the host backing fresh
 * memory, which varies from run to run far more than the work itself). */
struct clock_cpu {
    uint64_t user_ns, sys_ns;
};
struct clock_cpu clock_cpu_now(void);
/* Formats ms since the epoch as "YYYY-MM-DD HH:MM:SS.mmm" (UTC). Returns buf. */
char *clock_format_utc(uint64_t ms, char *buf, size_t len);
/* Parses "YYYY-MM-DD[ HH:MM[:SS]]", "YYYY/MM/DD.HH:MM:SS" (nfdump) or integer ms. */
int clock_parse_utc(const char *s, uint64_t *ms);
/* Parses a window "START[-END]" (each as clock_parse_utc; END open when absent or empty; an
 * END given to the second covers that whole second). Returns 0 or BS_EPARSE (also when END is
 * before START). */
int clock_parse_window(const char *s, uint64_t *lo, uint64_t *hi);

#endif
