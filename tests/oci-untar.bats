#!/usr/bin/env bats
# tests/oci-untar.bats — layers become a rootfs: compared with umoci unpack,
# verified while streaming, in the three whiteout modes, as root and not.

bats_require_minimum_version 1.5.0
load helper
load untar_helper

setup_file() {
	untar_setup_file
	umoci unpack --image "$BATS_FILE_TMPDIR/img:latest" "$BATS_FILE_TMPDIR/bundle" >/dev/null
	tree_list "$BATS_FILE_TMPDIR/bundle/rootfs" >"$BATS_FILE_TMPDIR/umoci.tree"
}

setup() {
	untar_setup
	UMOCI_TREE=$BATS_FILE_TMPDIR/umoci.tree
}

teardown() { untar_teardown; }	# tests that nobody must reach work in $W, outside bats's private tmp

@test "usage: -h, --version, and usage errors exit 2" {
	help_and_version oci-untar
	run -2 oci-untar
	assert_output --partial "usage:"
	run -2 oci-untar "$IMG:latest"
	run -2 oci-untar -C r
	run -2 oci-untar -C r -f x.tar "$IMG:latest"
	run -2 oci-untar --whiteouts=maybe -C r "$IMG:latest"
	assert_output --partial "not apply, overlay or keep"
	run -2 oci-untar --bogus -C r "$IMG:latest"
}

@test "an image of five layers equals umoci unpack's rootfs" {
	run -0 oci-untar -C "$T/r" "$IMG:latest"
	tree_list "$T/r" >ours.tree
	diff -u "$UMOCI_TREE" ours.tree
	# and the tree is the one the layers describe, not two empty ones
	grep -q '^usr/bin/tool -rwsr-xr-x 4755 0:0 ' ours.tree
	grep -q '^srv drwxrwsr-x 2775 ' ours.tree
	grep -q '^tmp drwxrwxrwt 1777 ' ours.tree
	grep -q '^var/fifo prw' ours.tree
	grep -q '^etc/abs-link lrwxrwxrwx 777 0:0  -> /etc/hostname' ours.tree
	grep -q '^usr/bin/rel-link .* -> ../lib/one' ours.tree
	grep -q '^swap lrwxrwxrwx .* -> usr/lib' ours.tree
	grep -q '^etc/hostname/x ' ours.tree
	grep -q '^etc/owned .* 1234:5678 ' ours.tree
	[ "$(grep -c ' link#1$' ours.tree)" -eq 3 ]
	grep -q '^usr/lib/sparse .* 5242880 ' ours.tree
	grep -q '^data/fresh ' ours.tree
	grep -q '^data/keep/again ' ours.tree
	run -1 grep -q '^data/keep/k \|^data/lower \|^data/old\|^etc/motd \|^swap/inside' ours.tree
	[ "$(grep -c '^deep/' ours.tree)" -eq 3 ]
}

@test "-v says each layer, its digest and diff_id, and what it deleted" {
	run -0 oci-untar -v -C "$T/r" "$IMG:latest"
	assert_output --partial "layer 5 of 5"
	assert_output --partial "diff_id verified"
	assert_output --partial "whiteout: /etc/motd removed"
	assert_output --partial "opaque whiteout: /data"
	assert_output --regexp "layer sha256:[0-9a-f]{12} \("
}

@test "layer descriptors on stdin, and one layer stream with -f, plain, gzip and zstd" {
	layer_descs "$IMG" | oci-untar -C "$T/r" "$IMG"
	tree_list "$T/r" | diff -u "$UMOCI_TREE" -
	for n in 1 2 3 4 5; do
		b=$(layer_blob "$IMG" "$n")
		case $n in
		1) oci-untar -C "$T/f" -f "$b" ;;
		2) gzip -dc "$b" >l.tar && oci-untar -C "$T/f" -f l.tar ;;
		3) gzip -dc "$b" | zstd -q >l.zst && oci-untar -C "$T/f" -f l.zst ;;
		*) oci-untar -C "$T/f" -f - <"$b" ;;
		esac
	done
	tree_list "$T/f" | diff -u "$UMOCI_TREE" -
}

