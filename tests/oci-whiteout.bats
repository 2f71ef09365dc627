#!/usr/bin/env bats
# tests/oci-whiteout.bats — listing whiteouts of layers and directories, and
# converting a directory between the OCI and the overlayfs forms.

bats_require_minimum_version 1.5.0
load helper
load untar_helper

setup_file() { untar_setup_file; }
setup() { untar_setup; }
teardown() { untar_teardown; }	# tests that nobody must reach work in $W, outside bats's private tmp

@test "usage: -h, --version, and usage errors exit 2" {
	help_and_version oci-whiteout
	run -2 oci-whiteout
	run -2 oci-whiteout a b
	run -2 oci-whiteout --nope x
}

@test "the whiteouts of a layer, gzip, zstd or plain tar, as JSON lines" {
	run -0 oci-whiteout "$(layer_blob "$IMG" 1)"
	assert_output ""
	run -0 oci-whiteout "$(layer_blob "$IMG" 2)"
	assert_output - <<'OUT'
{"path":"/data/old","kind":"file","form":"oci"}
{"path":"/etc/motd","kind":"file","form":"oci"}
OUT
	gzip -dc "$(layer_blob "$IMG" 2)" >l.tar
	zstd -q l.tar -o l.tar.zst
	run -0 oci-whiteout l.tar
	assert_line --index 1 '{"path":"/etc/motd","kind":"file","form":"oci"}'
	run -0 oci-whiteout - <l.tar.zst
	assert_line --index 1 '{"path":"/etc/motd","kind":"file","form":"oci"}'
	run -0 oci-whiteout "$(layer_blob "$IMG" 5)"
	assert_output '{"path":"/data","kind":"opaque","form":"oci"}'
	# each line is JSON that jq reads
	oci-whiteout "$(layer_blob "$IMG" 3)" | jq -e 'select(.path == "/swap/inside")'
}

# d_whiteouts FORM: what oci-whiteout lists in d, made of layers 2 and 5 with
# --whiteouts=keep, when its whiteouts are in FORM (oci or overlay).
d_whiteouts() {
	printf '{"path":"%s","kind":"%s","form":"%s"}\n' /data opaque "$1" /data/old file "$1" /etc/motd file "$1"
}

@test "a directory: --to-overlay, --to-oci, and back to the same listing" {
	oci-untar --whiteouts=keep -C d -f "$(layer_blob "$IMG" 2)"
	oci-untar --whiteouts=keep -C d -f "$(layer_blob "$IMG" 5)"
	run -0 oci-whiteout d
	assert_output "$(d_whiteouts oci)"
	oci-whiteout d >before
	run -0 oci-whiteout -v --to-overlay d
	assert_output --partial "3 whiteouts converted"
	[ "$(stat -c %F:%t:%T d/etc/motd)" = "character special file:0:0" ]
	assert_not_exist d/etc/.wh.motd
	run -0 getfattr --absolute-names --only-values -n trusted.overlay.opaque d/data
	assert_output y
	run -0 oci-whiteout d
	assert_output "$(d_whiteouts overlay)"
	run -0 oci-whiteout --to-oci d
	run -0 oci-whiteout d
	diff -u before <(echo "$output")
	run -1 getfattr --absolute-names -n trusted.overlay.opaque d/data
}

@test "--to-overlay makes the lowerdir overlayfs reads: a real mount hides what the whiteouts name" {
	oci-untar -C lower -f "$(layer_blob "$IMG" 1)"
	oci-untar --whiteouts=keep -C upper1 -f "$(layer_blob "$IMG" 2)"
	oci-whiteout --to-overlay upper1
	mkdir merged
	mount -t overlay overlay -o lowerdir=upper1:lower merged
	ls -la merged/etc merged/data >listing || { umount merged; false; }
	umount merged
	run -1 grep -q ' motd$' listing
	run -1 grep -q ' old$' listing
	grep -q ' hostname$' listing
}

