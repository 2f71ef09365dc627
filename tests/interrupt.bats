#!/usr/bin/env bats
# Interrupted: SIGINT or SIGTERM at a chosen moment of a long run (tests/interrupt.py)
# leaves no unverified blob, no index.json naming a missing blob, no half-made
# directory the run created and no mount; the status is 128+N, as a shell expects;
# an interrupted oci-fetch resumes where it stopped.

load helper
load fetch_helper

# A two-layer image "big" in $F/src: each layer 3000 files of 8 KiB that do not
# compress (f/… in layer 1, g/… in layer 2), pushed to a registry as test/big:1.
setup_file() {
	export F=$BATS_FILE_TMPDIR T=$BATS_FILE_TMPDIR
	local d=$F/tree
	mkdir -p "$d/f"
	python3 - "$d" <<'PY'
import os, sys
d = sys.argv[1]
for sub in ("f", "g"):
    os.makedirs(os.path.join(d, sub), exist_ok=True)
    for i in range(3000):
        with open(os.path.join(d, sub, "%04d" % i), "wb") as f:
            f.write(os.urandom(8192))
PY
	mv "$d/g" "$F/g"
	oci-commit "$d" "$F/src:big" >/dev/null
	mkdir "$F/tree2"
	mv "$F/g" "$F/tree2/g"
	oci-commit "$F/tree2" "$F/src:big" >/dev/null
	registry_serving "$F/src:big" test/big:1
}

teardown_file() { REGISTRY_PID=$REG_PID registry_stop; }
teardown() {
	fetch_proxy_stop
	[ -z "${LOCK_PID:-}" ] || { kill "$LOCK_PID"; wait "$LOCK_PID" || true; }
	umount -l "$T/ov/merged" 2>/dev/null || true
}

# The layout is whole: every blob hashes to its name, index.json names only blobs that are
# there, and no temporary file is left (a .partial download may stay, for the next run).
layout_whole() {
	local l=$1 d
	run -0 oci-digest --layout "$l"
	for d in $(jq -r '.manifests[].digest' "$l/index.json"); do
		oci-manifest "$l@$d" >/dev/null || { echo "index.json names $d, which is broken"; return 1; }
	done
	run -0 find "$l" -name '.*tmp*'
	assert_output ""
}

# hold_lock DIR: another process takes the lock oci_index_update takes (flock of the
# layout directory) and holds it until teardown kills it (LOCK_PID).
hold_lock() {
	python3 -c 'import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(600)' "$1" "$T/locked" 3>&- &
	LOCK_PID=$!
	while [ ! -e "$T/locked" ]; do sleep 0.05; done
}

blob_list() { (cd "$1/blobs/sha256" && ls); }

interrupt() { run "$TESTS_DIR/interrupt.py" "$@"; }

# ---- oci-untar

@test "oci-untar interrupted in its first layer: no DIR left, status 130" {
	interrupt INT "$T/root/f/1*" 0 -- oci-untar -C "$T/root" "$F/src:big"
	assert_equal "$status" 130
	assert_not_exist "$T/root"
}

@test "oci-untar killed in its second layer: no DIR left, status 143" {
	interrupt TERM "$T/root/g/15*" 0 -- oci-untar -C "$T/root" "$F/src:big"
	assert_equal "$status" 143
	assert_not_exist "$T/root"
	# then it runs to the end, as if nothing had happened
	run -0 oci-untar -C "$T/root" "$F/src:big"
	[ "$(find "$T/root" -type f | wc -l)" -eq 6000 ]
}

@test "oci-untar as nobody, interrupted: no DIR left, status 130" {
	open_to_nobody "$F"
	chmod -R a+rX "$F/src"
	open_to_nobody "$T/n"
	interrupt INT "$T/n/root/f/1*" 0 -- \
		setpriv --reuid=nobody --regid=nogroup --clear-groups oci-untar -C "$T/n/root" "$F/src:big"
	assert_equal "$status" 130
	assert_not_exist "$T/n/root"
}

@test "oci-untar interrupted in a DIR it did not make: DIR stays" {
	mkdir "$T/mine"
	echo keep >"$T/mine/note"
	interrupt INT "$T/mine/f/2*" 0 -- oci-untar -C "$T/mine" "$F/src:big"
	assert_equal "$status" 130
	assert_file_exist "$T/mine/note"
}

# ---- oci-push to an archive

@test "oci-push interrupted while it writes a docker-archive: nothing left beside FILE, status 130" {
	mkdir "$T/out"
	# The archive is written under a temporary name beside FILE (".img.tar.tmp-…" once,
	# ".tmp-img.tar-…" now): interrupted once part of the first layer is in.
	interrupt INT "$T/out/.*tmp*" 4000000 -- oci-push "$F/src:big" "docker-archive:$T/out/img.tar"
	assert_equal "$status" 130
	run -0 ls -A "$T/out"
	assert_output ""
	# then it runs to the end
	run -0 oci-push "$F/src:big" "docker-archive:$T/out/img.tar"
	run -0 ls -A "$T/out"
	assert_output "img.tar"
}

# ---- oci-fetch