@test "a layer whose bytes do not match its digest: exit 1 naming both digests; the new DIR is removed" {
	cp -a "$IMG" img
	b=$(layer_blob img 3)
	# gzip's MTIME field: the same tar, the same size, another digest
	printf '\x01\x02\x03\x04' | dd of="$b" bs=1 seek=4 conv=notrunc status=none
	want=sha256:$(basename "$b")
	got=sha256:$(sha256sum "$b" | cut -d' ' -f1)
	run -1 oci-untar -C "$T/r" img:latest
	assert_output --partial "layer ${want:0:19}"
	assert_output --partial "digest mismatch: expected $want, got $got"
	assert_not_exist "$T/r"
	# a DIR that was there before is left in place
	mkdir "$T/mine"
	run -1 oci-untar -C "$T/mine" img:latest
	assert_dir_exists "$T/mine"
}

@test "a tar that does not match the config's diff_id: exit 1 naming both digests" {
	cp -a "$IMG" img
	bad=sha256:$(printf '0%.0s' $(seq 64))
	good=$(jq -r '.rootfs.diff_ids[1]' "$(dirname "$(layer_blob img 1)")/$(jq -r '.config.digest' \
		"img/blobs/sha256/$(jq -r '.manifests[0].digest' img/index.json | cut -d: -f2)" | cut -d: -f2)")
	rewrite_config img ".rootfs.diff_ids[1] = \"$bad\""
	run -1 oci-untar -C "$T/r" img:latest
	assert_output --partial "diff_id"
	assert_output --partial "expected $bad, got $good"
	run -1 oci-untar -C "$T/r" img:latest
	rewrite_config img '.rootfs.diff_ids |= .[0:2]'
	run -1 oci-untar -C "$T/r" img:latest
	assert_output --partial "2 diff_ids for 5 layers"
}

@test "broken input: truncated gzip, corrupt zstd, not a tar, xz, a config as a layer, empty stdin" {
	b=$(layer_blob "$IMG" 1)
	head -c 200 "$b" >short.gz
	run -1 oci-untar -C "$T/r" -f short.gz
	assert_output --partial "gzip"
	assert_not_exist "$T/r"
	printf '\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff' >bad.gz
	run -1 oci-untar -C "$T/r" -f bad.gz
	assert_output --partial "gzip: the compressed data is corrupt"
	printf '\x28\xb5\x2f\xfdgarbage-garbage' >bad.zst
	run -1 oci-untar -C "$T/r" -f bad.zst
	assert_output --partial "zstd"
	echo "just text, not a tar" >text
	run -1 oci-untar -C "$T/r" -f text
	gzip -dc "$b" | xz >l.xz
	run -1 oci-untar -C "$T/r" -f l.xz
	assert_output --partial "xz"
	m=$(jq -r '.manifests[0].digest' "$IMG/index.json")
	jq -c .config "$IMG/blobs/sha256/${m#sha256:}" >config.desc
	run -1 oci-untar -C "$T/r" "$IMG" <config.desc
	assert_output --partial "is not a layer"
	run -1 oci-untar -C "$T/r" "$IMG" </dev/null
	assert_output --partial "no layer descriptors"
	run -1 oci-untar -C "$T/r" "$T/nowhere:latest"
	run -1 oci-untar -C "$T/r" -f "$T/nowhere.tar"
	run -1 oci-untar -C "$IMG/index.json" "$IMG:latest"
}

@test "an empty stream and an empty tar are empty layers" {
	run -0 oci-untar -C "$T/r" -f /dev/null
	assert_dir_exists "$T/r"
	head -c 1024 /dev/zero | gzip >empty.tar.gz
	run -0 oci-untar -C "$T/r" -f empty.tar.gz
	run -0 oci-whiteout empty.tar.gz
	assert_output ""
}

@test "--whiteouts=keep writes .wh. files as tar -xf does" {
	run -0 oci-untar --whiteouts=keep -C "$T/r" "$IMG:latest"
	assert_file_exists "$T/r/etc/.wh.motd"
	assert_file_exists "$T/r/etc/motd"
	assert_file_exists "$T/r/data/.wh..wh..opq"
	assert_file_exists "$T/r/data/lower"
	# GNU tar as the oracle, on the layers it can stack (layer 3 turns a directory
	# into a symlink, which tar -x refuses): the same tree, .wh. files and all.
	mkdir tarx
	for n in 1 2 4 5; do
		tar -xzf "$(layer_blob "$IMG" "$n")" -C tarx
		oci-untar --whiteouts=keep -C "$T/k" -f "$(layer_blob "$IMG" "$n")"
	done
	diff -u <(tree_list tarx) <(tree_list "$T/k")
	grep -q '^etc/.wh.motd ' <(tree_list "$T/k")
}