@test "an upperdir that overlayfs wrote becomes .wh. files (what oci-commit needs)" {
	mkdir -p lower/etc lower/data/sub upper work merged
	echo a >lower/etc/motd
	echo b >lower/data/sub/file
	mount -t overlay overlay -o lowerdir=lower,upperdir=upper,workdir=work merged
	rm merged/etc/motd
	rm -rf merged/data
	mkdir merged/data
	echo new >merged/data/new
	umount merged
	run -0 oci-whiteout upper
	assert_output - <<'OUT'
{"path":"/data","kind":"opaque","form":"overlay"}
{"path":"/etc/motd","kind":"file","form":"overlay"}
OUT
	run -0 oci-whiteout --to-oci upper
	assert_file_exists upper/etc/.wh.motd
	assert_file_exists upper/data/.wh..wh..opq
	assert_file_exists upper/data/new
	# the converted tree, as a layer, deletes what the user deleted
	tar -cf layer.tar -C upper .
	# in the tar's order, which is not ours to choose
	run -0 bash -c 'oci-whiteout layer.tar | sort'
	assert_output - <<'OUT'
{"path":"/data","kind":"opaque","form":"oci"}
{"path":"/etc/motd","kind":"file","form":"oci"}
OUT
	cp -a lower rootfs
	oci-untar -C rootfs -f layer.tar
	assert_not_exist rootfs/etc/motd
	assert_not_exist rootfs/data/sub
	assert_file_exists rootfs/data/new
}

@test "in a user namespace --to-overlay writes user.overlay.opaque" {
	W=$(mktemp -d /tmp/oci-whiteout.XXXXXX)
	mkdir -p "$W/d/x"
	touch "$W/d/x/.wh..wh..opq" "$W/d/.wh.gone"
	chown -R nobody:nogroup "$W"
	run -0 as_nobody unshare -r oci-whiteout --to-overlay "$W/d"
	run -0 getfattr --absolute-names --only-values -n user.overlay.opaque "$W/d/x"
	assert_output y
	[ "$(stat -c %t:%T "$W/d/gone")" = 0:0 ]
}

@test "errors: missing file, a file to convert, a bad whiteout name, not a tar" {
	run -1 oci-whiteout nowhere
	touch file
	run -1 oci-whiteout --to-overlay file
	assert_output --partial "not a directory"
	python3 "$TESTS_DIR/evil_tar.py" . whiteout-dotdot /nonexistent
	run -1 oci-whiteout whiteout-dotdot.1.tar
	assert_output --partial "names nothing"
	echo "plain text" >text
	run -1 oci-whiteout text
}

@test "an xz layer: oci-whiteout refuses it as oci-untar does, with the same message" {
	gzip -dc "$(layer_blob "$IMG" 2)" >l.tar
	xz -k l.tar
	run -1 oci-untar -C "$T/r" -f l.tar.xz
	assert_output --partial "layers are tar, gzip or zstd"
	untar=${output#oci-untar: }
	run -1 oci-whiteout l.tar.xz
	assert_output "oci-whiteout: $untar"
	# the same tar uncompressed is read by both
	run -0 oci-whiteout l.tar
	assert_line '{"path":"/etc/motd","kind":"file","form":"oci"}'
	run -0 oci-untar -C "$T/r" -f l.tar
}

@test "a tree 2000 directories deep (from a layer) is walked without running out of stack or descriptors" {
	# a few open directories, however deep: far fewer than one a level
	ulimit -n 256
	python3 -c '
import io, sys, tarfile
t = tarfile.open(fileobj=sys.stdout.buffer, mode="w|", format=tarfile.PAX_FORMAT)
i = tarfile.TarInfo("a/" * 2000 + ".wh.f"); i.size = 0; t.addfile(i, io.BytesIO(b"")); t.close()' >deep.tar
	run -0 oci-whiteout deep.tar
	run -0 oci-untar --whiteouts=keep -C deep -f deep.tar
	run -0 oci-whiteout deep
	assert_output "{\"path\":\"/$(printf 'a/%.0s' $(seq 2000))f\",\"kind\":\"file\",\"form\":\"oci\"}"
	run -0 oci-whiteout --to-overlay deep
	run -0 oci-whiteout deep
	assert_output --partial '"form":"overlay"'
	run -0 oci-whiteout --to-oci deep
}
