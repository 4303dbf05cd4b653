/* SPDX-License-Identifier: MIT */
/*
 * Tests for the client side of the opening handshake, against the server
 * side of the same core: the key of RFC 6455's example, the request the
 * client writes as the server's parser reads it, every answer the server
 * writes (its 101 and each of its refusals, body included) as the
 * client's parser and checks read it, and a table of broken responses,
 * each fed whole, one byte at a time and in random pieces.
 */
#include "autoconf.h"

#include "ws_handshake_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "split.h"
#include "tap.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 6455 §4.1: the nonce of the example, and its key (§1.3). */
#define RFC_NONCE  "the sample nonce"
#define RFC_KEY    "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

#define HEAD_MAX 4096

static void
test_key(void)
{
    char key[WS_HANDSHAKE_KEY_LEN + 1];
    uint8_t zero[WS_HANDSHAKE_NONCE_LEN] = {0};

    ws_handshake_client_key((const uint8_t *)RFC_NONCE, key);
    is_str(key, RFC_KEY, "key: RFC 6455 §4.1 example nonce");
    ws_handshake_client_key(zero, key);
    is_str(key, "AAAAAAAAAAAAAAAAAAAAAA==", "key: sixteen zero bytes");
}

/* The RFC's sample request, as the client writes it. */
static const struct ws_client_request rfc_request = {
    .host = "server.example.com",
    .target = "/chat",
    .key = RFC_KEY,
    .origin = "http://example.com",
    .protocols = "chat, superchat",
};

static void
test_request(void)
{
    char out[HEAD_MAX];
    struct ws_error err = {0, NULL};
    ssize_t n =
        ws_handshake_client_request(out, sizeof(out), &rfc_request, &err);
    static const char want[] = "GET /chat HTTP/1.1\r\n"
                               "Host: server.example.com\r\n"
                               "Upgrade: websocket\r\n"
                               "Connection: Upgrade\r\n"
                               "Sec-WebSocket-Key: " RFC_KEY "\r\n"
                               "Sec-WebSocket-Version: 13\r\n"
                               "Origin: http://example.com\r\n"
                               "Sec-WebSocket-Protocol: chat, superchat\r\n"
                               "\r\n";

    is_mem(out, n > 0 ? (size_t)n : 0, want, sizeof(want) - 1,
           "request: the RFC's sample, byte for byte");

    /* Read by the server's own parser. */
    struct ws_handshake_config cfg = {"/chat", HEAD_MAX, 64, NULL, NULL};
    struct ws_handshake_request r;
    memset(&r, 0, sizeof(r));
    is_int(ws_handshake_parse(&r, out, (size_t)n, &cfg, &err), n,
           "request: the server's parser accepts it whole");
    is_mem(r.key.p, r.key.len, RFC_KEY, strlen(RFC_KEY),
           "request: the server reads the key");
    is_mem(r.host.p, r.host.len, "server.example.com", 18,
           "request: the server reads the host");

    /* Every optional field, and lines of the caller's. */
    const char *extra[] = {"Authorization: Bearer x", "X-Empty:"};
    struct ws_client_request all = {
        .host = "[::1]:9001",
        .target = "/runCase?case=3&agent=wsc",
        .key = RFC_KEY,
        .extensions = "permessage-deflate; client_max_window_bits",
        .user_agent = "wsc/0.1",
        .headers = extra,
        .n_headers = NELEM(extra),
    };
    n = ws_handshake_client_request(out, sizeof(out), &all, &err);
    cfg.path = "/runCase";
    memset(&r, 0, sizeof(r));
    is_int(ws_handshake_parse(&r, out, n > 0 ? (size_t)n : 0, &cfg, &err), n,
           "request: every field, accepted by the server's parser");
    is_mem(r.query.p, r.query.len, "case=3&agent=wsc", 16,
           "request: the query as given");
    is_int(r.n_extensions, 1, "request: one extension header");
    is_mem(r.user_agent.p, r.user_agent.len, "wsc/0.1", 7,
           "request: the user agent");
    is_int(r.n_headers, 9, "request: nine header lines");
    ok(n > 0 && strstr(out, "\r\nAuthorization: Bearer x\r\nX-Empty:\r\n\r\n"),
       "request: the caller's lines last, as given");

    /* Too small a buffer, at every size: refused, nothing past cap. */
    bool fits = true;
    for (size_t cap = 0; cap < (size_t)n && fits; cap++) {
        char small[HEAD_MAX];
        memset(small, 'Z', sizeof(small));
        err.reason = NULL;
        fits = ws_handshake_client_request(small, cap, &all, &err) == WS_FAIL &&
               err.reason != NULL && small[cap] == 'Z';
    }
    ok(fits, "request: refused, writing nothing past cap, when it does not "
             "fit");
}

