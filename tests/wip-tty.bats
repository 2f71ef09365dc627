#!/usr/bin/env bats
# oci-unshare --rootfs and the host's terminal: the container never gets it
# as a file descriptor.  With stdin and stdout terminals it gets a
# pseudo-terminal of its own (tests/oci-unshare.bats); otherwise each of fds
# 0-2 that is a terminal becomes a pipe that oci-unshare relays, as with
# `docker run -i` without -t.  script(1) gives each test a terminal.

bats_require_minimum_version 1.5.0
load helper
load container_helper

setup_file() {
	fixtures_dir
	{
		busybox_image bb latest
		umoci unpack --image bb:latest bundle
		attack_rootfs "$F/evil" "$F/bundle/rootfs"
	} >/dev/null
	chmod -R a+rX "$F"
}

stdout_to_a_file() {
	open_to_nobody "$T"
	# stdin and stderr are the terminal, stdout a file.
	run -0 as "$1" script -qec "stty -g >'$T/before';
		oci-unshare --rootfs '$F/evil' /attack ttyfds >'$T/out';
		stty -g >'$T/after'" /dev/null
	run -0 cat "$T/out"
	assert_output "fd 0: not a tty
fd 1: not a tty
fd 2: not a tty
raw fd 0: Inappropriate ioctl for device
raw fd 1: Inappropriate ioctl for device
raw fd 2: Inappropriate ioctl for device"
	# The host's terminal is as it was: cooked, echoing.
	[ -s "$T/before" ]
	[ "$(cat "$T/before")" = "$(cat "$T/after")" ]
}
@test "stdout to a file at a terminal: the container gets pipes, the terminal is left as it was (root)" { stdout_to_a_file root; }
@test "stdout to a file at a terminal: the container gets pipes, the terminal is left as it was (nobody)" { stdout_to_a_file nobody; }

stdin_from_null() {
	open_to_nobody "$T"
	run -0 as "$1" script -qec "oci-unshare --rootfs '$F/evil' /attack ttyfds </dev/null" /dev/null
	assert_output --partial "fd 1: not a tty"
	assert_output --partial "fd 2: not a tty"
	refute_output --partial "raw fd 1: done"
	refute_output --partial "raw fd 2: done"
	# 0 is passed as it is; 1 and 2 are pipes, and -v says why.
	run -0 as "$1" script -qec "oci-unshare -v --rootfs '$F/bundle/rootfs' ls -l /proc/self/fd </dev/null" /dev/null
	assert_output --regexp ' 0 -> /dev/null'
	assert_output --regexp ' 1 -> pipe:\['
	assert_output --regexp ' 2 -> pipe:\['
	assert_output --partial "the container gets pipes for 1 and 2"
	# What is written just before the end arrives, all of it, on stdout and on stderr.
	run -0 as "$1" script -qec "oci-unshare --rootfs '$F/bundle/rootfs' seq 20000 </dev/null" /dev/null
	[ "$(tr -d '\r' <<<"$output")" = "$(seq 20000)" ]
	run -0 as "$1" script -qec "oci-unshare --rootfs '$F/bundle/rootfs' sh -c 'seq 20000 >&2' </dev/null" /dev/null
	[ "$(tr -d '\r' <<<"$output")" = "$(seq 20000)" ]
}
@test "stdin from /dev/null, stdout a terminal: fds 1 and 2 are relayed pipes (root)" { stdin_from_null root; }
@test "stdin from /dev/null, stdout a terminal: fds 1 and 2 are relayed pipes (nobody)" { stdin_from_null nobody; }

piped_through() {
	open_to_nobody "$T"
	# script passes what it reads to the terminal, then an end of file.
	run -0 as "$1" sh -c 'echo hello | script -qec "$0" /dev/null' \
		"oci-unshare --rootfs '$F/bundle/rootfs' sh -c 'readlink /proc/self/fd/0; cat' >'$T/out'"
	run -0 cat "$T/out"
	assert_line --index 0 --regexp '^pipe:\[[0-9]+\]$'
	assert_line --index 1 hello
	[ "${#lines[@]}" -eq 2 ]
	# Input that never ends, into a container that stops reading it: the
	# relay ends with the container, and its status is the command's.
	run -5 as "$1" sh -c 'yes | script -qec "$0" /dev/null' \
		"stty -echo; oci-unshare --rootfs '$F/bundle/rootfs' sh -c 'head -n 3; exit 5' >'$T/out'"
	run -0 cat "$T/out"
	assert_output $'y\ny\ny'
}
@test "input typed at the terminal reaches the container through a pipe, its output the file (root)" { piped_through root; }
@test "input typed at the terminal reaches the container through a pipe, its output the file (nobody)" { piped_through nobody; }

exit_status() {
	open_to_nobody "$T"
	run -7 as "$1" script -qec "oci-unshare --rootfs '$F/bundle/rootfs' sh -c 'echo out; echo err >&2; exit 7' >'$T/out'" /dev/null
	assert_output --partial err
	run -0 cat "$T/out"
	assert_output out
	run -143 as "$1" script -qec "oci-unshare --rootfs '$F/bundle/rootfs' sh -c 'kill -TERM \$\$' </dev/null" /dev/null
}
@test "with pipes, the exit status is still the command's (root)" { exit_status root; }
@test "with pipes, the exit status is still the command's (nobody)" { exit_status nobody; }
