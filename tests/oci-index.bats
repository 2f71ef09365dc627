#!/usr/bin/env bats
# oci-index: index.json's entries, tags, platforms, the tree, and tagging,
# on layouts that umoci and skopeo made; jq and skopeo are the oracles.

load helper
load layouts_helper

# setup_file builds the layouts in $F (layouts_helper.bash); teardown_file stops the registry.

# ---- usage ----

@test "-h prints the usage on stdout and exits 0; --version" {
	help_and_version oci-index "--tag TAG LAYOUT"
}

@test "usage errors exit 2" {
	run -2 oci-index
	assert_output --partial "usage:"
	run -2 oci-index "$F/um" "$F/multi"
	run -2 oci-index --bogus "$F/um"
	run -2 oci-index --tag a --untag b "$F/um"
	run -2 oci-index -p linux "$F/um"
	assert_output --partial 'bad platform "linux"'
	run -2 oci-index -p linux/amd64/v8/x "$F/um"
	run -2 oci-index -p linux/amd64 --init "$T/new"
	run -2 oci-index --tag x
}

# ---- known answers, against jq ----

@test "LAYOUT prints every entry of index.json, as jq reads them" {
	for l in um multi dock nested; do
		run -0 oci-index "$F/$l"
		assert_output "$(jq -c '.manifests[]' "$F/$l/index.json")"
	done
	[ "$(oci-index "$F/multi" | wc -l)" -eq 2 ]
}

@test "IMAGE by tag and by digest prints that entry" {
	run -0 oci-index "$F/um:latest"
	assert_output "$(entry "$F/um" latest)"
	run -0 oci-index "$F/um:v1"
	assert_output "$(entry "$F/um" v1)"
	run -0 oci-index "$F/dock:latest"
	assert_output "$(entry "$F/dock" latest)"
	d=$(jq -r '.manifests[0].digest' "$F/multi/index.json")
	run -0 oci-index "$F/multi@$d"
	assert_output "$(jq -c '.manifests[0]' "$F/multi/index.json")"
}

@test "an entry skopeo copy wrote for the registry is the one skopeo inspect --raw reads" {
	d=$(oci-index "$F/multi:multi" | jq -r .digest)
	skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/multi:latest" >"$T/raw"
	[ "sha256:$(hex_of "$T/raw")" = "$d" ]
	d=$(oci-index "$F/um:latest" | jq -r .digest)
	skopeo inspect --raw "oci:$F/um:latest" >"$T/raw"
	[ "sha256:$(hex_of "$T/raw")" = "$d" ]
}

@test "a full reference in ref.name is found by its tag when only one ends so" {
	run -0 oci-index "$F/multi:latest"
	assert_output "$(entry "$F/multi" docker.io/library/busybox:latest)"
	copy_layout multi
	d=$(jq -c '.manifests[1]' "$F/multi/index.json")
	jq -c --argjson d "$d" --arg rn "$REF_NAME" '.manifests += [$d | .annotations[$rn] = "quay.io/other/busybox:latest"]' \
		"$F/multi/index.json" >"$T/multi/index.json"
	run -1 oci-index "$T/multi:latest"
	assert_output --partial 'tag "latest" is ambiguous'
}

@test "an unknown tag or digest exits 1, naming the tags there are; a malformed digest is a usage error" {
	run -1 oci-index "$F/um:nope"
	assert_output "oci-index: no tag \"nope\" in $F/um/index.json (tags: latest, v1)"
	run -1 oci-index "$F/um@sha256:$(printf '%064d' 0)"
	assert_output --partial "no manifest sha256:000000000000 in"
	run -2 --separate-stderr oci-index "$F/um@sha256:zz"
	[ -z "$output" ]
	[[ "$stderr" == "oci-index: image \"$F/um@sha256:zz\": bad digest \"sha256:zz\": "* ]]
	[[ "$stderr" == *"usage: oci-index"* ]]
}

