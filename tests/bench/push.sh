#!/bin/bash
# tests/bench/push.sh — oci-push against skopeo copy, pushing the same image
# from the same layout to the same loopback docker-registry.
#
# The image: three gzip layers made from this machine's /usr (about 200 MB,
# tests/bench/image.bash).  Each tool pushes it three times, each time to a
# registry of its own that is still empty (skopeo remembers where it put a
# blob and would mount it from there: a second push to the same registry is
# no upload at all); the best time counts.  Then each pushes it again where
# it is already (a no-op push: HEAD requests).
# Works in tmpfs (/dev/shm) when there is one, as tests/bench/untar.sh does.
# Last, the same image is written as docker save writes it and read back,
# by each tool once.  Prints times and ratios; asserts nothing (`make bench` runs it).
set -eu
. "$(dirname "$0")/common.bash"
. "$TESTS_DIR/bench/image.bash"
bench_workdir push

ms() { echo $(( $(date +%s%N) / 1000000 )); }

bench_registry_image "$W/src" bench
echo "image: 3 gzip layers from /usr, $BENCH_MB MB, pushed to a docker-registry on loopback (in $BENCH_DIR)"

# push TOOL RUN: a fresh registry, a timed push, a timed no-op push; the registry stays up.
push() {
	local tool=$1 run=$2 t
	bench_registry_stop
	rm -rf "$W/registry"
	bench_registry "$W/registry"
	for what in push noop; do
		sync
		t=$(ms)
		if [ "$tool" = ours ]; then
			"$OCI_BIN/oci-push" -q "$W/src:bench" "$REGISTRY/bench:1" >/dev/null
		else
			skopeo copy -q --policy "$SKOPEO_POLICY" --dest-tls-verify=false oci:"$W/src:bench" \
				docker://"$REGISTRY/bench:1"
		fi
		echo "$(( $(ms) - t ))" >"$W/$tool-$what-$run"
	done
}

best() { sort -n "$W"/"$1"-* | head -1; }
for i in 1 2 3; do
	push ours "$i"
	a=$(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/bench:1" | sha256sum)
	push skopeo "$i"
	b=$(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/bench:1" | sha256sum)
	[ "$a" = "$b" ] || echo "warning: oci-push and skopeo pushed different manifests"
	echo "run $i done"
done
best_ours=$(best ours-push) best_skopeo=$(best skopeo-push)
best_noop=$(best ours-noop) best_skopeo_noop=$(best skopeo-noop)
echo "oci-push:    ${best_ours} ms ($(( BENCH_MB * 1000 / (best_ours > 0 ? best_ours : 1) )) MB/s)"
echo "skopeo copy: ${best_skopeo} ms ($(( BENCH_MB * 1000 / (best_skopeo > 0 ? best_skopeo : 1) )) MB/s)"
awk -v a="$best_skopeo" -v b="$best_ours" 'BEGIN { printf "ratio: oci-push is %.2fx skopeo (target >= 2x)\n", a / b }'
echo "no-op push: oci-push ${best_noop} ms, skopeo copy ${best_skopeo_noop} ms"
awk -v a="$best_skopeo_noop" -v b="$best_noop" 'BEGIN { printf "ratio: a no-op oci-push is %.2fx skopeo\n", a / (b > 0 ? b : 1) }'

# ---- archives: the same image into docker save's format and back, once each
bench_registry_stop
t=$(ms)
"$OCI_BIN/oci-push" -q "$W/src:bench" docker-archive:"$W/ours.tar":bench/img:1 >/dev/null
w_ours=$(( $(ms) - t ))
t=$(ms)
skopeo copy -q --policy "$SKOPEO_POLICY" oci:"$W/src:bench" docker-archive:"$W/theirs.tar":bench/img:1
w_skopeo=$(( $(ms) - t ))
t=$(ms)
"$OCI_BIN/oci-fetch" -q docker-archive:"$W/theirs.tar" "$W/read-ours" >/dev/null
r_ours=$(( $(ms) - t ))
t=$(ms)
skopeo copy -q --policy "$SKOPEO_POLICY" docker-archive:"$W/theirs.tar" oci:"$W/read-theirs:1"
r_skopeo=$(( $(ms) - t ))
echo "docker-archive write: oci-push ${w_ours} ms, skopeo copy ${w_skopeo} ms"
awk -v a="$w_skopeo" -v b="$w_ours" 'BEGIN { printf "ratio: oci-push docker-archive: is %.2fx skopeo\n", a / (b > 0 ? b : 1) }'
echo "docker-archive read: oci-fetch ${r_ours} ms, skopeo copy ${r_skopeo} ms"
awk -v a="$r_skopeo" -v b="$r_ours" 'BEGIN { printf "ratio: oci-fetch docker-archive: is %.2fx skopeo\n", a / (b > 0 ? b : 1) }'
