/* SPDX-License-Identifier: MIT */
/*
 * The console's files: the page the admin endpoint serves at / and what
 * it loads from /console/NAME (its script, its styles, the charting
 * library), built into wsd. src/console/embed.sh writes the table from
 * the files under src/console/ and Debian's libjs-chart.js at build
 * time; this module owns the lookup and the Content-Security-Policy they
 * are served under. Pure: no I/O, no HTTP.
 */
#ifndef WSD_CONSOLE_H
#define WSD_CONSOLE_H

#include <stddef.h>

struct console_file {
    const char *name; /* as in /console/NAME; "index.html" is / */
    const char *type; /* its Content-Type */
    const unsigned char *data;
    size_t len;
};

/* The generated table (src/console/files.c). */
extern const struct console_file console_files[];
extern const size_t console_n_files;

/* The file called name, or NULL. */
const struct console_file *console_find(const char *name);

/* Room for the policy, with the hash of a style in base64. */
#define CONSOLE_POLICY_MAX 512

/*
 * The Content-Security-Policy of the console's files into out: scripts,
 * styles and connections to the endpoint itself only, nothing inline but
 * the one style whose SHA-256 is style_sha256_b64 (the case report's,
 * which the console shows in a sandboxed frame of its own), no frame
 * loaded from anywhere, no form sent, and the page in no one else's
 * frame.
 */
void console_policy(char out[CONSOLE_POLICY_MAX], const char *style_sha256_b64);

#endif
