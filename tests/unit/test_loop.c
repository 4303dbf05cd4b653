/* SPDX-License-Identifier: MIT */
/*
 * The worker's loop while a connection's socket stays ready: its batches
 * wait on the connections' set for a while instead of going back to
 * libevent after each one (loop.c, io_fire), and libevent's own events
 * must still run: a timer, a signal, an event made active by a
 * connection's callback, a closed connection's free, a stop. The socket
 * here is never drained, so every wait reports it at once; a bound on
 * the reports ends each case that would otherwise never end. The last
 * case drains its socket: the set goes quiet during a stay, whose waits
 * have no timeout (the stay's own timer ends them), and an alarm ends
 * the test should they never end.
 */
#include "autoconf.h"

#include "loop.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "tap.h"

/* Reports after which a case gives up: the event never ran. */
#define REPORTS_MAX 2000000

struct test_conn {
    struct loop_conn lc; /* first: the hooks' argument */
    int fd;
};

static struct loop l;
static struct test_conn tconn;
static unsigned long reports;              /* on_io calls in this case */
static unsigned long reports_at;           /* on_io calls when the event ran */
static bool gave_up;                       /* REPORTS_MAX reached */
static void (*on_report)(unsigned long n); /* the case's action, or NULL */
static unsigned freed;

static void
test_on_io(struct loop_conn *lc, short what)
{
    (void)lc;
    (void)what;
    reports++;
    if (on_report != NULL) {
        on_report(reports);
    }
    if (reports >= REPORTS_MAX && !gave_up) {
        gave_up = true;
        event_base_loopbreak(l.base);
    }
}

static void
test_conn_fn(struct loop_conn *lc)
{
    (void)lc;
}

static void
test_free(struct loop_conn *lc)
{
    (void)lc;
    freed++;
}

static const struct loop_hooks hooks = {
    .on_io = test_on_io,
    .on_timer = test_conn_fn,
    .on_turn = test_conn_fn,
    .free = test_free,
};

/* The event of a case ran: note when, and stop the loop. */
static void
ran(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    reports_at = reports;
    event_base_loopbreak(l.base);
}

static void
start_case(void (*action)(unsigned long))
{
    reports = 0;
    reports_at = 0;
    gave_up = false;
    on_report = action;
}

/* A socket pair sv with one byte to read in sv[0], watched as t. */
static bool
watch_pair(struct test_conn *t, int sv[2])
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        return false;
    }
    t->fd = sv[0];
    return write(sv[1], "x", 1) == 1 && loop_add(&l, &t->lc) == 0 &&
           loop_io_watch(&l, &t->lc, sv[0], 0, EV_READ) == 0;
}

/* Unwatches and closes t (its memory is freed by the loop's hook). */
static void
unwatch(struct test_conn *t)
{
    loop_io_watch(&l, &t->lc, t->fd, EV_READ, 0);
    loop_close(&l, &t->lc);
}

static struct event *ev_active;

static void
activate_at_10(unsigned long n)
{
    if (n == 10) {
        event_active(ev_active, EV_TIMEOUT, 1);
    }
}

static void
signal_at_10(unsigned long n)
{
    if (n == 10) {
        raise(SIGUSR1);
    }
}

static void
stop_at_10(unsigned long n)
{
    if (n == 10) {
        event_base_loopbreak(l.base);
    }
}

static void
close_at_10(unsigned long n)
{
    if (n == 10) {
        unwatch(&tconn);
    }
}

/* The last case's socket pair: each report reads its byte and writes
 * another, up to report QUIET_AT, which adds a libevent timer instead;
 * then the socket has nothing more to report. By then the stay has
 * gone on past the waits that take a timeout, and waits for its timer. */
#define QUIET_AT (LOOP_IO_STAY_TIMED + 4)
static int quiet_sv[2] = {-1, -1};
static struct event *ev_later;

