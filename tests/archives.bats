#!/usr/bin/env bats
# Image archives: oci-fetch reads docker-archive: and oci-archive: (what
# `docker save`, `podman save` and skopeo write), oci-push writes them.
# skopeo, umoci and podman are the oracles; hostile archives are crafted
# with Python's tarfile.

load helper
load untar_helper
load fetch_helper	# make_multi

D=$BATS_FILE_TMPDIR

# podman with a store of its own, in this suite's directory.
pod() { podman --root "$D/podman/root" --runroot "$D/podman/run" --storage-driver vfs "$@"; }

setup_file() {
	local T=$D ctx=$D/ctx
	umoci_image "$D/src" img >/dev/null
	# archives skopeo writes
	skopeo copy -q oci:"$D/src:img" docker-archive:"$D/skopeo-docker.tar:test/img:1"
	skopeo copy -q oci:"$D/src:img" oci-archive:"$D/skopeo-oci.tar:img"
	make_multi "$D/src"
	skopeo copy -q --all oci:"$D/src:multi" oci-archive:"$D/skopeo-multi.tar:multi"
	# archives podman writes, of an image podman builds (COPY only: no RUN here)
	mkdir -p "$ctx/etc"
	echo hello >"$ctx/hello.txt"
	echo podman >"$ctx/etc/motd"
	printf 'FROM scratch\nCOPY hello.txt /hello.txt\nCOPY etc /etc\nENV GREETING=hi\n' >"$ctx/Containerfile"
	pod build -q -t localhost/built:1 "$ctx" >/dev/null
	printf 'FROM localhost/built:1\nCOPY hello.txt /again.txt\n' >"$ctx/Containerfile"
	pod build -q -t localhost/built:2 "$ctx" >/dev/null
	pod save -q --format docker-archive -o "$D/podman-docker.tar" localhost/built:1
	pod save -q --format oci-archive -o "$D/podman-oci.tar" localhost/built:1
	pod save -q --format docker-archive -m -o "$D/podman-two.tar" localhost/built:1 localhost/built:2
}

# rootfs LAYOUT:TAG DIR: the image's files, by umoci unpack.
umoci_rootfs() {
	umoci unpack --image "$1" "$2.bundle" >/dev/null 2>&1
	tree_list "$2.bundle/rootfs"
}

# the same, by oci-untar
our_rootfs() {
	oci-untar -C "$2" "$1" >/dev/null
	tree_list "$2"
}

# A refused archive leaves no blob and no temporary file: a layout the run
# made is gone (nothing landed in it), one that was there holds none.
no_blobs() {
	[ -e "$1" ] || return 0
	run -0 find "$1/blobs" -type f
	assert_output ""
}

# ---- usage

@test "malformed archive names are usage errors; --manifest and --blob do not read archives" {
	run -2 oci-fetch docker-archive: out
	assert_output --partial "no file name"
	run -2 oci-fetch --manifest docker-archive:"$D/skopeo-docker.tar"
	assert_output --partial "not docker-archive:"
	run -2 oci-fetch docker-archive:"$D/skopeo-docker.tar" "out@sha256:$(printf '%064d' 0)"
	run -2 oci-push "$D/src:img" oci-archive:
	run -1 oci-fetch docker-archive:"$T/missing.tar" out
	assert_output --partial "missing.tar"
}

# ---- reading what skopeo and podman write

@test "skopeo's docker-archive: the same rootfs as umoci unpack of the source, diff_ids checked" {
	run -0 oci-fetch -v docker-archive:"$D/skopeo-docker.tar" out
	assert_output --partial "diff_ids checked"
	assert_line --regexp '"org.opencontainers.image.ref.name":"1"'
	run -0 oci-image-tool validate --type image --ref name=1 out
	run -0 skopeo inspect oci:out:1
	diff <(umoci_rootfs "$D/src:img" theirs) <(our_rootfs out:1 ours)
	# the config is the archive's, byte for byte
	assert_equal "$(oci-manifest --config out:1 | sha256sum)" "$(oci-manifest --config "$D/src:img" | sha256sum)"
}

