#!/bin/sh
# SPDX-License-Identifier: MIT
# The benchmark scripts refuse a bad command line before they start
# anything: exit status 2 and a message naming the argument and what it
# may be (contrib/bench/scale, contrib/bench/profile and contrib/bench/run;
# they run no server and need no build for this). TAP output.
srcdir=${WSD_SRCDIR:-$(dirname "$0")/..}
python=${PYTHON3:-/usr/bin/python3}

. "$srcdir/tests/tap.sh"

# refuse SCRIPT EXPECTED ARGS...: SCRIPT with ARGS exits 2, and its last
# line of stderr holds EXPECTED.
refuse() {
    script=$1
    expected=$2
    shift 2
    err=$("$python" "$srcdir/contrib/bench/$script" "$@" 2>&1 >/dev/null)
    rc=$?
    last=$(printf '%s\n' "$err" | tail -n 1)
    problems=
    [ "$rc" -eq 2 ] || problems="exit status $rc, not 2"
    case $last in
    *"$expected"*) ;;
    *) problems="${problems:+$problems
}stderr's last line: $last" ;;
    esac
    tap_result "$script $*: exit 2, \"$expected\"" "$problems"
}

refuse scale "--connections 50000000: out of range (1 to 10,000,000)" \
    --connections 50000000
refuse scale "--connections 0: out of range" --connections 0
refuse scale "--rate -1: out of range" --rate -1
refuse scale "--source-addresses -3: out of range" --source-addresses -3
refuse scale "--ping-interval-ms 10: out of range (100 to any)" \
    --ping-interval-ms 10
refuse scale "--idle-intervals 0: out of range" --idle-intervals 0
refuse scale "--shutdown-timeout-ms -1: out of range" \
    --shutdown-timeout-ms -1
refuse scale "--sample 0: out of range" --sample 0
refuse scale "--workers two: a count of 1 or more, or auto" --workers two
refuse scale "--workers 0: a count of 1 or more, or auto" --workers 0
refuse scale "--peers: nginx: the peers are wsd and uWS" --peers wsd,nginx
refuse scale "--variant norec: NAME=ARGS" --variant norec
refuse scale "--connections: invalid int value" --connections many

refuse profile "--seconds 0: out of range (above 0, to 3600)" --seconds 0
refuse profile "--seconds inf: out of range" --seconds inf
refuse profile "--seconds nan: out of range" --seconds nan
refuse profile "--connections 0: out of range (1 or more)" --connections 0
refuse profile "--warm -1: out of range (0 or more)" --warm -1
refuse profile "--top 0: out of range (1 or more)" --top 0
refuse profile "--variant =x: NAME=ARGS" --variant =x
refuse profile "--tool: invalid choice" --tool gdb

refuse run "--scenarios bogus: of i, ii, iii, iv" --scenarios bogus
refuse run "--scenarios i,v: of i, ii, iii, iv" --scenarios i,v
refuse run "--scenarios ,: of i, ii, iii, iv" --scenarios ,
refuse run "--seconds -1: out of range (above 0, to 3600)" --seconds -1
refuse run "--warmup -2: out of range (0 to 3600)" --warmup -2
refuse run "--idle-conns 0: out of range (1 or more)" --idle-conns 0
refuse run "--repeat needs at least 1 round" --repeat 0
refuse run "--variant x: NAME=ARGS" --variant x
refuse run "--build =y: NAME=DIR" --build =y
refuse run "--only: nginx: the peers are wsd, uWS" --only wsd,nginx

tap_done
