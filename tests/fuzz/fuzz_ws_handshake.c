/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the opening handshake: ws_handshake_parse on the input
 * fed whole, then again growing by pieces (sizes drawn from a generator
 * seeded by the first byte) as a slow client would send it. Both ways must
 * give the same result, the same error and the same spans. Each growing
 * prefix is copied to the end of a heap block of its exact size, so that
 * AddressSanitizer sees any read past len. On success the 101 response is
 * written and ws_deflate_negotiate runs over the extension values; on
 * failure the error response is written (quoting no control byte); both
 * also into a block one byte too small, which must be refused without a
 * write past it.
 */
#include "autoconf.h"

#include "fuzz.h"

#include <stdbool.h>
#include <string.h>

#include "ws_deflate.h"
#include "ws_handshake.h"

#define RESPONSE_MAX 1024

static const struct ws_handshake_config hs_cfg = {"/ws", 8192, 64, NULL, NULL};

static const struct ws_deflate_config deflate_cfg = {true, 1,  8,     64,
                                                     15,   15, false, false};

/* The offset of span s within buf (0 for an absent span). */
static size_t
offset_of(struct ws_span s, const char *buf)
{
    return s.len == 0 ? 0 : (size_t)(s.p - buf) + 1;
}

static bool
same_span(struct ws_span a, const char *abuf, struct ws_span b,
          const char *bbuf)
{
    return a.len == b.len && offset_of(a, abuf) == offset_of(b, bbuf);
}

static void
check_same_request(const struct ws_handshake_request *a, const char *abuf,
                   const struct ws_handshake_request *b, const char *bbuf)
{
    FUZZ_CHECK(same_span(a->method, abuf, b->method, bbuf));
    FUZZ_CHECK(same_span(a->target, abuf, b->target, bbuf));
    FUZZ_CHECK(same_span(a->path, abuf, b->path, bbuf));
    FUZZ_CHECK(same_span(a->query, abuf, b->query, bbuf));
    FUZZ_CHECK(same_span(a->host, abuf, b->host, bbuf));
    FUZZ_CHECK(same_span(a->key, abuf, b->key, bbuf));
    FUZZ_CHECK(same_span(a->user_agent, abuf, b->user_agent, bbuf));
    FUZZ_CHECK(same_span(a->origin, abuf, b->origin, bbuf));
    FUZZ_CHECK(a->n_extensions == b->n_extensions);
    FUZZ_CHECK(a->n_headers == b->n_headers);
    for (unsigned i = 0; i < a->n_extensions; i++) {
        FUZZ_CHECK(same_span(a->extensions[i], abuf, b->extensions[i], bbuf));
    }
}

/*
 * Parses data[0..size) as it arrives in pieces. Returns the final result;
 * *r, *err and *buf (the last copy, which the spans point into; the caller
 * frees it) describe it.
 */
static ssize_t
parse_growing(const uint8_t *data, size_t size, uint32_t seed,
              struct ws_handshake_request *r, struct ws_error *err, char **buf)
{
    size_t span = (size_t)1 << (seed & 7);
    size_t len = 0;
    ssize_t n = WS_AGAIN;

    memset(r, 0, sizeof(*r));
    *buf = NULL;
    while (n == WS_AGAIN && len < size) {
        size_t piece = 1 + fuzz_rand(&seed) % span;
        len = size - len < piece ? size : len + piece;
        free(*buf);
        *buf = malloc(len);
        FUZZ_CHECK(*buf != NULL);
        memcpy(*buf, data, len);
        n = ws_handshake_parse(r, *buf, len, &hs_cfg, err);
        FUZZ_CHECK(n == WS_AGAIN || n == WS_FAIL ||
                   (n > 0 && (size_t)n <= len));
    }
    return n;
}

static void
check_response_101(const struct ws_handshake_request *r)
{
    struct ws_deflate_params params;
    char ext[256];
    char out[RESPONSE_MAX];
    bool deflate =
        ws_deflate_negotiate(&deflate_cfg, r->extensions, r->n_extensions,
                             &params, ext, sizeof(ext));
    size_t n;

    if (deflate) {
        FUZZ_CHECK(memchr(ext, '\0', sizeof(ext)) != NULL);
        FUZZ_CHECK(strncmp(ext, "permessage-deflate", 18) == 0);
        FUZZ_CHECK(params.server_max_window_bits >= WS_DEFLATE_WINDOW_MIN &&
                   params.server_max_window_bits <=
                       deflate_cfg.server_max_window_bits);
        FUZZ_CHECK(params.client_max_window_bits >= 8 &&
                   params.client_max_window_bits <= WS_DEFLATE_WINDOW_MAX);
    }
    n = ws_handshake_response_101(out, sizeof(out), r, deflate ? ext : NULL,
                                  "wsd");
    FUZZ_CHECK(n > 0 && n < sizeof(out));
    FUZZ_CHECK(strncmp(out, "HTTP/1.1 101 ", 13) == 0);
    char *tight = malloc(n - 1);
    FUZZ_CHECK(tight != NULL);
    FUZZ_CHECK(ws_handshake_response_101(tight, n - 1, r, deflate ? ext : NULL,
                                         "wsd") == 0);
    free(tight);
}

/* The refusal of r: whatever the client sent, the response holds no
 * control byte but CR and LF, and no byte outside ASCII (a 404 quotes the
 * client's path). */
static void
check_response_error(const struct ws_error *err,
                     const struct ws_handshake_request *r)
{
    char out[RESPONSE_MAX];
    char status[16];
    size_t n;

    FUZZ_CHECK(err->code >= 400 && err->code <= 599 && err->reason != NULL);
    n = ws_handshake_response_error(out, sizeof(out), err, r, &hs_cfg, "wsd");
    FUZZ_CHECK(n > 0 && n < sizeof(out));
    snprintf(status, sizeof(status), "HTTP/1.1 %u ", (unsigned)err->code);
    FUZZ_CHECK(strncmp(out, status, strlen(status)) == 0);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        FUZZ_CHECK((c >= 0x20 && c < 0x7f) || c == '\r' || c == '\n');
    }
    char *tight = malloc(n - 1);
    FUZZ_CHECK(tight != NULL);
    FUZZ_CHECK(
        ws_handshake_response_error(tight, n - 1, err, r, &hs_cfg, "wsd") == 0);
    free(tight);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ws_handshake_request whole;
    struct ws_handshake_request grown;
    struct ws_error err_whole = {0, NULL};
    struct ws_error err_grown = {0, NULL};
    const char *wbuf = (const char *)data;
    char *gbuf = NULL;
    ssize_t n;

    memset(&whole, 0, sizeof(whole));
    n = ws_handshake_parse(&whole, wbuf, size, &hs_cfg, &err_whole);
    FUZZ_CHECK(n == WS_AGAIN || n == WS_FAIL || (n > 0 && (size_t)n <= size));
    FUZZ_CHECK(parse_growing(data, size, size > 0 ? data[0] : 0, &grown,
                             &err_grown, &gbuf) == n);
    if (n > 0) {
        check_same_request(&whole, wbuf, &grown, gbuf);
        check_response_101(&whole);
    } else if (n == WS_FAIL) {
        FUZZ_CHECK(err_whole.code == err_grown.code);
        FUZZ_CHECK(err_whole.reason == err_grown.reason ||
                   strcmp(err_whole.reason, err_grown.reason) == 0);
        check_response_error(&err_whole, &whole);
    }
    free(gbuf);
    return 0;
}
