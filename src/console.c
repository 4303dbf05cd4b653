/* SPDX-License-Identifier: MIT */
/*
 * The console's files, looked up by name, and their policy (console.h).
 */
#include "autoconf.h"

#include "console.h"

#include <stdio.h>
#include <string.h>

const struct console_file *
console_find(const char *name)
{
    for (size_t i = 0; i < console_n_files; i++) {
        if (strcmp(console_files[i].name, name) == 0) {
            return &console_files[i];
        }
    }
    return NULL;
}

void
console_policy(char out[CONSOLE_POLICY_MAX], const char *style_sha256_b64)
{
    snprintf(out, CONSOLE_POLICY_MAX,
             "default-src 'none'; script-src 'self'; "
             "style-src 'self' 'sha256-%s'; img-src 'self'; "
             "connect-src 'self'; base-uri 'none'; form-action 'none'; "
             "frame-ancestors 'none'",
             style_sha256_b64);
}
