/* SPDX-License-Identifier: MIT */
/*
 * wsc, the WebSocket client on wsd's core: its command line, the run
 * that connects to one URL, sends each record of standard input as a
 * message and prints each message received, and its exit status, which
 * says how the connection ended. `wsc autobahn` is wsc_autobahn's.
 */
#include "autoconf.h"

#include "wsc.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "report_autobahn.h"
#include "tls_memory.h"
#include "transport_tls.h"
#include "ws_close.h"
#include "ws_handshake_client.h"
#include "ws_http.h"
#include "ws_utf8.h"

#define STDIN_CHUNK      (64 * 1024)
#define STDIN_TURN_BYTES (1024 * 1024) /* read per turn before yielding */
#define OUT_HIGH_WATER   (1024 * 1024) /* queued output that pauses stdin */

int
wsc_exit_status(enum wsc_outcome o)
{
    switch (o) {
    case WSC_CLEAN:
        return WSC_EXIT_CLEAN;
    case WSC_UNCLEAN:
        return WSC_EXIT_UNCLEAN;
    case WSC_REFUSED:
        return WSC_EXIT_REFUSED;
    case WSC_PROTOCOL:
        return WSC_EXIT_PROTOCOL;
    case WSC_TIMEOUT:
        return WSC_EXIT_TIMEOUT;
    case WSC_TLS:
        return WSC_EXIT_TLS;
    }
    return WSC_EXIT_UNCLEAN;
}

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: wsc [options] URL\n"
            "       wsc autobahn URL [--agent NAME] [--cases LIST] "
            "[options]\n"
            "       wsc bench URL [--connections N] [--size BYTES] "
            "[--duration S]\n"
            "                     [--warmup S] [options]\n"
            "       wsc --version | --help\n"
            "\n"
            "Connects to URL (ws:// or wss://), sends each line of standard "
            "input\n"
            "as a text message and prints each message received, one per "
            "line;\n"
            "closes at the end of the input. Options:\n"
            "  -b, --binary             send binary messages\n"
            "  -0, --null-terminated    records end in NUL, both ways\n"
            "  -H, --header 'NAME: VALUE'  another request header "
            "(repeatable)\n"
            "      --origin ORIGIN      the Origin header\n"
            "      --subprotocol NAME   offer a subprotocol (repeatable)\n"
            "      --deflate[=PARAMS]   offer permessage-deflate, e.g.\n"
            "                           "
            "--deflate='client_max_window_bits; "
            "server_no_context_takeover'\n"
            "      --ping-interval MS   ping after MS of silence; no pong in "
            "MS: close\n"
            "      --close CODE[:REASON]  the close frame sent at the end "
            "(1000)\n"
            "      --connect-timeout MS, --handshake-timeout MS, "
            "--close-timeout MS (0: none)\n"
            "      --max-message-bytes N  largest message received (64m)\n"
            "      --cacert FILE        trust the certificates in FILE "
            "alone (wss)\n"
            "  -k, --insecure           do not verify the server's "
            "certificate (wss)\n"
            "      --user-agent TEXT    the User-Agent header\n"
            "      --record DIR         write each connection's record "
            "into DIR, laid\n"
            "                           out as the Autobahn testsuite's "
            "reports\n"
            "  wsc autobahn: --agent NAME (wsc), --cases LIST (1-5,9,...)\n"
            "  wsc bench: --connections N (100), --size BYTES (16k), "
            "--duration S (5),\n"
            "             --warmup S (1)\n"
            "\n"
            "Exit status: 0 clean close, 1 no connection or no clean close, "
            "2 bad\n"
            "usage, 3 handshake refused or failed, 4 protocol error, 5 "
            "timeout,\n"
            "6 TLS failure; the reason goes to standard error.\n");
}

