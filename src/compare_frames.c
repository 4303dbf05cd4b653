/* SPDX-License-Identifier: MIT */
/*
 * The frames of one way of a connection, compared (compare_int.h): the
 * sender's TF rows against the receiver's RF rows, frame by frame, and
 * where they part, message by message, so that what happened is named: a
 * message fragmented, coalesced or re-fragmented (the same payload octets
 * in other frames), a frame or message dropped, inserted, reordered or
 * changed, its compression or payload changed. Where a log is incomplete,
 * the frames per opcode are compared instead.
 */
#include "autoconf.h"

#include "compare_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats_json.h"
#include "ws_frame.h"
#include "ws_utf8.h"

#define HEAD_MAX      128        /* payload octets a row shows, at most */
#define LCS_CELLS_MAX (1u << 22) /* the largest alignment attempted */
#define LIST_MAX      3          /* findings of a kind named one by one */

/* The first octets of a payload a row shows: its text, or "0x" and hex,
 * " ..." after a first part; a TF row's pattern repeated to its length. */
struct head {
    uint8_t b[HEAD_MAX];
    size_t n;
    bool known; /* false: the row shows no payload */
};

struct frame {
    uint8_t opcode;
    bool fin;
    uint8_t rsv;
    bool masked;
    uint64_t length;       /* payload octets */
    const json_t *payload; /* the row's payload, as it shows it; borrowed */
    uint64_t repeat;       /* a TF row's repeatLength: payload is a pattern
                              repeated to it; 0: none */
    struct head head;      /* what the row shows of the payload */
};

struct frames {
    struct frame *f;
    size_t n;
    size_t *item_of; /* the item each frame belongs to */
};

/* A message (its data frames) or a control frame, as an alignment sees
 * it. */
struct item {
    size_t first;    /* its first frame */
    size_t n_frames; /* frames it came in */
    size_t ordinal;  /* a message's number (1, 2, ...); 0: a control frame */
    uint8_t opcode;  /* of its first frame */
    uint64_t length; /* payload octets, all its frames */
    bool complete;   /* it ended with FIN */
};

struct items {
    struct item *it;
    size_t n;
};

/* The findings of one kind, named one by one up to LIST_MAX. */
struct finding {
    struct compare_text text;
    size_t count;
};

enum {
    F_FRAGMENTED,
    F_COALESCED,
    F_REFRAGMENTED,
    F_DROPPED,
    F_INSERTED,
    F_REORDERED,
    F_CHANGED,
    F_COMPRESSION,
    F_PAYLOAD,
    F_CLOSE_CODE,
    F_CLOSE_REASON,
    F_N
};

static const struct {
    const char *kind;
    const char *lead;
} finding_kinds[F_N] = {
    [F_FRAGMENTED] = {"fragmented", "fragmented on the way: "},
    [F_COALESCED] = {"coalesced", "coalesced on the way: "},
    [F_REFRAGMENTED] = {"re-fragmented", "re-fragmented on the way: "},
    [F_DROPPED] = {"dropped", "dropped on the way: "},
    [F_INSERTED] = {"inserted", "inserted on the way: "},
    [F_REORDERED] = {"reordered", "reordered on the way: "},
    [F_CHANGED] = {"changed", "changed on the way: "},
    [F_COMPRESSION] = {"compression", "compression changed on the way: "},
    [F_PAYLOAD] = {"payload", "payload changed on the way: "},
    [F_CLOSE_CODE] = {"close code", "close code rewritten on the way: "},
    [F_CLOSE_REASON] = {"close reason", "close reason changed on the way: "},
};

/* Wire log rows ------------------------------------------------------------ */

static void head_of(const struct frame *f, struct head *h);

static bool
int_value(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return false;
    }
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* The frames of the rows of kind ("TF" or "RF") of log; false when out of
 * memory. Rows of another shape are not frames (compare.c has refused
 * reports with such rows already). */
