/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for console: the files built into wsd (each there, of its
 * type, found by name), their policy, and what that policy relies on:
 * the page has no inline script, no inline style and no event handler
 * attribute, and the script never writes markup (innerHTML and the
 * like), so that a peer's string can only ever be text.
 */
#include "autoconf.h"

#include "console.h"

#include <stdio.h>
#include <string.h>

#include "tap.h"

static bool
has(const struct console_file *f, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; f != NULL && i + n <= f->len; i++) {
        if (memcmp(f->data + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

/* An attribute " onNAME=" (an event handler) anywhere in f. */
static bool
has_handler(const struct console_file *f)
{
    for (size_t i = 0; i + 3 < f->len; i++) {
        if (memcmp(f->data + i, " on", 3) != 0) {
            continue;
        }
        size_t j = i + 3;
        while (j < f->len && f->data[j] >= 'a' && f->data[j] <= 'z') {
            j++;
        }
        if (j > i + 3 && j < f->len && f->data[j] == '=') {
            return true;
        }
    }
    return false;
}

static void
test_files(void)
{
    static const struct {
        const char *name, *type, *start;
    } want[] = {
        {"index.html", "text/html; charset=utf-8", "<!DOCTYPE html>"},
        {"console.js", "text/javascript; charset=utf-8", "// SPDX"},
        {"console.css", "text/css; charset=utf-8", "/* SPDX"},
        {"icon.svg", "image/svg+xml", "<svg"},
        {"chart.js", "text/javascript; charset=utf-8", "/*!"},
    };

    is_int(console_n_files, sizeof(want) / sizeof(want[0]), "five files");
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct console_file *f = console_find(want[i].name);
        ok(f != NULL, "%s is there", want[i].name);
        if (f == NULL) {
            continue;
        }
        is_str(f->type, want[i].type, "%s: its type", want[i].name);
        size_t n = strlen(want[i].start);
        ok(f->len > n && memcmp(f->data, want[i].start, n) == 0,
           "%s: its bytes", want[i].name);
    }
    ok(console_find("nope.js") == NULL, "an unknown name is none");
    ok(console_find("") == NULL, "an empty name is none");
    ok(has(console_find("chart.js"), "Chart.js v3"),
       "chart.js is Chart.js 3, from libjs-chart.js");
}

static void
test_page(void)
{
    const struct console_file *html = console_find("index.html");
    const struct console_file *js = console_find("console.js");

    ok(!has(html, "<script>") && !has(html, "<style") && !has(html, "style=") &&
           !has_handler(html),
       "the page: no inline script, style or handler");
    ok(has(html, "<script src=\"/console/console.js\""),
       "the page loads its script from the endpoint");
    ok(!has(html, "http:") && !has(html, "https:") && !has(html, "//"),
       "the page names no other host");
    ok(!has(js, "innerHTML") && !has(js, "outerHTML") &&
           !has(js, "insertAdjacentHTML") && !has(js, "document.write") &&
           !has(js, "eval("),
       "the script writes no markup and evaluates nothing");
    ok(!has(js, "console.log") && !has(js, "console.error"),
       "the script logs nothing (the token least of all)");
    ok(!has(js, "?token") && !has(js, "&token"),
       "the token never goes into a URL");
}

static void
test_policy(void)
{
    char p[CONSOLE_POLICY_MAX];

    console_policy(p, "AbC+/=");
    ok(strstr(p, "default-src 'none'") != NULL, "nothing by default");
    ok(strstr(p, "script-src 'self';") != NULL, "scripts of the endpoint");
    ok(strstr(p, "style-src 'self' 'sha256-AbC+/=';") != NULL,
       "styles of the endpoint and the one hashed");
    ok(strstr(p, "connect-src 'self'") != NULL, "fetch() to the endpoint");
    ok(strstr(p, "frame-ancestors 'none'") != NULL, "in no one's frame");
    ok(strstr(p, "unsafe") == NULL, "nothing unsafe");
}

int
main(void)
{
    test_files();
    test_page();
    test_policy();
    return tap_done();
}
