#!/bin/bash
# tests/bench/diff.sh — what it costs to list what each layer changed.
#
# The ~500 MB bench image of tests/bench/untar.sh (3 gzip layers of this
# machine's /usr) is read by oci-diff (every change of every layer, each
# layer's digest and diff_id checked) and listed by `tar -tzvf` of each layer
# in turn (the cost of only reading the listings, checking nothing); best of 2
# each, in tmpfs when there is one.  It prints times, the ratio and oci-diff's
# peak memory; it asserts nothing.
set -eu
. "$(dirname "$0")/common.bash"
bench_workdir diff
bench_image

echo "$("$OCI_BIN/oci-diff" img:latest | wc -l) changes in 3 gzip layers of $((total / 1000000)) MB, in $BENCH_DIR ($(stat -f -c %T "$BENCH_DIR"))"

tar_listings() {
	local l
	for l in $(jq -r '.layers[].digest' manifest.json); do
		tar -tzvf "img/blobs/sha256/${l#sha256:}"
	done
}

best "oci-diff (digest + diff_id)" oci "$OCI_BIN/oci-diff" img:latest
best "oci-diff --summary" sum "$OCI_BIN/oci-diff" --summary img:latest
best "tar -tzvf, each layer in turn" tar bash -c "$(declare -f tar_listings); tar_listings"
# shellcheck disable=SC2154
awk -v o="$T_oci" -v t="$T_tar" 'BEGIN {
	printf "ratio: GNU tar -tzvf / oci-diff = %.2f (target >= 1)\n", t / o }'
printf 'oci-diff peak RSS: %d MiB (target < 64)\n' "$((M_oci / 1024))"