static bool
frames_of(const json_t *log, const char *kind, struct frames *fr)
{
    size_t cap = json_array_size(log);
    size_t i;
    const json_t *row;

    fr->n = 0;
    fr->f = calloc(cap + 1, sizeof(*fr->f));
    fr->item_of = calloc(cap + 1, sizeof(*fr->item_of));
    if (fr->f == NULL || fr->item_of == NULL) {
        return false;
    }
    json_array_foreach(log, i, row)
    {
        const char *k = json_string_value(json_array_get(row, 0));
        const json_t *lp = json_array_get(row, 1);
        struct frame *f = &fr->f[fr->n];
        uint64_t opcode = 0;
        uint64_t rsv = 0;

        if (k == NULL || strcmp(k, kind) != 0 ||
            !int_value(json_array_get(lp, 0), &f->length) ||
            !int_value(json_array_get(row, 2), &opcode) || opcode > 15 ||
            !int_value(json_array_get(row, 4), &rsv) || rsv > 7) {
            continue;
        }
        f->opcode = (uint8_t)opcode;
        f->fin = json_is_true(json_array_get(row, 3));
        f->rsv = (uint8_t)rsv;
        f->payload = json_array_get(lp, 1);
        if (strcmp(kind, "TF") == 0) {
            /* The testsuite's: [5] the mask, [6] repeatLength. */
            f->masked = json_is_string(json_array_get(row, 5));
            uint64_t repeat = 0;
            if (int_value(json_array_get(row, 6), &repeat) && repeat > 0) {
                f->repeat = repeat;
                f->length = repeat;
            }
        } else {
            f->masked = json_is_true(json_array_get(row, 5));
        }
        head_of(f, &f->head);
        fr->n++;
    }
    return true;
}

static void
frames_free(struct frames *fr)
{
    free(fr->f);
    free(fr->item_of);
}

/* Why a report's wire log cannot stand for all its frames, or NULL. */
static const char *
log_gap(const json_t *c)
{
    const json_t *log = json_object_get(c, "wirelog");
    size_t i;
    const json_t *row;

    if (json_is_false(json_object_get(c, "createWirelog"))) {
        return "kept no wire log (createWirelog false)";
    }
    json_array_foreach(log, i, row)
    {
        const char *k = json_string_value(json_array_get(row, 0));
        if (k != NULL && strcmp(k, "WLM") == 0) {
            return "has a gap in its wire log (a WLM row)";
        }
    }
    return NULL;
}

/* True when the frames per opcode of fr are those of stats. */
static bool
rows_match_stats(const struct frames *fr, const json_t *stats)
{
    uint64_t rows[16] = {0};
    uint64_t total = 0;
    const char *key;
    const json_t *v;
    char name[4];

    for (size_t i = 0; i < fr->n; i++) {
        rows[fr->f[i].opcode]++;
    }
    for (unsigned op = 0; op < 16; op++) {
        snprintf(name, sizeof(name), "%u", op);
        if (compare_stat(stats, name) != rows[op]) {
            return false;
        }
    }
    /* No count under a key that is not an opcode. */
    json_object_foreach((json_t *)(uintptr_t)stats, key, v)
    {
        (void)key;
        total += (uint64_t)json_integer_value(v);
    }
    return total == fr->n;
}

/* The octets on the wire of frame f: header, mask and payload. */
static uint64_t
wire_octets(const struct frame *f)
{
    uint64_t ext = f->length < 126 ? 0 : f->length < 65536 ? 2 : 8;
    return 2 + ext + (f->masked ? 4 : 0) + f->length;
}

/* Octets c wrote beyond its head and the frames of its log (some cases
 * of the testsuite write a frame's bytes by hand, or abandon a frame
 * midway); 0 when its log is not whole enough to tell. */
static int64_t
octets_outside_frames(const json_t *c, const struct frames *sent)
{
    const json_t *log = json_object_get(c, "wirelog");
    bool server = json_is_true(json_object_get(c, "isServer"));
    const json_t *head =
        json_object_get(c, server ? "httpResponse" : "httpRequest");
    int64_t written = 0;
    size_t i;
    const json_t *row;
    uint64_t n;

    json_array_foreach(log, i, row)
    {
        const char *k = json_string_value(json_array_get(row, 0));
        if (k != NULL && strcmp(k, "TO") == 0 &&
            int_value(json_array_get(json_array_get(row, 1), 0), &n)) {
            written += (int64_t)n;
        }
    }
    if (written == 0) {
        return 0;
    }
    written -= (int64_t)json_string_length(head);
    for (size_t k = 0; k < sent->n; k++) {
        written -= (int64_t)wire_octets(&sent->f[k]);
    }
    return written;
}

/* Payloads as the rows show them ------------------------------------------- */

/* The first octets of a payload: len of src, or, for a pattern the
 * testsuite repeats to repeat octets (and logs once), as many as it makes
 * up to HEAD_MAX; cut: src is only the first of the pattern. */