struct bad_request {
    const char *name;
    struct ws_client_request req;
    const char *reason;
};

static const char *const bad_lines[][1] = {
    {"NoColon"},      {"Bad Name: x"},      {"Name : x"},
    {" folded: x"},   {"X-Ctl: a\rb"},      {"sec-websocket-key: abc"},
    {"Upgrade: h2c"}, {"Origin: http://x"}, {""},
};

/* A request of the table: host, target, key, origin, subprotocols and
 * one line of the caller's (NULL: none). */
#define REQ(h, t, k, o, p, line)                                               \
    {                                                                          \
        .host = (h), .target = (t), .key = (k), .origin = (o),                 \
        .protocols = (p), .headers = (line), .n_headers = (line) != NULL       \
    }
#define BASE_REQ(o, p, line) REQ("h", "/", RFC_KEY, o, p, line)

static const struct bad_request bad_requests[] = {
    {"target without a slash", REQ("h", "chat", RFC_KEY, NULL, NULL, NULL),
     "request target must begin with /"},
    {"target with a space", REQ("h", "/a b", RFC_KEY, NULL, NULL, NULL),
     "request target holds a byte that is not visible ASCII"},
    {"target with a byte over 0x7e",
     REQ("h", "/\xc3\xa9", RFC_KEY, NULL, NULL, NULL),
     "request target holds a byte that is not visible ASCII"},
    {"empty host", REQ("", "/", RFC_KEY, NULL, NULL, NULL),
     "Host must be a non-empty value without control bytes"},
    {"host with CR LF", REQ("h\r\nX: y", "/", RFC_KEY, NULL, NULL, NULL),
     "Host must be a non-empty value without control bytes"},
    {"short key", REQ("h", "/", "abc", NULL, NULL, NULL),
     "Sec-WebSocket-Key must be 24 characters"},
    {"origin with LF", BASE_REQ("http://x\nY: z", NULL, NULL),
     "control character in header field value"},
    {"subprotocols with a control byte", BASE_REQ(NULL, "chat\x01", NULL),
     "control character in header field value"},
    {"line without a colon", BASE_REQ(NULL, NULL, bad_lines[0]),
     "malformed header field name"},
    {"name with a space", BASE_REQ(NULL, NULL, bad_lines[1]),
     "malformed header field name"},
    {"space before the colon", BASE_REQ(NULL, NULL, bad_lines[2]),
     "whitespace before colon in header field"},
    {"folded line", BASE_REQ(NULL, NULL, bad_lines[3]),
     "obsolete line folding in header section"},
    {"CR in a value", BASE_REQ(NULL, NULL, bad_lines[4]),
     "control character in header field value"},
    {"the key, set by hand", BASE_REQ(NULL, NULL, bad_lines[5]),
     "the handshake sets this header field itself"},
    {"Upgrade, set by hand", BASE_REQ(NULL, NULL, bad_lines[6]),
     "the handshake sets this header field itself"},
    {"Origin, set by hand", BASE_REQ(NULL, NULL, bad_lines[7]),
     "the handshake sets this header field itself"},
    {"empty line", BASE_REQ(NULL, NULL, bad_lines[8]), "empty header line"},
};

static void
test_bad_requests(void)
{
    for (size_t i = 0; i < NELEM(bad_requests); i++) {
        const struct bad_request *b = &bad_requests[i];
        char out[HEAD_MAX];
        struct ws_error err = {0, NULL};
        ssize_t n =
            ws_handshake_client_request(out, sizeof(out), &b->req, &err);
        is_int(n, WS_FAIL, "bad request: %s: refused", b->name);
        is_str(err.reason, b->reason, "bad request: %s: reason", b->name);
    }
    struct ws_error err = {0, NULL};
    is_int(ws_handshake_client_check_header("X-Trace: 1", &err), 0,
           "check_header: an ordinary line");
    is_int(ws_handshake_client_check_header("cookie:a=b; c=d", &err), 0,
           "check_header: no space after the colon");
    is_int(ws_handshake_client_check_header("HOST: x", &err), WS_FAIL,
           "check_header: Host in any case is the handshake's");
}

