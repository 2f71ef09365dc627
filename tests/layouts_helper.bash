# tests/layouts_helper.bash — image layouts made by other tools (umoci,
# skopeo through a docker-registry on loopback), for the suites that read
# layouts: `load layouts_helper` gives a suite the setup_file and
# teardown_file below, and the layouts in $F:
#
#   $F/um      umoci: tag latest (3 layers) and v1 (the same manifest)
#   $F/multi   skopeo copy --all from the registry: tag multi is an OCI index
#               of linux/amd64 (the 3-layer image) and linux/arm64/v8 (no layers);
#               tag docker.io/library/busybox:latest (a full reference) is the
#               amd64 manifest alone
#   $F/dock    Docker schema2, bytes as the registry serves them: tag latest is
#               a manifest list, tag amd is its amd64 manifest
#   $F/nested  index.json -> index (no platform) -> the multi index -> manifests
#
# REGISTRY stays up: tests compare with `skopeo inspect --raw docker://…`.
# Repositories in it: multi (the OCI index) and dlist (the Docker list).

SKOPEO_TLS=(--src-tls-verify=false --dest-tls-verify=false)
REF_NAME=org.opencontainers.image.ref.name

# sha256 hex of a file
hex_of() { sha256sum "$1" | cut -d' ' -f1; }

# put_blob LAYOUT FILE: store FILE as a blob; print its descriptor fields "sha256:HEX SIZE"
put_blob() {
	local h
	h=$(hex_of "$2")
	mkdir -p "$1/blobs/sha256"
	cp "$2" "$1/blobs/sha256/$h"
	echo "sha256:$h $(stat -c %s "$2")"
}

# add_entry LAYOUT MEDIATYPE DIGEST SIZE TAG: append a tagged entry to index.json (by jq)
add_entry() {
	jq -c --arg mt "$2" --arg d "$3" --argjson s "$4" --arg t "$5" --arg rn "$REF_NAME" \
		'.manifests += [{mediaType: $mt, digest: $d, size: $s, annotations: {($rn): $t}}]' \
		"$1/index.json" >"$1/index.json.new"
	mv "$1/index.json.new" "$1/index.json"
}

# entry LAYOUT TAG: the index.json entry with that tag, as jq reads it
entry() {
	jq -c --arg t "$2" --arg rn "$REF_NAME" '.manifests[] | select(.annotations[$rn] == $t)' "$1/index.json"
}

# blob LAYOUT DIGEST: the path of a blob
blob() { echo "$1/blobs/sha256/${2#sha256:}"; }

# layout_from_dir DIR LAYOUT TAG: turn a `skopeo copy dir:` copy (which keeps
# the registry's bytes and media types) into an image layout by hand.
layout_from_dir() {
	local src=$1 dst=$2 f h mt d s
	mkdir -p "$dst/blobs/sha256"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$dst/oci-layout"
	echo '{"schemaVersion":2,"manifests":[]}' >"$dst/index.json"
	for f in "$src"/*; do
		case ${f##*/} in
		version | manifest.json) ;;
		*.manifest.json) cp "$f" "$dst/blobs/sha256/$(hex_of "$f")" ;;
		*) cp "$f" "$dst/blobs/sha256/${f##*/}" ;;
		esac
	done
	read -r d s < <(put_blob "$dst" "$src/manifest.json")
	mt=$(jq -r .mediaType "$src/manifest.json")
	add_entry "$dst" "$mt" "$d" "$s" "$3"
}

build_layouts() {
	local dir=$1 amd arm d s idx
	T=$dir
	mkdir -p "$dir" && cd "$dir" || return 1
	registry_start "$dir/registry"

	# umoci: three layers, tagged twice
	umoci_image "$dir/um" latest
	umoci tag --image "$dir/um:latest" v1

	# A multi-platform index by hand from two umoci manifests, pushed with
	# skopeo --all and pulled back into a fresh layout.
	umoci_image "$dir/mk" amd
	umoci config --image "$dir/mk:amd" --os linux --architecture amd64
	umoci new --image "$dir/mk:arm"
	umoci config --image "$dir/mk:arm" --os linux --architecture arm64
	amd=$(entry "$dir/mk" amd | jq -c 'del(.annotations) + {platform: {architecture: "amd64", os: "linux"}}')
	arm=$(entry "$dir/mk" arm | jq -c 'del(.annotations) + {platform: {architecture: "arm64", os: "linux", variant: "v8"}}')
	jq -nc --argjson a "$amd" --argjson b "$arm" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [$a, $b]}' >"$dir/idx.json"
	read -r d s < <(put_blob "$dir/mk" "$dir/idx.json")
	add_entry "$dir/mk" application/vnd.oci.image.index.v1+json "$d" "$s" multi
	skopeo copy -q --all "${SKOPEO_TLS[@]}" "oci:$dir/mk:multi" "docker://$REGISTRY/multi:latest"
	skopeo copy -q --all "${SKOPEO_TLS[@]}" "docker://$REGISTRY/multi:latest" "oci:$dir/multi:multi"
	skopeo copy -q "${SKOPEO_TLS[@]}" --override-arch amd64 "docker://$REGISTRY/multi:latest" \
		"oci:$dir/multi:docker.io/library/busybox:latest"

	# Docker schema2: skopeo converts the index to a manifest list on the
	# way into the registry; its dir: transport keeps the bytes as served.
	skopeo copy -q --all --format v2s2 "${SKOPEO_TLS[@]}" "oci:$dir/mk:multi" "docker://$REGISTRY/dlist:latest"
	skopeo copy -q --all "${SKOPEO_TLS[@]}" "docker://$REGISTRY/dlist:latest" "dir:$dir/dlist"
	layout_from_dir "$dir/dlist" "$dir/dock" latest
	d=$(jq -r '.manifests[] | select(.platform.architecture == "amd64") | .digest' "$dir/dlist/manifest.json")
	add_entry "$dir/dock" application/vnd.docker.distribution.manifest.v2+json "$d" \
		"$(stat -c %s "$(blob "$dir/dock" "$d")")" amd

	# An index of an index: the outer one gives no platform, as buildx does for attestations.
	cp -a "$dir/multi" "$dir/nested"
	idx=$(entry "$dir/multi" multi | jq -c 'del(.annotations)')
	jq -nc --argjson i "$idx" '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [$i]}' >"$dir/outer.json"
	read -r d s < <(put_blob "$dir/nested" "$dir/outer.json")
	add_entry "$dir/nested" application/vnd.oci.image.index.v1+json "$d" "$s" nested
}

# host_arch: this machine's architecture in Go's names (what -p defaults to)
host_arch() {
	case $(uname -m) in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	*) uname -m ;;
	esac
}

# copy_layout NAME: a private copy of a fixture layout in this test's $T, to break
copy_layout() {
	cp -a "$F/$1" "$T/$1"
}

setup_file() {
	export F=$BATS_FILE_TMPDIR/layouts
	build_layouts "$F" >"$BATS_FILE_TMPDIR/build.log" 2>&1 </dev/null || {
		cat "$BATS_FILE_TMPDIR/build.log" >&2
		return 1
	}
	export REGISTRY REGISTRY_PID
}

teardown_file() {
	registry_stop
}