static void
head_fill(uint8_t *dst, size_t *n, const uint8_t *src, size_t len,
          uint64_t repeat, bool cut)
{
    size_t k = len < HEAD_MAX ? len : HEAD_MAX;
    size_t want = k;

    if (repeat > k && !cut && len > 0) {
        want = repeat < HEAD_MAX ? (size_t)repeat : HEAD_MAX;
    }
    memcpy(dst, src, k);
    for (; len > 0 && k < want; k++) {
        dst[k] = src[k % len];
    }
    *n = k;
}

/*
 * What a row's payload string denotes. A writer shows a payload in hex
 * only when its octets are not UTF-8 (the testsuite's asciiLogData, wsd's
 * payload_head), so a "0x..." string whose digits spell UTF-8 is a text
 * that begins so; any other "0x" and hex digits are the octets in hex.
 */
static void
head_of(const struct frame *f, struct head *h)
{
    const char *s = json_string_value(f->payload);
    size_t len = json_string_length(f->payload);
    bool cut = false;
    uint8_t bin[HEAD_MAX];
    bool more;
    ssize_t k = -1;

    h->known = false;
    if (s == NULL) {
        return;
    }
    if (len >= 4 && memcmp(s + len - 4, " ...", 4) == 0) {
        len -= 4;
        cut = true;
    }
    if (len >= 2 && s[0] == '0' && s[1] == 'x') {
        k = stats_json_hex_read(s + 2, len - 2, bin, HEAD_MAX, &more);
        if (k >= 0 && ws_utf8_is_valid(bin, (size_t)k)) {
            k = -1;
        }
    }
    if (k >= 0) {
        size_t n = (size_t)k < HEAD_MAX ? (size_t)k : HEAD_MAX;
        head_fill(h->b, &h->n, bin, n, f->repeat, cut);
    } else {
        head_fill(h->b, &h->n, (const uint8_t *)s, len, f->repeat, cut);
    }
    h->known = true;
    /* No row can know more than the frame carried. */
    if (h->n > f->length) {
        h->n = (size_t)f->length;
    }
}

/* Whether the payloads two rows show agree as far as both show them; if
 * not, where they first part (in *at). Unknown payloads agree. */
static bool
heads_agree(const struct frame *a, const struct frame *b, size_t *at)
{
    const struct head *ha = &a->head;
    const struct head *hb = &b->head;
    size_t k = ha->n < hb->n ? ha->n : hb->n;
    size_t d = 0;

    if (!ha->known || !hb->known) {
        return true;
    }
    while (d < k && ha->b[d] == hb->b[d]) {
        d++;
    }
    if (d == k) {
        return true;
    }
    *at = d;
    return false;
}

/* Findings ----------------------------------------------------------------- */

