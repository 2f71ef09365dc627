#!/usr/bin/env bats
# oci-commit: a directory becomes a new layer; umoci, skopeo and oci-image-tool judge the result.

bats_require_minimum_version 1.5.0
load helper
load commit_helper

teardown() {
	[ -z "${NOBODY_DIR:-}" ] || rm -rf "$NOBODY_DIR"
	[ -z "${IMMUTABLE:-}" ] || chattr -i "$IMMUTABLE"
}

# A tree with every kind of entry a layer can hold (needs root for owners and devices).
every_kind() {
	local d=$1 long
	long=$(printf 'n%.0s' $(seq 150))
	mkdir -p "$d/etc" "$d/bin" "$d/srv/$long/$long" "$d/empty"
	echo "hello" >"$d/etc/motd"
	printf '#!/bin/sh\necho hi\n' >"$d/bin/hi"
	chmod 755 "$d/bin/hi"
	cp "$d/bin/hi" "$d/bin/su" && chmod 4755 "$d/bin/su"
	cp "$d/bin/hi" "$d/bin/wall" && chmod 2711 "$d/bin/wall"
	mkdir -p "$d/tmp" && chmod 1777 "$d/tmp"
	ln -s ../etc/motd "$d/bin/motd"
	ln -s /nowhere "$d/dangling"
	ln "$d/etc/motd" "$d/etc/motd.hard"
	ln "$d/etc/motd" "$d/srv/motd.hard"
	mkfifo "$d/srv/fifo"
	mknod "$d/srv/null" c 1 3
	mknod "$d/srv/loop9" b 7 9
	echo long >"$d/srv/$long/$long/$long"
	echo owned >"$d/srv/owned" && chown 1234:5678 "$d/srv/owned"
	chown 42:43 "$d/empty"
	printf 'caf\xc3\xa9' >"$d/srv/$(printf 'caf\xc3\xa9')"
	head -c 300000 /dev/urandom >"$d/srv/random"
	setfattr -n user.note -v kept "$d/etc/motd"
}

@test "usage: -h prints it, missing arguments are a usage error" {
	run -0 oci-commit -h
	assert_output --partial "usage: oci-commit"
	run -2 oci-commit
	assert_output --partial "usage:"
	run -2 oci-commit dir
	run -2 oci-commit dir L:t new extra
	run -2 oci-commit --bogus dir L:t
	# A NEWTAG that is no tag is a malformed argument (oci(7)): nothing is read.
	run -2 oci-commit dir L:t a/b
	assert_line --index 0 --partial "NEWTAG a/b: bad tag \"a/b\": a tag has no"
	assert_output --partial "usage: oci-commit"
	run -0 oci-commit --version
}

@test "FROM scratch: every kind of entry comes back from umoci unpack exactly" {
	every_kind tree
	run -0 oci-commit tree L:one
	assert_output --regexp '^\{"mediaType":"application/vnd.oci.image.manifest.v1\+json","digest":"sha256:[0-9a-f]{64}","size":[0-9]+\}$'
	accepted L one
	umoci unpack --image L:one b
	diff <(tree_list tree) <(tree_list b/rootfs)
	# the layer is a gzip'd tar, listed in the manifest and its diff_id in the config
	run -0 jq -r '.layers[0].mediaType' "$(manifest_of L one)"
	assert_output application/vnd.oci.image.layer.v1.tar+gzip
	layer=L/blobs/$(jq -r '.layers[0].digest | sub(":"; "/")' "$(manifest_of L one)")
	run -0 jq -r '.rootfs.diff_ids[0]' "$(config_of L one)"
	assert_output "sha256:$(gzip -dc "$layer" | sha256sum | cut -c1-64)"
	# this machine's platform, and one history entry
	run -0 jq -r '"\(.os)/\(.architecture) \(.history | length) \(.history[0].created_by)"' "$(config_of L one)"
	assert_output "linux/$(go_arch) 1 oci-commit"
	# numeric owners only, sorted entries
	run -0 tar -tvzf "$layer"
	refute_output --partial root
	[ "$(tar -tzf "$layer")" = "$(tar -tzf "$layer" | LC_ALL=C sort)" ]
}

