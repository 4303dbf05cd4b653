/* SPDX-License-Identifier: MIT */
/*
 * The commands' messages (command.h).
 */
#include "autoconf.h"

#include "command.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "ws_utf8.h"

/* The length of the UTF-8 character p[0..n) begins with, or 0 when p[0]
 * begins none. */
static size_t
char_len(const uint8_t *p, size_t n)
{
    for (size_t k = 1; k <= 4 && k <= n; k++) {
        if (ws_utf8_is_valid(p, k)) {
            return k;
        }
    }
    return 0;
}

/* Whether the character p[0..k) changes what a terminal shows rather than
 * showing itself: C0 and DEL, C1 (U+0080 to U+009F, CSI among them), the
 * bidirectional embeddings and overrides (U+202A to U+202E) and isolates
 * (U+2066 to U+2069), which reorder the text around them. */
static bool
is_control(const uint8_t *p, size_t k)
{
    switch (k) {
    case 1:
        return p[0] < 0x20 || p[0] == 0x7f;
    case 2:
        return p[0] == 0xc2 && p[1] < 0xa0;
    case 3:
        return p[0] == 0xe2 &&
               ((p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae) ||
                (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9));
    default:
        return false;
    }
}

void
command_put(FILE *f, const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t from = 0; /* p[from..i) goes out as it is */

    for (size_t i = 0; i < n;) {
        size_t k = char_len(p + i, n - i);
        if (k != 0 && !is_control(p + i, k)) {
            i += k;
            continue;
        }
        fwrite(p + from, 1, i - from, f);
        for (size_t j = 0; j < (k != 0 ? k : 1); j++) {
            fprintf(f, "\\x%02x", p[i + j]);
        }
        i += k != 0 ? k : 1;
        from = i;
    }
    fwrite(p + from, 1, n - from, f);
}

/* fmt and ap, formatted, to f as command_put shows them. */
static void put_formatted(FILE *f, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
put_formatted(FILE *f, const char *fmt, va_list ap)
{
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);

    if (n < 0) {
        fputs("(out of memory)", f);
        return;
    }
    command_put(f, s, (size_t)n);
    free(s);
}

void
command_say(const char *who, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", who);
    va_start(ap, fmt);
    put_formatted(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void
command_print(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    put_formatted(stdout, fmt, ap);
    va_end(ap);
}
