# tests/fetch_helper.bash — real registries for oci-fetch's suite, loaded after helper.bash.
#
# fetch_servers_start (from setup_file) starts Debian's docker-registry four
# times on loopback — plain HTTP, Basic auth (bcrypt htpasswd), TLS with a
# certificate made here, and token auth backed by tests/fetch_token.py — and
# seeds them with skopeo from layouts made with umoci.  Addresses go into
# exported variables: PLAIN BASIC TLS TOKEN (host:port) and TLS_CA (the CA file).
# fetch_proxy_start MODE [UPSTREAM] puts tests/fetch_proxy.py in front of a
# registry (PROXY=host:port, its log in PROXY_LOG).  py_serve starts any of
# the test servers tests/*.py.

# Debian's python has python3-jwt and python3-bcrypt, whatever python3 is first in PATH.
FETCH_PY=/usr/bin/python3

# Keep retries short: no wait longer than this many seconds.
export OCI_FETCH_MAX_WAIT=0.2

fetch_pids() { echo "$1" >>"$BATS_FILE_TMPDIR/pids"; }

# py_serve SCRIPT ARG...: tests/SCRIPT, in the background, on a free loopback
# port (its first argument; ARGs follow): SERVED (127.0.0.1:port) and
# SERVED_PID.  The caller waits until it answers.
py_serve() {
	local script=$1 port
	shift
	port=$(free_port)
	$FETCH_PY "$TESTS_DIR/$script" "$port" "$@" &
	SERVED_PID=$!
	SERVED=127.0.0.1:$port
}

fetch_servers_stop() {
	local pid
	[ -f "$BATS_FILE_TMPDIR/pids" ] || return 0
	while read -r pid; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null || true
	done <"$BATS_FILE_TMPDIR/pids"
	rm -f "$BATS_FILE_TMPDIR/pids"
}

# A multi-platform index tagged "multi" in LAYOUT, over tag img (amd64) and
# a copy of it whose config says arm64/v8.
make_multi() {
	local layout=$1 amd arm index hex
	umoci config --image "$layout:img" --tag arm --architecture arm64 2>/dev/null
	amd=$(jq -c '.manifests[] | select(.annotations."org.opencontainers.image.ref.name" == "img")
		| del(.annotations) + {platform: {architecture: "amd64", os: "linux"}}' "$layout/index.json")
	arm=$(jq -c '.manifests[] | select(.annotations."org.opencontainers.image.ref.name" == "arm")
		| del(.annotations) + {platform: {architecture: "arm64", os: "linux", variant: "v8"}}' "$layout/index.json")
	index=$(jq -cn --argjson a "$amd" --argjson b "$arm" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [$a, $b]}')
	printf '%s' "$index" >"$layout/tmp-index"
	hex=$(sha256sum "$layout/tmp-index" | cut -c1-64)
	mv "$layout/tmp-index" "$layout/blobs/sha256/$hex"
	jq -c --arg d "sha256:$hex" --argjson s "${#index}" '.manifests += [{mediaType:
		"application/vnd.oci.image.index.v1+json", digest: $d, size: $s,
		annotations: {"org.opencontainers.image.ref.name": "multi"}}]' "$layout/index.json" >"$layout/i2"
	mv "$layout/i2" "$layout/index.json"
}