static void found(struct finding *fd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
found(struct finding *fd, const char *fmt, ...)
{
    va_list ap;
    char buf[512];

    fd->count++;
    if (fd->count > LIST_MAX) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    compare_text_putf(&fd->text, "%s%s", fd->count > 1 ? "; " : "", buf);
}

static void
findings_report(struct compare_way *w, struct finding *fd)
{
    for (size_t k = 0; k < F_N; k++) {
        struct compare_text t = {.n = 0};
        if (fd[k].count == 0) {
            continue;
        }
        compare_text_putf(&t, "%s%.*s", finding_kinds[k].lead,
                          (int)fd[k].text.n, fd[k].text.b);
        if (fd[k].count > LIST_MAX) {
            compare_text_putf(&t, "; and %zu more", fd[k].count - LIST_MAX);
        }
        compare_differ(w, finding_kinds[k].kind, &t);
    }
}

/* Items -------------------------------------------------------------------- */

static bool
items_of(struct frames *fr, struct items *its)
{
    size_t open = SIZE_MAX;
    size_t messages = 0;

    its->n = 0;
    its->it = calloc(fr->n + 1, sizeof(*its->it));
    if (its->it == NULL) {
        return false;
    }
    for (size_t i = 0; i < fr->n; i++) {
        const struct frame *f = &fr->f[i];
        if (f->opcode == WS_OP_CONT && open != SIZE_MAX) {
            struct item *m = &its->it[open];
            m->n_frames++;
            m->length += f->length;
            m->complete = f->fin;
            fr->item_of[i] = open;
            open = f->fin ? SIZE_MAX : open;
            continue;
        }
        bool data = !ws_frame_opcode_is_control(f->opcode);
        struct item *m = &its->it[its->n];
        m->first = i;
        m->n_frames = 1;
        m->opcode = f->opcode;
        m->length = f->length;
        m->complete = f->fin;
        m->ordinal = data ? ++messages : 0;
        fr->item_of[i] = its->n;
        if (data) {
            /* A message that a new one interrupts stays unfinished. */
            open = f->fin ? SIZE_MAX : its->n;
        }
        its->n++;
    }
    return true;
}

/* The same message or control frame: opcode, length, end, and the
 * payload as far as both rows show it. */
static bool
same_item(const struct frames *s, const struct item *a, const struct frames *r,
          const struct item *b)
{
    size_t at;

    return a->opcode == b->opcode && a->length == b->length &&
           a->complete == b->complete &&
           heads_agree(&s->f[a->first], &r->f[b->first], &at);
}

static bool
same_frame(const struct frame *a, const struct frame *b)
{
    return a->opcode == b->opcode && a->fin == b->fin && a->rsv == b->rsv &&
           a->length == b->length;
}

static const char *
opname(uint8_t opcode)
{
    const char *s = ws_frame_opcode_name(opcode);
    return s != NULL ? s : "?";
}

/* "message 2 (text, 12 octets)" or "frame 7 (ping, 0 octets)". */
static void
describe(char *buf, size_t cap, const struct item *m)
{
    if (m->ordinal > 0) {
        snprintf(buf, cap, "message %zu (%s, %" PRIu64 " octets%s)", m->ordinal,
                 opname(m->opcode), m->length,
                 m->complete ? "" : ", unfinished");
    } else {
        snprintf(buf, cap, "frame %zu (%s, %" PRIu64 " octets)", m->first + 1,
                 opname(m->opcode), m->length);
    }
}

/* The lengths of the frames of item k of fr, "9+9", into buf. */
static void
split_of(char *buf, size_t cap, const struct frames *fr, const struct item *m,
         size_t k)
{
    size_t n = 0;
    size_t shown = 0;

    buf[0] = '\0';
    for (size_t i = m->first; i < fr->n && shown < m->n_frames; i++) {
        if (fr->item_of[i] != k) {
            continue;
        }
        shown++;
        if (shown > 8) {
            snprintf(buf + n, cap - n, "+...");
            return;
        }
        int w = snprintf(buf + n, cap - n, "%s%" PRIu64, shown > 1 ? "+" : "",
                         fr->f[i].length);
        if (w < 0 || (size_t)w >= cap - n) {
            return;
        }
        n += (size_t)w;
    }
}

static bool
same_split(const struct frames *s, const struct item *a, size_t ka,
           const struct frames *r, const struct item *b, size_t kb)
{
    size_t i = a->first;
    size_t j = b->first;

    if (a->n_frames != b->n_frames) {
        return false;
    }
    for (size_t k = 0; k < a->n_frames; k++, i++, j++) {
        while (i < s->n && s->item_of[i] != ka) {
            i++;
        }
        while (j < r->n && r->item_of[j] != kb) {
            j++;
        }
        if (i >= s->n || j >= r->n || s->f[i].length != r->f[j].length) {
            return false;
        }
    }
    return true;
}

/* The code of a close frame's payload as a row shows it, or -1. */
static long
close_code(const struct frame *f)
{
    struct head h;

    head_of(f, &h);
    return h.known && h.n >= 2 ? (long)(h.b[0] << 8 | h.b[1]) : -1;
}

/* Two close frames: their codes, then their reasons, as far as the rows
 * show them. What each end made of them (its close code and reason) is
 * its own reading, which a frame it refused leaves empty: the payloads on
 * the wire are what is compared. */
static void
close_payloads(struct finding *fd, const struct frame *fa,
               const struct frame *fb)
{
    size_t at = 0;
    long ca = close_code(fa);
    long cb = close_code(fb);
    bool same = heads_agree(fa, fb, &at);

    if ((ca < 0) != (cb < 0) && fa->length == fb->length) {
        /* One row does not show the payload (a frame its end refused and
         * logged without its bytes): nothing there to compare. */
        return;
    }
    if (ca != cb) {
        found(&fd[F_CLOSE_CODE], "%ld sent, %ld arrived", ca, cb);
    } else if (!same) {
        found(&fd[F_CLOSE_REASON],
              "close %ld: the reason differs from its octet %zu", ca,
              at > 2 ? at - 1 : 1);
    } else if (fa->length != fb->length) {
        found(&fd[F_CLOSE_REASON],
              "close %ld: %" PRIu64 " octets of payload sent, %" PRIu64
              " arrived",
              ca, fa->length, fb->length);
    }
}

/* Two frames matched one to one: their payloads. */
static void
frame_payloads(struct finding *fd, const struct frame *fa,
               const struct frame *fb, size_t i)
{
    size_t at = 0;

    if (fa->opcode == WS_OP_CLOSE) {
        close_payloads(fd, fa, fb);
    } else if (!heads_agree(fa, fb, &at)) {
        found(&fd[F_PAYLOAD],
              "frame %zu (%s, %" PRIu64 " octets), from octet "
              "%zu",
              i + 1, ws_frame_opcode_name(fa->opcode), fa->length, at + 1);
    }
}

/* A matched pair of items: the same message or control frame, perhaps in
 * other frames, compressed otherwise, or with another payload. */
static void
matched(struct finding *fd, const struct frames *s, size_t ka,
        const struct items *is, const struct frames *r, size_t kb,
        const struct items *ir)
{
    const struct item *a = &is->it[ka];
    const struct item *b = &ir->it[kb];
    const struct frame *fa = &s->f[a->first];
    const struct frame *fb = &r->f[b->first];
    char what[128];

    describe(what, sizeof(what), a);
    if (!same_split(s, a, ka, r, b, kb)) {
        char sa[96];
        char sb[96];
        split_of(sa, sizeof(sa), s, a, ka);
        split_of(sb, sizeof(sb), r, b, kb);
        if (a->n_frames != b->n_frames) {
            found(&fd[b->n_frames > a->n_frames ? F_FRAGMENTED : F_COALESCED],
                  "%s sent in %zu frame%s, arrived in %zu (same payload "
                  "octets)",
                  what, a->n_frames, a->n_frames == 1 ? "" : "s", b->n_frames);
        } else {
            found(&fd[F_REFRAGMENTED],
                  "%s sent as frames of %s octets, arrived as %s (same "
                  "payload octets)",
                  what, sa, sb);
        }
    }
    if (fa->rsv != fb->rsv) {
        found(&fd[F_COMPRESSION], "%s sent with RSV %u, arrived with RSV %u",
              what, fa->rsv, fb->rsv);
    }
    /* Their payloads agree as far as the rows show them: that is what
     * matched them. */
}

/* The alignment of two item lists ------------------------------------------ */

enum step { STEP_MATCH, STEP_DROP, STEP_INSERT };

struct op {
    enum step step;
    size_t a; /* index in the sender's items (MATCH, DROP) */
    size_t b; /* index in the receiver's (MATCH, INSERT) */
};

/*
 * The longest common subsequence of is and ir by item identity, as steps
 * into ops (room for is->n + ir->n). Returns their number, or SIZE_MAX
 * when the lists are too long apart to align, or memory runs out.
 */
static size_t
align(const struct frames *s, const struct items *is, const struct frames *r,
      const struct items *ir, struct op *ops)
{
    size_t pre = 0;
    size_t suf = 0;
    size_t n = 0;

    while (pre < is->n && pre < ir->n &&
           same_item(s, &is->it[pre], r, &ir->it[pre])) {
        pre++;
    }
    while (
        suf < is->n - pre && suf < ir->n - pre &&
        same_item(s, &is->it[is->n - 1 - suf], r, &ir->it[ir->n - 1 - suf])) {
        suf++;
    }
    size_t na = is->n - pre - suf;
    size_t nb = ir->n - pre - suf;
    if (na != 0 && nb != 0 && (na + 1) * (nb + 1) > LCS_CELLS_MAX) {
        return SIZE_MAX;
    }
    /* The LCS of the middle fits 16 bits: min(na, nb) <= 2048 here. */
    uint16_t *t = calloc((na + 1) * (nb + 1), sizeof(*t));
    if (t == NULL) {
        return SIZE_MAX;
    }
#define T(i, j) t[(i) * (nb + 1) + (j)]
    for (size_t i = na; i-- > 0;) {
        for (size_t j = nb; j-- > 0;) {
            if (same_item(s, &is->it[pre + i], r, &ir->it[pre + j])) {
                T(i, j) = (uint16_t)(T(i + 1, j + 1) + 1);
            } else {
                T(i, j) = T(i + 1, j) > T(i, j + 1) ? T(i + 1, j) : T(i, j + 1);
            }
        }
    }
    for (size_t k = 0; k < pre; k++) {
        ops[n++] = (struct op){STEP_MATCH, k, k};
    }
    size_t i = 0;
    size_t j = 0;
    while (i < na || j < nb) {
        if (i < na && j < nb &&
            same_item(s, &is->it[pre + i], r, &ir->it[pre + j])) {
            ops[n++] = (struct op){STEP_MATCH, pre + i++, pre + j++};
        } else if (j >= nb || (i < na && T(i + 1, j) >= T(i, j + 1))) {
            ops[n++] = (struct op){STEP_DROP, pre + i++, 0};
        } else {
            ops[n++] = (struct op){STEP_INSERT, 0, pre + j++};
        }
    }
#undef T
    free(t);
    for (size_t k = 0; k < suf; k++) {
        ops[n++] = (struct op){STEP_MATCH, is->n - suf + k, ir->n - suf + k};
    }
    return n;
}

/* What the steps of an alignment say: a dropped item that arrived
 * elsewhere was reordered; one that arrived beside in another size was
 * changed; the rest were dropped or inserted. */
static void
name_steps(struct finding *fd, const struct frames *s, const struct items *is,
           const struct frames *r, const struct items *ir, struct op *ops,
           size_t n)
{
    char what[128];

    for (size_t k = 0; k < n; k++) {
        if (ops[k].step != STEP_DROP) {
            continue;
        }
        for (size_t m = 0; m < n; m++) {
            if (ops[m].step == STEP_INSERT &&
                same_item(s, &is->it[ops[k].a], r, &ir->it[ops[m].b])) {
                describe(what, sizeof(what), &is->it[ops[k].a]);
                found(&fd[F_REORDERED], "%s arrived as frame %zu", what,
                      ir->it[ops[m].b].first + 1);
                ops[k].step = STEP_MATCH;
                ops[m].step = STEP_MATCH;
                ops[k].b = ops[m].b;
                ops[m].a = ops[k].a;
                break;
            }
        }
    }
    for (size_t k = 0; k + 1 < n; k++) {
        struct op *x = &ops[k];
        struct op *y = &ops[k + 1];
        if (x->step == STEP_INSERT && y->step == STEP_DROP) {
            struct op tmp = *x;
            *x = *y;
            *y = tmp;
        }
        if (x->step == STEP_DROP && y->step == STEP_INSERT &&
            is->it[x->a].opcode == ir->it[y->b].opcode) {
            const struct item *a = &is->it[x->a];
            const struct item *b = &ir->it[y->b];
            const struct frame *fa = &s->f[a->first];
            const struct frame *fb = &r->f[b->first];
            size_t at = 0;
            describe(what, sizeof(what), a);
            bool framed = fa->fin == fb->fin && a->complete == b->complete;
            if (framed && a->opcode == WS_OP_CLOSE) {
                close_payloads(fd, fa, fb);
            } else if (framed && a->length == b->length &&
                       !heads_agree(fa, fb, &at)) {
                found(&fd[F_PAYLOAD], "%s, from octet %zu", what, at + 1);
            } else {
                found(&fd[F_CHANGED], "%s arrived as %" PRIu64 " octets%s%s",
                      what, b->length,
                      fa->fin != fb->fin
                          ? (fb->fin ? ", FIN set" : ", FIN clear")
                          : "",
                      a->complete != b->complete && fa->fin == fb->fin
                          ? ", finished otherwise"
                          : "");
            }
            x->step = STEP_MATCH;
            y->step = STEP_MATCH;
            k++;
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (ops[k].step == STEP_DROP) {
            describe(what, sizeof(what), &is->it[ops[k].a]);
            found(&fd[F_DROPPED], "%s", what);
        } else if (ops[k].step == STEP_INSERT) {
            describe(what, sizeof(what), &ir->it[ops[k].b]);
            found(&fd[F_INSERTED], "%s, as the receiver numbers it", what);
        }
    }
}

/* The sequences ------------------------------------------------------------ */

/*
 * May the receiver have stopped parsing before the frames it never logged?
 * It had a close frame before them (nothing after one counts), or failed
 * the connection itself, or, a client, dropped TCP first (the server's
 * duty; the testsuite does when it gives a case up), not because its own
 * close went unanswered, which is what a close frame dropped on the way
 * makes it do.
 */
static bool
receiver_closing(const struct frames *r, const json_t *receiver)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->f[i].opcode == WS_OP_CLOSE) {
            return true;
        }
    }
    return json_is_true(json_object_get(receiver, "failedByMe")) ||
           (!json_is_true(json_object_get(receiver, "isServer")) &&
            json_is_true(json_object_get(receiver, "droppedByMe")) &&
            !json_is_true(
                json_object_get(receiver, "wasCloseHandshakeTimeout")));
}

