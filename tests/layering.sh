#!/bin/sh
# SPDX-License-Identifier: MIT
# The protocol core in src/proto is pure: it must not include libevent,
# socket or process headers, nor any runtime header from src/. TAP output.
srcdir=${WSD_SRCDIR:-$(dirname "$0")/..}
. "$srcdir/tests/tap.sh"
check() {
    tap_result "src/proto includes no $1" "$2"
}
files=$(ls "$srcdir"/src/proto/*.[ch])
[ -n "$files" ] || { echo "Bail out! no files in $srcdir/src/proto"; exit 1; }
check "event2/ headers" "$(grep -Hn '#include *<event2/' $files)"
check "socket headers" "$(grep -HnE '#include *<(sys/socket|netinet/|arpa/|netdb)' $files)"
check "unistd.h or signal.h" "$(grep -HnE '#include *<(unistd|signal|pthread)\.h>' $files)"
check "runtime headers from src/" "$(grep -HnE '#include *"(config|log|master|worker|listener|conn|transport|stats_shm|stats_json|admin)[a-z_]*\.h"' $files | cat)"
check "jansson" "$(grep -Hn '#include *<jansson' $files)"
check "global state (non-const file-scope variables)" "$(grep -HnE '^(static )?[a-z_][a-z_ ]*[a-z_0-9]+(\[[^]]*\])? *(=|;)' $files | grep -vE '^\S+:[0-9]+:(static )?const |typedef|return|extern ' )"
# TLS is a transport: conn.c reaches OpenSSL only through struct transport.
tap_result "src/conn.[ch] use no OpenSSL and no TLS transport directly" \
    "$(grep -HnE '#include *[<"](openssl/|transport_tls)|SSL_' \
        "$srcdir"/src/conn.[ch] | cat)"
tap_done
