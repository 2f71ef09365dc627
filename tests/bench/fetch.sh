#!/bin/bash
# tests/bench/fetch.sh — oci-fetch against skopeo copy, pulling the same image
# from the same loopback docker-registry.
#
# The image: three gzip layers made from this machine's /usr (about 200 MB).
# Each tool pulls it three times into a fresh layout; the best time counts.
# Then oci-fetch pulls it again into a layout that has it (a re-fetch).
# Prints times and ratios; asserts nothing (`make bench` runs it).
set -eu

TESTS_DIR=$(cd "$(dirname "$0")/.." && pwd)
OCI_BIN=${OCI_BIN:-$TESTS_DIR/../bin}
W=$(mktemp -d "${TMPDIR:-/tmp}/oci-bench-fetch.XXXXXX")
REG_PID=
cleanup() {
	if [ -n "$REG_PID" ]; then
		kill "$REG_PID" 2>/dev/null
		wait "$REG_PID" 2>/dev/null || true
	fi
	rm -rf "$W"
}
trap cleanup EXIT

ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ---- the image: an OCI layout made by hand, one layer per /usr directory
mkdir -p "$W/src/blobs/sha256"
echo '{"imageLayoutVersion":"1.0.0"}' >"$W/src/oci-layout"
layers= diffids=
for dir in /usr/include /usr/bin /usr/libexec; do
	tar -C / -cf - "${dir#/}" 2>/dev/null | tee >(sha256sum | cut -c1-64 >"$W/diffid") |
		gzip -1 >"$W/layer"
	wait
	hex=$(sha256sum "$W/layer" | cut -c1-64)
	size=$(stat -c %s "$W/layer")
	mv "$W/layer" "$W/src/blobs/sha256/$hex"
	layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$hex\",\"size\":$size}"
	diffids="$diffids${diffids:+,}\"sha256:$(cat "$W/diffid")\""
done
put() {	# put FILE -> "digest size" of the blob it becomes
	local hex
	hex=$(sha256sum "$1" | cut -c1-64)
	mv "$1" "$W/src/blobs/sha256/$hex"
	echo "sha256:$hex $(stat -c %s "$W/src/blobs/sha256/$hex")"
}
printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
	"$diffids" >"$W/config"
read -r cdigest csize < <(put "$W/config")
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[%s]}' \
	"$cdigest" "$csize" "$layers" >"$W/manifest"
read -r mdigest msize < <(put "$W/manifest")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"bench"}}]}' \
	"$mdigest" "$msize" >"$W/src/index.json"
total=$(du -sm "$W/src/blobs" | cut -f1)

# ---- a loopback registry, seeded by skopeo (registry_start from the test helper)
bats_require_minimum_version() { :; }
bats_load_library() { :; }
load() { :; }
. "$TESTS_DIR/helper.bash"
registry_start "$W/registry" >/dev/null
REG_PID=$REGISTRY_PID
port=${REGISTRY##*:}
skopeo copy -q --policy "$SKOPEO_POLICY" --dest-tls-verify=false oci:"$W/src:bench" \
	docker://"127.0.0.1:$port/bench:1"
rm -rf "$W/src"
echo "image: 3 gzip layers from /usr, $total MB, served by docker-registry on 127.0.0.1:$port"

# ---- best of three, each into a fresh layout
best_ours=999999 best_skopeo=999999 best_refetch=999999
for i in 1 2 3; do
	rm -rf "$W/ours" "$W/theirs"
	sync
	t=$(ms)
	"$OCI_BIN/oci-fetch" -q "127.0.0.1:$port/bench:1" "$W/ours" >/dev/null
	t=$(( $(ms) - t ))
	[ "$t" -lt "$best_ours" ] && best_ours=$t
	sync
	t=$(ms)
	skopeo copy -q --policy "$SKOPEO_POLICY" --src-tls-verify=false \
		docker://"127.0.0.1:$port/bench:1" oci:"$W/theirs:1"
	t=$(( $(ms) - t ))
	[ "$t" -lt "$best_skopeo" ] && best_skopeo=$t
	t=$(ms)
	"$OCI_BIN/oci-fetch" -q "127.0.0.1:$port/bench:1" "$W/ours" >/dev/null
	t=$(( $(ms) - t ))
	[ "$t" -lt "$best_refetch" ] && best_refetch=$t
	echo "run $i: oci-fetch done"
done
cmp <(cd "$W/ours/blobs/sha256" && ls) <(cd "$W/theirs/blobs/sha256" && ls) ||
	echo "warning: oci-fetch and skopeo stored different blobs"

echo "oci-fetch:   ${best_ours} ms ($(( total * 1000 / (best_ours > 0 ? best_ours : 1) )) MB/s)"
echo "skopeo copy: ${best_skopeo} ms ($(( total * 1000 / (best_skopeo > 0 ? best_skopeo : 1) )) MB/s)"
awk -v a="$best_skopeo" -v b="$best_ours" 'BEGIN { printf "ratio: oci-fetch is %.2fx skopeo (target >= 1.5x)\n", a / b }'
echo "re-fetch of an image already present: ${best_refetch} ms (target < 50 ms)"
