/* SPDX-License-Identifier: MIT */
/*
 * The admin endpoint's client (admin_client.h): one GET at a time, each
 * run to its end on the client's own event base, so that the commands
 * read as plain sequential code.
 */
#include "autoconf.h"

#include "admin_client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/keyvalq_struct.h>

#include "command.h"

#define ADMIN_CLIENT_TIMEOUT_S     30           /* per request */
#define ADMIN_CLIENT_BODY_MAX      (256u << 20) /* an answer, at most */
/* A 503 with Retry-After (the endpoint holds too many unread answers, or
 * a record is in the middle of a change) is asked again, this many
 * times, after the seconds it says if they are no more than the second
 * figure. */
#define ADMIN_CLIENT_RETRIES       10
#define ADMIN_CLIENT_RETRY_AFTER_S 10

/* Retry-After's delta-seconds (RFC 9110 §10.2.3), or -1 for none, or for
 * a date or anything else. */
static int
retry_after(const char *v)
{
    long s = 0;

    if (v == NULL || *v < '0' || *v > '9') {
        return -1;
    }
    for (; *v >= '0' && *v <= '9'; v++) {
        s = s * 10 + (*v - '0');
        if (s > 86400) {
            return 86400;
        }
    }
    return *v == '\0' ? (int)s : -1;
}

static void
on_reply(struct evhttp_request *req, void *arg)
{
    struct admin_client *c = arg;

    /* NULL, or a status of 0: the connection failed or timed out. */
    if (req != NULL) {
        c->status = evhttp_request_get_response_code(req);
        c->retry_after = retry_after(evhttp_find_header(
            evhttp_request_get_input_headers(req), "Retry-After"));
        evbuffer_add_buffer(c->body, evhttp_request_get_input_buffer(req));
    }
    event_base_loopbreak(c->base);
}

