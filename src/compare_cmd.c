/* SPDX-License-Identifier: MIT */
/*
 * `wsd compare AUTOBAHN_REPORT_DIR SOURCE...`: reads the client's report
 * folder (the Autobahn testsuite's fuzzingclient writes one), then wsd's
 * records of the same connections from each SOURCE, a wsd admin endpoint
 * (http://HOST:PORT, asked by key: GET /v1/cases?key=KEY, then
 * /v1/cases/ID/autobahn) or a folder written by `wsd report` (several:
 * wsd instances behind one load balancer). It pairs them by the opening
 * handshake's Sec-WebSocket-Key, compares each pair (compare.h), and says
 * a line per case, a summary, and, on request, the same as JSON and as
 * HTML pages.
 *
 * This module owns the command line, the pairing and the document of the
 * results. Folders are report_folder's, the endpoint's client
 * admin_client's, the comparison compare's, the pages report_html's.
 */
#include "autoconf.h"

#include "compare_cmd.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "admin_client.h"
#include "command.h"
#include "compare.h"
#include "report_folder.h"
#include "report_html.h"

#define COMPARE_CMD_NAME "wsd compare"
#define KEY_MAX          128 /* a Sec-WebSocket-Key, as a client sent it */
#define SOURCES_MAX      64
#define NAMES_MAX        3 /* cases named one by one in a sentence */

struct compare_run {
    const char *report_dir;
    const char *sources[SOURCES_MAX];
    size_t n_sources;
    const char *token;
    json_t *cases;     /* the report folder's, report_folder_read's shape */
    json_t *by_key;    /* key -> [wsd's record: {"source", "case", ...}] */
    json_t *case_keys; /* key -> [the report's cases of it], in order */
    json_t *no_key;    /* wsd's records without a key: [{"source", ...}] */
    json_t *results;   /* the document --json writes */
    char err[REPORT_FOLDER_ERROR_MAX];
};

static void
usage(FILE *f)
{
    fprintf(
        f,
        "usage: wsd compare AUTOBAHN_REPORT_DIR SOURCE... [--token TOKEN | "
        "--token-file FILE]\n"
        "                   [--json FILE] [--html DIR]\n"
        "\n"
        "Pairs each case of a client's report folder (the Autobahn "
        "testsuite's\n"
        "fuzzingclient writes one: index.json and a .json per case) with "
        "wsd's\n"
        "record of the same connection, by its Sec-WebSocket-Key, and says "
        "what\n"
        "the path between them changed, each way: handshake headers, the\n"
        "extension offer and grant, frames, message payload, close codes, "
        "who\n"
        "closed. A SOURCE is wsd's admin endpoint (http://HOST:PORT) or a "
        "folder\n"
        "written by `wsd report`; give several for wsd instances behind one\n"
        "load balancer.\n"
        "\n"
        "  --token-file FILE  the admin_token, from FILE (--token shows it "
        "to\n"
        "                     every user in the process list)\n"
        "  --json FILE        the results as JSON\n"
        "  --html DIR         the results as HTML: DIR/index.html and a page "
        "per case\n"
        "\n"
        "Exit status: 0 when every case pairs and nothing differs, 1 when a "
        "case\n"
        "differs or has no pair, 2 for bad input.\n");
}

/* Reading ------------------------------------------------------------------ */

/* A case file of a folder: Autobahn's shape, written from the side it
 * should be. 0, or -1 (said). */
static int
check_case(const char *dir, const json_t *entry, bool server)
{
    const json_t *c = json_object_get(entry, "case");
    const char *file = json_string_value(json_object_get(entry, "reportfile"));
    char why[COMPARE_ERROR_MAX];

    if (!compare_is_autobahn_case(c, why)) {
        command_say(COMPARE_CMD_NAME,
                    "%s/%s: case %.64s of agent %.64s: not an Autobahn case "
                    "report: %s",
                    dir, file, json_string_value(json_object_get(entry, "id")),
                    json_string_value(json_object_get(entry, "agent")), why);
        return -1;
    }
    if (json_is_true(json_object_get(c, "isServer")) != server) {
        command_say(
            COMPARE_CMD_NAME,
            "%s/%s: written from the %s's side (isServer %s): %s", dir, file,
            server ? "client" : "server", server ? "false" : "true",
            server ? "a SOURCE is a folder of wsd's records (wsd report)"
                   : "the first argument is the client's report folder");
        return -1;
    }
    return 0;
}

/* Adds wsd's record c to the run, under its key. */
static void
add_record(struct compare_run *run, json_t *rec)
{
    char key[KEY_MAX];
    const json_t *c = json_object_get(rec, "case");

    if (!compare_request_key(c, key, sizeof(key))) {
        json_array_append(run->no_key, rec);
        return;
    }
    json_t *list = json_object_get(run->by_key, key);
    if (list == NULL) {
        list = json_array();
        json_object_set_new(run->by_key, key, list);
    }
    json_array_append(list, rec);
}