static void
sequences(struct compare_way *w, struct frames *s, struct frames *r,
          const json_t *receiver)
{
    struct finding fd[F_N];
    struct items is = {NULL, 0};
    struct items ir = {NULL, 0};
    struct op *ops = NULL;
    struct compare_text t = {.n = 0};

    memset(fd, 0, sizeof(fd));
    size_t common = 0;
    while (common < s->n && common < r->n &&
           same_frame(&s->f[common], &r->f[common])) {
        common++;
    }
    bool prefix =
        common == r->n && r->n < s->n && receiver_closing(r, receiver);
    if ((common == s->n && common == r->n) || prefix) {
        for (size_t i = 0; i < common; i++) {
            frame_payloads(fd, &s->f[i], &r->f[i], i);
        }
        findings_report(w, fd);
        if (prefix) {
            w->receiver_stopped = true;
            compare_text_putf(&t,
                              "%s parsed only the first %zu of the %zu frames "
                              "%s sent: it had a close frame, or was ending "
                              "the connection, and parsed no more",
                              w->receiver, r->n, s->n, w->sender);
            compare_note(w, &t);
        }
        return;
    }
    ops = calloc(s->n + r->n + 1, sizeof(*ops));
    if (ops == NULL || !items_of(s, &is) || !items_of(r, &ir)) {
        w->failed = true;
        goto out;
    }
    size_t n = align(s, &is, r, &ir, ops);
    if (n == SIZE_MAX) {
        size_t k = 0;
        while (k < s->n && k < r->n && same_frame(&s->f[k], &r->f[k])) {
            k++;
        }
        compare_text_putf(&t,
                          "the frames differ from frame %zu on (too many "
                          "to align: %zu sent, %zu arrived)",
                          k + 1, s->n, r->n);
        compare_differ(w, "changed", &t);
        goto out;
    }
    for (size_t k = 0; k < n; k++) {
        if (ops[k].step == STEP_MATCH) {
            matched(fd, s, ops[k].a, &is, r, ops[k].b, &ir);
        }
    }
    name_steps(fd, s, &is, r, &ir, ops, n);
    bool any = false;
    for (size_t k = 0; k < F_N; k++) {
        any = any || fd[k].count > 0;
    }
    if (!any) {
        /* The same messages and control frames, interleaved otherwise. */
        size_t k = 0;
        while (k < s->n && k < r->n && same_frame(&s->f[k], &r->f[k])) {
            k++;
        }
        found(&fd[F_REORDERED],
              "from frame %zu, the frames arrived in another order (%s sent, "
              "%s arrived)",
              k + 1, k < s->n ? opname(s->f[k].opcode) : "none",
              k < r->n ? opname(r->f[k].opcode) : "none");
    }
    findings_report(w, fd);
out:
    free(ops);
    free(is.it);
    free(ir.it);
}