/* A number with an optional k, m or g (times 1024^n); false when not. */
static bool
parse_number(const char *v, bool sized, uint64_t max, uint64_t *out)
{
    char *end;
    uint64_t mul = 1;

    if (*v < '0' || *v > '9') {
        return false;
    }
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno != 0) {
        return false;
    }
    if (sized && *end != '\0' && end[1] == '\0') {
        mul = *end == 'k'   ? 1024
              : *end == 'm' ? 1024 * 1024
              : *end == 'g' ? 1024ULL * 1024 * 1024
                            : 0;
        end += mul != 0;
    }
    if (*end != '\0' || mul == 0 || n > max / mul) {
        return false;
    }
    *out = n * mul;
    return true;
}

enum {
    OPT_ORIGIN = 256,
    OPT_SUBPROTOCOL,
    OPT_DEFLATE,
    OPT_PING,
    OPT_CLOSE,
    OPT_CONNECT_TIMEOUT,
    OPT_HANDSHAKE_TIMEOUT,
    OPT_CLOSE_TIMEOUT,
    OPT_MAX_MESSAGE,
    OPT_CACERT,
    OPT_USER_AGENT,
    OPT_RECORD,
    OPT_AGENT,
    OPT_CASES,
    OPT_CONNECTIONS,
    OPT_SIZE,
    OPT_DURATION,
    OPT_WARMUP,
    OPT_VERSION,
};

