/* SPDX-License-Identifier: MIT */
/*
 * `wsd report --admin URL --out DIR`: reads every case a running wsd still
 * holds, through its admin endpoint, and writes a folder laid out as the
 * Autobahn testsuite lays out its reports: index.json (agent -> case id ->
 * summary and report file), index.html, and per case AGENT_case_ID.json
 * (the endpoint's /v1/cases/ID/autobahn object, as it came) and
 * AGENT_case_ID.html (report_html's page of it). The folder is
 * self-contained: it opens offline, and `wsd compare` and programs that
 * read Autobahn's reports read it.
 *
 * This module owns the command line and the walk over the cases. The HTTP
 * client is admin_client's, the folder and its index report_writer's, the
 * case object report_autobahn's (made by the daemon).
 */
#include "autoconf.h"

#include "report_cmd.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin_client.h"
#include "command.h"
#include "report_writer.h"

#define REPORT_CMD_NAME "wsd report"
#define REPORT_PAGE     1000 /* cases per /v1/cases request */

static void
usage(FILE *f)
{
    fprintf(f, "usage: wsd report --admin URL --out DIR [--token TOKEN | "
               "--token-file FILE]\n"
               "\n"
               "Writes every case the wsd at URL (its admin endpoint, "
               "http://HOST:PORT)\n"
               "still holds into DIR, laid out as the Autobahn testsuite's "
               "reports:\n"
               "index.json and index.html, and a .json and an .html per "
               "case.\n"
               "--token-file reads the admin_token from FILE (better than "
               "--token,\n"
               "which other users can see in the process list).\n");
}

struct report_run {
    struct admin_client client;
    struct report_writer out;
    unsigned gone; /* listed, then reused before we asked for it */
    uint64_t last; /* lastId when the run began: no case after it */
};

static int
write_case(struct report_run *run, uint64_t id)
{
    char path[64];

    snprintf(path, sizeof(path), "/v1/cases/%llu/autobahn",
             (unsigned long long)id);
    json_t *c = admin_client_get_json(&run->client, path);
    if (c == NULL) {
        if (run->client.status == 404) {
            run->gone++;
            return 0;
        }
        return -1;
    }
    /* wsd's own: the record this came from (GET /v1/cases/ID). */
    int rc = report_writer_case(&run->out, c, "wsdCase", id);
    if (rc != 0) {
        command_say(REPORT_CMD_NAME, "%s%s: %s", run->client.url, path,
                    run->out.err);
    }
    json_decref(c);
    return rc;
}

static int
write_all(struct report_run *run)
{
    uint64_t after = 0;
    char q[96];

    for (;;) {
        snprintf(q, sizeof(q), "/v1/cases?after=%llu&limit=%d",
                 (unsigned long long)after, REPORT_PAGE);
        json_t *list = admin_client_get_json(&run->client, q);
        json_t *cases = json_object_get(list, "cases");
        if (list == NULL || !json_is_array(cases)) {
            if (list != NULL || run->client.status == 404) {
                command_say(REPORT_CMD_NAME,
                            "%s%s: no case list: is this a wsd admin endpoint?",
                            run->client.url, q);
            }
            json_decref(list);
            return -1;
        }
        size_t i;
        json_t *c;
        json_array_foreach(cases, i, c)
        {
            json_int_t id = json_integer_value(json_object_get(c, "id"));
            if (id > 0 && (uint64_t)id > run->last) {
                /* Begun during the run (the list is by id): left for
                 * the next, or a run against a server that is never idle
                 * would chase its new cases and never end. */
                json_decref(list);
                return 0;
            }
            if (id <= 0 || write_case(run, (uint64_t)id) != 0) {
                json_decref(list);
                return -1;
            }
            after = (uint64_t)id;
        }
        bool more = json_is_true(json_object_get(list, "more"));
        json_decref(list);
        if (!more || i == 0) {
            return 0;
        }
    }
}

int
report_cmd_main(int argc, char **argv)
{
    const char *admin = NULL;
    const char *out = NULL;
    const char *token = NULL;
    const char *token_file = NULL;
    char *token_read = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        const char **slot = strcmp(a, "--admin") == 0        ? &admin
                            : strcmp(a, "--out") == 0        ? &out
                            : strcmp(a, "--token") == 0      ? &token
                            : strcmp(a, "--token-file") == 0 ? &token_file
                                                             : NULL;
        if (slot == NULL) {
            command_say(REPORT_CMD_NAME, "unknown argument %s", a);
            usage(stderr);
            return 2;
        }
        if (i + 1 >= argc) {
            command_say(REPORT_CMD_NAME, "%s needs a value", a);
            return 2;
        }
        *slot = argv[++i];
    }
    if (admin == NULL || out == NULL) {
        command_say(REPORT_CMD_NAME, "%s",
                    admin == NULL ? "--admin URL is required"
                                  : "--out DIR is required");
        usage(stderr);
        return 2;
    }
    if (token != NULL && token_file != NULL) {
        command_say(REPORT_CMD_NAME, "--token and --token-file: give one");
        return 2;
    }
    if (token_file != NULL && (token = token_read = admin_client_read_token(
                                   "wsd report", token_file)) == NULL) {
        return 2;
    }
    struct report_run run;
    int rc = 1;
    memset(&run, 0, sizeof(run));
    if (admin_client_open(&run.client, REPORT_CMD_NAME, admin, token) != 0) {
        rc = 2;
        goto out;
    }
    /* The endpoint answers, takes the token and is wsd's before --out
     * is made: a failed run leaves no empty folder behind. */
    json_t *stats = admin_client_get_json(&run.client, "/v1/stats");
    bool is_wsd = json_is_object(json_object_get(stats, "totals"));
    bool answered = stats != NULL;
    json_t *last_id =
        json_object_get(json_object_get(stats, "cases"), "lastId");
    run.last = json_is_integer(last_id) && json_integer_value(last_id) >= 0
                   ? (uint64_t)json_integer_value(last_id)
                   : UINT64_MAX;
    json_decref(stats);
    if (!is_wsd) {
        if (answered || run.client.status == 404) {
            command_say(REPORT_CMD_NAME,
                        "%s/v1/stats: no statistics: is this a wsd admin "
                        "endpoint?",
                        run.client.url);
        }
        goto out;
    }
    if (report_writer_open(&run.out, out) != 0) {
        command_say(REPORT_CMD_NAME, "--out %s", run.out.err);
        goto out;
    }
    if (write_all(&run) != 0) {
        goto out;
    }
    if (report_writer_finish(&run.out) != 0) {
        command_say(REPORT_CMD_NAME, "%s", run.out.err);
        goto out;
    }
    printf("wsd report: %u case%s of %zu agent%s written to %s/index.html",
           run.out.written, run.out.written == 1 ? "" : "s",
           json_object_size(run.out.index),
           json_object_size(run.out.index) == 1 ? "" : "s", out);
    if (run.gone > 0) {
        printf(" (%u reused by the ring before they could be read)", run.gone);
    }
    printf("\n");
    rc = 0;
out:
    admin_client_close(&run.client);
    report_writer_free(&run.out);
    free(token_read);
    return rc;
}