static void
on_error(enum evhttp_request_error e, void *arg)
{
    struct admin_client *c = arg;
    c->error = (int)e;
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

int
admin_client_open(struct admin_client *c, const char *who, const char *url,
                  const char *token)
{
    struct evhttp_uri *u = evhttp_uri_parse(url);
    const char *scheme = u != NULL ? evhttp_uri_get_scheme(u) : NULL;
    const char *host = u != NULL ? evhttp_uri_get_host(u) : NULL;
    const char *path = u != NULL ? evhttp_uri_get_path(u) : NULL;
    int port = u != NULL ? evhttp_uri_get_port(u) : -1;
    char bare[256];

    c->who = who;
    c->url = url;
    c->token = token;
    c->status = 0;
    if (u == NULL || scheme == NULL || strcmp(scheme, "http") != 0 ||
        host == NULL || *host == '\0' || evhttp_uri_get_query(u) != NULL) {
        command_say(
            c->who,
            "%s: not an http://HOST:PORT URL (the admin endpoint speaks "
            "plain HTTP)",
            url);
        if (u != NULL) {
            evhttp_uri_free(u); /* libevent 2.1's takes no NULL */
        }
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
    snprintf(bare, sizeof(bare), "%s", host);
    evhttp_uri_free(u);
    c->base = event_base_new();
    c->body = evbuffer_new();
    c->conn = c->base != NULL ? evhttp_connection_base_new(c->base, NULL, bare,
                                                           (uint16_t)port)
                              : NULL;
    if (c->conn == NULL || c->body == NULL) {
        command_say(c->who, "out of memory");
        return -1;
    }
    evhttp_connection_set_timeout(c->conn, ADMIN_CLIENT_TIMEOUT_S);
    evhttp_connection_set_max_body_size(c->conn, ADMIN_CLIENT_BODY_MAX);
    return 0;
}

/*
 * GET path_query into c->body. Returns 0 with c->status the HTTP status,
 * or -1 when nothing came back (said).
 */
static int
get(struct admin_client *c, const char *path_query)
{
    char target[2048];

    c->status = 0;
    c->retry_after = -1;
    c->error = -1;
    evbuffer_drain(c->body, evbuffer_get_length(c->body));
    if ((size_t)snprintf(target, sizeof(target), "%s%s", c->prefix,
                         path_query) >= sizeof(target)) {
        command_say(c->who, "%s: URL too long", c->url);
        return -1;
    }
    struct evhttp_request *req = evhttp_request_new(on_reply, c);
    if (req == NULL) {
        command_say(c->who, "out of memory");
        return -1;
    }
    evhttp_request_set_error_cb(req, on_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", c->host);
    evhttp_add_header(h, "Accept", "application/json");
    if (c->token != NULL) {
        char auth[ADMIN_CLIENT_TOKEN_MAX + 16];
        snprintf(auth, sizeof(auth), "Bearer %s", c->token);
        evhttp_add_header(h, "Authorization", auth);
    }
    if (evhttp_make_request(c->conn, req, EVHTTP_REQ_GET, target) != 0) {
        command_say(c->who, "%s: cannot send a request", c->url);
        return -1;
    }
    event_base_dispatch(c->base);
    if (c->status == 0) {
        command_say(c->who, "%s: %s", c->url, error_name(c->error));
        return -1;
    }
    return 0;
}

/* The body as JSON (NULs in strings allowed), or NULL with err filled. */
static json_t *
body_json(struct admin_client *c, json_error_t *err)
{
    size_t n = evbuffer_get_length(c->body);
    const char *p = (const char *)evbuffer_pullup(c->body, -1);

    return json_loadb(p != NULL ? p : "", n, JSON_ALLOW_NUL, err);
}

/* The endpoint's own sentence of a refusal in c->body, or "". */
static const char *
refusal_sentence(struct admin_client *c, json_t **refusal)
{
    json_error_t jerr;
    *refusal = body_json(c, &jerr);
    const char *e = json_string_value(json_object_get(*refusal, "error"));
    return e != NULL ? e : "";
}

/*
 * get, asked again while the answer is a 503 that says when to (each
 * retry said, with the endpoint's sentence).
 */
static int
get_retrying(struct admin_client *c, const char *path_query)
{
    for (unsigned tries = 1;; tries++) {
        if (get(c, path_query) != 0) {
            return -1;
        }
        if (c->status != 503 || c->retry_after < 0 ||
            c->retry_after > ADMIN_CLIENT_RETRY_AFTER_S ||
            tries > ADMIN_CLIENT_RETRIES) {
            return 0;
        }
        json_t *refusal;
        const char *e = refusal_sentence(c, &refusal);
        command_say(c->who,
                    "%s%s: HTTP 503%s%s: asking again in %d s (%u of %u)",
                    c->url, path_query, *e != '\0' ? ": " : "", e,
                    c->retry_after, tries, ADMIN_CLIENT_RETRIES);
        json_decref(refusal);
        struct timespec wait = {c->retry_after, 0};
        while (nanosleep(&wait, &wait) != 0 && errno == EINTR) {
        }
    }
}

json_t *
admin_client_get_json(struct admin_client *c, const char *path_query)
{
    json_error_t jerr;

    if (get_retrying(c, path_query) != 0) {
        return NULL;
    }
    if (c->status != 200) {
        json_t *refusal;
        const char *e = refusal_sentence(c, &refusal);
        const char *sep = *e != '\0' ? ": " : "";

        if (c->status == 401) {
            command_say(
                c->who, "%s: the admin endpoint refused %s (HTTP 401%s%s)",
                c->url,
                c->token != NULL ? "the token" : "a request without a token",
                sep, e);
        } else if (c->status != 404) {
            command_say(c->who, "%s%s: HTTP %d%s%s", c->url, path_query,
                        c->status, sep, e);
        }
        json_decref(refusal);
        return NULL;
    }
    json_t *doc = body_json(c, &jerr);
    if (doc == NULL) {
        command_say(c->who, "%s%s: not JSON: %s", c->url, path_query,
                    jerr.text);
    }
    return doc;
}

void
admin_client_close(struct admin_client *c)
{
    if (c->conn != NULL) {
        evhttp_connection_free(c->conn);
        c->conn = NULL;
    }
    if (c->base != NULL) {
        event_base_free(c->base);
        c->base = NULL;
    }
    if (c->body != NULL) {
        evbuffer_free(c->body);
        c->body = NULL;
    }
}

char *
admin_client_read_token(const char *who, const char *file)
{
    FILE *f = fopen(file, "r");
    char *t = calloc(1, ADMIN_CLIENT_TOKEN_MAX + 2);
    const char *problem = NULL;

    if (f == NULL || t == NULL) {
        problem = f == NULL ? strerror(errno) : "out of memory";
    } else {
        if (fgets(t, ADMIN_CLIENT_TOKEN_MAX + 2, f) == NULL) {
            t[0] = '\0';
        }
        t[strcspn(t, "\r\n")] = '\0';
        if (ferror(f)) {
            problem = strerror(errno); /* a directory: EISDIR */
        } else if (t[0] == '\0') {
            problem = "empty";
        } else if (strlen(t) > ADMIN_CLIENT_TOKEN_MAX) {
            problem = "token longer than 4096 bytes";
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    if (problem != NULL) {
        command_say(who, "--token-file %s: %s", file, problem);
        free(t);
        return NULL;
    }
    return t;
}
