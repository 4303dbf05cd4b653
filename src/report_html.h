/* SPDX-License-Identifier: MIT */
/*
 * Case reports as HTML pages a person reads, rendered from the Autobahn
 * testsuite's JSON formats (a per-case report and a report folder's
 * index.json), whoever wrote them: wsd's admin endpoint, `wsd report`, or
 * the testsuite itself. The module owns the pages' layout, styles and
 * wording, and the escaping of every string it takes from the JSON. It
 * does no I/O and keeps no state: the caller owns the JSON and the buffer.
 */
#ifndef WSD_REPORT_HTML_H
#define WSD_REPORT_HTML_H

#include <event2/buffer.h>
#include <jansson.h>

/*
 * Appends to out one self-contained HTML5 page (inline styles, no script,
 * no external asset) for the case c, an object with the keys of an
 * Autobahn per-case report: a heading (agent, case id, start, duration,
 * which side wrote the report, from "isServer"), the opening handshake
 * ("httpRequest", "httpResponse"), the closing behaviour, the four wire
 * statistics tables with their totals, and the wire log, one table row per
 * entry: Autobahn's kinds (RO, TO, RF, TF, CT, CTE, KL, TI, WLM), wsd's
 * own (TMO, SHUT, DROP, GAP), and any other kind shown as its raw JSON.
 *
 * Any key may be missing or of another type than the format's: it shows
 * as absent ("—"), and a JSON null as "none". Every string taken from c is
 * escaped; bytes that are not valid UTF-8 show as U+FFFD and control
 * characters as their Unicode pictures (U+2400...), so the page is valid
 * UTF-8 and valid HTML5 whatever c holds. c is borrowed.
 *
 * Returns 0; or -1 with errno EINVAL when c is not an object (nothing is
 * appended), or with errno ENOMEM when out could not grow (out then holds
 * part of a page, which the caller discards).
 */
int report_html_case(const json_t *c, struct evbuffer *out);

/*
 * Appends to out the index page of a report folder, from an object shaped
 * as the testsuite's index.json: agent → case id → summary
 * ({"behaviorClose", "remoteCloseCode", "duration", "reportfile", ...}).
 * One row per case id, in the testsuite's numeric order (1.1.2 before
 * 1.1.10, 9.1.1 before 12.1.1), one column per agent, by name; each cell
 * shows the closing behaviour, the close code the peer sent and the
 * duration, and links to the case's page: the reportfile's name with
 * ".json" replaced by ".html", relative, so that the folder reads offline.
 * A reportfile that is not a plain file name ending in ".json" (a path, a
 * URL, "javascript:...") gets no link. Escaping, absences and returns are
 * report_html_case's.
 */
int report_html_index(const json_t *index, struct evbuffer *out);

/*
 * Appends to out the index page of a comparison, from the document `wsd
 * compare --json` writes ({"report", "sources", "summary", "cases",
 * "wsdUnpaired", "wsdWithoutKey"}): the summary, a row per case with
 * wsd's record, the verdict and the notes, the verdict linking to the
 * case's page when the case has a "page" that is a plain file name ending
 * in ".html"; then wsd's records that paired with no case. Escaping,
 * absences and returns are report_html_case's.
 */
int report_html_compare(const json_t *doc, struct evbuffer *out);

/*
 * Appends to out the page of one case of that document (an element of its
 * "cases"): the pair, the verdict, then each way's differences, notes,
 * octets and frames by opcode, and the closing's. Escaping, absences and
 * returns are report_html_case's.
 */
int report_html_compare_case(const json_t *c, struct evbuffer *out);

/*
 * The testsuite's order of case ids, the index's order of rows, of two
 * ids each given as a pointer to it (a const char *), as qsort(3) gives
 * them: part by
 * dot-separated part, digits as numbers of any length and before any
 * other part (1.1.2 before 1.1.10, 9.1.1 before 12.1.1), a case before
 * those it is a prefix of, ids that differ only in leading zeros by their
 * bytes. Returns <0, 0 or >0, as strcmp.
 */
int report_html_case_id_cmp(const void *a, const void *b);

/* strcmp's order, as report_html_case_id_cmp takes its arguments. */
int report_html_name_cmp(const void *a, const void *b);

/*
 * The keys of the object o (borrowed from o, valid while o is unchanged),
 * sorted by cmp, which takes pointers to two of them as qsort(3) does, or
 * in jansson's order when cmp is NULL, in an array the caller frees, and
 * their number in *n. An object without keys, or anything but an object,
 * has an empty array. Returns NULL (with *n 0) only when out of memory.
 */
const char **report_html_keys(const json_t *o,
                              int (*cmp)(const void *, const void *),
                              size_t *n);

/*
 * The text of every page's one <style> element, exactly: the console
 * shows a page inside a frame whose Content-Security-Policy lets in that
 * style alone, by its hash.
 */
const char *report_html_style(void);

#endif
