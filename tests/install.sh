#!/bin/sh
# SPDX-License-Identifier: MIT
# make install puts files where they are used: with sysconfdir /etc the
# logrotate file lands in /etc/logrotate.d (the only directory logrotate
# reads); with the default prefix it goes to $(pkgdatadir)/logrotate, and
# make install prints the ln -s command that links it there. Both are
# installed under a DESTDIR of this test's own, then uninstalled, which
# must leave no file behind. TAP output.
builddir=${WSD_BUILDDIR:-.}
srcdir=${WSD_SRCDIR:-$(dirname "$0")/..}
make=${MAKE:-make}

. "$(dirname "$0")/tap.sh"

tmp=$(mktemp -d) || { echo "Bail out! mktemp -d failed"; exit 1; }
trap 'rm -rf "$tmp"' EXIT
# A make of our own, not a job of the make running the tests.
unset MAKEFLAGS MFLAGS MAKELEVEL

# install NAME PREFIX SYSCONFDIR: make install into $tmp/NAME; its output
# in $tmp/NAME.out. Prints problems.
install() {
    "$make" -C "$builddir" install DESTDIR="$tmp/$1" prefix="$2" \
        sysconfdir="$3" >"$tmp/$1.out" 2>&1 ||
        { echo "make install failed:"; tail -n 20 "$tmp/$1.out"; }
}

# The default prefix.
out=$(install local /usr/local /usr/local/etc)
root=$tmp/local
lr=$root/usr/local/share/wsd/logrotate/wsd
[ -z "$out" ] && ! cmp -s "$srcdir/contrib/logrotate/wsd" "$lr" &&
    out="no $lr"
tap_result "default prefix: the logrotate file goes to \$(pkgdatadir)/logrotate" \
    "$out"
stray=$(find "$root" -path '*logrotate.d*' | cat)
tap_result "default prefix: no logrotate.d where logrotate never looks" "$stray"
hint="ln -s /usr/local/share/wsd/logrotate/wsd /etc/logrotate.d/wsd"
grep -qF "$hint" "$tmp/local.out" && out= ||
    out="no \"$hint\" in the output of make install"
tap_result "default prefix: make install says how to link it" "$out"
out=
for f in usr/local/sbin/wsd usr/local/etc/wsd/wsd.conf \
    usr/local/share/man/man8/wsd.8 usr/local/bin/wsc \
    usr/local/share/man/man1/wsc.1; do
    [ -f "$root/$f" ] || out="$out${out:+; }no $f"
done
tap_result "default prefix: wsd, wsd.conf, wsc and the manual pages installed" \
    "$out"

# The system's paths.
out=$(install system /usr /etc)
root=$tmp/system
[ -z "$out" ] &&
    ! cmp -s "$srcdir/contrib/logrotate/wsd" "$root/etc/logrotate.d/wsd" &&
    out="no etc/logrotate.d/wsd"
tap_result "sysconfdir /etc: the logrotate file goes to /etc/logrotate.d" "$out"
out=$(grep 'ln -s' "$tmp/system.out" | cat)
tap_result "sysconfdir /etc: no link to make" "$out"
out=$(find "$root/usr/share" -path '*wsd/logrotate*' 2>/dev/null | cat)
tap_result "sysconfdir /etc: no second copy" "$out"

# make uninstall removes every file again (wsd.conf too, as unchanged).
for name in local system; do
    case $name in
    local) set -- /usr/local /usr/local/etc ;;
    system) set -- /usr /etc ;;
    esac
    "$make" -C "$builddir" uninstall DESTDIR="$tmp/$name" prefix="$1" \
        sysconfdir="$2" >"$tmp/$name.un" 2>&1 ||
        { tail -n 20 "$tmp/$name.un"; }
    left=$(find "$tmp/$name" -type f | sed "s|^$tmp/$name||")
    tap_result "$name: make uninstall leaves no file" "$left"
done

tap_done
