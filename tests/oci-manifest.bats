#!/usr/bin/env bats
# oci-manifest: a manifest's exact bytes, its config, its layers, on layouts
# that umoci and skopeo made; skopeo inspect --raw and jq are the oracles.

load helper
load layouts_helper

# setup_file builds the layouts in $F (layouts_helper.bash); teardown_file stops the registry.

# put_doc LAYOUT FILE MEDIATYPE TAG: FILE becomes a blob, tagged in index.json
put_doc() {
	local d s
	read -r d s < <(put_blob "$1" "$2")
	add_entry "$1" "$3" "$d" "$s" "$4"
}

# refused NAME MEDIATYPE MESSAGE [OPTION]: $T/NAME.json, tagged NAME in a
# copy of um with that media type, makes oci-manifest exit 1 saying MESSAGE
refused() {
	[ -d "$T/um" ] || copy_layout um
	put_doc "$T/um" "$T/$1.json" "$2" "$1"
	run -1 oci-manifest ${4:-} "$T/um:$1"
	assert_output --partial "$3"
}

MT_MANIFEST=application/vnd.oci.image.manifest.v1+json

# the platform manifest an index names, as jq picks it: pick INDEXFILE ARCH
pick() {
	jq -r --arg a "$2" '.manifests[] | select(.platform.architecture == $a) | .digest' "$1"
}

# ---- usage ----

@test "-h prints the usage on stdout and exits 0; usage errors exit 2" {
	run -0 oci-manifest -h
	assert_line --index 0 --partial "usage: oci-manifest"
	run -0 oci-manifest --version
	run -2 oci-manifest
	run -2 oci-manifest "$F/um:latest" "$F/um:v1"
	run -2 oci-manifest --config --layers "$F/um:latest"
	run -2 oci-manifest -p amd64 "$F/um:latest"
	run -2 oci-manifest --nope "$F/um:latest"
}

# ---- known answers ----

@test "IMAGE: the manifest's exact bytes, as skopeo inspect --raw reads them" {
	skopeo inspect --raw "oci:$F/um:latest" >"$T/raw"
	oci-manifest "$F/um:latest" >"$T/ours"
	cmp "$T/raw" "$T/ours"
	cmp "$T/ours" "$(blob "$F/um" "$(entry "$F/um" latest | jq -r .digest)")"
	d=$(entry "$F/um" latest | jq -r .digest)
	cmp "$T/ours" <(oci-manifest "$F/um@$d")
}

@test "--config: the config's exact bytes, as skopeo inspect --config --raw reads them" {
	skopeo inspect --config --raw "oci:$F/um:latest" >"$T/raw"
	oci-manifest --config "$F/um:latest" >"$T/ours"
	cmp "$T/raw" "$T/ours"
	run -0 jq -r '.config.Entrypoint[0]' "$T/ours"
	assert_output /bin/hello
}

@test "--layers: the layer descriptors, bottom first, as jq reads them" {
	run -0 oci-manifest --layers "$F/um:latest"
	assert_output "$(oci-manifest "$F/um:latest" | jq -c '.layers[]')"
	[ "${#lines[@]}" -eq 3 ]
	# the bottom layer is the one that has etc/motd
	tar tzf "$(blob "$F/um" "$(jq -r .digest <<<"${lines[0]}")")" | grep -qx etc/motd
}

@test "the pipeline: oci-index L:latest | oci-manifest L | jq .layers" {
	run -0 bash -c "oci-index '$F/um:latest' | oci-manifest '$F/um' | jq .layers"
	assert_output "$(jq .layers "$(blob "$F/um" "$(entry "$F/um" latest | jq -r .digest)")")"
	# several descriptors, one after the other
	run -0 bash -c "oci-index '$F/um' | oci-manifest --layers '$F/um'"
	[ "${#lines[@]}" -eq 6 ]
}

@test "a multi-platform index is followed to this machine's platform, or -p's" {
	skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/multi:latest" >"$T/index"
	for arch in amd64 arm64; do
		skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/multi@$(pick "$T/index" $arch)" >"$T/$arch"
		cmp "$T/$arch" <(oci-manifest -p linux/$arch "$F/multi:multi")
		cmp "$T/$arch" <(oci-manifest -p linux/$arch "$F/nested:nested")
	done
	cmp "$T/$(host_arch)" <(oci-manifest "$F/multi:multi")
	skopeo inspect --config --raw --tls-verify=false "docker://$REGISTRY/multi@$(pick "$T/index" arm64)" >"$T/config"
	cmp "$T/config" <(oci-manifest --config -p linux/arm64 "$F/multi:multi")
	run -0 oci-manifest --layers -p linux/arm64 "$F/multi:multi"
	assert_output ""
	run -1 oci-manifest -p linux/s390x "$F/multi:multi"
	assert_output --partial "no manifest for linux/s390x (it has: linux/amd64, linux/arm64/v8)"
}