go_arch() {
	case $(uname -m) in x86_64) echo amd64 ;; aarch64) echo arm64 ;; *) uname -m ;; esac
}

@test "on top of a umoci image: base layers kept, new layer on top, -m and NEWTAG" {
	umoci_image L base
	mkdir -p add/etc add/data
	echo changed >add/etc/hostname
	echo d >add/data/d
	run -0 oci-commit -m 'copy add /' add L:base next
	accepted L next
	accepted L base
	base_m=$(manifest_of L base) next_m=$(manifest_of L next)
	[ "$base_m" != "$next_m" ]
	# the base's layers, in order, then ours
	[ "$(jq -c '.layers[:3]' "$next_m")" = "$(jq -c '.layers' "$base_m")" ]
	run -0 jq -r '.layers | length' "$next_m"
	assert_output 4
	run -0 jq -r '"\(.rootfs.diff_ids | length) \(.history[-1].created_by) \(.config.Entrypoint[0])"' "$(config_of L next)"
	assert_output "4 copy add / /bin/hello"
	# what umoci sees is the base with our files over it
	umoci unpack --image L:base want
	cp -a add/. want/rootfs/
	umoci unpack --image L:next got
	diff <(tree_list want/rootfs) <(tree_list got/rootfs)
}

@test "IMAGE's own tag moves when there is no NEWTAG; the old manifest stays" {
	umoci_image L t
	old=$(manifest_of L t)
	mkdir add && echo x >add/x
	run -0 oci-commit add L:t
	[ "$(manifest_of L t)" != "$old" ]
	[ -f "$old" ]
	run -0 jq '.manifests | length' L/index.json
	assert_output 1
}

# An overlay upperdir, made by the kernel: lower = the base image's rootfs.
# Changes: a modified file, a new file, a deleted file, a directory replaced (opaque).
overlay_changes() {
	echo changed >m/etc/hostname
	echo added >m/etc/added
	rm m/bin/hello
	rm -rf m/data
	mkdir m/data
	echo fresh >m/data/fresh
}

@test "an overlay upperdir (root): whiteouts and opaque dirs stack to the merged view" {
	umoci_image L base
	umoci unpack --image L:base base
	mkdir up work m
	mount -t overlay overlay -o "lowerdir=base/rootfs,upperdir=up,workdir=work" m
	overlay_changes
	tree_list m >want
	umount m
	# the kernel's own marks are there: a 0:0 char device and an opaque xattr
	[ -c up/bin/hello ]
	run -0 getfattr -n trusted.overlay.opaque --only-values up/data
	assert_output y
	run -0 oci-commit up L:base next
	accepted L next
	layer=L/blobs/$(jq -r '.layers[-1].digest | sub(":"; "/")' "$(manifest_of L next)")
	run -0 tar -tzf "$layer"
	assert_line bin/.wh.hello
	assert_line data/.wh..wh..opq
	# overlayfs' own xattrs (the opaque mark on data/) stay out of the pax records
	run -1 grep -ac overlay.opaque <(gzip -dc "$layer")
	umoci unpack --image L:next got
	diff want <(tree_list got/rootfs)
}

