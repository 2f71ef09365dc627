# tests/helper.bash — loaded by every suite: `load helper`.
#
# Programs come from $OCI_BIN (bin/ or build/asan/bin, set by `make check`);
# each test gets a scratch directory $T that bats removes afterwards.

bats_require_minimum_version 1.5.0

bats_load_library bats-support 2>/dev/null || load /usr/lib/bats/bats-support/load
bats_load_library bats-assert 2>/dev/null || load /usr/lib/bats/bats-assert/load
bats_load_library bats-file 2>/dev/null || load /usr/lib/bats/bats-file/load

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OCI_BIN=${OCI_BIN:-$TESTS_DIR/../bin}
WALK_DIR=$TESTS_DIR/../walkthroughs
export OCI_BUILT=${OCI_BUILT:-$OCI_BIN}
# oci-fetch and skopeo read no registries.conf of the machine's (a class mirror there).
CONTAINERS_REGISTRIES_CONF=$TESTS_DIR/registries.conf

# Tests run programs and walkthroughs as user nobody.  A checkout in a 0700
# directory (root's home) hides them from nobody, so root copies them, once
# per run, to $BATS_RUN_TMPDIR/reach/{bin,walkthroughs,registries.conf},
# which nobody can reach, and the suites use the copies.  OCI_BUILT still
# names the build.
reach_for_nobody() {
	local reach=$BATS_RUN_TMPDIR/reach p
	if [ ! -e "$reach.checked" ]; then
		if setpriv --reuid=nobody --regid=nogroup --clear-groups \
		    sh -c '[ -x "$1/oci-digest" ] && [ -r "$2/lib.sh" ] && [ -r "$3" ]' sh "$OCI_BIN" "$WALK_DIR" \
		    "$CONTAINERS_REGISTRIES_CONF" 2>/dev/null; then
			: >"$reach.checked"
		else
			rm -rf "$reach.tmp"
			mkdir -p "$reach.tmp/bin" "$reach.tmp/walkthroughs"
			cp -p "$OCI_BIN"/oci-* "$reach.tmp/bin/"
			cp -pR "$WALK_DIR"/. "$reach.tmp/walkthroughs/"
			cp -p "$CONTAINERS_REGISTRIES_CONF" "$reach.tmp/registries.conf"
			chmod -R a+rX "$reach.tmp"
			mv "$reach.tmp" "$reach"
			p=$BATS_RUN_TMPDIR
			while [ "$p" != / ]; do chmod o+x "$p"; p=$(dirname "$p"); done
			echo "$reach" >"$reach.checked"
		fi
	fi
	if [ -s "$reach.checked" ]; then
		OCI_BIN=$reach/bin
		WALK_DIR=$reach/walkthroughs
		CONTAINERS_REGISTRIES_CONF=$reach/registries.conf
	fi
}
# Only root can become nobody; a user that is not root runs no test as nobody.
[ "$(id -u)" -ne 0 ] || [ -z "${BATS_RUN_TMPDIR:-}" ] || reach_for_nobody
PATH="$OCI_BIN:$PATH"
export PATH OCI_BIN WALK_DIR CONTAINERS_REGISTRIES_CONF

# AddressSanitizer: fail loudly (exit 99 is neither 1 nor 2, so `run -1` can't pass on a crash).
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=99:abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:exitcode=99:print_stacktrace=1}

# Tools we compare with must not read the user's own policy or auth files.
export SKOPEO_POLICY=$TESTS_DIR/policy.json

# The test servers (tests/*.py) import tests/http_helper.py: no __pycache__ in the checkout.
export PYTHONDONTWRITEBYTECODE=1

# free_port, registry_serve and wait_http, shared with the walkthroughs.
. "$TESTS_DIR/../walkthroughs/common.sh"

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
}

# as WHO CMD...: run CMD as root (WHO=root), as user nobody (nobody), or as
# nobody who is root in a user namespace of its own (userns, as `unshare -r`).
as() {
	local who=$1
	shift
	case $who in
	root) "$@" ;;
	nobody) as_nobody env HOME=/ "$@" ;;
	userns) as_nobody env HOME=/ unshare -r "$@" ;;
	*) echo "as: root, nobody or userns, not $who" >&2; return 2 ;;
	esac
}
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

