/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the client's reading of the opening handshake's
 * response: ws_handshake_response_parse on the input fed whole, then
 * again growing by pieces (sizes drawn from a generator seeded by the
 * first byte) as a slow server would send it; both must give the same
 * result and the same status and fields. Each growing prefix sits in a
 * heap block of its exact size, so AddressSanitizer sees a read past it.
 * A parsed head goes through ws_handshake_response_check (the expected
 * key is RFC 6455's example's, subprotocols "chat, superchat"), and its
 * extension values through ws_deflate_accept under an offer the first
 * byte picks: an accepted answer never grants more than the offer.
 */
#include "autoconf.h"

#include "fuzz.h"

#include <stdbool.h>
#include <string.h>

#include "ws_deflate.h"
#include "ws_handshake_client.h"

#define HEAD_MAX 8192

static const struct ws_handshake_expect expect = {
    "dGhlIHNhbXBsZSBub25jZQ==", "chat, superchat", true};

static const struct ws_deflate_offer offers[] = {
    {false, false, 0, 0},
    {false, false, 0, WS_DEFLATE_NO_VALUE},
    {true, true, 10, 12},
    {false, true, 0, WS_DEFLATE_NO_VALUE},
};

static ssize_t
parse_growing(const uint8_t *data, size_t size, uint32_t seed,
              struct ws_handshake_response *r, struct ws_error *err, char **buf)
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
        n = ws_handshake_response_parse(r, *buf, len, HEAD_MAX, err);
        FUZZ_CHECK(n == WS_AGAIN || n == WS_FAIL ||
                   (n > 0 && (size_t)n <= len));
    }
    return n;
}

static void
check_accept(const struct ws_handshake_response *r, uint8_t knob)
{
    const struct ws_deflate_offer *o = &offers[knob % 4];
    struct ws_deflate_params p;
    struct ws_error err = {0, NULL};
    int rc = ws_deflate_accept(o, r->extensions, r->n_extensions, &p, &err);

    FUZZ_CHECK(rc == 0 || rc == 1 || (rc == WS_FAIL && err.reason != NULL));
    if (rc != 1) {
        return;
    }
    FUZZ_CHECK(p.server_max_window_bits >= 8 && p.server_max_window_bits <= 15);
    FUZZ_CHECK(p.client_max_window_bits >= 8 && p.client_max_window_bits <= 15);
    FUZZ_CHECK(o->server_max_window_bits == 0 ||
               p.server_max_window_bits <= o->server_max_window_bits);
    FUZZ_CHECK(o->client_max_window_bits != 0 ||
               p.client_max_window_bits == 15);
    FUZZ_CHECK(!o->client_no_context_takeover || p.client_no_context_takeover);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ws_handshake_response whole;
    struct ws_handshake_response grown;
    struct ws_error err_whole = {0, NULL};
    struct ws_error err_grown = {0, NULL};
    char *gbuf = NULL;

    memset(&whole, 0, sizeof(whole));
    ssize_t n = ws_handshake_response_parse(&whole, (const char *)data, size,
                                            HEAD_MAX, &err_whole);
    FUZZ_CHECK(n == WS_AGAIN || n == WS_FAIL || (n > 0 && (size_t)n <= size));
    FUZZ_CHECK(parse_growing(data, size, size > 0 ? data[0] : 0, &grown,
                             &err_grown, &gbuf) == n);
    if (n == WS_FAIL) {
        FUZZ_CHECK(err_whole.reason != NULL &&
                   strcmp(err_whole.reason, err_grown.reason) == 0);
    } else if (n > 0) {
        FUZZ_CHECK(data[n - 1] == '\n');
        FUZZ_CHECK(whole.status >= 100 && whole.status <= 999);
        FUZZ_CHECK(whole.status == grown.status &&
                   whole.n_extensions == grown.n_extensions &&
                   whole.accept.len == grown.accept.len &&
                   whole.content_length == grown.content_length);
        struct ws_error e1 = {0, NULL};
        struct ws_error e2 = {0, NULL};
        int c1 = ws_handshake_response_check(&whole, &expect, &e1);
        int c2 = ws_handshake_response_check(&grown, &expect, &e2);
        FUZZ_CHECK(c1 == c2 && e1.code == e2.code);
        FUZZ_CHECK(c1 == 0 ? whole.status == 101 : e1.reason != NULL);
        check_accept(&whole, data[0]);
    }
    free(gbuf);
    return 0;
}