@test "-p follows the index to the platform's manifest, as jq picks it" {
	d=$(oci-index "$F/multi:multi" | jq -r .digest)
	idx=$(blob "$F/multi" "$d")
	for p in linux/arm64 linux/arm64/v8; do
		run -0 oci-index -p $p "$F/multi:multi"
		assert_output "$(jq -c '.manifests[] | select(.platform.architecture == "arm64")' "$idx")"
	done
	# amd64 written with no variant is v1
	for p in linux/amd64 linux/amd64/v1; do
		run -0 oci-index -p $p "$F/multi:multi"
		assert_output "$(jq -c '.manifests[] | select(.platform.architecture == "amd64")' "$idx")"
	done
	# a tag of one manifest is checked against its config's platform
	run -0 oci-index -p linux/amd64 "$F/um:latest"
	assert_output "$(entry "$F/um" latest)"
	run -1 oci-index -p linux/arm64 "$F/um:latest"
	assert_output --regexp "manifest sha256:[0-9a-f]{12} is an image for linux/amd64, not linux/arm64$"
	run -1 oci-manifest -p linux/arm64 "$F/um:latest"
	assert_output --partial "is an image for linux/amd64, not linux/arm64"
}

@test "-p with no variant, or one the index lacks, chooses as containerd does, not by file order" {
	copy_layout um
	read -r d s < <(jq -r '.manifests[0] | "\(.digest) \(.size)"' "$T/um/index.json")
	m() { printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"platform":{"architecture":"%s","os":"linux"%s},"annotations":{"n":"%s"}}' \
		"$d" "$s" "$1" "${2:+,\"variant\":\"$2\"}" "$3"; }
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s,%s,%s,%s,%s]}' \
		"$(m arm v5 arm5)" "$(m arm v6 arm6)" "$(m arm v7 arm7)" "$(m arm64 "" arm64)" "$(m arm64 v8 arm64v8)" >"$T/idx.json"
	read -r i n < <(put_blob "$T/um" "$T/idx.json")
	add_entry "$T/um" application/vnd.oci.image.index.v1+json "$i" "$n" multi
	pick() { oci-index -p "$1" "$T/um:multi" | jq -r .annotations.n; }
	# arm with no variant is arm/v7, though v5 and v6 come first
	assert_equal "$(pick linux/arm)" arm7
	# arm/v8 runs v7 (and v6, v5): the newest of those the index has
	assert_equal "$(pick linux/arm/v8)" arm7
	assert_equal "$(pick linux/arm/v6)" arm6
	# arm64 with no variant is arm64/v8: the first of the two entries that say so
	assert_equal "$(pick linux/arm64)" arm64
	run -1 oci-index -p linux/arm/v4 "$T/um:multi"
	run -1 oci-index -p linux/amd64/v2 "$T/um:multi"
}

@test "-p on a Docker manifest list and through a nested index" {
	d=$(oci-index "$F/dock:latest" | jq -r .digest)
	run -0 oci-index -p linux/arm64/v8 "$F/dock:latest"
	assert_output "$(jq -c '.manifests[] | select(.platform.architecture == "arm64")' "$(blob "$F/dock" "$d")")"
	assert_output --partial '"mediaType":"application/vnd.docker.distribution.manifest.v2+json"'
	d=$(oci-index "$F/multi:multi" | jq -r .digest)
	run -0 oci-index -p linux/arm64 "$F/nested:nested"
	assert_output "$(jq -c '.manifests[] | select(.platform.architecture == "arm64")' "$(blob "$F/multi" "$d")")"
}

@test "-p for a platform the index lacks exits 1 and says which it has" {
	run -1 oci-index -p linux/arm64/v7 "$F/multi:multi"
	assert_output --regexp 'no manifest for linux/arm64/v7 \(it has: linux/amd64, linux/arm64/v8\)$'
	run -1 oci-index -p windows/amd64 "$F/dock:latest"
	assert_output --partial "no manifest for windows/amd64"
}

@test "-v narrates in the specs' words" {
	d=$(jq -r '.manifests[0].digest' "$F/um/index.json")
	s=$(jq -r '.manifests[0].size' "$F/um/index.json")
	run -0 --separate-stderr oci-index -v "$F/um:latest"
	[ "$stderr" = "oci-index: index.json: tag latest → manifest ${d:0:19} ($s bytes)" ]
	run -0 --separate-stderr oci-index -v -p linux/arm64 "$F/nested:nested"
	[[ $stderr == *"→ index "*"linux/arm64 → manifest sha256:"*"→ config sha256:"*", 0 layers" ]]
}