@test "--whiteouts=overlay: one lowerdir per layer, mounted by overlayfs, equals umoci's tree" {
	lower=
	for n in 1 2 3 4 5; do
		run -0 oci-untar --whiteouts=overlay -C "$T/l$n" -f "$(layer_blob "$IMG" "$n")"
		lower=$T/l$n${lower:+:$lower}
	done
	[ "$(stat -c %t:%T "$T/l2/etc/motd")" = 0:0 ]
	run -0 getfattr --absolute-names --only-values -n trusted.overlay.opaque "$T/l5/data"
	assert_output y
	mkdir merged
	mount -t overlay overlay -o "lowerdir=$lower" merged
	tree_list merged >merged.tree || { umount merged; false; }
	umount merged
	diff -u "$UMOCI_TREE" merged.tree
}

@test "--whiteouts=overlay: .wh.x and a directory x/ in one layer make an opaque x, in either order" {
	python3 - "$T" <<'PY'
import io, sys, tarfile
def layer(path, entries):
    with tarfile.open(path, "w") as t:
        for name, kind in entries:
            i = tarfile.TarInfo(name)
            if kind == "dir":
                i.type, i.mode = tarfile.DIRTYPE, 0o755
                t.addfile(i)
            else:
                data = kind.encode()
                i.size = len(data)
                t.addfile(i, io.BytesIO(data))
d = sys.argv[1]
layer(d + "/lower.tar", [("x", "dir"), ("x/old", "old\n")])
layer(d + "/wh-first.tar", [(".wh.x", ""), ("x", "dir"), ("x/new", "new\n")])
layer(d + "/dir-first.tar", [("x", "dir"), ("x/new", "new\n"), (".wh.x", "")])
PY
	oci-untar --whiteouts=overlay -C "$T/lower" -f "$T/lower.tar"
	for order in wh-first dir-first; do
		run -0 oci-untar --whiteouts=overlay -C "$T/$order" -f "$T/$order.tar"
		[ -d "$T/$order/x" ]
		run -0 getfattr --absolute-names --only-values -n trusted.overlay.opaque "$T/$order/x"
		assert_output y
		# overlayfs then shows only the upper layer's x
		mkdir "$T/m-$order"
		mount -t overlay overlay -o "lowerdir=$T/$order:$T/lower" "$T/m-$order"
		run -0 ls "$T/m-$order/x"
		umount "$T/m-$order"
		assert_output new
	done
}

