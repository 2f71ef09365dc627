#!/bin/bash
# tests/bench/fetch.sh — oci-fetch against skopeo copy, pulling the same image
# from the same loopback docker-registry.
#
# The image: three gzip layers made from this machine's /usr (about 200 MB).
# Each tool pulls it three times into a fresh layout; the best time counts.
# Then oci-fetch pulls it again into a layout that has it (a re-fetch).
# Prints times and ratios; asserts nothing (`make bench` runs it).
set -eu
. "$(dirname "$0")/common.bash"
. "$TESTS_DIR/bench/image.bash"
# In $TMPDIR (default /tmp) unless BENCH_DIR says where, as it always was.
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}}
bench_workdir fetch

ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ---- the image (tests/bench/image.bash), on a loopback registry seeded by skopeo
bench_registry_image "$W/src" bench
total=$BENCH_MB
bench_registry "$W/registry"
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
