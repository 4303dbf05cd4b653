/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for report_folder: the names of a report's files follow the
 * testsuite's rule (fuzzing.py, cleanForFilename and
 * makeAgentCaseReportFilename), so that a folder wsd writes names its
 * files as the testsuite's does. Expected names were worked out by hand
 * from that rule, and checked against it in Python.
 */
#include "autoconf.h"

#include "report_folder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "tap.h"

static void
test_file_stems(void)
{
    static const struct {
        const char *agent;
        const char *key;
        const char *stem;
        const char *name;
    } cases[] = {
        {"AutobahnPython/0.6.0", "1.1.1", "autobahnpython_0_6_0_case_1_1_1",
         "the testsuite's own agent"},
        {"a--b", "2.1", "a__b_case_2_1",
         "one '_' per character that is not a-z or 0-9"},
        {"  my agent!! ", "3.1", "my_agent_case_3_1",
         "none for those at either end"},
        {"<i>x</i>", "4.1", "i_x__i_case_4_1", "markup"},
        {"a\xc3\xa9 b", "5.1", "a__b_case_5_1",
         "one '_' per character, not per octet (U+00E9)"},
        {"\xc3\xa9", "5.2", "_case_5_2", "nothing left of the agent"},
        {"\xc4\xb0x", "6.1", "i_x_case_6_1",
         "U+0130 lower-cased is i and U+0307, as Python has it"},
        {"\xe2\x84\xaax", "6.2", "kx_case_6_2",
         "U+212A (Kelvin) lower-cased is k"},
        {"wsd", "1.1.1#2", "wsd_case_1_1_1_2",
         "the key: '.' and any other character as '_'"},
        {"wsd", "Case.A", "wsd_case_Case_A",
         "the key's letters kept as they are"},
        {"wsd", "../x", "wsd_case____x", "the key never a path"},
    };
    json_t *used = json_object();
    char stem[160];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        report_folder_file_stem(used, cases[i].agent, cases[i].key, stem,
                                sizeof(stem));
        is_str(stem, cases[i].stem, "%s", cases[i].name);
    }
    report_folder_file_stem(used, "a--b", "2.1", stem, sizeof(stem));
    is_str(stem, "a__b_case_2_1_2", "a name taken: _2");
    report_folder_file_stem(used, "wsd", "case.a", stem, sizeof(stem));
    is_str(stem, "wsd_case_case_a_2",
           "a name taken in another case of letters: _2 (a folder may not "
           "tell them apart)");
    json_decref(used);
}

/* Links from a page's folder to a file of another folder. */
static void
test_href(void)
{
    char top[] = "/tmp/test_report_folder.XXXXXX";
    char a[64];
    char b[64];
    char href[256];

    if (mkdtemp(top) == NULL) {
        ok(false, "a temporary folder");
        return;
    }
    snprintf(a, sizeof(a), "%s/html", top);
    snprintf(b, sizeof(b), "%s/r e", top);
    ok(mkdir(a, 0755) == 0 && mkdir(b, 0755) == 0, "two folders side by side");
    is_int(report_folder_href(a, b, "x#1.json", href, sizeof(href)), 0,
           "href: made");
    is_str(href, "../r%20e/x%231.json",
           "href: up one folder, then down, percent-encoded");
    is_int(report_folder_href(a, a, "index.html", href, sizeof(href)), 0,
           "href: the same folder");
    is_str(href, "index.html", "href: the file's name alone");
    is_int(report_folder_href(b, top, "index.json", href, sizeof(href)), 0,
           "href: the folder above");
    is_str(href, "../index.json", "href: up one folder");
    is_int(report_folder_href(a, "/", "etc", href, sizeof(href)), 0,
           "href: the root");
    size_t ups = 0;
    while (strncmp(href + 3 * ups, "../", 3) == 0) {
        ups++;
    }
    ok(ups >= 2 && strcmp(href + 3 * ups, "etc") == 0,
       "href: up to the root, then the name (%s)", href);
    is_int(report_folder_href(a, b, "x.json", href, 8), -1,
           "href: no room, refused");
    is_int(report_folder_href(a, "/nowhere/at/all", "x", href, sizeof(href)),
           -1, "href: a folder that is not there, refused");
    rmdir(a);
    rmdir(b);
    rmdir(top);
}

int
main(void)
{
    test_file_stems();
    test_href();
    return tap_done();
}
