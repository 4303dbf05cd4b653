/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the admin endpoint's own parsing (admin_request.c): the
 * input cut at its first two NULs into a path, a query string and an
 * Authorization header value. A parse either succeeds with arguments in
 * their ranges or answers 400 or 404 with a sentence in printable ASCII
 * (a 404 quotes the path); a bearer token, when found, lies inside the
 * header value.
 */
#include "autoconf.h"

#include "fuzz.h"

#include <stdbool.h>
#include <string.h>

#include "admin_request.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 3);
    struct admin_request r;
    const char *message = NULL;

    FUZZ_CHECK(buf != NULL);
    if (size > 0) {
        memcpy(buf, data, size);
    }
    /* Three NUL-terminated strings, however many NULs the input holds. */
    buf[size] = buf[size + 1] = buf[size + 2] = '\0';
    const char *path = buf;
    const char *query = path + strlen(path) + 1;
    const char *auth = query + strlen(query) + 1;

    int status = admin_request_parse(size > 0 && buf[0] == '!' ? NULL : path,
                                     query, &r, &message);
    if (status == 0) {
        bool is_case = r.route == ADMIN_ROUTE_CASE ||
                       r.route == ADMIN_ROUTE_CASE_AUTOBAHN ||
                       r.route == ADMIN_ROUTE_CASE_REPORT;
        FUZZ_CHECK(
            is_case || r.route == ADMIN_ROUTE_STATS ||
            r.route == ADMIN_ROUTE_CASES || r.route == ADMIN_ROUTE_METRICS ||
            r.route == ADMIN_ROUTE_EVENTS || r.route == ADMIN_ROUTE_CONSOLE);
        /* A console file's name: a plain name, never a way elsewhere. */
        if (r.route == ADMIN_ROUTE_CONSOLE) {
            size_t n = strnlen(r.asset, sizeof(r.asset));
            FUZZ_CHECK(n > 0 && n < sizeof(r.asset) && r.asset[0] != '.' &&
                       strchr(r.asset, '/') == NULL);
        }
        FUZZ_CHECK(!is_case || r.id >= 1);
        FUZZ_CHECK(r.limit >= 1 && r.limit <= ADMIN_CASES_MAX);
        FUZZ_CHECK(r.after <= UINT64_MAX / 2);
    } else {
        FUZZ_CHECK(status == 400 || status == 404);
        FUZZ_CHECK(message != NULL && message[0] != '\0');
        /* A quoted path: printable ASCII only, whatever the input. */
        for (const char *m = message; *m != '\0'; m++) {
            FUZZ_CHECK(*m >= 0x20 && *m < 0x7f);
        }
    }

    size_t len = 0;
    const char *token = admin_bearer(auth, &len);
    if (token != NULL) {
        FUZZ_CHECK(token > auth && token + len == auth + strlen(auth));
        FUZZ_CHECK(len > 0 && token[0] != ' ');
    }
    free(buf);
    return 0;
}
