#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/layering.sh must be seen to fail. On a scratch copy of src/ in a
# temporary directory, this plants one forbidden thing at a time (a runtime
# header, a clock, libevent, a socket, a global of each shape, TLS outside
# its files...) and expects layering.sh to fail the right check and name
# the offence; on the clean copy, and on allowed look-alikes (const tables,
# comments), it must pass. TAP output.
srcdir=${WSD_SRCDIR:-$(dirname "$0")/..}
layering=$srcdir/tests/layering.sh
tmp=$(mktemp -d) || {
    echo "Bail out! mktemp -d failed"
    exit 1
}
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
tree=$tmp/tree
n=0
fail=0

# fresh: a clean scratch copy of src/ (the C files and headers only).
fresh() {
    rm -rf "$tree"
    if ! mkdir -p "$tree/src/proto" ||
        ! cp "$srcdir"/src/*.[ch] "$tree/src/" ||
        ! cp "$srcdir"/src/proto/*.[ch] "$tree/src/proto/"; then
        echo "Bail out! cannot copy $srcdir/src to $tree"
        exit 1
    fi
}

# plant FILE LINE...: appends the lines to FILE (relative to the scratch
# tree), which may be new.
plant() {
    f=$tree/$1
    shift
    printf '%s\n' "$@" >>"$f"
}

# run: layering.sh on the scratch tree; sets out and rc.
run() {
    out=$(WSD_SRCDIR=$tree sh "$layering" 2>&1)
    rc=$?
}

# caught CHECK WHERE NAME: the check whose description contains CHECK
# failed, and one of its diagnostics contains both WHERE and NAME.
caught() {
    printf '%s\n' "$out" | awk -v check="$1" -v where="$2" -v name="$3" '
        /^(not )?ok / { inside = /^not ok / && index($0, check) }
        inside && /^#/ && index($0, where) && index($0, name) {
            print; found = 1; exit
        }
        END { exit !found }'
}

report() {
    n=$((n + 1))
    if [ "$1" = ok ]; then
        echo "ok $n - $2"
        [ -z "$3" ] || printf '%s\n' "$3" | sed 's/^#  */#   caught: /'
    else
        echo "not ok $n - $2"
        printf '%s\n' "$out" | sed 's/^/#   | /'
        fail=1
    fi
}

# expect_fail WHAT CHECK WHERE NAME: run on the planted tree; layering.sh
# must exit non-zero with the offence named under CHECK. Then start over.
expect_fail() {
    run
    if [ "$rc" -ne 0 ] && hit=$(caught "$2" "$3" "$4"); then
        report ok "layering.sh catches $1" "$hit"
    else
        report fail "layering.sh catches $1 (exit $rc)"
    fi
    fresh
}

# expect_pass WHAT: run on the tree as it is; layering.sh must pass.
expect_pass() {
    run
    if [ "$rc" -eq 0 ] && ! printf '%s\n' "$out" | grep -q '^not ok'; then
        report ok "layering.sh passes $1"
    else
        report fail "layering.sh passes $1 (exit $rc)"
    fi
    fresh
}

# A function for planting statements into, appended to a file of the core.
fn_open='int
ws_utf8_planted(int x)
{'
fn_close='    return x;
}'

fresh
expect_pass "the clean copy of src/"

c=src/proto/ws_utf8.c
h=src/proto/ws_frame.h
heads="headers of src/"

# Headers of src/: those once let through by name, any other, by any path.
for hdr in clock.h timer_heap.h process.h conn.h; do
    plant "$c" "#include \"$hdr\""
    expect_fail "#include \"$hdr\"" "$heads" "$c:" "\"$hdr\""
done
touch "$tree/src/stats_rollup.h"
plant "$h" '#include "stats_rollup.h"'
expect_fail "a header new to src/ (stats_rollup.h)" "$heads" "$h:" \
    "stats_rollup.h"
plant "$c" '#include "../log.h"'
expect_fail '#include "../log.h"' "$heads" "$c:" '"../log.h"'
plant "$c" '#include "src/config.h"'
expect_fail '#include "src/config.h"' "$heads" "$c:" '"src/config.h"'
plant "$c" '#include <worker.h>'
expect_fail '#include <worker.h>' "$heads" "$c:" '<worker.h>'
plant "$c" '#define WS_PLANTED_H "conn.h"' '#include WS_PLANTED_H'
expect_fail "a header named by a macro" "by name (no macro)" "$c:" \
    WS_PLANTED_H

# The clock, libevent, sockets, the OS, jansson.
for hdr in time.h sys/time.h; do
    plant "$c" "#include <$hdr>"
    expect_fail "#include <$hdr>" "no clock header" "$c:" "<$hdr>"
done
plant "$h" '#  include <event2/event.h>'
expect_fail "#include <event2/event.h>" "no libevent header" "$h:" \
    "<event2/event.h>"
