/* SPDX-License-Identifier: MIT */
/*
 * What wsd's commands that are not the daemon (`wsd report`, `wsd
 * compare`) share in speaking to their user: one line on stderr per
 * problem, beginning with the command's name. No state.
 */
#ifndef WSD_COMMAND_H
#define WSD_COMMAND_H

/* Writes "WHO: MESSAGE\n" to stderr, the message formatted as printf's. */
void command_say(const char *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
