#!/usr/bin/env bats
# A full disk: each program that writes fails with exit 1, the path and "No space left on
# device", leaves nothing under a final name, and the same command succeeds once there is
# room.  The disk is a 4 MiB tmpfs (root mounts it), then grown to 64 MiB with a remount.

load helper

# An image "big" whose one layer is an 8 MB file that does not compress, in $F/src and in a
# registry as test/big:1.
setup_file() {
	export F=$BATS_FILE_TMPDIR T=$BATS_FILE_TMPDIR
	mkdir -p "$F/tree/d"
	head -c 8000000 /dev/urandom >"$F/tree/d/blob"
	oci-commit "$F/tree" "$F/src:big" >/dev/null
	registry_serving "$F/src:big" test/big:1
}

teardown_file() { REGISTRY_PID=$REG_PID registry_stop; }

setup() {
	[ "$(id -u)" -eq 0 ] || skip "mounting a small tmpfs needs root"
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	mkdir "$T/disk"
	mount -t tmpfs -o size=4m oci-test-full "$T/disk"
}

teardown() {
	umount -l "$T/disk/ov/merged" 2>/dev/null || true
	umount -l "$T/disk" 2>/dev/null || true
}

room() { mount -o remount,size=64m "$T/disk"; }

@test "oci-untar on a full disk: exit 1, the path, no DIR; then it succeeds" {
	run -1 oci-untar -C "$T/disk/root" "$F/src:big"
	assert_output --partial "/d/blob: write: No space left on device"
	assert_not_exist "$T/disk/root"
	room
	run -0 oci-untar -C "$T/disk/root" "$F/src:big"
	cmp "$F/tree/d/blob" "$T/disk/root/d/blob"
}

@test "oci-fetch on a full disk: exit 1, the path, no blob under its name; then it resumes" {
	run -1 oci-fetch --plain-http "$REG/test/big:1" "$T/disk/out:big"
	assert_output --regexp "write $T/disk/out/blobs/sha256/\.partial-[0-9a-f]{64}: No space left on device"
	# Every blob stored is what its name says; the pull may have stored none
	# yet (its blobs come in parallel), which oci-digest says with exit 1.
	run oci-digest --layout "$T/disk/out"
	[ "$status" -eq 0 ] || assert_output "oci-digest: $T/disk/out: no blobs: nothing to check"
	[ "$(jq '.manifests | length' "$T/disk/out/index.json")" -eq 0 ]
	run -0 find "$T/disk/out/blobs/sha256" -name '[0-9a-f]*' -size +1M
	assert_output ""
	room
	run -0 oci-fetch -v --plain-http "$REG/test/big:1" "$T/disk/out:big"
	assert_output --partial "resuming"
	run -0 oci-digest --layout "$T/disk/out"
	run -0 oci-untar -C "$T/root" "$T/disk/out:big"
	cmp "$F/tree/d/blob" "$T/root/d/blob"
}

@test "oci-commit on a full disk: exit 1, the path, no layout left; then it succeeds" {
	run -1 oci-commit "$F/tree" "$T/disk/img:v1"
	assert_output --regexp "write $T/disk/img/blobs/sha256/\.tmp-[^:]*: No space left on device"
	assert_not_exist "$T/disk/img"
	room
	run -0 oci-commit "$F/tree" "$T/disk/img:v1"
	run -0 oci-digest --layout "$T/disk/img"
}

@test "oci-commit on a full disk into a layout that has images: no new blob, the same index.json" {
	mount -o remount,size=12m "$T/disk"
	cp -a "$F/src" "$T/disk/img"
	before=$(ls "$T/disk/img/blobs/sha256")
	cp "$T/disk/img/index.json" "$T/index.before"
	mkdir -p "$T/more"
	head -c 5000000 /dev/urandom >"$T/more/other"
	run -1 oci-commit "$T/more" "$T/disk/img:big" v2
	assert_output --partial "No space left on device"
	assert_equal "$(ls "$T/disk/img/blobs/sha256")" "$before"
	cmp "$T/disk/img/index.json" "$T/index.before"
	room
	run -0 oci-commit "$T/more" "$T/disk/img:big" v2
	run -0 oci-digest --layout "$T/disk/img"
}

@test "oci-overlay on a full disk: exit 1, the path, no DIR and no mount; then it succeeds" {
	run -1 oci-overlay "$F/src:big" "$T/disk/ov"
	assert_output --partial "/d/blob: write: No space left on device"
	assert_not_exist "$T/disk/ov"
	run -1 grep -F " $T/disk/ov/" /proc/self/mountinfo
	room
	run -0 oci-overlay "$F/src:big" "$T/disk/ov"
	cmp "$F/tree/d/blob" "$T/disk/ov/merged/d/blob"
	oci-overlay -u "$T/disk/ov"
}