/* Counts ------------------------------------------------------------------- */

/* {"opcode": count} as "text 2, close 1", by opcode. */
static void
counts_text(struct compare_text *t, const json_t *stats)
{
    char name[4];
    bool any = false;

    for (unsigned op = 0; op < 16; op++) {
        snprintf(name, sizeof(name), "%u", op);
        uint64_t n = compare_stat(stats, name);
        if (n > 0) {
            compare_text_putf(t, "%s%s %" PRIu64, any ? ", " : "",
                              opname((uint8_t)op), n);
            any = true;
        }
    }
    if (!any) {
        compare_text_putf(t, "none");
    }
}

static bool
same_counts(const json_t *a, const json_t *b)
{
    char name[4];

    for (unsigned op = 0; op < 16; op++) {
        snprintf(name, sizeof(name), "%u", op);
        if (compare_stat(a, name) != compare_stat(b, name)) {
            return false;
        }
    }
    return true;
}

static uint64_t
payload_octets(const struct frames *fr)
{
    uint64_t n = 0;

    for (size_t i = 0; i < fr->n; i++) {
        if (!ws_frame_opcode_is_control(fr->f[i].opcode)) {
            n += fr->f[i].length;
        }
    }
    return n;
}

/* Why the frames of this way are compared by their counts, into t; false
 * when both logs are whole. */