static const struct option options[] = {
    {"binary", no_argument, NULL, 'b'},
    {"null-terminated", no_argument, NULL, '0'},
    {"header", required_argument, NULL, 'H'},
    {"origin", required_argument, NULL, OPT_ORIGIN},
    {"subprotocol", required_argument, NULL, OPT_SUBPROTOCOL},
    {"deflate", optional_argument, NULL, OPT_DEFLATE},
    {"ping-interval", required_argument, NULL, OPT_PING},
    {"close", required_argument, NULL, OPT_CLOSE},
    {"connect-timeout", required_argument, NULL, OPT_CONNECT_TIMEOUT},
    {"handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TIMEOUT},
    {"close-timeout", required_argument, NULL, OPT_CLOSE_TIMEOUT},
    {"max-message-bytes", required_argument, NULL, OPT_MAX_MESSAGE},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"insecure", no_argument, NULL, 'k'},
    {"user-agent", required_argument, NULL, OPT_USER_AGENT},
    {"record", required_argument, NULL, OPT_RECORD},
    {"agent", required_argument, NULL, OPT_AGENT},
    {"cases", required_argument, NULL, OPT_CASES},
    {"connections", required_argument, NULL, OPT_CONNECTIONS},
    {"size", required_argument, NULL, OPT_SIZE},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* --close CODE[:REASON]: a code a client may send (RFC 6455 §7.4). */
static bool
parse_close(struct wsc_options *o, const char *v)
{
    uint64_t code = 0;
    char num[8];
    size_t n = strcspn(v, ":");

    if (n == 0 || n >= sizeof(num)) {
        return false;
    }
    memcpy(num, v, n);
    num[n] = '\0';
    if (!parse_number(num, false, 4999, &code) ||
        !ws_close_code_is_valid((uint32_t)code)) {
        return false;
    }
    o->close_code = (uint16_t)code;
    o->close_reason = v[n] == ':' ? v + n + 1 : NULL;
    return o->close_reason == NULL ||
           (strlen(o->close_reason) <= WS_CLOSE_REASON_MAX &&
            ws_utf8_is_valid((const uint8_t *)o->close_reason,
                             strlen(o->close_reason)));
}

/* --subprotocol NAME: a token (RFC 6455 §4.1 item 10), added to the list. */
static bool
add_subprotocol(struct wsc_options *o, const char *name)
{
    size_t len = strlen(o->protocols);

    if (name[0] == '\0') {
        return false;
    }
    for (const char *p = name; *p != '\0'; p++) {
        if (!ws_http_is_tchar((unsigned char)*p)) {
            return false;
        }
    }
    return (size_t)snprintf(o->protocols + len, sizeof(o->protocols) - len,
                            "%s%s", len > 0 ? ", " : "",
                            name) < sizeof(o->protocols) - len;
}

/* Whether arg can go on the wire as the value of header name (no CR, LF
 * or other control character: RFC 9110 §5.5); said when not. */
static bool
header_value_ok(const char *option, const char *name, const char *arg)
{
    char line[1024];
    struct ws_span field;
    struct ws_span value;
    int n = snprintf(line, sizeof(line), "%s: %s", name, arg);
    const char *bad =
        n < 0 || (size_t)n >= sizeof(line)
            ? "longer than 1000 bytes"
            : ws_http_parse_field((struct ws_span){line, (size_t)n}, &field,
                                  &value);
    if (bad != NULL) {
        wsc_say("%s: %s", option, bad);
        return false;
    }
    return true;
}

/* One option of the command line; false (said) when it is bad. */
static bool
take_option(struct wsc_options *o, int opt, const char *arg)
{
    struct ws_error err = {0, NULL};
    uint64_t v = 0;
    const uint64_t ms_max = UINT64_C(86400000);

    switch (opt) {
    case 'b':
        o->binary = true;
        return true;
    case '0':
        o->separator = '\0';
        return true;
    case 'k':
        o->insecure = true;
        return true;
    case 'H':
        if (ws_handshake_client_check_header(arg, &err) != 0) {
            wsc_say("--header '%s': %s", arg, err.reason);
            return false;
        }
        if (o->n_headers == WSC_HEADERS_MAX) {
            wsc_say("--header: at most %d", WSC_HEADERS_MAX);
            return false;
        }
        o->headers[o->n_headers++] = arg;
        return true;
    case OPT_ORIGIN:
        if (!header_value_ok("--origin", "Origin", arg)) {
            return false;
        }
        o->set.origin = arg;
        return true;
    case OPT_SUBPROTOCOL:
        if (!add_subprotocol(o, arg)) {
            wsc_say("--subprotocol '%s': a subprotocol is a token (letters, "
                    "digits, !#$%%&'*+-.^_`|~), and the list is at most %zu "
                    "bytes",
                    arg, sizeof(o->protocols) - 1);
            return false;
        }
        o->set.protocols = o->protocols;
        return true;
    case OPT_DEFLATE:
        o->set.deflate = true;
        if (arg != NULL && ws_deflate_offer_parse(&o->set.offer, arg,
                                                  strlen(arg), &err) != 0) {
            wsc_say("--deflate='%s': %s", arg, err.reason);
            return false;
        }
        return true;
    case OPT_CLOSE:
        if (!parse_close(o, arg)) {
            wsc_say("--close '%s': CODE[:REASON], a code 1000-1003, "
                    "1007-1014 or 3000-4999 and at most 123 bytes of UTF-8",
                    arg);
            return false;
        }
        return true;
    case OPT_PING:
    case OPT_CONNECT_TIMEOUT:
    case OPT_HANDSHAKE_TIMEOUT:
    case OPT_CLOSE_TIMEOUT:
        if (!parse_number(arg, false, ms_max, &v)) {
            wsc_say("%s '%s': milliseconds, 0 to %llu",
                    opt == OPT_PING ? "--ping-interval" : "the timeout", arg,
                    (unsigned long long)ms_max);
            return false;
        }
        if (opt == OPT_PING) {
            o->set.keepalive.ping_interval_ms = v;
            o->set.keepalive.pong_timeout_ms = v;
        } else if (opt == OPT_CONNECT_TIMEOUT) {
            o->set.connect_timeout_ms = v;
        } else if (opt == OPT_HANDSHAKE_TIMEOUT) {
            o->set.handshake_timeout_ms = v;
            o->timeouts_given = true;
        } else {
            o->set.close_timeout_ms = v;
            o->timeouts_given = true;
        }
        return true;
    case OPT_MAX_MESSAGE:
        if (!parse_number(arg, true, UINT64_C(1) << 32, &v) || v == 0) {
            wsc_say("--max-message-bytes '%s': 1 to 4g (k, m and g "
                    "multiply by 1024)",
                    arg);
            return false;
        }
        o->set.session_cfg.max_message_bytes = v;
        o->set.session_cfg.max_frame_bytes = v;
        return true;
    case OPT_CACERT:
        o->cacert = arg;
        return true;
    case OPT_USER_AGENT:
        if (!header_value_ok("--user-agent", "User-Agent", arg)) {
            return false;
        }
        o->set.user_agent = arg;
        return true;
    case OPT_RECORD:
        o->record_dir = arg;
        return true;
    case OPT_AGENT:
        o->agent = arg;
        return true;
    case OPT_CASES:
        o->cases = arg;
        return true;
    case OPT_CONNECTIONS:
        if (!parse_number(arg, false, 10000, &v) || v == 0) {
            wsc_say("--connections '%s': 1 to 10000", arg);
            return false;
        }
        o->bench_connections = (unsigned)v;
        return true;
    case OPT_SIZE:
        if (!parse_number(arg, true, UINT64_C(1) << 26, &v)) {
            wsc_say("--size '%s': 0 to 64m (k and m multiply by 1024)", arg);
            return false;
        }
        o->bench_size = (size_t)v;
        return true;
    case OPT_DURATION:
    case OPT_WARMUP:
        if (!parse_number(arg, false, 3600, &v)) {
            wsc_say("%s '%s': seconds, 0 to 3600",
                    opt == OPT_DURATION ? "--duration" : "--warmup", arg);
            return false;
        }
        *(opt == OPT_DURATION ? &o->bench_seconds : &o->bench_warmup) = v;
        return true;
    default:
        return false;
    }
}

static void
options_init(struct wsc_options *o)
{
    memset(o, 0, sizeof(*o));
    o->separator = '\n';
    o->close_code = WS_CLOSE_NORMAL;
    o->agent = "wsc";
    o->bench_connections = 100;
    o->bench_size = 16 * 1024;
    o->bench_seconds = 5;
    o->bench_warmup = 1;
    o->set.user_agent = "wsc/" PACKAGE_VERSION;
    o->set.headers = o->headers;
    o->set.session_cfg.max_message_bytes = WSC_MAX_MESSAGE_DEFAULT;
    o->set.session_cfg.max_frame_bytes = WSC_MAX_MESSAGE_DEFAULT;
    o->set.connect_timeout_ms = 10000;
    o->set.handshake_timeout_ms = 10000;
    o->set.close_timeout_ms = 2000;
    /* Level 1 as wsd compresses; messages of 64 bytes or more. */
    o->set.deflate_cfg =
        (struct ws_deflate_config){true, 1, 8, 64, 15, 15, false, false};
}

/* Parses argv (after the mode word, if any); returns 0, 1 (said: exit
 * 0 after --help or --version) or 2 (bad usage, said). */
static int
parse_args(struct wsc_options *o, int argc, char **argv)
{
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "b0H:kh", options, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return 1;
        }
        if (opt == OPT_VERSION) {
            printf("wsc %s\n", PACKAGE_VERSION);
            return 1;
        }
        if (opt == '?' || !take_option(o, opt, optarg)) {
            if (opt == '?') {
                fputs("wsc: try wsc --help\n", stderr);
            }
            return 2;
        }
    }
    o->set.n_headers = o->n_headers;
    if (optind != argc - 1) {
        wsc_say("%s; try wsc --help",
                optind == argc ? "no URL" : "one URL only");
        return 2;
    }
    const char *why = wsc_url_parse(&o->url, argv[optind]);
    if (why != NULL) {
        wsc_say("URL %s: %s", argv[optind], why);
        return 2;
    }
    return 0;
}

