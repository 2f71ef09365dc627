#!/usr/bin/env bats
# lib/run/cgroup.c, under oci-unshare --rootfs: a cgroup of its own for a
# container run by root (a pids limit, runc's device allow-list; cgroup v1,
# or v2 with a BPF device program), and RLIMIT_NPROC for everyone else.
# tests/attack/cgroup_try.c drives the library and reports what the kernel
# answered: forks past the limit, and device nodes opened outside the
# cgroup (the control) and inside it.  Root only: the cgroups are the host's.

bats_require_minimum_version 1.5.0
load helper

setup_file() {
	# The library of the build under test: lib/ for bin/, build/asan/lib/ for the sanitizer build.
	local lib san=
	lib=$(cd "$OCI_BUILT/.." && pwd)/lib/liboci.a
	case $OCI_BUILT in *asan*) san="-fsanitize=address,undefined -fno-omit-frame-pointer" ;; esac
	# Where user nobody can run it too (the RLIMIT_NPROC test).
	open_to_nobody "$BATS_FILE_TMPDIR/bin"
	# shellcheck disable=SC2046,SC2086
	cc -std=gnu11 -Wall -Wextra -Werror $san -I"$TESTS_DIR/../lib" -o "$BATS_FILE_TMPDIR/bin/cgroup_try" \
		"$TESTS_DIR/attack/cgroup_try.c" "$lib" \
		$(pkg-config --libs libarchive libcrypto libcurl jansson zlib libisal libzstd) -lpthread
}

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	[ "$(id -u)" -eq 0 ] || skip "cgroups are made by root"
	NAME=wip$BATS_SUITE_TEST_NUMBER-$$
	CGT=$BATS_FILE_TMPDIR/bin/cgroup_try
	mkdir "$T/dev"
}

# Whatever a test made goes, however it ended: its cgroups (the processes
# in them are this test's own), found by the test's unique name.
teardown() {
	local d p
	[ -n "${NAME:-}" ] || return 0
	find /sys/fs/cgroup -depth -type d \( -name "oci-$NAME" -o -name "$NAME" -o -name "parent-$NAME" \) \
		2>/dev/null | while read -r d; do
		while read -r p; do kill -KILL "$p" 2>/dev/null || true; done <"$d/cgroup.procs"
		rmdir "$d" 2>/dev/null || { sleep 0.5; rmdir "$d"; }
	done
}

cgroup_v1() { [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ]; }

@test "a pids limit: the fork past it fails with EAGAIN; the cgroup is gone afterwards" {
	run -0 "$CGT" lib "$NAME" 10 50 "$T/dev"
	assert_line --regexp "^say: cgroup: /sys/fs/cgroup/.*$NAME: pids.max 10 \\(read back\\)"
	# We are one of the 10.
	assert_line "forks: 9 of 50, then Resource temporarily unavailable"
	assert_line left
	refute_line --partial "still there"
	[ "$(grep -c ": gone$" <<<"$output")" -ge 1 ]
	run -0 find /sys/fs/cgroup -name "*$NAME"
	assert_output ""
}

@test "no pids limit asked: pids.max reads max and every fork is born" {
	run -0 "$CGT" lib "$NAME" -1 20 "$T/dev"
	assert_line --regexp "pids.max max \\(read back\\)"
	assert_line "forks: 20 of 20"
	refute_line --partial "still there"
}

@test "devices: only runc's allow-list opens inside; outside, the same nodes open" {
	run -0 "$CGT" lib "$NAME" 100 1 "$T/dev"
	assert_line --regexp "every other device refused \\((read back|attached, read back)\\)"
	# The control: each node opens outside (the pty that does not exist fails, but not with EPERM).
	assert_line "outside: open c 1:3: opened"
	assert_line "outside: open c 1:11: opened"
	assert_line "outside: open b 7:0: opened"
	assert_line "inside: open c 1:3: opened"
	assert_line --regexp "^inside: open c 136:99: (Input/output error|No such device or address)$"
	assert_line "inside: open c 1:11: Operation not permitted"
	assert_line "inside: open b 7:0: Operation not permitted"
}

@test "cgroup v1: the devices.list read back is runc's list, exactly" {
	cgroup_v1 || skip "cgroup v2 has no devices.list"
	[ -d /sys/fs/cgroup/devices ] || skip "no v1 devices controller mounted"
	# Stopped inside, with the cgroup made, while this test reads its devices.list
	# (until the fifo's writer, go, is closed; bats has fd 3 for itself).
	local d go
	mkfifo "$T/go"
	"$CGT" lib "$NAME" 100 1 - wait >"$T/out" 2>&1 <"$T/go" &
	exec {go}>"$T/go"
	for _ in $(seq 100); do grep -q '^entered$' "$T/out" && break; sleep 0.1; done
	d=$(sed -n 's/^say: cgroup: .*; \(\/[^:]*\): runc.*/\1/p' "$T/out")
	[ -d "$d" ]
	run -0 sort "$d/devices.list"
	exec {go}>&-
	wait
	assert_output "$(printf '%s\n' 'b *:* m' 'c *:* m' 'c 1:3 rwm' 'c 1:5 rwm' 'c 1:7 rwm' 'c 1:8 rwm' \
		'c 1:9 rwm' 'c 10:200 rwm' 'c 136:* rwm' 'c 5:0 rwm' 'c 5:2 rwm' | sort)"
	grep -q ': gone$' "$T/out"
	run -1 grep -q "still there" "$T/out"
}