/* What one response gives the client, fed as `how` says. */
struct outcome {
    ssize_t head; /* parse's result */
    int check;    /* check's result (when the head parsed) */
    struct ws_error err;
    struct ws_handshake_response r;
};

/*
 * Feeds resp[0..len) to the response parser in pieces cut as `how` says,
 * each piece a prefix of the response in a heap block of its own (a
 * connection's input buffer may move), until it is decided; then checks
 * what it parsed against e.
 */
static void
feed_response(const char *resp, size_t len, enum split how,
              const struct ws_handshake_expect *e, struct outcome *o)
{
    size_t n = 0;

    memset(o, 0, sizeof(*o));
    o->head = WS_AGAIN;
    while (o->head == WS_AGAIN && n < len) {
        n += split_next(how, len - n);
        char *b = split_piece_new(resp, n);
        o->err = (struct ws_error){0, NULL};
        o->head = ws_handshake_response_parse(&o->r, b, n, HEAD_MAX, &o->err);
        if (o->head > 0) {
            o->check = ws_handshake_response_check(&o->r, e, &o->err);
            /* Spans must not point into a piece about to be freed: copy
             * the one the tests look at. */
            o->r.phrase.p =
                o->r.phrase.p != NULL ? resp + (o->r.phrase.p - b) : NULL;
        }
        split_piece_free(b, n);
    }
}

/* Compares the outcome for every way of splitting resp. */
static void
check_every_split(const char *name, const char *resp,
                  const struct ws_handshake_expect *e, ssize_t want_head,
                  int want_check, unsigned want_code, const char *want_reason)
{
    static const enum split hows[] = {SPLIT_WHOLE, SPLIT_ONE_BYTE,
                                      SPLIT_RANDOM};
    size_t len = strlen(resp);

    for (size_t i = 0; i < NELEM(hows); i++) {
        bool same = true;
        int runs = hows[i] == SPLIT_RANDOM ? SPLIT_RANDOM_RUNS : 1;
        struct outcome o;
        for (int k = 0; k < runs && same; k++) {
            feed_response(resp, len, hows[i], e, &o);
            const char *reason = o.err.reason != NULL ? o.err.reason : "";
            same = o.head == want_head &&
                   (o.head <= 0 || o.check == want_check) &&
                   (want_reason == NULL || strcmp(reason, want_reason) == 0) &&
                   o.err.code == want_code;
            if (!same) {
                tap_diag("%s: got head %lld check %d code %u (%s)", name,
                         (long long)o.head, o.check, (unsigned)o.err.code,
                         reason);
            }
        }
        ok(same, "%s: %s", name, split_name(hows[i]));
    }
}

static const struct ws_handshake_expect rfc_expect = {RFC_KEY,
                                                      "chat, superchat", false};

/* The server's 101, as the server writes it, read by the client. */
static void
test_server_101(void)
{
    static const char req[] = "GET /chat HTTP/1.1\r\n"
                              "Host: server.example.com\r\n"
                              "Upgrade: websocket\r\n"
                              "Connection: Upgrade\r\n"
                              "Sec-WebSocket-Key: " RFC_KEY "\r\n"
                              "Sec-WebSocket-Version: 13\r\n"
                              "\r\n";
    struct ws_handshake_config cfg = {"/chat", HEAD_MAX, 64, NULL, NULL};
    struct ws_handshake_request r;
    struct ws_error err = {0, NULL};
    char resp[HEAD_MAX];

    memset(&r, 0, sizeof(r));
    ws_handshake_parse(&r, req, sizeof(req) - 1, &cfg, &err);
    size_t n =
        ws_handshake_response_101(resp, sizeof(resp) - 1, &r, NULL, "wsd");
    resp[n] = '\0';
    check_every_split("server's 101", resp, &rfc_expect, (ssize_t)n, 0, 0,
                      NULL);

    struct outcome o;
    feed_response(resp, n, SPLIT_WHOLE, &rfc_expect, &o);
    is_int(o.r.status, 101, "server's 101: status");
    is_mem(o.r.phrase.p, o.r.phrase.len, "Switching Protocols", 19,
           "server's 101: reason phrase");

    /* Followed by a frame: the head ends where the frame begins. */
    char with_frame[HEAD_MAX + 8];
    memcpy(with_frame, resp, n);
    memcpy(with_frame + n, "\x81\x02hi", 5);
    check_every_split("server's 101 and a frame", with_frame, &rfc_expect,
                      (ssize_t)n, 0, 0, NULL);

    /* With extensions: refused when none were offered. */
    n = ws_handshake_response_101(resp, sizeof(resp) - 1, &r,
                                  "permessage-deflate", "wsd");
    resp[n] = '\0';
    check_every_split("server's 101 with an extension not offered", resp,
                      &rfc_expect, (ssize_t)n, WS_FAIL, 101,
                      "Sec-WebSocket-Extensions answers no offer");
    struct ws_handshake_expect offered = {RFC_KEY, NULL, true};
    check_every_split("server's 101 with an extension offered", resp, &offered,
                      (ssize_t)n, 0, 0, NULL);
    feed_response(resp, n, SPLIT_ONE_BYTE, &offered, &o);
    is_int(o.r.n_extensions, 1, "server's 101: one extension header");
}

