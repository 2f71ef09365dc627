# tests/untar_helper.bash — fixtures for oci-untar, oci-whiteout and the hostile suite.

# untar_image LAYOUT TAG: an image of five layers, four made by umoci from a bundle
# and one crafted (umoci writes no opaque whiteouts itself).
#   1: dirs (sticky, setgid), a setuid file, a hardlink group across directories,
#      absolute and relative symlinks, /lib -> usr/lib, a FIFO, 200-byte names in a
#      path over 600 bytes, a file owned 1234:5678, a 3 MB file, a sparse file
#   2: deletes a file and a directory tree, changes a file, adds one
#   3: a directory replaced by a symlink, a file replaced by a directory
#   4: a file added to a directory of layer 1
#   5 (crafted): /data made opaque by a marker that comes *after* the entries the
#      layer adds there, one of them a directory that already existed below
untar_image() {
	local layout=$1 tag=$2 b=$T/untar-bundle r long
	umoci init --layout "$layout"
	umoci new --image "$layout:$tag"
	umoci unpack --image "$layout:$tag" "$b" >/dev/null
	r=$b/rootfs
	mkdir -p "$r/etc" "$r/usr/bin" "$r/usr/lib" "$r/data/keep" "$r/data/old/sub" "$r/tmp" "$r/srv" "$r/var" "$r/swap"
	echo hello >"$r/etc/motd"
	echo box >"$r/etc/hostname"
	printf '#!/bin/sh\necho tool\n' >"$r/usr/bin/tool"
	chmod 4755 "$r/usr/bin/tool"
	chmod 1777 "$r/tmp"
	chmod 2775 "$r/srv"
	echo linked >"$r/usr/lib/one"
	ln "$r/usr/lib/one" "$r/usr/lib/two"
	ln "$r/usr/lib/one" "$r/etc/three"
	ln -s /etc/hostname "$r/etc/abs-link"
	ln -s ../lib/one "$r/usr/bin/rel-link"
	ln -s usr/lib "$r/lib"
	mkfifo "$r/var/fifo"
	long=$(printf 'n%.0s' $(seq 200))
	mkdir -p "$r/deep/$long/$long"
	echo long >"$r/deep/$long/$long/$long"
	echo owned >"$r/data/owned"
	echo owned >"$r/etc/owned"
	chown 1234:5678 "$r/data/owned" "$r/etc/owned"
	echo a >"$r/data/old/a"
	echo b >"$r/data/old/sub/b"
	echo k >"$r/data/keep/k"
	echo lower >"$r/data/lower"
	echo s >"$r/swap/inside"
	head -c 3000000 /dev/urandom >"$r/usr/lib/big"
	truncate -s 5M "$r/usr/lib/sparse"
	umoci repack --refresh-bundle --image "$layout:$tag" "$b"
	rm "$r/etc/motd"
	rm -rf "$r/data/old"
	echo changed >"$r/data/keep/k"
	echo new >"$r/etc/new"
	umoci repack --refresh-bundle --image "$layout:$tag" "$b"
	rm -rf "$r/swap"
	ln -s usr/lib "$r/swap"
	rm "$r/etc/hostname"
	mkdir "$r/etc/hostname"
	echo x >"$r/etc/hostname/x"
	umoci repack --refresh-bundle --image "$layout:$tag" "$b"
	echo via-link >"$r/usr/lib/via-link"
	umoci repack --refresh-bundle --image "$layout:$tag" "$b"
	python3 - "$T/opaque.tar" <<'PY'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
def add(name, data=None, kind=tarfile.REGTYPE, mode=0o644):
    i = tarfile.TarInfo(name); i.type = kind; i.mode = mode; i.mtime = 1700000000
    if data is not None: i.size = len(data)
    t.addfile(i, io.BytesIO(data) if data is not None else None)
add("data/", kind=tarfile.DIRTYPE, mode=0o755)
add("data/fresh", b"fresh\n")
add("data/keep/", kind=tarfile.DIRTYPE, mode=0o755)
add("data/keep/again", b"again\n")
add("data/.wh..wh..opq", b"")
t.close()
PY
	umoci raw add-layer --image "$layout:$tag" "$T/opaque.tar"
	rm -rf "$b"
}

