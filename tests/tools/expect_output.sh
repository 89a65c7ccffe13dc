#!/bin/sh
# expect_output.sh PATTERN -- COMMAND...: COMMAND must succeed (exit status 0) and print PATTERN
# (an extended regular expression, matched across lines) on stdout or stderr. ctest's
# PASS_REGULAR_EXPRESSION alone ignores the exit status, so a crash after the line would pass.
pattern=$1
shift 2
output=$("$@" 2>&1)
status=$?
printf '%s\n' "$output"
[ "$status" -eq 0 ] || { echo "FAIL: exit status $status"; exit 1; }
printf '%s' "$output" | grep -Ezq -- "$pattern" || { echo "FAIL: the output does not match '$pattern'"; exit 1; }
echo "ok"
