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
 * This module owns the command line and the folder's index as it grows.
 * The HTTP client is admin_client's, the files' names and their writing
 * report_folder's, the case object report_autobahn's (made by the daemon)
 * and the pages report_html's.
 */
#include "autoconf.h"

#include "report_cmd.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "admin_client.h"
#include "command.h"
#include "report_folder.h"
#include "report_html.h"

#define REPORT_CMD_NAME "wsd report"
#define REPORT_PAGE     1000 /* cases per /v1/cases request */
#define REPORT_NAME_MAX 160  /* a report file's name */

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

/* The summary index.json keeps of a case, as the testsuite's does. */
static json_t *
index_entry(const json_t *c, const char *file, uint64_t record)
{
    json_t *e = json_object();
    static const char *const keys[] = {"behavior", "behaviorClose", "duration",
                                       "remoteCloseCode"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(c, keys[i]);
        json_object_set(e, keys[i], v != NULL ? v : json_null());
    }
    json_object_set_new(e, "reportfile", json_string(file));
    /* wsd's own: the record this came from (GET /v1/cases/ID). */
    json_object_set_new(e, "wsdCase", json_integer((json_int_t)record));
    return e;
}

struct report_run {
    struct admin_client client;
    struct evbuffer *page;
    json_t *index;
    json_t *used; /* file stems taken */
    const char *out;
    unsigned written;
    unsigned gone; /* listed, then reused before we asked for it */
    char err[REPORT_FOLDER_ERROR_MAX];
};

/* A file of the folder written whole; 0, or -1 (said). */
static int
put_json(struct report_run *run, const char *name, const json_t *doc)
{
    if (report_folder_write_json(run->out, name, doc, run->err) != 0) {
        command_say(REPORT_CMD_NAME, "%s", run->err);
        return -1;
    }
    return 0;
}

static int
put_page(struct report_run *run, const char *name)
{
    if (report_folder_write_buffer(run->out, name, run->page, run->err) != 0) {
        command_say(REPORT_CMD_NAME, "%s", run->err);
        return -1;
    }
    return 0;
}

static int
write_case(struct report_run *run, uint64_t id)
{
    char path[64];
    char key[256];
    char stem[REPORT_NAME_MAX];
    char file[REPORT_NAME_MAX + 8];

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
    const char *agent = json_string_value(json_object_get(c, "agent"));
    const char *case_id = json_string_value(json_object_get(c, "id"));
    if (agent == NULL || case_id == NULL) {
        command_say(REPORT_CMD_NAME,
                    "%s%s: no agent or id: is this a wsd admin endpoint?",
                    run->client.url, path);
        json_decref(c);
        return -1;
    }
    json_t *cases = json_object_get(run->index, agent);
    if (cases == NULL) {
        cases = json_object();
        json_object_set_new(run->index, agent, cases);
    }
    report_folder_index_key(cases, case_id, key, sizeof(key));
    report_folder_file_stem(run->used, agent, key, stem, sizeof(stem));
    snprintf(file, sizeof(file), "%s.json", stem);
    int rc = put_json(run, file, c);
    if (rc == 0) {
        json_object_set_new(cases, key, index_entry(c, file, id));
        snprintf(file, sizeof(file), "%s.html", stem);
        rc = report_html_case(c, run->page) == 0 ? put_page(run, file) : -1;
    }
    json_decref(c);
    run->written += rc == 0;
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
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        command_say(REPORT_CMD_NAME, "--out %s: %s", out, strerror(errno));
        free(token_read);
        return 1;
    }
    struct report_run run = {.out = out};
    int rc = 1;
    run.page = evbuffer_new();
    run.index = json_object();
    run.used = json_object();
    if (run.page == NULL || run.index == NULL || run.used == NULL) {
        command_say(REPORT_CMD_NAME, "out of memory");
        goto out;
    }
    if (admin_client_open(&run.client, REPORT_CMD_NAME, admin, token) != 0) {
        rc = 2;
        goto out;
    }
    if (write_all(&run) != 0 || put_json(&run, "index.json", run.index) != 0 ||
        report_html_index(run.index, run.page) != 0 ||
        put_page(&run, "index.html") != 0) {
        goto out;
    }
    printf("wsd report: %u case%s of %zu agent%s written to %s/index.html",
           run.written, run.written == 1 ? "" : "s",
           json_object_size(run.index),
           json_object_size(run.index) == 1 ? "" : "s", out);
    if (run.gone > 0) {
        printf(" (%u reused by the ring before they could be read)", run.gone);
    }
    printf("\n");
    rc = 0;
out:
    admin_client_close(&run.client);
    if (run.page != NULL) {
        evbuffer_free(run.page);
    }
    json_decref(run.index);
    json_decref(run.used);
    free(token_read);
    return rc;
}
