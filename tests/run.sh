#!/usr/bin/env bash
# tests/run.sh BINDIR... — run every suite against the programs in each
# BINDIR (make check passes bin/ and build/asan/bin/), then print one closing
# line "check: N passed, N failed, N skipped".  Exit 1 if anything failed.
set -u
cd "$(dirname "$0")/.."
pass=0 fail=0 skip=0 status=0
log=$(mktemp)
sandbox=$(mktemp -d /tmp/oci-no-openat2.XXXXXX)
trap 'rm -rf "$log" "$sandbox"' EXIT

# suites BINDIR SUITE...: run them with OCI_BIN=BINDIR and count the results.
suites() {
	local bin=$1
	shift
	OCI_BIN=$(cd "$bin" && pwd) bats --formatter tap --print-output-on-failure "$@" | tee "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
	pass=$((pass + $(grep -c '^ok ' "$log" | tr -d '\n') - $(grep -c '^ok .* # skip' "$log" | tr -d '\n')))
	skip=$((skip + $(grep -c '^ok .* # skip' "$log" | tr -d '\n')))
	fail=$((fail + $(grep -c '^not ok ' "$log" | tr -d '\n')))
}

for bin in "$@"; do
	echo "== the suites against $bin"
	suites "$bin" tests
done
# Once more where a seccomp filter refuses openat2 with EPERM, as older container
# runtimes' default profiles do: the rooted component walk must hold as well.
echo "== the hostile suites against $1, openat2 refused (tests/sandbox/no_openat2.c)"
tests/sandbox/wrap.sh "$1" "$sandbox"
suites "$sandbox" tests/hostile.bats tests/hostile-layout.bats
[ "$fail" -eq 0 ] || status=1
echo "check: $pass passed, $fail failed, $skip skipped"
exit "$status"