static int
read_folder_source(struct compare_run *run, const char *dir)
{
    json_t *cases = report_folder_read(dir, run->err);
    size_t i;
    json_t *e;

    if (cases == NULL) {
        command_say(COMPARE_CMD_NAME, "%s", run->err);
        return -1;
    }
    json_array_foreach(cases, i, e)
    {
        if (check_case(dir, e, true) != 0) {
            json_decref(cases);
            return -1;
        }
        json_t *summary = json_object_get(e, "summary");
        json_t *rec = json_pack(
            "{s:s, s:O, s:O, s:O, s:O, s:O}", "source", dir, "wsdCase",
            json_object_get(summary, "wsdCase") != NULL
                ? json_object_get(summary, "wsdCase")
                : json_null(),
            "reportfile", json_object_get(e, "reportfile"), "agent",
            json_object_get(e, "agent"), "id", json_object_get(e, "id"), "case",
            json_object_get(e, "case"));
        add_record(run, rec);
        json_decref(rec);
    }
    json_decref(cases);
    return 0;
}

/* A key as a query value: base64's '+', '/' and '=' escaped. */
static void
key_query(char *q, size_t cap, const char *key)
{
    size_t n = (size_t)snprintf(q, cap, "/v1/cases?key=");

    for (const char *p = key; *p != '\0' && n + 4 < cap; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9')) {
            q[n++] = *p;
        } else {
            n += (size_t)snprintf(q + n, cap - n, "%%%02X", (unsigned char)*p);
        }
    }
    q[n] = '\0';
}

/* A key an endpoint can be asked for (what wsd's admin takes: base64 of
 * less than 32 characters). */
static bool
key_is_askable(const char *key)
{
    size_t n = strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
                           "yz0123456789+/=");
    return n > 0 && n < 32 && key[n] == '\0';
}

/* wsd's records of key at the endpoint c: 0, or -1 (said). */
static int
ask_endpoint(struct compare_run *run, struct admin_client *c, const char *key)
{
    char q[160];
    char path[64];
    size_t i;
    json_t *r;

    key_query(q, sizeof(q), key);
    json_t *list = admin_client_get_json(c, q);
    json_t *found = json_object_get(list, "cases");
    if (!json_is_array(found)) {
        if (list != NULL || c->status == 404) {
            command_say(COMPARE_CMD_NAME,
                        "%s%s: no case list: is this a wsd admin endpoint?",
                        c->url, q);
        }
        json_decref(list);
        return -1;
    }
    json_array_foreach(found, i, r)
    {
        json_int_t id = json_integer_value(json_object_get(r, "id"));
        if (id < 1 || !json_is_string(json_object_get(r, "state"))) {
            command_say(COMPARE_CMD_NAME,
                        "%s%s: a case without an id or a state: is this a "
                        "wsd admin endpoint?",
                        c->url, q);
            json_decref(list);
            return -1;
        }
        snprintf(path, sizeof(path),
                 "/v1/cases/%" JSON_INTEGER_FORMAT "/autobahn", id);
        json_t *doc = admin_client_get_json(c, path);
        if (doc == NULL && c->status == 404) {
            continue; /* reused by the ring since the list was made */
        }
        char why[COMPARE_ERROR_MAX];
        if (doc == NULL || !compare_is_autobahn_case(doc, why)) {
            if (doc != NULL) {
                command_say(COMPARE_CMD_NAME,
                            "%s%s: not an Autobahn case report: %s", c->url,
                            path, why);
            }
            json_decref(doc);
            json_decref(list);
            return -1;
        }
        /* What the Autobahn object leaves out of wsd's octets: sizes
         * beyond those kept exactly (compare.h). */
        json_object_set(doc, "rxOctetOverflow",
                        json_object_get(r, "rxOctetOverflow"));
        json_object_set(doc, "txOctetOverflow",
                        json_object_get(r, "txOctetOverflow"));
        json_t *rec = json_pack("{s:s, s:I, s:n, s:O, s:O, s:o, s:O}", "source",
                                c->url, "wsdCase", id, "reportfile", "agent",
                                json_object_get(doc, "agent"), "id",
                                json_object_get(doc, "id"), "case", doc,
                                "state", json_object_get(r, "state"));
        if (rec == NULL) { /* out of memory: doc went with it (o) */
            command_say(COMPARE_CMD_NAME, "out of memory");
            json_decref(list);
            return -1;
        }
        add_record(run, rec);
        json_decref(rec);
    }
    json_decref(list);
    return 0;
}