/*
 * Every refusal the server writes (ws_handshake_response_error), for a
 * request the server's parser refused: the client reads the status, the
 * head's length and the body's, and the body names the problem.
 */
struct refusal {
    const char *name;
    const char *req;
    unsigned status;
};

static const struct refusal refusals[] = {
    {"400 no Host",
     "GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
     "Sec-WebSocket-Key: " RFC_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
     400},
    {"404 another path",
     "GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
     "Connection: Upgrade\r\nSec-WebSocket-Key: " RFC_KEY "\r\n"
     "Sec-WebSocket-Version: 13\r\n\r\n",
     404},
    {"405 POST",
     "POST /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
     "Connection: Upgrade\r\nSec-WebSocket-Key: " RFC_KEY "\r\n"
     "Sec-WebSocket-Version: 13\r\n\r\n",
     405},
    {"426 version 8",
     "GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
     "Connection: Upgrade\r\nSec-WebSocket-Key: " RFC_KEY "\r\n"
     "Sec-WebSocket-Version: 8\r\n\r\n",
     426},
    {"431 too many headers",
     "GET /chat HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n"
     "E: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\n\r\n",
     431},
};

static void
test_server_refusals(void)
{
    struct ws_handshake_config cfg = {"/chat", HEAD_MAX, 8, NULL, NULL};

    for (size_t i = 0; i < NELEM(refusals); i++) {
        const struct refusal *f = &refusals[i];
        struct ws_handshake_request r;
        struct ws_error serr = {0, NULL};
        char resp[HEAD_MAX];

        memset(&r, 0, sizeof(r));
        is_int(ws_handshake_parse(&r, f->req, strlen(f->req), &cfg, &serr),
               WS_FAIL, "%s: the server refuses", f->name);
        size_t n = ws_handshake_response_error(resp, sizeof(resp) - 1, &serr,
                                               &r, &cfg, "wsd");
        resp[n] = '\0';
        const char *body = strstr(resp, "\r\n\r\n");
        ssize_t head = body != NULL ? body + 4 - resp : 0;
        check_every_split(f->name, resp, &rfc_expect, head, WS_FAIL, f->status,
                          "handshake refused");

        struct outcome o;
        feed_response(resp, n, SPLIT_WHOLE, &rfc_expect, &o);
        is_int(o.r.status, f->status, "%s: status", f->name);
        ok(o.r.has_content_length && o.r.content_length == n - (size_t)head,
           "%s: Content-Length is the body's length", f->name);
        char want[HEAD_MAX];
        ws_handshake_response_error(want, sizeof(want), &serr, &r, &cfg, NULL);
        ok(head > 0 && strlen(body + 4) > 1 && strstr(want, body + 4) != NULL,
           "%s: the body names the problem: %s", f->name,
           head > 0 ? body + 4 : "");
    }
    /* 503, which only the connection layer writes. */
    struct ws_error busy = {503, "server is at its connection limit"};
    char resp[HEAD_MAX];
    size_t n = ws_handshake_response_error(resp, sizeof(resp) - 1, &busy, NULL,
                                           NULL, "wsd");
    resp[n] = '\0';
    check_every_split("503", resp, &rfc_expect,
                      (ssize_t)(strstr(resp, "\r\n\r\n") + 4 - resp), WS_FAIL,
                      503, "handshake refused");
}

/* A refusal's body in chunks (RFC 9112 §7.1): its first line is a chunk
 * size, which a client must not show as the reason. */
