#!/usr/bin/env bats
# oci-fetch against real docker-registry instances on loopback (plain, Basic,
# TLS, token auth), with skopeo as the oracle and a faulty proxy for failures.

load helper
load fetch_helper

setup_file() { fetch_servers_start; }
teardown_file() { fetch_servers_stop; }
teardown() { fetch_proxy_stop; }

# ---- usage

@test "-h prints the usage on stdout and exits 0" {
	help_and_version oci-fetch "--blob DIGEST SOURCE"
}

@test "usage errors exit 2 and say why" {
	run -2 oci-fetch
	assert_output --partial "usage:"
	run -2 oci-fetch busybox
	run -2 oci-fetch --manifest --blob sha256:abc busybox
	run -2 oci-fetch -j 0 busybox out
	assert_output --partial "-j 0"
	run -2 oci-fetch -p linux busybox out
	assert_output --partial "bad platform"
	run -2 oci-fetch --bogus busybox out
}

@test "bad references exit 2 with the reason" {
	run -2 oci-fetch --manifest Busybox
	assert_output --partial "must be lowercase"
	run -2 oci-fetch --manifest 'busybox@sha256:1234'
	assert_output --partial "64 hex digits"
	run -2 oci-fetch --manifest 'ftp://busybox'
	assert_output --partial "only docker://"
	run -2 oci-fetch --manifest 'busybox:bad:tag'
	run -2 oci-fetch --manifest 'busy..box'
	assert_output --partial "not a valid repository name"
	run -2 oci-fetch --manifest 'docker://'
	run -2 oci-fetch --manifest 'busybox:'
	run -2 oci-fetch --manifest "$PLAIN/test/img:1" extra
	run -2 oci-fetch "$PLAIN/test/img:1" "out@sha256:$(printf '%064d' 0)"
	assert_output --partial "the destination is LAYOUT[:TAG]"
	run -2 oci-fetch --blob sha256:xyz "$PLAIN/test/img:1"
	assert_output --partial "--blob"
}

@test "references are read as docker reads them (busybox is docker.io/library/busybox:latest)" {
	# a proxy nobody listens on: nothing leaves this machine
	export HTTPS_PROXY=http://127.0.0.1:$(free_port) https_proxy=http://127.0.0.1:$(free_port)
	run -1 oci-fetch -v --manifest busybox
	assert_line "oci-fetch: source docker.io/library/busybox:latest (served at registry-1.docker.io)"
	assert_output --partial "https://registry-1.docker.io/v2/"
	run -1 oci-fetch -v --manifest docker://index.docker.io/team/app:1.0
	assert_line --partial "source docker.io/team/app:1.0 "
	d=sha256:$(printf '%064d' 1)
	run -1 oci-fetch -v --manifest "quay.io/a/b/c:v2@$d"
	assert_line "oci-fetch: source quay.io/a/b/c:v2@$d (served at quay.io)"
	run -1 oci-fetch -v --manifest "ghcr.io/x@$d"
	assert_line "oci-fetch: source ghcr.io/x@$d (served at ghcr.io)"
	run -1 oci-fetch -v --manifest "localhost/app"
	assert_line --partial "source localhost/app:latest"
}

# ---- known answers

