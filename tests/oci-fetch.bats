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