@test "a full reference in ref.name is found by its tag" {
	skopeo inspect --raw "oci:$F/multi:docker.io/library/busybox:latest" >"$T/raw"
	cmp "$T/raw" <(oci-manifest "$F/multi:latest")
}

@test "Docker schema2: the manifest list and the manifest, as the registry serves them" {
	skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/dlist:latest" >"$T/list"
	cmp "$T/list" "$(blob "$F/dock" "$(entry "$F/dock" latest | jq -r .digest)")"
	for arch in amd64 arm64; do
		skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/dlist@$(pick "$T/list" $arch)" >"$T/$arch"
		cmp "$T/$arch" <(oci-manifest -p linux/$arch "$F/dock:latest")
	done
	cmp "$T/amd64" <(oci-manifest "$F/dock:amd")
	run -0 jq -r .mediaType "$T/amd64"
	assert_output application/vnd.docker.distribution.manifest.v2+json
	skopeo inspect --config --raw --tls-verify=false "docker://$REGISTRY/dlist@$(pick "$T/list" amd64)" >"$T/config"
	cmp "$T/config" <(oci-manifest --config "$F/dock:amd")
	run -0 oci-manifest --layers "$F/dock:amd"
	assert_output "$(jq -c '.layers[]' "$T/amd64")"
	assert_line --index 0 --partial '"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip"'
}

@test "-v narrates each step" {
	m=$(entry "$F/um" latest | jq -r .digest)
	s=$(entry "$F/um" latest | jq -r .size)
	c=$(jq -r .config.digest "$(blob "$F/um" "$m")")
	run -0 --separate-stderr oci-manifest -v --config "$F/um:latest"
	[ "${stderr_lines[0]}" = "oci-manifest: index.json: tag latest → manifest ${m:0:19} ($s bytes)" ]
	[ "${stderr_lines[1]}" = "oci-manifest: manifest ${m:0:19} → config ${c:0:19}, 3 layers" ]
}

# ---- the descriptor on stdin ----

@test "LAYOUT alone wants descriptors on stdin, and says so" {
	run -1 oci-manifest "$F/um" </dev/null
	assert_output --partial "stdin: no descriptor"
	run -1 oci-manifest "$F/um" <<<'not json'
	assert_output --partial "stdin: descriptor line is not JSON"
	run -1 oci-manifest "$F/um" < <(oci-manifest --layers "$F/um:latest")
	assert_output --regexp 'layer tar\+gzip sha256:[0-9a-f]{12} is not a manifest or an index$'
	run -1 oci-manifest "$F/um" <<<'{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../../../etc/passwd","size":1}'
	assert_output --partial "digest"
}

# ---- bad documents: each its own fixture ----

@test "not a layout" {
	run -1 oci-manifest "$T:latest"
	assert_output --partial "is not an OCI layout"
	run -1 oci-manifest "$T/none:latest"
	assert_output --partial "No such file or directory"
}

@test "an unknown tag lists the known ones" {
	run -1 oci-manifest "$F/multi:nope"
	assert_output "oci-manifest: no tag \"nope\" in $F/multi/index.json (tags: multi, docker.io/library/busybox:latest)"
}

@test "a manifest whose bytes do not match its digest, or its size" {
	copy_layout um
	d=$(entry "$T/um" latest | jq -r .digest)
	f=$(blob "$T/um" "$d")
	chmod u+w "$f"
	# one hex digit of the config's digest changes: same size, other bytes
	perl -pi -e 's/sha256:([0-9a-f])/"sha256:" . ($1 eq "0" ? "1" : "0")/e' "$f"
	[ "$(stat -c %s "$f")" -eq "$(entry "$T/um" latest | jq -r .size)" ]
	run -1 oci-manifest "$T/um:latest"
	assert_output --partial "digest mismatch: expected $d, got sha256:"
	cp "$(blob "$F/um" "$d")" "$f"
	jq -c '.manifests[0].size += 1' "$F/um/index.json" >"$T/um/index.json"
	run -1 oci-manifest "$T/um:latest"
	assert_output --partial "size"
	assert_output --partial "mismatch"
}