static int
read_endpoint_source(struct compare_run *run, const char *url)
{
    struct admin_client c = {.who = COMPARE_CMD_NAME};
    size_t i;
    json_t *e;
    char key[KEY_MAX];
    int rc = -1;

    if (admin_client_open(&c, COMPARE_CMD_NAME, url, run->token) != 0) {
        goto out;
    }
    json_array_foreach(run->cases, i, e)
    {
        if (compare_request_key(json_object_get(e, "case"), key, sizeof(key)) &&
            key_is_askable(key) && ask_endpoint(run, &c, key) != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    admin_client_close(&c);
    return rc;
}

static bool
is_url(const char *s)
{
    return strstr(s, "://") != NULL;
}

/* Pairing and comparing ---------------------------------------------------- */

/* What the results keep of one of wsd's records: where it came from. */
static json_t *
record_ref(const json_t *rec)
{
    return json_pack(
        "{s:O, s:O, s:O, s:O, s:O}", "source", json_object_get(rec, "source"),
        "case", json_object_get(rec, "wsdCase"), "reportfile",
        json_object_get(rec, "reportfile"), "agent",
        json_object_get(rec, "agent"), "id", json_object_get(rec, "id"));
}

/* "wsd case 17" (or the index's key, for a folder without ids). */
static void
print_record(const json_t *rec)
{
    const json_t *n = json_object_get(rec, "wsdCase");

    if (json_is_integer(n)) {
        command_print("wsd case %" JSON_INTEGER_FORMAT, json_integer_value(n));
    } else {
        command_print("wsd case %s",
                      json_string_value(json_object_get(rec, "id")));
    }
}

struct tally {
    size_t cases;
    size_t identical;
    size_t differ;
    size_t unpaired;
    size_t wsd_unpaired;
    size_t by_counts;
    size_t noted;
    size_t segmented;
};

/* The line of a paired case: "AGENT ID (wsd case N of SOURCE): VERDICT". */
static void
say_pair(const struct compare_run *run, const json_t *entry, const json_t *rec,
         const json_t *result, const json_t *notes)
{
    size_t i;
    const json_t *n;

    command_print("%s %s (", json_string_value(json_object_get(entry, "agent")),
                  json_string_value(json_object_get(entry, "id")));
    print_record(rec);
    if (run->n_sources > 1) {
        command_print(" of %s",
                      json_string_value(json_object_get(rec, "source")));
    }
    command_print("): %s",
                  json_string_value(json_object_get(result, "verdict")));
    json_array_foreach(notes, i, n)
    {
        command_print("%s%s", i == 0 ? "; note: " : "; ", json_string_value(n));
    }
    fputc('\n', stdout);
}

static bool
way_is(const json_t *result, const char *mode)
{
    static const char *const ways[] = {"clientToServer", "serverToClient"};

    for (size_t i = 0; i < 2; i++) {
        const char *m = json_string_value(
            json_object_get(json_object_get(result, ways[i]), "frames"));
        if (m != NULL && strcmp(m, mode) == 0) {
            return true;
        }
    }
    return false;
}

static bool
segmented(const json_t *result)
{
    static const char *const ways[] = {"clientToServer", "serverToClient"};

    for (size_t i = 0; i < 2; i++) {
        const json_t *o =
            json_object_get(json_object_get(result, ways[i]), "octets");
        if (json_is_false(json_object_get(o, "sameSegmentation"))) {
            return true;
        }
    }
    return false;
}

/* A sentence being put together, cut at its room. */
struct sentence {
    char b[768];
    size_t n; /* bytes in b, less than its size */
};

static void sentence_putf(struct sentence *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sentence_putf(struct sentence *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    int k = vsnprintf(s->b + s->n, sizeof(s->b) - s->n, fmt, ap);
    va_end(ap);
    if (k > 0) {
        s->n += (size_t)k < sizeof(s->b) - s->n ? (size_t)k
                                                : sizeof(s->b) - s->n - 1;
    }
}

/* "AGENT ID" of a case of the report. */
static void
put_case_name(struct sentence *s, const json_t *entry)
{
    sentence_putf(s, "%s %s",
                  json_string_value(json_object_get(entry, "agent")),
                  json_string_value(json_object_get(entry, "id")));
}

/* The cases of group other than entry, named up to NAMES_MAX: "wsd 5.1,
 * wsd 5.2 and 3 more". */
static void
put_case_names(struct sentence *s, const json_t *group, const json_t *entry)
{
    size_t named = 0;
    size_t others = json_array_size(group) - (entry != NULL);
    const char *sep = "";
    size_t i;
    const json_t *e;

    json_array_foreach(group, i, e)
    {
        if (e == entry) {
            continue;
        }
        if (named == NAMES_MAX) {
            sentence_putf(s, " and %zu more", others - named);
            return;
        }
        sentence_putf(s, "%s", sep);
        put_case_name(s, e);
        sep = ", ";
        named++;
    }
}

/* Whether two cases of the report are one file (two index entries). */
static bool
same_file(const json_t *a, const json_t *b)
{
    return json_equal(json_object_get(a, "reportfile"),
                      json_object_get(b, "reportfile"));
}

/* The note of a case that shares its key with other cases of the report
 * (a client's report naming one file twice, or a client that sends one
 * key on every connection). */
static void
note_shared_key(json_t *notes, const json_t *group, const json_t *entry)
{
    struct sentence note = {.n = 0};
    size_t others = json_array_size(group) - 1;
    const json_t *other =
        json_array_get(group, json_array_get(group, 0) == entry ? 1 : 0);

    sentence_putf(&note, "the report's case%s ", others == 1 ? "" : "s");
    put_case_names(&note, group, entry);
    if (others == 1) {
        sentence_putf(&note, " has this Sec-WebSocket-Key too (%s, %s)",
                      same_file(other, entry)
                          ? "its index entry names the same file"
                          : "its file",
                      json_string_value(json_object_get(other, "reportfile")));
    } else {
        sentence_putf(&note, " have this Sec-WebSocket-Key too: wsd's records "
                             "of it pair with them in order, as far as they "
                             "go");
    }
    json_array_insert_new(notes, 0, json_stringn(note.b, note.n));
}

/* The line and object of a case with no record of its own: its key is
 * that of earlier cases of the report, which took wsd's n records. */
static void
say_surplus(json_t *out, const json_t *entry, const json_t *group,
            const char *key, size_t n)
{
    const json_t *first = json_array_get(group, 0);
    struct sentence why = {.n = 0};

    sentence_putf(&why,
                  "its Sec-WebSocket-Key %s is that of the report's "
                  "case ",
                  key);
    put_case_name(&why, first);
    if (n == 1) {
        sentence_putf(&why, "%s, which wsd's one record of it pairs with",
                      same_file(first, entry)
                          ? " (its index entry names the same file)"
                          : "");
    } else {
        sentence_putf(&why,
                      " and more; wsd's %zu records of it pair with the "
                      "report's first %zu cases of it",
                      n, n);
    }
    json_object_set_new(out, "paired", json_false());
    json_object_set_new(out, "unpairedBecause", json_stringn(why.b, why.n));
    command_print("%s %s: unpaired: %s",
                  json_string_value(json_object_get(entry, "agent")),
                  json_string_value(json_object_get(entry, "id")), why.b);
    fputc('\n', stdout);
}

/* Pairs the case entry with wsd's records of its key; the case's object in
 * the results, or NULL when out of memory. The m cases of the report with
 * one key pair in order with the last m of wsd's n records of it (a key
 * is unique per connection, so any of this is something to say); the
 * cases past n have none. */
static json_t *
pair_case(struct compare_run *run, const json_t *entry, struct tally *t)
{
    char key[KEY_MAX];
    const json_t *c = json_object_get(entry, "case");
    bool has_key = compare_request_key(c, key, sizeof(key));
    json_t *recs = has_key ? json_object_get(run->by_key, key) : NULL;
    json_t *group = has_key ? json_object_get(run->case_keys, key) : NULL;
    json_t *out = json_pack("{s:O, s:O, s:O, s:o}", "agent",
                            json_object_get(entry, "agent"), "id",
                            json_object_get(entry, "id"), "reportfile",
                            json_object_get(entry, "reportfile"), "key",
                            has_key ? json_string(key) : json_null());
    const char *agent = json_string_value(json_object_get(entry, "agent"));
    const char *id = json_string_value(json_object_get(entry, "id"));
    size_t n = json_array_size(recs);
    size_t m = json_array_size(group);
    size_t j = 0;

    if (out == NULL) {
        return NULL;
    }
    t->cases++;
    if (n == 0) {
        struct sentence why = {.n = 0};
        t->unpaired++;
        if (!has_key) {
            sentence_putf(&why, "its request has no Sec-WebSocket-Key");
        } else {
            char answer[512];
            sentence_putf(&why, "no wsd record has its Sec-WebSocket-Key %s",
                          key);
            if (compare_answer(c, key, answer, sizeof(answer))) {
                sentence_putf(&why, "; %s", answer);
            }
        }
        json_object_set_new(out, "paired", json_false());
        json_object_set_new(out, "unpairedBecause", json_stringn(why.b, why.n));
        command_print("%s %s: unpaired: %s", agent, id, why.b);
        fputc('\n', stdout);
        return out;
    }
    while (j < m && json_array_get(group, j) != entry) {
        j++;
    }
    if (j >= n && n < m) {
        t->unpaired++;
        say_surplus(out, entry, group, key, n);
        return out;
    }
    json_t *rec = json_array_get(recs, n >= m ? n - m + j : j);
    json_t *result = compare_cases(c, json_object_get(rec, "case"));
    if (result == NULL) {
        json_decref(out);
        return NULL;
    }
    json_t *notes = json_object_get(result, "notes");
    if (n > m) {
        char note[160];
        if (m == 1) {
            snprintf(note, sizeof(note),
                     "wsd has %zu records of this Sec-WebSocket-Key: "
                     "compared with the last",
                     n);
        } else {
            snprintf(note, sizeof(note),
                     "wsd has %zu records of this Sec-WebSocket-Key, the "
                     "report %zu cases: paired in order with the last %zu",
                     n, m, m);
        }
        json_array_insert_new(notes, 0, json_string(note));
    }
    if (m > 1) {
        note_shared_key(notes, group, entry);
    }
    const char *state = json_string_value(json_object_get(rec, "state"));
    if (state != NULL && strcmp(state, "closed") != 0) {
        json_array_insert_new(notes, 0,
                              json_string("wsd's record was read while the "
                                          "connection was still open"));
    }
    json_object_set_new(rec, "paired", json_true());
    json_object_set_new(out, "paired", json_true());
    json_object_set_new(out, "wsd", record_ref(rec));
    json_object_set_new(out, "comparison", result);
    bool same = json_is_true(json_object_get(result, "identical"));
    t->identical += same;
    t->differ += !same;
    t->by_counts += way_is(result, "counts");
    t->noted += json_array_size(notes) > 0;
    t->segmented += segmented(result);
    say_pair(run, entry, rec, result, notes);
    return out;
}

/* wsd's records no case of the report has claimed, listed. */
static json_t *
wsd_unpaired(struct compare_run *run, struct tally *t)
{
    json_t *out = json_array();
    const char *key;
    json_t *list;
    size_t i;
    json_t *rec;

    json_object_foreach(run->by_key, key, list)
    {
        json_array_foreach(list, i, rec)
        {
            if (json_is_true(json_object_get(rec, "paired"))) {
                continue;
            }
            t->wsd_unpaired++;
            print_record(rec);
            command_print(" of %s: unpaired: ",
                          json_string_value(json_object_get(rec, "source")));
            const json_t *group = json_object_get(run->case_keys, key);
            size_t m = json_array_size(group);
            if (m == 0) {
                command_print("no case of the report has its Sec-WebSocket-Key "
                              "%s",
                              key);
                fputc('\n', stdout);
            } else {
                struct sentence names = {.n = 0};
                put_case_names(&names, group, NULL);
                command_print(
                    "wsd has %zu records of its Sec-WebSocket-Key %s, the "
                    "report %zu case%s (%s), paired with the later "
                    "record%s",
                    json_array_size(list), key, m, m == 1 ? "" : "s", names.b,
                    m == 1 ? "" : "s");
                fputc('\n', stdout);
            }
            json_t *ref = record_ref(rec);
            json_object_set_new(ref, "key", json_string(key));
            json_array_append_new(out, ref);
        }
    }
    return out;
}

static void
summary_line(const struct compare_run *run, const struct tally *t)
{
    command_print(
        "%zu case%s: %zu identical, %zu differ, %zu unpaired; %zu wsd "
        "record%s unpaired",
        t->cases, t->cases == 1 ? "" : "s", t->identical, t->differ,
        t->unpaired, t->wsd_unpaired, t->wsd_unpaired == 1 ? "" : "s");
    if (json_array_size(run->no_key) > 0) {
        command_print(", %zu without a Sec-WebSocket-Key",
                      json_array_size(run->no_key));
    }
    command_print(
        " (%zu compared by frame counts, a log being incomplete; %zu with "
        "notes; %zu cut otherwise by TCP, which is no difference)",
        t->by_counts, t->noted, t->segmented);
    fputc('\n', stdout);
}

static int
compare_all(struct compare_run *run)
{
    struct tally t = {0};
    json_t *cases = json_array();
    size_t i;
    const json_t *e;

    json_array_foreach(run->cases, i, e)
    {
        char key[KEY_MAX];
        if (compare_request_key(json_object_get(e, "case"), key, sizeof(key))) {
            json_t *group = json_object_get(run->case_keys, key);
            if (group == NULL) {
                group = json_array();
                json_object_set_new(run->case_keys, key, group);
            }
            json_array_append(group, (json_t *)(uintptr_t)e);
        }
    }
    json_array_foreach(run->cases, i, e)
    {
        json_t *c = pair_case(run, e, &t);
        if (c == NULL) {
            json_decref(cases);
            command_say(COMPARE_CMD_NAME, "out of memory");
            return 2;
        }
        json_array_append_new(cases, c);
    }
    json_t *unpaired = wsd_unpaired(run, &t);
    json_t *no_key = json_array();
    json_array_foreach(run->no_key, i, e)
    {
        print_record(e);
        command_print(" of %s: its request has no Sec-WebSocket-Key (not a "
                      "WebSocket handshake): not paired",
                      json_string_value(json_object_get(e, "source")));
        fputc('\n', stdout);
        json_array_append_new(no_key, record_ref(e));
    }
    summary_line(run, &t);
    json_t *sources = json_array();
    for (size_t k = 0; k < run->n_sources; k++) {
        json_array_append_new(sources, json_string(run->sources[k]));
    }
    run->results = json_pack(
        "{s:s, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, "
        "s:o, s:o, s:o}",
        "report", run->report_dir, "sources", sources, "summary", "cases",
        (json_int_t)t.cases, "identical", (json_int_t)t.identical, "differ",
        (json_int_t)t.differ, "unpaired", (json_int_t)t.unpaired, "wsdUnpaired",
        (json_int_t)t.wsd_unpaired, "wsdWithoutKey",
        (json_int_t)json_array_size(run->no_key), "comparedByCounts",
        (json_int_t)t.by_counts, "withNotes", (json_int_t)t.noted,
        "segmentedOtherwise", (json_int_t)t.segmented, "cases", cases,
        "wsdUnpaired", unpaired, "wsdWithoutKey", no_key);
    if (run->results == NULL) {
        command_say(COMPARE_CMD_NAME, "out of memory");
        return 2;
    }
    return t.differ == 0 && t.unpaired == 0 && t.wsd_unpaired == 0 ? 0 : 1;
}

/* Writing ------------------------------------------------------------------ */

static int
write_json_file(struct compare_run *run, const char *file)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(file, '/');
    const char *name = slash != NULL ? slash + 1 : file;

    if (*name == '\0') {
        command_say(COMPARE_CMD_NAME, "--json %s: not a file name", file);
        return -1;
    }
    if (slash == NULL) {
        snprintf(dir, sizeof(dir), ".");
    } else if (slash == file) {
        snprintf(dir, sizeof(dir), "/");
    } else if ((size_t)(slash - file) < sizeof(dir)) {
        memcpy(dir, file, (size_t)(slash - file));
        dir[slash - file] = '\0';
    } else {
        command_say(COMPARE_CMD_NAME, "--json %s: path too long", file);
        return -1;
    }
    if (report_folder_write_json(dir, name, run->results, run->err) != 0) {
        command_say(COMPARE_CMD_NAME, "--json %s: %s", file, run->err);
        return -1;
    }
    return 0;
}

/* Links of the pages --html writes ----------------------------------------- */

/* Sets links[key] to the href, from the folder dir, of name in the folder
 * folder, when that file is there. */
static void
link_file(json_t *links, const char *key, const char *dir, const char *folder,
          const char *name)
{
    char path[PATH_MAX];
    char href[PATH_MAX * 3];

    if (name == NULL ||
        (size_t)snprintf(path, sizeof(path), "%s/%s", folder, name) >=
            sizeof(path) ||
        access(path, F_OK) != 0 ||
        report_folder_href(dir, folder, name, href, sizeof(href)) != 0) {
        return;
    }
    json_object_set_new(links, key, json_string(href));
}

/* Sets links[json_key] and links[page_key] to a case file of folder and its
 * page (the same name ending in .html), those of the two that are there. */
static void
link_case_files(json_t *links, const char *json_key, const char *page_key,
                const char *dir, const char *folder, const char *file)
{
    size_t n = file != NULL ? strlen(file) : 0;

    link_file(links, json_key, dir, folder, file);
    if (n > 5 && n - 5 + 6 <= NAME_MAX && strcmp(file + n - 5, ".json") == 0) {
        char page[NAME_MAX + 1];
        snprintf(page, sizeof(page), "%.*s.html", (int)(n - 5), file);
        link_file(links, page_key, dir, folder, page);
    }
}

/* The links of a case's page: back to the index, the client's report of
 * it, and wsd's record (its files in a folder, or its URLs at an
 * endpoint). */
static json_t *
case_links(const struct compare_run *run, const char *dir, const json_t *c)
{
    json_t *links = json_pack("{s:s}", "index", "index.html");
    const json_t *wsd = json_object_get(c, "wsd");
    const char *source = json_string_value(json_object_get(wsd, "source"));
    const json_t *id = json_object_get(wsd, "case");

    if (links == NULL) {
        return NULL;
    }
    link_case_files(links, "clientJson", "clientPage", dir, run->report_dir,
                    json_string_value(json_object_get(c, "reportfile")));
    if (source != NULL && is_url(source) && json_is_integer(id)) {
        size_t n = strlen(source);
        n -= n > 0 && source[n - 1] == '/';
        json_object_set_new(
            links, "wsdJson",
            json_sprintf("%.*s/v1/cases/%" JSON_INTEGER_FORMAT "/autobahn",
                         (int)n, source, json_integer_value(id)));
        json_object_set_new(
            links, "wsdPage",
            json_sprintf("%.*s/v1/cases/%" JSON_INTEGER_FORMAT "/report",
                         (int)n, source, json_integer_value(id)));
    } else if (source != NULL) {
        link_case_files(links, "wsdJson", "wsdPage", dir, source,
                        json_string_value(json_object_get(wsd, "reportfile")));
    }
    return links;
}

/* The index's links: each folder's index (its page, else its JSON), or an
 * endpoint's list of cases. */
static json_t *
index_links(const struct compare_run *run, const char *dir)
{
    json_t *links = json_object();
    json_t *sources = json_array();
    json_t *one = json_object();

    if (links == NULL || sources == NULL || one == NULL) {
        json_decref(links);
        json_decref(sources);
        json_decref(one);
        return NULL;
    }
    link_file(one, "index", dir, run->report_dir, "index.json");
    link_file(one, "index", dir, run->report_dir, "index.html");
    json_object_set(links, "report", json_object_get(one, "index"));
    for (size_t k = 0; k < run->n_sources; k++) {
        const char *s = run->sources[k];
        json_object_clear(one);
        if (is_url(s)) {
            size_t n = strlen(s);
            n -= n > 0 && s[n - 1] == '/';
            json_object_set_new(one, "index",
                                json_sprintf("%.*s/v1/cases", (int)n, s));
        } else {
            link_file(one, "index", dir, s, "index.json");
            link_file(one, "index", dir, s, "index.html");
        }
        json_array_append(sources, json_object_get(one, "index") != NULL
                                       ? json_object_get(one, "index")
                                       : json_null());
    }
    json_object_set_new(links, "sources", sources);
    json_decref(one);
    return links;
}

static int
write_html(struct compare_run *run, const char *dir)
{
    struct evbuffer *page = evbuffer_new();
    json_t *used = json_object();
    json_t *cases = json_object_get(run->results, "cases");
    size_t i;
    json_t *c;
    char stem[200];
    char file[220];
    int rc = -1;

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        command_say(COMPARE_CMD_NAME, "--html %s: %s", dir, strerror(errno));
        goto out;
    }
    if (page == NULL || used == NULL) {
        command_say(COMPARE_CMD_NAME, "out of memory");
        goto out;
    }
    json_array_foreach(cases, i, c)
    {
        if (!json_is_true(json_object_get(c, "paired"))) {
            continue;
        }
        report_folder_file_stem(
            used, json_string_value(json_object_get(c, "agent")),
            json_string_value(json_object_get(c, "id")), stem, sizeof(stem));
        snprintf(file, sizeof(file), "compare_%s.html", stem);
        json_object_set_new(c, "page", json_string(file));
        /* The links are the pages' only: --json has no use for paths
         * relative to DIR. */
        json_object_set_new(c, "links", case_links(run, dir, c));
        int written = report_html_compare_case(c, page);
        json_object_del(c, "links");
        if (written != 0 ||
            report_folder_write_buffer(dir, file, page, run->err) != 0) {
            command_say(COMPARE_CMD_NAME, "--html %s", run->err);
            goto out;
        }
    }
    json_object_set_new(run->results, "links", index_links(run, dir));
    int written = report_html_compare(run->results, page);
    json_object_del(run->results, "links");
    if (written != 0 ||
        report_folder_write_buffer(dir, "index.html", page, run->err) != 0) {
        command_say(COMPARE_CMD_NAME, "--html %s", run->err);
        goto out;
    }
    rc = 0;
out:
    if (page != NULL) {
        evbuffer_free(page);
    }
    json_decref(used);
    return rc;
}

/* The command -------------------------------------------------------------- */

/* 0, 1 for -h or --help (before any word that is wrong; an option's
 * value that reads like -h is its value), or -1 (said). */
static int
parse_args(struct compare_run *run, int argc, char **argv,
           const char **token_file, const char **json_file,
           const char **html_dir)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            return 1;
        }
        const char **slot = strcmp(a, "--token") == 0        ? &run->token
                            : strcmp(a, "--token-file") == 0 ? token_file
                            : strcmp(a, "--json") == 0       ? json_file
                            : strcmp(a, "--html") == 0       ? html_dir
                                                             : NULL;
        if (slot != NULL) {
            if (i + 1 >= argc) {
                command_say(COMPARE_CMD_NAME, "%s needs a value", a);
                return -1;
            }
            *slot = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            command_say(COMPARE_CMD_NAME, "unknown option %s", a);
            usage(stderr);
            return -1;
        } else if (run->report_dir == NULL) {
            run->report_dir = a;
        } else if (run->n_sources < SOURCES_MAX) {
            run->sources[run->n_sources++] = a;
        } else {
            command_say(COMPARE_CMD_NAME, "more than %d SOURCEs", SOURCES_MAX);
            return -1;
        }
    }
    if (run->report_dir == NULL || run->n_sources == 0) {
        command_say(COMPARE_CMD_NAME, "%s",
                    run->report_dir == NULL
                        ? "AUTOBAHN_REPORT_DIR and a SOURCE are required"
                        : "a SOURCE is required: wsd's admin endpoint "
                          "(http://HOST:PORT) or a folder of wsd report");
        usage(stderr);
        return -1;
    }
    if (run->token != NULL && *token_file != NULL) {
        command_say(COMPARE_CMD_NAME, "--token and --token-file: give one");
        return -1;
    }
    return 0;
}

