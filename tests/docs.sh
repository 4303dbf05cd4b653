#!/bin/sh
# SPDX-License-Identifier: MIT
# The documentation keeps up with the daemon: every directive that
# `wsd --help` lists is in the manual page, etc/wsd.conf and the README's
# table, with the default --help prints; the manual page renders without
# a groff warning; etc/wsd.conf passes wsd -t; the systemd unit passes
# systemd-analyze verify (which needs no running systemd) and says what
# the daemon needs; the logrotate file signals the master; every metric
# /metrics serves is documented; every option `wsc --help` lists is in
# wsc's manual page and the README, and that page renders without a
# groff warning. TAP output.
srcdir=${WSD_SRCDIR:-$(dirname "$0")/..}
builddir=${WSD_BUILDDIR:-.}
wsd=${WSD:-$builddir/src/wsd}
groff=${GROFF:-groff}
analyze=${SYSTEMD_ANALYZE:-systemd-analyze}
man=$builddir/doc/wsd.8
wsc=${WSC:-$builddir/src/wsc}
wscman=$builddir/doc/wsc.1
unit=$builddir/contrib/systemd/wsd.service
conf=$srcdir/etc/wsd.conf
readme=$srcdir/README.md
logrotate=$srcdir/contrib/logrotate/wsd

. "$srcdir/tests/tap.sh"

for f in "$wsd" "$man" "$unit" "$conf" "$readme" "$logrotate" "$wsc" \
    "$wscman"; do
    [ -r "$f" ] || { echo "Bail out! $f is missing (run make first)"; exit 1; }
done
tmp=$(mktemp -d) || { echo "Bail out! mktemp -d failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT

# --help lists each directive as "  --name  what it does (default VALUE)".
"$wsd" --help >"$tmp/help" 2>&1 ||
    { echo "Bail out! $wsd --help failed"; exit 1; }
sed -n 's/^  --\([a-z_0-9]*\) .*(default \(.*\))$/\1 \2/p' "$tmp/help" \
    >"$tmp/directives"
[ "$(wc -l <"$tmp/directives")" -ge 20 ] ||
    { echo "Bail out! $wsd --help lists no directives"; cat "$tmp/help" |
        sed 's/^/# /'; exit 1; }

# Defaults are written "unset" (--help), "none" (the manual), "empty"
# (the manual) or "" (README) when a directive is unset by default.
norm() {
    case $1 in
    unset | none | empty | '""') echo none ;;
    *) echo "$1" ;;
    esac
}

# The manual's entry of a directive: from its ".BI "name " kind" line to
# the next .TP, .SS or .SH, font macros and quotes dropped, one line.
man_entry() {
    awk -v head=".BI \"$1 " '
        index($0, head) == 1 { on = 1; next }
        on && /^\.(TP|SS|SH)/ { exit }
        on { print }' "$man" |
        sed -e 's/^\.[BIR][BIR]* //' -e 's/"//g' | tr '\n' ' '
}

