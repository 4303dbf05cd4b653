/* SPDX-License-Identifier: MIT */
/*
 * The client side of wsd's admin endpoint, for the commands that read a
 * running wsd (`wsd report`, `wsd compare`): an http://HOST:PORT URL, one
 * GET at a time on one connection (libevent's evhttp), JSON answers, the
 * bearer token, and a sentence on stderr for every failure, naming the
 * URL. It owns its event base, its connection and the body buffer.
 */
#ifndef WSD_ADMIN_CLIENT_H
#define WSD_ADMIN_CLIENT_H

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#define ADMIN_CLIENT_TOKEN_MAX 4096

/* Zero-fill before admin_client_open. Fields callers may read: */
struct admin_client {
    const char *who;   /* the command, first word of every message */
    const char *url;   /* as given; borrowed */
    const char *token; /* borrowed; NULL: none */
    int status;        /* of the last answer; 0: there was none */
    /* internal: */
    int retry_after; /* the last answer's Retry-After, s; -1: none */
    struct event_base *base;
    struct evhttp_connection *conn;
    struct evbuffer *body;
    int error; /* enum evhttp_request_error of a request that failed */
    char host[256];
    char prefix[1024]; /* the URL's path, without its trailing '/' */
};

/*
 * Prepares c for url, which must be http://HOST[:PORT][/PATH] without a
 * query; who ("wsd report") begins the messages; token, when not NULL,
 * goes with every request as "Authorization: Bearer TOKEN". Nothing is
 * sent yet. Returns 0, or -1 (said) for a URL of another shape (c->status
 * then stays 0) or out of memory. Call admin_client_close in both cases.
 */
int admin_client_open(struct admin_client *c, const char *who, const char *url,
                      const char *token);

/*
 * GETs path_query (beneath the URL's path, e.g. "/v1/cases?key=...") and
 * parses the answer, NULs in strings allowed (a frame's payload may hold
 * them). Returns a new reference when the status was 200 and the body
 * JSON; else NULL, with c->status the HTTP status (0: no answer). A 503
 * with a Retry-After of at most 10 s is asked again after it, 10 times at
 * most, each retry said. A 404 is
 * left unsaid, for the caller to decide (a case the ring has reused); any
 * other failure is said: no answer (wsd is down, or not there), a token
 * refused (401), another status with the endpoint's own sentence, a body
 * that is not JSON.
 */
json_t *admin_client_get_json(struct admin_client *c, const char *path_query);

/* Frees what c holds; c may be half-open or closed already. */
void admin_client_close(struct admin_client *c);

/*
 * The token on the first line of file (its line end dropped), as a new
 * string the caller frees; NULL (said, naming the file) when the file
 * cannot be read, or the line is empty or over ADMIN_CLIENT_TOKEN_MAX.
 */
char *admin_client_read_token(const char *who, const char *file);

#endif
