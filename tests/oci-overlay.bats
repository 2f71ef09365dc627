#!/usr/bin/env bats
# oci-overlay: an image's layers stacked with real overlayfs, as root on the
# host (trusted.overlay.* xattrs) and as user nobody inside oci-unshare
# (userxattr, user.overlay.*).  `umoci unpack` is the oracle for the merged
# view.  The layers are extracted by lib/layer/untar.c (oci_untar_fd).

bats_require_minimum_version 1.5.0
load helper
load commit_helper
load container_helper

setup_file() {
	fixtures_dir
	{
		# umoci_image's three layers delete files (.wh. entries); umoci never
		# writes an opaque marker, so a fourth layer made with tar has one:
		# /data becomes just /data/d.
		umoci_image img latest
		mkdir -p opq/data && echo d >opq/data/d && : >opq/data/.wh..wh..opq
		tar -C opq --no-recursion -cf opq.tar data data/.wh..wh..opq data/d
		umoci raw add-layer --image img:latest opq.tar
		# A fifth layer on top of those: it shares their diff_ids.
		mkdir -p more/etc && echo more >more/etc/more && tar -C more -cf more.tar etc
		umoci raw add-layer --image img:latest --tag more more.tar
		umoci unpack --image img:latest ref
		busybox_image bb latest
		many_layers_image many latest 120
	} >/dev/null
	chmod -R a+rX "$F"
}

setup() {
	T=$BATS_TEST_TMPDIR
	open_to_nobody "$T"
	cd "$T" || return 1
}

# in_ns WHO SCRIPT: run SCRIPT with sh in a private mount namespace — as real
# root in the host's user namespace, or as nobody in one of its own.
in_ns() {
	if [ "$1" = root ]; then
		oci-unshare -m sh -c "$2"
	else
		as nobody oci-unshare sh -c "$2"
	fi
}