# help_and_version PROG [TEXT...]: `PROG -h` prints the usage, "usage: PROG"
# first, on stdout, and exits 0, its usage naming each TEXT; `PROG --version`
# prints "PROG (oci-*) VERSION" and exits 0.
help_and_version() {
	local prog=$1 text
	shift
	run -0 --separate-stderr "$prog" -h
	assert_line --index 0 --partial "usage: $prog"
	for text in "$@"; do
		assert_output --partial -- "$text"
	done
	run -0 "$prog" --version
	assert_output --regexp "^$prog \\(oci-\\*\\) [0-9]"
}

# A directory that user nobody can reach and write: $T and its parents get o+x.
open_to_nobody() {
	local d=$1 p
	mkdir -p "$d"
	chmod 0777 "$d"
	p=$(dirname "$d")
	while [ "$p" != / ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done
}

# registry_start DIR [EXTRA_YAML]: Debian's docker-registry on a free
# loopback port, storage in DIR (registry_config says how EXTRA_YAML goes in).
# Sets REGISTRY (host:port) and REGISTRY_PID; registry_stop ends it.
registry_start() {
	local port
	port=$(free_port)
	REGISTRY=127.0.0.1:$port
	registry_serve "$1" "$port" "${2:-}"
}

# registry_serving LAYOUT:TAG REPO:TAG: a registry in $BATS_FILE_TMPDIR/reg (from
# setup_file) that serves the image as REPO:TAG; REG and REG_PID are exported.
registry_serving() {
	registry_start "$BATS_FILE_TMPDIR/reg" || return 1
	export REG=$REGISTRY REG_PID=$REGISTRY_PID
	skopeo copy -q --dest-tls-verify=false oci:"$1" docker://"$REG/$2"
}

registry_stop() { stop_pid REGISTRY_PID; }

# stop_pid NAME: end the server whose process id is in the variable NAME (a
# child of this shell), wait for it, and empty NAME.  Nothing when it is empty.
stop_pid() {
	local pid=${!1:-}
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	printf -v "$1" '%s' ''
}

# umoci_image LAYOUT TAG: a three-layer image made with umoci.
#   layer 1: /etc/motd, /etc/hostname, /bin/hello (a script), /data/{a,b}, a symlink
#   layer 2: deletes /etc/motd, adds /etc/new
#   layer 3: replaces /data with only /data/c (an opaque directory)
umoci_image() {
	local layout=$1 tag=$2 b=$T/umoci-bundle
	umoci init --layout "$layout" 2>/dev/null || true
	umoci new --image "$layout:$tag"
	rm -rf "$b"
	umoci unpack --rootless --image "$layout:$tag" "$b"
	mkdir -p "$b/rootfs/etc" "$b/rootfs/bin" "$b/rootfs/data"
	echo "hello from layer one" >"$b/rootfs/etc/motd"
	echo "box" >"$b/rootfs/etc/hostname"
	printf '#!/bin/sh\necho hello\n' >"$b/rootfs/bin/hello"
	chmod 755 "$b/rootfs/bin/hello"
	echo a >"$b/rootfs/data/a"
	echo b >"$b/rootfs/data/b"
	ln -s ../etc/motd "$b/rootfs/bin/motd-link"
	umoci repack --refresh-bundle --image "$layout:$tag" "$b"
	rm "$b/rootfs/etc/motd"
	echo new >"$b/rootfs/etc/new"
	umoci repack --refresh-bundle --image "$layout:$tag" "$b"
	rm -rf "$b/rootfs/data"
	mkdir "$b/rootfs/data"
	echo c >"$b/rootfs/data/c"
	umoci repack --refresh-bundle --image "$layout:$tag" "$b"
	umoci config --image "$layout:$tag" --config.entrypoint /bin/hello \
		--config.env GREETING=hi --config.workingdir / 2>/dev/null
	rm -rf "$b"
}
