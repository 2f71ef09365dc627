#!/usr/bin/env bash
# tests/run.sh BINDIR... — run every suite against the programs in each
# BINDIR (make check passes bin/ and build/asan/bin/), then print one closing
# line "check: N passed, N failed, N skipped".  Exit 1 if anything failed.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0 skip=0 status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for bin in "$@"; do
	echo "== the suites against $bin"
	OCI_BIN=$(cd "$bin" && pwd) bats --formatter tap --print-output-on-failure tests | tee "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
	pass=$((pass + $(grep -c '^ok ' "$log" | tr -d '\n') - $(grep -c '^ok .* # skip' "$log" | tr -d '\n')))
	skip=$((skip + $(grep -c '^ok .* # skip' "$log" | tr -d '\n')))
	fail=$((fail + $(grep -c '^not ok ' "$log" | tr -d '\n')))
done
[ "$fail" -eq 0 ] || status=1
echo "check: $pass passed, $fail failed, $skip skipped"
exit "$status"