@test "skopeo's oci-archive: the same manifest digest as the source; :TAG picks it" {
	want=$(oci-index "$D/src:img" | jq -r .digest)
	run -0 oci-fetch oci-archive:"$D/skopeo-oci.tar:img" out:mine
	assert_equal "$(jq -r .digest <<<"$output")" "$want"
	assert_equal "$(oci-index out:mine | jq -r .digest)" "$want"
	run -1 oci-fetch oci-archive:"$D/skopeo-oci.tar:nope" out2
	assert_output --partial "nope"
	no_blobs out2
}

@test "an oci-archive holding an index: this machine's manifest, -p another, --all the whole index" {
	index=$(oci-index "$D/src:multi" | jq -r .digest)
	arm=$(oci-index -p linux/arm64 "$D/src:multi" | jq -r .digest)
	run -0 oci-fetch -v -p linux/arm64 oci-archive:"$D/skopeo-multi.tar" one
	assert_equal "$(jq -r .digest <<<"$(oci-index one:multi)")" "$arm"
	assert_output --partial "every layer its diff_id"
	run -0 oci-fetch --all oci-archive:"$D/skopeo-multi.tar:multi" all
	assert_equal "$(oci-index all:multi | jq -r .digest)" "$index"
	run -0 oci-index -p linux/amd64 all:multi
	run -0 oci-image-tool validate --type image --ref name=multi all
}

@test "podman save --format docker-archive and oci-archive: both give the files podman built" {
	run -0 oci-fetch docker-archive:"$D/podman-docker.tar" a
	run -0 oci-fetch oci-archive:"$D/podman-oci.tar" b
	# podman names it localhost/built:1; the layout tag is the tag part
	oci-untar -C ra a:1 >/dev/null
	oci-untar -C rb b:1 >/dev/null
	assert_equal "$(cat ra/hello.txt ra/etc/motd)" "hello
podman"
	diff <(tree_list ra) <(tree_list rb)
	# skopeo reads podman's archive into the same rootfs
	skopeo copy -q docker-archive:"$D/podman-docker.tar" oci:theirs:1
	diff <(umoci_rootfs theirs:1 t) <(tree_list ra)
	run -0 oci-manifest --config a:1
	assert_output --partial "GREETING=hi"
}

@test "several images in one archive: REF picks by RepoTag or @N; without REF the error lists them" {
	run -1 oci-fetch docker-archive:"$D/podman-two.tar" out
	assert_output --partial "holds 2 images"
	assert_output --partial "localhost/built:1"
	assert_output --partial "localhost/built:2"
	no_blobs out
	run -0 oci-fetch docker-archive:"$D/podman-two.tar:localhost/built:2" out
	oci-untar -C r2 out:2 >/dev/null
	assert_file_exists r2/again.txt
	run -0 oci-fetch docker-archive:"$D/podman-two.tar:@0" out:first
	oci-untar -C r1 out:first >/dev/null
	assert_file_not_exists r1/again.txt
	run -1 oci-fetch docker-archive:"$D/podman-two.tar:@2" out3
	assert_output --partial "@0 to @1"
	run -1 oci-fetch docker-archive:"$D/podman-two.tar:localhost/other:1" out3
	assert_output --partial "no image localhost/other:1"
}

