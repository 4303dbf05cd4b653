#!/bin/sh
# SPDX-License-Identifier: MIT
# The protocol core in src/proto is pure (STYLE B1): it includes no header
# of src/ (whatever its name), no libevent, socket, process, clock or
# jansson header, calls no clock and no socket, file or process function,
# and keeps no state of its own: no non-const variable at file scope, no
# static local, of any shape. The build enforces what it can (Makefile.am:
# the core compiles with its own include path and its tests link it alone);
# this script names the offence and covers the rest. TLS is a transport:
# outside the files named below, no file of src/ reaches OpenSSL around
# struct transport. TAP output. WSD_SRCDIR points it at another tree
# (tests/layering_selftest.sh does, to watch each check fail).
srcdir=${WSD_SRCDIR:-$(dirname "$0")/..}
# The TAP helper comes from beside this script, whatever tree it checks.
. "$(dirname "$0")/tap.sh"

# clean KEEP_STRINGS FILE...: every line as FILE:LINE:TEXT without its
# comments, so that a comment naming a header or a call is no offence.
# FILE is relative to $srcdir. String and character literals are emptied
# unless KEEP_STRINGS is 1 (an include's file name is a string).
clean() {
    keep=$1
    shift
    awk -v keep="$keep" -v top="$srcdir/" '
    FNR == 1 {
        incomment = 0; name = FILENAME
        if (index(name, top) == 1) name = substr(name, length(top) + 1)
    }
    {
        s = $0; out = ""
        while (s != "") {
            if (incomment) {
                i = index(s, "*/")
                if (!i) { s = ""; break }
                incomment = 0; out = out " "; s = substr(s, i + 2)
                continue
            }
            if (!match(s, /\/\*|\/\/|["\047]/)) { out = out s; break }
            out = out substr(s, 1, RSTART - 1)
            c = substr(s, RSTART, 1); s = substr(s, RSTART + 1)
            if (c == "/") {
                if (substr(s, 1, 1) == "/") break
                incomment = 1; s = substr(s, 2)
                continue
            }
            # A string or character literal: up to its unescaped quote.
            lit = c
            while (s != "" && substr(s, 1, 1) != c) {
                n = substr(s, 1, 1) == "\\" ? 2 : 1
                lit = lit substr(s, 1, n); s = substr(s, n + 1)
            }
            s = substr(s, 2)
            if (keep == 1) out = out lit c
            else if (c == "\"") out = out "\"\""
            else out = out "0"
        }
        print name ":" FNR ":" out
    }' "$@"
}

# scan: reads clean 0 output on stdin, prints one line per offence,
# tagged "global", "clock" or "io". A small C tokenizer: it skips
# preprocessor lines, tracks braces, and reads each declaration at file
# scope and each static or extern declaration inside a function. A
# variable is const when "const" follows its last "*" (a pointer), or,
# without "*", appears among its specifiers; anything else that is not a
# function, a typedef or a bare struct, union or enum is state. A
# variable declared by expanding a macro escapes it: that is for review.
scan() {
    awk '
    BEGIN {
        n = split("auto bool char const double enum extern float inline " \
            "int long register restrict short signed sizeof static struct " \
            "typedef union unsigned void volatile _Alignof _Atomic _Bool " \
            "_Complex _Noreturn _Thread_local alignof thread_local __thread " \
            "__inline __inline__ __restrict __restrict__ __volatile__ " \
            "__const", w, " ")
        for (k = 1; k <= n; k++) keyword[w[k]] = 1
        n = split("__attribute__ __attribute __declspec _Alignas alignas " \
            "__asm__ __asm asm", w, " ")
        for (k = 1; k <= n; k++) grouped[w[k]] = 1
        n = split("time clock clock_gettime clock_getres gettimeofday " \
            "timespec_get nanosleep sleep usleep alarm timer_create " \
            "timerfd_create", w, " ")
        for (k = 1; k <= n; k++) clockfn[w[k]] = 1
        n = split("socket socketpair connect bind listen accept accept4 " \
            "recv recvfrom recvmsg send sendto sendmsg shutdown read write " \
            "readv writev pread pwrite open openat creat close dup dup2 " \
            "pipe pipe2 fcntl ioctl poll ppoll select pselect epoll_create " \
            "epoll_create1 epoll_ctl epoll_wait mmap munmap fopen fdopen " \
            "fork vfork execve execvp kill raise signal sigaction getpid " \
            "pthread_create syslog getenv", w, " ")
        for (k = 1; k <= n; k++) iofn[w[k]] = 1
    }
    {
        p = index($0, ":"); file = substr($0, 1, p - 1)
        rest = substr($0, p + 1); p = index(rest, ":")
        line = substr(rest, 1, p - 1); text = substr(rest, p + 1)
        if (file != lastfile) { inpp = 0; lastfile = file }
        if (inpp || text ~ /^[ \t]*#/) { inpp = (text ~ /\\$/); next }
        while (text != "") {
            if (match(text, /^[ \t\r\f\v]+/)) {
                text = substr(text, RLENGTH + 1)
                continue
            }
            if (!match(text, /^[A-Za-z_][A-Za-z0-9_]*/) &&
                !match(text, /^[0-9][A-Za-z0-9_.]*/))
                RLENGTH = 1
            nt++
            tok[nt] = substr(text, 1, RLENGTH); tfile[nt] = file
            tline[nt] = line
            text = substr(text, RLENGTH + 1)
        }
    }
    function isname(t) {
        return t ~ /^[A-Za-z_][A-Za-z0-9_]*$/ && !(t in keyword) &&
            !(t in grouped)
    }
    function istag(t) { return t == "struct" || t == "union" || t == "enum" }
    # Drop attributes and alignment and asm groups from d[1..nd] into e[].
    function strip(d, nd, e,    i, m, pd) {
        m = 0
        for (i = 1; i <= nd; i++) {
            if (d[i] == "__extension__") continue
            if (d[i] in grouped) {
                if (i < nd && d[i + 1] == "(") {
                    pd = 0
                    for (i++; i <= nd; i++) {
                        if (d[i] == "(") pd++
                        else if (d[i] == ")" && --pd == 0) break
                    }
                }
                continue
            }
            e[++m] = d[i]
        }
        return m
    }
    # Read the declarator in t[from..to]: sets NAME (index of the declared
    # name, 0 if none) and ISFN (1 when it declares a function).
    function declarator(t, from, to,    i) {
        NAME = 0; ISFN = 0
        for (i = from; i <= to; i++) {
            if (t[i] == "[" || t[i] == "=") return
            if (t[i] == "(" && i > from &&
                (t[i + 1] != "*" || i == to) &&
                ((i - 1 == NAME && NAME) || t[i - 1] == ")")) {
                ISFN = (i - 1 == NAME)
                return
            }
            if (isname(t[i]) && (i == from || !istag(t[i - 1])))
                NAME = i
        }
    }
    function isconst(t, from, name,    i, star) {
        star = 0
        for (i = from; i < name; i++)
            if (t[i] == "*") star = i
        for (i = (star ? star + 1 : from); i < name; i++)
            if (t[i] == "const") return 1
        return 0
    }
    function report(kind, msg) {
        print kind "\t" tfile[at] ":" tline[at] ": " msg
    }
    # One declaration, d[1..nd]; where is "" at file scope, else the
    # function it sits in. Prints each variable that is state.
    function declaration(d, nd, where,    e, m, i, j, pd, b, start, spec,
            t, k, tl, what, name) {
        m = strip(d, nd, e)
        if (m == 0 || e[1] == "typedef" || e[1] == "_Static_assert" ||
            e[1] == "static_assert")
            return
        tl = 0
        for (i = 1; i <= m; i++)
            if (e[i] == "_Thread_local" || e[i] == "thread_local" ||
                e[i] == "__thread") tl = 1
        start = 1; spec = 0; pd = 0; b = 0
        for (i = 1; i <= m + 1; i++) {
            if (i <= m) {
                if (e[i] == "(") pd++
                else if (e[i] == ")") pd--
                else if (e[i] == "[") b++
                else if (e[i] == "]") b--
                if (e[i] != "," || pd || b) continue
            }
            # e[start..i-1] is one declarator; the later ones take the
            # specifiers of the first.
            split("", t); k = 0
            if (start > 1)
                for (j = 1; j <= spec; j++) t[++k] = e[j]
            for (j = start; j < i; j++) t[++k] = e[j]
            declarator(t, 1, k)
            if (start == 1) {
                if (ISFN) return
                spec = NAME - 1
                for (j = 1; j < NAME; j++)
                    if (e[j] == "*" || e[j] == "(") { spec = j - 1; break }
            }
            start = i + 1
            if (!NAME) continue
            name = t[NAME]
            what = where == "" ? "file-scope variable" : \
                (e[1] == "extern" ? "extern declaration" : "static local")
            what = what " \047" name "\047"
            if (where != "") what = what " in " where "()"
            if (tl)
                report("global", what " is thread-local")
            else if (e[1] == "extern" && where == "" && !isconst(t, 1, NAME))
                report("global", "extern variable \047" name "\047 is not const")
            else if (!isconst(t, 1, NAME))
                report("global", what " is not const")
        }
    }
    END {
        if (!nt) exit 1
        for (i = 1; i <= nt; i++) {
            t = tok[i]
            if (tfile[i] != file) {
                file = tfile[i]; depth = 0; nd = 0; fn = ""; cap = 0
                skip = 0
            }
            if (t == "(" && i > 1 && (tok[i - 1] in clockfn || \
                tok[i - 1] in iofn) && tok[i - 2] != "." && \
                !(tok[i - 2] == ">" && tok[i - 3] == "-") && \
                (depth > 0 && !skip)) {
                at = i - 1
                report(tok[i - 1] in clockfn ? "clock" : "io", \
                    "calls " tok[i - 1] "()")
            }
            if (t == "{") {
                depth++
                if (depth == 1) {
                    m = strip(d, nd, e); init = 0; pd = 0
                    for (k = 1; k <= m; k++) {
                        if (e[k] == "(") pd++
                        else if (e[k] == ")") pd--
                        else if (e[k] == "=" && !pd) init = 1
                    }
                    if (!init && m && e[m] == ")") {
                        fn = ""
                        for (k = 1; k <= m; k++)
                            if (e[k] == "(") { fn = e[k - 1]; break }
                        nd = 0
                    } else {
                        skip = 1
                    }
                }
                continue
            }
            if (t == "}") {
                if (depth > 0) depth--
                if (depth == 0) {
                    if (skip) { skip = 0; d[++nd] = "{}" }
                    else { fn = ""; nd = 0; cap = 0 }
                } else if (cap && depth == capdepth) {
                    c[++nc] = "{}"
                }
                continue
            }
            if (depth == 0) {
                if (t == ";") { at = dstart; declaration(d, nd, ""); nd = 0 }
                else { if (nd == 0) dstart = i; d[++nd] = t }
                continue
            }
            if (skip) continue
            if (cap) {
                if (depth > capdepth) continue
                if (t == ";") { at = cstart; declaration(c, nc, fn); cap = 0 }
                else c[++nc] = t
                continue
            }
            if (t == "static" || t == "extern" || t == "_Thread_local" ||
                t == "thread_local" || t == "__thread") {
                cap = 1; capdepth = depth; nc = 0; c[++nc] = t; cstart = i
            }
        }
    }'
}

bail() {
    echo "Bail out! $*"
    exit 1
}
protodir=$srcdir/src/proto
set -- "$protodir"/*.[ch]
[ -f "$1" ] || bail "no files in $protodir"
# The core's own headers, and every other header of src/, by listing.
own=
for f in "$protodir"/*.h; do
    [ -f "$f" ] && own="$own ${f##*/}"
done
runtime=
nruntime=0
for f in "$srcdir"/src/*.h; do
    case " $own " in
    *" ${f##*/} "*) ;;
    *)
        [ -f "$f" ] || continue
        runtime="$runtime ${f##*/}"
        nruntime=$((nruntime + 1))
        ;;
    esac
done
[ -n "$runtime" ] || bail "no headers in $srcdir/src"

# Each offence is a line TAG<tab>FILE:LINE: what. Includes first, from the
# text without comments: a header of src/ by any path ("conn.h",
# "../conn.h", "src/conn.h", <conn.h>); a quoted include other than the
# core's own headers and autoconf.h; an include through a macro; then
# the system headers the core must not use.
tab=$(printf '\t')
offences=$(clean 1 "$@" | awk -v runtime="$runtime" -v own="$own" '
    BEGIN {
        n = split(runtime, w, " ")
        for (k = 1; k <= n; k++) src[w[k]] = 1
        n = split(own " autoconf.h", w, " ")
        for (k = 1; k <= n; k++) ok[w[k]] = 1
    }
    {
        p = index($0, ":"); q = index(substr($0, p + 1), ":")
        what = $0; t = substr($0, p + q + 1)
        if (!sub(/^[ \t]*#[ \t]*include(_next)?[ \t]*/, "", t)) next
        seen++
        if (t !~ /^[<"]/) { print "macro\t" what; next }
        end = substr(t, 1, 1) == "<" ? ">" : "\""
        path = substr(t, 2); path = substr(path, 1, index(path, end) - 1)
        base = path; sub(/.*\//, "", base)
        if (base in src) print "src\t" what
        if (end == "\"") {
            if (!(path in ok)) print "quoted\t" what
            next
        }
        if (path ~ /^(time|sys\/time|sys\/times|sys\/timeb|sys\/timerfd)\.h$/)
            print "clockh\t" what
        if (path ~ /^(event2\/|(event|evhttp|evutil|evdns|evrpc)\.h$)/)
            print "event\t" what
        if (path ~ /^(sys\/(socket|un|poll|select|epoll|event)|poll|netdb|ifaddrs|(netinet|arpa|net)\/.*)\.h$/)
            print "socket\t" what
        if (path ~ /^(unistd|signal|pthread|threads|spawn|sched|fcntl|dlfcn|syslog|sys\/(wait|mman|ioctl|uio|stat|resource|prctl))\.h$/)
            print "os\t" what
        if (path ~ /^jansson/) print "jansson\t" what
    }
    END { exit !seen }') || bail "no includes read in $protodir"
scanned=$(clean 0 "$@" | scan) || bail "cannot scan $protodir"
offences="$offences
$scanned"

# check TAG DESCRIPTION: one TAP result, with the offences tagged TAG as
# its diagnostics.
check() {
    hits=
    while IFS= read -r l; do
        case $l in
        "$1$tab"*) hits="$hits${hits:+
}${l#*"$tab"}" ;;
        esac
    done <<EOF
$offences
EOF
    tap_result "src/proto $2" "$hits"
}
check src "includes none of the $nruntime headers of src/"
check quoted "quotes only its own headers and autoconf.h"
check macro "includes every header by name (no macro)"
check clockh "includes no clock header (time.h, sys/time.h...)"
check event "includes no libevent header (event2/...)"
check socket "includes no socket or polling header"
check os "includes no unistd.h, signal.h, pthread.h or other OS header"
check jansson "includes no jansson"
check global "keeps no state: no non-const file-scope or static variable"
check clock "calls no clock (time is an argument)"
check io "calls no socket, file or process function"

# TLS is a transport (STYLE B1.5): every other file of src/ reaches
# OpenSSL only through struct transport. The exceptions, by name:
#   transport_tls.[ch]  the TLS transport itself;
#   tls_memory.[ch]     OpenSSL's memory functions, which main installs;
#   main.c              wsd -t builds the TLS context to test the config;
#   master.c            builds the TLS context before fork, frees it;
#   worker.[ch]         carry the master's context to each TLS transport;
#   wsc.h, wsc_main.c   wsc builds its client context;
#   wsc_conn.c          and each of its connections' TLS transport.
# admin.c may use libcrypto (EVP digests and OPENSSL_cleanse for the
# admin token), never TLS.
tls_files="transport_tls.c transport_tls.h tls_memory.c tls_memory.h"
tls_files="$tls_files main.c master.c worker.c worker.h"
tls_files="$tls_files wsc.h wsc_main.c wsc_conn.c"
crypto_files="admin.c"
tls=$(clean 1 "$srcdir"/src/*.[ch] |
    awk -v tls="$tls_files" -v crypto="$crypto_files" '
    BEGIN {
        n = split(tls, w, " ")
        for (k = 1; k <= n; k++) skip[w[k]] = 1
        n = split(crypto, w, " ")
        for (k = 1; k <= n; k++) libcrypto[w[k]] = 1
        inc = "^[^:]*:[0-9]+:[ \t]*#[ \t]*include[ \t]*[<\"]"
    }
    {
        base = substr($0, 1, index($0, ":") - 1); sub(/.*\//, "", base)
        if (base in skip) next
        if (base in libcrypto) {
            if ($0 ~ (inc "(openssl/(ssl|tls|dtls|x509|pem)|transport_tls)") ||
                $0 ~ /(^|[^A-Za-z0-9_])(D?TLS|SSL)_/)
                print
        } else if ($0 ~ (inc "(openssl/|transport_tls)") || $0 ~ /SSL_/ ||
            $0 ~ /(^|[^A-Za-z0-9_])D?TLS_/) {
            print
        }
    }
    END { exit !NR }') || bail "cannot read $srcdir/src"
tap_result "src/ reaches OpenSSL only through struct transport (except $tls_files; libcrypto only: $crypto_files)" \
    "$tls"
tap_done
