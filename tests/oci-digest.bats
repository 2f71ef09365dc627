#!/usr/bin/env bats
# tests/oci-digest.bats — oci-digest: digests, descriptors, checks, the
# verifying filter, and whole-layout checks on layouts umoci and skopeo made.

load helper

EMPTY=sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
ABC=sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
ABC512=sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f

# --- usage ---------------------------------------------------------------

@test "--help prints the usage on stdout and exits 0" {
	run -0 oci-digest --help
	assert_line --index 0 --partial "usage: oci-digest"
	run -0 oci-digest -h
	assert_line --partial "--layout LAYOUT"
}

@test "--version names the program" {
	run -0 oci-digest --version
	assert_output --regexp '^oci-digest \(oci-\*\) [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "usage errors exit 2 with the usage on stderr" {
	run -2 oci-digest --no-such-option
	assert_output --partial "usage:"
	run -2 oci-digest -a md5 /dev/null
	assert_output --partial 'unsupported digest algorithm "md5"'
	run -2 oci-digest -d -c
	assert_output --partial "do not go together"
	run -2 oci-digest -t text/plain /dev/null
	assert_output --partial "-t goes with -d"
	run -2 oci-digest --size 3
	assert_output --partial "--size goes with --expect"
	run -2 oci-digest --expect "$ABC" --size -1
	run -2 oci-digest --expect "$ABC" --size 12x
	run -2 oci-digest --expect sha256:ABC
	assert_output --partial "not lowercase hex"
	run -2 oci-digest --expect sha256:abc
	assert_output --partial "needs 64 hex digits"
	run -2 oci-digest --expect "$ABC" extra-file
	run -2 oci-digest -d a b
}

# --- known answers -------------------------------------------------------

@test "the empty input has the well-known digest" {
	run -0 oci-digest </dev/null
	assert_output "$EMPTY  -"
	: >empty
	run -0 oci-digest empty
	assert_output "$EMPTY  empty"
}

@test "abc hashes to the FIPS 180-2 test vectors, sha256 and sha512" {
	printf abc >abc
	run -0 oci-digest abc
	assert_output "$ABC  abc"
	run -0 oci-digest -a sha512 abc
	assert_output "$ABC512  abc"
	run -0 oci-digest - <abc
	assert_output "$ABC  -"
}

@test "several files give one line each, in order, like sha256sum" {
	printf abc >abc
	head -c 3000000 /dev/urandom >big
	run -0 oci-digest abc big
	assert_equal "${lines[0]}" "$ABC  abc"
	assert_equal "${lines[1]}" "sha256:$(sha256sum big | cut -d' ' -f1)  big"
}

@test "a missing file is exit 1, the others are still printed" {
	printf abc >abc
	run -1 oci-digest nope abc
	assert_line --partial "oci-digest: nope: No such file or directory"
	assert_line "$ABC  abc"
}

@test "a large stream hashes like sha256sum and sha512sum" {
	head -c 70000000 /dev/urandom >big
	run -0 oci-digest big
	assert_output "sha256:$(sha256sum big | cut -d' ' -f1)  big"
	run -0 oci-digest -a sha512 <big
	assert_output "sha512:$(sha512sum big | cut -d' ' -f1)  -"
}

# --- -d ------------------------------------------------------------------

@test "-d prints one compact descriptor line that jq reads" {
	printf abc >abc
	run -0 oci-digest -d abc
	assert_output "{\"mediaType\":\"application/octet-stream\",\"digest\":\"$ABC\",\"size\":3}"
	run -0 oci-digest -d -t application/vnd.oci.image.layer.v1.tar <abc
	assert_equal "$(jq -r .mediaType <<<"$output")" application/vnd.oci.image.layer.v1.tar
	assert_equal "$(jq -r .size <<<"$output")" 3
	run -0 oci-digest -d </dev/null
	assert_output --partial "\"digest\":\"$EMPTY\",\"size\":0"
}

# --- -c ------------------------------------------------------------------

@test "-c checks a list and names what failed" {
	printf abc >abc
	printf xyz >xyz
	oci-digest abc xyz >sums
	run -0 oci-digest -c sums
	assert_line "abc: OK"
	assert_line "xyz: OK"
	run -0 oci-digest -q -c sums
	assert_output ""
	printf xyZ >xyz
	run -1 oci-digest -c sums
	assert_line "abc: OK"
	assert_line "xyz: FAILED"
	assert_line --partial "1 of 2 lines did not check out"
}

@test "-c reads the list from stdin and rejects malformed lines" {
	printf abc >abc
	run -0 oci-digest -c <<<"$ABC  abc"
	assert_output "abc: OK"
	run -1 oci-digest -c <<<"nonsense"
	assert_output --partial 'not a "DIGEST  FILE" line'
	run -1 oci-digest -c <<<"sha256:1234  abc"
	assert_output --partial "needs 64 hex digits"
	run -1 oci-digest -c <<<"$ABC  missing"
	assert_line "missing: FAILED open or read"
	# One good line and one bad: 1 of 2, as sha256sum -c counts them.
	run -1 oci-digest -c <<<"$ABC  abc
nonsense"
	assert_line "abc: OK"
	assert_output --partial "WARNING: 1 of 2 lines did not check out"
}

@test "-c with nothing to check fails, as sha256sum -c does" {
	run -1 oci-digest -c </dev/null
	assert_output 'oci-digest: -: no properly formatted "DIGEST  FILE" lines found'
	run -1 oci-digest -c <<<"nonsense"
	assert_output --partial 'no properly formatted "DIGEST  FILE" lines found'
	run -1 sha256sum -c </dev/null
}

