/* SPDX-License-Identifier: MIT */
/*
 * The server side of the WebSocket opening handshake (RFC 6455 §4.2): an
 * in-place parser of the client's HTTP/1.1 request (message syntax from RFC
 * 9112 and RFC 9110), the §4.2.1 checks in a fixed order, the §4.2.2 accept
 * value and the response writers. It does no I/O and never allocates; the
 * only library it calls is OpenSSL's EVP, for SHA-1.
 */
#include "autoconf.h"

#include "ws_handshake.h"

#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

/* RFC 6455 §1.3: the GUID appended to the key before hashing. */
#define WS_GUID     "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_GUID_LEN (sizeof(WS_GUID) - 1)

/* The longest key ws_handshake_accept_key() hashes; valid keys have 24. */
#define ACCEPT_KEY_MAX 128

#define SHA1_LEN 20

/* What the header pass saw; the ordered checks run on it afterwards. */
struct seen {
    unsigned n_host;          /* Host header lines */
    unsigned n_version;       /* Sec-WebSocket-Version header lines */
    unsigned n_key;           /* Sec-WebSocket-Key header lines */
    struct ws_span version;   /* the first Sec-WebSocket-Version value */
    bool has_upgrade;         /* at least one Upgrade header */
    bool upgrade_websocket;   /* some Upgrade header lists websocket */
    bool has_connection;      /* at least one Connection header */
    bool connection_upgrade;  /* some Connection header lists upgrade */
    bool has_body_length;     /* a Content-Length other than "0" */
    bool has_transfer_coding; /* any Transfer-Encoding header */
};

/* The most bytes of the client's path a 404 quotes, escapes included. */
#define QUOTED_PATH_MAX 64
_Static_assert(QUOTED_PATH_MAX + 3 == WS_QUOTED_PATH_MAX, "room for ...");

static ssize_t
fail(struct ws_error *err, uint16_t status, const char *reason)
{
    err->code = status;
    err->reason = reason;
    return WS_FAIL;
}

/*
 * RFC 9112 §3: request-line = method SP request-target SP HTTP-version,
 * with exactly one space at each SP. Returns NULL, or the reason for a 400.
 */
static const char *
parse_request_line(struct ws_handshake_request *r, struct ws_span line)
{
    const char *sp1 = memchr(line.p, ' ', line.len);
    if (sp1 == NULL || sp1 == line.p) {
        return "malformed request line";
    }
    r->method = (struct ws_span){line.p, (size_t)(sp1 - line.p)};
    for (size_t i = 0; i < r->method.len; i++) {
        /* RFC 9110 §9.1: a method is a token. */
        if (!ws_http_is_tchar((unsigned char)r->method.p[i])) {
            return "request method is not a token";
        }
    }

    const char *t = sp1 + 1;
    size_t rest = line.len - r->method.len - 1;
    const char *sp2 = memchr(t, ' ', rest);
    if (sp2 == NULL || sp2 == t) {
        return "malformed request line";
    }
    r->target = (struct ws_span){t, (size_t)(sp2 - t)};
    for (size_t i = 0; i < r->target.len; i++) {
        /* RFC 3986 §2: a URI holds only visible ASCII characters. */
        unsigned char c = (unsigned char)r->target.p[i];
        if (c <= 0x20 || c >= 0x7f) {
            return "malformed request target";
        }
    }

    const char *v = sp2 + 1;
    size_t vlen = rest - r->target.len - 1;
    if (memchr(v, ' ', vlen) != NULL) {
        return "malformed request line";
    }
    /* RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive. */
    if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' ||
        v[6] != '.' || v[7] < '0' || v[7] > '9') {
        return "malformed HTTP version in request line";
    }
    /* RFC 6455 §4.1 item 2, §4.2.1 item 1: HTTP/1.1 or a later 1.x. */
    if (v[5] == '1' && v[7] == '0') {
        return "HTTP/1.0 request cannot be upgraded (HTTP/1.1 is needed)";
    }
    if (v[5] != '1') {
        return "unsupported HTTP version (this server speaks HTTP/1.1)";
    }
    return NULL;
}

