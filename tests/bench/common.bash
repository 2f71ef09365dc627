# tests/bench/common.bash — sourced by the benchmarks (it is not one itself).
# The programs measured are $OCI_BIN's (default: this checkout's bin/).
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OCI_BIN=${OCI_BIN:-$(cd "$TESTS_DIR/.." && pwd)/bin}

# bench_workdir NAME: make a scratch directory W for the benchmark NAME, go
# there; on exit the registry bench_registry started stops and W goes.  It is
# in tmpfs (/dev/shm) when there is room: on a long-lived ext4, inode
# allocation after many deletions (ext4's recently_deleted scan) can cost
# more than everything the tools do, and every tool waits on it alike.
# BENCH_DIR=/some/disk measures a disk instead.
bench_workdir() {
	if [ -z "${BENCH_DIR:-}" ]; then
		BENCH_DIR=/var/tmp
		if [ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 { print $4 }')" -gt 3000000 ]; then
			BENCH_DIR=/dev/shm
		fi
	fi
	W=$(mktemp -d "$BENCH_DIR/oci-bench-$1.XXXXXX")
	# an overlayfs work directory may be left without permissions
	trap 'bench_registry_stop; chmod -R u+rwX "$W" 2>/dev/null; rm -rf "$W"' EXIT
	cd "$W"
}

# bench_registry DIR: docker-registry on loopback (tests/helper.bash's
# registry_start, outside bats); sets REGISTRY and REGISTRY_PID.
# bench_registry_stop ends it.
REGISTRY_PID=
bench_registry() {
	bats_require_minimum_version() { :; }
	bats_load_library() { :; }
	load() { :; }
	. "$TESTS_DIR/helper.bash"
	registry_start "$1" >/dev/null
}
bench_registry_stop() {
	if [ -n "$REGISTRY_PID" ]; then
		kill "$REGISTRY_PID" 2>/dev/null
		wait "$REGISTRY_PID" 2>/dev/null || true
	fi
	REGISTRY_PID=
}

# bench_image makes, in the current directory, the ~500 MB bench image from
# this machine's /usr:
# img/ is an OCI layout by hand (3 gzip layers, a config with their diff_ids, a
# manifest, index.json, tagged latest); manifest.json is left beside it, and
# total is set to the layers' stored bytes.
bench_image() {
	local dirs hex size chex mhex descs=() diff_ids=()
	local layers=(
		"usr/include usr/sbin usr/libexec"
		"usr/share/doc usr/share/man"
		"usr/lib/python3 usr/share/vim usr/share/perl usr/share/fonts usr/share/i18n"
	)
	mkdir -p img/blobs/sha256
	echo '{"imageLayoutVersion":"1.0.0"}' >img/oci-layout
	total=0
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
}

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