# --- --expect ------------------------------------------------------------

@test "--expect passes the bytes through and exits 0 when they match" {
	head -c 1000000 /dev/urandom >blob
	d=sha256:$(sha256sum blob | cut -d' ' -f1)
	oci-digest --expect "$d" --size 1000000 <blob >copy
	cmp blob copy
	run -0 oci-digest --expect "$ABC" < <(printf abc)
	assert_output abc
}

@test "--expect exits 1 on a wrong digest and names both digests" {
	run -1 oci-digest --expect "$ABC" < <(printf abd)
	assert_output --partial "digest mismatch: expected $ABC, got sha256:"
}

@test "--expect with --size exits 1 on a stream too short or too long" {
	run -1 oci-digest --expect "$ABC" --size 4 < <(printf abc)
	assert_output --partial "size mismatch: expected 4 bytes, got 3"
	run -1 oci-digest --expect "$ABC" --size 2 < <(printf abc)
	assert_output --partial "size mismatch: expected 2 bytes"
}

@test "--expect fails a pipeline under pipefail" {
	set -o pipefail
	run -1 bash -o pipefail -c "printf abd | oci-digest --expect $ABC | cat >/dev/null"
}

# --- --layout ------------------------------------------------------------

@test "--layout passes a layout made by umoci and names a corrupted blob" {
	umoci_image img latest
	run -0 oci-digest --layout img
	assert_output ""
	run -0 oci-digest -v --layout img
	assert_output --partial "blobs checked, all good"
	blob=$(ls img/blobs/sha256 | head -n 1)
	printf 'X' | dd of="img/blobs/sha256/$blob" bs=1 seek=5 conv=notrunc status=none
	run -1 oci-digest --layout img
	assert_line "blobs/sha256/$blob"
	assert_line --partial "img/blobs/sha256/$blob: content hashes to sha256:"
}

@test "--layout on a layout with no blob says so and fails: there is nothing to vouch for" {
	umoci init --layout empty
	run -1 oci-digest --layout empty
	assert_output "oci-digest: empty: no blobs: nothing to check"
}

@test "--layout passes a layout made by skopeo from a registry" {
	umoci_image src latest
	registry_start "$T/reg"
	skopeo copy -q --dest-tls-verify=false oci:src:latest "docker://$REGISTRY/demo:latest"
	skopeo copy -q --src-tls-verify=false "docker://$REGISTRY/demo:latest" oci:dst:latest
	registry_stop
	run -0 oci-digest --layout dst
	[ "$(ls dst/blobs/sha256 | wc -l)" -ge 3 ]
	blob=$(ls dst/blobs/sha256 | tail -n 1)
	: >"dst/blobs/sha256/$blob"
	run -1 oci-digest -q --layout dst
	assert_output "blobs/sha256/$blob"
}

@test "--layout names files that are not blobs, and skips temporary files" {
	mkdir -p lay/blobs/sha256
	echo '{"imageLayoutVersion":"1.0.0"}' >lay/oci-layout
	echo junk >lay/blobs/sha256/not-a-digest
	echo partial >lay/blobs/sha256/.tmp-123
	mkdir -p lay/blobs/md5
	run -1 oci-digest --layout lay
	assert_line "blobs/sha256/not-a-digest"
	assert_line "blobs/md5"
	refute_line --partial ".tmp-123"
}

@test "--layout on something that is not a layout is exit 1" {
	mkdir notalayout
	run -1 oci-digest --layout notalayout
	assert_output --partial "notalayout is not an OCI layout"
	run -1 oci-digest --layout missing
	assert_output --partial "missing: No such file or directory"
}

@test "a symlinked blob is not followed" {
	mkdir -p lay/blobs/sha256
	echo '{"imageLayoutVersion":"1.0.0"}' >lay/oci-layout
	ln -s /etc/passwd "lay/blobs/sha256/$(sha256sum /etc/passwd | cut -d' ' -f1)"
	run -1 oci-digest --layout lay
	assert_output --partial "Too many levels of symbolic links"
}

@test "--layout names a FIFO or a device among the blobs, never waits on or reads it" {
	mkdir -p lay/blobs/sha256
	echo '{"imageLayoutVersion":"1.0.0"}' >lay/oci-layout
	mkfifo "lay/blobs/sha256/$(printf '%064d' 1)"
	mknod "lay/blobs/sha256/$(printf '%064d' 2)" c 1 5
	run -1 timeout 10 oci-digest --layout lay
	assert_line "blobs/sha256/$(printf '%064d' 1)"
	assert_line "blobs/sha256/$(printf '%064d' 2)"
	assert_output --partial "not a regular file"
}

@test "-c escapes control characters in the names it reports" {
	name=$'x\e[2Jy'
	printf abc >"$name"
	printf '%s  %s\n' "$ABC" "$name" >list
	run -0 oci-digest -c list
	assert_output 'x\x1b[2Jy: OK'
	printf '%s  %s\n' "$EMPTY" "$name" >list
	run -1 --separate-stderr oci-digest -c list
	[ "$output" = 'x\x1b[2Jy: FAILED' ]
}

@test "-d with a media type that is not UTF-8 says so and exits 1" {
	run -1 --separate-stderr oci-digest -d -t $'a\xffb' /dev/null
	[ "$stderr" = "oci-digest: -t: the media type is not UTF-8 text" ]
	[ "$output" = "" ]
}