@test "oci-fetch interrupted mid-blob: a whole layout, and the next run resumes with Range" {
	fetch_proxy_start slow-always "$REG"
	interrupt INT "$T/out/blobs/sha256/.partial-*" 1000000 -- \
		oci-fetch -q --plain-http "$PROXY/test/big:1" "$T/out:big"
	assert_equal "$status" 130
	layout_whole "$T/out"
	[ "$(jq '.manifests | length' "$T/out/index.json")" -eq 0 ]
	# killed again, further on, by SIGTERM
	interrupt TERM "$T/out/blobs/sha256/.partial-*" 3000000 -- \
		oci-fetch -q --plain-http "$PROXY/test/big:1" "$T/out:big"
	assert_equal "$status" 143
	layout_whole "$T/out"
	fetch_proxy_stop
	fetch_proxy_start none "$REG"
	run -0 oci-fetch -v --plain-http "$PROXY/test/big:1" "$T/out:big"
	assert_output --partial "from an earlier run are in $T/out, resuming"
	run -0 grep -E 'GET /v2/test/big/blobs/sha256:[0-9a-f]+ range=bytes=[0-9]{7,}-' "$PROXY_LOG"
	layout_whole "$T/out"
	run -0 find "$T/out/blobs" -name '.partial-*'
	assert_output ""
	skopeo copy -q --src-tls-verify=false docker://"$REG/test/big:1" oci:"$T/theirs:big"
	same_as_skopeo "$T/out" "$T/theirs"
}

@test "oci-fetch: a .partial file that is not the blob's start is thrown away, not trusted" {
	skopeo copy -q --src-tls-verify=false docker://"$REG/test/big:1" oci:"$T/theirs:big"
	oci-index --init "$T/out"
	layer=$(oci-manifest --layers "$T/theirs:big" | head -1 | jq -r .digest)
	head -c 2000000 /dev/urandom >"$T/out/blobs/sha256/.partial-${layer#sha256:}"
	run -0 oci-fetch --plain-http "$REG/test/big:1" "$T/out:big"
	layout_whole "$T/out"
	same_as_skopeo "$T/out" "$T/theirs"
}

# ---- oci-commit and oci-config

@test "oci-commit interrupted while it writes the layer: no blob, the old index.json" {
	cp -a "$F/src" "$T/img"
	before=$(blob_list "$T/img")
	cp "$T/img/index.json" "$T/index.before"
	interrupt INT "$T/img/blobs/sha256/.tmp-*" 2000000 -- oci-commit "$F/tree" "$T/img:big" new
	assert_equal "$status" 130
	assert_equal "$(blob_list "$T/img")" "$before"
	cmp "$T/img/index.json" "$T/index.before"
	layout_whole "$T/img"
}

# killed_before_index SIGNAL N CMD...: CMD runs on a copy of the image in $T/img while
# another process holds index.json's lock, so that it waits there with its N new blobs
# written; SIGNAL ends it.  Its blobs must be gone again.
killed_before_index() {
	local sig=$1 n=$2 before
	shift 2
	cp -a "$F/src" "$T/img"
	before=$(blob_list "$T/img")
	hold_lock "$T/img"
	interrupt "$sig" "$T/img/blobs/sha256/[0-9a-f]*" +$(($(echo "$before" | wc -l) + n)) -- "$@"
	assert_equal "$status" $((128 + $(kill -l "$sig")))
	assert_equal "$(blob_list "$T/img")" "$before"
	layout_whole "$T/img"
}

@test "oci-commit killed after its blobs, before index.json: they are removed again" {
	mkdir "$T/new"
	echo new >"$T/new/file"
	killed_before_index TERM 3 oci-commit "$T/new" "$T/img:big" new
}

@test "oci-commit interrupted into a new layout: no layout left" {
	interrupt INT "$T/fresh/blobs/sha256/.tmp-*" 1000000 -- oci-commit "$F/tree" "$T/fresh:v1"
	assert_equal "$status" 130
	assert_not_exist "$T/fresh"
}

@test "oci-config killed before index.json: its config and manifest are removed again" {
	killed_before_index INT 2 oci-config --env A=b "$T/img:big"
}

# ---- oci-overlay

@test "oci-overlay interrupted while it extracts a layer: no DIR, no mount" {
	interrupt TERM "$T/ov/layers/.tmp-*/g/1*" 0 -- oci-overlay "$F/src:big" "$T/ov"
	assert_equal "$status" 143
	assert_not_exist "$T/ov"
	run -1 grep -F " $T/ov/" /proc/self/mountinfo
}

@test "oci-overlay interrupted in a DIR it did not make: finished layers stay, the half one goes" {
	mkdir "$T/ov"
	interrupt INT "$T/ov/layers/.tmp-*/g/1*" 0 -- oci-overlay "$F/src:big" "$T/ov"
	assert_equal "$status" 130
	run -0 ls "$T/ov/layers"
	assert_equal "${#lines[@]}" 1	# the first layer, whole, under its diff_id
	run -0 oci-overlay "$F/src:big" "$T/ov"
	[ "$(find "$T/ov/merged" -type f | wc -l)" -eq 6000 ]
}

@test "oci-overlay that fails after mounting takes its mount down" {
	run -1 bash -c 'oci-overlay "$1" "$2" >/dev/full' sh "$F/src:big" "$T/ov"
	assert_output --partial "stdout"
	run -1 grep -F " $T/ov/" /proc/self/mountinfo
	assert_not_exist "$T/ov"
}
