/* SPDX-License-Identifier: MIT */
/*
 * A report folder (report_folder.h): its file names, its files written
 * whole, and the folder read back with its index's shape checked.
 */
#include "autoconf.h"

#include "report_folder.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report_html.h"

/* The octets of the character at p (at most n): those of a valid UTF-8
 * sequence, else 1. */
static size_t
char_len(const unsigned char *p, size_t n)
{
    size_t len = p[0] >= 0xf0 && p[0] <= 0xf4   ? 4
                 : p[0] >= 0xe0 && p[0] <= 0xef ? 3
                 : p[0] >= 0xc2 && p[0] <= 0xdf ? 2
                                                : 1;

    if (len > n) {
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 1;
        }
    }
    return len;
}

static bool
is_lower_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

/*
 * The testsuite's cleanForFilename, for an agent: lower-cased, each
 * character (not octet) other than a-z and 0-9 made '_', those at either
 * end left out. Python's lower() makes U+0130 "i" and U+0307, U+212A "k",
 * and no other character ASCII. Cut to cap - 1 octets.
 */
static void
clean_agent(char *dst, size_t cap, const char *src)
{
    const unsigned char *p = (const unsigned char *)src;
    size_t left = strlen(src);
    size_t n = 0;
    size_t kept = 0; /* n up to the last a-z or 0-9 */

    while (left > 0 && n + 2 < cap) {
        size_t len = char_len(p, left);
        char ch = len == 1 && p[0] >= 'A' && p[0] <= 'Z'
                      ? (char)(p[0] - 'A' + 'a')
                      : (char)p[0];
        if (len == 2 && p[0] == 0xc4 && p[1] == 0xb0) {
            dst[n++] = 'i';
            kept = n;
            dst[n++] = '_';
        } else if (len == 3 && p[0] == 0xe2 && p[1] == 0x84 && p[2] == 0xaa) {
            dst[n++] = 'k';
            kept = n;
        } else if (len == 1 && is_lower_alnum(ch)) {
            dst[n++] = ch;
            kept = n;
        } else if (n > 0) {
            dst[n++] = '_';
        }
        p += len;
        left -= len;
    }
    dst[kept] = '\0';
}

/* The testsuite's rule for a case id (its '.' made '_'), and, since a
 * peer chose it, every other character that is not A-Z, a-z or 0-9 too:
 * it never names a path. Cut to cap - 1 octets. */
static void
clean_key(char *dst, size_t cap, const char *src)
{
    const unsigned char *p = (const unsigned char *)src;
    size_t left = strlen(src);
    size_t n = 0;

    while (left > 0 && n + 1 < cap) {
        size_t len = char_len(p, left);
        bool keep = len == 1 && (is_lower_alnum((char)p[0]) ||
                                 (p[0] >= 'A' && p[0] <= 'Z'));
        dst[n++] = keep ? (char)p[0] : '_';
        p += len;
        left -= len;
    }
    dst[n] = '\0';
}

