/* SPDX-License-Identifier: MIT */
/*
 * The client side of the WebSocket opening handshake (RFC 6455 §4.1): the
 * request writer, the response parser (message syntax from RFC 9112 and
 * RFC 9110, shared with the server side through ws_http) and the §4.1
 * checks of the response. No I/O, no allocation, no random numbers.
 */
#include "autoconf.h"

#include "ws_handshake_client.h"

#include <string.h>

/* The fields the handshake writes itself, which a caller's extra line may
 * not repeat: each has its own option or is the protocol's to set. */
static const char *const own_fields[] = {
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-accept",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
    "origin",
    "user-agent",
};

static ssize_t
fail(struct ws_error *err, uint16_t code, const char *reason)
{
    err->code = code;
    err->reason = reason;
    return WS_FAIL;
}

void
ws_handshake_client_key(const uint8_t nonce[WS_HANDSHAKE_NONCE_LEN],
                        char out[WS_HANDSHAKE_KEY_LEN + 1])
{
    out[ws_http_base64(out, nonce, WS_HANDSHAKE_NONCE_LEN)] = '\0';
}

/* True when s holds no byte below 0x20 but HTAB, and no DEL. */
static bool
is_field_value(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return false;
        }
    }
    return true;
}

int
ws_handshake_client_check_header(const char *line, struct ws_error *err)
{
    struct ws_span name = {NULL, 0};
    struct ws_span value = {NULL, 0};
    struct ws_span l = {line, strlen(line)};

    if (l.len == 0) {
        return (int)fail(err, 0, "empty header line");
    }
    const char *reason = ws_http_parse_field(l, &name, &value);
    if (reason != NULL) {
        return (int)fail(err, 0, reason);
    }
    for (size_t i = 0; i < sizeof(own_fields) / sizeof(own_fields[0]); i++) {
        if (ws_http_span_is_word(name, own_fields[i])) {
            return (int)fail(err, 0,
                             "the handshake sets this header field itself");
        }
    }
    return 0;
}

static void
put_field(struct ws_http_writer *w, const char *name, const char *value)
{
    ws_http_put_str(w, name);
    ws_http_put_str(w, ": ");
    ws_http_put_str(w, value);
    ws_http_put_str(w, "\r\n");
}

/* The checks of the request's parts; NULL or the problem. */
static const char *
check_request(const struct ws_client_request *req, struct ws_error *err)
{
    const char *t = req->target;

    /* §4.1 item 1 and §3: the resource name is a path with an optional
     * query, in visible ASCII (RFC 3986 §2). */
    if (t == NULL || t[0] != '/') {
        return "request target must begin with /";
    }
    for (; *t != '\0'; t++) {
        if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f) {
            return "request target holds a byte that is not visible ASCII";
        }
    }
    if (req->host == NULL || req->host[0] == '\0' ||
        !is_field_value(req->host)) {
        return "Host must be a non-empty value without control bytes";
    }
    if (req->key == NULL || strlen(req->key) != WS_HANDSHAKE_KEY_LEN) {
        return "Sec-WebSocket-Key must be 24 characters";
    }
    const char *opt[] = {req->origin, req->protocols, req->extensions,
                         req->user_agent};
    for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
        if (opt[i] != NULL && !is_field_value(opt[i])) {
            return "control character in header field value";
        }
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        if (ws_handshake_client_check_header(req->headers[i], err) != 0) {
            return err->reason;
        }
    }
    return NULL;
}

ssize_t
ws_handshake_client_request(char *out, size_t cap,
                            const struct ws_client_request *req,
                            struct ws_error *err)
{
    struct ws_http_writer w;
    const char *reason = check_request(req, err);