while read -r name default; do
    missing=
    grep -q "^\.BI \"$name " "$man" || missing="$missing doc/wsd.8"
    grep -Eq "^(# )?$name([[:space:]]|\$)" "$conf" ||
        missing="$missing etc/wsd.conf"
    grep -q "^| \`$name\` |" "$readme" || missing="$missing README.md"
    tap_result "$name is documented in doc/wsd.8, etc/wsd.conf and README.md" \
        "${missing:+missing from:$missing}"

    want=$(norm "$default")
    got_man=$(man_entry "$name" | sed -n 's/.*Default: *//p' |
        awk '{ print $1 }' | sed 's/\.$//')
    got_readme=$(grep "^| \`$name\` |" "$readme" |
        awk -F'|' '{ print $3 }' | tr -d ' `')
    wrong=
    [ "$(norm "$got_man")" = "$want" ] ||
        wrong="doc/wsd.8 says \"$got_man\""
    [ "$(norm "$got_readme")" = "$want" ] ||
        wrong="${wrong:+$wrong
}README.md says \"$got_readme\""
    tap_result "$name: the manual and README.md state --help's default ($default)" \
        "$wrong"

    # A number out of every range makes wsd name the range; the manual's
    # entry states both ends (as written or with a k, m or g suffix).
    range=$("$wsd" -t "--$name" 99999999999 2>&1 |
        sed -n 's/.*is out of range (\([0-9]*\) to \([0-9]*\))$/\1 \2/p')
    if [ -n "$range" ]; then
        entry=" $(man_entry "$name" | tr -s '(),;:.' '      ') "
        missing=
        for n in $range; do
            forms=$n
            for suffix in k:1024 m:1048576 g:1073741824; do
                [ "$n" -gt 0 ] && [ $((n % ${suffix#*:})) -eq 0 ] &&
                    forms="$forms $((n / ${suffix#*:}))${suffix%%:*}"
            done
            found=
            for f in $forms; do
                case $entry in *" $f "*) found=1 ;; esac
            done
            [ -n "$found" ] || missing="$missing${missing:+, }$n"
        done
        tap_result "$name: the manual states its range (${range% *} to ${range#* })" \
            "${missing:+doc/wsd.8 does not say $missing}"
    fi
done <"$tmp/directives"

# The size of a case record that the manual, etc/wsd.conf and the README
# state for stats_cases: the record's own bytes (src/stats_shm.c freezes
# them) and its size at the defaults of case_request_bytes and
# case_wirelog, computed as stats_case_bytes() does (the record and the
# request rounded up to 64 bytes, then 64 bytes per wire log entry). Any
# other "N,NNN bytes" in those entries is a stale figure.
rec=$(sed -n 's/.*sizeof(struct stats_case) == \([0-9]*\).*/\1/p' \
    "$srcdir/src/stats_shm.c")
[ -n "$rec" ] || { echo "Bail out! no record size in src/stats_shm.c"; exit 1; }
kib() {
    case $1 in
    *k) echo $((${1%k} * 1024)) ;;
    *) echo "$1" ;;
    esac
}
req=$(kib "$(sed -n 's/^case_request_bytes //p' "$tmp/directives")")
wl=$(sed -n 's/^case_wirelog //p' "$tmp/directives")
total=$((((rec + req + 63) / 64) * 64 + 64 * wl))
commas() { echo "$1" | sed ':a;s/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/;ta'; }
want="$(commas "$rec") $(commas "$total")"
sizes() { grep -o '[0-9]\{1,3\},[0-9]\{3\} bytes' | sed 's/ bytes//' | sort -u; }
bad=
for doc in doc/wsd.8 etc/wsd.conf README.md; do
    case $doc in
    doc/wsd.8) text=$(man_entry stats_cases) ;;
    etc/wsd.conf)
        text=$(awk '/^#/ { b = b " " substr($0, 3); next }
            /^stats_cases / { print b; exit } { b = "" }' "$conf") ;;
    README.md) text=$(grep '^| `stats_cases` |' "$readme") ;;
    esac
    got=$(printf '%s\n' "$text" | sizes)
    printf '%s\n' "$got" | grep -qx "$(commas "$total")" ||
        bad="$bad${bad:+; }$doc does not state $(commas "$total") bytes"
    for n in $got; do
        case " $want " in
        *" $n "*) ;;
        *) bad="$bad${bad:+; }$doc says $n bytes" ;;
        esac
    done
done
tap_result "stats_cases: the docs state a record's $(commas "$rec") bytes, $(commas "$total") at the defaults" \
    "$bad"

# Every status the admin endpoint answers with (src/admin.c's
# reply_error calls, the parser's returns) is in the manual's account of
# its errors (STATISTICS, before its first subsection) and the README's
# ("Errors are JSON" to the paragraph's end), and so is Retry-After.
{
    sed -n 's/.*reply_error(req, \([0-9]*\),.*/\1/p' "$srcdir/src/admin.c"
    sed -n 's/.*return \([45][0-9][0-9]\);.*/\1/p' "$srcdir/src/admin_request.c"
} | sort -u >"$tmp/statuses"
[ "$(wc -l <"$tmp/statuses")" -ge 5 ] ||
    { echo "Bail out! no admin status found in src/admin.c"; exit 1; }
awk '/^\.SH STATISTICS/ { on = 1; next } on && /^\.S[HS]/ { exit } on' \
    "$man" | sed 's/\\-/-/g' >"$tmp/man_errors"
awk '/^Errors are JSON/ { on = 1 } on && /^$/ { exit } on' "$readme" \
    >"$tmp/readme_errors"
missing=
for doc in man readme; do
    for status in $(cat "$tmp/statuses") Retry-After; do
        grep -q "$status" "$tmp/${doc}_errors" ||
            missing="$missing${missing:+; }$status not in the $doc's"
    done
done
tap_result "the admin endpoint's statuses are in doc/wsd.8 and README.md" \
    "$missing"

# Every metric family that /metrics serves (the names src/stats_json.c
# writes) is in the manual page and in the README's table.
grep -o '"\(wsd\|process\)_[a-z_]*' "$srcdir/src/stats_json.c" |
    tr -d '"' | sort -u >"$tmp/metrics"
[ -s "$tmp/metrics" ] || { echo "Bail out! no metric name in stats_json.c"; exit 1; }
while read -r metric; do
    missing=
    grep -q "^\.B[RI]* .*\b$metric\b" "$man" || missing="$missing doc/wsd.8"
    grep -q "^| \`$metric\` |" "$readme" || missing="$missing README.md"
    tap_result "metric $metric is documented in doc/wsd.8 and README.md" \
        "${missing:+missing from:$missing}"
done <"$tmp/metrics"

out=$("$groff" -man -ww -z "$man" 2>&1) || out="${out:-groff failed}"
tap_result "doc/wsd.8 renders without a groff warning" "$out"

missing=$(for s in NAME SYNOPSIS DESCRIPTION OPTIONS DIRECTIVES SIGNALS \
    'RUNNING AS A SERVICE' STATISTICS FILES 'EXIT STATUS' 'SEE ALSO'; do
    grep -qx "\.SH $s" "$man" || echo "no section $s"
done)
tap_result "doc/wsd.8 has every section" "$missing"

