/* SPDX-License-Identifier: MIT */
/*
 * What wsd's commands that are not the daemon (`wsd report`, `wsd
 * compare`, wsc) share in speaking to their user: one line on stderr per
 * problem, beginning with the command's name, and their lines on stdout.
 * What they say often holds text someone else chose (a server's close
 * reason, a report's agent names and case ids): it goes to a terminal
 * with every control character (C0, DEL, C1), bidirectional override or
 * isolate and byte that is not UTF-8 written as \xHH, each byte of it,
 * so that it can neither forge a line nor drive the terminal. No state.
 */
#ifndef WSD_COMMAND_H
#define WSD_COMMAND_H

#include <stddef.h>
#include <stdio.h>

/* Writes "WHO: MESSAGE\n" to stderr, the message formatted as printf's,
 * then shown as above. */
void command_say(const char *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes to stdout, formatted as printf's, then shown as above: a line's
 * end is the caller's own fputc('\n', stdout). */
void command_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes s[0..n) to f shown as above. */
void command_put(FILE *f, const char *s, size_t n);

#endif