/* Records one header field of interest to the handshake. */
static ssize_t
take_field(struct ws_handshake_request *r, struct seen *s, struct ws_span name,
           struct ws_span value, struct ws_error *err)
{
    if (ws_http_span_is_word(name, "host")) {
        if (s->n_host++ == 0) {
            r->host = value;
        }
    } else if (ws_http_span_is_word(name, "upgrade")) {
        /* RFC 6455 §4.2.1 item 3; every occurrence is part of the list. */
        s->has_upgrade = true;
        if (ws_http_list_has_word(value, "websocket")) {
            s->upgrade_websocket = true;
        }
    } else if (ws_http_span_is_word(name, "connection")) {
        /* RFC 6455 §4.2.1 item 4; every occurrence is part of the list. */
        s->has_connection = true;
        if (ws_http_list_has_word(value, "upgrade")) {
            s->connection_upgrade = true;
        }
    } else if (ws_http_span_is_word(name, "content-length")) {
        if (!ws_http_span_equals(value, "0")) {
            s->has_body_length = true;
        }
    } else if (ws_http_span_is_word(name, "transfer-encoding")) {
        s->has_transfer_coding = true;
    } else if (ws_http_span_is_word(name, "sec-websocket-version")) {
        if (s->n_version++ == 0) {
            s->version = value;
        }
    } else if (ws_http_span_is_word(name, "sec-websocket-key")) {
        if (s->n_key++ == 0) {
            r->key = value;
        }
    } else if (ws_http_span_is_word(name, "sec-websocket-extensions")) {
        /* RFC 6455 §9.1: the header may be repeated; order matters. */
        if (r->n_extensions == WS_HANDSHAKE_EXTENSIONS_MAX) {
            return fail(err, 431, "too many Sec-WebSocket-Extensions headers");
        }
        r->extensions[r->n_extensions++] = value;
    } else if (ws_http_span_is_word(name, "user-agent")) {
        if (r->user_agent.p == NULL) {
            r->user_agent = value;
        }
    } else if (ws_http_span_is_word(name, "origin")) {
        if (r->origin.p == NULL) {
            r->origin = value;
        }
    }
    return 0;
}

/*
 * The syntax pass over the complete header section buf[0..end): the request
 * line, then each field line, counted against the limits as it comes.
 */
static ssize_t
parse_section(struct ws_handshake_request *r, struct seen *s, const char *buf,
              size_t end, const struct ws_handshake_config *cfg,
              struct ws_error *err)
{
    size_t pos = 0;
    struct ws_span line = ws_http_next_line(buf, end, &pos);

    if (line.len == 0) {
        return fail(err, 400, "empty request line");
    }
    const char *reason = parse_request_line(r, line);
    if (reason != NULL) {
        return fail(err, 400, reason);
    }
    while (pos < end) {
        line = ws_http_next_line(buf, end, &pos);
        if (line.len == 0) {
            break;
        }
        /* RFC 6585 §5: 431 for a header section the server will not take. */
        if (++r->n_headers > cfg->max_headers) {
            return fail(err, 431, "too many header fields");
        }
        struct ws_span name = {NULL, 0};
        struct ws_span value = {NULL, 0};
        reason = ws_http_parse_field(line, &name, &value);
        if (reason != NULL) {
            return fail(err, 400, reason);
        }
        if (take_field(r, s, name, value, err) == WS_FAIL) {
            return WS_FAIL;
        }
    }
    return 0;
}

/*
 * RFC 6455 §4.2.1 item 5: the key is the base64 (RFC 4648 §4) of a 16-byte
 * nonce, so exactly 22 alphabet characters then "==". The 22nd character
 * carries 2 bits of the nonce and 4 pad bits; RFC 4648 §3.5 lets a decoder
 * reject pad bits that are not zero, and wsd does, since only a broken
 * encoder sets them.
 */
static int
b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

static bool
key_is_valid(struct ws_span key)
{
    int v = 0;

    if (key.len != 24 || key.p[22] != '=' || key.p[23] != '=') {
        return false;
    }
    for (size_t i = 0; i < 22; i++) {
        v = b64_value(key.p[i]);
        if (v < 0) {
            return false;
        }
    }
    return (v & 0x0f) == 0;
}

/* The semantic checks, in the order the header contract lists them. */

/*
 * For an absolute-form target ("http://host:port/path?query", scheme
 * case-insensitive, RFC 3986 §3.1), returns the length of the scheme and
 * authority, so that what follows is the path; 0 when target is not an
 * http or https URI. An authority with no path leaves an empty path.
 */
