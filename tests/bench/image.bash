# tests/bench/image.bash — sourced by tests/bench/fetch.sh and push.sh (not a
# benchmark itself: `make bench` runs only *.sh), after common.bash.
#
# bench_registry_image DIR TAG: an OCI layout made by hand in DIR, one tar+gzip
# layer per directory of this machine's /usr (include, bin, libexec: about
# 200 MB), tagged TAG.  Sets BENCH_MB to the size of its blobs.
bench_registry_image() {
	local dir=$1 tag=$2 layers= diffids= d hex size cdigest csize mdigest msize
	mkdir -p "$dir/blobs/sha256"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	for d in /usr/include /usr/bin /usr/libexec; do
		tar -C / -cf - "${d#/}" 2>/dev/null | tee >(sha256sum | cut -c1-64 >"$dir/diffid") |
			gzip -1 >"$dir/layer"
		wait
		hex=$(sha256sum "$dir/layer" | cut -c1-64)
		size=$(stat -c %s "$dir/layer")
		mv "$dir/layer" "$dir/blobs/sha256/$hex"
		layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$hex\",\"size\":$size}"
		diffids="$diffids${diffids:+,}\"sha256:$(cat "$dir/diffid")\""
	done
	rm -f "$dir/diffid"
	printf '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[%s]}}' \
		"$diffids" >"$dir/config"
	read -r cdigest csize < <(bench_put "$dir" "$dir/config")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[%s]}' \
		"$cdigest" "$csize" "$layers" >"$dir/manifest"
	read -r mdigest msize < <(bench_put "$dir" "$dir/manifest")
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"%s"}}]}' \
		"$mdigest" "$msize" "$tag" >"$dir/index.json"
	BENCH_MB=$(du -sm "$dir/blobs" | cut -f1)
}

# bench_put LAYOUT FILE: FILE becomes a blob of LAYOUT; prints "digest size".
bench_put() {
	local hex
	hex=$(sha256sum "$2" | cut -c1-64)
	mv "$2" "$1/blobs/sha256/$hex"
	echo "sha256:$hex $(stat -c %s "$1/blobs/sha256/$hex")"
}
