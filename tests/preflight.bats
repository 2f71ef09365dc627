#!/usr/bin/env bats
# tests/preflight.bats — walkthroughs/preflight tells a machine that can run
# every walkthrough from one that cannot, and names what is missing, which
# walkthroughs need it and the fix; with a feature removed (a nested user
# namespace whose user.max_user_namespaces is 0, a seccomp filter refusing
# unshare or openat2) its verdict and exit status say so, and the programs'
# own errors name the same cause.

load helper

P=$WALK_DIR/preflight
# the seccomp bindings are Debian's, for Debian's python3
DENY="/usr/bin/python3 $TESTS_DIR/seccomp_deny.py"

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	export OCI_LAB=$T/lab
	/usr/bin/python3 -c 'import seccomp' || { echo "python3-seccomp is missing (apt-get install python3-seccomp)"; return 1; }
}

@test "-h prints the usage on stdout; an unknown option is a usage error" {
	run -0 "$P" -h
	assert_output "usage: walkthroughs/preflight [-q]"
	run -2 "$P" --nope
	assert_output --partial "usage:"
}

@test "this machine runs every walkthrough: exit 0, and -q says nothing" {
	run -0 "$P"
	assert_line "ok    user namespaces (root)"
	assert_line "ok    user namespaces (nobody)"
	assert_line --partial "ok    an overlay mount on "
	assert_line "ok    openat2(2)"
	assert_line "preflight: every walkthrough can run here"
	run -1 grep MISSING <<<"$output"
	run -0 "$P" -q
	assert_output ""
}

@test "as an ordinary user (nobody) too, with user xattrs where the lab goes" {
	open_to_nobody "$T/n"
	run -0 as_nobody env OCI_LAB="$T/n/lab" "$P"
	assert_line "ok    user namespaces (nobody)"
	assert_line "ok    xattrs (user.oci-preflight) on $T/n"
	[ ! -e "$T/n/lab" ]
}

@test "user.max_user_namespaces=0 in a nested user namespace: named, with the sysctl that fixes it" {
	run -1 unshare --user --map-root-user sh -c 'echo 0 >/proc/sys/user/max_user_namespaces && exec "$0"' "$P"
	assert_line "MISSING  user.max_user_namespaces is 0: no user namespace can be made (root)"
	assert_line "    needed by walkthroughs: 05 07 08 09"
	assert_line --partial "    fix (Debian, Ubuntu, Fedora, as root): sysctl -w user.max_user_namespaces=15000"
	assert_line "preflight: 1 problem(s): the walkthroughs named above cannot run until they are fixed"
	# what still works there is not a problem
	assert_line --partial "ok    an overlay mount on "
	# oci-unshare's own error names the setting
	run -1 unshare --user --map-root-user sh -c 'echo 0 >/proc/sys/user/max_user_namespaces && exec oci-unshare true'
	assert_output --partial "oci-unshare: unshare: No space left on device: user.max_user_namespaces is 0"
	assert_output --partial "sysctl -w user.max_user_namespaces=15000"
}

@test "a seccomp filter refusing unshare: named for root and for nobody, and by oci-unshare" {
	run -1 $DENY unshare:EPERM "$P"
	assert_line "MISSING  a seccomp filter refuses unshare(2) (root; /proc/self/status says Seccomp: 2, as in a container)"
	assert_line "    needed by walkthroughs: 05 07 08 09"
	assert_line "MISSING  a seccomp filter refuses unshare(2) (nobody; /proc/self/status says Seccomp: 2, as in a container)"
	assert_line "    needed by walkthroughs: 01 02 03 04 05 06 07 08 09 10 (as an ordinary user)"
	assert_line --partial "MISSING  a seccomp filter refuses the overlay mount"
	assert_line "ok    openat2(2)"
	run -1 $DENY unshare:EPERM oci-unshare true
	assert_output --partial "oci-unshare: unshare: Operation not permitted: a seccomp filter on this process"
	run -1 $DENY unshare:EPERM setpriv --reuid=nobody --regid=nogroup --clear-groups oci-unshare true
	assert_output --partial "a seccomp filter on this process"
}

@test "a seccomp filter refusing openat2: oci-untar's fallback is named and works; oci-unshare --rootfs is the problem" {
	run -1 $DENY openat2:ENOSYS "$P"
	assert_line "ok    openat2(2) refused (Function not implemented): oci-untar resolves paths one component at a time instead"
	assert_line "MISSING  openat2(2) refused (Function not implemented): oci-unshare --rootfs needs it to open the rootfs safely"
	assert_line "    needed by walkthroughs: 05 08 09"
	assert_line "preflight: 1 problem(s): the walkthroughs named above cannot run until they are fixed"
	# the fallback preflight promises: nothing fails
	mkdir -p src/etc && echo hi >src/etc/motd && ln -s ../etc/motd src/link
	tar -C src -cf l.tar .
	run -0 $DENY openat2:ENOSYS oci-untar -C out -f l.tar
	[ "$(cat out/etc/motd)" = hi ] && [ "$(readlink out/link)" = ../etc/motd ]
}

@test "a command the walkthroughs call is missing: named, with the package on Debian, Ubuntu and Fedora" {
	mkdir path
	for c in bash awk mktemp setfattr getfattr unshare mount setpriv cat grep id dirname rm \
	    chmod mkdir uname curl docker-registry true; do
		ln -s "$(type -P "$c")" "path/$c"
	done
	ln -s /usr/bin/python3 path/python3
	run -1 env PATH="$T/path" "$P"
	assert_line "MISSING  jq: not installed"
	assert_line "    fix (Debian, Ubuntu): apt-get install -y jq"
	assert_line "    fix (Fedora): dnf install -y jq"
	assert_line "preflight: 1 problem(s): the walkthroughs named above cannot run until they are fixed"
}

@test "the lab on a filesystem without xattrs (ramfs): named, with where to put the lab instead" {
	mkdir ram
	run -1 unshare --mount sh -c 'mount -t ramfs none "$1" && OCI_LAB="$1/lab" exec "$2" -q' sh "$T/ram" "$P"
	assert_line --partial "MISSING  no trusted.oci-preflight xattrs on the filesystem of $T/ram: "
	assert_line "    needed by walkthroughs: 04 05 06 07 08 09"
	assert_line "    fix (any): OCI_LAB=DIR puts the lab on a filesystem with xattrs, e.g. OCI_LAB=/var/tmp/oci-lab"
	# nothing is left where the lab would go
	run -1 grep -F "$T/ram" /proc/self/mounts
}