/* Reads the report folder and every source; 0, or -1 (said). */
static int
read_all(struct compare_run *run)
{
    size_t i;
    json_t *e;

    run->cases = report_folder_read(run->report_dir, run->err);
    if (run->cases == NULL) {
        command_say(COMPARE_CMD_NAME, "%s", run->err);
        return -1;
    }
    /* The testsuite writes an empty index when no case ran (its servers
     * refused every connection): "0 cases, 0 differ" would read as a
     * pass. */
    if (json_array_size(run->cases) == 0) {
        command_say(COMPARE_CMD_NAME,
                    "%s/index.json: no case in it, so nothing to compare "
                    "(did any case run?)",
                    run->report_dir);
        return -1;
    }
    json_array_foreach(run->cases, i, e)
    {
        if (check_case(run->report_dir, e, false) != 0) {
            return -1;
        }
    }
    for (size_t k = 0; k < run->n_sources; k++) {
        const char *s = run->sources[k];
        if ((is_url(s) ? read_endpoint_source(run, s)
                       : read_folder_source(run, s)) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Whether a and b name one folder (both there, resolved). */
static bool
same_folder(const char *a, const char *b)
{
    char ra[PATH_MAX];
    char rb[PATH_MAX];

    return realpath(a, ra) != NULL && realpath(b, rb) != NULL &&
           strcmp(ra, rb) == 0;
}

/*
 * The outputs must not write into a folder being read: --json inside one
 * (it could be its index.json), --html one itself (its index.html).
 * 0, or -1 (said).
 */
static int
check_outputs(const struct compare_run *run, const char *json_file,
              const char *html_dir)
{
    char json_dir[PATH_MAX] = ".";
    const char *slash = json_file != NULL ? strrchr(json_file, '/') : NULL;

    if (slash != NULL && (size_t)(slash - json_file) < sizeof(json_dir)) {
        size_t n = slash == json_file ? 1 : (size_t)(slash - json_file);
        memcpy(json_dir, json_file, n);
        json_dir[n] = '\0';
    }
    for (size_t i = 0; i <= run->n_sources; i++) {
        const char *in = i == 0 ? run->report_dir : run->sources[i - 1];
        if (is_url(in)) {
            continue;
        }
        if (html_dir != NULL && same_folder(html_dir, in)) {
            command_say(COMPARE_CMD_NAME,
                        "--html %s: that is the report folder %s, whose "
                        "index.html it would replace: give it a folder of "
                        "its own",
                        html_dir, in);
            return -1;
        }
        if (json_file != NULL && same_folder(json_dir, in)) {
            command_say(COMPARE_CMD_NAME,
                        "--json %s: inside the report folder %s, which it "
                        "would change: write it elsewhere",
                        json_file, in);
            return -1;
        }
    }
    return 0;
}

int
compare_cmd_main(int argc, char **argv)
{
    struct compare_run run;
    const char *token_file = NULL;
    const char *json_file = NULL;
    const char *html_dir = NULL;
    char *token_read = NULL;
    int rc = 2;

    memset(&run, 0, sizeof(run));
    int parsed =
        parse_args(&run, argc, argv, &token_file, &json_file, &html_dir);
    if (parsed == 1) {
        usage(stdout);
        return 0;
    }
    if (parsed != 0 || check_outputs(&run, json_file, html_dir) != 0) {
        return 2;
    }
    if (token_file != NULL && (run.token = token_read = admin_client_read_token(
                                   COMPARE_CMD_NAME, token_file)) == NULL) {
        return 2;
    }
    run.by_key = json_object();
    run.case_keys = json_object();
    run.no_key = json_array();
    if (run.by_key == NULL || run.case_keys == NULL || run.no_key == NULL) {
        command_say(COMPARE_CMD_NAME, "out of memory");
        goto out;
    }
    if (read_all(&run) != 0) {
        goto out;
    }
    rc = compare_all(&run);
    if (rc != 2 &&
        ((html_dir != NULL && write_html(&run, html_dir) != 0) ||
         (json_file != NULL && write_json_file(&run, json_file) != 0))) {
        rc = 2;
    }
out:
    json_decref(run.cases);
    json_decref(run.by_key);
    json_decref(run.case_keys);
    json_decref(run.no_key);
    json_decref(run.results);
    free(token_read);
    return rc;
}
