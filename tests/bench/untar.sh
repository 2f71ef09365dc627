#!/bin/bash
# tests/bench/untar.sh — how fast a rootfs comes out of its layers.
#
# A ~500 MB rootfs in 3 gzip layers, made from this machine's /usr, is
# extracted by oci-untar (checking every layer's digest and diff_id), by
# `tar -xzf` of each layer in turn, and by `umoci unpack`; best of 2 each.
# It prints times, ratios and oci-untar's peak memory; it asserts nothing.
#
# It works in tmpfs (/dev/shm) when there is one: on a long-lived ext4, inode
# allocation after many deletions (ext4's recently_deleted scan) can cost more
# than everything the tools do, and every tool waits on it alike.
# BENCH_DIR=/some/disk measures a disk instead.
set -eu
OCI_BIN=${OCI_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/bin}
if [ -z "${BENCH_DIR:-}" ]; then
	BENCH_DIR=/var/tmp
	if [ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -gt 3000000 ]; then
		BENCH_DIR=/dev/shm
	fi
fi
W=$(mktemp -d "$BENCH_DIR/oci-bench-untar.XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"

layers=(
	"usr/include usr/sbin usr/libexec"
	"usr/share/doc usr/share/man"
	"usr/lib/python3 usr/share/vim usr/share/perl usr/share/fonts usr/share/i18n"
)

# An OCI layout by hand: gzip layers, a config with their diff_ids, a manifest, index.json.
mkdir -p img/blobs/sha256
echo '{"imageLayoutVersion":"1.0.0"}' >img/oci-layout
descs=() diff_ids=() total=0
for dirs in "${layers[@]}"; do
	# shellcheck disable=SC2086
	tar -cf - -C / $(for d in $dirs; do [ -d "/$d" ] && echo "$d"; done) 2>/dev/null |
		tee >(sha256sum | cut -d' ' -f1 >diff_id) | gzip -6 >layer.gz
	sleep 0.2	# let the tee's sha256sum finish writing
	hex=$(sha256sum layer.gz | cut -d' ' -f1)
	size=$(stat -c %s layer.gz)
	mv layer.gz "img/blobs/sha256/$hex"
	descs+=("{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$hex\",\"size\":$size}")
	diff_ids+=("\"sha256:$(cat diff_id)\"")
	total=$((total + size))
done
printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
	"$(IFS=,; echo "${diff_ids[*]}")" >config.json
chex=$(sha256sum config.json | cut -d' ' -f1)
cp config.json "img/blobs/sha256/$chex"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
	"$chex" "$(stat -c %s config.json)" "$(IFS=,; echo "${descs[*]}")" >manifest.json
mhex=$(sha256sum manifest.json | cut -d' ' -f1)
cp manifest.json "img/blobs/sha256/$mhex"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
	"$mhex" "$(stat -c %s manifest.json)" >img/index.json

"$OCI_BIN/oci-untar" -C check img:latest
echo "rootfs: $(du -sm check | cut -f1) MB in 3 gzip layers of $((total / 1000000)) MB, extracted in $BENCH_DIR ($(stat -f -c %T "$BENCH_DIR"))"
rm -rf check

# best NAME KEY CMD...: the best wall time of 2 runs (and its peak RSS), into out/;
# sets T_KEY and M_KEY.
best() {
	local name=$1 key=$2 t m bt= bm= i
	shift 2
	for i in 1 2; do
		rm -rf out
		sync
		/usr/bin/time -f '%e %M' -o time.txt "$@" >/dev/null 2>run.err || { cat run.err; exit 1; }
		read -r t m <time.txt
		if [ -z "$bt" ] || awk "BEGIN { exit !($t < $bt) }"; then bt=$t bm=$m; fi
	done
	printf '%-34s %6.2f s  %6d KiB max RSS\n' "$name" "$bt" "$bm"
	eval "T_$key=$bt M_$key=$bm"
}

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
