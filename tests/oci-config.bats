#!/usr/bin/env bats
# oci-config: config edits in a new config and manifest, recorded in history as buildah does.

bats_require_minimum_version 1.5.0
load helper
load commit_helper

# The runtime settings of TAG's config, read as index.json → manifest → config.
settings() {
	jq -c "${2:-.config}" "$(config_of L "$1")"
}

@test "usage: -h prints it, a missing IMAGE or a malformed KEY=VALUE is a usage error" {
	run -0 oci-config -h
	assert_output --partial "usage: oci-config"
	run -2 oci-config
	run -2 oci-config L:a L:b
	run -2 oci-config --bogus L:a
	run -2 oci-config L:a --env NOEQUALS
	assert_output --partial "NOEQUALS"
	run -2 oci-config L:a --label =v
	run -2 oci-config -t 'no:tag' L:a
	assert_line --index 0 --partial "-t no:tag: bad tag \"no:tag\""
	assert_output --partial "usage: oci-config"
	run -0 oci-config --version
}

@test "without changes it prints the config's exact bytes" {
	umoci_image L t
	oci-config L:t >out
	cmp out "$(config_of L t)"
	[ "$(oci-config L:t | sha256sum | cut -c1-64)" = "$(jq -r .config.digest "$(manifest_of L t)" | cut -c8-)" ]
}

@test "--env sets and replaces, --unset-env removes; each change is a history entry with empty_layer" {
	umoci_image L t
	layers=$(jq -c .layers "$(manifest_of L t)")
	hist=$(settings t '.history | length')
	run -0 oci-config L:t --env GREETING=yo --env IMAGE=curl
	assert_output --regexp '^\{"mediaType":"application/vnd.oci.image.manifest.v1\+json","digest":"sha256:[0-9a-f]{64}","size":[0-9]+\}$'
	[ "$(settings t .config.Env)" = '["GREETING=yo","IMAGE=curl"]' ]
	run -0 settings t '.history[-2:]'
	assert_output --regexp '"created_by":"/bin/sh -c #\(nop\) ENV GREETING=yo","empty_layer":true'
	assert_output --regexp '"created_by":"/bin/sh -c #\(nop\) ENV IMAGE=curl","empty_layer":true'
	[ "$(settings t '.history | length')" = $((hist + 2)) ]
	# no new layer: same layers, same diff_ids
	[ "$(jq -c .layers "$(manifest_of L t)")" = "$layers" ]
	run -0 oci-config L:t --unset-env GREETING
	[ "$(settings t .config.Env)" = '["IMAGE=curl"]' ]
	run -0 settings t '.history[-1].created_by'
	assert_output '"/bin/sh -c #(nop) ENV GREETING-"'
	accepted L t
	# umoci's runtime bundle carries the new environment
	umoci unpack --image L:t b
	run -0 jq -c .process.env b/config.json
	assert_output --partial '"IMAGE=curl"'
	refute_output --partial GREETING
}

@test "--entrypoint and --cmd: repeated ARGs, the JSON form of the article, '' clears" {
	umoci_image L t
	run -0 oci-config L:t --entrypoint /bin/sh --entrypoint -c --cmd 'echo hi'
	[ "$(settings t .config.Entrypoint)" = '["/bin/sh","-c"]' ]
	[ "$(settings t .config.Cmd)" = '["echo hi"]' ]
	run -0 settings t '.history[-2].created_by'
	assert_output '"/bin/sh -c #(nop) ENTRYPOINT [\"/bin/sh\",\"-c\"]"'
	run -0 oci-config L:t --entrypoint '["/bin/sh"]'
	run -0 oci-config L:t --cmd '["-c", "/usr/bin/curl --version"]'
	[ "$(settings t .config.Entrypoint)" = '["/bin/sh"]' ]
	[ "$(settings t .config.Cmd)" = '["-c","/usr/bin/curl --version"]' ]
	umoci unpack --image L:t b
	run -0 jq -c .process.args b/config.json
	assert_output '["/bin/sh","-c","/usr/bin/curl --version"]'
	run -0 oci-config L:t --entrypoint ''
	[ "$(settings t .config.Entrypoint)" = null ]
	run -1 oci-config L:t --cmd '[1, 2]'
	assert_output --partial "not an array of strings"
	accepted L t
}

@test "--workdir, --user, --label, --unset-label; -t tags the result elsewhere" {
	umoci_image L t
	old=$(manifest_of L t)
	run -0 oci-config -t edited L:t --workdir /srv --user 1000:1000 --label a=1 --label b=2 --unset-label a
	[ "$(manifest_of L t)" = "$old" ]
	run -0 settings edited '[.config.WorkingDir, .config.User, .config.Labels]'
	assert_output '["/srv","1000:1000",{"b":"2"}]'
	run -0 settings edited '[.history[-5:][].created_by]'
	assert_output '["/bin/sh -c #(nop) WORKDIR /srv","/bin/sh -c #(nop) USER 1000:1000","/bin/sh -c #(nop) LABEL a=1","/bin/sh -c #(nop) LABEL b=2","/bin/sh -c #(nop) LABEL a-"]'
	run -0 skopeo inspect oci:L:edited
	assert_output --partial '"b": "2"'
	accepted L edited
	run -0 oci-config L:edited --workdir ''
	[ "$(settings edited .config.WorkingDir)" = null ]
}

