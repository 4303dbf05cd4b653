# SPDX-License-Identifier: MIT
"""The case report pages as an HTML5 parser reads them. The unit test
tests/unit/test_report_html writes every page it renders (the Autobahn
testsuite's eighteen cases of tests/data/autobahn and their index, hostile
and ill-typed input, empty input) into a scratch directory; each must
decode as strict UTF-8 and parse with html5lib in strict mode (Debian's
python3-html5lib), which stops at the first HTML5 parse error. The check
is first seen failing on pages with planted errors: a check that cannot
fail proves nothing.
"""
import os
import shutil
import subprocess
import tempfile

import wsdtest
from wsdtest import html5_errors

tap = wsdtest.Tap()

BUILDDIR = os.environ.get("WSD_BUILDDIR",
                          os.path.join(os.path.dirname(__file__), "..", ".."))
RENDERER = os.path.join(BUILDDIR, "tests", "unit", "test_report_html")

# The pages the unit test writes: one a case of tests/data/autobahn, the
# index, and its own inputs.
PAGES = ["case_wsd_case_%s.html" % c for c in
         ("1_1_1", "1_1_2", "1_2_1", "2_10", "3_1", "4_1_1", "5_1", "5_3",
          "5_6", "6_2_1", "6_4_3", "7_1_1", "7_1_6", "7_3_6", "7_7_1",
          "9_1_1", "10_1_1", "12_1_1")] + [
    "index.html", "order_index.html", "hostile_case.html",
    "compare_index.html", "compare_case.html", "compare_case_links.html",
    "hostile_index.html", "ill_typed.html", "marks_case.html", "empty_case.html",
    "empty_index.html"]


def t_planted(page):
    """Each planted error in a good page is one the check finds."""
    tap.ok(html5_errors(page) is None, "the page to plant errors in is valid")
    text = page.decode("utf-8")
    heading = "<h2>Closing behaviour</h2>"
    plants = {
        "no doctype": text.replace("<!DOCTYPE html>\n", "", 1),
        "a stray end tag": text.replace(heading, heading + "</div>", 1),
        "a bare <": text.replace(heading, "<h2>Closing < behaviour</h2>", 1),
        "a NUL": text.replace(heading, "<h2>Closing\0behaviour</h2>", 1),
        "a C0 control": text.replace(heading, "<h2>Closing\x1b</h2>", 1),
        "a C1 control": text.replace(heading, "<h2>Closing\x85</h2>", 1),
        "a noncharacter": text.replace(heading, "<h2>Closing\ufffe</h2>", 1),
        "a quote breaking out of an attribute": text.replace(
            '<pre class="head">', '<pre class="head"x">', 1),
        "a table left open": text.replace(
            "</tbody>\n</table>\n<h2>Wire statistics</h2>",
            "\n<h2>Wire statistics</h2>", 1),
    }
    for name, planted in plants.items():
        tap.ok(planted != text and
               html5_errors(planted.encode("utf-8")) is not None,
               "the check finds %s" % name)
    bad = page.replace(b"Closing behaviour", b"Closing \xff behaviour", 1)
    tap.ok(bad != page and html5_errors(bad) is not None,
           "the check finds a byte that is not UTF-8")


def main():
    out = tempfile.mkdtemp(prefix="wsd-report-html-")
    try:
        env = dict(os.environ, WSD_REPORT_HTML_DIR=out)
        r = subprocess.run([RENDERER], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT,
                           timeout=wsdtest.timeout(60))
        tap.ok(r.returncode == 0, "%s renders every page and passes"
               % RENDERER, r.stdout.decode("utf-8", "replace")[-2000:])
        written = sorted(os.listdir(out))
        tap.eq(written, sorted(PAGES), "the pages written")
        for name in sorted(PAGES):
            path = os.path.join(out, name)
            if not os.path.exists(path):
                continue
            with open(path, "rb") as f:
                data = f.read()
            err = html5_errors(data)
            tap.ok(err is None, "%s is valid HTML5 and UTF-8" % name, err)
        path = os.path.join(out, "case_wsd_case_6_4_3.html")
        if os.path.exists(path):
            with open(path, "rb") as f:
                wsdtest.guard(tap, "planted errors", t_planted, f.read())
    finally:
        shutil.rmtree(out, ignore_errors=True)
    tap.done()


if __name__ == "__main__":
    main()