@test "an OCI image: the same manifest and blobs as skopeo copy, tagged with the source's tag" {
	run -0 oci-fetch "$PLAIN/test/img:1" ours
	desc=$output
	skopeo copy -q --src-tls-verify=false docker://"$PLAIN/test/img:1" oci:theirs:1
	same_as_skopeo ours theirs
	[ "$(jq -r .digest <<<"$desc")" = "$(jq -r '.manifests[0].digest' ours/index.json)" ]
	[ "$(jq -r '.annotations."org.opencontainers.image.ref.name"' <<<"$desc")" = 1 ]
	[ "$(jq -r '.manifests[0].annotations."org.opencontainers.image.ref.name"' ours/index.json)" = 1 ]
	[ "$(ls ours/blobs/sha256 | wc -l)" -eq 5 ]	# manifest, config, three layers
	cmp ours/blobs/sha256/"$(jq -r .digest <<<"$desc" | cut -d: -f2)" \
		<(skopeo inspect --raw --tls-verify=false docker://"$PLAIN/test/img:1")
	# skopeo, umoci and oci-image-tool accept what we stored
	skopeo inspect oci:ours:1 >/dev/null
	umoci stat --image ours:1 >/dev/null
	run -0 oci-image-tool validate --type image --ref name=1 ours
}

@test "the destination's :TAG wins; a second tag in the same layout keeps the first" {
	run -0 oci-fetch "$PLAIN/test/img:1" out:first
	run -0 oci-fetch "docker://$PLAIN/test/img:1" out:second
	run jq -r '[.manifests[].annotations."org.opencontainers.image.ref.name"] | sort | join(",")' out/index.json
	assert_output "first,second"
	blobs_verified out
}

@test "repo@digest is fetched by digest and stored untagged; repo:tag@digest is tagged" {
	digest=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://"$PLAIN/test/img:1")
	run -0 oci-fetch "$PLAIN/test/img@$digest" out
	[ "$(jq -r .digest <<<"$output")" = "$digest" ]
	run jq -r '.manifests[0] | .digest, (.annotations == null)' out/index.json
	assert_output "$digest
true"
	run -0 oci-fetch "$PLAIN/test/img:whatever@$digest" out2
	[ "$(jq -r '.annotations."org.opencontainers.image.ref.name"' <<<"$output")" = whatever ]
	# a digest the registry does not have
	run -1 oci-fetch "$PLAIN/test/img@sha256:$(printf '%064d' 0)" out3
	assert_output --partial "not found"
}

@test "a Docker schema2 image stays a Docker image, byte for byte" {
	run -0 oci-fetch "$PLAIN/test/docker:1" out
	[ "$(jq -r .mediaType <<<"$output")" = application/vnd.docker.distribution.manifest.v2+json ]
	hex=$(jq -r .digest <<<"$output" | cut -d: -f2)
	cmp out/blobs/sha256/$hex <(skopeo inspect --raw --tls-verify=false docker://"$PLAIN/test/docker:1")
	jq -r '.config.digest, .layers[].digest' out/blobs/sha256/$hex | while read -r d; do
		[ -f "out/blobs/sha256/${d#sha256:}" ]
	done
	blobs_verified out
}

@test "a Docker manifest list: the platform's Docker manifest, or with --all the list itself, as served" {
	[ "$(uname -m)" = x86_64 ] || skip "the fixture list has amd64 and arm64"
	run -0 oci-fetch "$PLAIN/test/dlist:1" one
	[ "$(jq -r .mediaType <<<"$output")" = application/vnd.docker.distribution.manifest.v2+json ]
	blobs_verified one
	run -0 oci-fetch --all "$PLAIN/test/dlist:1" all
	[ "$(jq -r .mediaType <<<"$output")" = application/vnd.docker.distribution.manifest.list.v2+json ]
	cmp all/blobs/sha256/"$(jq -r .digest <<<"$output" | cut -d: -f2)" \
		<(skopeo inspect --raw --tls-verify=false docker://"$PLAIN/test/dlist:1")
	[ "$(ls all/blobs/sha256 | wc -l)" -eq 8 ]	# the list, 2 manifests, 2 configs, 3 shared layers
	blobs_verified all
}

@test "an index: this machine's manifest by default, -p for another, --all keeps everything as skopeo --all does" {
	[ "$(uname -m)" = x86_64 ] || skip "the fixture index has amd64 and arm64"
	amd=$(skopeo inspect --raw --tls-verify=false docker://"$PLAIN/test/multi:1" |
		jq -r '.manifests[] | select(.platform.architecture == "amd64") | .digest')
	arm=$(skopeo inspect --raw --tls-verify=false docker://"$PLAIN/test/multi:1" |
		jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest')
	run -0 oci-fetch "$PLAIN/test/multi:1" host
	[ "$(jq -r .digest <<<"$output")" = "$amd" ]
	run -0 oci-fetch -p linux/arm64 "$PLAIN/test/multi:1" arm
	[ "$(jq -r .digest <<<"$output")" = "$arm" ]
	[ "$(jq -r .architecture arm/blobs/sha256/"$(jq -r .config.digest arm/blobs/sha256/${arm#sha256:} | cut -d: -f2)")" = arm64 ]
	run -0 oci-fetch --all "$PLAIN/test/multi:1" all
	[ "$(jq -r .mediaType <<<"$output")" = application/vnd.oci.image.index.v1+json ]
	skopeo copy -q --all --src-tls-verify=false docker://"$PLAIN/test/multi:1" oci:theirs:1
	same_as_skopeo all theirs
	run -1 oci-fetch -p linux/s390x "$PLAIN/test/multi:1" none
	assert_output --partial "no manifest for linux/s390x"
	assert_output --partial "linux/arm64/v8"
	[ ! -e none/index.json ] || [ "$(jq '.manifests | length' none/index.json)" -eq 0 ]
}

@test "a re-fetch downloads no blob again and is quick" {
	fetch_proxy_start none
	run -0 oci-fetch "$PROXY/test/img:1" out
	[ "$(grep -c '/blobs/' "$PROXY_LOG")" -eq 4 ]
	: >"$PROXY_LOG"
	run -0 oci-fetch -v "$PROXY/test/img:1" out
	assert_output --partial "is already in out"
	run -1 grep -c '/blobs/' "$PROXY_LOG"
	assert_output 0
}

@test "--manifest prints the bytes as served; --blob streams one verified blob" {
	run -0 oci-fetch --manifest "$PLAIN/test/multi:1"
	[ "$output" = "$(skopeo inspect --raw --tls-verify=false docker://"$PLAIN/test/multi:1")" ]
	oci-fetch "$PLAIN/test/img:1" out >desc
	layer=$(jq -r '.layers[0].digest' out/blobs/sha256/"$(jq -r .digest desc | cut -d: -f2)")
	oci-fetch --blob "$layer" "$PLAIN/test/img:1" >blob
	cmp blob out/blobs/sha256/${layer#sha256:}
	run -0 bash -c "oci-fetch --blob $layer $PLAIN/test/img:1 | tar tz"
	assert_line --regexp '^(\./)?etc/motd$'
	run -1 oci-fetch --blob "sha256:$(printf '%064d' 0)" "$PLAIN/test/img:1"
	assert_output --partial "not found"
}

@test "-v narrates each request and answer in the spec's terms" {
	run -0 oci-fetch -v "$PLAIN/test/img:1" out
	assert_line --partial "GET /v2/ → 200"
	assert_line --partial "GET /v2/test/img/manifests/1 → 200"
	assert_line --regexp "manifest sha256:[0-9a-f]{12} \(653 bytes\): config sha256:[0-9a-f]{12}, 3 layers"
	assert_line --partial "index.json: tag 1 → manifest"
}

@test "stderr says nothing when it is not a terminal and all is well" {
	oci-fetch "$PLAIN/test/img:1" out >desc 2>err
	[ ! -s err ]
	[ -s desc ]
}

@test "errors: unknown tag, unknown repository, nobody listening" {
	run -1 oci-fetch "$PLAIN/test/img:nope" out
	assert_output --partial "manifests/nope: not found"
	assert_output --partial "MANIFEST_UNKNOWN"
	run -1 oci-fetch "$PLAIN/test/nothing:1" out
	assert_output --partial "not found"
	port=$(free_port)
	run -1 oci-fetch "127.0.0.1:$port/test/img:1" out
	assert_output --partial "127.0.0.1:$port"
}

@test "progress on a terminal: a bar per blob in flight and one for the whole, taken away at the end; nothing on a pipe or with -q" {
	run -0 script -qec "oci-fetch '$PLAIN/test/img:1' shown 2>&1 >/dev/null" /dev/null
	assert_output --regexp $'\e\\[Ktotal +\\[=* *\\] [0-9.]+ [kM]?B / [0-9.]+ [kM]?B, [0-9]+ of [0-9]+ blobs'
	# The lines drawn go again: the cursor goes back up over them and clears below.
	assert_output --regexp $'\e\\[[0-9]+A\e\\[J$'
	run -0 script -qec "oci-fetch -q '$PLAIN/test/img:1' quiet 2>&1 >/dev/null" /dev/null
	assert_output ""
	run -0 --separate-stderr oci-fetch "$PLAIN/test/img:1" piped
	assert_equal "$stderr" ""
	# The progress changes nothing: the same image.
	cmp shown/index.json piped/index.json
}

# ---- authentication

@test "Basic auth: refused without credentials, with a wrong password; --creds works" {
	run -1 oci-fetch "$BASIC/private/img:1" out
	assert_output --partial "wants a user name and password"
	run -1 oci-fetch --creds bob:wrong "$BASIC/private/img:1" out
	assert_output --partial "refused the user name or password"
	run -0 oci-fetch --creds bob:builder "$BASIC/private/img:1" out
	blobs_verified out
	# no :PASS and no terminal: the password is a line on stdin
	run -0 setsid bash -c "echo builder | oci-fetch --creds bob '$BASIC/private/img:1' out2"
	run -1 setsid bash -c "echo wrong | oci-fetch --creds bob '$BASIC/private/img:1' out3"
}

@test "Basic auth: credentials from --authfile, \$REGISTRY_AUTH_FILE, \$XDG_RUNTIME_DIR and ~/.docker/config.json" {
	auth=$(printf bob:builder | base64)
	printf '{"auths":{"https://%s/v1/":{"auth":"%s"}}}' "$BASIC" "$auth" >docker.json
	printf '{"auths":{"%s/private":{"auth":"%s"}}}' "$BASIC" "$auth" >podman.json
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$BASIC" "$(printf bob:wrong | base64)" >wrong.json
	run -0 oci-fetch --authfile docker.json "$BASIC/private/img:1" a
	run -1 oci-fetch --authfile wrong.json "$BASIC/private/img:1" b
	run -1 oci-fetch --authfile missing.json "$BASIC/private/img:1" b
	assert_output --partial "missing.json"
	REGISTRY_AUTH_FILE=$T/podman.json run -0 oci-fetch "$BASIC/private/img:1" c
	mkdir -p xdg/containers home/.docker
	cp podman.json xdg/containers/auth.json
	cp docker.json home/.docker/config.json
	XDG_RUNTIME_DIR=$T/xdg HOME=$T/nohome run -0 oci-fetch "$BASIC/private/img:1" d
	XDG_RUNTIME_DIR=$T/none HOME=$T/home run -0 oci-fetch -v "$BASIC/private/img:1" e
	assert_output --partial "credentials for $BASIC from $T/home/.docker/config.json"
	printf '{"auths":{"%s":{"auth":"not base64!"}}}' "$BASIC" >broken.json
	run -1 oci-fetch --authfile broken.json "$BASIC/private/img:1" f
	assert_output --partial "base64"
}

# cred_helper: docker-credential-oci-test in $T/helpers (put it first in PATH), a credential
# helper that logs its arguments and stdin to $T/helper.log and knows bob:builder for
# $BASIC, an identity token for $TOKEN, and nothing else.
cred_helper() {
	mkdir -p "$T/helpers"
	cat >"$T/helpers/docker-credential-oci-test" <<SH
#!/bin/sh
server=\$(cat)
echo "args=\$* server=\$server" >>"$T/helper.log"
case \$server in
$BASIC) echo '{"ServerURL":"$BASIC","Username":"bob","Secret":"builder"}' ;;
$TOKEN) echo '{"ServerURL":"$TOKEN","Username":"<token>","Secret":"alice-refresh-token"}' ;;
*) echo "credentials not found in native keychain"; exit 1 ;;
esac
SH
	chmod +x "$T/helpers/docker-credential-oci-test"
}

@test "docker's credsStore: the helper gets the server on stdin, never a secret in its arguments" {
	cred_helper
	mkdir docker
	echo '{"credsStore":"oci-test"}' >docker/config.json
	PATH=$T/helpers:$PATH DOCKER_CONFIG=$T/docker run -0 oci-fetch -v "$BASIC/private/img:1" out
	assert_output --partial "credentials for $BASIC from docker-credential-oci-test"
	refute_output --partial builder
	run -0 cat "$T/helper.log"
	assert_output "args=get server=$BASIC"
	blobs_verified out
	# a server the helper does not know: no credentials, as without a helper
	PATH=$T/helpers:$PATH DOCKER_CONFIG=$T/docker run -0 oci-fetch -v "$PLAIN/test/img:1" out2
	assert_output --partial "docker-credential-oci-test has no credentials for $PLAIN"
}

@test "docker's credHelpers: the registry's own helper comes before credsStore; a missing helper is an error" {
	cred_helper
	mkdir docker
	printf '{"credsStore":"absent","credHelpers":{"%s":"oci-test"}}' "$BASIC" >docker/config.json
	PATH=$T/helpers:$PATH DOCKER_CONFIG=$T/docker run -0 oci-fetch "$BASIC/private/img:1" out
	blobs_verified out
	# another registry goes to credsStore, whose helper is not there
	PATH=$T/helpers:$PATH DOCKER_CONFIG=$T/docker run -1 oci-fetch "$PLAIN/test/img:1" out2
	assert_output --partial "credential helper docker-credential-absent: not found in PATH"
	printf '{"credsStore":"../../bin/sh"}' >docker/config.json
	DOCKER_CONFIG=$T/docker run -1 oci-fetch "$PLAIN/test/img:1" out3
	assert_output --partial "not a helper name"
}

@test "an identity token (config.json identitytoken, or a helper's <token>) is a refresh token for the realm" {
	mkdir docker
	printf '{"auths":{"%s":{"identitytoken":"alice-refresh-token"}}}' "$TOKEN" >docker/config.json
	DOCKER_CONFIG=$T/docker run -0 oci-fetch -v "$TOKEN/private/img:1" out
	assert_output --partial "an identity token for $TOKEN from $T/docker/config.json"
	refute_output --partial alice-refresh-token
	run -0 grep -c "scope=repository:private/img:pull user=alice grant=refresh_token" "$TOKEN_LOG"
	blobs_verified out
	cred_helper
	printf '{"credHelpers":{"%s":"oci-test"}}' "$TOKEN" >docker/config.json
	PATH=$T/helpers:$PATH DOCKER_CONFIG=$T/docker run -0 oci-fetch -v "$TOKEN/private/img:1" out2
	assert_output --partial "an identity token for $TOKEN from docker-credential-oci-test"
	blobs_verified out2
	# a refresh token the service does not know is refused, and not shown
	printf '{"auths":{"%s":{"identitytoken":"stolen-and-revoked"}}}' "$TOKEN" >docker/config.json
	DOCKER_CONFIG=$T/docker run -1 oci-fetch -v "$TOKEN/private/img:1" out3
	assert_output --partial "refused"
	refute_output --partial stolen-and-revoked
}

@test "token auth: anonymous pull of a public repository, one token for the whole pull" {
	run -0 oci-fetch -v "$TOKEN/public/img:1" out
	assert_output --regexp "GET /v2/ → 401 Bearer realm=\"?http://127.0.0.1:[0-9]+/token"
	assert_output --partial "token for repository:public/img:pull"
	blobs_verified out
	run grep -c "scope=repository:public/img:pull user=anonymous" "$TOKEN_LOG"
	assert_output 1
	skopeo copy -q --src-tls-verify=false docker://"$TOKEN/public/img:1" oci:theirs:1
	same_as_skopeo out theirs
}

@test "token auth: a private repository needs credentials, and the registry checks the token" {
	run -1 oci-fetch "$TOKEN/private/img:1" out
	assert_output --partial "access denied"
	[ ! -e out/blobs/sha256 ] || [ -z "$(ls out/blobs/sha256)" ]
	run -1 oci-fetch --creds alice:wrong "$TOKEN/private/img:1" out
	assert_output --partial "refused"
	run -0 oci-fetch --creds alice:wonderland "$TOKEN/private/img:1" out
	grep -q "scope=repository:private/img:pull user=alice" "$TOKEN_LOG"
	blobs_verified out
}

@test "token auth: a token is used until its expires_in runs out, then renewed" {
	# tokens live 2 s; one blob at a time, each answered 429 (Retry-After: 1) once
	echo 2 >"$TOKEN_LOG.ttl"
	fetch_proxy_start 429 "$TOKEN"
	OCI_FETCH_MAX_WAIT=1 run -0 oci-fetch -v -j 1 "$PROXY/public/img:1" out
	rm "$TOKEN_LOG.ttl"
	[ "$(grep -c "token for repository:public/img:pull" <<<"$output")" -ge 2 ]
	refute_output --partial "access denied"
	blobs_verified out
}

@test "a first fetch that fails leaves no layout; one into a directory that was there leaves it" {
	run -1 oci-fetch --plain-http 127.0.0.1:1/test/img:1 fresh
	assert_output --partial "127.0.0.1:1"
	[ ! -e fresh ]
	mkdir was-there
	run -1 oci-fetch --plain-http 127.0.0.1:1/test/img:1 was-there
	[ -d was-there ]
	# A layout with blobs in it stays: that is what a later run resumes from.
	run -0 oci-fetch "$PLAIN/test/img:1" full
	run -1 oci-fetch --plain-http 127.0.0.1:1/test/img:1 full
	blobs_verified full
	[ "$(jq '.manifests | length' full/index.json)" -eq 1 ]
}

# ---- TLS

@test "TLS: an untrusted certificate is an error; --cacert and --insecure work; HTTPS is not downgraded" {
	run -1 oci-fetch "$TLS/test/img:1" out
	assert_output --partial "--cacert"
	[ ! -e out/index.json ] || [ "$(jq '.manifests | length' out/index.json)" -eq 0 ]
	run -0 oci-fetch --cacert "$TLS_CA" "$TLS/test/img:1" a
	blobs_verified a
	run -0 oci-fetch --insecure "$TLS/test/img:1" b
	run -1 oci-fetch --plain-http "$TLS/test/img:1" c
	run -1 oci-fetch --cacert "$T/nonexistent.pem" "$TLS/test/img:1" d
	# a plain registry is still reached with --cacert
	run -0 oci-fetch --cacert "$TLS_CA" "$PLAIN/test/img:1" e
}

# ---- faults, through tests/fetch_proxy.py

@test "fault: a truncated body is resumed with a Range request" {
	fetch_proxy_start truncate
	run -0 oci-fetch "$PROXY/test/img:1" out
	grep -q 'range=bytes=[1-9][0-9]*- .* -> 206' "$PROXY_LOG"
	skopeo copy -q --src-tls-verify=false docker://"$PLAIN/test/img:1" oci:theirs:1
	same_as_skopeo out theirs
}

@test "fault: a reset connection is retried and resumed" {
	fetch_proxy_start reset
	run -0 oci-fetch "$PROXY/test/img:1" out
	[ "$(grep -c '/blobs/' "$PROXY_LOG")" -eq 8 ]
	blobs_verified out
}

@test "fault: a corrupted byte is caught by the digest and downloaded again" {
	fetch_proxy_start corrupt
	run -0 oci-fetch "$PROXY/test/img:1" out
	assert_output --partial "digest mismatch"
	[ "$(grep -c '/blobs/' "$PROXY_LOG")" -eq 8 ]
	skopeo copy -q --src-tls-verify=false docker://"$PLAIN/test/img:1" oci:theirs:1
	same_as_skopeo out theirs
}

@test "fault: 500 then success" {
	fetch_proxy_start 500
	run -0 oci-fetch "$PROXY/test/img:1" out
	assert_output --partial "HTTP 500: UNKNOWN injected failure"
	blobs_verified out
	[ "$(jq '.manifests | length' out/index.json)" -eq 1 ]
}

@test "fault: 429 waits as Retry-After says (capped by \$OCI_FETCH_MAX_WAIT)" {
	fetch_proxy_start 429
	start=$(date +%s%N)
	OCI_FETCH_MAX_WAIT=1 run -0 oci-fetch "$PROXY/test/img:1" out
	[ $(( ($(date +%s%N) - start) / 1000000 )) -ge 900 ]
	assert_output --partial "HTTP 429"
	assert_output --partial "trying again in 1.0s"
	blobs_verified out
}

@test "fault: a body that is always corrupt fails with exit 1 and stores nothing" {
	fetch_proxy_start corrupt-always
	run -1 oci-fetch "$PROXY/test/img:1" out
	assert_output --partial "gave up after 6 attempts"
	blobs_verified out
	[ "$(jq '.manifests | length' out/index.json)" -eq 0 ]
	# the manifest is never stored when a blob it needs failed
	[ -z "$(ls out/blobs/sha256)" ] || ! grep -l '"layers"' out/blobs/sha256/*
}

@test "fault: a connection that always breaks ends in a correct layout or exit 1" {
	fetch_proxy_start truncate-always
	run oci-fetch "$PROXY/test/img:1" out
	[ "$status" -eq 0 ] || [ "$status" -eq 1 ]
	blobs_verified out
	# A layout with no blob (nor a .partial) in it is not left behind.
	if [ "$status" -eq 1 ]; then
		[ ! -e out ] || [ "$(jq '.manifests | length' out/index.json)" -eq 0 ]
	fi
}

@test "redirects are followed, but credentials never go to another host" {
	export UPSTREAM_AUTH="Basic $(printf bob:builder | base64)"
	fetch_proxy_start redirect "$BASIC"
	run -0 oci-fetch --creds bob:builder "$PROXY/private/img:1" out
	grep -q '/blobs/.* auth=yes -> 307' "$PROXY_LOG"
	grep -q '^GET /redirected/' "$PROXY_LOG"
	run -1 grep '^GET /redirected/.* auth=yes' "$PROXY_LOG"
	assert_output ""
	blobs_verified out
}

@test "a manifest over 4 MiB is refused" {
	# docker-registry itself refuses to store one: the proxy pads it on the way
	fetch_proxy_start huge-always@manifests
	run -1 oci-fetch "$PROXY/test/img:1" out
	assert_output --partial "over 4194304 bytes is refused"
	[ ! -e out ]	# a first fetch that stored nothing leaves no layout
	run -1 oci-fetch --manifest "$PROXY/test/img:1"
	assert_output --partial "over 4194304 bytes is refused"
}

@test "fault: a manifest whose bytes do not match its digest is never stored" {
	fetch_proxy_start corrupt-always@manifests
	run -1 oci-fetch "$PROXY/test/img:1" out
	assert_output --partial "digest mismatch"
	[ ! -e out ]
	digest=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' docker://"$PLAIN/test/img:1")
	run -1 oci-fetch "$PROXY/test/img@$digest" out
	assert_output --partial "digest mismatch: expected $digest"
	fetch_proxy_stop
	fetch_proxy_start corrupt@manifests
	run -0 oci-fetch "$PROXY/test/img@$digest" out
	blobs_verified out
}

@test "fault: --blob exits 1 when the streamed bytes do not match the digest" {
	oci-fetch "$PLAIN/test/img:1" out >desc
	layer=$(jq -r '.layers[0].digest' out/blobs/sha256/"$(jq -r .digest desc | cut -d: -f2)")
	fetch_proxy_start corrupt-always
	run -1 oci-fetch --blob "$layer" "$PROXY/test/img:1"
	assert_output --partial "digest mismatch: expected $layer"
	fetch_proxy_stop
	fetch_proxy_start truncate
	oci-fetch --blob "$layer" "$PROXY/test/img:1" >blob
	cmp blob out/blobs/sha256/${layer#sha256:}
}

@test "fault: an error reply whose body never ends is cut short, not read forever" {
	fetch_proxy_start endless@manifests
	run -1 timeout 60 oci-fetch "$PROXY/test/img:1" out
	assert_output --partial "manifests/1: not found"
	[ ! -e out ]
	fetch_proxy_stop
	fetch_proxy_start endless-always
	run -1 timeout 60 oci-fetch "$PROXY/test/img:1" out2
	assert_output --partial "not found"
	blobs_verified out2
	[ ! -e out2 ]
}

# ---- --store: the layers extracted while they download

# store_tree STORE LAYER...: each LAYER (a chain id) of STORE and every entry of its
# diff/: type, mode, owner, size, mtime, link target, content digest and xattrs.
# Its link and lower are left out: their short names are random.
store_tree() {
	local s=$1 d
	shift
	for d in "$@"; do
		echo "== $d"
		# a directory the layer does not list, and a whiteout (a device), get the time of extraction
		(cd "$s/$d/diff" && find . -printf '%p %y %m %U:%G %s %T@ %l\n' |
			awk '$2 == "d" || $2 == "c" { $6 = "-" } 1' | sort &&
			find . -type f -exec sha256sum {} + | sort -k2 &&
			getfattr -R -h -d -m - . 2>/dev/null | sed '/^$/d') || echo "no $s/$d/diff"
	done
}

# image_layers STORE: the image layers in STORE (chain ids).
image_layers() { ls "$1" | grep '^[0-9a-f]\{64\}$'; }

# zstd_image LAYOUT FROM TO: image TO of LAYOUT is image FROM with its layers recompressed with zstd.
zstd_image() {
	local l=$1 m c layers= d hex size
	m=$l/blobs/sha256/$(jq -r --arg t "$2" '.manifests[] | select(.annotations."org.opencontainers.image.ref.name" == $t) | .digest' "$l/index.json" | cut -d: -f2)
	for d in $(jq -r '.layers[].digest' "$m"); do
		gzip -dc "$l/blobs/sha256/${d#sha256:}" | zstd -q >"$T/z"
		hex=$(sha256sum "$T/z" | cut -c1-64) size=$(stat -c %s "$T/z")
		mv "$T/z" "$l/blobs/sha256/$hex"
		layers="$layers${layers:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+zstd\",\"digest\":\"sha256:$hex\",\"size\":$size}"
	done
	jq -c ".layers = [$layers]" "$m" >"$T/m"
	retag "$l" "$T/m" "$3"
}

# bad_diff_image LAYOUT FROM TO [N]: image TO is FROM with a config whose diff_id N (0, the
# first, by default; -1 the last) is wrong.
bad_diff_image() {
	local l=$1 m c hex
	m=$l/blobs/sha256/$(jq -r --arg t "$2" '.manifests[] | select(.annotations."org.opencontainers.image.ref.name" == $t) | .digest' "$l/index.json" | cut -d: -f2)
	c=$l/blobs/sha256/$(jq -r .config.digest "$m" | cut -d: -f2)
	jq -c ".rootfs.diff_ids[${4:-0}] = \"sha256:$(echo wrong | sha256sum | cut -c1-64)\"" "$c" >"$T/c"
	hex=$(sha256sum "$T/c" | cut -c1-64)
	jq -c --arg d "sha256:$hex" --argjson s "$(stat -c %s "$T/c")" '.config.digest = $d | .config.size = $s' "$m" >"$T/m"
	mv "$T/c" "$l/blobs/sha256/$hex"
	retag "$l" "$T/m" "$3"
}

# retag LAYOUT MANIFEST TAG: the manifest file MANIFEST becomes a blob of LAYOUT, tagged TAG.
retag() {
	local hex size
	hex=$(sha256sum "$2" | cut -c1-64) size=$(stat -c %s "$2")
	mv "$2" "$1/blobs/sha256/$hex"
	jq -c --arg d "sha256:$hex" --argjson s "$size" --arg t "$3" '.manifests += [{mediaType:
		"application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s,
		annotations: {"org.opencontainers.image.ref.name": $t}}]' "$1/index.json" >"$1/i2"
	mv "$1/i2" "$1/index.json"
}

# stream_same REF NAME: oci-fetch --store gives the layout and the image layers
# that oci-fetch, then oci-overlay --store, give (in LNAME and SNAME).
stream_same() {
	run -0 oci-fetch -v --store "S$2" "$1" "L$2:1"
	assert_output --partial "extracts it as it lands"
	assert_output --partial "extracted while it downloaded, checked"
	oci-fetch -q "$1" "two$2:1" >/dev/null
	oci-unshare -m oci-overlay -q --store "two-S$2" "two$2:1" c >/dev/null
	diff <(cd "L$2/blobs/sha256" && ls) <(cd "two$2/blobs/sha256" && ls)
	diff <(jq -S .manifests "L$2/index.json") <(jq -S .manifests "two$2/index.json")
	blobs_verified "L$2"
	mapfile -t layers < <(image_layers "S$2")
	[ "${#layers[@]}" -eq 3 ]
	# the two-step store has the container's layers too: the image's are compared
	diff <(store_tree "S$2" "${layers[@]}") <(store_tree "two-S$2" "${layers[@]}")
	[ -z "$(find "S$2" -maxdepth 1 -name '.tmp-*')" ]
}

@test "--store: each layer is extracted while it downloads; the store and layout are those of the two steps (OCI, Docker, zstd, an index)" {
	local src=$BATS_FILE_TMPDIR/src
	zstd_image "$src" img zstd
	skopeo copy -q --dest-tls-verify=false oci:"$src:zstd" docker://"$PLAIN/test/zstd:1"
	stream_same "$PLAIN/test/img:1" oci
	stream_same "$PLAIN/test/docker:1" docker
	stream_same "$PLAIN/test/zstd:1" zstd
	grep -q tar+zstd Lzstd/blobs/sha256/"$(jq -r '.manifests[0].digest' Lzstd/index.json | cut -d: -f2)"
	stream_same "$PLAIN/test/multi:1" multi
	stream_same "$PLAIN/test/dlist:1" dlist
	# the layers are the same ones: the OCI image and the Docker one share a store
	diff <(image_layers Soci) <(image_layers Sdocker)
}

@test "--store as nobody, in oci-unshare's user namespace: the same layers as the two steps" {
	open_to_nobody "$T/n"
	cd "$T/n"
	run -0 as nobody oci-unshare sh -c "oci-fetch -v --store S '$PLAIN/test/img:1' L:1 &&
		oci-fetch -q '$PLAIN/test/img:1' two:1 >/dev/null && oci-overlay -q --store two-S two:1 c >/dev/null"
	assert_output --partial "extracted while it downloaded, checked"
	[ "$(cat S/xattrs)" = user.overlay ]
	mapfile -t layers < <(image_layers S)
	[ "${#layers[@]}" -eq 3 ]
	diff <(store_tree S "${layers[@]}") <(store_tree two-S "${layers[@]}")
	# layer 3's whiteouts are overlayfs's: character devices 0/0
	wh=$(find S -path '*/diff/data/a' -type c)
	[ -n "$wh" ]
	[ "$(stat -c %t:%T "$wh")" = 0:0 ]
}

@test "--store: a second pull finds the layers there; oci-overlay --store then makes a container from them" {
	oci-fetch -q --store S "$PLAIN/test/img:1" L:1 >/dev/null
	run -0 oci-fetch -v --store S "$PLAIN/test/img:1" L:1
	assert_output --partial "in the store already as"
	refute_output --partial "extracting"
	run -0 oci-unshare -m sh -c "oci-overlay -v --store S L:1 c && cat S/*/merged/etc/new"
	refute_output --partial "extracting"
	assert_output --partial "$(cat S/*/diff/etc/new)"
}

# same_as_two_steps: the store S holds the three layers of test/img that
# oci-fetch, then oci-overlay --store (into two and two-S), give.
same_as_two_steps() {
	oci-fetch -q "$PLAIN/test/img:1" two:1 >/dev/null
	oci-unshare -m oci-overlay -q --store two-S two:1 c >/dev/null
	mapfile -t layers < <(image_layers S)
	[ "${#layers[@]}" -eq 3 ]
	diff <(store_tree S "${layers[@]}") <(store_tree two-S "${layers[@]}")
}

@test "--store where pidfd_open is refused: no layer is extracted while it downloads, -v says why; each comes from its blob, the same layers" {
	# without a pidfd, undo could not stop a child on SIGINT: each is killed at once
	run -0 /usr/bin/python3 "$TESTS_DIR/seccomp_deny.py" pidfd_open:ENOSYS \
		oci-fetch -v --store S "$PLAIN/test/img:1" L:1
	assert_output --partial "not extracted while it downloads, since an interrupt could not stop the extraction (pidfd_open: Function not implemented)"
	refute_output --partial "extracts it as it lands"
	assert_output --partial "extracting into"
	same_as_two_steps
	diff <(cd L && find . -type f | sort) <(cd two && find . -type f | sort)
}

@test "--store: usage errors exit 2" {
	run -2 oci-fetch --store S --all "$PLAIN/test/multi:1" L
	assert_output --partial "--store"
	run -2 oci-fetch --store S --manifest "$PLAIN/test/img:1"
	run -2 oci-fetch --store
}

# lying REF MODE EXPECT: oci-fetch --store through a proxy in MODE exits 1 saying EXPECT,
# and leaves no layer, no temporary directory and no image in the layout.
stream_lies() {
	local ref=$1
	if [ "$2" != none ]; then fetch_proxy_start "$2"; ref=$PROXY/${1#*/}; fi
	run -1 oci-fetch --store S "$ref" L:1
	assert_output --partial "$3"
	[ -z "$(ls -A S | grep -v '^containers$\|^l$\|^xattrs$')" ] || { ls -la S; false; }
	[ -z "$(ls -A S/l)" ]
	[ ! -e L/index.json ] || [ "$(jq '.manifests | length' L/index.json)" -eq 0 ]
	blobs_verified L
	[ -z "$(pgrep -f "oci-fetch --store S ")" ]
	fetch_proxy_stop
	# and nothing is in the way of a pull that goes well
	run -0 oci-fetch --store S "$PLAIN/test/img:1" L:1
	[ "$(image_layers S | wc -l)" -eq 3 ]
	rm -rf S L
}

@test "fault: --store with a registry that lies mid-stream (a corrupt byte, a cut body, a wrong diff_id): exit 1, nothing published, a re-run succeeds" {
	stream_lies "$PLAIN/test/img:1" corrupt-always "digest mismatch"
	stream_lies "$PLAIN/test/img:1" truncate-always "oci-fetch:"
	bad_diff_image "$BATS_FILE_TMPDIR/src" img baddiff
	skopeo copy -q --dest-tls-verify=false oci:"$BATS_FILE_TMPDIR/src:baddiff" docker://"$PLAIN/test/baddiff:1"
	stream_lies "$PLAIN/test/baddiff:1" none "diff_id"
	# the top layer lies: the two below it, checked and put in the store, go again
	bad_diff_image "$BATS_FILE_TMPDIR/src" img badtop -1
	skopeo copy -q --dest-tls-verify=false oci:"$BATS_FILE_TMPDIR/src:badtop" docker://"$PLAIN/test/badtop:1"
	stream_lies "$PLAIN/test/badtop:1" none "diff_id"
}

@test "fault: --store with a body corrupt once: the download starts again and the layer is extracted from the verified blob" {
	fetch_proxy_start corrupt
	run -0 oci-fetch -v --store S "$PROXY/test/img:1" L:1
	assert_output --partial "not extracted while it downloaded; extracting it from its blob"
	same_as_two_steps
}

@test "--store: SIGINT mid-stream stops the extractions and removes what they made; a re-run succeeds" {
	# a layer of 8 MB that the slow proxy sends at about 3 MB/s
	mkdir -p big/data
	head -c 8000000 /dev/urandom >big/data/blob
	oci-commit -q big "$T/biglayout:1" >/dev/null
	skopeo copy -q --dest-tls-verify=false oci:"$T/biglayout:1" docker://"$PLAIN/test/big:1"
	fetch_proxy_start slow
	# the moment: a megabyte of the file extracted while the rest still downloads
	run -130 "$TESTS_DIR/interrupt.py" INT "S/.tmp-*/diff/data/blob" 1000000 -- \
		oci-fetch --store S "$PROXY/test/big:1" L:1
	[ -z "$(ls -A S | grep -v '^containers$\|^l$\|^xattrs$')" ] || { ls -la S; false; }
	[ -z "$(pgrep -f "oci-fetch --store S ")" ]
	# the download's bytes wait in a .partial file for the next run, as for any oci-fetch
	[ ! -e L/index.json ] || [ "$(jq '.manifests | length' L/index.json)" -eq 0 ]
	[ -z "$(find L -name '.tmp-*')" ]
	fetch_proxy_stop
	run -0 oci-fetch --store S "$PLAIN/test/big:1" L:1
	blobs_verified L
	[ "$(image_layers S | wc -l)" -eq 1 ]
	cmp big/data/blob S/*/diff/data/blob
}