static size_t
absolute_form_prefix(struct ws_span target)
{
    static const char *const schemes[] = {"http://", "https://"};

    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t n = strlen(schemes[i]);
        if (target.len > n && strncasecmp(target.p, schemes[i], n) == 0) {
            while (n < target.len && target.p[n] != '/' && target.p[n] != '?') {
                n++;
            }
            return n;
        }
    }
    return 0;
}
static ssize_t
check_request(struct ws_handshake_request *r, const struct seen *s,
              const struct ws_handshake_config *cfg, struct ws_error *err)
{
    /* RFC 6455 §4.2.1 item 1: a GET (case-sensitive, RFC 9110 §9.1). */
    if (!ws_http_span_equals(r->method, "GET")) {
        return fail(err, 405, "method must be GET");
    }
    /* RFC 6455 §4.2.1 item 1: the target is the resource name (an
     * absolute path with an optional query: origin-form, RFC 9112
     * §3.2.1) or an absolute http/https URI containing it (absolute-form,
     * which §3.2.2 says a server MUST accept). */
    struct ws_span res = r->target;
    if (res.p[0] != '/') {
        size_t skip = absolute_form_prefix(res);
        if (skip == 0) {
            return fail(err, 400,
                        "request target must be a path or an http(s) URI");
        }
        res.p += skip;
        res.len -= skip;
    }
    /* A fragment is no part of a request target (RFC 9112 §3.2; RFC 6455
     * §3: fragment identifiers MUST NOT be used in WebSocket URIs). */
    if (memchr(res.p, '#', res.len) != NULL) {
        return fail(err, 400, "request target must not hold a fragment (#)");
    }
    const char *q = memchr(res.p, '?', res.len);
    size_t path_len = q != NULL ? (size_t)(q - res.p) : res.len;
    r->path = (struct ws_span){res.p, path_len};
    if (q != NULL) {
        r->query = (struct ws_span){q + 1, res.len - path_len - 1};
    }
    if (!ws_http_span_equals(r->path, cfg->path)) {
        return fail(err, 404, "no WebSocket endpoint at this path");
    }
    /* RFC 9112 §3.2: exactly one Host, else 400. */
    if (s->n_host == 0) {
        return fail(err, 400, "missing Host header");
    }
    if (s->n_host > 1) {
        return fail(err, 400, "repeated Host header");
    }
    /* RFC 9110 §9.3.1 gives content in a GET no meaning, and the bytes
     * after the header section are WebSocket frames: refuse a body. */
    if (s->has_body_length) {
        return fail(err, 400, "handshake request must not have a body");
    }
    if (s->has_transfer_coding) {
        return fail(err, 400, "Transfer-Encoding not allowed in handshake");
    }
    /* RFC 6455 §4.2.1 item 3; RFC 9110 §15.5.22: 426 names the protocol. */
    if (!s->has_upgrade) {
        return fail(err, 426, "missing Upgrade header");
    }
    if (!s->upgrade_websocket) {
        return fail(err, 426, "Upgrade header does not offer websocket");
    }
    /* RFC 6455 §4.2.1 item 4. */
    if (!s->has_connection) {
        return fail(err, 400, "missing Connection header");
    }
    if (!s->connection_upgrade) {
        return fail(err, 400, "Connection header lacks the upgrade option");
    }
    /* RFC 6455 §4.2.1 item 6, §11.3.5 (at most once); §4.4: another version
     * gets a 426 that lists the versions spoken. */
    if (s->n_version == 0) {
        return fail(err, 400, "missing Sec-WebSocket-Version header");
    }
    if (s->n_version > 1) {
        return fail(err, 400, "repeated Sec-WebSocket-Version header");
    }
    if (!ws_http_span_equals(s->version, "13")) {
        return fail(
            err, 426,
            "unsupported Sec-WebSocket-Version (this server speaks 13)");
    }
    /* RFC 6455 §4.2.1 item 5; §11.3.1: the key must not be repeated. */
    if (s->n_key == 0) {
        return fail(err, 400, "missing Sec-WebSocket-Key header");
    }
    if (s->n_key > 1) {
        return fail(err, 400, "repeated Sec-WebSocket-Key header");
    }
    if (!key_is_valid(r->key)) {
        return fail(err, 400, "Sec-WebSocket-Key must be 16 bytes in base64");
    }
    return 0;
}

