#!/bin/bash
# tests/bench/pull-run.sh — from a registry to a container's mounted rootfs:
# oci-fetch --store (extraction while the layers download) against the two
# steps one after the other, against podman pull + create + mount, and
# against skopeo copy + umoci unpack.
#
# The image is the ~530 MB, 3-layer gzip bench image of tests/bench/untar.sh,
# served by docker-registry on loopback.  Everything is in tmpfs (/dev/shm)
# when there is room; each run starts from a fresh layout, store or podman
# root, and the best of 2 counts.  Prints times and ratios; asserts nothing.
# Run it as root (the mounts, and podman's root).
set -eu
. "$(dirname "$0")/common.bash"
PATH=$OCI_BIN:$PATH
bench_workdir pull-run
bench_image
bench_registry "$W/registry"
port=${REGISTRY##*:}
src=127.0.0.1:$port/bench:1
skopeo copy -q --policy "$(dirname "$0")/../policy.json" --dest-tls-verify=false oci:img:latest docker://"$src" 2>/dev/null ||
	skopeo copy -q --insecure-policy --dest-tls-verify=false oci:img:latest docker://"$src"
echo "image: 3 gzip layers, $((total / 1000000)) MB stored, $(du -sm img | cut -f1) MB with its blobs; served by docker-registry on 127.0.0.1:$port; in $BENCH_DIR ($(stat -f -c %T "$BENCH_DIR"))"

now() { date +%s.%N; }
# clock VAR CMD...: the best of 2 wall times of CMD (after PRE, run before each) into VAR.
PRE=:
clock() {
	local var=$1 t0 t1 i best=
	shift
	for i in 1 2; do
		eval "$PRE"
		sync
		t0=$(now)
		"$@" >/dev/null 2>run.err || { cat run.err; exit 1; }
		t1=$(now)
		best=$(awk -v a="$t1" -v b="$t0" -v best="$best" 'BEGIN { t = a - b; if (best == "" || t < best) best = t; printf "%.3f", best }')
	done
	printf -v "$var" '%s' "$best"
}
fresh() { chmod -R u+rwX "$@" 2>/dev/null || true; rm -rf "$@"; }

# ours, streaming: the layers go into the store as they download; then the container, mounted.
stream() { oci-fetch -q --store S "$src" L:1 && oci-overlay -q --store S L:1 c1; }
PRE='fresh S L'
clock T_stream oci-unshare -m bash -c "$(declare -f stream); src=$src; stream"

# the same, two steps: oci-fetch, then oci-overlay --store.
two() { oci-fetch -q "$src" L:1 && oci-overlay -q --store S L:1 c1; }
clock T_two oci-unshare -m bash -c "$(declare -f two); src=$src; two"

# the two halves alone
PRE='fresh L'
clock T_fetch oci-fetch -q "$src" L:1
oci-fetch -q "$src" L:1 >/dev/null
PRE='fresh S'
clock T_extract oci-unshare -m oci-overlay -q --store S L:1 c1

# a second container of the same image, and a pull of what is there
fresh S L
oci-fetch -q --store S "$src" L:1 >/dev/null
# (timed inside the mount namespace: oci-overlay's own time, not oci-unshare's)
second() {
	local t0 t1 best= i
	for i in 1 2; do
		oci-overlay -q --store S --rm c2 2>/dev/null || true
		t0=$(date +%s%N)
		oci-overlay -q --store S L:1 c2 >/dev/null
		t1=$(date +%s%N)
		oci-overlay -q --store S -u c2
		[ -z "$best" ] || [ $((t1 - t0)) -lt "$best" ] && best=$((t1 - t0))
	done
	awk -v n="$best" 'BEGIN { printf "%.3f", n / 1e9 }'
}
T_second=$(oci-unshare -m bash -c "$(declare -f second); second")
PRE=:
clock T_repull oci-fetch -q --store S "$src" L:1
# its floor: one curl of the manifest (a pull must ask what the tag names now)
clock T_curl1 curl -s -o /dev/null -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
	"http://127.0.0.1:$port/v2/bench/manifests/1"

# memory: with -j 8, the largest of oci-fetch and its extracting children (GNU time's %M)
fresh S L
/usr/bin/time -f %M -o mem.txt oci-fetch -q -j 8 --store S "$src" L:1 >/dev/null
M_stream=$(cat mem.txt)

# podman: pull, create, mount, in a fresh root (on tmpfs too) each time
pm() { podman --root "$W/P/root" --runroot "$W/P/run" --storage-driver overlay "$@"; }
podman_run() {
	pm pull -q --tls-verify=false "$src" && id=$(pm create "$src" sh) && pm mount "$id"
}
podman_clear() {
	if [ -d P ]; then
		pm unmount -a && pm rm -af && pm rmi -af
		umount P/root/overlay 2>/dev/null || true
	fi >/dev/null 2>&1
	fresh P
}
PRE=podman_clear
clock T_podman bash -c "$(declare -f pm podman_run); W=$W src=$src; podman_run"
podman_clear

# skopeo copy + umoci unpack
PRE='fresh K B'
clock T_umoci bash -c "skopeo copy -q --insecure-policy --src-tls-verify=false docker://$src oci:K:1 && umoci unpack --image K:1 B"

# the floor: curl --parallel of the three layers' bytes, nothing checked or stored
urls=()
for d in $(jq -r '.layers[].digest' manifest.json); do
	urls+=(-o /dev/null "http://127.0.0.1:$port/v2/bench/blobs/$d")
done
clock T_curl curl -s --parallel "${urls[@]}"

# untar against GNU tar, on the layout's blobs
PRE='fresh out'
clock T_untar oci-untar -q -C out L:1
tar_layers() {
	local l
	mkdir out
	for l in $(jq -r '.layers[].digest' manifest.json); do
		tar -xzf "L/blobs/sha256/${l#sha256:}" -C out
	done
}
clock T_tar bash -c "$(declare -f tar_layers); tar_layers"

printf '%-52s %8s\n' "" seconds
printf '%-52s %8.3f\n' "oci-fetch --store + oci-overlay --store (streaming)" "$T_stream"
printf '%-52s %8.3f\n' "oci-fetch, then oci-overlay --store (two steps)" "$T_two"
printf '%-52s %8.3f\n' "  oci-fetch alone" "$T_fetch"
printf '%-52s %8.3f\n' "  oci-overlay --store alone (extract + mount)" "$T_extract"
printf '%-52s %8.3f\n' "podman pull + create + mount" "$T_podman"
printf '%-52s %8.3f\n' "skopeo copy + umoci unpack" "$T_umoci"
printf '%-52s %8.3f\n' "curl --parallel of the layers (the floor)" "$T_curl"
printf '%-52s %8.3f\n' "a second container (oci-overlay --store)" "$T_second"
printf '%-52s %8.3f\n' "a pull of an image already there (oci-fetch --store)" "$T_repull"
printf '%-52s %8.3f\n' "oci-untar" "$T_untar"
printf '%-52s %8.3f\n' "tar -xzf, each layer in turn" "$T_tar"
awk -v s="$T_stream" -v two="$T_two" -v f="$T_fetch" -v x="$T_extract" -v p="$T_podman" \
    -v u="$T_umoci" -v c="$T_curl" -v o="$T_untar" -v t="$T_tar" 'BEGIN {
	m = f > x ? f : x
	printf "ratios: podman / streaming = %.2f (target >= 6), skopeo+umoci / streaming = %.2f (target >= 6)\n", p / s, u / s
	printf "        streaming / max(fetch, extract) = %.2f (target <= 1.15), two steps / streaming = %.2f\n", s / m, two / s
	printf "        GNU tar / oci-untar = %.2f (target >= 3), curl floor / oci-fetch = %.2f\n", t / o, c / f }'
awk -v a="$T_second" -v b="$T_repull" -v c="$T_curl1" 'BEGIN {
	printf "second container: %.0f ms (target < 50), pull of an image already there: %.0f ms (target < 10; one curl of the manifest: %.0f ms)\n", a * 1000, b * 1000, c * 1000 }'
echo "peak RSS of oci-fetch -j 8 --store, or of one of its children: $((M_stream / 1024)) MiB"