static bool
why_counts(struct compare_text *t, const struct compare_way *w,
           const json_t *sender, const struct frames *s, const json_t *receiver,
           const struct frames *r)
{
    const char *gap = log_gap(sender);

    if (gap != NULL) {
        compare_text_putf(t, "%s %s", w->sender, gap);
        return true;
    }
    if ((gap = log_gap(receiver)) != NULL) {
        compare_text_putf(t, "%s %s", w->receiver, gap);
        return true;
    }
    if (!rows_match_stats(s, json_object_get(sender, "txFrameStats"))) {
        compare_text_putf(t,
                          "%s's TF rows do not add up to its txFrameStats "
                          "(it logged only some of its frames)",
                          w->sender);
        return true;
    }
    if (!rows_match_stats(r, json_object_get(receiver, "rxFrameStats"))) {
        compare_text_putf(t,
                          "%s's RF rows do not add up to its rxFrameStats "
                          "(it logged only some of its frames)",
                          w->receiver);
        return true;
    }
    return false;
}

/* The rows show a payload's first octets only (wsd's 32, the testsuite's
 * 64): how far the payloads of frames longer than that were compared, in
 * w->payload_shown and the way's "payloadOctetsCompared". A row that
 * shows none of its payload (a frame wsd discarded) is left out. */