ssize_t
ws_handshake_parse(struct ws_handshake_request *r, const char *buf, size_t len,
                   const struct ws_handshake_config *cfg, struct ws_error *err)
{
    size_t end = 0;
    struct seen s;

    if (!ws_http_find_end(&r->scanned, buf, len, cfg->max_bytes, &end)) {
        /* RFC 6585 §5: 431 as soon as the section cannot fit the limit. */
        if (len > cfg->max_bytes) {
            return fail(err, 431, "request header section too large");
        }
        return WS_AGAIN;
    }

    /* A call after the section is complete parses it afresh. */
    size_t scanned = r->scanned;
    memset(r, 0, sizeof(*r));
    r->scanned = scanned;
    r->sha1 = cfg->sha1;
    r->sha1_ctx = cfg->sha1_ctx;
    memset(&s, 0, sizeof(s));

    if (parse_section(r, &s, buf, end, cfg, err) == WS_FAIL ||
        check_request(r, &s, cfg, err) == WS_FAIL) {
        return WS_FAIL;
    }
    return (ssize_t)end;
}

bool
ws_handshake_is_tls_record(const char *buf, size_t len)
{
    const unsigned char *p = (const unsigned char *)buf;

    /* ContentType handshake(22); ProtocolVersion {3, 0..4}: SSL 3.0 to
     * TLS 1.3's legacy values, all a ClientHello's record may carry. */
    return len > 0 && p[0] == 22 && (len < 2 || p[1] == 3) &&
           (len < 3 || p[2] <= 4);
}

/* SHA-1 of in[0..len) into md, in ctx when there is one; true if done. */
static bool
digest(const EVP_MD *sha1, EVP_MD_CTX *ctx, const unsigned char *in, size_t len,
       unsigned char *md, unsigned int *md_len)
{
    if (ctx == NULL) {
        return EVP_Digest(in, len, md, md_len, sha1, NULL) == 1;
    }
    return EVP_DigestInit_ex(ctx, sha1, NULL) == 1 &&
           EVP_DigestUpdate(ctx, in, len) == 1 &&
           EVP_DigestFinal_ex(ctx, md, md_len) == 1;
}

/* ws_handshake_accept_key with the digest sha1 (NULL: EVP_sha1()) and
 * its context ctx (may be NULL). */
static void
accept_key(const EVP_MD *sha1, EVP_MD_CTX *ctx, const char *key, size_t key_len,
           char out[WS_HANDSHAKE_ACCEPT_LEN + 1])
{
    unsigned char input[ACCEPT_KEY_MAX + WS_GUID_LEN];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    out[0] = '\0';
    if (key_len > ACCEPT_KEY_MAX) {
        return;
    }
    /* RFC 6455 §4.2.2 item 5.4: SHA-1 of the key as sent (not decoded)
     * followed by the GUID, then base64. */
    if (key_len > 0) {
        memcpy(input, key, key_len);
    }
    memcpy(input + key_len, WS_GUID, WS_GUID_LEN);
    if (!digest(sha1 != NULL ? sha1 : EVP_sha1(), ctx, input,
                key_len + WS_GUID_LEN, md, &md_len) ||
        md_len != SHA1_LEN) {
        return;
    }
    out[ws_http_base64(out, md, SHA1_LEN)] = '\0';
}

void
ws_handshake_accept_key(const char *key, size_t key_len,
                        char out[WS_HANDSHAKE_ACCEPT_LEN + 1])
{
    accept_key(NULL, NULL, key, key_len, out);
}

size_t
ws_handshake_quote_path(char out[WS_QUOTED_PATH_MAX + 1], const char *p,
                        size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t used = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        bool visible = c > 0x20 && c < 0x7f;
        size_t n = visible ? 1 : 3;
        if (used + n > QUOTED_PATH_MAX) {
            memcpy(out + used, "...", 3);
            used += 3;
            break;
        }
        if (visible) {
            out[used] = (char)c;
        } else {
            out[used] = '%';
            out[used + 1] = hex[c >> 4];
            out[used + 2] = hex[c & 0x0f];
        }
        used += n;
    }
    out[used] = '\0';
    return used;
}

static void
put_quoted_path(struct ws_http_writer *w, struct ws_span path)
{
    char quoted[WS_QUOTED_PATH_MAX + 1];
    ws_http_put(w, quoted, ws_handshake_quote_path(quoted, path.p, path.len));
}

/*
 * The body of a refusal: the reason and a newline; for a 404 with the
 * request and the configuration at hand, the path asked for and the
 * endpoint's, so that the client sees its mistake.
 */
