# SPDX-License-Identifier: MIT
# TAP output for the shell tests, sourced after they set srcdir:
# tap_result DESCRIPTION PROBLEMS prints "ok N - DESCRIPTION" when PROBLEMS
# is empty, else "not ok N - DESCRIPTION" with PROBLEMS as diagnostics;
# tap_done prints the plan and exits 1 when a check failed.
tap_n=0
tap_fail=0
tap_result() {
    tap_n=$((tap_n + 1))
    if [ -z "$2" ]; then
        echo "ok $tap_n - $1"
    else
        echo "not ok $tap_n - $1"
        printf '%s\n' "$2" | sed 's/^/#   /'
        tap_fail=1
    fi
}
tap_done() {
    echo "1..$tap_n"
    exit $tap_fail
}