int
report_folder_write(const char *dir, const char *name, const void *p,
                    size_t len, char *err)
{
    char path[PATH_MAX];
    char tmp[PATH_MAX];

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
            sizeof(path) ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >=
            sizeof(tmp)) {
        snprintf(err, REPORT_FOLDER_ERROR_MAX, "%s/%s: path too long", dir,
                 name);
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        snprintf(err, REPORT_FOLDER_ERROR_MAX, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    bool ok = fwrite(p, 1, len, f) == len;
    int e = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, REPORT_FOLDER_ERROR_MAX, "%s: %s", ok ? path : tmp,
                 strerror(ok ? errno : e));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Appends s to href (at n of cap), percent-encoded but for the
 * characters a path may hold as they are; false when out of room. */
static bool
href_put(char *href, size_t cap, size_t *n, const char *s)
{
    static const char safe[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
                               "tuvwxyz0123456789-._~/";

    for (; *s != '\0'; s++) {
        bool plain = strchr(safe, *s) != NULL;
        if (*n + (plain ? 1 : 3) >= cap) {
            return false;
        }
        if (plain) {
            href[(*n)++] = *s;
        } else {
            *n += (size_t)snprintf(href + *n, cap - *n, "%%%02X",
                                   (unsigned char)*s);
        }
    }
    href[*n] = '\0';
    return true;
}

int
report_folder_href(const char *from_dir, const char *to_dir, const char *name,
                   char *href, size_t cap)
{
    char a[PATH_MAX];
    char b[PATH_MAX];
    size_t k = 0;
    size_t last = 0; /* the end of the folders both paths begin with */
    size_t n = 0;

    if (realpath(from_dir, a) == NULL || realpath(to_dir, b) == NULL) {
        return -1;
    }
    for (;;) {
        bool end_a = a[k] == '/' || a[k] == '\0';
        bool end_b = b[k] == '/' || b[k] == '\0';
        if (end_a && end_b) {
            last = k;
        }
        if (a[k] != b[k] || a[k] == '\0') {
            break;
        }
        k++;
    }
    bool ok = cap > 0;
    if (ok) {
        href[0] = '\0';
    }
    /* Up out of each folder of from_dir below the common one. */
    for (const char *p = a + last; ok && *p != '\0'; p++) {
        if (*p != '/' && (p == a + last || p[-1] == '/')) {
            ok = href_put(href, cap, &n, "../");
        }
    }
    const char *rest = b + last + (b[last] == '/');
    if (ok && *rest != '\0') {
        ok = href_put(href, cap, &n, rest) && href_put(href, cap, &n, "/");
    }
    if (!ok || !href_put(href, cap, &n, name)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* Keys in string order, but decimal keys by their value. */
static int
numeric_cmp(const void *x, const void *y)
{
    const char *a = *(const char *const *)x;
    const char *b = *(const char *const *)y;
    size_t la = strspn(a, "0123456789");
    size_t lb = strspn(b, "0123456789");

    if (a[la] == '\0' && b[lb] == '\0' && la != lb) {
        return la < lb ? -1 : 1;
    }
    return strcmp(a, b);
}

/* The statistics objects, whose keys the testsuite writes as integers:
 * json.dumps(sort_keys=True) puts them in numeric order. */
static bool
is_stats_key(const char *key)
{
    return strcmp(key, "rxOctetStats") == 0 ||
           strcmp(key, "txOctetStats") == 0 ||
           strcmp(key, "rxFrameStats") == 0 || strcmp(key, "txFrameStats") == 0;
}

/*
 * A copy of v whose objects hold their keys in the order the testsuite
 * writes them: sorted, and, in a statistics object (numeric), by value.
 * Scalars are shared. NULL when out of memory.
 */
static json_t *
ordered(json_t *v, bool numeric)
{
    json_t *out = NULL;

    if (json_is_array(v)) {
        out = json_array();
        for (size_t i = 0; out != NULL && i < json_array_size(v); i++) {
            json_t *e = ordered(json_array_get(v, i), false);
            if (e == NULL || json_array_append_new(out, e) != 0) {
                json_decref(out);
                out = NULL;
            }
        }
        return out;
    }
    if (!json_is_object(v)) {
        return json_incref(v);
    }
    size_t n;
    const char **keys =
        report_html_keys(v, numeric ? numeric_cmp : report_html_name_cmp, &n);
    out = keys != NULL ? json_object() : NULL;
    for (size_t i = 0; out != NULL && i < n; i++) {
        json_t *e = ordered(json_object_get(v, keys[i]), is_stats_key(keys[i]));
        if (e == NULL || json_object_set_new(out, keys[i], e) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    free(keys);
    return out;
}

int
report_folder_write_json(const char *dir, const char *name, const json_t *doc,
                         char *err)
{
    /* jansson dumps an object's keys in the order they were set. */
    json_t *copy = ordered((json_t *)(uintptr_t)doc, false);
    char *text = copy != NULL ? json_dumps(copy, JSON_INDENT(3)) : NULL;
    json_decref(copy);
    if (text == NULL) {
        snprintf(err, REPORT_FOLDER_ERROR_MAX, "%s/%s: out of memory", dir,
                 name);
        return -1;
    }
    int rc = report_folder_write(dir, name, text, strlen(text), err);
    free(text);
    return rc;
}

int
report_folder_write_buffer(const char *dir, const char *name,
                           struct evbuffer *b, char *err)
{
    size_t n = evbuffer_get_length(b);
    const char *p = (const char *)evbuffer_pullup(b, -1);
    int rc = report_folder_write(dir, name, p != NULL ? p : "", n, err);
    evbuffer_drain(b, n);
    return rc;
}

void
report_folder_index_key(const json_t *cases, const char *id, char *key,
                        size_t cap)
{
    snprintf(key, cap, "%s", id);
    for (unsigned k = 2; json_object_get(cases, key) != NULL; k++) {
        snprintf(key, cap, "%s#%u", id, k);
    }
}

void
report_folder_file_stem(json_t *used, const char *agent, const char *key,
                        char *stem, size_t cap)
{
    char a[64];
    char k[64];
    char base[sizeof(a) + sizeof(k) + 8];
    char folded[sizeof(base) + 16];

    clean_agent(a, sizeof(a), agent);
    clean_key(k, sizeof(k), key);
    snprintf(base, sizeof(base), "%s_case_%s", a, k);
    snprintf(stem, cap, "%s", base);
    /* Taken is compared without case: a folder may not tell "A" from
     * "a". */
    for (unsigned n = 2;; n++) {
        size_t i = 0;
        for (; stem[i] != '\0' && i + 1 < sizeof(folded); i++) {
            folded[i] = stem[i] >= 'A' && stem[i] <= 'Z'
                            ? (char)(stem[i] - 'A' + 'a')
                            : stem[i];
        }
        folded[i] = '\0';
        if (json_object_get(used, folded) == NULL) {
            break;
        }
        snprintf(stem, cap, "%s_%u", base, n);
    }
    json_object_set_new(used, folded, json_true());
}

/* A file read for jansson, refusing to go past max bytes. */
struct bounded_file {
    FILE *f;
    size_t left; /* bytes it may still read */
    bool over;   /* the file had more than max bytes */
};

static size_t
read_bounded(void *buf, size_t len, void *arg)
{
    struct bounded_file *b = arg;

    if (b->left == 0) {
        int ch = fgetc(b->f);
        if (ch != EOF) {
            b->over = true;
            return (size_t)-1; /* jansson stops: a read error */
        }
        return 0;
    }
    size_t n = fread(buf, 1, len < b->left ? len : b->left, b->f);
    b->left -= n;
    return n == 0 && ferror(b->f) ? (size_t)-1 : n;
}

/* Why jansson refused a document, in words a user can act on. */
static void
say_not_json(const char *path, const json_error_t *jerr, char *err)
{
    const char *why;

    switch (json_error_code(jerr)) {
    case json_error_premature_end_of_input:
        why = "not JSON: it ends before its value does (truncated?)";
        break;
    case json_error_end_of_input_expected:
        why = "not JSON: more follows its value";
        break;
    case json_error_out_of_memory:
        why = "out of memory reading it";
        break;
    case json_error_stack_overflow:
        why = "not JSON that can be read: nested too deep";
        break;
    case json_error_numeric_overflow:
        why = "not JSON that can be read: a number too large";
        break;
    case json_error_invalid_utf8:
        why = "not JSON: not UTF-8";
        break;
    default:
        why = "not JSON";
        break;
    }
    snprintf(err, REPORT_FOLDER_ERROR_MAX, "%s: %s: %s, line %d, column %d",
             path, why, jerr->text, jerr->line, jerr->column);
}

/* Loads dir/name as JSON, of at most max bytes; NULL with err naming the
 * file. */
static json_t *
load(const char *dir, const char *name, size_t max, char *err)
{
    char path[PATH_MAX];
    json_error_t jerr;
    struct stat st;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
        sizeof(path)) {
        snprintf(err, REPORT_FOLDER_ERROR_MAX, "%s/%s: path too long", dir,
                 name);
        return NULL;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, REPORT_FOLDER_ERROR_MAX, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct bounded_file b = {f, max, false};
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
        (uintmax_t)st.st_size > max) {
        b.over = true;
    }
    /* A frame's payload shown as text may hold a NUL. */
    json_t *doc =
        b.over ? NULL
               : json_load_callback(read_bounded, &b, JSON_ALLOW_NUL, &jerr);
    fclose(f);
    if (b.over) {
        json_decref(doc);
        doc = NULL;
        if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max) {
            snprintf(err, REPORT_FOLDER_ERROR_MAX,
                     "%s: %jd bytes, more than a case file may have (%zu "
                     "MiB)",
                     path, (intmax_t)st.st_size, max >> 20);
        } else {
            snprintf(err, REPORT_FOLDER_ERROR_MAX,
                     "%s: more than a case file may have (%zu MiB)", path,
                     max >> 20);
        }
    } else if (doc == NULL) {
        say_not_json(path, &jerr, err);
    }
    return doc;
}

/* A name that can only be a file beside the index: no '/', no leading
 * '.', no NUL. */
static bool
is_plain_file_name(const json_t *v)
{
    const char *s = json_string_value(v);

    return s != NULL && s[0] != '\0' && s[0] != '.' && strchr(s, '/') == NULL &&
           strlen(s) == json_string_length(v);
}

/* Reads one agent's cases into out; 0, or -1 with err. */
static int
read_agent(const char *dir, const char *agent, const json_t *cases, json_t *out,
           char *err)
{
    size_t n;
    const char **ids = report_html_keys(cases, report_html_case_id_cmp, &n);
    int rc = 0;

    if (ids == NULL) {
        snprintf(err, REPORT_FOLDER_ERROR_MAX, "%s/index.json: out of memory",
                 dir);
        return -1;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const json_t *summary = json_object_get(cases, ids[i]);
        const json_t *file = json_object_get(summary, "reportfile");
        if (!json_is_object(summary) || !is_plain_file_name(file)) {
            snprintf(err, REPORT_FOLDER_ERROR_MAX,
                     "%s/index.json: agent \"%.64s\", case \"%.64s\": no "
                     "\"reportfile\" naming a file of the folder",
                     dir, agent, ids[i]);
            rc = -1;
            break;
        }
        json_t *c = load(dir, json_string_value(file),
                         REPORT_FOLDER_CASE_MAX_BYTES, err);
        if (c != NULL && !json_is_object(c)) {
            snprintf(err, REPORT_FOLDER_ERROR_MAX,
                     "%s/%s: not a case report (not a JSON object)", dir,
                     json_string_value(file));
            json_decref(c);
            c = NULL;
        }
        if (c == NULL) {
            rc = -1;
            break;
        }
        json_array_append_new(out,
                              json_pack("{s:s, s:s, s:O, s:O, s:o}", "agent",
                                        agent, "id", ids[i], "reportfile", file,
                                        "summary", summary, "case", c));
    }
    free(ids);
    return rc;
}

json_t *
report_folder_read(const char *dir, char *err)
{
    json_t *index = load(dir, "index.json", SIZE_MAX, err);
    json_t *out = json_array();
    const char **agents = NULL;
    size_t n = 0;

    if (index == NULL || out == NULL) {
        goto fail;
    }
    if (!json_is_object(index)) {
        snprintf(err, REPORT_FOLDER_ERROR_MAX,
                 "%s/index.json: not a report index (an object of agents)",
                 dir);
        goto fail;
    }
    agents = report_html_keys(index, report_html_name_cmp, &n);
    if (agents == NULL) {
        snprintf(err, REPORT_FOLDER_ERROR_MAX, "%s/index.json: out of memory",
                 dir);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *cases = json_object_get(index, agents[i]);
        if (!json_is_object(cases)) {
            snprintf(err, REPORT_FOLDER_ERROR_MAX,
                     "%s/index.json: agent \"%.64s\": not an object of "
                     "cases",
                     dir, agents[i]);
            goto fail;
        }
        if (read_agent(dir, agents[i], cases, out, err) != 0) {
            goto fail;
        }
    }
    free(agents);
    json_decref(index);
    return out;
fail:
    free(agents);
    json_decref(index);
    json_decref(out);
    return NULL;
}