@test "SOURCE_DATE_EPOCH makes the same edit give the same digest" {
	umoci_image L t
	cp -a L L2
	export SOURCE_DATE_EPOCH=1700000000
	run -0 oci-config L:t --env A=1
	one=$output
	run -0 oci-config L2:t --env A=1
	assert_output "$one"
	run -0 settings t '.history[-1].created'
	assert_output '"2023-11-14T22:13:20Z"'
}

@test "a missing image, layout or tag fails with exit 1 and changes nothing" {
	umoci_image L t
	cp L/index.json before
	run -1 oci-config L:nope --env A=1
	assert_output --partial 'no tag "nope"'
	run -1 oci-config nowhere:t --env A=1
	[ ! -e nowhere ]
	run -1 oci-config L:nope
	run -1 env SOURCE_DATE_EPOCH=-5 oci-config L:t --env A=1
	run -1 env SOURCE_DATE_EPOCH=99999999999999999 oci-config L:t --env A=1
	assert_output --partial SOURCE_DATE_EPOCH
	cmp before L/index.json
	[ -z "$(find L -name '.tmp-*')" ]
}

@test "--scratch: a missing image is an empty one, as buildah from scratch; an existing one is used" {
	run -0 oci-config --scratch S:latest --workdir /app
	run -0 oci-manifest --layers S:latest
	assert_output ""
	run -0 oci-config S:latest
	run -0 jq -c '[.config.WorkingDir, .rootfs.diff_ids, .os, (.history | length)]' <<<"$output"
	assert_output '["/app",[],"linux",1]'
	# image-spec 1.1 allows a manifest without layers (layers SHOULD have one):
	# skopeo and umoci read it (oci-image-tool checks against 1.0's schema).
	run -0 skopeo inspect oci:S:latest
	run -0 umoci stat --image S:latest
	# An existing image is the base, not replaced.
	umoci_image L t
	run -0 oci-config --scratch L:t --env A=1
	run -0 oci-manifest --layers L:t
	[ "${#lines[@]}" -eq 3 ]
	# With no change, it still makes the empty image (a Containerfile's FROM scratch).
	run -0 oci-config -q --scratch E:latest
	run -0 oci-index E:latest
	# Without --scratch a missing image stays an error.
	run -1 oci-config nowhere:t --env A=1
	[ ! -e nowhere ]
}

@test "a value that is not UTF-8 is refused with what is wrong in it, and changes nothing" {
	umoci_image L t
	cp L/index.json before
	blobs=$(ls L/blobs/sha256)
	run -1 oci-config L:t --env "A=$(printf 'b\xffc')"
	assert_output "oci-config: Env: byte 4 (0xff) is not UTF-8, and a config's strings are JSON, which is UTF-8"
	run -1 oci-config L:t --cmd "$(printf '\xc0\xaf')"
	assert_output --partial "Cmd: byte 1 (0xc0) is not UTF-8"
	run -1 oci-config L:t --label "k=$(printf '\xed\xa0\x80')"
	assert_output --partial "Labels: byte 3 (0xed) is not UTF-8"
	run -1 oci-config L:t --workdir "$(printf '/\xf5')"
	assert_output --partial "WorkingDir: byte 2"
	cmp before L/index.json
	assert_equal "$(ls L/blobs/sha256)" "$blobs"
	# UTF-8 itself is of course fine
	run -0 oci-config L:t --label "k=café"
}

@test "the article by hand: from, config --env, copy, run, config --entrypoint, --cmd, commit" {
	umoci_image L alpine
	# buildah from alpine:latest: the container's rootfs and an empty upperdir
	umoci unpack --image L:alpine base
	run -0 oci-config -t curl L:alpine --env IMAGE=curl
	# buildah copy ./config-file /
	mkdir copy && echo 'setting=1' >copy/config-file
	run -0 oci-commit -m 'COPY config-file /' copy L:curl
	# buildah run: a change made through an overlay mount, committed from its upperdir
	mkdir up work m
	mount -t overlay overlay -o "lowerdir=base/rootfs,upperdir=up,workdir=work" m
	mkdir -p m/usr/bin && printf '#!/bin/sh\necho curl 8\n' >m/usr/bin/curl && chmod 755 m/usr/bin/curl
	rm m/etc/hostname
	umount m
	run -0 oci-commit -m '/bin/sh -c apk add curl' up L:curl
	run -0 oci-config L:curl --entrypoint '["/bin/sh"]'
	run -0 oci-config L:curl --cmd '["-c", "/usr/bin/curl --version"]'
	accepted L curl
	run -0 settings curl '[.config.Env, .config.Entrypoint, .config.Cmd, (.rootfs.diff_ids | length)]'
	assert_output '[["GREETING=hi","IMAGE=curl"],["/bin/sh"],["-c","/usr/bin/curl --version"],5]'
	umoci unpack --image L:curl final
	[ "$(cat final/rootfs/config-file)" = setting=1 ]
	[ -x final/rootfs/usr/bin/curl ]
	[ ! -e final/rootfs/etc/hostname ]
	[ -f final/rootfs/etc/new ]
}