int
wsc_setup(struct wsc_options *o, struct wsc_run *run)
{
    memset(run, 0, sizeof(*run));
    signal(SIGPIPE, SIG_IGN);
    /* OpenSSL's global state, made now rather than at the first digest
     * (the handshake's): a first use that runs out of memory half way
     * leaves it unusable, and OpenSSL 3.0 then crashes in its next call. */
    EVP_MD *sha1 = OSSL_LIB_CTX_get0_global_default() != NULL
                       ? EVP_MD_fetch(NULL, "SHA1", NULL)
                       : NULL;
    if (sha1 == NULL) {
        wsc_say("out of memory");
        return WSC_EXIT_UNCLEAN;
    }
    EVP_MD_free(sha1);
    run->base = event_base_new();
    if (run->base == NULL) {
        wsc_say("cannot make an event loop");
        return WSC_EXIT_UNCLEAN;
    }
    if (o->url.tls) {
        char err[512];
        SSL_CTX *ctx = transport_tls_client_ctx_new(o->cacert, o->insecure, err,
                                                    sizeof(err));
        if (ctx == NULL) {
            wsc_say("%s", err);
            return WSC_EXIT_TLS;
        }
        run->tls_ctx = ctx;
        transport_tls_env_init(&run->tls, ctx);
        o->set.tls = &run->tls;
        if (o->insecure) {
            wsc_say("warning: --insecure: the server's certificate is NOT "
                    "verified; anyone between here and %s can read and "
                    "change this connection",
                    o->url.host);
        }
    } else if (o->insecure || o->cacert != NULL) {
        wsc_say("warning: %s has no effect on a ws:// URL",
                o->insecure ? "--insecure" : "--cacert");
    }
    /* One slot, and one record, reused by each connection in turn, when
     * they are kept. */
    struct stats_shm_size size = {1, o->record_dir != NULL ? 1 : 0,
                                  WSC_RECORD_REQUEST_BYTES,
                                  WSC_RECORD_WIRE_ENTRIES};
    if (stats_shm_create(&run->shm, &size, clock_wall_ms()) != 0) {
        wsc_say("cannot map the statistics: %s", strerror(errno));
        return WSC_EXIT_UNCLEAN;
    }
    o->set.shm = &run->shm;
    o->set.random = &run->random;
    run->rbuf = malloc(WSC_RBUF_BYTES);
    if (run->rbuf == NULL) {
        wsc_say("out of memory");
        return WSC_EXIT_UNCLEAN;
    }
    o->set.rbuf = run->rbuf;
    o->set.scratch = &run->scratch;
    if (o->record_dir != NULL) {
        if (report_writer_open(&run->report, o->record_dir) != 0) {
            wsc_say("--record %s", run->report.err);
            return WSC_EXIT_USAGE;
        }
        run->recording = true;
    }
    return 0;
}

