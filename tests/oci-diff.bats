#!/usr/bin/env bats
# tests/oci-diff.bats — oci-diff: usage; the change lists, --which and --summary
# of images made by umoci and by oci-commit, each against tests/diff_oracle.py
# (Python's tarfile and the image-spec's rules, written apart from lib/layer/diff.c);
# the wasted bytes against an extracted rootfs; an upperdir against what an
# overlayfs mount changed; hostile and damaged layers.

load helper
load untar_helper

# commit_image LAYOUT TAG: three layers made by oci-commit, every entry kind in them.
#   1: files, a hardlink group of 10000 bytes (data/one, data/two), a symlink, a FIFO,
#      a character and a block device, /secret.txt, directories d, swap and a file f2d
#   2 (an overlayfs upperdir): /etc/motd whited out (a 0:0 device), /d opaque with a new
#      file, /swap a directory replaced by a file, /f2d a file replaced by a directory,
#      /data/one replaced (data/two still shows the group's bytes)
#   3: /swap a directory again; /secret.txt and /data/two whited out
commit_image() {
	local layout=$1 tag=$2 r=$T/commit-tree
	rm -rf "$r"
	mkdir -p "$r/etc" "$r/d/sub" "$r/swap" "$r/data" "$r/dev"
	echo motd >"$r/etc/motd"
	echo "the password is swordfish" >"$r/secret.txt"
	echo lower >"$r/d/lower"
	echo deep >"$r/d/sub/deep"
	echo inside >"$r/swap/inside"
	echo f2d >"$r/f2d"
	head -c 10000 /dev/urandom >"$r/data/one"
	ln "$r/data/one" "$r/data/two"
	ln -s ../etc/motd "$r/data/link"
	mkfifo "$r/data/fifo"
	mknod "$r/dev/null" c 1 3
	mknod "$r/dev/loop0" b 7 0
	SOURCE_DATE_EPOCH=1700000000 oci-commit -q "$r" "$layout:$tag" >/dev/null
	rm -rf "$r"
	mkdir -p "$r/etc" "$r/d" "$r/data" "$r/f2d"
	mknod "$r/etc/motd" c 0 0
	setfattr -n trusted.overlay.opaque -v y "$r/d"
	echo new >"$r/d/new"
	echo file-now >"$r/swap"
	echo dir-now >"$r/f2d/x"
	head -c 3000 /dev/urandom >"$r/data/one"
	SOURCE_DATE_EPOCH=1700000000 oci-commit -q "$r" "$layout:$tag" >/dev/null
	rm -rf "$r"
	mkdir -p "$r/swap" "$r/data"
	echo back >"$r/swap/back"
	mknod "$r/secret.txt" c 0 0
	mknod "$r/data/two" c 0 0
	SOURCE_DATE_EPOCH=1700000000 oci-commit -q "$r" "$layout:$tag" >/dev/null
	rm -rf "$r"
}

setup_file() {
	T=$BATS_FILE_TMPDIR
	cd "$T" || return 1
	umoci_image "$T/umoci" latest
	untar_image "$T/untar" latest
	commit_image "$T/commit" latest
}

IMAGES="umoci untar commit"

oracle() { python3 "$TESTS_DIR/diff_oracle.py" "$BATS_FILE_TMPDIR/$1" latest "${@:2}"; }

# ours NAME: oci-diff's change list in the oracle's form.
ours() {
	oci-diff "$BATS_FILE_TMPDIR/$1:latest" | jq -r '[.layer, .change, .path, .type, .size] | @tsv'
}

@test "usage: -h, --version, and usage errors exit 2" {
	run -0 oci-diff -h
	assert_line --index 0 --partial "usage: oci-diff"
	run -0 oci-diff --version
	assert_output --partial "oci-diff"
	run -2 oci-diff
	assert_output --partial "usage:"
	run -2 oci-diff a b c
	run -2 oci-diff --summary --which /x img
	run -2 oci-diff --summary img upper
	run -2 oci-diff --which ../etc img
	assert_output --partial '".." would leave the root'
	run -2 oci-diff --which / img
	run -2 oci-diff --bogus img
	run -2 oci-diff -p nope img
}