# One image for a whole suite (umoci is slow): untar_setup_file makes it,
# untar_setup gives each test its scratch $T and the image's path in $IMG.
untar_setup_file() {
	T=$BATS_FILE_TMPDIR
	cd "$T" || return 1
	untar_image "$T/img" latest
}

untar_setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	IMG=$BATS_FILE_TMPDIR/img
	W=
}

untar_teardown() {
	if [ -n "${W:-}" ]; then
		chmod -R u+w "$W"
		rm -rf "$W"
	fi
}

# tree_list DIR: one line per entry, sorted: path, type, mode, owner, size,
# content digest or link target, and a hardlink group number (0: one link).
tree_list() {
	python3 - "$1" <<'PY'
import hashlib, os, stat, sys
root = sys.argv[1]; rows = []; groups = {}
for d, dirs, files in os.walk(root):
    for n in dirs + files:
        p = os.path.join(d, n); st = os.lstat(p); rel = os.path.relpath(p, root)
        m = st.st_mode; what = ""; size = ""
        if stat.S_ISREG(m):
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for c in iter(lambda: f.read(1 << 20), b""): h.update(c)
            what = h.hexdigest()[:16]; size = st.st_size
        elif stat.S_ISLNK(m): what = "-> " + os.readlink(p)
        elif stat.S_ISCHR(m) or stat.S_ISBLK(m): what = "dev %d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        link = ""
        if not stat.S_ISDIR(m) and st.st_nlink > 1: link = (st.st_dev, st.st_ino)
        rows.append([rel, stat.filemode(m), "%o" % stat.S_IMODE(m), "%d:%d" % (st.st_uid, st.st_gid), str(size), what, link])
rows.sort()
for r in rows:
    if r[6] != "":
        r[6] = "link#%d" % groups.setdefault(r[6], len(groups) + 1)
    print(" ".join(str(x) for x in r))
PY
}

# snapshot DIR: everything under DIR (which holds the test's root), to check that
# nothing outside the root changed.
snapshot() {
	find "$1" -path "$1/root" -prune -o -printf '%p %y %m %s %T@ %l\n' | sort
}

# evil_tar FILE CASE [gz]: a hostile layer, crafted with Python's tarfile.
evil_tar() {
	python3 "$TESTS_DIR/evil_tar.py" "$@"
}

# blob_put LAYOUT FILE: store FILE as a blob; print "sha256:<hex> <size>".
blob_put() {
	local hex
	hex=$(sha256sum "$2" | cut -d' ' -f1)
	cp "$2" "$1/blobs/sha256/$hex"
	echo "sha256:$hex $(stat -c %s "$2")"
}

# rewrite_config LAYOUT JQ: edit the first image's config with a jq filter and
# store a new config, manifest and index.json that point to each other.
rewrite_config() {
	local l=$1 filter=$2 m c dc sc mm sm
	m=$(jq -r '.manifests[0].digest' "$l/index.json")
	c=$(jq -r .config.digest "$l/blobs/sha256/${m#sha256:}")
	jq -c "$filter" "$l/blobs/sha256/${c#sha256:}" >"$T/config.json"
	read -r dc sc < <(blob_put "$l" "$T/config.json")
	jq -c --arg d "$dc" --argjson s "$sc" '.config.digest = $d | .config.size = $s' \
		"$l/blobs/sha256/${m#sha256:}" >"$T/manifest.json"
	read -r mm sm < <(blob_put "$l" "$T/manifest.json")
	jq -c --arg d "$mm" --argjson s "$sm" '.manifests[0].digest = $d | .manifests[0].size = $s' \
		"$l/index.json" >"$T/index.json"
	mv "$T/index.json" "$l/index.json"
}

# layer_blob LAYOUT N: the path of the image's Nth layer blob (1 = bottom).
layer_blob() {
	local m d
	m=$(jq -r '.manifests[0].digest' "$1/index.json")
	d=$(jq -r ".layers[$(($2 - 1))].digest" "$1/blobs/sha256/${m#sha256:}")
	echo "$1/blobs/sha256/${d#sha256:}"
}

# layer_descs LAYOUT: the image's layer descriptors, one per line.
layer_descs() {
	local m
	m=$(jq -r '.manifests[0].digest' "$1/index.json")
	jq -c '.layers[]' "$1/blobs/sha256/${m#sha256:}"
}
