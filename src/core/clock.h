/* clock.h - wall and monotonic time in milliseconds, and UTC formatting. */
#ifndef BS_CORE_CLOCK_H
#define BS_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

uint64_t clock_wall_ms(void);
uint64_t clock_mono_ms(void);
uint64_t clock_mono_ns(void);
/* Formats ms since the epoch as "YYYY-MM-DD HH:MM:SS.mmm" (UTC). Returns buf. */
char *clock_format_utc(uint64_t ms, char *buf, size_t len);
/* Parses "YYYY-MM-DD[ HH:MM[:SS]]", "YYYY/MM/DD.HH:MM:SS" (nfdump) or integer ms. */
int clock_parse_utc(const char *s, uint64_t *ms);
/* Parses a window "START[-END]" (each as clock_parse_utc; END open when absent or empty; an
 * END given to the second covers that whole second). Returns 0 or BS_EPARSE (also when END is
 * before START). */
int clock_parse_window(const char *s, uint64_t *lo, uint64_t *hi);

#endif
