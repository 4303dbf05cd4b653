/* SPDX-License-Identifier: MIT */
/*
 * The commands' messages (command.h).
 */
#include "autoconf.h"

#include "command.h"

#include <stdarg.h>
#include <stdio.h>

void
command_say(const char *who, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", who);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}