@test "cgroup v1: a parent that refuses the allow-list: refused, and nothing is left made" {
	cgroup_v1 || skip "cgroup v1 only"
	local own parent
	own=$(awk -F: '$2 ~ /(^|,)devices(,|$)/ { print $3 }' /proc/self/cgroup)
	[ -d "/sys/fs/cgroup/devices$own" ] || skip "no v1 devices controller at /sys/fs/cgroup/devices"
	parent=/sys/fs/cgroup/devices${own%/}/parent-$NAME
	mkdir "$parent"
	echo a >"$parent/devices.deny"
	run -1 sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" lib "$3" 10 1 -' sh "$parent" "$CGT" "$NAME"
	assert_output --partial "create: write \"c *:* m\" to $parent/oci-$NAME/devices.allow: Operation not permitted"
	run -0 find /sys/fs/cgroup -name "oci-$NAME"
	assert_output ""
}

@test "a name that is not one plain path component, or one already taken, is refused" {
	run -1 "$CGT" lib "../$NAME" 10 1 -
	assert_output --partial "cgroup name \"../$NAME\": give letters, digits"
	run -1 "$CGT" lib "a/$NAME" 10 1 -
	run -1 "$CGT" lib "" 10 1 -
	cgroup_v1 || skip "the taken name is tried on v1"
	local own
	own=$(awk -F: '$2 ~ /(^|,)pids(,|$)/ { print $3 }' /proc/self/cgroup)
	[ -d "/sys/fs/cgroup/pids$own" ] || skip "no pids controller at /sys/fs/cgroup/pids"
	mkdir "/sys/fs/cgroup/pids${own%/}/oci-$NAME"
	run -1 "$CGT" lib "$NAME" 10 1 -
	assert_output --partial "oci-$NAME: File exists"
	# Not ours: it stays.
	[ -d "/sys/fs/cgroup/pids${own%/}/oci-$NAME" ]
}

@test "cgroup v2's device program, tried on a hybrid machine's cgroup2 hierarchy" {
	local u=/sys/fs/cgroup/unified
	[ -d "$u" ] && [ "$(stat -f -c %T "$u")" = cgroup2fs ] || skip "no cgroup2 hierarchy at $u"
	run -0 "$CGT" bpf "$u/oci-$NAME" "$T/dev"
	assert_line "devices: attached and read back"
	assert_line "outside: open c 1:11: opened"
	assert_line "outside: open b 7:0: opened"
	assert_line "inside: open c 1:3: opened"
	assert_line --regexp "^inside: open c 136:99: (Input/output error|No such device or address)$"
	assert_line "inside: open c 1:11: Operation not permitted"
	assert_line "inside: open b 7:0: Operation not permitted"
	assert_line "$u/oci-$NAME: gone"
}

@test "not root: RLIMIT_NPROC, soft and hard, binds the user's processes" {
	run -0 as nobody "$CGT" rlimit 5 20
	assert_line --regexp "^say: cgroup: none, only host root makes cgroups here; RLIMIT_NPROC 5 \\(read back\\) bounds uid 65534"
	# The hard limit too: the container cannot raise the soft one again.
	assert_line "RLIMIT_NPROC: soft 5, hard 5"
	# At most 4 more besides us (other processes of nobody's count too), and the next fork fails.
	assert_line --regexp "^forks: [0-4] of 20, then Resource temporarily unavailable$"
	run -0 as nobody "$CGT" rlimit -1 1
	assert_line --partial "RLIMIT_NPROC unchanged"
}

@test "cgroup v1 with no devices controller mounted: the run is refused, not made without it" {
	cgroup_v1 || skip "cgroup v2 limits devices with a BPF program"
	[ -d /sys/fs/cgroup/devices ] || skip "no v1 devices controller at /sys/fs/cgroup/devices"
	# In a mount namespace of this test's own, where the controller is unmounted.
	run -1 unshare -m --propagation private sh -c \
		"umount /sys/fs/cgroup/devices && exec '$CGT' lib '$NAME' 10 1 -"
	assert_output "create: cgroup: no devices controller is mounted (cgroup v1), so which devices container root may open or make cannot be limited: refused (mount one: mkdir -p /sys/fs/cgroup/devices && mount -t cgroup -o devices cgroup /sys/fs/cgroup/devices)"
	run -0 find /sys/fs/cgroup -name "*$NAME"
	assert_output ""
}
