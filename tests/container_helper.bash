# tests/container_helper.bash — fixtures and runners for oci-unshare and oci-overlay.
# Loaded after helper.bash: `load helper; load container_helper`.

# busybox_image LAYOUT TAG [UMOCI-CONFIG-ARGS...]: a one-layer image whose
# rootfs is Debian's static busybox, its applets as symlinks, an /etc/passwd
# and /etc/group of its own (user "app" is uid 1000).  The config sets Env
# GREETING=hi, WorkingDir /home/app, and a Cmd that prints where and who it is;
# extra arguments go to `umoci config`.
busybox_image() {
	local layout=$1 tag=$2 b=$T/busybox-bundle a
	shift 2
	[ -x /bin/busybox ] || { echo "busybox_image: /bin/busybox missing (apt-get install busybox-static)" >&2; return 1; }
	umoci init --layout "$layout" 2>/dev/null || true
	umoci new --image "$layout:$tag"
	rm -rf "$b"
	umoci unpack --image "$layout:$tag" "$b" >/dev/null
	mkdir -p "$b/rootfs/bin" "$b/rootfs/etc" "$b/rootfs/home/app" "$b/rootfs/proc" "$b/rootfs/dev"
	mkdir -m 1777 "$b/rootfs/tmp"
	cp /bin/busybox "$b/rootfs/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -s busybox "$b/rootfs/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$b/rootfs/etc/passwd"
	printf 'root:x:0:\nwheel:x:10:root\napp:x:1000:\n' >"$b/rootfs/etc/group"
	umoci repack --image "$layout:$tag" "$b"
	umoci config --image "$layout:$tag" --config.env GREETING=hi --config.workingdir /home/app \
		--config.cmd sh --config.cmd -c --config.cmd 'echo "$GREETING from $(pwd) as $(id -u)"' "$@"
	rm -rf "$b"
}

# In setup_file: F, a fixtures directory nobody can read, becomes the cwd (and T).
fixtures_dir() {
	export F=$BATS_FILE_TMPDIR/f
	T=$F
	open_to_nobody "$F"
	cd "$F"
}

# private_fixtures NAME...: copies of $F/NAME in P, a directory only root
# can enter.  As root, oci-unshare --rootfs refuses a rootfs that other host
# users can reach (what container root writes there is host root's), so a
# root test runs its containers from P, and nobody's from F.
private_fixtures() {
	local n
	export P=$BATS_FILE_TMPDIR/private
	mkdir -m 700 "$P"
	for n in "$@"; do cp -a "$F/$n" "$P/$n"; done
}

# fixtures_for WHO: where WHO's container fixtures are ($P for root, $F for nobody).
fixtures_for() {
	if [ "$1" = root ]; then echo "$P"; else echo "$F"; fi
}

# work_dir WHO: a directory in this test's T for WHO's own rootfs: for
# root one that only root can enter, for nobody one open to nobody.
work_dir() {
	if [ "$1" = root ]; then
		mkdir -p -m 700 "$T/closed"
		echo "$T/closed"
	else
		open_to_nobody "$T/open"
		echo "$T/open"
	fi
}

# many_layers_image LAYOUT TAG N: N layers added with `umoci raw add-layer`;
# layer i adds /layers/i and rewrites /top to "i"; layer i>1 also deletes
# /layers/gone-(i-1), which layer i-1 made.
many_layers_image() {
	local layout=$1 tag=$2 n=$3 d=$T/many-layers.tmp i
	umoci init --layout "$layout" 2>/dev/null || true
	umoci new --image "$layout:$tag"
	for i in $(seq "$n"); do
		rm -rf "$d"
		mkdir -p "$d/layers"
		echo "$i" >"$d/layers/$i"
		echo "$i" >"$d/top"
		: >"$d/layers/gone-$i"
		[ "$i" -eq 1 ] || : >"$d/layers/.wh.gone-$((i - 1))"
		tar -C "$d" -cf "$d.tar" .
		umoci raw add-layer --image "$layout:$tag" "$d.tar"
	done
	rm -rf "$d" "$d.tar"
}

# attack_rootfs DIR ROOTFS: a copy of ROOTFS with tests/attack/attack.c as
# /attack and, on x86_64, tests/attack/fake_ld.c in place of the dynamic
# loader that oci-unshare's binary names (see tests/oci-unshare.bats).
attack_rootfs() {
	local dir=$1 rootfs=$2 interp
	cp -a "$rootfs" "$dir"
	gcc -static -O1 -o "$dir/attack" "$TESTS_DIR/attack/attack.c"
	[ "$(uname -m)" = x86_64 ] || return 0
	interp=$(readelf -l "$(command -v oci-unshare)" | sed -n 's/.*program interpreter: \(.*\)]$/\1/p')
	[ -n "$interp" ] || return 0
	mkdir -p "$dir$(dirname "$interp")"
	gcc -nostdlib -static -fno-pie -no-pie -O1 -fno-stack-protector \
		-o "$dir$interp" "$TESTS_DIR/attack/fake_ld.c"
}