static void
test_chunked_refusal(void)
{
    static const struct {
        const char *te;
        bool chunked;
    } tes[] = {
        {"Transfer-Encoding: chunked\r\n", true},
        {"transfer-encoding: gzip, Chunked\r\n", true},
        {"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", true},
        {"Transfer-Encoding: gzip\r\n", false},
        {"", false},
    };

    for (size_t i = 0; i < NELEM(tes); i++) {
        char resp[256];
        struct outcome o;
        int n = snprintf(resp, sizeof(resp),
                         "HTTP/1.1 404 Not Found\r\n%s\r\n"
                         "9\r\nnot here\n\r\n0\r\n\r\n",
                         tes[i].te);
        feed_response(resp, (size_t)n, SPLIT_WHOLE, &rfc_expect, &o);
        ok(o.head > 0 && o.r.status == 404 && o.r.chunked == tes[i].chunked,
           "chunked refusal %zu: chunked is %d", i, tes[i].chunked);
    }
}

/* Responses that are not a 101 the client may accept. */
struct bad_response {
    const char *name;
    const char *resp;
    int parsed; /* 1: the head parses (and fails the checks), 0: not */
    const char *reason;
};

#define S101   "HTTP/1.1 101 Switching Protocols\r\n"
#define UPG    "Upgrade: websocket\r\n"
#define CONN   "Connection: Upgrade\r\n"
#define ACCEPT "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
#define GOOD   S101 UPG CONN ACCEPT

static const struct bad_response bad_responses[] = {
    {"HTTP/1.0", "HTTP/1.0 101 Switching Protocols\r\n" UPG CONN ACCEPT "\r\n",
     0, "response is not HTTP/1.1"},
    {"HTTP/2", "HTTP/2.0 101 x\r\n\r\n", 0, "response is not HTTP/1.1"},
    {"lower-case http", "http/1.1 101 x\r\n\r\n", 0, "malformed status line"},
    {"no status code", "HTTP/1.1 \r\n\r\n", 0, "malformed status line"},
    {"two-digit status", "HTTP/1.1 10 x\r\n\r\n", 0, "malformed status code"},
    {"letters in the status", "HTTP/1.1 1x1 x\r\n\r\n", 0,
     "malformed status code"},
    {"status 099", "HTTP/1.1 099 x\r\n\r\n", 0, "malformed status code"},
    {"four-digit status", "HTTP/1.1 1011 x\r\n\r\n", 0,
     "malformed status line"},
    {"control byte in the phrase", "HTTP/1.1 101 a\x01\r\n\r\n", 0,
     "control character in reason phrase"},
    {"folded header", S101 UPG " more\r\n\r\n", 0,
     "obsolete line folding in header section"},
    {"space before a colon", S101 "Upgrade : websocket\r\n\r\n", 0,
     "whitespace before colon in header field"},
    {"bad Content-Length", "HTTP/1.1 404 x\r\nContent-Length: 1a\r\n\r\n", 0,
     "malformed Content-Length header"},
    {"repeated Content-Length",
     "HTTP/1.1 404 x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 0,
     "repeated Content-Length header"},
    {"nine extension headers",
     GOOD "Sec-WebSocket-Extensions: a\r\nSec-WebSocket-Extensions: a\r\n"
          "Sec-WebSocket-Extensions: a\r\nSec-WebSocket-Extensions: a\r\n"
          "Sec-WebSocket-Extensions: a\r\nSec-WebSocket-Extensions: a\r\n"
          "Sec-WebSocket-Extensions: a\r\nSec-WebSocket-Extensions: a\r\n"
          "Sec-WebSocket-Extensions: a\r\n\r\n",
     0, "too many Sec-WebSocket-Extensions headers"},

    {"200", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 1,
     "handshake refused"},
    {"302", "HTTP/1.1 302 Found\r\nLocation: /y\r\n\r\n", 1,
     "handshake refused"},
    {"no Upgrade", S101 CONN ACCEPT "\r\n", 1, "missing Upgrade header"},
    {"Upgrade h2c", S101 "Upgrade: h2c\r\n" CONN ACCEPT "\r\n", 1,
     "Upgrade header is not websocket"},
    {"Upgrade list", S101 "Upgrade: websocket, h2c\r\n" CONN ACCEPT "\r\n", 1,
     "Upgrade header is not websocket"},
    {"Upgrade twice", S101 UPG UPG CONN ACCEPT "\r\n", 1,
     "Upgrade header is not websocket"},
    {"no Connection", S101 UPG ACCEPT "\r\n", 1, "missing Connection header"},
    {"Connection close", S101 UPG "Connection: close\r\n" ACCEPT "\r\n", 1,
     "Connection header lacks the upgrade option"},
    {"no Accept", S101 UPG CONN "\r\n", 1,
     "missing Sec-WebSocket-Accept header"},
    {"Accept twice", GOOD ACCEPT "\r\n", 1,
     "repeated Sec-WebSocket-Accept header"},
    {"Accept of another key",
     S101 UPG CONN "Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=\r\n\r\n",
     1, "Sec-WebSocket-Accept does not match the key sent"},
    {"Accept in lower case",
     S101 UPG CONN "Sec-WebSocket-Accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n\r\n",
     1, "Sec-WebSocket-Accept does not match the key sent"},
    {"empty Accept", S101 UPG CONN "Sec-WebSocket-Accept:\r\n\r\n", 1,
     "Sec-WebSocket-Accept does not match the key sent"},
    {"extension not offered",
     GOOD "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", 1,
     "Sec-WebSocket-Extensions answers no offer"},
    {"subprotocol not offered", GOOD "Sec-WebSocket-Protocol: other\r\n\r\n", 1,
     "Sec-WebSocket-Protocol names a subprotocol not offered"},
    {"subprotocol only a prefix of one offered",
     GOOD "Sec-WebSocket-Protocol: super\r\n\r\n", 1,
     "Sec-WebSocket-Protocol names a subprotocol not offered"},
    {"subprotocol in another case", GOOD "Sec-WebSocket-Protocol: Chat\r\n\r\n",
     1, "Sec-WebSocket-Protocol names a subprotocol not offered"},
    {"two subprotocols", GOOD "Sec-WebSocket-Protocol: chat, superchat\r\n\r\n",
     1, "Sec-WebSocket-Protocol names a subprotocol not offered"},
    {"subprotocol twice",
     GOOD
     "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
     1, "repeated Sec-WebSocket-Protocol header"},
};

