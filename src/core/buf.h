/* buf.h - growable byte buffer with a mandatory size cap (curl's dynbuf idea).
 *
 * Invariants: len <= cap <= max; data is NUL-terminated when cap > 0 (data[len] == 0), so a
 * text buffer can be used as a C string. A buffer owns its data; buf_release() frees it and
 * leaves an empty, reusable buffer. Appending past max fails with BS_ELIMIT and leaves the
 * buffer unchanged, so hostile input cannot grow it without bound.
 */
#ifndef BS_CORE_BUF_H
#define BS_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
};

#define BUF_INIT(maxbytes)                                                                         \
    {                                                                                              \
        NULL, 0, 0, (maxbytes)                                                                     \
    }

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
static inline void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}
/* Ensures room for n more bytes. Returns 0, BS_ELIMIT or BS_ENOMEM. */
int buf_reserve(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

#endif
