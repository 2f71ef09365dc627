#!/usr/bin/env bats
# The contract of oci(7), EXIT STATUS, held by every program in bin/: a
# usage error (an unknown option, a missing or extra argument, a malformed
# IMAGE, SOURCE or DEST) prints the program's usage on stderr, nothing on
# stdout, and exits 2; a failure while doing the work exits 1.  The
# programs are found from bin/oci-*.c, so that a new one is held to it too.

bats_require_minimum_version 1.5.0
load helper

programs() {
	local c
	for c in "$TESTS_DIR"/../bin/oci-*.c; do
		basename "$c" .c
	done
}

# usage_error PROG ARG...: exit 2, nothing on stdout, the usage on stderr.
usage_error() {
	local prog=$1
	shift
	run -2 --separate-stderr "$prog" "$@"
	if [ -n "$output" ] || [[ "$stderr" != *"usage: $prog"* ]]; then
		echo "$prog $*: exit $status, stdout '$output', stderr:" >&2
		echo "$stderr" >&2
		return 1
	fi
}

# The options PROG's usage shows followed by a word ("-C DIR", "--tag TAG
# LAYOUT", "[-a sha256|sha512]"), but not -h, -v or -q.
options_before_a_word() {
	"$1" -h | grep -oE '(^|[[ ])(-[a-zA-Z]|--[a-z-]+)[ =][A-Za-z]' |
	    sed -E 's/^[[ ]//; s/[ =].$//' | grep -vxE -- '-[hvq]' | sort -u
}

# The programs whose arguments are all optional: a list of files or a
# command (oci-digest reads stdin, oci-unshare runs a shell).
takes_a_list() {
	case $1 in
	oci-digest | oci-unshare) return 0 ;;
	esac
	return 1
}

# For each program whose usage names an IMAGE, SOURCE or DEST, command
# lines with one of them malformed (":x" has no layout or repository);
# the other arguments are well formed.
malformed() {
	local d=$T
	case $1 in
	oci-commit) echo "$d :x" ;;
	oci-config) echo ":x"; echo "-t new :x" ;;
	oci-diff) echo ":x"; echo "--summary :x"; echo "--which /etc :x $d" ;;
	oci-fetch) echo ":x $d/l:t"; echo "localhost:5000/lab/a :x"; echo "--manifest :x" ;;
	oci-index) echo ":x"; echo "--tree :x" ;;
	oci-manifest) echo ":x"; echo "--layers :x" ;;
	oci-overlay) echo ":x $d/m"; echo "--store $d/s :x n" ;;
	oci-push) echo ":x localhost:5000/lab/a"; echo "$d/l:t :x" ;;
	oci-unshare) echo "--rootfs $d --image :x" ;;
	oci-untar) echo "-C $d/o :x" ;;
	oci-view) echo ":x"; echo "-o $d/v.html :x" ;;
	esac
}

setup() {
	T=$BATS_TEST_TMPDIR
}

@test "the programs are found: every bin/oci-*.c" {
	run -0 programs
	assert_line oci-untar
	[ "${#lines[@]}" -ge 13 ]
}

@test "the options are found in the usage" {
	run -0 options_before_a_word oci-untar
	assert_line -- -C
	assert_line -- --whiteouts
	refute_line -- -v
}

@test "an unknown option is a usage error, in every program" {
	local p
	for p in $(programs); do
		usage_error "$p" --no-such-option
		usage_error "$p" -Z
	done
}

@test "a missing argument is a usage error, in every program" {
	local p opt
	for p in $(programs); do
		takes_a_list "$p" || usage_error "$p"
		# Each option the usage shows followed by a word, given alone: the
		# option's argument, or the operand that goes with it, is missing.
		for opt in $(options_before_a_word "$p"); do
			usage_error "$p" "$opt"
		done
	done
}

@test "an extra argument is a usage error, in every program" {
	local p
	for p in $(programs); do
		takes_a_list "$p" && continue
		usage_error "$p" "$T/a" "$T/b" "$T/c" "$T/d" "$T/e"
	done
}

@test "a malformed IMAGE, SOURCE or DEST is a usage error, in every program that takes one" {
	local p line n
	for p in $(programs); do
		"$p" -h | grep -qwE 'IMAGE|SOURCE|DEST' || continue
		n=0
		while read -r line; do
			# shellcheck disable=SC2086 # the words of the line are the arguments
			usage_error "$p" $line
			n=$((n + 1))
		done < <(malformed "$p")
		if [ "$n" -eq 0 ]; then
			echo "$p takes an IMAGE, SOURCE or DEST: give malformed() its command lines" >&2
			return 1
		fi
	done
}

@test "a malformed platform or number is a usage error too" {
	usage_error oci-index -p no/such/platform/at/all "$T"
	usage_error oci-push -j 0 "$T/l:t" localhost:5000/lab/a
	usage_error oci-fetch -j x localhost:5000/lab/a "$T/l:t"
	usage_error oci-push --chunk-size x "$T/l:t" localhost:5000/lab/a
	usage_error oci-push --mount-from 'Bad Name' "$T/l:t" localhost:5000/lab/a
	usage_error oci-diff --which / "$T/l:t"
}

@test "a failure while doing the work exits 1, without the usage" {
	local p
	for p in oci-config oci-diff oci-index oci-manifest oci-view; do
		run -1 --separate-stderr "$p" "$T/none:latest"
		[ -z "$output" ]
		[[ "$stderr" != *usage:* ]]
		[[ "$stderr" == *"$T/none"* ]]
	done
	run -1 --separate-stderr oci-untar -C "$T/o" "$T/none:latest"
	[[ "$stderr" != *usage:* ]]
	run -1 --separate-stderr oci-push "$T/none:latest" localhost:5000/lab/a
	[[ "$stderr" != *usage:* ]]
}