int
wsc_record(struct wsc_run *run, const char *case_id, uint64_t case_number)
{
    /* The one record, which each connection takes in turn. */
    const struct stats_case *c = stats_shm_case(&run->shm, 0);

    if (!run->recording || c->state != STATS_CASE_CLOSED) {
        return 0;
    }
    json_t *o = report_autobahn_case(c, clock_wall_ms());
    if (o == NULL) {
        wsc_say("--record: out of memory");
        return -1;
    }
    if (case_id != NULL) {
        json_object_set_new(o, "id", json_string(case_id));
        json_object_set_new(o, "case", json_integer((json_int_t)case_number));
    }
    int rc = report_writer_case(&run->report, o, "wscCase", c->id);
    json_decref(o);
    if (rc != 0) {
        wsc_say("--record %s", run->report.err);
    }
    return rc;
}

void
wsc_teardown(struct wsc_run *run)
{
    if (run->recording) {
        if (report_writer_finish(&run->report) != 0) {
            wsc_say("--record %s", run->report.err);
        }
        report_writer_free(&run->report);
    }
    if (run->shm.hdr != NULL) {
        stats_shm_destroy(&run->shm);
    }
    transport_tls_env_done(&run->tls);
    SSL_CTX_free(run->tls_ctx);
    free(run->rbuf);
    output_buf_free(&run->scratch);
    if (run->base != NULL) {
        event_base_free(run->base);
    }
}