static void
put_refusal_body(struct ws_http_writer *w, const struct ws_error *err,
                 unsigned status, const struct ws_handshake_request *r,
                 const struct ws_handshake_config *cfg)
{
    if (status == 404 && r != NULL && cfg != NULL && r->path.p != NULL) {
        ws_http_put_str(w, "no WebSocket endpoint at ");
        if (r->path.len == 0) {
            ws_http_put_str(w, "an empty path");
        } else {
            put_quoted_path(w, r->path);
        }
        ws_http_put_str(w, "; this server's is ");
        ws_http_put_str(w, cfg->path);
    } else {
        ws_http_put_str(w, err->reason != NULL
                               ? err->reason
                               : ws_handshake_status_text(status));
    }
    ws_http_put_str(w, "\n");
}

size_t
ws_handshake_response_101(char *out, size_t cap,
                          const struct ws_handshake_request *r,
                          const char *extensions, const char *server)
{
    char accept[WS_HANDSHAKE_ACCEPT_LEN + 1];
    struct ws_http_writer w;

    accept_key(r->sha1, r->sha1_ctx, r->key.p, r->key.len, accept);
    if (accept[0] == '\0') {
        return 0;
    }
    ws_http_writer_init(&w, out, cap);
    /* RFC 6455 §4.2.2 item 5: status 101, Upgrade, Connection, Accept. */
    ws_http_put_str(&w, "HTTP/1.1 101 Switching Protocols\r\n"
                        "Upgrade: websocket\r\n"
                        "Connection: Upgrade\r\n"
                        "Sec-WebSocket-Accept: ");
    ws_http_put_str(&w, accept);
    ws_http_put_str(&w, "\r\n");
    if (extensions != NULL) {
        ws_http_put_str(&w, "Sec-WebSocket-Extensions: ");
        ws_http_put_str(&w, extensions);
        ws_http_put_str(&w, "\r\n");
    }
    if (server != NULL) {
        ws_http_put_str(&w, "Server: ");
        ws_http_put_str(&w, server);
        ws_http_put_str(&w, "\r\n");
    }
    ws_http_put_str(&w, "\r\n");
    return ws_http_writer_done(&w);
}

size_t
ws_handshake_response_error(char *out, size_t cap, const struct ws_error *err,
                            const struct ws_handshake_request *r,
                            const struct ws_handshake_config *cfg,
                            const char *server)
{
    struct ws_http_writer w;
    struct ws_http_writer body;
    unsigned status = err->code;

    if (status < 400 || status > 599) {
        status = 500;
    }
    /* Measured first, for Content-Length. */
    ws_http_writer_init(&body, NULL, SIZE_MAX);
    put_refusal_body(&body, err, status, r, cfg);
    ws_http_writer_init(&w, out, cap);

    ws_http_put_str(&w, "HTTP/1.1 ");
    ws_http_put_uint(&w, status);
    ws_http_put_str(&w, " ");
    ws_http_put_str(&w, ws_handshake_status_text(status));
    ws_http_put_str(&w, "\r\n");
    if (server != NULL) {
        ws_http_put_str(&w, "Server: ");
        ws_http_put_str(&w, server);
        ws_http_put_str(&w, "\r\n");
    }
    ws_http_put_str(&w, "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Length: ");
    ws_http_put_uint(&w, body.len);
    if (status == 426) {
        /* RFC 9110 §15.5.22 and RFC 6455 §4.4: name the protocol and the
         * versions this server speaks; §7.8: whoever sends Upgrade lists
         * "upgrade" in Connection too. */
        ws_http_put_str(&w,
                        "\r\nConnection: Upgrade, close\r\n"
                        "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
    } else {
        ws_http_put_str(&w, "\r\nConnection: close\r\n");
    }
    if (status == 405) {
        /* RFC 9110 §15.5.6: a 405 lists the allowed methods. */
        ws_http_put_str(&w, "Allow: GET\r\n");
    }
    ws_http_put_str(&w, "\r\n");
    put_refusal_body(&w, err, status, r, cfg);
    return ws_http_writer_done(&w);
}

const char *
ws_handshake_status_text(unsigned status)
{
    /* RFC 9110 §15 and RFC 6585 §5 (431). */
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 426:
        return "Upgrade Required";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        /* RFC 9112 §4: the reason phrase may be empty. */
        return "";
    }
}