static void
test_bad_responses(void)
{
    for (size_t i = 0; i < NELEM(bad_responses); i++) {
        const struct bad_response *b = &bad_responses[i];
        const char *end = strstr(b->resp, "\r\n\r\n");
        ssize_t head = b->parsed ? end + 4 - b->resp : WS_FAIL;
        unsigned code = 0;
        if (b->parsed) {
            code = (unsigned)atoi(b->resp + 9);
        }
        check_every_split(b->name, b->resp, &rfc_expect, head, WS_FAIL, code,
                          b->reason);
    }
}

/* Responses a strict client still accepts. */
static const char *const good_responses[] = {
    GOOD "\r\n",
    "HTTP/1.1 101\r\n" UPG CONN ACCEPT "\r\n",
    "HTTP/1.1 101 \r\n" UPG CONN ACCEPT "\r\n",
    "HTTP/1.2 101 Switching Protocols\n" UPG CONN ACCEPT "\n",
    S101 "upgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\n"
         "sec-websocket-accept:" RFC_ACCEPT "\r\n\r\n",
    S101 UPG "Connection: x\r\nConnection: Upgrade\r\n" ACCEPT "\r\n",
    GOOD "Sec-WebSocket-Protocol: superchat\r\nServer: x\r\n\r\n",
    GOOD "Sec-WebSocket-Protocol: chat\r\nContent-Length: 0\r\n\r\n",
};

static void
test_good_responses(void)
{
    for (size_t i = 0; i < NELEM(good_responses); i++) {
        const char *resp = good_responses[i];
        char name[64];
        snprintf(name, sizeof(name), "accepted response %zu", i + 1);
        check_every_split(name, resp, &rfc_expect, (ssize_t)strlen(resp), 0, 0,
                          NULL);
    }
    /* A head over the limit fails as soon as the limit is passed. */
    char big[HEAD_MAX + 64];
    memset(big, 'a', sizeof(big));
    memcpy(big, "HTTP/1.1 101 x\r\nX: ", 19);
    struct ws_handshake_response r;
    struct ws_error err = {0, NULL};
    memset(&r, 0, sizeof(r));
    is_int(ws_handshake_response_parse(&r, big, HEAD_MAX, HEAD_MAX, &err),
           WS_AGAIN, "a head of max_bytes without its end: more is needed");
    is_int(ws_handshake_response_parse(&r, big, HEAD_MAX + 1, HEAD_MAX, &err),
           WS_FAIL, "a head over max_bytes: refused");
    is_str(err.reason, "response header section too large",
           "a head over max_bytes: reason");
}

int
main(void)
{
    tap_seed();
    test_key();
    test_request();
    test_bad_requests();
    test_server_101();
    test_server_refusals();
    test_chunked_refusal();
    test_bad_responses();
    test_good_responses();
    return tap_done();
}