static void
drain_then_quiet(unsigned long n)
{
    char b;
    struct timeval ms1 = {0, 1000};

    if (read(quiet_sv[0], &b, 1) != 1) {
        return;
    }
    if (n < QUIET_AT) {
        (void)!write(quiet_sv[1], "z", 1);
    } else if (n == QUIET_AT) {
        evtimer_add(ev_later, &ms1);
    }
}

/* The free of a closed connection stops the loop. */
static void
free_stops(struct loop_conn *lc)
{
    test_free(lc);
    reports_at = reports;
    event_base_loopbreak(l.base);
}

int
main(void)
{
    struct config cfg;
    int sv[2] = {-1, -1};
    int sv2[2] = {-1, -1};

    config_init(&cfg);
    ok(loop_init(&l, &cfg, NULL, 0, &hooks) == 0, "loop made");
    ok(watch_pair(&tconn, sv), "a socket that stays readable is watched");

    /* A timer. */
    struct event *timer = evtimer_new(l.base, ran, NULL);
    struct timeval ms5 = {0, 5000};
    start_case(NULL);
    evtimer_add(timer, &ms5);
    event_base_dispatch(l.base);
    ok(!gave_up && reports_at > 0,
       "a libevent timer runs while the socket keeps reporting (after %lu "
       "reports)",
       reports_at);

    /* An event a connection's callback made active: before the next
     * report. */
    ev_active = event_new(l.base, -1, 0, ran, NULL);
    start_case(activate_at_10);
    event_base_dispatch(l.base);
    ok(!gave_up && reports_at == 10,
       "an event made active in report 10 runs before report 11 (ran "
       "after %lu)",
       reports_at);

    /* A signal, caught by libevent. */
    struct event *sig = evsignal_new(l.base, SIGUSR1, ran, NULL);
    evsignal_add(sig, NULL);
    start_case(signal_at_10);
    event_base_dispatch(l.base);
    ok(!gave_up && reports_at >= 10,
       "a signal raised in report 10 is handled (after %lu reports)",
       reports_at);

    /* A stop asked for in a report ends the loop at that report. */
    start_case(stop_at_10);
    event_base_dispatch(l.base);
    ok(!gave_up && reports == 10,
       "after a stop asked for in report 10 nothing more is reported (%lu "
       "reports)",
       reports);

    /* A connection closed in a report is freed before the next report,
     * while another connection's socket stays ready. */
    struct test_conn other;
    ok(watch_pair(&other, sv2),
       "a second socket that stays readable is watched");
    struct loop_hooks free_hooks = hooks;
    free_hooks.free = free_stops;
    l.hooks = &free_hooks;
    start_case(close_at_10);
    event_base_dispatch(l.base);
    ok(!gave_up && freed == 1 && reports_at == 10,
       "a connection closed in report 10 is freed before any other report "
       "(freed %u, after %lu)",
       freed, reports_at);
    l.hooks = &hooks;
    unwatch(&other);

    /* Batches in a row make the set busy: the loop waits on it, longer
     * than a few waits, and then it stays quiet while a libevent timer
     * comes due. The stay's timer ends that wait (SIGALRM ends the test
     * if not). */
    struct test_conn quiet;
    ok(watch_pair(&quiet, quiet_sv),
       "a socket with one byte to read is watched");
    ev_later = evtimer_new(l.base, ran, NULL);
    start_case(drain_then_quiet);
    alarm(20);
    event_base_dispatch(l.base);
    alarm(0);
    ok(!gave_up && reports == QUIET_AT && reports_at == QUIET_AT,
       "a libevent timer added in batch %d runs while the set is quiet (%lu "
       "reports, ran after %lu)",
       QUIET_AT, reports, reports_at);
    unwatch(&quiet);

    event_free(timer);
    event_free(ev_active);
    event_free(sig);
    event_free(ev_later);
    loop_clear(&l);
    close(sv[0]);
    close(sv[1]);
    close(sv2[0]);
    close(sv2[1]);
    close(quiet_sv[0]);
    close(quiet_sv[1]);
    return tap_done();
}