# The image's diff_ids, bottom first, as its config lists them.
diff_ids() {
	jq -r '.rootfs.diff_ids[]' "$(config_of "${1%%:*}" "${1#*:}")"
}

# ---- usage ----

@test "-h prints the usage on stdout; --version; usage errors exit 2" {
	run -0 oci-overlay -h
	assert_line --index 0 "usage: oci-overlay [-nqv] [-p OS/ARCH[/VARIANT]] IMAGE DIR"
	assert_output --partial "oci-overlay [-qv] -u MERGED|DIR"
	run -0 oci-overlay --version
	assert_output --regexp '^oci-overlay \(oci-\*\) [0-9]'
	run -2 oci-overlay
	run -2 oci-overlay "$F/img:latest"
	run -2 oci-overlay --lower a --upper u m
	run -2 oci-overlay --lower a --work w m
	run -2 oci-overlay --lower a m extra
	run -2 oci-overlay -u a b
	run -2 oci-overlay --bogus
	run -2 oci-overlay -p not-a-platform "$F/img:latest" C
	# --store: IMAGE NAME, or one of -u NAME, --rm NAME, --ls
	assert_output --partial "oci-overlay [-qv] --store STORE -u NAME | --rm NAME | --ls"
	run -2 oci-overlay --store S
	run -2 oci-overlay --store S "$F/img:latest"
	run -2 oci-overlay --store S "$F/img:latest" a b
	run -2 oci-overlay --store S --ls x
	run -2 oci-overlay --store S -u
	run -2 oci-overlay --store S --rm a --ls
	run -2 oci-overlay --store S -u a --rm a
	run -2 oci-overlay --store S -n "$F/img:latest" a
	run -2 oci-overlay --store S --lower a m
	run -2 oci-overlay --rm a
	run -2 oci-overlay --ls
	[ ! -e S ]
}

@test "without privilege it says to run it inside oci-unshare, and makes nothing" {
	run -1 as nobody oci-overlay "$F/img:latest" "$T/C"
	assert_output "oci-overlay: overlayfs: mounting needs privilege: run it inside oci-unshare (oci-unshare oci-overlay ...)"
	[ ! -e "$T/C" ]
	run -1 as nobody oci-overlay -u /proc
	assert_output --partial "unmounting needs privilege"
}

# ---- IMAGE DIR ----

# no_lowerdir_plus [fallback]: with "fallback", make oci-overlay mount as it
# must on kernels before Linux 6.8: short links in DIR/l and mount(2).
no_lowerdir_plus() {
	if [ "${1:-}" = fallback ]; then export OCI_OVERLAY_NO_LOWERDIR_PLUS=1; fi
}

# short_links DIR: each link in DIR/l is the first 12 hex of the layer it names.
short_links() {
	local l
	for l in "$1"/l/*; do
		[ "$(readlink "$l")" = "../layers/$(basename "$(readlink -f "$l")")" ] || return 1
		[[ "$(basename "$(readlink -f "$l")")" == "$(basename "$l")"* ]] || return 1
		[ -d "$l/" ] || return 1
	done
	ls "$1/l" | wc -l
}

merged_view() {
	local xattr=trusted.overlay.opaque top
	[ "$1" = root ] || xattr=user.overlay.opaque
	no_lowerdir_plus "${2:-}"
	run -0 in_ns "$1" "oci-overlay '$F/img:latest' C >gd.json &&
		diff -r --no-dereference '$F/ref/rootfs' C/merged &&
		(cd '$F/ref/rootfs' && find . -printf '%y %m %p %l\n' | sort) >want &&
		(cd C/merged && find . -printf '%y %m %p %l\n' | sort) >got &&
		diff want got && awk '\$5 == \"$T/C/merged\"' /proc/self/mountinfo >mountinfo && echo same"
	assert_output same
	# The GraphDriver JSON: the top layer first, every path absolute.
	mapfile -t ids < <(diff_ids "$F/img:latest")
	[ "${#ids[@]}" -eq 4 ]
	top=$T/C/layers/${ids[3]#sha256:}
	run -0 jq -r '.Name, .Data.LowerDir, .Data.UpperDir, .Data.WorkDir, .Data.MergedDir' gd.json
	assert_output "overlay
$top:$T/C/layers/${ids[2]#sha256:}:$T/C/layers/${ids[1]#sha256:}:$T/C/layers/${ids[0]#sha256:}
$T/C/upper
$T/C/work
$T/C/merged"
	# Overlay-form whiteouts in the layer directories, in the xattr namespace of the mount.
	run -0 stat -c '%F %t:%T' "$T/C/layers/${ids[1]#sha256:}/etc/motd"
	assert_output "character special file 0:0"
	run -0 in_ns "$1" "getfattr --absolute-names --only-values -n $xattr '$top/data'"
	assert_output y
	# Not mounted any more once the namespace is gone; the layers stay for next time.
	[ -z "$(ls -A "$T/C/merged")" ]
	# What the kernel was given: the short links, or each real path on its own.
	if [ "${2:-}" = fallback ]; then
		assert_file_contains mountinfo ",lowerdir=l/${ids[3]:7:12}:l/${ids[2]:7:12}:l/${ids[1]:7:12}:l/${ids[0]:7:12},upperdir=upper,workdir=work"
		run -0 short_links "$T/C"
		assert_output 4
	else
		assert_file_contains mountinfo ",lowerdir+=$top,lowerdir+="
		[ ! -e "$T/C/l" ]
	fi
}
@test "the merged view of a 4-layer umoci image (deletions, an opaque dir) equals umoci unpack's rootfs (root)" { merged_view root; }
@test "the merged view of a 4-layer umoci image (deletions, an opaque dir) equals umoci unpack's rootfs (nobody)" { merged_view nobody; }
@test "without lowerdir+ (short links, mount(2)) the merged view equals umoci unpack's rootfs too (root)" { merged_view root fallback; }
@test "without lowerdir+ (short links, mount(2)) the merged view equals umoci unpack's rootfs too (nobody)" { merged_view nobody fallback; }

copy_on_write() {
	local xattr=trusted.overlay.opaque
	[ "$1" = root ] || xattr=user.overlay.opaque
	run -0 in_ns "$1" "
		set -e
		oci-overlay '$F/img:latest' C >/dev/null
		snap() { (cd C/layers && find . -printf '%p %y %m %s %T@ %i\n' | sort && find . -type f -exec sha256sum {} + | sort); }
		snap >before
		# modify a lower file: copied up
		echo changed >>C/merged/etc/hostname
		# create a file: only in upper
		echo x >C/merged/etc/created
		# delete a lower file: a whiteout in upper
		rm C/merged/etc/new
		# remove a lower directory and make it again: opaque in upper
		rm -r C/merged/bin
		mkdir C/merged/bin
		echo d >C/merged/bin/d
		snap >after
		diff before after
		echo --- upper
		cat C/upper/etc/hostname
		cat C/upper/etc/created
		stat -c '%F %t:%T' C/upper/etc/new
		getfattr --only-values -n $xattr C/upper/bin; echo
		ls -A C/upper/bin
		echo --- merged
		ls -A C/merged/etc C/merged/bin
		echo --- layers
		cat C/layers/*/etc/hostname
		ls C/layers/*/etc/created C/layers/*/bin/d 2>&1 || true
	"
	assert_output "--- upper
box
changed
x
character special file 0:0
y
d
--- merged
C/merged/bin:
d

C/merged/etc:
created
hostname
--- layers
box
ls: cannot access 'C/layers/*/etc/created': No such file or directory
ls: cannot access 'C/layers/*/bin/d': No such file or directory"
}
@test "copy-on-write: modify, create, delete (0:0 whiteout), remove and remake a dir (opaque); layers unchanged (root)" { copy_on_write root; }
@test "copy-on-write: modify, create, delete (0:0 whiteout), remove and remake a dir (opaque); layers unchanged (nobody)" { copy_on_write nobody; }

shared_layers() {
	mapfile -t ids < <(diff_ids "$F/img:latest")
	run -0 in_ns "$1" "oci-overlay '$F/img:latest' C >/dev/null && oci-overlay -u C &&
		stat -c %i C/layers/${ids[0]#sha256:}/etc/hostname >inode1 &&
		oci-overlay -v '$F/img:more' C 2>err >/dev/null &&
		stat -c %i C/layers/${ids[0]#sha256:}/etc/hostname >inode2 &&
		cat C/merged/etc/more C/merged/data/d && cat err"
	assert_line --index 0 more
	assert_line --index 1 d
	[ "$(grep -c 'already in layers/, shared' <<<"$output")" -eq 4 ]
	[ "$(grep -c 'extracting into layers/' <<<"$output")" -eq 1 ]
	cmp inode1 inode2
	run -0 ls C/layers
	[ "${#lines[@]}" -eq 5 ]
}
@test "a layer two images share is extracted once (root)" { shared_layers root; }
@test "a layer two images share is extracted once (nobody)" { shared_layers nobody; }

run_image() {
	run -0 in_ns "$1" "oci-overlay '$F/bb:latest' C >/dev/null && oci-unshare --rootfs C/merged --image '$F/bb:latest'"
	assert_output "hi from /home/app as 0"
	# The Done-when line, as the user would type it.
	run -0 as "$1" oci-unshare sh -c "oci-overlay '$F/bb:latest' D && oci-unshare --rootfs D/merged --image '$F/bb:latest' -- sh -c 'id -u; echo \$\$; hostname'"
	assert_line --index 1 0
	assert_line --index 2 2	# PID 1 is oci-unshare's init
	assert_line --index 3 --regexp '^[0-9a-f]{12}$'
}
@test "oci-unshare runs the image's command on oci-overlay's merged view (root)" { run_image root; }
@test "oci-unshare runs the image's command on oci-overlay's merged view (nobody)" { run_image nobody; }

many_layers() {
	local long=$T/a-directory-with-a-rather-long-name-so-that-the-paths-get-longer
	local read='cat C/merged/top && ls C/merged/layers | wc -l &&
		cat C/merged/layers/1 C/merged/layers/60 C/merged/layers/120 && ls C/merged/layers | grep gone'
	no_lowerdir_plus "${2:-}"
	open_to_nobody "$long"
	cd "$long"
	# Mounted, then again by the mount(8) line -n prints.
	run -0 in_ns "$1" "oci-overlay -v '$F/many:latest' C >gd.json 2>err && $read &&
		oci-overlay -u C && oci-overlay -n '$F/many:latest' C >line && sh -c \"\$(cat line)\" && $read"
	assert_output $'120\n121\n1\n60\n120\ngone-120\n120\n121\n1\n60\n120\ngone-120'
	if [ "${2:-}" = fallback ]; then
		grep -qxF "oci-overlay: lowerdir+ not used (OCI_OVERLAY_NO_LOWERDIR_PLUS=1): short links under $long/C/l" err
	else
		grep -qxF "oci-overlay: lowerdir+: 120 lower directories, one fsconfig(2) call each (Linux 6.8)" err
	fi
	# One page could not hold these lowerdirs: the option string is 4 times
	# that.  The GraphDriver JSON still shows the layers' real paths.
	run -0 jq -r '.Data.LowerDir' gd.json
	[ "${#output}" -gt 8192 ]
	[ "$(tr ':' '\n' <<<"$output" | head -1)" = "$long/C/layers/$(diff_ids "$F/many:latest" | tail -1 | cut -d: -f2)" ]
	# So mount(8) gets the short links, from inside C, either way.
	grep -qE "^cd $long/C && mount -t overlay overlay -o lowerdir=l/[0-9a-f]{12}:l/" line
	[ "$(wc -c <line)" -lt 4096 ]
	run -0 short_links C
	assert_output 120
}
@test "120 layers mount (one lowerdir+ each) and read correctly; -n's mount(8) line works (root)" { many_layers root; }
@test "120 layers mount (one lowerdir+ each) and read correctly; -n's mount(8) line works (nobody)" { many_layers nobody; }
@test "120 layers mount without lowerdir+ (short links, mount(2)) and read correctly; -n's line works (root)" { many_layers root fallback; }
@test "120 layers mount without lowerdir+ (short links, mount(2)) and read correctly; -n's line works (nobody)" { many_layers nobody fallback; }

@test "without lowerdir+, a short link in DIR/l that points elsewhere is refused, never followed" {
	export OCI_OVERLAY_NO_LOWERDIR_PLUS=1
	local top
	top=$(diff_ids "$F/img:latest" | tail -1 | cut -d: -f2)
	mkdir -p C/l
	ln -s /etc "C/l/${top:0:12}"
	run -1 in_ns root "oci-overlay '$F/img:latest' C"
	assert_output "oci-overlay: $T/C/l/${top:0:12}: not a link to ../layers/$top, refusing it"
	run -1 in_ns root "oci-overlay -n '$F/img:latest' C"
	assert_output --partial "not a link to ../layers/$top, refusing it"
}

# ---- the hand-made mount ----

hand_made() {
	local ux=""
	[ "$1" = root ] || ux=,userxattr
	as "$1" mkdir -p l1 l2 u w m
	as "$1" sh -c 'echo top >l1/a; echo bottom >l2/a; echo b >l2/b'
	# Not root on the host: layers it writes carry user.overlay.*, so the line says userxattr.
	run -0 as "$1" oci-overlay -n --lower l1:l2 --upper u --work w m
	assert_output "mount -t overlay overlay -o lowerdir=l1:l2,upperdir=u,workdir=w$ux m"
	run -0 in_ns "$1" "oci-overlay -n --lower l1:l2 --upper u --work w m"
	assert_output "mount -t overlay overlay -o lowerdir=l1:l2,upperdir=u,workdir=w$ux m"
	run -0 in_ns "$1" "oci-overlay --lower l1:l2 --upper u --work w m && cat m/a m/b && echo new >m/c &&
		oci-overlay -u m && ls m | wc -l && \$(oci-overlay -n --lower l1:l2 --upper u --work w m) && cat m/c"
	assert_output $'top\nb\n0\nnew'
	[ "$(cat u/c)" = new ]
	[ ! -e l1/c ] && [ ! -e l2/c ]
	# Without --upper the view is read-only.
	run -0 in_ns "$1" "oci-overlay --lower l1:l2 m && cat m/a && ! touch m/x 2>err && cat err"
	assert_line --index 0 top
	assert_output --partial "Read-only file system"
}
@test "--lower/--upper/--work: the article's mount; -n prints it for mount(8); -u unmounts (root)" { hand_made root; }
@test "--lower/--upper/--work: the article's mount; -n prints it for mount(8); -u unmounts (nobody)" { hand_made nobody; }

# 120 lower directories by hand: without lowerdir+ they go to mount(2) in
# one option string as given, which fits a page with short relative names
# and is a clear error with long absolute ones.
hand_made_many() {
	local long=$T/a-directory-with-a-rather-long-name-so-that-the-paths-get-longer i
	for i in $(seq 120); do
		mkdir -p "d$i" "$long/d$i"
		echo "$i" >"d$i/top"
		echo "$i" >"d$i/f$i"
		echo "$i" >"$long/d$i/f$i"
	done
	mkdir m
	chmod -R a+rwX .
	local short abs
	short=$(seq 120 -1 1 | sed 's/^/d/' | paste -sd:)
	abs=$(seq 120 -1 1 | sed "s|^|$long/d|" | paste -sd:)
	export OCI_OVERLAY_NO_LOWERDIR_PLUS=1
	run -0 in_ns "$1" "oci-overlay -v --lower $short m 2>err && cat m/top && ls m | wc -l && cat err"
	assert_line --index 0 120
	assert_line --index 1 121
	assert_line "oci-overlay: lowerdir+ not used (OCI_OVERLAY_NO_LOWERDIR_PLUS=1): one option string for mount(2)"
	run -1 in_ns "$1" "oci-overlay --lower '$abs' m"
	assert_output --regexp "^oci-overlay: lowerdir\+ not used \(OCI_OVERLAY_NO_LOWERDIR_PLUS=1\), and the mount options \([0-9]{5} bytes\) do not fit in a page \(4096\): give fewer or shorter lower directories$"
	unset OCI_OVERLAY_NO_LOWERDIR_PLUS
	run -0 in_ns "$1" "oci-overlay --lower '$abs' m && ls m | wc -l"
	assert_output 120
}
@test "--lower with 120 lowers: mount(2) without lowerdir+, one page at most (root)" { hand_made_many root; }
@test "--lower with 120 lowers: mount(2) without lowerdir+, one page at most (nobody)" { hand_made_many nobody; }

# ---- failures ----

@test "errors: no such tag, not a mount point, already mounted, a missing lower" {
	run -1 oci-overlay "$F/img:nope" C
	assert_output --partial "oci-overlay: $F/img:nope: "
	run -1 oci-unshare oci-overlay -u "$T"
	assert_output "oci-overlay: $T: not a mount point"
	run -1 in_ns nobody "oci-overlay '$F/img:latest' C >/dev/null && oci-overlay '$F/img:latest' C"
	assert_output "oci-overlay: $T/C/merged: already a mount point (unmount it first: oci-overlay -u)"
	mkdir m
	run -1 oci-unshare oci-overlay --lower nowhere m
	assert_output --partial "oci-overlay: nowhere: No such file or directory"
}

corrupt_layer() {
	cp -a "$F/img" img
	mapfile -t ids < <(diff_ids img:latest)
	local l
	l=$(jq -r '.layers[1].digest' "$(manifest_of img latest)")
	head -c 1000 /dev/urandom >"img/blobs/sha256/${l#sha256:}"
	chmod -R a+rX img
	run -1 in_ns "$1" "oci-overlay img:latest C"
	assert_output --partial "oci-overlay: img:latest: layer sha256:${l:7:12}"
	# A DIR the failed run made is removed again.
	assert_not_exist C
	# In a DIR that was there, the good bottom layer is kept; nothing half-extracted is left.
	mkdir -m 0777 C
	run -1 in_ns "$1" "oci-overlay img:latest C"
	run -0 ls -A C/layers
	assert_output "${ids[0]#sha256:}"
}
@test "a corrupt layer fails with exit 1 and leaves no half-extracted layer (root)" { corrupt_layer root; }
@test "a corrupt layer fails with exit 1 and leaves no half-extracted layer (nobody)" { corrupt_layer nobody; }

# ---- --store: containers that share their layers ----

# chain_ids IMAGE: the image's chain ids in hex, bottom first (image-spec
# config.md: ChainID(L0) = DiffID(L0), then sha256 of "ChainID(below) DiffID").
chain_ids() {
	local d c=
	for d in $(diff_ids "$1"); do
		if [ -z "$c" ]; then c=$d; else c=sha256:$(printf '%s %s' "$c" "$d" | sha256sum | cut -d' ' -f1); fi
		echo "${c#sha256:}"
	done
}

# lower_of DIR...: the lower string that lists DIR's short links, in order.
lower_of() {
	local d out=
	for d in "$@"; do out="$out${out:+:}l/$(cat "$d/link")"; done
	echo "$out"
}

two_containers() {
	no_lowerdir_plus "${2:-}"
	run -0 in_ns "$1" "oci-overlay --store S '$F/img:latest' one >one.json &&
		oci-overlay --store S '$F/img:latest' two >two.json && oci-overlay --store S --ls >ls.json &&
		awk '\$5 ~ \"^$T/S/\" { print \$5, \$0 }' /proc/self/mountinfo >mountinfo && echo ok"
	assert_output ok
	local S=$T/S id1 id2 c i
	mapfile -t chains < <(chain_ids "$F/img:latest")
	[ "${#chains[@]}" -eq 4 ]
	id1=$(jq -r 'select(.container == "one") | .id' ls.json)
	id2=$(jq -r 'select(.container == "two") | .id' ls.json)
	[[ $id1 =~ ^[0-9a-f]{64}$ ]] && [[ $id2 =~ ^[0-9a-f]{64}$ ]] && [ "$id1" != "$id2" ]
	# GraphDriver: the init layer, then the image's layers from the top, by chain id.
	run -0 jq -r '.Name, .Data.LowerDir, .Data.UpperDir, .Data.WorkDir, .Data.MergedDir' one.json
	assert_output "overlay2
$S/$id1-init/diff:$S/${chains[3]}/diff:$S/${chains[2]}/diff:$S/${chains[1]}/diff:$S/${chains[0]}/diff
$S/$id1/diff
$S/$id1/work
$S/$id1/merged"
	# Both share every image layer directory (the same inodes); their own two differ.
	for c in one two; do
		jq -r '.Data.LowerDir' $c.json | tr : '\n' | xargs stat -c %i >$c.inodes
	done
	run -0 diff <(tail -n +2 one.inodes) <(tail -n +2 two.inodes)
	[ "$(head -1 one.inodes)" != "$(head -1 two.inodes)" ]
	[ "$(stat -c %i "$S/$id1/diff")" != "$(stat -c %i "$S/$id2/diff")" ]
	# Each layer once: 4 image layers, 2 containers of 2 directories each.
	run -0 ls "$S"
	assert_output "$(printf '%s\n' "${chains[@]}" "$id1" "$id1-init" "$id2" "$id2-init" containers l xattrs | sort)"
	# l/: one short link per layer, each resolving to its layer's diff.
	[ "$(ls "$S/l" | wc -l)" -eq 8 ]
	for c in "${chains[@]}" "$id1" "$id1-init" "$id2" "$id2-init"; do
		[[ $(cat "$S/$c/link") =~ ^[A-Z2-7]{26}$ ]]
		[ "$(readlink "$S/l/$(cat "$S/$c/link")")" = "../$c/diff" ]
		[ "$S/l/$(cat "$S/$c/link")/" -ef "$S/$c/diff" ]
	done
	# lower: the layers beneath, top first; none under the bottom layer.
	[ ! -e "$S/${chains[0]}/lower" ]
	for i in 1 2 3; do
		[ "$(cat "$S/${chains[$i]}/lower")" = "$(lower_of $(for ((k = i - 1; k >= 0; k--)); do echo "$S/${chains[$k]}"; done))" ]
	done
	[ "$(cat "$S/$id1-init/lower")" = "$(lower_of "$S/${chains[3]}" "$S/${chains[2]}" "$S/${chains[1]}" "$S/${chains[0]}")" ]
	[ "$(cat "$S/$id1/lower")" = "$(lower_of "$S/$id1-init" "$S/${chains[3]}" "$S/${chains[2]}" "$S/${chains[1]}" "$S/${chains[0]}")" ]
	# --ls: which container uses which layer.
	run -0 jq -c "select(.layer == \"${chains[0]}\") | [.chain_id, .diff_id, (.used_by | sort)]" ls.json
	assert_output "[\"sha256:${chains[0]}\",\"$(diff_ids "$F/img:latest" | head -1)\",[\"one\",\"two\"]]"
	run -0 jq -c 'select(.container == "one") | [.image, .mounted, .lower[0], (.lower | length)]' ls.json
	assert_output "[\"$F/img:latest\",true,\"$id1-init\",5]"
	# What the kernel was given: the short links from inside STORE, or each diff on its own.
	if [ "${2:-}" = fallback ]; then
		assert_file_contains mountinfo "^$S/$id1/merged .*,lowerdir=$(lower_of "$S/$id1-init" "$S/${chains[3]}" "$S/${chains[2]}" "$S/${chains[1]}" "$S/${chains[0]}"),upperdir=$id1/diff,workdir=$id1/work"
	else
		assert_file_contains mountinfo "^$S/$id1/merged .*,lowerdir+=$S/$id1-init/diff,lowerdir+=$S/${chains[3]}/diff,"
	fi
}
@test "--store: two containers share every layer directory (inodes); l/ links and lower files chain (root)" { two_containers root; }
@test "--store: two containers share every layer directory (inodes); l/ links and lower files chain (nobody)" { two_containers nobody; }
@test "--store without lowerdir+: the mount goes through the short links from inside STORE (root)" { two_containers root fallback; }
@test "--store without lowerdir+: the mount goes through the short links from inside STORE (nobody)" { two_containers nobody fallback; }

# The image's own files: everything but what the init layer adds.
not_init() {
	grep -vE '^. [0-7]+ \./(etc|proc|sys|dev|dev/pts|dev/shm|etc/hostname|etc/hosts|etc/resolv\.conf|etc/mtab) '
}

store_merged_view() {
	no_lowerdir_plus "${2:-}"
	run -0 in_ns "$1" "oci-overlay --store S '$F/img:latest' c >gd.json &&
		m=\$(jq -r .Data.MergedDir gd.json) &&
		(cd '$F/ref/rootfs' && find . -printf '%y %m %p %l\n' | sort) >want &&
		(cd \$m && find . -printf '%y %m %p %l\n' | sort) >got &&
		diff -r --no-dereference -x hostname -x hosts -x resolv.conf -x mtab -x proc -x sys -x dev '$F/ref/rootfs' \$m &&
		cat \$m/etc/hostname \$m/etc/hosts && readlink \$m/etc/mtab && cmp \$m/etc/resolv.conf /etc/resolv.conf &&
		ls -d \$m/proc \$m/sys \$m/dev/pts \$m/dev/shm | wc -l"
	local id
	id=$(jq -r .Data.UpperDir gd.json | sed 's|.*/\([0-9a-f]*\)/diff$|\1|')
	assert_output "${id:0:12}
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
127.0.1.1	${id:0:12}
/proc/mounts
4"
	run -0 diff <(not_init <want) <(not_init <got)
	# The init layer holds them; the image's layer keeps its own /etc/hostname.
	run -0 ls -A "S/$id-init/diff" "S/$id-init/diff/etc" "S/$id-init/diff/dev"
	assert_output "S/$id-init/diff:
dev
etc
proc
sys

S/$id-init/diff/dev:
pts
shm

S/$id-init/diff/etc:
hostname
hosts
mtab
resolv.conf"
	[ "$(cat S/"$(chain_ids "$F/img:latest" | head -1)"/diff/etc/hostname)" = box ]
}
@test "--store: the merged view is umoci unpack's rootfs, with the -init layer's hostname, hosts, resolv.conf, mtab (root)" { store_merged_view root; }
@test "--store: the merged view is umoci unpack's rootfs, with the -init layer's hostname, hosts, resolv.conf, mtab (nobody)" { store_merged_view nobody; }
@test "--store without lowerdir+: the merged view is umoci unpack's rootfs too (nobody)" { store_merged_view nobody fallback; }

second_image() {
	local base
	mapfile -t chains < <(chain_ids "$F/img:more")
	run -0 in_ns "$1" "oci-overlay --store S '$F/img:latest' a >/dev/null &&
		stat -c %i S/${chains[0]}/diff/etc/hostname S/${chains[3]}/diff >before &&
		oci-overlay -v --store S '$F/img:more' b 2>err >/dev/null &&
		stat -c %i S/${chains[0]}/diff/etc/hostname S/${chains[3]}/diff >after &&
		cat S/\$(oci-overlay --store S --ls | jq -r 'select(.container == \"b\") | .id')/merged/etc/more && cat err"
	assert_line --index 0 more
	[ "$(grep -c 'in the store already as .*, shared' <<<"$output")" -eq 4 ]
	[ "$(grep -c 'extracting into' <<<"$output")" -eq 1 ]
	assert_line --partial "extracting into ${chains[4]:0:12}…/diff (chain id; docker would name it by a random cache id)"
	cmp before after
	run -0 in_ns "$1" "oci-overlay --store S --ls"
	run -0 jq -c 'select(.layer) | [.layer, (.used_by | sort)]' <<<"$output"
	assert_output "$(for c in "${chains[@]}"; do
		if [ "$c" = "${chains[4]}" ]; then echo "[\"$c\",[\"b\"]]"; else echo "[\"$c\",[\"a\",\"b\"]]"; fi
	done | sort)"
}
@test "--store: a second image on the same base layers reuses them, extracting only its own (root)" { second_image root; }
@test "--store: a second image on the same base layers reuses them, extracting only its own (nobody)" { second_image nobody; }

lifecycle() {
	mapfile -t chains < <(chain_ids "$F/img:latest")
	run -0 in_ns "$1" "set -e
		oci-overlay --store S '$F/img:latest' a >a.json
		m=\$(jq -r .Data.MergedDir a.json)
		echo kept >\$m/note
		oci-overlay -v --store S -u a 2>&1
		mountpoint -q \$m || echo unmounted
		oci-overlay --store S '$F/img:latest' a >again.json
		cmp a.json again.json && cat \$m/note
		! oci-overlay --store S '$F/img:more' a 2>&1
		oci-overlay --store S '$F/img:latest' b >/dev/null
		oci-overlay -v --store S --rm a 2>&1
		mountpoint -q \$m || echo gone
		oci-overlay --store S --ls"
	local id
	id=$(jq -r .Data.UpperDir a.json | sed 's|.*/\([0-9a-f]*\)/diff$|\1|')
	assert_line --index 0 "oci-overlay: umount $T/S/$id/merged"
	assert_line --index 1 unmounted
	assert_line --index 2 kept
	assert_line --index 3 "oci-overlay: a: a container of image $F/img:latest is there already (remove it: --rm a)"
	assert_line --index 4 "oci-overlay: umount $T/S/$id/merged"
	assert_line --index 5 "oci-overlay: container a (${id:0:12}…): removed its config, init and writable layers and their l/ links; the image's layers stay"
	assert_line --index 6 gone
	# a is gone, with its directories and short links; the layers stay, and b.
	[ ! -e "S/$id" ] && [ ! -e "S/$id-init" ] && [ ! -e "S/containers/$id" ]
	for c in "${chains[@]}"; do [ -d "S/$c/diff" ]; done
	[ "$(ls S/l | wc -l)" -eq 6 ]
	run -0 find -L S/l -maxdepth 1 -type l
	assert_output ""
	run -0 in_ns "$1" "oci-overlay --store S --ls | jq -r 'select(.container) | .container'"
	assert_output b
	# Removed by its id prefix, b too; removing it again is an error.
	run -0 in_ns "$1" "oci-overlay --store S --rm \$(oci-overlay --store S --ls | jq -r 'select(.container) | .id[:12]') && oci-overlay --store S --ls | jq -c .used_by"
	assert_output "$(printf '[]\n%.0s' 1 2 3 4)"
	[ "$(ls S/l | wc -l)" -eq 4 ]
	run -1 in_ns "$1" "oci-overlay --store S --rm b"
	assert_output "oci-overlay: b: no such container in $T/S"
	run -1 in_ns "$1" "oci-overlay --store S -u b"
	assert_output "oci-overlay: b: no such container in $T/S"
	# A directory that is not a store is left as it is.
	mkdir -p notastore
	run -1 in_ns "$1" "oci-overlay --store notastore --ls"
	assert_output "oci-overlay: $T/notastore: not a store (l/ and containers/): No such file or directory"
	run -1 in_ns "$1" "oci-overlay --store nowhere --rm b"
	assert_output "oci-overlay: nowhere: No such file or directory"
	[ -z "$(ls -A notastore)" ] && [ ! -e nowhere ]
}
@test "--store: -u keeps the upper, the same NAME mounts it again, --rm removes the container but not the layers (root)" { lifecycle root; }
@test "--store: -u keeps the upper, the same NAME mounts it again, --rm removes the container but not the layers (nobody)" { lifecycle nobody; }

concurrent() {
	run -0 in_ns "$1" "for i in 1 2 3 4; do oci-overlay -v --store S '$F/img:more' c\$i >gd\$i.json 2>err\$i & done; wait &&
		for i in 1 2 3 4; do cat \$(jq -r .Data.MergedDir gd\$i.json)/etc/more; done && cat err1 err2 err3 err4"
	assert_output --partial $'more\nmore\nmore\nmore\n'
	# Five layers, each extracted once among the four; nothing temporary left.
	[ "$(grep -c 'extracting into' <<<"$output")" -eq 5 ]
	[ "$(grep -c 'in the store already as' <<<"$output")" -eq 15 ]
	run -0 ls -A S
	[ "${#lines[@]}" -eq 16 ]
	run -1 grep -q '^\.tmp-' <<<"$output"
	[ "$(ls S/l | wc -l)" -eq 13 ]
	run -0 in_ns "$1" "oci-overlay --store S --ls | jq -r 'select(.container) | .container' | sort"
	assert_output $'c1\nc2\nc3\nc4'
}
@test "--store: four containers made at once extract each layer once and all mount (root)" { concurrent root; }
@test "--store: four containers made at once extract each layer once and all mount (nobody)" { concurrent nobody; }

@test "--store: a container name is a docker-like name, never taken for an id prefix" {
	run -1 in_ns root "oci-overlay --store S '$F/img:latest' ../up"
	assert_output "oci-overlay: ../up: a container name is letters, digits, '_', '.' and '-', starting with a letter or digit"
	run -1 in_ns root "oci-overlay --store S '$F/img:latest' ''"
	run -1 in_ns root "oci-overlay --store S '$F/img:latest' -- -x"
	[ ! -e S ]
	# A name that is also the start of another container's id is a new container.
	run -0 in_ns root "oci-overlay --store S '$F/img:latest' one >/dev/null &&
		id=\$(oci-overlay --store S --ls | jq -r 'select(.container) | .id') && echo \$id &&
		oci-overlay --store S '$F/img:more' \$(echo \$id | cut -c1) >/dev/null && oci-overlay --store S --ls | jq -r 'select(.container) | .container' | sort"
	assert_line --index 1 "${lines[0]:0:1}"
	assert_line --index 2 one
	[ "${#lines[@]}" -eq 3 ]
	# -u and --rm take an id prefix too, as docker does; a name comes first.
	run -0 in_ns root "oci-overlay --store S --rm ${lines[0]:0:1} && oci-overlay --store S --rm ${lines[0]:0:12} && ls S/containers | wc -l"
	assert_output 0
}

@test "--store: a short link or a lower file that points out of the store is refused, never followed" {
	local top
	top=$(chain_ids "$F/img:latest" | tail -1)
	run -0 in_ns root "oci-overlay --store S '$F/img:latest' a >a.json"
	# A planted l/ link: the next container refuses it.
	ln -sfn /etc "S/l/$(cat "S/$top/link")"
	run -1 in_ns root "oci-overlay --store S '$F/img:latest' b"
	assert_output "oci-overlay: b: layer sha256:$(jq -r '.layers[3].digest' "$(manifest_of "$F/img" latest)" | cut -c8-19): $T/S/l/$(cat "S/$top/link"): not a link to ../$top/diff, refusing it"
	# A lower file naming something else than a short link.
	local id
	id=$(jq -r .Data.UpperDir a.json | sed 's|.*/\([0-9a-f]*\)/diff$|\1|')
	printf 'l/../../etc' >"S/$id/lower"
	run -1 in_ns root "oci-overlay --store S -u a"
	assert_output "oci-overlay: $T/S/$id/lower: l/../../etc is not a short link of this store"
	printf '/etc' >"S/$id/lower"
	run -1 in_ns root "oci-overlay --store S '$F/img:latest' a"
	assert_output "oci-overlay: $T/S/$id/lower: /etc is not a short link of this store"
}

@test "--store: what a killed run left (a temporary layer, a container without its config) is cleared" {
	run -0 in_ns root "oci-overlay --store S '$F/img:latest' a >a.json"
	local id
	id=$(jq -r .Data.UpperDir a.json | sed 's|.*/\([0-9a-f]*\)/diff$|\1|')
	# As if killed: before the container's config was written, and mid-extraction.
	rm -r "S/containers/$id"
	mkdir -p S/.tmp-0123/diff
	[ "$(ls S/l | wc -l)" -eq 6 ]
	run -0 in_ns root "oci-overlay --store S --ls"
	[ "${#lines[@]}" -eq 4 ]
	[ ! -e "S/$id" ] && [ ! -e "S/$id-init" ] && [ ! -e S/.tmp-0123 ]
	[ "$(ls S/l | wc -l)" -eq 4 ]
}

@test "--store: a store is used as it was made, as the host's root or in a user namespace" {
	run -0 in_ns root "oci-overlay --store S '$F/img:latest' a >/dev/null"
	[ "$(cat S/xattrs)" = trusted.overlay ]
	chmod -R a+rwX S
	run -1 in_ns nobody "oci-overlay --store S '$F/img:latest' b"
	assert_output "oci-overlay: $T/S: its layers carry trusted.overlay.* xattrs (made as the host's root), which overlayfs in a user namespace does not read: use another store"
	run -0 in_ns nobody "oci-overlay --store U '$F/img:latest' a >/dev/null"
	[ "$(cat U/xattrs)" = user.overlay ]
	run -1 in_ns root "oci-overlay --store U '$F/img:latest' b"
	assert_output "oci-overlay: $T/U: its layers carry user.overlay.* xattrs (made in a user namespace), which overlayfs as the host's root does not read: use it inside oci-unshare"
	[ "$(ls S/containers U/containers | grep -c '^[0-9a-f]')" -eq 2 ]
}

store_corrupt_layer() {
	cp -a "$F/img" img
	local l
	mapfile -t chains < <(chain_ids img:latest)
	l=$(jq -r '.layers[1].digest' "$(manifest_of img latest)")
	head -c 1000 /dev/urandom >"img/blobs/sha256/${l#sha256:}"
	chmod -R a+rX img
	run -1 in_ns "$1" "oci-overlay --store S img:latest c"
	assert_output --partial "oci-overlay: c: layer sha256:${l:7:12}: "
	# The good bottom layer stays; nothing half-extracted, no container.
	run -0 ls -A S
	assert_output "$(printf '%s\n' "${chains[0]}" containers l xattrs | sort)"
	[ -z "$(ls S/containers)" ]
	[ "$(ls S/l | wc -l)" -eq 1 ]
}
@test "--store: a corrupt layer fails with exit 1 and leaves no half-extracted layer nor container (root)" { store_corrupt_layer root; }
@test "--store: a corrupt layer fails with exit 1 and leaves no half-extracted layer nor container (nobody)" { store_corrupt_layer nobody; }

store_run() {
	run -0 in_ns "$1" "oci-overlay --store S '$F/bb:latest' web >gd.json &&
		oci-unshare --rootfs \$(jq -r .Data.MergedDir gd.json) --image '$F/bb:latest' -- sh -c 'hostname; cat /etc/hostname; echo hi >/home/app/note' &&
		ls \$(jq -r .Data.UpperDir gd.json)/home/app"
	local id
	id=$(jq -r .Data.UpperDir gd.json | sed 's|.*/\([0-9a-f]*\)/diff$|\1|')
	assert_output "${id:0:12}
${id:0:12}
note"
}
@test "--store: oci-unshare runs the image on a container's merged view; hostname and /etc/hostname are the id (root)" { store_run root; }
@test "--store: oci-unshare runs the image on a container's merged view; hostname and /etc/hostname are the id (nobody)" { store_run nobody; }

@test "-v: one entry is \"1 entry\", more are \"entries\"" {
	mkdir -p d && echo x >d/a
	oci-commit -q d L:t >/dev/null
	run -0 in_ns root "oci-overlay -v L:t C 2>&1 >/dev/null"
	assert_line "oci-overlay: 1 entry (whiteouts: 0); gzip, digest verified, diff_id verified"
	echo y >d/b
	oci-commit -q d L:t >/dev/null
	run -0 in_ns root "oci-overlay -v --store S L:t c 2>&1 >/dev/null"
	assert_line "oci-overlay: 2 entries (whiteouts: 0); gzip, digest verified, diff_id verified"
}

@test "--store: a progress line while a layer is extracted, only when stderr is a terminal" {
	run -0 in_ns root "script -qefc 'oci-overlay --store S $F/img:latest a >/dev/null' /dev/null"
	assert_output --partial "extracting sha256:"
	assert_output --partial $'\r\033[K'
	run -0 --separate-stderr in_ns root "oci-overlay --store S '$F/img:more' b >/dev/null"
	assert_equal "$stderr" ""
	# Not with -v, which says each step instead.
	run -0 in_ns root "script -qefc 'oci-overlay -v --store S $F/img:latest c >/dev/null' /dev/null"
	run -1 grep -q "extracting sha256:" <<<"$output"
}