    if (reason != NULL) {
        return fail(err, 0, reason);
    }
    ws_http_writer_init(&w, out, cap);
    /* §4.1 items 1-10, in the order of the RFC's example (§1.2). */
    ws_http_put_str(&w, "GET ");
    ws_http_put_str(&w, req->target);
    ws_http_put_str(&w, " HTTP/1.1\r\n");
    put_field(&w, "Host", req->host);
    ws_http_put_str(&w, "Upgrade: websocket\r\n"
                        "Connection: Upgrade\r\n");
    put_field(&w, "Sec-WebSocket-Key", req->key);
    ws_http_put_str(&w, "Sec-WebSocket-Version: 13\r\n");
    if (req->origin != NULL) {
        put_field(&w, "Origin", req->origin);
    }
    if (req->protocols != NULL) {
        put_field(&w, "Sec-WebSocket-Protocol", req->protocols);
    }
    if (req->extensions != NULL) {
        put_field(&w, "Sec-WebSocket-Extensions", req->extensions);
    }
    if (req->user_agent != NULL) {
        put_field(&w, "User-Agent", req->user_agent);
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        ws_http_put_str(&w, req->headers[i]);
        ws_http_put_str(&w, "\r\n");
    }
    ws_http_put_str(&w, "\r\n");
    size_t n = ws_http_writer_done(&w);
    if (n == 0) {
        return fail(err, 0, "request does not fit its buffer");
    }
    return (ssize_t)n;
}

/*
 * RFC 9112 §4: status-line = HTTP-version SP status-code SP
 * [ reason-phrase ]. A missing SP after the code is taken as an empty
 * phrase, as most clients do. Returns NULL, or the problem.
 */
static const char *
parse_status_line(struct ws_handshake_response *r, struct ws_span line)
{
    const char *v = line.p;

    if (line.len < 12 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' ||
        v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9' || v[8] != ' ') {
        return "malformed status line";
    }
    /* §4.1: the handshake is HTTP/1.1; a 1.0 server cannot upgrade. */
    if (v[5] != '1' || v[7] == '0') {
        return "response is not HTTP/1.1";
    }
    unsigned status = 0;
    for (size_t i = 9; i < 12; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return "malformed status code";
        }
        status = status * 10 + (unsigned)(v[i] - '0');
    }
    if (status < 100) {
        return "malformed status code";
    }
    if (line.len > 12 && v[12] != ' ') {
        return "malformed status line";
    }
    for (size_t i = 13; i < line.len; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return "control character in reason phrase";
        }
    }
    r->status = status;
    r->phrase = line.len > 13 ? (struct ws_span){v + 13, line.len - 13}
                              : (struct ws_span){v + line.len, 0};
    return NULL;
}

/* RFC 9110 §8.6: Content-Length = 1*DIGIT; NULL or the problem. */
static const char *
take_content_length(struct ws_handshake_response *r, struct ws_span v)
{
    uint64_t n = 0;

    if (r->has_content_length) {
        return "repeated Content-Length header";
    }
    if (v.len == 0 || v.len > 18) {
        return "malformed Content-Length header";
    }
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '9') {
            return "malformed Content-Length header";
        }
        n = n * 10 + (uint64_t)(v.p[i] - '0');
    }
    r->content_length = n;
    r->has_content_length = true;
    return NULL;
}

static uint8_t
count(uint8_t n)
{
    return n < UINT8_MAX ? (uint8_t)(n + 1) : n;
}

/* Records one header field of interest; NULL or the problem. */
static const char *
take_field(struct ws_handshake_response *r, struct ws_span name,
           struct ws_span value)
{
    if (ws_http_span_is_word(name, "upgrade")) {
        /* §4.1 item 2 (of the response): the value is websocket. */
        r->upgrade_websocket = (r->n_upgrade == 0 || r->upgrade_websocket) &&
                               ws_http_span_is_word(value, "websocket");
        r->n_upgrade = count(r->n_upgrade);
    } else if (ws_http_span_is_word(name, "connection")) {
        r->has_connection = true;
        if (ws_http_list_has_word(value, "upgrade")) {
            r->connection_upgrade = true;
        }
    } else if (ws_http_span_is_word(name, "sec-websocket-accept")) {
        if (r->n_accept == 0) {
            r->accept = value;
        }
        r->n_accept = count(r->n_accept);
    } else if (ws_http_span_is_word(name, "sec-websocket-protocol")) {
        if (r->n_protocol == 0) {
            r->protocol = value;
        }
        r->n_protocol = count(r->n_protocol);
    } else if (ws_http_span_is_word(name, "sec-websocket-extensions")) {
        if (r->n_extensions == WS_HANDSHAKE_EXTENSIONS_MAX) {
            return "too many Sec-WebSocket-Extensions headers";
        }
        r->extensions[r->n_extensions++] = value;
    } else if (ws_http_span_is_word(name, "server")) {
        if (r->server.p == NULL) {
            r->server = value;
        }
    } else if (ws_http_span_is_word(name, "content-length")) {
        return take_content_length(r, value);
    } else if (ws_http_span_is_word(name, "transfer-encoding")) {
        /* RFC 9112 §7.1: a refusal's body may come in chunks. */
        r->chunked = r->chunked || ws_http_list_has_word(value, "chunked");
    }
    return NULL;
}