missing=
for sig in SIGTERM SIGINT SIGQUIT SIGHUP SIGUSR1; do
    grep -q "$sig" "$man" || missing="$missing${missing:+; }$sig in doc/wsd.8"
    grep -q "$sig" "$readme" || missing="$missing${missing:+; }$sig in README.md"
done
tap_result "doc/wsd.8 and README.md describe every signal" "$missing"

left=$(grep -n '@[a-zA-Z_]*@' "$man" "$unit" | cat)
tap_result "doc/wsd.8 and wsd.service have every @dir@ filled in" "$left"

if out=$("$wsd" -t -c "$conf" 2>&1); then
    out=
else
    out=${out:-wsd -t failed}
fi
tap_result "etc/wsd.conf passes wsd -t" "$out"

# systemd-analyze verify reads the unit offline (no running systemd is
# needed); it checks that the programs exist, so the unit under test runs
# the wsd just built. Unknown keys and bad values are warnings on stderr,
# not a failing status: any output fails.
mkdir "$tmp/unit"
sed -E "s|^(Exec[A-Za-z]*=)[^ ]*/wsd |\\1$wsd |" "$unit" \
    >"$tmp/unit/wsd.service"
out=$(cd "$tmp/unit" && "$analyze" verify --man=no ./wsd.service 2>&1) ||
    out="${out:-systemd-analyze verify failed}"
tap_result "wsd.service passes systemd-analyze verify" "$out"

# What the daemon needs of its unit, which verify cannot know.
check_unit() {
    if grep -Eq "$1" "$unit"; then
        tap_result "wsd.service: $2" ""
    else
        tap_result "wsd.service: $2" "no line matches $1"
    fi
}
check_unit '^Type=notify$' "Type=notify (wsd sends READY=1 itself)"
check_unit '^ExecStart=/[^ ]*/wsd -c /[^ ]*/wsd/wsd\.conf --daemon off$' \
    "runs wsd in the foreground on the installed wsd.conf"
check_unit '^ExecReload=/bin/kill -HUP \$MAINPID$' "reloads with SIGHUP"
check_unit '^KillMode=mixed$' "stop signals the master alone"
check_unit '^RestartPreventExitStatus=2$' \
    "not restarted after a configuration error"
user=$(grep -E '^(User|Group|DynamicUser)=' "$unit" | cat)
tap_result "wsd.service: no User= (the master must stay root)" "$user"
nofile=$(sed -n 's/^LimitNOFILE=//p' "$unit")
maxconn=$(sed -n 's/^max_connections \([0-9]*\)$/\1/p' "$tmp/directives")
if [ "${nofile:-0}" -gt "${maxconn:-0}" ] 2>/dev/null; then
    low=
else
    low="LimitNOFILE=$nofile, max_connections $maxconn"
fi
tap_result "wsd.service: LimitNOFILE= is above max_connections's default" "$low"

# The logrotate file: the pattern, USR1 to the master after rotation, a
# postrotate script that parses, and the pidfile the manual names.
bad=
grep -q '^/var/log/wsd/\*\.log {' "$logrotate" || bad="no /var/log/wsd/*.log"
sed -n '/^ *postrotate$/,/^ *endscript$/p' "$logrotate" | sed '1d;$d' \
    >"$tmp/postrotate"
grep -q 'USR1' "$tmp/postrotate" || bad="$bad; postrotate sends no USR1"
sh -n "$tmp/postrotate" 2>&1 >/dev/null || bad="$bad; postrotate: sh -n fails"
pidfile=$(grep -o '/run/[a-z.]*pid' "$logrotate" | head -n 1)
grep -q "$pidfile" "$man" || bad="$bad; doc/wsd.8 does not name $pidfile"
tap_result "contrib/logrotate/wsd signals USR1 after rotating /var/log/wsd/*.log" \
    "${bad#; }"

# wsc: each long option of its --help in its manual page (as .BI or .BR,
# its dashes escaped) and in the README; the page renders cleanly.
"$wsc" --help >"$tmp/wschelp" 2>&1 || echo "Bail out! wsc --help failed"
grep -o -- '--[a-z][a-z-]*' "$tmp/wschelp" | sort -u >"$tmp/wscopts"
[ -s "$tmp/wscopts" ] || echo "Bail out! wsc --help lists no option"
while read -r opt; do
    esc=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
    missing=
    grep -q -- "$esc" "$wscman" || missing="doc/wsc.1"
    grep -q -- "\`$opt" "$readme" ||
        missing="$missing${missing:+, }README.md"
    tap_result "wsc $opt is documented in doc/wsc.1 and README.md" \
        "${missing:+not in $missing}"
done <"$tmp/wscopts"
out=$("$groff" -man -ww -z "$wscman" 2>&1) || out="${out:-groff failed}"
tap_result "doc/wsc.1 renders without a groff warning" "$out"

tap_done