@test "as nobody: works, ownership skipped; in a user namespace overlay mode uses user.overlay.opaque" {
	W=$(mktemp -d /tmp/oci-untar.XXXXXX)
	chmod 755 "$W"
	cp -a "$IMG" "$W/img"
	chmod -R a+rX "$W/img"
	chown nobody "$W"
	run -0 as_nobody oci-untar -C "$W/r" "$W/img:latest"
	# everything as umoci made it, but owned by nobody
	tree_list "$W/r" | sed 's/ 65534:65534 / 0:0 /' >ours.tree
	sed 's/ 1234:5678 / 0:0 /' "$UMOCI_TREE" | diff -u - ours.tree
	run -0 as_nobody unshare -r \
		oci-untar --whiteouts=overlay -C "$W/o" -f "$(layer_blob "$W/img" 5)"
	run -0 getfattr --absolute-names --only-values -n user.overlay.opaque "$W/o/data"
	assert_output y
	# a directory of mode 0555 from a lower layer still takes the next layer's names
	python3 - "$W" <<'PY'
import io, sys, tarfile
for n, names in enumerate([["ro/", "ro/a"], ["ro/b"]], 1):
    with tarfile.open("%s/ro.%d.tar" % (sys.argv[1], n), "w") as t:
        for name in names:
            i = tarfile.TarInfo(name.rstrip("/"))
            i.type, i.mode = (tarfile.DIRTYPE, 0o555) if name.endswith("/") else (tarfile.REGTYPE, 0o444)
            t.addfile(i, io.BytesIO(b""))
PY
	chmod a+r "$W"/ro.*.tar
	for n in 1 2; do
		run -0 as_nobody oci-untar -C "$W/ro" -f "$W/ro.$n.tar"
	done
	assert_file_exists "$W/ro/ro/a"
	assert_file_exists "$W/ro/ro/b"
	[ "$(stat -c %a "$W/ro/ro")" = 555 ]
	# ... and lets the next layers replace a file, and a directory by a file, in it
	python3 - "$W" <<'PY'
import io, sys, tarfile
for n, entries in enumerate([[("rr/", 0o555, b""), ("rr/a", 0o444, b"old"), ("rr/d/", 0o755, b"")],
                             [("rr/a", 0o444, b"new")], [("rr/d", 0o444, b"file")]], 1):
    with tarfile.open("%s/rr.%d.tar" % (sys.argv[1], n), "w") as t:
        for name, mode, data in entries:
            i = tarfile.TarInfo(name.rstrip("/"))
            i.type = tarfile.DIRTYPE if name.endswith("/") else tarfile.REGTYPE
            i.mode, i.size = mode, len(data)
            t.addfile(i, io.BytesIO(data))
PY
	chmod a+r "$W"/rr.*.tar
	for n in 1 2 3; do
		run -0 as_nobody oci-untar -C "$W/rr" -f "$W/rr.$n.tar"
	done
	[ "$(cat "$W/rr/rr/a")" = new ]
	[ "$(cat "$W/rr/rr/d")" = file ]
	[ "$(stat -c %a "$W/rr/rr")" = 555 ]
}

@test "a layer over an existing tree: merges directories, replaces files, keeps the root" {
	mkdir -p r/etc
	echo old >r/etc/hostname
	chmod 700 r
	run -0 oci-untar -C r -f "$(layer_blob "$IMG" 1)"
	[ "$(cat r/etc/hostname)" = box ]
	[ "$(stat -c %a r)" = 700 ]
}

@test "--whiteouts=overlay inside oci-unshare as root (every id mapped to itself) uses user.overlay.opaque" {
	[ "$(id -u)" -eq 0 ] || fail "this test needs root"
	mkdir -p src/a out
	touch src/a/.wh..wh..opq src/a/f
	tar -C src -cf l.tar a
	run -0 oci-unshare sh -c 'oci-untar --whiteouts=overlay -C out -f - <l.tar &&
		getfattr --only-values -n user.overlay.opaque out/a'
	assert_output y
}

@test "progress: one line on a terminal, erased when the layer is done; nothing on a pipe, or with -q or -v" {
	mkdir -p tree
	head -c 3000000 /dev/urandom >tree/big
	oci-commit -q tree img:latest >/dev/null
	# bats reads stderr through a pipe: no progress.
	run -0 oci-untar -C plain img:latest
	assert_output ""
	# script(1) gives it a terminal.
	run -0 script -qec "oci-untar -C shown img:latest" /dev/null
	assert_output --regexp $'oci-untar: sha256:[0-9a-f]{12} \\[=*'
	assert_output --partial ' / 3.0 MB'
	[[ "$output" == *$'\r\e[K' ]]
	cmp tree/big shown/big
	run -0 script -qec "oci-untar -C file -f img/blobs/sha256/$(oci-manifest --layers img:latest | jq -r .digest | cut -d: -f2)" /dev/null
	assert_output --partial 'oci-untar: layer ['
	run -0 script -qec "oci-untar -q -C quiet img:latest" /dev/null
	assert_output ""
	run -0 script -qec "oci-untar -v -C loud img:latest" /dev/null
	refute_output --partial $'\r\e[K'
}

@test "-v counts in the singular when there is one: 1 entry, not 1 entries" {
	mkdir -p one
	echo x >one/f
	tar -C one -cf one.tar f
	run -0 oci-untar -v -C out -f one.tar
	assert_output --partial "oci-untar: 1 entry (whiteouts: 0)"
	refute_output --partial "1 entries"
}
