#!/bin/bash
# tests/bench/untar.sh — how fast a rootfs comes out of its layers.
#
# A ~500 MB rootfs in 3 gzip layers, made from this machine's /usr, is
# extracted by oci-untar (checking every layer's digest and diff_id), by
# `tar -xzf` of each layer in turn, and by `umoci unpack`; best of 2 each.
# It prints times, ratios and oci-untar's peak memory; it asserts nothing.
# It works in tmpfs (/dev/shm) when there is one; BENCH_DIR=/some/disk
# measures a disk instead (tests/bench/common.bash says why).
set -eu
. "$(dirname "$0")/common.bash"
bench_workdir untar
bench_image

"$OCI_BIN/oci-untar" -C check img:latest
echo "rootfs: $(du -sm check | cut -f1) MB in 3 gzip layers of $((total / 1000000)) MB, extracted in $BENCH_DIR ($(stat -f -c %T "$BENCH_DIR"))"
rm -rf check

tar_layers() {
	local l
	mkdir out
	for l in $(jq -r '.layers[].digest' manifest.json); do
		tar -xzf "img/blobs/sha256/${l#sha256:}" -C out
	done
}

best "oci-untar (digest + diff_id)" oci "$OCI_BIN/oci-untar" -C out img:latest
best "tar -xzf, each layer in turn" tar bash -c "$(declare -f tar_layers); tar_layers"
best "umoci unpack" umoci umoci unpack --image img:latest out
# shellcheck disable=SC2154
awk -v o="$T_oci" -v t="$T_tar" -v u="$T_umoci" 'BEGIN {
	printf "ratios: GNU tar / oci-untar = %.2f (target >= 1), umoci / oci-untar = %.2f (target >= 3)\n", t / o, u / o }'
printf 'oci-untar peak RSS: %d MiB (target < 64)\n' "$((M_oci / 1024))"