/* The run of `wsc URL`: standard input out, messages in. */
struct cat {
    struct wsc_options *o;
    struct wsc_run *run;
    struct event_base *base;
    struct wsc_conn *c;
    struct evbuffer *in; /* input not yet a whole record */
    struct event *ev_stdin;
    bool pollable; /* stdin can be waited for (a pipe, a socket, a tty) */
    bool stdin_on; /* reading it */
    bool stdin_done;
    bool out_failed;    /* standard output refused a write: said, closed */
    bool closing;       /* the server started the close, or it failed */
    uint16_t sent_code; /* the code of the close we sent; 0: none yet */
    bool open;
    int status;
    bool ended;
};

static void stdin_stop(struct cat *k);

/* Starts our closing handshake, if it is not started yet. */
static void
cat_close(struct cat *k, uint16_t code, const char *reason)
{
    if (wsc_conn_close(k->c, code, reason)) {
        k->sent_code = code;
    }
}

/* Sends the whole records in k->in; false when the session ended. */
static bool
send_records(struct cat *k, bool last)
{
    struct evbuffer_ptr at;
    char sep = k->o->separator;

    for (;;) {
        size_t len = evbuffer_get_length(k->in);
        at = evbuffer_search(k->in, &sep, 1, NULL);
        size_t n = at.pos >= 0 ? (size_t)at.pos : len;
        if (at.pos < 0 && (!last || len == 0)) {
            return true;
        }
        const uint8_t *p = evbuffer_pullup(k->in, (ev_ssize_t)n);
        if (!k->o->binary && !ws_utf8_is_valid(p, n)) {
            wsc_say("input record is not UTF-8: a text message must be "
                    "(--binary sends bytes)");
            k->status = WSC_EXIT_USAGE;
            stdin_stop(k);
            k->stdin_done = true;
            cat_close(k, WS_CLOSE_NORMAL, NULL);
            return false;
        }
        if (!wsc_conn_send(k->c, k->o->binary ? WS_OP_BINARY : WS_OP_TEXT, p,
                           n)) {
            return false;
        }
        evbuffer_drain(k->in, n + (at.pos >= 0 ? 1 : 0));
    }
}

static void
stdin_stop(struct cat *k)
{
    if (k->stdin_on) {
        event_del(k->ev_stdin);
        k->stdin_on = false;
    }
}

/* Reads standard input while the output has room, a bounded amount per
 * turn; at its end, the last record and our close. */
static void
pump(struct cat *k)
{
    uint8_t buf[STDIN_CHUNK];
    size_t turn = 0;

    while (!k->stdin_done && !k->ended &&
           wsc_conn_pending(k->c) < OUT_HIGH_WATER) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            return;
        }
        if (n <= 0) {
            if (n < 0) {
                wsc_say("standard input: %s", strerror(errno));
                if (k->status == 0) {
                    k->status = WSC_EXIT_UNCLEAN; /* not all was sent */
                }
            }
            k->stdin_done = true;
            stdin_stop(k);
            if (send_records(k, true)) {
                cat_close(k, k->o->close_code, k->o->close_reason);
            }
            return;
        }
        evbuffer_add(k->in, buf, (size_t)n);
        if (!send_records(k, false)) {
            return;
        }
        turn += (size_t)n;
        if (k->pollable) {
            return; /* one read per readiness: it never blocks */
        }
        if (turn >= STDIN_TURN_BYTES) {
            event_active(k->ev_stdin, EV_READ, 0); /* the rest next turn */
            return;
        }
    }
    /* Output backs up: on_drain resumes. */
    if (k->pollable && wsc_conn_pending(k->c) >= OUT_HIGH_WATER) {
        stdin_stop(k);
    }
}

