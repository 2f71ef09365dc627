# tests/view_fixtures.bash — what tests/oci-view.bats and tests/oci-view-browser.bats
# both make and read: load helper and untar_helper first.  BATS_FILE_TMPDIR/umoci
# is umoci_image's image (their setup_file makes it).

# data PAGE: the JSON embedded in the page, as jq reads it.
data() {
	sed -n 's|^<script type="application/json" id="data">\(.*\)</script>$|\1|p' "$1"
}

# hostile_image: umoci's image and a layer of names that are markup, quotes, newlines, not UTF-8.
hostile_image() {
	cp -r "$BATS_FILE_TMPDIR/umoci" evil
	python3 - "$T/evil.tar" <<'PY'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape")
for name in ("h", "h/</script><script>alert(1)</script>", 'h/say "hi"\nthere', b"h/bad\xff\xfe".decode("utf-8", "surrogateescape"), "h/<!--", "h/<img src=x onerror=alert(1)>"):
    i = tarfile.TarInfo(name)
    if name == "h":
        i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
    else:
        i.size = 3; t.addfile(i, io.BytesIO(b"hi\n"))
t.close()
PY
	umoci raw add-layer --image evil:latest "$T/evil.tar"
}


# two_containers STORE: containers one and two of umoci's image in STORE (root: they are mounted
# in a mount namespace that ends with the call, and stay in the store unmounted).
two_containers() {
	oci-unshare -m sh -c "oci-overlay -q --store '$1' '$BATS_FILE_TMPDIR/umoci:latest' one >/dev/null &&
		oci-overlay -q --store '$1' '$BATS_FILE_TMPDIR/umoci:latest' two >/dev/null"
}

# multi_image LAYOUT: umoci's image as linux/amd64 and an empty linux/arm64/v8 one, in an
# OCI index tagged multi (idx.json in the current directory is the index's bytes).
multi_image() {
	local rn=org.opencontainers.image.ref.name amd arm d s l=$1
	cp -r "$BATS_FILE_TMPDIR/umoci" "$l"
	umoci config --image "$l":latest --os linux --architecture amd64
	umoci new --image "$l":arm
	umoci config --image "$l":arm --os linux --architecture arm64
	amd=$(jq -c --arg rn $rn '.manifests[] | select(.annotations[$rn] == "latest") | del(.annotations) + {platform: {architecture: "amd64", os: "linux"}}' "$l/index.json")
	arm=$(jq -c --arg rn $rn '.manifests[] | select(.annotations[$rn] == "arm") | del(.annotations) + {platform: {architecture: "arm64", os: "linux", variant: "v8"}}' "$l/index.json")
	jq -nc --argjson a "$amd" --argjson b "$arm" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [$a, $b]}' >idx.json
	read -r d s < <(blob_put "$l" idx.json)
	jq -c --arg d "$d" --argjson s "$s" --arg rn $rn \
		'.manifests += [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s, annotations: {($rn): "multi"}}]' \
		"$l/index.json" >i && mv i "$l/index.json"
}

# opaque_image: umoci's image and a fourth layer that makes /data opaque
# (.wh..wh..opq, hiding layer 3's /data/c) and adds /data/d.
opaque_image() {
	cp -r "$BATS_FILE_TMPDIR/umoci" opq
	mkdir -p opq-layer/data
	: >opq-layer/data/.wh..wh..opq
	echo d >opq-layer/data/d
	tar -cf opq.tar -C opq-layer data
	umoci raw add-layer --image opq:latest opq.tar
}