for hdr in sys/socket.h netinet/in.h; do
    plant "$c" "#include <$hdr>"
    expect_fail "#include <$hdr>" "no socket or polling header" "$c:" \
        "<$hdr>"
done
for hdr in unistd.h signal.h pthread.h; do
    plant "$c" "#include <$hdr>"
    expect_fail "#include <$hdr>" "no unistd.h" "$c:" "<$hdr>"
done
plant "$c" '#include <jansson.h>'
expect_fail "#include <jansson.h>" "no jansson" "$c:" "<jansson.h>"

# Calls the build cannot refuse: libc links into the core's tests too.
plant "$c" "$fn_open" '    x += (int)time(NULL);' "$fn_close"
expect_fail "a call to time()" "calls no clock" "$c:" "time()"
plant "$c" "$fn_open" '    struct timespec ts;' \
    '    clock_gettime(CLOCK_MONOTONIC, &ts);' "$fn_close"
expect_fail "a call to clock_gettime()" "calls no clock" "$c:" \
    "clock_gettime()"
plant "$c" "$fn_open" '    x = (int)send(x, "", 0, 0);' "$fn_close"
expect_fail "a call to send()" "calls no socket" "$c:" "send()"

# State, of every shape.
state="keeps no state"
plant "$c" 'static struct ws_frame *planted;'
expect_fail "a pointer global (static struct ws_frame *planted;)" \
    "$state" "$c:" "'planted'"
plant "$c" 'static int planted_count;'
expect_fail "a static int" "$state" "$c:" "'planted_count'"
plant "$c" 'size_t planted_total = 0;'
expect_fail "an external global with an initialiser" "$state" "$c:" \
    "'planted_total'"
plant "$h" 'extern int planted_flag;'
expect_fail "an extern variable in a header" "$state" "$h:" "'planted_flag'"
plant "$c" 'static unsigned char planted_buf[64];'
expect_fail "a static array" "$state" "$c:" "'planted_buf'"
plant "$c" 'static unsigned planted_table[] = {' '    1,' '    2,' '};'
expect_fail "a multi-line initialiser" "$state" "$c:" "'planted_table'"
plant "$c" 'static struct {' '    int hits;' '} planted_anon = {' \
    '    .hits = 0,' '};'
expect_fail "an anonymous struct variable" "$state" "$c:" "'planted_anon'"
plant "$c" 'static const char *planted_reason = "x";'
expect_fail "a mutable pointer to const (const char *)" "$state" "$c:" \
    "'planted_reason'"
plant "$c" 'static void (*planted_hook)(int);'
expect_fail "a function pointer" "$state" "$c:" "'planted_hook'"
plant "$c" 'static const int planted_ok = 1, *planted_second;'
expect_fail "a second declarator" "$state" "$c:" "'planted_second'"
plant "$c" '_Thread_local static int planted_tls;'
expect_fail "a thread-local" "$state" "$c:" "'planted_tls'"
plant "$c" "$fn_open" '    static int planted_calls;' \
    '    x += ++planted_calls;' "$fn_close"
expect_fail "a static local" "$state" "$c:" "'planted_calls'"
plant "$c" "$fn_open" '    if (x) {' '        static char *planted_last;' \
    '        planted_last = NULL;' '    }' "$fn_close"
expect_fail "a static local pointer in a block" "$state" "$c:" \
    "'planted_last'"

# Allowed look-alikes.
plant "$c" 'static const char *const planted_names[] = {' '    "a",' '};' \
    'static const struct ws_utf8 planted_zero = {0};' \
    '/* static int not_code; #include <time.h> time(NULL) */' \
    "$fn_open" '    static const unsigned char planted_map[2] = {1, 2};' \
    '    const char *s = "static int in_a_string;";' \
    '    x += planted_map[0] + s[0] + planted_names[0][0];' "$fn_close"
expect_pass "const tables, const locals, comments and strings"

# TLS outside its files: conn.c, a file split off from it, admin.c.
tls="through struct transport"
plant src/conn.c '#include <openssl/ssl.h>'
expect_fail "#include <openssl/ssl.h> in src/conn.c" "$tls" src/conn.c: \
    "<openssl/ssl.h>"
plant src/conn_io.c '#include "transport_tls.h"'
expect_fail "#include \"transport_tls.h\" in a new src/conn_io.c" "$tls" \
    src/conn_io.c: transport_tls.h
plant src/conn_io.c 'static int' 'conn_io_read(SSL *ssl)' '{' \
    '    return SSL_read(ssl, NULL, 0);' '}'
expect_fail "SSL_read() in a new src/conn_io.c" "$tls" src/conn_io.c: \
    SSL_read
plant src/admin.c '#include <openssl/ssl.h>'
expect_fail "TLS in src/admin.c (libcrypto only)" "$tls" src/admin.c: \
    "<openssl/ssl.h>"

echo "1..$n"
exit $fail