@test "the change list of every image equals the one worked out from its tar listings" {
	local i
	for i in $IMAGES; do
		oracle "$i" changes >"$T/$i.want"
		ours "$i" >"$T/$i.got"
		[ -s "$T/$i.want" ]
		diff -u "$T/$i.want" "$T/$i.got"
	done
	# The fixtures hold every change and every entry kind.
	cat "$T"/*.got >"$T/all"
	for k in added modified deleted; do grep -q "	$k	" "$T/all"; done
	for k in file dir symlink hardlink char block fifo; do grep -q "	$k	[0-9]*$" "$T/all"; done
}

@test "known answers: whiteouts, an opaque directory, a directory replaced by a file and back" {
	run -0 oci-diff --short "$BATS_FILE_TMPDIR/commit:latest"
	assert_line "D /etc/motd"
	assert_line "D /d/lower"
	assert_line "D /d/sub"
	refute_line "D /d/sub/deep"
	assert_line "A /d/new"
	assert_line "C /swap"
	assert_line "D /swap/inside"
	assert_line "C /f2d"
	assert_line "A /f2d/x"
	assert_line "D /secret.txt"
	# Each line carries its layer's diff_id, from the config.
	config=$(oci-manifest --config "$BATS_FILE_TMPDIR/commit:latest")
	run -0 bash -c "oci-diff '$BATS_FILE_TMPDIR/commit:latest' | jq -r '\"\(.layer) \(.diff_id)\"' | sort -u"
	assert_output "$(jq -r '.rootfs.diff_ids | to_entries[] | "\(.key + 1) \(.value)"' <<<"$config")"
}

@test "--which: every layer that touches a path, and where the rootfs takes it from" {
	local i p
	for i in $IMAGES; do
		for p in /etc/motd /secret.txt /data/two /data/one /swap /swap/inside /data/keep/k \
		    /etc/hostname /etc/hostname/x /data/c /data/old/sub/b /usr/lib/two /nowhere; do
			oracle "$i" which "$p" >"$T/want"
			oci-diff --which "$p" "$BATS_FILE_TMPDIR/$i:latest" |
				jq -r 'if has("rootfs") | not then [.layer, .change, .path, .type, .size] | @tsv
				    elif .rootfs == null then "rootfs\tnone"
				    else "rootfs\t\(.rootfs.layer)\t\(.rootfs.type)\t\(.rootfs.size)" end' >"$T/got"
			diff -u "$T/want" "$T/got"
		done
	done
	run -0 oci-diff --short --which secret.txt "$BATS_FILE_TMPDIR/commit:latest"
	assert_output "layer 1: A /secret.txt
layer 3: D /secret.txt
rootfs: no /secret.txt"
	run -0 oci-diff --short --which ./etc//new "$BATS_FILE_TMPDIR/umoci:latest"
	assert_output "layer 2: A /etc/new
rootfs: /etc/new from layer 2"
	# /lib is a symlink to usr/lib: the path is followed as oci-untar would follow it
	oracle untar which /usr/lib/two | grep -v '^rootfs' >"$T/want"
	oci-diff --which /lib/two "$BATS_FILE_TMPDIR/untar:latest" >"$T/which"
	jq -r 'select(has("rootfs") | not) | [.layer, .change, .path, .type, .size] | @tsv' "$T/which" >"$T/got"
	[ -s "$T/want" ]
	diff -u "$T/want" "$T/got"
	run -0 jq -c 'select(has("rootfs")) | [.path, .rootfs.path, .rootfs.layer]' "$T/which"
	assert_output '["/lib/two","/usr/lib/two",1]'
	run -0 oci-diff --short --which /lib/two "$BATS_FILE_TMPDIR/untar:latest"
	assert_line "rootfs: /lib/two is /usr/lib/two, from layer 1"
}

@test "--summary: counts and wasted bytes as worked out apart; files = visible + wasted" {
	local i
	for i in $IMAGES; do
		oracle "$i" summary >"$T/want"
		oci-diff --summary "$BATS_FILE_TMPDIR/$i:latest" >"$T/summary"
		jq -r '[.layer, .added, .modified, .deleted, .files, .wasted] | @tsv' "$T/summary" >"$T/got"
		diff -u "$T/want" "$T/got"
		jq -e '.files == .visible + .wasted' "$T/summary" >/dev/null
		# the sizes are the layer's own: stored bytes as in the manifest, tar bytes unpacked
		oci-manifest --layers "$BATS_FILE_TMPDIR/$i:latest" | jq -r .size >"$T/sizes"
		cmp "$T/sizes" <(jq -r .size "$T/summary")
	done
	# commit: 10000 bytes of one hardlink group, counted once, are wasted in layer 1
	run -0 jq -r 'select(.layer == 1) | .wasted' "$T/summary"
	[ "$output" -ge 10000 ]
	[ "$output" -lt 20000 ]
}

@test "--summary: the visible bytes are the regular files of the extracted rootfs, hardlinks once" {
	local i
	for i in $IMAGES; do
		oci-untar -q -C "$T/$i-root" "$BATS_FILE_TMPDIR/$i:latest"
		want=$(find "$T/$i-root" -type f -printf '%i %s\n' | sort -u | awk '{ s += $2 } END { print s + 0 }')
		got=$(oci-diff --summary "$BATS_FILE_TMPDIR/$i:latest" | jq -s 'map(.visible) | add')
		[ "$want" = "$got" ] || { echo "$i: rootfs has $want bytes, oci-diff says $got visible"; return 1; }
	done
}

# rootfs_of: the change lists on stdin (all layers, JSON) applied in order, as
# "path type" lines: what the rootfs holds after the last layer.
rootfs_of() {
	python3 -c '
import json, sys
state = {}
def drop(p):
    for q in [q for q in state if q == p or q.startswith(p + "/")]:
        del state[q]
for line in sys.stdin:
    c = json.loads(line)
    p = c["path"]
    if c["change"] == "deleted":
        drop(p)
        continue
    if c["change"] == "modified" and not (state.get(p) == "dir" and c["type"] == "dir"):
        drop(p)
    state[p] = "file" if c["type"] == "hardlink" else c["type"]
for p in sorted(state):
    print(p, state[p])
'
}

# tree_of DIR: the same lines for an extracted rootfs.
tree_of() {
	(cd "$1" && find . -mindepth 1 -printf '/%P %y\n') |
		sed 's/ f$/ file/; s/ d$/ dir/; s/ l$/ symlink/; s/ p$/ fifo/; s/ c$/ char/; s/ b$/ block/' | LC_ALL=C sort
}

@test "the change lists, applied in order, give the rootfs oci-untar extracts" {
	local i
	for i in $IMAGES; do
		oci-diff "$BATS_FILE_TMPDIR/$i:latest" | rootfs_of | LC_ALL=C sort >"$T/$i.diff"
		oci-untar -q -C "$T/$i-root" "$BATS_FILE_TMPDIR/$i:latest"
		tree_of "$T/$i-root" >"$T/$i.tree"
		[ -s "$T/$i.tree" ]
		diff -u "$T/$i.tree" "$T/$i.diff"
	done
}

@test "entries written through a symlink land where oci-untar puts them, inside the root" {
	local c ok=0
	for c in symlink-rel-write symlink-abs-write symlink-root-write symlink-chain symlink-across-layers \
	    dir-to-symlink-layers dir-to-symlink-one-layer symlink-then-dir; do
		rm -rf "$T/evil" "$T/tars" "$T/root"
		evil_image "$c"
		# what oci-untar refuses (a symlink to nothing in the root), oci-diff refuses
		if ! oci-untar -q -C "$T/root" "$T/evil:latest" 2>"$T/err"; then
			run -1 oci-diff "$T/evil:latest"
			assert_output --regexp '\(a symlink leads there\)|would leave the root'
			continue
		fi
		oci-diff "$T/evil:latest" | rootfs_of | LC_ALL=C sort >"$T/diff"
		tree_of "$T/root" >"$T/tree"
		diff -u "$T/tree" "$T/diff" || { echo "case $c"; return 1; }
		ok=$((ok + 1))
	done
	[ "$ok" -ge 1 ]
	# A merged-/usr base, and a layer that writes through /lib and /bin as tar-built layers do.
	python3 - "$T" <<'PY'
import io, sys, tarfile
def layer(path, entries):
    t = tarfile.open(path, "w", format=tarfile.PAX_FORMAT)
    for name, kind, data, link in entries:
        i = tarfile.TarInfo(name); i.type = kind; i.linkname = link; i.mode = 0o755
        if data is not None: i.size = len(data)
        t.addfile(i, io.BytesIO(data) if data is not None else None)
    t.close()
D, F, S, H = tarfile.DIRTYPE, tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
layer(sys.argv[1] + "/usr1.tar", [("usr/", D, None, ""), ("usr/lib/", D, None, ""), ("usr/bin/", D, None, ""),
                                  ("lib", S, None, "usr/lib"), ("bin", S, None, "/usr/bin")])
layer(sys.argv[1] + "/usr2.tar", [("lib/x86_64/", D, None, ""), ("lib/x86_64/libfoo.so", F, b"elf\n", ""),
                                  ("bin/tool", F, b"#!/bin/sh\n", ""), ("lib/alias", H, None, "lib/x86_64/libfoo.so")])
PY
	rm -rf "$T/usr" "$T/root"
	umoci init --layout "$T/usr"
	umoci new --image "$T/usr:latest"
	umoci raw add-layer --image "$T/usr:latest" "$T/usr1.tar"
	umoci raw add-layer --image "$T/usr:latest" "$T/usr2.tar"
	oci-untar -q -C "$T/root" "$T/usr:latest"
	oci-diff "$T/usr:latest" | rootfs_of | LC_ALL=C sort >"$T/diff"
	tree_of "$T/root" >"$T/tree"
	diff -u "$T/tree" "$T/diff"
	run -0 oci-diff --short --which /usr/lib/x86_64/libfoo.so "$T/usr:latest"
	assert_output "layer 2: A /usr/lib/x86_64/libfoo.so
rootfs: /usr/lib/x86_64/libfoo.so from layer 2"
	run -0 oci-diff --summary "$T/usr:latest"
	assert_line --index 1 --partial '"files":14,"visible":14,"wasted":0}'
}

@test "IMAGE UPPERDIR: what a real overlay mount changed, as docker diff shows it" {
	[ "$(id -u)" -eq 0 ] || skip "overlayfs with trusted.* xattrs needs root"
	oci-overlay -q "$BATS_FILE_TMPDIR/commit:latest" ctr >/dev/null
	snap() {
		python3 - "$1" <<'PY'
import hashlib, os, stat, sys
root = sys.argv[1]
for d, dirs, files in os.walk(root):
    for n in dirs + files:
        p = os.path.join(d, n); st = os.lstat(p); what = ""
        if stat.S_ISREG(st.st_mode): what = hashlib.sha256(open(p, "rb").read()).hexdigest()
        elif stat.S_ISLNK(st.st_mode): what = os.readlink(p)
        print("/" + os.path.relpath(p, root) + "\t" + stat.filemode(st.st_mode) + "\t" + what)
PY
	}
	snap ctr/merged >before
	echo added >ctr/merged/added
	mkdir -p ctr/merged/newdir/sub
	echo changed >>ctr/merged/d/new
	rm ctr/merged/f2d/x
	rm -rf ctr/merged/d
	mkdir ctr/merged/d
	echo fresh >ctr/merged/d/fresh
	rm -rf ctr/merged/swap
	chmod 0700 ctr/merged/dev/null
	ln -sf elsewhere ctr/merged/data/link
	snap ctr/merged >after
	oci-overlay -u ctr/merged
	# A: new paths; D: gone paths, not those inside a gone directory; C: paths whose type,
	# mode or contents changed, and the directories above any change (overlayfs copies them up).
	python3 - before after >want <<'PY'
import sys
def load(f):
    return dict(l.rstrip("\n").split("\t", 1) for l in open(f))
b, a = load(sys.argv[1]), load(sys.argv[2])
parent = lambda p: p.rsplit("/", 1)[0] or "/"
added = set(a) - set(b)
deleted = {p for p in set(b) - set(a) if parent(p) not in set(b) - set(a)}
changed = {p for p in set(a) & set(b) if a[p] != b[p]}
for p in list(added | deleted | changed):
    while parent(p) != "/":
        p = parent(p)
        if p in a and p in b: changed.add(p)
for p in sorted(added): print("A " + p)
for p in sorted(changed): print("C " + p)
for p in sorted(deleted): print("D " + p)
PY
	oci-diff --short "$BATS_FILE_TMPDIR/commit:latest" ctr/upper >got
	sort -k1,1 -k2 got >got.sorted
	diff -u want got.sorted
	grep -qx 'D /d/new' got
	grep -qx 'C /d' got
	grep -q '^A /newdir/sub$' got
	# JSON lines of the upperdir carry no layer
	run -0 oci-diff "$BATS_FILE_TMPDIR/commit:latest" ctr/upper
	assert_line '{"path":"/added","change":"added","type":"file","size":6}'
	run -0 oci-diff --short --which /swap "$BATS_FILE_TMPDIR/commit:latest" ctr/upper
	assert_line "layer 4: D /swap"
	assert_line "rootfs: no /swap"
}

@test "-v says what each whiteout hides and what still ships; stdout stays the same" {
	oci-diff "$BATS_FILE_TMPDIR/commit:latest" >plain
	run -0 --separate-stderr oci-diff -v "$BATS_FILE_TMPDIR/commit:latest"
	[ "$output" = "$(cat plain)" ]
	grep -q '^oci-diff: layer 3: .wh.secret.txt hides /secret.txt from layer 1 — its 26 B still ship in layer 1$' <<<"$stderr"
	grep -q '^oci-diff: layer 2: /d/.wh..wh..opq hides what the layers below had in /d — ' <<<"$stderr"
	grep -q 'digest and diff_id verified' <<<"$stderr"
}

@test "as nobody: an image that nobody may read is listed the same" {
	local d
	d=$(mktemp -d /tmp/oci-diff-test.XXXXXX)
	cp -r "$BATS_FILE_TMPDIR/untar" "$d/img"
	chmod -R a+rX "$d"
	run -0 as_nobody oci-diff --short "$d/img:latest"
	rm -rf "$d"
	[ "$output" = "$(oci-diff --short "$BATS_FILE_TMPDIR/untar:latest")" ]
}

# evil_image CASE: the hostile case's layers (tests/evil_tar.py) as the image $T/evil:latest.
evil_image() {
	mkdir -p "$T/tars" "$T/outside"
	evil_tar "$T/tars" "$1" "$T/outside"
	umoci init --layout "$T/evil" 2>/dev/null
	umoci new --image "$T/evil:latest"
	for t in "$T/tars/$1".*.tar; do umoci raw add-layer --image "$T/evil:latest" "$t"; done
}

@test "hostile layers: the names oci-untar refuses fail with the entry named, exit 1" {
	local c msg
	while IFS='|' read -r c msg; do
		rm -rf "$T/evil" "$T/tars"
		evil_image "$c"
		run -1 oci-diff "$T/evil:latest"
		assert_output --partial "oci-diff: layer sha256:"
		assert_output --partial "$msg"
	done <<'CASES'
dotdot|"../outside/victim": ".." would leave the root
dotdot-deep|".." would leave the root
absolute|"/../outside/victim": ".." would leave the root
symlink-loop|/a/victim: /a: too many levels of symbolic links
hardlink-outside|/h: hardlink target: "../outside/victim": ".." would leave the root
hardlink-through-symlink|/h: hardlink to /esc/victim, which is not there
hardlink-self|/h: hardlink to itself
hardlink-dir|/h: hardlink to a directory (/d)
name-over-path-max|name longer than PATH_MAX
whiteout-dot|"d/.wh..": refusing a whiteout that names nothing, . or ..
whiteout-empty|".wh.": refusing a whiteout that names nothing, . or ..
root-hardlink|an entry may not replace the root
CASES
	# A hardlink whose target goes with the directory the link replaces.
	python3 - "$T/hl.tar" <<'PY'
import io, sys, tarfile
t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
for name, kind, data, link in (("x/", tarfile.DIRTYPE, None, ""), ("x/f", tarfile.REGTYPE, b"hi\n", ""),
                               ("x", tarfile.LNKTYPE, None, "x/f")):
    i = tarfile.TarInfo(name); i.type = kind; i.linkname = link
    if data is not None: i.size = len(data)
    t.addfile(i, io.BytesIO(data) if data is not None else None)
t.close()
PY
	rm -rf "$T/evil"
	umoci init --layout "$T/evil"
	umoci new --image "$T/evil:latest"
	umoci raw add-layer --image "$T/evil:latest" "$T/hl.tar"
	run -1 oci-diff "$T/evil:latest"
	assert_output --partial "/x: hardlink to /x/f, which it replaces"
	# A whiteout behind a symlink names nothing of the layers below: it is not followed.
	rm -rf "$T/evil" "$T/tars"
	evil_image whiteout-through-symlink
	run -0 oci-diff --short "$T/evil:latest"
	assert_output "A /esc"
}

@test "damaged layers: a changed byte, a short blob, a wrong diff_id exit 1 naming the layer" {
	cp -r "$BATS_FILE_TMPDIR/umoci" img
	blob=$(layer_blob img 2)
	chmod u+w "$blob"
	printf '\x00' | dd of="$blob" bs=1 seek=20 conv=notrunc status=none
	run -1 oci-diff img:latest
	assert_output --regexp "oci-diff: layer sha256:[0-9a-f]{12}: (layer digest: digest mismatch|gzip: )"
	rm -rf img && cp -r "$BATS_FILE_TMPDIR/umoci" img
	blob=$(layer_blob img 1)
	chmod u+w "$blob"
	truncate -s 100 "$blob"
	run -1 oci-diff img:latest
	assert_output --partial "oci-diff: layer sha256:"
	rm -rf img && cp -r "$BATS_FILE_TMPDIR/umoci" img
	rewrite_config img '.rootfs.diff_ids[0] = .rootfs.diff_ids[1]'
	run -1 oci-diff --summary img:latest
	assert_output --partial "diff_id (the uncompressed tar): digest mismatch"
	rewrite_config img '.rootfs.diff_ids = [.rootfs.diff_ids[0]]'
	run -1 oci-diff img:latest
	assert_output "oci-diff: the config has 1 diff_id for 3 layers"
	run -1 oci-diff nowhere:latest
}