ssize_t
ws_handshake_response_parse(struct ws_handshake_response *r, const char *buf,
                            size_t len, size_t max_bytes, struct ws_error *err)
{
    size_t end = 0;

    if (!ws_http_find_end(&r->scanned, buf, len, max_bytes, &end)) {
        if (len > max_bytes) {
            return fail(err, 0, "response header section too large");
        }
        return WS_AGAIN;
    }
    /* A call after the head is complete parses it afresh. */
    size_t scanned = r->scanned;
    memset(r, 0, sizeof(*r));
    r->scanned = scanned;

    size_t pos = 0;
    struct ws_span line = ws_http_next_line(buf, end, &pos);
    const char *reason = parse_status_line(r, line);
    while (reason == NULL && pos < end) {
        line = ws_http_next_line(buf, end, &pos);
        if (line.len == 0) {
            break;
        }
        struct ws_span name = {NULL, 0};
        struct ws_span value = {NULL, 0};
        reason = ws_http_parse_field(line, &name, &value);
        if (reason == NULL) {
            reason = take_field(r, name, value);
        }
    }
    if (reason != NULL) {
        return fail(err, 0, reason);
    }
    return (ssize_t)end;
}

/* True when the comma-separated list s has the element v exactly (a
 * subprotocol is a token, compared as sent: RFC 6455 §11.5). */
static bool
list_has_token(const char *s, struct ws_span v)
{
    while (*s != '\0') {
        while (*s == ' ' || *s == '\t' || *s == ',') {
            s++;
        }
        const char *start = s;
        while (*s != '\0' && *s != ',' && *s != ' ' && *s != '\t') {
            s++;
        }
        if ((size_t)(s - start) == v.len && v.len > 0 &&
            memcmp(start, v.p, v.len) == 0) {
            return true;
        }
    }
    return false;
}

int
ws_handshake_response_check(const struct ws_handshake_response *r,
                            const struct ws_handshake_expect *e,
                            struct ws_error *err)
{
    char accept[WS_HANDSHAKE_ACCEPT_LEN + 1];
    uint16_t status = (uint16_t)r->status;

    /* §4.1: any status but 101 is handled per HTTP: not a WebSocket. */
    if (r->status != 101) {
        return (int)fail(err, status, "handshake refused");
    }
    if (r->n_upgrade == 0) {
        return (int)fail(err, status, "missing Upgrade header");
    }
    if (r->n_upgrade > 1 || !r->upgrade_websocket) {
        return (int)fail(err, status, "Upgrade header is not websocket");
    }
    if (!r->has_connection) {
        return (int)fail(err, status, "missing Connection header");
    }
    if (!r->connection_upgrade) {
        return (int)fail(err, status,
                         "Connection header lacks the upgrade option");
    }
    if (r->n_accept == 0) {
        return (int)fail(err, status, "missing Sec-WebSocket-Accept header");
    }
    if (r->n_accept > 1) {
        return (int)fail(err, status, "repeated Sec-WebSocket-Accept header");
    }
    ws_handshake_accept_key(e->key, strlen(e->key), accept);
    if (accept[0] == '\0') {
        /* SHA-1 failed here, which says nothing of the server. */
        return (int)fail(err, status,
                         "out of memory computing Sec-WebSocket-Accept");
    }
    if (!ws_http_span_equals(r->accept, accept)) {
        return (int)fail(err, status,
                         "Sec-WebSocket-Accept does not match the key sent");
    }
    /* §4.1 items 5 and 6 (of the response). */
    if (r->n_extensions > 0 && !e->extensions) {
        return (int)fail(err, status,
                         "Sec-WebSocket-Extensions answers no offer");
    }
    if (r->n_protocol > 1) {
        return (int)fail(err, status, "repeated Sec-WebSocket-Protocol header");
    }
    if (r->n_protocol == 1 &&
        (e->protocols == NULL || !list_has_token(e->protocols, r->protocol))) {
        return (int)fail(err, status,
                         "Sec-WebSocket-Protocol names a subprotocol not "
                         "offered");
    }
    return 0;
}