# docker25 FROM TO: the form Docker 25 and later save: an OCI layout in the tar, and a
# manifest.json whose Config and Layers are its blobs (here: skopeo's gzip layers, or,
# with "plain", podman's uncompressed tars renamed to blobs/sha256/<diff_id>).
docker25() {
	python3 - "$@" <<'PY'
import hashlib, io, json, sys, tarfile
src, dst = sys.argv[1:3]
plain = len(sys.argv) > 3
t = tarfile.open(src)
files = {m.name.lstrip("./"): t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
out = tarfile.open(dst, "w")
def add(name, data):
    ti = tarfile.TarInfo(name); ti.size = len(data); out.addfile(ti, io.BytesIO(data))
if plain:
    man = json.loads(files.pop("manifest.json"))
    cfg = files.pop(man[0]["Config"])
    entry = {"Config": "blobs/sha256/" + hashlib.sha256(cfg).hexdigest(), "RepoTags": man[0]["RepoTags"], "Layers": []}
    add(entry["Config"], cfg)
    for l in man[0]["Layers"]:
        name = "blobs/sha256/" + l[:-4]
        entry["Layers"].append(name)
        add(name, files[l])
else:
    index = json.loads(files["index.json"])
    m = json.loads(files["blobs/sha256/" + index["manifests"][0]["digest"][7:]])
    for n, d in files.items():
        add(n, d)
    entry = {"Config": "blobs/sha256/" + m["config"]["digest"][7:], "RepoTags": ["test/img:1"],
             "Layers": ["blobs/sha256/" + l["digest"][7:] for l in m["layers"]]}
add("manifest.json", json.dumps([entry]).encode())
out.close()
PY
}

@test "Docker 25's form (an OCI layout inside, manifest.json naming its blobs): compressed and plain layers" {
	docker25 "$D/skopeo-oci.tar" d25.tar
	run -0 oci-fetch docker-archive:d25.tar out
	diff <(our_rootfs out:1 ours) <(umoci_rootfs "$D/src:img" theirs)
	docker25 "$D/podman-docker.tar" d25plain.tar plain
	run -0 oci-fetch docker-archive:d25plain.tar plain
	oci-untar -C rp plain:1 >/dev/null
	assert_file_exists rp/hello.txt
}

@test "Docker 25's form with a diff_id that is not a string: exit 1 naming the layer, not a crash" {
	docker25 "$D/skopeo-oci.tar" d25.tar
	python3 - d25.tar bad.tar <<'PY'
import hashlib, io, json, sys, tarfile
src, dst = sys.argv[1:]
t = tarfile.open(src)
files = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
man = json.loads(files["manifest.json"])
cfg = json.loads(files[man[0]["Config"]])
cfg["rootfs"]["diff_ids"][0] = 1
data = json.dumps(cfg).encode()
man[0]["Config"] = "blobs/sha256/" + hashlib.sha256(data).hexdigest()
files[man[0]["Config"]] = data
files["manifest.json"] = json.dumps(man).encode()
out = tarfile.open(dst, "w")
for n, d in files.items():
    ti = tarfile.TarInfo(n); ti.size = len(d); out.addfile(ti, io.BytesIO(d))
out.close()
PY
	run -1 oci-fetch docker-archive:bad.tar out
	assert_output --partial "layer blobs/sha256/"
	assert_output --partial "but the config says nothing"
	run -0 jq -e '.manifests == []' out/index.json
}

# moby_classic SRC OUT: SRC, a docker-archive with each layer at the top as
# <diff_id>.tar (skopeo's and podman's form), laid out as docker save wrote
# it before Docker 25 (moby image/tarexport): each layer <id>/layer.tar with
# <id>/json and <id>/VERSION beside it, and a repositories file.
moby_classic() {
	python3 - "$1" "$2" <<'PY'
import hashlib, io, json, sys, tarfile
src, dst = sys.argv[1:]
t = tarfile.open(src)
files = {m.name: t.extractfile(m).read() for m in t.getmembers() if m.isfile()}
man = json.loads(files["manifest.json"])
out = tarfile.open(dst, "w")
def add(name, data):
    ti = tarfile.TarInfo(name); ti.size = len(data); out.addfile(ti, io.BytesIO(data))
layers, parent = [], ""
for name in man[0]["Layers"]:
    v1 = hashlib.sha256((parent + name).encode()).hexdigest()
    d = tarfile.TarInfo(v1); d.type = tarfile.DIRTYPE; d.mode = 0o755; out.addfile(d)
    add(v1 + "/VERSION", b"1.0")
    add(v1 + "/json", json.dumps({"id": v1, "parent": parent} if parent else {"id": v1}).encode())
    add(v1 + "/layer.tar", files[name])
    layers.append(v1 + "/layer.tar")
    parent = v1
add(man[0]["Config"], files[man[0]["Config"]])
man[0]["Layers"] = layers
add("manifest.json", json.dumps(man).encode())
repo, tag = man[0]["RepoTags"][0].rsplit(":", 1)
add("repositories", json.dumps({repo: {tag: parent}}).encode())
out.close()
PY
}

@test "docker save's form before Docker 25 (<id>/layer.tar, json, VERSION, repositories) is read too" {
	moby_classic "$D/skopeo-docker.tar" classic.tar
	run -0 tar -tf classic.tar
	assert_line --regexp '^[0-9a-f]{64}/layer\.tar$'
	assert_line repositories
	run -0 oci-fetch docker-archive:classic.tar out
	diff <(our_rootfs out:1 ours) <(umoci_rootfs "$D/src:img" theirs)
	# The config is the same bytes: the same IMAGE ID.
	[ "$(oci-manifest --config out:1 | oci-digest)" = "$(oci-manifest --config "$D/src:img" | oci-digest)" ]
}

@test "a docker archive through gzip is read the same" {
	gzip -c "$D/skopeo-docker.tar" >z.tar.gz
	run -0 oci-fetch docker-archive:z.tar.gz out
	diff <(our_rootfs out:1 ours) <(umoci_rootfs "$D/src:img" theirs)
}

# ---- writing

@test "oci-push docker-archive: skopeo reads it back to the same rootfs, and podman load takes it" {
	run -0 oci-push "$D/src:img" docker-archive:out.tar:example.com/team/app:2
	run -0 tar tf out.tar
	assert_line manifest.json
	run -0 tar xOf out.tar manifest.json
	assert_equal "$(jq -r '.[0].RepoTags[0]' <<<"$output")" example.com/team/app:2
	# each layer is an uncompressed tar named by its diff_id
	for f in $(tar xOf out.tar manifest.json | jq -r '.[0].Layers[]'); do
		assert_equal "$(tar xOf out.tar "$f" | sha256sum | cut -c1-64).tar" "$f"
	done
	skopeo copy -q docker-archive:out.tar oci:back:1
	diff <(umoci_rootfs back:1 theirs) <(umoci_rootfs "$D/src:img" src)
	run -0 pod load -i out.tar
	assert_output --partial "example.com/team/app:2"
	# and our own reader takes what we wrote
	run -0 oci-fetch docker-archive:out.tar ours
	assert_equal "$(oci-manifest --config ours:2 | sha256sum)" "$(oci-manifest --config "$D/src:img" | sha256sum)"
}

@test "oci-push oci-archive: skopeo sees the same manifest digest" {
	want=$(oci-index "$D/src:img" | jq -r .digest)
	run -0 oci-push "$D/src:img" oci-archive:out.tar:v1
	assert_equal "$(jq -r .digest <<<"$output")" "$want"
	skopeo copy -q oci-archive:out.tar:v1 oci:back:1
	assert_equal "$(oci-index back:1 | jq -r .digest)" "$want"
	run -0 oci-fetch oci-archive:out.tar:v1 ours
	assert_equal "$(jq -r .digest <<<"$output")" "$want"
}

@test "round trip: skopeo docker-archive → oci-fetch → oci-push docker-archive → skopeo: one rootfs" {
	oci-fetch -q docker-archive:"$D/skopeo-docker.tar" mid >/dev/null
	oci-push -q mid:1 docker-archive:again.tar:test/img:1 >/dev/null
	skopeo copy -q docker-archive:again.tar oci:back:1
	diff <(umoci_rootfs back:1 b) <(umoci_rootfs "$D/src:img" s)
}

@test "a failed write leaves no archive and no temporary file" {
	cp -a "$D/src" broken
	layer=$(oci-manifest --layers broken:img | jq -r .digest | head -1)
	chmod u+w "broken/blobs/sha256/${layer#sha256:}"
	printf 'X' | dd of="broken/blobs/sha256/${layer#sha256:}" bs=1 seek=20 conv=notrunc 2>/dev/null
	run -1 oci-push broken:img docker-archive:out.tar
	run -1 oci-push broken:img oci-archive:out.tar
	assert_output --partial "${layer:7:12}"
	run -0 ls -A
	assert_output broken
}

# ---- hostile archives

# hostile FILE CASE: a docker archive made from skopeo's, with one thing wrong.
hostile() {
	python3 - "$D/skopeo-docker.tar" "$1" "$2" <<'PY'
import io, json, sys, tarfile
src, dst, case = sys.argv[1:]
src = tarfile.open(src)
members = {m.name: src.extractfile(m).read() if m.isfile() else None for m in src.getmembers()}
links = {m.name: m.linkname for m in src.getmembers() if m.issym()}
man = json.loads(members["manifest.json"])
layers = man[0]["Layers"]
out = tarfile.open(dst, "w")
def add(name, data=b"", kind=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name); ti.type = kind; ti.linkname = link; ti.size = len(data)
    out.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
for name, data in members.items():
    if data is None or name == "manifest.json":
        continue
    if case == "missing-layer" and name == layers[0]:
        continue
    if case == "diff-id" and name == layers[-1]:
        data = data[:-1024] + b"\0" * 1024   # still a tar, other bytes
        data = bytearray(data); data[700] ^= 1; data = bytes(data)
    add(("../" + name) if case == "dotdot" and name == layers[0] else name, data)
if case == "symlink-out":
    add("evil.tar", kind=tarfile.SYMTYPE, link="../../../etc/passwd")
    layers[0] = "evil.tar"
if case == "symlink-empty":
    add("evil.tar", kind=tarfile.SYMTYPE, link="")
    layers[0] = "evil.tar"
if case == "absolute-config":
    man[0]["Config"] = "/etc/passwd"
if case == "outside-config":
    man[0]["Config"] = "../" + man[0]["Config"]
if case == "extra-layer":
    layers.append(layers[0])
if case == "compressed":
    import gzip
    add("z.tar", gzip.compress(members[layers[0]]))
    layers[0] = "z.tar"
add("manifest.json", json.dumps(man).encode())
out.close()
PY
}

@test "hostile docker archives: a clear error, exit 1, and no blob in the layout" {
	local c
	for c in dotdot symlink-out symlink-empty absolute-config outside-config missing-layer extra-layer diff-id compressed; do
		hostile "$c.tar" "$c"
		run -1 oci-fetch docker-archive:"$c.tar" "out-$c"
		case $c in
		dotdot) assert_output --partial 'a name with ".."' ;;
		symlink-out) assert_output --partial "outside the archive" ;;
		symlink-empty) assert_output --partial "evil.tar" ;;
		absolute-config) assert_output --partial "an absolute name" ;;
		outside-config) assert_output --partial 'a name with ".."' ;;
		missing-layer) assert_output --partial "is not in the archive" ;;
		extra-layer) assert_output --partial "but the config has" ;;
		diff-id) assert_output --partial "its diff_id is sha256:" ;;
		compressed) assert_output --partial "compressed" ;;
		esac
		no_blobs "out-$c"
	done
}

