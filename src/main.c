/* SPDX-License-Identifier: MIT */
/*
 * wsd: a prefork WebSocket server. The command line sets directives
 * (`--name value`), then the master runs.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "compare_cmd.h"
#include "config.h"
#include "log.h"
#include "master.h"
#include "process.h"
#include "report_cmd.h"
#include "tls_memory.h"
#include "transport_tls.h"

static void
usage(FILE *f)
{
    fprintf(f, "usage: wsd [-c FILE] [--directive value]... [--ready_fd N]\n"
               "       wsd -t [-c FILE] [--directive value]...\n"
               "       wsd report --admin URL --out DIR\n"
               "                  [--token TOKEN | --token-file FILE]\n"
               "       wsd compare AUTOBAHN_REPORT_DIR SOURCE...\n"
               "                   [--token TOKEN | --token-file FILE] "
               "[--json FILE] [--html DIR]\n"
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

static void
free_items(struct config_item *items, size_t n)
{
    for (size_t i = 0; items != NULL && i < n; i++) {
        free((char *)(uintptr_t)items[i].name);
        free((char *)(uintptr_t)items[i].value);
    }
    free(items);
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

/*
 * The configuration's sources from the command line, copied: the master
 * reads them again on reload, and process titles overwrite argv. Relative
 * file names in them are taken from dir.
 */
static struct config_item *
parse_args(int argc, char **argv, const char *dir, size_t *n_items,
           bool *test_only, int *ready_fd)
{
    struct config_item *items = calloc((size_t)argc, sizeof(*items));
    size_t n = 0;

    if (items == NULL) {
        fprintf(stderr, "wsd: out of memory\n");
        return NULL;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-t") == 0) {
            *test_only = true;
            continue;
        }
        if (strcmp(arg, "-c") == 0) {
            /* Directives given before -c are overridden by the file; give
             * -c first so that the command line has the last word. */
            if (i + 1 == argc) {
                fprintf(stderr, "wsd: -c: missing file name\n");
                goto fail;
            }
            items[n].name = NULL;
            items[n].dir = dir;
            if ((items[n++].value = strdup(argv[++i])) == NULL) {
                goto oom;
            }
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            fprintf(stderr, "wsd: %s: not an option (see wsd --help)\n", arg);
            goto fail;
        }
        if (i + 1 == argc) {
            fprintf(stderr, "wsd: %s: missing value\n", arg);
            goto fail;
        }
        const char *value = argv[++i];
        if (strcmp(arg + 2, "ready_fd") == 0 ||
            strcmp(arg + 2, "ready-fd") == 0) {
            if (parse_fd(value, ready_fd) != 0) {
                fprintf(stderr, "wsd: ready_fd: \"%s\" is not a descriptor\n",
                        value);
                goto fail;
            }
            continue;
        }
        items[n].name = strdup(arg + 2);
        items[n].value = strdup(value);
        items[n].dir = dir;
        if (items[n++].name == NULL || items[n - 1].value == NULL) {
            goto oom;
        }
    }
    *n_items = n;
    return items;
oom:
    fprintf(stderr, "wsd: out of memory\n");
fail:
    free_items(items, n);
    return NULL;
}

/* wsd -t: the files the configuration names, as start-up will use them. */
static void
print_files(const struct config *cfg, const struct config_item *items, size_t n)
{
    char path[CONFIG_FILE_MAX];
    char err[CONFIG_ERROR_MAX];

    for (size_t i = 0; i < n; i++) {
        if (items[i].name == NULL &&
            config_file_name(items[i].value, items[i].dir, path, err) == 0) {
            printf("wsd: configuration file %s\n", path);
        }
    }
    config_print_files(cfg);
}

int
main(int argc, char **argv)
{
    char err[CONFIG_ERROR_MAX];
    char start_dir[CONFIG_FILE_MAX];
    int ready_fd = -1;
    bool test_only = false;
    size_t n_items = 0;

    /* Before anything asks OpenSSL for memory (tls_memory.h). */
    tls_memory_install();
    /* Commands that talk to a running wsd rather than being one. */
    if (argc > 1 && strcmp(argv[1], "report") == 0) {
        return report_cmd_main(argc - 1, argv + 1);
    }
    if (argc > 1 && strcmp(argv[1], "compare") == 0) {
        return compare_cmd_main(argc - 1, argv + 1);
    }
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
        /* The word after -c or a --directive is its value, whatever it
         * reads like (a token "-v", a file "-h"). */
        if (strcmp(arg, "-c") == 0 || strncmp(arg, "--", 2) == 0) {
            i++;
        }
    }
    /* Relative file names are taken from here, now and on every reload
     * (a daemon's working directory is /). Unknown: from the current
     * directory, which then fails with a reason. */
    const char *dir = getcwd(start_dir, sizeof(start_dir));
    struct config_item *items =
        parse_args(argc, argv, dir, &n_items, &test_only, &ready_fd);
    struct config *cfg = calloc(1, sizeof(*cfg));
    if (items == NULL || cfg == NULL) {
        free(cfg);
        return WSD_EXIT_FATAL;
    }
    int rc = WSD_EXIT_FATAL;
    if (config_build(cfg, items, n_items, err) != 0) {
        fprintf(stderr, "wsd: %s\n", err);
        free(cfg);
        goto out;
    }
    if (test_only) {
        /* As nginx -t: everything that start-up would refuse, refused
         * now (the TLS files are loaded and matched, the files wsd writes
         * checked, root asked for a user); nothing bound, created or
         * started. */
        rc = 0;
        if (master_check_config(cfg, err, sizeof(err)) != 0 ||
            master_check_records(cfg, err, sizeof(err)) != 0) {
            rc = WSD_EXIT_FATAL;
        } else if (config_tls_is_on(cfg)) {
            SSL_CTX *ctx = transport_tls_ctx_new(cfg, err, sizeof(err));
            if (ctx == NULL) {
                rc = WSD_EXIT_FATAL;
            }
            SSL_CTX_free(ctx);
        }
        if (rc != 0) {
            config_locate(cfg, items, n_items, err);
            fprintf(stderr, "wsd: %s\n", err);
        }
        if (rc == 0) {
            print_files(cfg, items, n_items);
            if (cfg->log_syslog_default) {
                printf("wsd: %s\n", CONFIG_LOG_SYSLOG_DEFAULT);
            }
            printf("wsd: the configuration is valid\n");
        }
        free(cfg);
        goto out;
    }
    process_title_init(argc, argv);
    event_set_log_callback(libevent_log);
    if (cfg->daemon) {
        if (cfg->log_syslog_default) {
            /* Said here, where the terminal still sees it, and in the log. */
            fprintf(stderr, "wsd: %s\n", CONFIG_LOG_SYSLOG_DEFAULT);
        }
        if (process_daemonize() != 0) {
            fprintf(stderr, "wsd: cannot detach: %s\n", strerror(errno));
            free(cfg);
            goto out;
        }
        /* The log goes to syslog or a file: until the daemon is ready,
         * its problems go to the terminal it was started from too. */
        log_set_tee(process_daemon_report, LOG_LEVEL_WARN);
    }
    rc = master_run(cfg, items, n_items, ready_fd);
out:
    free_items(items, n_items);
    return rc;
}