static void
on_stdin(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pump(arg);
}

/* Reads standard input from now on: a pollable one when it is readable
 * (a read without readiness could block the whole loop), a file at once. */
static void
stdin_start(struct cat *k)
{
    if (!k->pollable) {
        pump(k);
    } else if (!k->stdin_on && !k->stdin_done) {
        event_add(k->ev_stdin, NULL);
        k->stdin_on = true;
    }
}

static void
cat_open(struct wsc_conn *c, void *arg)
{
    struct cat *k = arg;
    const char *d = wsc_conn_deflate(c);

    k->open = true;
    if (k->o->set.deflate && d[0] == '\0') {
        wsc_say("note: the server declined permessage-deflate");
    }
    stdin_start(k);
}

static void
cat_message(struct wsc_conn *c, uint8_t opcode, const uint8_t *p, size_t len,
            void *arg)
{
    struct cat *k = arg;
    (void)c;
    (void)opcode;

    /* Once it failed, what still comes before the server's close has
     * nowhere to go: said once, not once per message. */
    if (k->out_failed) {
        return;
    }
    if (fwrite(p, 1, len, stdout) != len || putchar(k->o->separator) == EOF ||
        fflush(stdout) != 0) {
        wsc_say("standard output: %s", strerror(errno));
        k->out_failed = true;
        k->status = WSC_EXIT_UNCLEAN;
        stdin_stop(k);
        k->stdin_done = true;
        cat_close(k, WS_CLOSE_GOING_AWAY, "output closed");
    }
}

static void
cat_closing(struct wsc_conn *c, void *arg)
{
    struct cat *k = arg;
    (void)c;

    stdin_stop(k);
    k->stdin_done = true;
    k->closing = true;
}

static void
cat_drain(struct wsc_conn *c, void *arg)
{
    struct cat *k = arg;
    (void)c;

    if (k->open && !k->stdin_done) {
        stdin_start(k);
    }
}

static void
cat_end(struct wsc_conn *c, const struct wsc_result *r, void *arg)
{
    struct cat *k = arg;
    (void)c;

    k->ended = true;
    if (r->outcome != WSC_CLEAN) {
        wsc_say("%s", r->why);
    } else if (r->close_code != WS_CLOSE_NORMAL && r->close_code != 0 &&
               r->close_code != k->sent_code) {
        /* The server's own code; the echo of ours is no news. */
        wsc_say("the server closed with %u%s%s", r->close_code,
                r->close_reason[0] != '\0' ? ": " : "", r->close_reason);
    }
    if (k->status == 0) {
        k->status = wsc_exit_status(r->outcome);
    }
    event_base_loopbreak(k->base);
}

/*
 * SIGINT or SIGTERM: our close 1001 (going away) and, as at the end of
 * the input, the wait for the server's; the run then dies of the signal
 * (main). Before the session is open, or at a second signal, the run
 * ends at once.
 */
static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct cat *k = arg;
    bool again = k->run->stopped_by != 0;
    (void)what;

    k->run->stopped_by = (int)sig;
    stdin_stop(k);
    k->stdin_done = true;
    if (!again && k->open && !k->ended) {
        cat_close(k, WS_CLOSE_GOING_AWAY, NULL);
        if (k->sent_code != 0 || k->closing) {
            return; /* the closing handshake's wait is bounded */
        }
    }
    event_base_loopbreak(k->base);
}