@test "hostile OCI archives: a blob whose bytes are not its name, a manifest naming a missing blob" {
	mkdir x && tar -C x -xf "$D/skopeo-oci.tar"
	layer=$(oci-manifest --layers x:img | jq -r .digest | head -1)
	chmod -R u+w x
	printf 'X' | dd of="x/blobs/sha256/${layer#sha256:}" bs=1 seek=20 conv=notrunc 2>/dev/null
	tar -C x -cf bad.tar .
	run -1 oci-fetch oci-archive:bad.tar out
	assert_output --partial "its bytes are sha256:"
	no_blobs out
	rm "x/blobs/sha256/${layer#sha256:}"
	tar -C x -cf missing.tar .
	run -1 oci-fetch oci-archive:missing.tar out
	assert_output --partial "$layer is not in the archive"
	no_blobs out
	# a config whose diff_ids are not the layers': every digest checks out, but not the image
	rm -rf x && mkdir x && tar -C x -xf "$D/skopeo-oci.tar"
	python3 - x <<'PY'
import hashlib, json, os, sys
d = sys.argv[1]
def blob(h): return os.path.join(d, "blobs/sha256", h)
def put(data):
    h = hashlib.sha256(data).hexdigest(); open(blob(h), "wb").write(data); return h, len(data)
index = json.load(open(os.path.join(d, "index.json")))
m = json.load(open(blob(index["manifests"][0]["digest"][7:])))
c = json.load(open(blob(m["config"]["digest"][7:])))
c["rootfs"]["diff_ids"][0] = "sha256:" + "0" * 64
h, n = put(json.dumps(c).encode()); m["config"]["digest"] = "sha256:" + h; m["config"]["size"] = n
h, n = put(json.dumps(m).encode()); index["manifests"][0]["digest"] = "sha256:" + h; index["manifests"][0]["size"] = n
json.dump(index, open(os.path.join(d, "index.json"), "w"))
PY
	tar -C x -cf diffid.tar .
	run -1 oci-fetch oci-archive:diffid.tar out3
	assert_output --partial "its diff_id is sha256:"
	assert_output --partial "but the config says sha256:0000000000"
	run -0 jq -e '.manifests == []' out3/index.json
	printf 'not a tar at all' >junk.tar
	run -1 oci-fetch oci-archive:junk.tar out
	no_blobs out
}
