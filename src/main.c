/* SPDX-License-Identifier: MIT */
/*
 * wsd: a prefork WebSocket server. The command line sets directives
 * (`--name value`), then the master runs.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config.h"
#include "log.h"
#include "master.h"
#include "transport_tls.h"

static void
usage(FILE *f)
{
    fprintf(f, "usage: wsd [-c FILE] [--directive value]... [--ready_fd N]\n"
               "       wsd -t [-c FILE] [--directive value]...\n"
               "       wsd -v | --version\n"
               "       wsd -h | --help\n");
}

/* libevent's own warnings go through wsd's log. */
static void
libevent_log(int severity, const char *msg)
{
    int level = severity == EVENT_LOG_DEBUG  ? LOG_LEVEL_DEBUG
                : severity == EVENT_LOG_MSG  ? LOG_LEVEL_INFO
                : severity == EVENT_LOG_WARN ? LOG_LEVEL_WARN
                                             : LOG_LEVEL_ERROR;
    log_msg(level, "libevent: %s", msg);
}

static int
parse_fd(const char *v, int *fd)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || *v == '\0' || *end != '\0' || n < 0 || n > 65535) {
        return -1;
    }
    *fd = (int)n;
    return 0;
}

int
main(int argc, char **argv)
{
    struct config cfg;
    char err[CONFIG_ERROR_MAX];
    int ready_fd = -1;
    bool test_only = false;

    config_init(&cfg);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage(stdout);
            config_print_help();
            return 0;
        }
        if (strcmp(arg, "-v") == 0 || strcmp(arg, "--version") == 0) {
            printf("wsd %s\n", VERSION);
            return 0;
        }
        if (strcmp(arg, "-t") == 0) {
            test_only = true;
            continue;
        }
        if (strcmp(arg, "-c") == 0) {
            /* Directives given before -c are overridden by the file; give
             * -c first so that the command line has the last word. */
            if (i + 1 == argc) {
                fprintf(stderr, "wsd: -c: missing file name\n");
                return WSD_EXIT_FATAL;
            }
            if (config_load_file(&cfg, argv[++i], err) != 0) {
                fprintf(stderr, "wsd: %s\n", err);
                return WSD_EXIT_FATAL;
            }
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            fprintf(stderr, "wsd: %s: not an option (see wsd --help)\n", arg);
            return WSD_EXIT_FATAL;
        }
        if (i + 1 == argc) {
            fprintf(stderr, "wsd: %s: missing value\n", arg);
            return WSD_EXIT_FATAL;
        }
        const char *value = argv[++i];
        if (strcmp(arg + 2, "ready_fd") == 0 ||
            strcmp(arg + 2, "ready-fd") == 0) {
            if (parse_fd(value, &ready_fd) != 0) {
                fprintf(stderr, "wsd: ready_fd: \"%s\" is not a descriptor\n",
                        value);
                return WSD_EXIT_FATAL;
            }
            continue;
        }
        if (config_set(&cfg, arg + 2, value, err) != 0) {
            fprintf(stderr, "wsd: %s\n", err);
            return WSD_EXIT_FATAL;
        }
    }
    if (config_finish(&cfg, err) != 0) {
        fprintf(stderr, "wsd: %s\n", err);
        return WSD_EXIT_FATAL;
    }
    if (test_only) {
        /* As nginx -t: everything that start-up would refuse, refused
         * now (the TLS files are loaded and matched too); nothing bound,
         * nothing started. */
        if (config_tls_is_on(&cfg)) {
            SSL_CTX *ctx = transport_tls_ctx_new(&cfg, err, sizeof(err));
            if (ctx == NULL) {
                fprintf(stderr, "wsd: %s\n", err);
                return WSD_EXIT_FATAL;
            }
            SSL_CTX_free(ctx);
        }
        printf("wsd: the configuration is valid\n");
        return 0;
    }
    log_set_level(cfg.log_level);
    event_set_log_callback(libevent_log);
    return master_run(&cfg, ready_fd);
}
