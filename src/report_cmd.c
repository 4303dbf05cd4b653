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
 * This module owns the command line, its HTTP client (libevent's evhttp,
 * one request at a time on one connection) and the files it writes, each
 * written to a temporary name and renamed into place, so that a reader
 * never sees half a file. The case object is report_autobahn's (made by
 * the daemon), the pages are report_html's.
 */
#include "autoconf.h"

#include "report_cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "report_html.h"

#define REPORT_PAGE      1000 /* cases per /v1/cases request */
#define REPORT_TIMEOUT_S 30   /* per request */
#define REPORT_BODY_MAX  (256u << 20)
#define REPORT_NAME_MAX  160 /* a report file's name */
#define REPORT_TOKEN_MAX 4096

struct report_client {
    struct event_base *base;
    struct evhttp_connection *conn;
    char host[256];
    char prefix[1024]; /* the URL's path, without its trailing '/' */
    const char *url;
    const char *token;
};

struct report_reply {
    struct event_base *base;
    int status; /* 0: no answer */
    int error;  /* enum evhttp_request_error, when there was none */
    struct evbuffer *body;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
    va_list ap;

    fputs("wsd report: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

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

static void
on_reply(struct evhttp_request *req, void *arg)
{
    struct report_reply *r = arg;

    /* NULL, or a status of 0: the connection failed or timed out. */
    if (req != NULL) {
        r->status = evhttp_request_get_response_code(req);
        evbuffer_add_buffer(r->body, evhttp_request_get_input_buffer(req));
    }
    event_base_loopbreak(r->base);
}

static void
on_error(enum evhttp_request_error e, void *arg)
{
    struct report_reply *r = arg;
    r->error = (int)e;
}

static const char *
error_name(int e)
{
    switch (e) {
    case EVREQ_HTTP_TIMEOUT:
        return "no answer within 30 s";
    case EVREQ_HTTP_DATA_TOO_LONG:
        return "an answer over 256 MiB";
    case EVREQ_HTTP_INVALID_HEADER:
        return "an answer that is not HTTP";
    default:
        return "cannot connect, or the connection closed (is wsd's admin "
               "endpoint there?)";
    }
}

/*
 * GET path_query (under the URL's path) into r->body. Returns 0 with
 * r->status the HTTP status, or -1 when nothing came back (said).
 */
static int
client_get(struct report_client *c, const char *path_query,
           struct report_reply *r)
{
    char target[2048];

    r->status = 0;
    r->error = -1;
    r->base = c->base;
    evbuffer_drain(r->body, evbuffer_get_length(r->body));
    if ((size_t)snprintf(target, sizeof(target), "%s%s", c->prefix,
                         path_query) >= sizeof(target)) {
        say("%s: URL too long", c->url);
        return -1;
    }
    struct evhttp_request *req = evhttp_request_new(on_reply, r);
    if (req == NULL) {
        say("out of memory");
        return -1;
    }
    evhttp_request_set_error_cb(req, on_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", c->host);
    evhttp_add_header(h, "Accept", "application/json");
    if (c->token != NULL) {
        char auth[REPORT_TOKEN_MAX + 16];
        snprintf(auth, sizeof(auth), "Bearer %s", c->token);
        evhttp_add_header(h, "Authorization", auth);
    }
    if (evhttp_make_request(c->conn, req, EVHTTP_REQ_GET, target) != 0) {
        say("%s: cannot send a request", c->url);
        return -1;
    }
    event_base_dispatch(c->base);
    if (r->status == 0) {
        say("%s: %s", c->url, error_name(r->error));
        return -1;
    }
    return 0;
}

/* The endpoint's own sentence for a refusal ({"error": "..."}), or "". */
static const char *
error_text(struct report_reply *r, json_t **keep)
{
    size_t n = evbuffer_get_length(r->body);
    const char *p = (const char *)evbuffer_pullup(r->body, -1);

    *keep = p != NULL ? json_loadb(p, n, 0, NULL) : NULL;
    const char *e = json_string_value(json_object_get(*keep, "error"));
    return e != NULL ? e : "";
}

/* GET a JSON document; NULL (said) unless the status was 200. */
static json_t *
client_json(struct report_client *c, const char *path_query,
            struct report_reply *r)
{
    json_error_t jerr;

    if (client_get(c, path_query, r) != 0) {
        return NULL;
    }
    if (r->status != 200) {
        json_t *keep;
        const char *e = error_text(r, &keep);
        if (r->status == 401) {
            say("%s: the admin endpoint refused %s (HTTP 401%s%s)", c->url,
                c->token != NULL ? "the token" : "a request without a token",
                *e != '\0' ? ": " : "", e);
        } else if (r->status != 404) {
            say("%s%s: HTTP %d%s%s", c->url, path_query, r->status,
                *e != '\0' ? ": " : "", e);
        }
        json_decref(keep);
        return NULL;
    }
    size_t n = evbuffer_get_length(r->body);
    const char *p = (const char *)evbuffer_pullup(r->body, -1);
    json_t *doc = json_loadb(p != NULL ? p : "", n, 0, &jerr);
    if (doc == NULL) {
        say("%s%s: not JSON: %s", c->url, path_query, jerr.text);
    }
    return doc;
}

static int
client_open(struct report_client *c, const char *url, const char *token)
{
    struct evhttp_uri *u = evhttp_uri_parse(url);
    const char *scheme = u != NULL ? evhttp_uri_get_scheme(u) : NULL;
    const char *host = u != NULL ? evhttp_uri_get_host(u) : NULL;
    const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
    int port = u != NULL ? evhttp_uri_get_port(u) : -1;

    c->url = url;
    c->token = token;
    if (u == NULL || scheme == NULL || strcmp(scheme, "http") != 0 ||
        host == NULL || *host == '\0' || evhttp_uri_get_query(u) != NULL) {
        say("--admin %s: not an http://HOST:PORT URL (the admin endpoint "
            "speaks plain HTTP)",
            url);
        evhttp_uri_free(u);
        return -1;
    }
    if (port < 0) {
        port = 80;
    }
    snprintf(c->host, sizeof(c->host), "%s:%d", host, port);
    snprintf(c->prefix, sizeof(c->prefix), "%s", path != NULL ? path : "");
    size_t len = strlen(c->prefix);
    while (len > 0 && c->prefix[len - 1] == '/') {
        c->prefix[--len] = '\0';
    }
    /* An IPv6 literal comes back without its brackets. */
    char bare[256];
    snprintf(bare, sizeof(bare), "%s", host);
    evhttp_uri_free(u);
    c->base = event_base_new();
    c->conn = c->base != NULL ? evhttp_connection_base_new(c->base, NULL, bare,
                                                           (uint16_t)port)
                              : NULL;
    if (c->conn == NULL) {
        say("out of memory");
        return -1;
    }
    evhttp_connection_set_timeout(c->conn, REPORT_TIMEOUT_S);
    evhttp_connection_set_max_body_size(c->conn, REPORT_BODY_MAX);
    return 0;
}

static void
client_close(struct report_client *c)
{
    if (c->conn != NULL) {
        evhttp_connection_free(c->conn);
    }
    if (c->base != NULL) {
        event_base_free(c->base);
    }
}

/* Autobahn's file-name rule, kept to [a-z0-9_]: a peer's case and agent
 * come from its URL and must never name a path. */
static void
clean_name(char *dst, size_t cap, const char *src, const char *fallback)
{
    size_t n = 0;
    bool gap = false;

    for (const char *p = src; *p != '\0' && n + 1 < cap; p++) {
        char ch = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
            if (gap && n > 0 && n + 2 < cap) {
                dst[n++] = '_';
            }
            dst[n++] = ch;
            gap = false;
        } else {
            gap = true;
        }
    }
    dst[n] = '\0';
    if (n == 0) {
        snprintf(dst, cap, "%s", fallback);
    }
}

/*
 * Writes len bytes to DIR/name through DIR/.name.tmp and a rename.
 * Returns 0, or -1 (said).
 */
static int
write_file(const char *dir, const char *name, const char *p, size_t len)
{
    char path[PATH_MAX];
    char tmp[PATH_MAX];

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
            sizeof(path) ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >=
            sizeof(tmp)) {
        say("%s/%s: path too long", dir, name);
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        say("%s: %s", tmp, strerror(errno));
        return -1;
    }
    bool ok = fwrite(p, 1, len, f) == len;
    int e = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok || rename(tmp, path) != 0) {
        say("%s: %s", ok ? path : tmp, strerror(ok ? errno : e));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int
write_json(const char *dir, const char *name, const json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(3) | JSON_SORT_KEYS);
    if (text == NULL) {
        say("out of memory");
        return -1;
    }
    int rc = write_file(dir, name, text, strlen(text));
    free(text);
    return rc;
}

static int
write_buffer(const char *dir, const char *name, struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    const char *p = (const char *)evbuffer_pullup(b, -1);
    int rc = write_file(dir, name, p != NULL ? p : "", n);
    evbuffer_drain(b, n);
    return rc;
}

/*
 * The index's key for this case of this agent: its case id, or, when the
 * agent already has that id (a campaign run twice), "ID#2", "ID#3"...
 */
static void
index_key(json_t *cases, const char *id, char *key, size_t cap)
{
    snprintf(key, cap, "%s", id);
    for (unsigned k = 2; json_object_get(cases, key) != NULL; k++) {
        snprintf(key, cap, "%s#%u", id, k);
    }
}

/* A report file name not in use yet: AGENT_case_ID, then _2, _3... */
static void
file_stem(json_t *used, const char *agent, const char *key, char *stem,
          size_t cap)
{
    char a[64];
    char k[64];
    char base[sizeof(a) + sizeof(k) + 8];

    clean_name(a, sizeof(a), agent, "unknown");
    clean_name(k, sizeof(k), key, "none");
    snprintf(base, sizeof(base), "%s_case_%s", a, k);
    snprintf(stem, cap, "%s", base);
    for (unsigned n = 2; json_object_get(used, stem) != NULL; n++) {
        snprintf(stem, cap, "%s_%u", base, n);
    }
    json_object_set_new(used, stem, json_true());
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
    struct report_client client;
    struct report_reply reply;
    struct evbuffer *page;
    json_t *index;
    json_t *used; /* file stems taken */
    const char *out;
    unsigned written;
    unsigned gone; /* listed, then reused before we asked for it */
};

static int
write_case(struct report_run *run, uint64_t id)
{
    char path[64];
    char key[256];
    char stem[REPORT_NAME_MAX];
    char file[REPORT_NAME_MAX + 8];

    snprintf(path, sizeof(path), "/v1/cases/%llu/autobahn",
             (unsigned long long)id);
    json_t *c = client_json(&run->client, path, &run->reply);
    if (c == NULL) {
        if (run->reply.status == 404) {
            run->gone++;
            return 0;
        }
        return -1;
    }
    const char *agent = json_string_value(json_object_get(c, "agent"));
    const char *case_id = json_string_value(json_object_get(c, "id"));
    if (agent == NULL || case_id == NULL) {
        say("%s%s: no agent or id: is this a wsd admin endpoint?",
            run->client.url, path);
        json_decref(c);
        return -1;
    }
    json_t *cases = json_object_get(run->index, agent);
    if (cases == NULL) {
        cases = json_object();
        json_object_set_new(run->index, agent, cases);
    }
    index_key(cases, case_id, key, sizeof(key));
    file_stem(run->used, agent, key, stem, sizeof(stem));
    snprintf(file, sizeof(file), "%s.json", stem);
    int rc = write_json(run->out, file, c);
    if (rc == 0) {
        json_object_set_new(cases, key, index_entry(c, file, id));
        snprintf(file, sizeof(file), "%s.html", stem);
        rc = report_html_case(c, run->page) == 0
                 ? write_buffer(run->out, file, run->page)
                 : -1;
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
        json_t *list = client_json(&run->client, q, &run->reply);
        json_t *cases = json_object_get(list, "cases");
        if (list == NULL || !json_is_array(cases)) {
            if (list != NULL) {
                say("%s%s: no case list: is this a wsd admin endpoint?",
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

static char *
read_token(const char *file)
{
    FILE *f = fopen(file, "r");
    char *t = calloc(1, REPORT_TOKEN_MAX + 2);

    if (f == NULL || t == NULL) {
        say("--token-file %s: %s", file,
            f == NULL ? strerror(errno) : "out of memory");
        if (f != NULL) {
            fclose(f);
        }
        free(t);
        return NULL;
    }
    if (fgets(t, REPORT_TOKEN_MAX + 2, f) == NULL) {
        t[0] = '\0';
    }
    fclose(f);
    t[strcspn(t, "\r\n")] = '\0';
    if (t[0] == '\0' || strlen(t) > REPORT_TOKEN_MAX) {
        say("--token-file %s: %s", file,
            t[0] == '\0' ? "empty" : "token longer than 4096 bytes");
        free(t);
        return NULL;
    }
    return t;
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
            say("unknown argument %s", a);
            usage(stderr);
            return 2;
        }
        if (i + 1 >= argc) {
            say("%s needs a value", a);
            return 2;
        }
        *slot = argv[++i];
    }
    if (admin == NULL || out == NULL) {
        say("%s", admin == NULL ? "--admin URL is required"
                                : "--out DIR is required");
        usage(stderr);
        return 2;
    }
    if (token != NULL && token_file != NULL) {
        say("--token and --token-file: give one");
        return 2;
    }
    if (token_file != NULL &&
        (token = token_read = read_token(token_file)) == NULL) {
        return 2;
    }
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        say("--out %s: %s", out, strerror(errno));
        free(token_read);
        return 1;
    }
    struct report_run run = {.out = out};
    int rc = 1;
    run.reply.body = evbuffer_new();
    run.page = evbuffer_new();
    run.index = json_object();
    run.used = json_object();
    if (run.reply.body == NULL || run.page == NULL || run.index == NULL ||
        run.used == NULL) {
        say("out of memory");
        goto out;
    }
    if (client_open(&run.client, admin, token) != 0) {
        rc = 2;
        goto out;
    }
    if (write_all(&run) != 0 || write_json(out, "index.json", run.index) ||
        report_html_index(run.index, run.page) != 0 ||
        write_buffer(out, "index.html", run.page) != 0) {
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
    client_close(&run.client);
    if (run.reply.body != NULL) {
        evbuffer_free(run.reply.body);
    }
    if (run.page != NULL) {
        evbuffer_free(run.page);
    }
    json_decref(run.index);
    json_decref(run.used);
    free(token_read);
    return rc;
}
