#!/usr/bin/env bats
# Every program's man page: it renders cleanly, it has the sections a reader
# looks for, it names every option the program takes, and its examples run.
# Also the conventions every program keeps: --help, --version, usage errors;
# and oci(7), the page of what they share (bin/oci.7), which has no program.

load helper
load container_helper
load manpages_helper

PROGS="oci-commit oci-config oci-diff oci-digest oci-fetch oci-index oci-manifest oci-overlay oci-push oci-unshare oci-untar oci-view oci-whiteout"

@test "every program has a man page, and every man page a program" {
	local c p n=0
	for c in "$SRC_DIR"/bin/oci-*.c; do
		assert_file_exists "${c%.c}.1"
		n=$((n + 1))
	done
	for p in "$SRC_DIR"/bin/oci-*.1; do
		assert_file_exists "${p%.1}.c"
	done
	[ "$n" -eq "$(wc -w <<<"$PROGS")" ] || fail "bin/ has $n programs, PROGS names $(wc -w <<<"$PROGS")"
}

@test "mandoc -T lint finds nothing worse than a style note" {
	local p
	for p in "$SRC_DIR"/bin/oci-*.1 "$SRC_DIR"/bin/*.7; do
		run -0 mandoc -T lint -W warning "$p"
		assert_output ""
	done
}

@test "man renders every page without a warning" {
	local p
	for p in "$SRC_DIR"/bin/oci-*.1 "$SRC_DIR"/bin/*.7; do
		run -0 --separate-stderr env MANWIDTH=80 man -l "$p"
		assert [ -z "$stderr" ]
		assert_output --partial "EXAMPLES"
	done
}

@test "every program's page has NAME, SYNOPSIS, DESCRIPTION, EXIT STATUS, EXAMPLES, SEE ALSO, STANDARDS" {
	local p s
	for p in "$SRC_DIR"/bin/oci-*.1; do
		for s in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" EXAMPLES "SEE ALSO" STANDARDS; do
			grep -qx "\.Sh $s" "$p" || fail "$p: no section $s"
		done
		# the name in .Dt and .Nm is the file's
		grep -qx "\.Dt $(basename "$p" .1 | tr a-z A-Z) 1" "$p" || fail "$p: .Dt is not the page's name"
		section "$p" "EXIT STATUS" | grep -q 2 || fail "$p: EXIT STATUS does not say what 2 means"
	done
}

@test "a section 7 page has NAME, DESCRIPTION, EXAMPLES, SEE ALSO, STANDARDS, and no SYNOPSIS" {
	local p s
	for p in "$SRC_DIR"/bin/*.7; do
		for s in NAME DESCRIPTION EXAMPLES "SEE ALSO" STANDARDS; do
			grep -qx "\.Sh $s" "$p" || fail "$p: no section $s"
		done
		run -1 grep -x '\.Sh SYNOPSIS' "$p"
		grep -qx "\.Dt $(basename "$p" .7 | tr a-z A-Z) 7" "$p" || fail "$p: .Dt is not the page's name"
	done
}

@test "every long option in --help and in the program's getopt table is in its man page" {
	local prog o text
	for prog in $PROGS; do
		text=$(rendered "$SRC_DIR/bin/$prog.1")
		for o in $("$prog" --help | option_words | grep -- '^--') $(long_options "$prog"); do
			grep -qF -- "$o" <<<"$text" || fail "$prog: $o is not in $prog.1"
		done
	done
}

@test "the SYNOPSIS and the usage name the same options" {
	local prog
	for prog in $PROGS; do
		run -0 diff <("$prog" --help | option_words) <(section "$SRC_DIR/bin/$prog.1" SYNOPSIS | option_words)
	done
}

@test "--help is the usage on stdout, --version one line; both exit 0" {
	local prog
	for prog in $PROGS; do
		run -0 --separate-stderr "$prog" --help
		assert_line --index 0 --regexp "^usage: $prog "
		assert [ -z "$stderr" ]
		run -0 "$prog" -h
		assert_line --index 0 --regexp "^usage: $prog "
		run -0 --separate-stderr "$prog" --version
		assert_output --regexp "^$prog \(oci-\*\) [0-9]+\.[0-9]+\.[0-9]+$"
		assert [ -z "$stderr" ]
	done
}

@test "a usage error exits 2 with the usage on stderr and nothing on stdout" {
	local prog
	for prog in $PROGS; do
		run -2 --separate-stderr "$prog" --no-such-option
		assert_output ""
		[[ $stderr == "$prog: unrecognized option '--no-such-option'"*"usage: $prog "* ]] ||
		    fail "$prog: $stderr"
	done
	# and without the arguments that are needed (oci-digest and oci-unshare need none)
	for prog in oci-commit oci-config oci-diff oci-fetch oci-index oci-manifest oci-overlay oci-push oci-untar oci-whiteout; do
		run -2 --separate-stderr "$prog" </dev/null
		assert_output ""
		[[ $stderr == "usage: $prog "* ]] || fail "$prog: $stderr"
	done
}

@test "oci.7 names every program, and every environment variable the code reads" {
	local c prog v
	assert_file_exists "$SRC_DIR/bin/oci.7"
	for c in "$SRC_DIR"/bin/oci-*.c; do
		prog=$(basename "$c" .c)
		section "$SRC_DIR/bin/oci.7" PROGRAMS | grep -qx "     $prog(1)" ||
		    fail "oci.7: $prog is not under PROGRAMS"
		section "$SRC_DIR/bin/oci.7" "SEE ALSO" | grep -qF "$prog(1)" || fail "oci.7: $prog is not in SEE ALSO"
	done
	for v in $(grep -ohE 'getenv\("[A-Z_]+"\)' "$SRC_DIR"/lib/*/*.c "$SRC_DIR"/bin/*.c | grep -oE '[A-Z_]{2,}' | sort -u); do
		section "$SRC_DIR/bin/oci.7" ENVIRONMENT | grep -qw -- "$v" || fail "oci.7: $v is not under ENVIRONMENT"
	done
}

# ---- the examples, run as a reader types them ---------------------------

@test "oci.7: the examples run, with a busybox image made here" {
	run_examples "$SRC_DIR/bin/oci.7"
}

@test "oci-digest.1: the examples run" {
	run_examples "$SRC_DIR/bin/oci-digest.1"
}

@test "oci-index.1: the examples run (not the one that needs Docker Hub)" {
	run_examples "$SRC_DIR/bin/oci-index.1"
}

@test "oci-manifest.1: the examples run (not the one that needs Docker Hub)" {
	run_examples "$SRC_DIR/bin/oci-manifest.1"
}

@test "oci-fetch.1: the first example runs, with a busybox image made here" {
	run_examples "$SRC_DIR/bin/oci-fetch.1"
}

@test "oci-push.1: the examples run against a registry started here (localhost:5000 is its address)" {
	registry_start "$T/registry"
	EXAMPLE_REGISTRY=$REGISTRY run_examples "$SRC_DIR/bin/oci-push.1"
	registry_stop
}

@test "oci-untar.1: the examples run" {
	run_examples "$SRC_DIR/bin/oci-untar.1"
}

@test "oci-whiteout.1: the examples run" {
	run_examples "$SRC_DIR/bin/oci-whiteout.1"
}

@test "oci-commit.1: the examples run" {
	run_examples "$SRC_DIR/bin/oci-commit.1"
}

@test "oci-diff.1: the examples run" {
	run_examples "$SRC_DIR/bin/oci-diff.1"
}

@test "oci-view.1: the examples run" {
	run_examples "$SRC_DIR/bin/oci-view.1"
}

@test "oci-config.1: the examples run" {
	run_examples "$SRC_DIR/bin/oci-config.1"
}

@test "oci-overlay.1: the examples run, with a busybox image made here" {
	run_examples "$SRC_DIR/bin/oci-overlay.1"
}

@test "oci-unshare.1: the examples run, with a busybox image made here" {
	run_examples "$SRC_DIR/bin/oci-unshare.1"
}
