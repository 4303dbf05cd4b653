/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for command: what the commands show of text someone else
 * chose goes out as it is, but for each control character (C0, DEL,
 * C1), bidirectional embedding, override or isolate and byte that is
 * not UTF-8, which is written as \xHH, byte by byte.
 */
#include "autoconf.h"

#include "command.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"

/* command_put of s[0..n) into a string (freed by the caller). */
static char *
shown(const char *s, size_t n)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    if (f == NULL) {
        return NULL;
    }
    command_put(f, s, n);
    fclose(f);
    return out;
}

static void
check(const char *s, size_t n, const char *want, const char *name)
{
    char *got = shown(s, n);

    is_str(got != NULL ? got : "(none)", want, "%s", name);
    free(got);
}

#define CHECK(lit, want, name) check(lit, sizeof(lit) - 1, want, name)

int
main(void)
{
    CHECK("plain text, 42%", "plain text, 42%", "ASCII goes out as it is");
    CHECK("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0|",
          "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0|",
          "so do UTF-8 characters that show themselves, NBSP included");
    CHECK("\x1b[31mred\nwsc: x\r\t\x07\x7f",
          "\\x1b[31mred\\x0awsc: x\\x0d\\x09\\x07\\x7f",
          "C0 controls and DEL are escaped: no line of its own");
    CHECK("a\0b", "a\\x00b", "a NUL is escaped, and what follows it shown");
    CHECK("\xc2\x80|\xc2\x9b"
          "2J|\xc2\x9f",
          "\\xc2\\x80|\\xc2\\x9b2J|\\xc2\\x9f",
          "C1 controls (CSI among them) are escaped, both bytes");
    CHECK("\xe2\x80\xaa|\xe2\x80\xae|\xe2\x81\xa6|\xe2\x81\xa9|\xe2\x80\xa9",
          "\\xe2\\x80\\xaa|\\xe2\\x80\\xae|\\xe2\\x81\\xa6|\\xe2\\x81\\xa9|"
          "\xe2\x80\xa9",
          "bidirectional embeddings, overrides and isolates are escaped");
    CHECK("\xff|\xc0\xaf|\xed\xa0\x80|a\xc3",
          "\\xff|\\xc0\\xaf|\\xed\\xa0\\x80|a\\xc3",
          "bytes that are not UTF-8 are escaped one by one (overlong, "
          "surrogate, cut at the end)");
    CHECK("", "", "nothing shows nothing");
    return tap_done();
}