fetch_servers_start() {
	local D=$BATS_FILE_TMPDIR T=$BATS_FILE_TMPDIR tokens
	: >"$D/pids"
	umoci_image "$D/src" img >/dev/null
	make_multi "$D/src"

	registry_start "$D/plain" && fetch_pids "$REGISTRY_PID" && export PLAIN=$REGISTRY
	skopeo copy -q --dest-tls-verify=false oci:"$D/src:img" docker://"$PLAIN/test/img:1"
	skopeo copy -q --all --dest-tls-verify=false oci:"$D/src:multi" docker://"$PLAIN/test/multi:1"
	skopeo copy -q --format v2s2 --dest-tls-verify=false oci:"$D/src:img" docker://"$PLAIN/test/docker:1"
	skopeo copy -q --all --format v2s2 --dest-tls-verify=false oci:"$D/src:multi" \
		docker://"$PLAIN/test/dlist:1"

	# Basic: docker-registry's htpasswd must be bcrypt.
	$FETCH_PY -c 'import bcrypt, sys; print("bob:" + bcrypt.hashpw(b"builder", bcrypt.gensalt(5)).decode())' \
		>"$D/htpasswd"
	registry_start "$D/basic" "auth:
  htpasswd:
    realm: basic-realm
    path: $D/htpasswd" && fetch_pids "$REGISTRY_PID" && export BASIC=$REGISTRY
	skopeo copy -q --dest-creds bob:builder --dest-tls-verify=false oci:"$D/src:img" \
		docker://"$BASIC/private/img:1"

	# TLS: a CA, and a certificate for 127.0.0.1 that it signs.
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=oci-test-ca \
		-keyout "$D/ca.key" -out "$D/ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$D/tls.key" \
		-out "$D/tls.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' >"$D/tls.ext"
	openssl x509 -req -in "$D/tls.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" -CAcreateserial \
		-days 2 -extfile "$D/tls.ext" -out "$D/tls.pem" 2>/dev/null
	registry_start "$D/tls" "  tls:
    certificate: $D/tls.pem
    key: $D/tls.key" && fetch_pids "$REGISTRY_PID" && export TLS=$REGISTRY TLS_CA=$D/ca.pem
	skopeo copy -q --dest-tls-verify=false oci:"$D/src:img" docker://"$TLS/test/img:1"

	# Token auth: the registry trusts tokens signed by the token service's key.
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=oci-test-issuer \
		-keyout "$D/token.key" -out "$D/token.pem" 2>/dev/null
	py_serve fetch_token.py "$D/token.key" "$D/token.pem" "$D/token.log"
	fetch_pids "$SERVED_PID"
	tokens=http://$SERVED/token
	wait_http "$tokens"
	registry_start "$D/token" "auth:
  token:
    realm: $tokens
    service: oci-test-registry
    issuer: oci-test-issuer
    rootcertbundle: $D/token.pem" && fetch_pids "$REGISTRY_PID" && export TOKEN=$REGISTRY
	export TOKEN_LOG=$D/token.log
	skopeo copy -q --dest-creds alice:wonderland --dest-tls-verify=false oci:"$D/src:img" \
		docker://"$TOKEN/public/img:1"
	skopeo copy -q --dest-creds alice:wonderland --dest-tls-verify=false oci:"$D/src:img" \
		docker://"$TOKEN/private/img:1"
	: >"$TOKEN_LOG"
}

# proxy_start SCRIPT UPSTREAM MODE: the proxy tests/SCRIPT (fetch_proxy.py or
# push_proxy.py) before UPSTREAM: PROXY (host:port), PROXY_PID, and its log
# PROXY_LOG, empty once it answers.  fetch_proxy_stop stops it.
proxy_start() {
	PROXY_LOG=$T/proxy.log
	: >"$PROXY_LOG"
	py_serve "$1" "$2" "$3" "$PROXY_LOG"
	PROXY=$SERVED PROXY_PID=$SERVED_PID
	wait_http "http://$PROXY/v2/"
	: >"$PROXY_LOG"
}

# fetch_proxy_start MODE [UPSTREAM]: a faulty proxy (tests/fetch_proxy.py) before UPSTREAM (default $PLAIN).
fetch_proxy_start() { proxy_start fetch_proxy.py "${2:-$PLAIN}" "$1"; }
fetch_proxy_stop() { stop_pid PROXY_PID; }

# Every blob in LAYOUT hashes to its name, and no temporary file is left.
blobs_verified() {
	local f bad=0
	for f in "$1"/blobs/sha256/* "$1"/blobs/sha256/.[!.]*; do
		[ -e "$f" ] || continue
		case ${f##*/} in
		.*) echo "left behind: $f"; bad=1 ;;
		*) [ "$(sha256sum <"$f" | cut -c1-64)" = "${f##*/}" ] || { echo "bad blob: $f"; bad=1; } ;;
		esac
	done
	return $bad
}

# Two layouts hold the same blobs and the same manifest in index.json.
same_as_skopeo() {
	local ours=$1 theirs=$2
	diff <(cd "$ours/blobs/sha256" && ls) <(cd "$theirs/blobs/sha256" && ls) || return 1
	[ "$(jq -r '.manifests[0].digest' "$ours/index.json")" = \
		"$(jq -r '.manifests[0].digest' "$theirs/index.json")" ] || return 1
	blobs_verified "$ours"
}