@test "a missing manifest, config or index blob" {
	copy_layout multi
	m=$(oci-index -p linux/amd64 "$T/multi:multi" | jq -r .digest)
	c=$(oci-manifest --layers -p linux/arm64 "$T/multi:multi"; oci-manifest -p linux/arm64 "$T/multi:multi" | jq -r .config.digest)
	rm "$(blob "$T/multi" "$c")"
	run -1 oci-manifest --config -p linux/arm64 "$T/multi:multi"
	assert_output --partial "blob ${c:0:19} is missing from $T/multi"
	rm "$(blob "$T/multi" "$m")"
	run -1 oci-manifest -p linux/amd64 "$T/multi:multi"
	assert_output "oci-manifest: blob ${m:0:19} is missing from $T/multi"
}

@test "a config whose bytes do not match" {
	copy_layout um
	c=$(oci-manifest "$T/um:latest" | jq -r .config.digest)
	f=$(blob "$T/um" "$c")
	chmod u+w "$f"
	printf ' ' >>"$f"
	run -1 oci-manifest --config "$T/um:latest"
	assert_output --partial "config: blob ${c:0:19}"
}

@test "truncated or malformed JSON in a manifest" {
	head -c 100 "$(blob "$F/um" "$(entry "$F/um" latest | jq -r .digest)")" >"$T/trunc.json"
	refused trunc $MT_MANIFEST ": not valid JSON"
	assert_output --regexp '^oci-manifest: manifest sha256:[0-9a-f]{12}: not valid JSON'
	echo '[1,2,3]' >"$T/array.json"
	refused array $MT_MANIFEST "not a JSON object"
	echo '{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:x","size":1},"layers":[]}' >"$T/baddesc.json"
	refused baddesc $MT_MANIFEST "config" --config
	echo '{"schemaVersion":2,"config":{},"layers":[{"mediaType":"x","digest":"sha256:1","size":-1}]}' >"$T/badlayer.json"
	refused badlayer $MT_MANIFEST "layer 1" --layers
}

@test "a document over 4 MiB is refused, whatever its descriptor says" {
	{
		jq -c . "$(blob "$F/um" "$(entry "$F/um" latest | jq -r .digest)")" |
			sed 's/}$/,"annotations":{"pad":"/' | tr -d '\n'
		head -c 4200000 /dev/zero | tr '\0' x
		echo '"}}'
	} >"$T/big.json"
	jq -e .annotations.pad "$T/big.json" >/dev/null
	refused big $MT_MANIFEST "over the 4194304 byte limit"
	# a descriptor that lies about the size does not get it read either
	jq -c '(.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "big") | .size) = 100' \
		"$T/um/index.json" >"$T/i" && mv "$T/i" "$T/um/index.json"
	run -1 oci-manifest "$T/um:big"
	assert_output --partial "over the 4194304 byte limit"
}

@test "a document that claims to be both a manifest and an index" {
	oci-manifest "$F/um:latest" | jq -c '.manifests = []' >"$T/hybrid.json"
	refused hybrid $MT_MANIFEST 'both "manifests" and "layers"/"config"'
	# and one whose own mediaType contradicts its descriptor
	oci-manifest "$F/um:latest" | jq -c '.mediaType = "application/vnd.oci.image.index.v1+json"' >"$T/liar.json"
	refused liar $MT_MANIFEST 'index has no "manifests" array'
}

@test "Docker schema1 and unknown media types are refused, naming the type" {
	cat >"$T/s1.json" <<-'EOF'
	{"schemaVersion":1,"name":"library/busybox","tag":"latest","architecture":"amd64","fsLayers":[],"history":[]}
	EOF
	refused s1 application/vnd.docker.distribution.manifest.v1+prettyjws "schema1"
	echo '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v1+json","config":{},"layers":[]}' >"$T/s1b.json"
	refused s1b application/vnd.docker.distribution.manifest.v1+json \
		"application/vnd.docker.distribution.manifest.v1+json: Docker schema1 manifests are not supported"
	echo '{"schemaVersion":2,"mediaType":"application/vnd.example.thing+json","blobs":[]}' >"$T/odd.json"
	refused odd application/vnd.example.thing+json 'unsupported media type "application/vnd.example.thing+json"'
	LC_ALL=C run -0 oci-index --tree "$T/um:odd"
	assert_output --partial "application/vnd.example.thing+json sha256:"
}
