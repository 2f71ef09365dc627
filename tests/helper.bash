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
PATH="$OCI_BIN:$PATH"
export PATH

# AddressSanitizer: fail loudly (exit 99 is neither 1 nor 2, so `run -1` can't pass on a crash).
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=99:abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:exitcode=99:print_stacktrace=1}

# Tools we compare with must not read the user's own policy or auth files.
export SKOPEO_POLICY=$TESTS_DIR/policy.json

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
}

# A directory that user nobody can reach and write: $T and its parents get o+x.
open_to_nobody() {
	local d=$1 p
	mkdir -p "$d"
	chmod 0777 "$d"
	p=$(dirname "$d")
	while [ "$p" != / ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done
}

# A free TCP port on loopback.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Wait until URL answers (any HTTP status), at most ~10 s.
wait_http() {
	local i
	for i in $(seq 100); do
		curl -sk -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "wait_http: $1 did not answer" >&2
	return 1
}

# registry_start DIR [EXTRA_YAML]: Debian's docker-registry (the CNCF
# distribution server) on a free loopback port, storage in DIR.  Sets
# REGISTRY (host:port) and REGISTRY_PID.  EXTRA_YAML is appended under the
# top level (auth:, or tls: lines under http: — see registry_start_tls).
registry_start() {
	local dir=$1 extra=${2:-} port
	port=$(free_port)
	mkdir -p "$dir/storage"
	cat >"$dir/config.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
$extra
YML
	docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
	REGISTRY_PID=$!
	REGISTRY=127.0.0.1:$port
	wait_http "http://$REGISTRY/v2/" || { cat "$dir/log" >&2; return 1; }
}

# registry_serving LAYOUT:TAG REPO:TAG: a registry in $BATS_FILE_TMPDIR/reg (from
# setup_file) that serves the image as REPO:TAG; REG and REG_PID are exported.
registry_serving() {
	registry_start "$BATS_FILE_TMPDIR/reg" || return 1
	export REG=$REGISTRY REG_PID=$REGISTRY_PID
	skopeo copy -q --dest-tls-verify=false oci:"$1" docker://"$REG/$2"
}

registry_stop() {
	if [ -n "${REGISTRY_PID:-}" ]; then
		kill "$REGISTRY_PID" 2>/dev/null
		wait "$REGISTRY_PID" 2>/dev/null || true
	fi
	REGISTRY_PID=
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