static int
run_cat(struct wsc_options *o, struct wsc_run *run)
{
    static const struct wsc_callbacks cb = {cat_open, cat_message, cat_closing,
                                            cat_drain, cat_end};
    struct cat k;
    struct stat st;
    char err[512];
    struct event *ev_int = NULL;
    struct event *ev_term = NULL;

    memset(&k, 0, sizeof(k));
    k.o = o;
    k.run = run;
    /* The answers to the last records come after our close. */
    o->set.receive_after_close = true;
    k.base = run->base;
    k.in = evbuffer_new();
    /* epoll refuses regular files and most devices: those are read as
     * the output drains, they never block. */
    k.pollable =
        fstat(STDIN_FILENO, &st) == 0 &&
        (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(STDIN_FILENO));
    k.ev_stdin = event_new(run->base, STDIN_FILENO,
                           k.pollable ? EV_READ | EV_PERSIST : 0, on_stdin, &k);
    ev_int = evsignal_new(run->base, SIGINT, on_signal, &k);
    ev_term = evsignal_new(run->base, SIGTERM, on_signal, &k);
    if (k.in == NULL || k.ev_stdin == NULL || ev_int == NULL ||
        ev_term == NULL || event_add(ev_int, NULL) != 0 ||
        event_add(ev_term, NULL) != 0) {
        wsc_say("out of memory");
        k.status = WSC_EXIT_UNCLEAN;
        goto done;
    }
    k.c =
        wsc_conn_start(run->base, &o->url, &o->set, &cb, &k, err, sizeof(err));
    if (k.c == NULL) {
        wsc_say("%s", err);
        k.status = WSC_EXIT_UNCLEAN;
    } else {
        event_base_dispatch(run->base);
        wsc_conn_free(k.c);
        if (wsc_record(run, NULL, 0) != 0 && k.status == 0) {
            k.status = WSC_EXIT_UNCLEAN;
        }
    }
done:
    /* Freed, they give the signals back to their default actions. */
    if (ev_int != NULL) {
        event_free(ev_int);
    }
    if (ev_term != NULL) {
        event_free(ev_term);
    }
    if (k.ev_stdin != NULL) {
        event_free(k.ev_stdin);
    }
    if (k.in != NULL) {
        evbuffer_free(k.in);
    }
    return k.status;
}

/*
 * A standard descriptor closed by our caller keeps its number, so that
 * none of our files (the event loop's, its signal pipe, the socket)
 * takes it and receives what was meant for standard input, output or
 * error: /dev/null, opened the other way round, on which a read or a
 * write fails with EBADF as it does on the closed descriptor.
 */
static void
hold_closed_stdio(void)
{
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
            /* The lowest free number: fd itself. */
            int n = open("/dev/null", fd == STDIN_FILENO ? O_WRONLY : O_RDONLY);
            if (n != fd && n != -1) {
                close(n);
            }
        }
    }
}

int
main(int argc, char **argv)
{
    struct wsc_options o;
    struct wsc_run run;
    const char *mode = argc > 1 && (strcmp(argv[1], "autobahn") == 0 ||
                                    strcmp(argv[1], "bench") == 0)
                           ? argv[1]
                           : NULL;

    hold_closed_stdio();
    tls_memory_install(); /* before OpenSSL's first allocation */
    options_init(&o);
    int rc = mode != NULL ? parse_args(&o, argc - 1, argv + 1)
                          : parse_args(&o, argc, argv);
    if (rc != 0) {
        return rc == 1 ? WSC_EXIT_CLEAN : WSC_EXIT_USAGE;
    }
    if (mode == NULL && o.cases != NULL) {
        wsc_say("--cases is for wsc autobahn");
        return WSC_EXIT_USAGE;
    }
    rc = wsc_setup(&o, &run);
    if (rc == 0) {
        rc = mode == NULL                 ? run_cat(&o, &run)
             : strcmp(mode, "bench") == 0 ? wsc_bench_run(&o, &run)
                                          : wsc_autobahn_run(&o, &run);
    }
    wsc_teardown(&run);
    if (run.stopped_by != 0) {
        /* Stopped by a signal: its death, which tells a shell or a
         * script that wsc was stopped (status 128 + the signal). */
        rc = 128 + run.stopped_by; /* if raise() returns (blocked) */
        fflush(stdout);
        signal(run.stopped_by, SIG_DFL);
        raise(run.stopped_by);
    }
    return rc;
}