@test "an overlay upperdir made by nobody in a user namespace commits the same way" {
	umoci_image L base
	nobody_dir
	umoci unpack --image L:base "$NOBODY_DIR/base"
	chown -R nobody:nogroup "$NOBODY_DIR/base" && cp -a L "$NOBODY_DIR/L" && chown -R nobody:nogroup "$NOBODY_DIR/L"
	cd "$NOBODY_DIR"
	as_nobody unshare -mr sh -ec "
		mkdir up work m
		mount -t overlay overlay -o lowerdir=base/rootfs,upperdir=up,workdir=work,userxattr m
		cd m
		echo changed >etc/hostname; echo added >etc/added; rm bin/hello
		rm -rf data; mkdir data; echo fresh >data/fresh
		cd ..
		umount m"
	# the user namespace's whiteout and opaque mark: a 0:0 device and user.overlay.opaque
	[ -c up/bin/hello ]
	run -0 getfattr -n user.overlay.opaque --only-values up/data
	assert_output y
	run -0 as_nobody oci-commit up L:base next
	layer=L/blobs/$(jq -r '.layers[-1].digest | sub(":"; "/")' "$(manifest_of L next)")
	run -0 tar -tzf "$layer"
	assert_line bin/.wh.hello
	assert_line data/.wh..wh..opq
	run -1 grep -ac user.overlay <(gzip -dc "$layer")
	as_nobody umoci unpack --rootless --image L:next got
	mkdir -p want && cp -a base/rootfs/. want/
	rm -f want/bin/hello && rm -rf want/data && cp -a up/data want/ && cp up/etc/* want/etc/
	diff <(tree_list want --no-owners) <(tree_list got/rootfs --no-owners)
	accepted L next
}

@test "reproducible: the same tree twice, with SOURCE_DATE_EPOCH, gives the same digests" {
	every_kind a
	sleep 1
	cp -a a b
	touch b/etc/motd b/srv
	export SOURCE_DATE_EPOCH=1700000000
	run -0 oci-commit a L1:t
	one=$output
	run -0 oci-commit b L2:t
	assert_output "$one"
	cmp "$(config_of L1 t)" "$(config_of L2 t)"
	run -0 jq -r '.created, .history[0].created' "$(config_of L1 t)"
	assert_output $'2023-11-14T22:13:20Z\n2023-11-14T22:13:20Z'
	# the mtimes are clamped, never later than SOURCE_DATE_EPOCH
	layer=L1/blobs/$(jq -r '.layers[0].digest | sub(":"; "/")' "$(manifest_of L1 t)")
	run -0 tar --full-time -tvzf "$layer" etc/motd
	assert_output --partial "2023-11-14 22:13:20"
}

@test "a Docker-typed base becomes a consistent OCI image" {
	umoci_image L base
	# Rewrite the base with Docker schema2 media types, as a docker-made image has.
	m=$(manifest_of L base)
	jq -c '.mediaType = "application/vnd.docker.distribution.manifest.v2+json"
		| .config.mediaType = "application/vnd.docker.container.image.v1+json"
		| .layers[].mediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip"' "$m" >dm
	dd=$(sha256sum dm | cut -c1-64)
	cp dm "L/blobs/sha256/$dd"
	jq -c --arg d "sha256:$dd" --argjson s "$(stat -c %s dm)" \
		'.manifests += [{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":$d,"size":$s,"annotations":{"org.opencontainers.image.ref.name":"docker"}}]' \
		L/index.json >i && mv i L/index.json
	mkdir add && echo x >add/x
	run -0 oci-commit add L:docker
	assert_output --partial '"mediaType":"application/vnd.oci.image.manifest.v1+json"'
	run -0 jq -r '.mediaType, .config.mediaType, (.layers[].mediaType)' "$(manifest_of L docker)"
	assert_output "$(printf '%s\n' application/vnd.oci.image.manifest.v1+json application/vnd.oci.image.config.v1+json \
		application/vnd.oci.image.layer.v1.tar+gzip application/vnd.oci.image.layer.v1.tar+gzip \
		application/vnd.oci.image.layer.v1.tar+gzip application/vnd.oci.image.layer.v1.tar+gzip)"
	accepted L docker
}

@test "hostile and broken input: exit 1, no blob, index.json untouched" {
	umoci_image L base
	cp L/index.json before
	blobs=$(ls L/blobs/sha256 | sort)
	# a name that would read as a whiteout
	mkdir -p wh/etc && touch wh/etc/.wh.motd
	run -1 oci-commit wh L:base
	assert_output --partial ".wh.motd"
	# a layout the failed commit made is not left behind
	run -1 oci-commit wh fresh:t
	assert_output --partial ".wh.motd"
	[ ! -e fresh ]
	# the layout inside the tree it commits
	mkdir -p self && cp -a L self/L
	run -1 oci-commit self self/L:base
	assert_output --partial "layout"
	# not a directory, missing
	run -1 oci-commit before L:base
	run -1 oci-commit missing L:base
	run -1 oci-commit missing new:t
	[ ! -e new ]
	# a base that is not an image, a directory that is not a layout
	mkdir -p ok && echo x >ok/x
	run -1 oci-commit ok L@sha256:0000000000000000000000000000000000000000000000000000000000000000
	run -1 oci-commit ok wh:t
	assert_output --partial "not an OCI layout"
	[ ! -e wh/index.json ]
	run -1 env SOURCE_DATE_EPOCH=yesterday oci-commit ok L:base
	assert_output --partial SOURCE_DATE_EPOCH
	# a date past the year 9999 has no RFC 3339 form (it used to crash)
	run -1 env SOURCE_DATE_EPOCH=99999999999999999 oci-commit ok L:base
	assert_output --partial SOURCE_DATE_EPOCH
	cmp before L/index.json
	[ "$(ls L/blobs/sha256 | sort)" = "$blobs" ]
	[ -z "$(find L -name '.tmp-*')" ]
}

@test "an unreadable file fails the commit and leaves no layout and no temporary blob" {
	nobody_dir
	mkdir -p "$NOBODY_DIR/tree" && echo secret >"$NOBODY_DIR/tree/secret" && chmod 600 "$NOBODY_DIR/tree/secret"
	cd "$NOBODY_DIR" && chown nobody:nogroup tree && chown root:root tree/secret
	run -1 as_nobody oci-commit tree L:t
	assert_output --partial "layer from tree: secret: Permission denied"
	# the layout this commit made is gone with it, temporary blob and all
	[ ! -e L ]
}

@test "when index.json cannot be replaced, the layer, config and manifest it wrote are removed again" {
	umoci_image L t
	mkdir tree && echo new >tree/file
	blobs=$(ls L/blobs/sha256)
	# an immutable index.json (chattr +i) cannot be renamed over: the last step fails
	chattr +i L/index.json 2>/dev/null || skip "this file system has no immutable flag"
	IMMUTABLE=$T/L/index.json
	run -1 oci-commit tree L:t
	assert_output --partial "rename L/index.json"
	assert_equal "$(ls L/blobs/sha256)" "$blobs"
	run -0 find L -name '.*'
	assert_output ""
}

@test "streams: a 300 MB tree is committed in bounded memory" {
	mkdir big
	truncate -s 300M big/sparse
	head -c 20000000 /dev/urandom >big/random
	run -0 python3 -c '
import resource, subprocess, sys
subprocess.run(["oci-commit", "big", "L:big"], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)'
	echo "max RSS: $output MB"
	[ "$output" -lt 120 ]
	layer=L/blobs/$(jq -r '.layers[0].digest | sub(":"; "/")' "$(manifest_of L big)")
	run -0 jq -r '.rootfs.diff_ids[0]' "$(config_of L big)"
	assert_output "sha256:$(gzip -dc "$layer" | sha256sum | cut -c1-64)"
}

@test "progress: one line on a terminal, erased when the layer is written; nothing on a pipe, or with -q" {
	mkdir -p tree
	head -c 3000000 /dev/urandom >tree/big
	run -0 oci-commit tree plain:latest
	assert_output --regexp '^\{"mediaType":[^'$'\r'']*\}$'
	run -0 script -qec "oci-commit tree shown:latest 2>&1 >/dev/null" /dev/null
	assert_output --regexp 'oci-commit: layer from tree [0-9.]+ [kM]B'
	[[ "$output" == *$'\r\e[K' ]]
	run -0 script -qec "oci-commit -q tree quiet:latest 2>&1 >/dev/null" /dev/null
	assert_output ""
	# The progress changes nothing: the same layer.
	[ "$(oci-config plain:latest | jq -r '.rootfs.diff_ids[0]')" = "$(oci-config shown:latest | jq -r '.rootfs.diff_ids[0]')" ]
}