# ---- --tree ----

@test "--tree draws the umoci image as tree(1) would, ASCII in the C locale" {
	m=$(entry "$F/um" latest | jq -r .digest)
	mf=$(blob "$F/um" "$m")
	c=$(jq -r .config.digest "$mf")
	mapfile -t L < <(jq -r '.layers[] | "\(.digest[0:19]) (\(.size) B)"' "$mf")
	expected="$F/um
|-- manifest ${m:0:19} ($(stat -c %s "$mf") B) tag latest
|   |-- config ${c:0:19} ($(stat -c %s "$(blob "$F/um" "$c")") B)
|   |-- layer tar+gzip ${L[0]}
|   |-- layer tar+gzip ${L[1]}
|   \`-- layer tar+gzip ${L[2]}
\`-- manifest ${m:0:19} ($(stat -c %s "$mf") B) tag v1 (shown above)"
	LC_ALL=C run -0 oci-index --tree "$F/um"
	assert_output "$expected"
}

@test "--tree draws indexes, platforms and Docker types with box lines in a UTF-8 locale" {
	LC_ALL=C.UTF-8 run -0 oci-index --tree "$F/dock:latest"
	assert_line --index 0 "$F/dock:latest"
	assert_line --index 1 --regexp '^└── docker manifest list sha256:[0-9a-f]{12} \([0-9]+ B\) tag latest$'
	assert_line --index 2 --regexp '^    ├── docker manifest sha256:[0-9a-f]{12} \([0-9]+ B\) linux/amd64$'
	assert_line --index 3 --regexp '^    │   ├── docker config sha256:'
	assert_line --index 6 --regexp '^    │   └── docker layer tar\+gzip sha256:'
	assert_line --index 7 --regexp '^    └── docker manifest sha256:[0-9a-f]{12} \([0-9]+ B\) linux/arm64/v8$'
	assert_line --index 8 --regexp '^        └── docker config sha256:'
	[ "${#lines[@]}" -eq 9 ]
	LC_ALL=C.UTF-8 run -0 oci-index -p linux/arm64 --tree "$F/nested:nested"
	assert_line --index 1 --regexp '^└── manifest sha256:[0-9a-f]{12} \(192 B\) linux/arm64/v8$'
}

@test "--tree shows sizes in human units" {
	copy_layout um
	m=$(entry "$T/um" latest | jq -r .digest)
	head -c 2500000 /dev/zero >"$T/big"
	read -r layer s < <(put_blob "$T/um" "$T/big")
	jq --arg d "$layer" --argjson s "$s" '.layers[0] += {digest: $d, size: $s}' "$(blob "$T/um" "$m")" >"$T/m.json"
	read -r d s < <(put_blob "$T/um" "$T/m.json")
	add_entry "$T/um" application/vnd.oci.image.manifest.v1+json "$d" "$s" big
	LC_ALL=C run -0 oci-index --tree "$T/um:big"
	assert_line --index 1 "\`-- manifest ${d:0:19} ($s B) tag big"
	assert_line --index 3 "    |-- layer tar+gzip ${layer:0:19} (2.5 MB)"
}

@test "--tree marks a missing blob, goes on, and exits 1" {
	copy_layout multi
	arm=$(oci-index -p linux/arm64 "$T/multi:multi" | jq -r .digest)
	rm "$(blob "$T/multi" "$arm")"
	LC_ALL=C run -1 --separate-stderr oci-index --tree "$T/multi"
	assert_line --regexp "^\|   \`-- manifest ${arm:0:19} \(192 B\) linux/arm64/v8$"
	assert_line --regexp "^\|       \`-- ! blob ${arm:0:19} is missing from "
	assert_line --partial "layer tar+gzip"
	assert_line --index -1 --partial "(shown above)"
	[ "$stderr" = "oci-index: blob ${arm:0:19} is missing from $T/multi" ]
	LC_ALL=C.UTF-8 run -1 oci-index --tree "$T/multi"
	assert_line --regexp "^│       └── ✗ blob ${arm:0:19} is missing from "
}

# ---- --init, --tag, --untag ----

@test "--init makes an empty layout that skopeo and umoci read; again is a no-op" {
	run -0 oci-index --init "$T/new/l"
	assert_output ""
	assert_file_exists "$T/new/l/oci-layout"
	run -0 jq -c . "$T/new/l/index.json"
	assert_output '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'
	run -0 umoci ls --layout "$T/new/l"
	assert_output ""
	run -0 oci-index --init "$T/new/l"
	run -0 oci-index "$T/new/l"
	assert_output ""
}

@test "--init refuses a directory that holds other things" {
	mkdir "$T/d" && echo keep >"$T/d/file"
	run -1 oci-index --init "$T/d"
	assert_output --partial "not an empty directory or an OCI layout"
	assert_file_not_exists "$T/d/oci-layout"
}

@test "--tag tags a descriptor read on stdin; skopeo and umoci see it" {
	copy_layout um
	oci-index "$T/um:latest" | oci-index --tag copy "$T/um"
	run -0 umoci ls --layout "$T/um"
	assert_line copy
	assert_line latest
	skopeo inspect --raw "oci:$T/um:copy" >"$T/raw"
	cmp "$T/raw" "$(blob "$T/um" "$(entry "$T/um" copy | jq -r .digest)")"
	# the new entry is the old one with a new ref.name
	[ "$(entry "$T/um" copy | jq -c 'del(.annotations)')" = "$(entry "$T/um" latest | jq -c 'del(.annotations)')" ]
}

@test "--tag replaces that tag; a platform's manifest can be tagged" {
	copy_layout multi
	oci-index -p linux/arm64 "$T/multi:multi" | oci-index -v --tag multi "$T/multi"
	run -0 jq --arg rn "$REF_NAME" '[.manifests[] | select(.annotations[$rn] == "multi")] | length' "$T/multi/index.json"
	assert_output 1
	run -0 skopeo inspect "oci:$T/multi:multi"
	[ "$(jq -r .Architecture <<<"$output")" = arm64 ]
	skopeo inspect --raw "oci:$T/multi:multi" >"$T/raw"
	cmp "$T/raw" <(oci-manifest "$T/multi:multi")
}

@test "--tag into a layout built only by oci-index; skopeo copies from it" {
	oci-index --init "$T/l"
	cp "$F/um/blobs/sha256/"* "$T/l/blobs/sha256/"
	oci-index "$F/um:latest" | oci-index --tag first "$T/l"
	oci-index "$F/um:latest" | oci-index --tag second "$T/l"
	run -0 umoci ls --layout "$T/l"
	assert_output "$(printf 'first\nsecond')"
	run -0 skopeo copy -q "oci:$T/l:second" "oci:$T/copy:x"
	[ "$(entry "$T/copy" x | jq -r .digest)" = "$(entry "$F/um" latest | jq -r .digest)" ]
	run -0 oci-image-tool validate --type image --ref name=second "$T/l"
}

@test "--tag refuses what would break the layout" {
	copy_layout um
	before=$(cat "$T/um/index.json")
	oci-index --init "$T/empty"
	run -1 oci-index --tag x "$T/empty" < <(oci-index "$F/um:latest")
	assert_output --partial "is missing from $T/empty"
	run -1 oci-index --tag 'a/b' "$T/um" < <(oci-index "$F/um:latest")
	assert_output --partial 'bad tag "a/b"'
	run -1 oci-index --tag x "$T/um" </dev/null
	assert_output "oci-index: stdin: no descriptor to tag"
	run -1 oci-index --tag x "$T/um" < <(oci-index "$F/um")
	assert_output --partial "more than one descriptor"
	run -1 oci-index --tag x "$T/um" <<<'{"mediaType":'
	assert_output --partial "not JSON"
	run -1 oci-index --tag x "$T/um" < <(oci-index "$F/um:latest" | jq -c '.size += 1')
	assert_output --partial "size mismatch"
	run -1 oci-index --tag x "$T/um" < <(oci-manifest --layers "$F/um:latest" | head -1)
	assert_output --regexp 'stdin: layer tar\+gzip sha256:[0-9a-f]{12} is not a manifest or an index$'
	[ "$(cat "$T/um/index.json")" = "$before" ]
}

@test "--untag removes a tag; umoci and skopeo read what is left" {
	copy_layout um
	run -0 oci-index --untag v1 "$T/um"
	run -0 umoci ls --layout "$T/um"
	assert_output latest
	run -0 skopeo inspect --raw "oci:$T/um:latest"
	run -1 skopeo inspect --raw "oci:$T/um:v1"
	run -1 oci-index --untag v1 "$T/um"
	assert_output --partial 'no tag "v1" to remove'
}

@test "many --tag writers at once never lose a tag" {
	copy_layout um
	oci-index "$F/um:latest" >"$T/desc"
	for i in $(seq 40); do
		oci-index --tag "t$i" "$T/um" <"$T/desc" &
	done
	wait
	run -0 jq -r --arg rn "$REF_NAME" '.manifests[].annotations[$rn]' "$T/um/index.json"
	for i in $(seq 40); do
		assert_line "t$i"
	done
	[ "${#lines[@]}" -eq 42 ]
	run -0 find "$T/um" -maxdepth 1 -name '.*tmp*'
	assert_output ""
	run -0 umoci ls --layout "$T/um"
	# and as many removing at once
	for i in $(seq 2 2 40); do
		oci-index --untag "t$i" "$T/um" &
	done
	wait
	[ "$(oci-index "$T/um" | wc -l)" -eq 22 ]
}

# ---- what is not a good layout ----

@test "not a layout, or no such directory" {
	run -1 oci-index "$T"
	assert_output "oci-index: $T is not an OCI layout: oci-layout: No such file or directory"
	run -1 oci-index "$T/nothing:latest"
	assert_output --partial "$T/nothing"
	echo '{"imageLayoutVersion":' >"$T/oci-layout"
	run -1 oci-index "$T"
	assert_output --partial "not an OCI layout"
}

@test "index.json truncated, not an index, or too big" {
	copy_layout um
	head -c 100 "$F/um/index.json" >"$T/um/index.json"
	run -1 oci-index "$T/um"
	assert_output --partial "$T/um/index.json: not valid JSON"
	echo '{"schemaVersion":2,"config":{},"layers":[]}' >"$T/um/index.json"
	run -1 oci-index "$T/um"
	assert_output --partial "index.json"
	echo '{"schemaVersion":2,"manifests":[],"layers":[]}' >"$T/um/index.json"
	run -1 oci-index "$T/um"
	assert_output --partial 'both "manifests" and "layers"'
	{
		jq -c . "$F/um/index.json" | sed 's/}$/,"annotations":{"pad":"/' | tr -d '\n'
		head -c 4200000 /dev/zero | tr '\0' x
		echo '"}}'
	} >"$T/um/index.json"
	run -1 oci-index "$T/um"
	assert_output --partial "at most 4194304 bytes"
	rm "$T/um/index.json"
	run -1 oci-index "$T/um"
	assert_output --partial "index.json: No such file or directory"
}

@test "a hostile digest in index.json never becomes a path" {
	copy_layout um
	jq -c '.manifests[0].digest = "sha256:../../../../etc/passwd"' "$F/um/index.json" >"$T/um/index.json"
	run -1 oci-index "$T/um:latest"
	run -1 oci-index -p linux/amd64 "$T/um:latest"
	assert_output --partial "digest"
	LC_ALL=C.UTF-8 run -1 oci-index --tree "$T/um"
	assert_output --partial "✗"
}

@test "a document whose bytes do not match its digest" {
	copy_layout multi
	d=$(oci-index "$T/multi:multi" | jq -r .digest)
	f=$(blob "$T/multi" "$d")
	chmod u+w "$f"
	sed -i 's/arm64/arm65/' "$f"
	run -1 oci-index -p linux/arm64 "$T/multi:multi"
	assert_output --partial "digest mismatch: expected $d, got sha256:"
}