static void
payloads_shown(struct compare_way *w, const struct frames *s,
               const struct frames *r)
{
    const struct frames *both[] = {s, r};

    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < both[k]->n; i++) {
            const struct frame *f = &both[k]->f[i];
            if (f->head.known && f->head.n > 0 && f->head.n < f->length &&
                (w->payload_shown == 0 || f->head.n < w->payload_shown)) {
                w->payload_shown = f->head.n;
            }
        }
    }
    if (w->payload_shown > 0) {
        json_object_set_new(w->obj, "payloadOctetsCompared",
                            json_integer((json_int_t)w->payload_shown));
    }
}

void
compare_frames(struct compare_way *w, const json_t *sender,
               const json_t *receiver)
{
    const json_t *sent = json_object_get(sender, "txFrameStats");
    const json_t *got = json_object_get(receiver, "rxFrameStats");
    struct frames s = {NULL, 0, NULL};
    struct frames r = {NULL, 0, NULL};
    struct compare_text t = {.n = 0};
    const char *mode = "sequence";

    json_object_set_new(w->obj, "framesByOpcode",
                        json_pack("{s:O, s:O}", "sent", sent, "received", got));
    json_object_set_new(w->obj, "messagePayloadOctets", json_null());
    if (!frames_of(json_object_get(sender, "wirelog"), "TF", &s) ||
        !frames_of(json_object_get(receiver, "wirelog"), "RF", &r)) {
        w->failed = true;
        goto out;
    }
    if (why_counts(&t, w, sender, &s, receiver, &r)) {
        mode = "counts";
        struct compare_text n = {.n = 0};
        compare_text_putf(&n,
                          "frames compared by their counts per opcode: "
                          "%.*s",
                          (int)t.n, t.b);
        compare_note(w, &n);
    } else {
        /* The testsuite's way (a client's): it writes some frames by hand.
         * wsd logs every frame it writes. */
        int64_t raw = json_is_true(json_object_get(sender, "isServer"))
                          ? 0
                          : octets_outside_frames(sender, &s);
        if (raw > 0) {
            mode = "none";
            w->frames_unknown = true;
            compare_text_putf(&t,
                              "%s wrote %" PRId64 " octets outside the frames "
                              "of its log, so its frames are not compared with "
                              "the %zu %s parsed",
                              w->sender, raw, r.n, w->receiver);
            compare_note(w, &t);
            goto out;
        }
        json_object_set_new(
            w->obj, "messagePayloadOctets",
            json_pack("{s:I, s:I}", "sent", (json_int_t)payload_octets(&s),
                      "received", (json_int_t)payload_octets(&r)));
        w->by_sequence = true;
        sequences(w, &s, &r, receiver);
        payloads_shown(w, &s, &r);
    }
    if (!w->receiver_stopped && !same_counts(sent, got)) {
        t.n = 0;
        compare_text_putf(&t, "frames by opcode: sent ");
        counts_text(&t, sent);
        compare_text_putf(&t, "; arrived ");
        counts_text(&t, got);
        compare_differ(w, "frames by opcode", &t);
    }
    if (strcmp(mode, "sequence") == 0 && !w->receiver_stopped &&
        payload_octets(&s) != payload_octets(&r)) {
        t.n = 0;
        compare_text_putf(
            &t, "message payload octets: %" PRIu64 " sent, %" PRIu64 " arrived",
            payload_octets(&s), payload_octets(&r));
        compare_differ(w, "message payload octets", &t);
    }
out:
    json_object_set_new(w->obj, "frames", json_string(mode));
    frames_free(&s);
    frames_free(&r);
}
