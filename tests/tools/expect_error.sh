#!/bin/sh
# expect_error.sh PATTERN ABSENT -- COMMAND...: COMMAND must fail, say PATTERN (an extended
# regular expression) on stderr, and leave nothing at the path ABSENT ("-": no such check).
pattern=$1 absent=$2
shift 3
errors=$("$@" 2>&1 >/dev/null)
status=$?
echo "exit status $status: $errors"
[ "$status" -ne 0 ] || { echo "FAIL: the command succeeded"; exit 1; }
echo "$errors" | grep -Eq -- "$pattern" || { echo "FAIL: the error does not match '$pattern'"; exit 1; }
[ "$absent" = - ] || [ ! -e "$absent" ] || { echo "FAIL: '$absent' was left behind"; exit 1; }
echo "ok"
