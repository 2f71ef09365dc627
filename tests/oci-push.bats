#!/usr/bin/env bats
# oci-push against real docker-registry instances on loopback (plain, Basic,
# TLS, token auth that enforces push scope), with skopeo and oci-fetch as the
# oracles, and a counting proxy (tests/push_proxy.py) that shows each request.

load helper
load fetch_helper

setup_file() { fetch_servers_start; }
teardown_file() { fetch_servers_stop; }
teardown() { fetch_proxy_stop; }

SRC=$BATS_FILE_TMPDIR/src

# push_proxy_start [FAULT]: tests/push_proxy.py before $PLAIN (PROXY, PROXY_LOG);
# fetch_proxy_stop stops it.
push_proxy_start() { proxy_start push_proxy.py "$PLAIN" "${1:-none}"; }

# The digest the registry serves for REF, as skopeo sees it.
skopeo_digest() {
	skopeo inspect --raw --tls-verify=false "$@" | sha256sum | sed 's/^/sha256:/; s/ .*//'
}

# ---- usage

@test "-h prints the usage on stdout and exits 0" {
	help_and_version oci-push "--mount-from REPO"
}

@test "usage errors exit 2 and say why" {
	run -2 oci-push
	assert_output --partial "usage:"
	run -2 oci-push "$SRC:img"
	run -2 oci-push -j 0 "$SRC:img" "$PLAIN/x/y"
	assert_output --partial "-j 0"
	run -2 oci-push --chunk-size 0 "$SRC:img" "$PLAIN/x/y"
	assert_output --partial "--chunk-size 0"
	run -2 oci-push --mount-from 'Bad Name' "$SRC:img" "$PLAIN/x/y"
	assert_output --partial "--mount-from Bad Name"
	run -2 oci-push "$SRC:img" "$PLAIN/Upper/case"
	assert_output --partial "must be lowercase"
	run -2 oci-push -p linux "$SRC:img" "$PLAIN/x/y"
	run -2 oci-push --timeout 0 "$SRC:img" "$PLAIN/x/y"
	assert_output --partial "--timeout 0: expected seconds from 0.1 to 3600"
	run -2 oci-push --bogus "$SRC:img" "$PLAIN/x/y"
}

# ---- known answers

@test "an OCI image: skopeo inspect and oci-fetch see the digest oci-push printed" {
	run -0 oci-push "$SRC:img" "$PLAIN/push/oci:1"
	want=$(jq -r '.manifests[] | select(.annotations."org.opencontainers.image.ref.name" == "img") | .digest' "$SRC/index.json")
	assert_equal "$(jq -r .digest <<<"$output")" "$want"
	assert_equal "$(jq -r .mediaType <<<"$output")" application/vnd.oci.image.manifest.v1+json
	assert_equal "$(skopeo_digest "docker://$PLAIN/push/oci:1")" "$want"
	run -0 oci-fetch "$PLAIN/push/oci:1" back
	assert_equal "$(jq -r .digest <<<"$output")" "$want"
	# every blob of the image came back, verified
	for d in $(oci-manifest --layers "$SRC:img" | jq -r .digest) $(oci-manifest "$SRC:img" | jq -r .config.digest); do
		assert_file_exists "back/blobs/sha256/${d#sha256:}"
	done
	blobs_verified back
}

@test "a Docker schema2 image goes up as it is: same bytes, same media types" {
	oci-fetch -q "$PLAIN/test/docker:1" dock >/dev/null
	want=$(oci-index dock:1 | jq -r .digest)
	run -0 oci-push dock:1 "$PLAIN/push/docker:2"
	assert_equal "$(jq -r .digest <<<"$output")" "$want"
	assert_equal "$(jq -r .mediaType <<<"$output")" application/vnd.docker.distribution.manifest.v2+json
	run -0 skopeo inspect --raw --tls-verify=false "docker://$PLAIN/push/docker:2"
	assert_equal "$(jq -r .mediaType <<<"$output")" application/vnd.docker.distribution.manifest.v2+json
	assert_equal "$(skopeo_digest "docker://$PLAIN/push/docker:2")" "$want"
}

@test "an index: this machine's manifest by default, -p for another, --all the whole index" {
	amd=$(oci-index -p linux/amd64 "$SRC:multi" | jq -r .digest)
	arm=$(oci-index -p linux/arm64 "$SRC:multi" | jq -r .digest)
	index=$(oci-index "$SRC:multi" | jq -r .digest)
	if [ "$(uname -m)" = x86_64 ]; then
		run -0 oci-push "$SRC:multi" "$PLAIN/push/one:1"
		assert_equal "$(jq -r .digest <<<"$output")" "$amd"
	fi
	run -0 oci-push -p linux/arm64 "$SRC:multi" "$PLAIN/push/arm:1"
	assert_equal "$(jq -r .digest <<<"$output")" "$arm"
	assert_equal "$(skopeo_digest "docker://$PLAIN/push/arm:1")" "$arm"
	run -0 oci-push --all "$SRC:multi" "$PLAIN/push/multi:1"
	assert_equal "$(jq -r .digest <<<"$output")" "$index"
	assert_equal "$(skopeo_digest "docker://$PLAIN/push/multi:1")" "$index"
	# both platforms are there, by digest
	assert_equal "$(skopeo_digest "docker://$PLAIN/push/multi@$arm")" "$arm"
	assert_equal "$(skopeo_digest "docker://$PLAIN/push/multi@$amd")" "$amd"
	run -0 oci-fetch --all "$PLAIN/push/multi:1" back
	assert_equal "$(jq -r .digest <<<"$output")" "$index"
}

@test "a Docker manifest list with --all, as skopeo seeded it" {
	oci-fetch -q --all "$PLAIN/test/dlist:1" dl >/dev/null
	want=$(oci-index dl:1 | jq -r .digest)
	run -0 oci-push --all dl:1 "$PLAIN/push/dlist:1"
	assert_equal "$(jq -r .mediaType <<<"$output")" application/vnd.docker.distribution.manifest.list.v2+json
	assert_equal "$(skopeo_digest "docker://$PLAIN/push/dlist:1")" "$want"
}

@test "progress on a terminal: a bar per blob in flight and one for the whole, as oci-fetch draws; nothing on a pipe" {
	run -0 script -qec "oci-push '$SRC:img' '$PLAIN/push/shown:1' 2>&1 >/dev/null" /dev/null
	assert_output --regexp $'\e\\[Ktotal +\\[=* *\\] [0-9.]+ [kM]?B / [0-9.]+ [kM]?B, [0-9]+ of [0-9]+ blobs'
	assert_output --regexp $'\e\\[[0-9]+A\e\\[J$'
	run -0 --separate-stderr oci-push "$SRC:img" "$PLAIN/push/piped:1"
	assert_equal "$stderr" ""
}

@test "pushing what is already there costs only HEAD requests" {
	oci-push "$SRC:img" "$PLAIN/push/again:1" >/dev/null
	push_proxy_start
	run -0 oci-push "$SRC:img" "$PROXY/push/again:1"
	run -0 grep -c . "$PROXY_LOG"
	assert_output 6	# GET /v2/, four blobs, the manifest
	run -1 grep -v -e '^HEAD ' -e '^GET /v2/ ' "$PROXY_LOG"
}

@test "a blob another repository has is mounted, not uploaded" {
	oci-push "$SRC:img" "$PLAIN/push/base:1" >/dev/null
	push_proxy_start
	run -0 oci-push -v --mount-from push/base "$SRC:img" "$PROXY/push/mounted:1"
	assert_output --partial "mounted from push/base"
	run -0 grep -c "^POST /v2/push/mounted/blobs/uploads/?mount=sha256:.*&from=push/base -> 201" "$PROXY_LOG"
	assert_output 4
	run -1 grep -e '^PUT /v2/push/mounted/blobs' -e '^PATCH' "$PROXY_LOG"
	assert_equal "$(skopeo_digest "docker://$PLAIN/push/mounted:1")" \
		"$(oci-index "$SRC:img" | jq -r .digest)"
}

@test "a mount the registry cannot do falls back to an upload" {
	push_proxy_start
	run -0 oci-push -v --mount-from push/nothing-here "$SRC:img" "$PROXY/push/fallback:1"
	assert_output --partial "has no blob"
	run -0 grep -c '^PUT /v2/push/fallback/blobs/uploads/.*digest=sha256:.* -> 201' "$PROXY_LOG"
	assert_output 4
}

@test "--chunk-size sends blobs in PATCH chunks with Content-Range" {
	push_proxy_start
	run -0 oci-push --chunk-size 100 "$SRC:img" "$PROXY/push/chunked:1"
	want=$(oci-index "$SRC:img" | jq -r .digest)
	assert_equal "$(jq -r .digest <<<"$output")" "$want"
	# the 743-byte layer is 8 chunks; then a PUT with no body closes each upload
	run -0 grep -c '^PATCH ' "$PROXY_LOG"
	[ "$output" -ge 8 ]
	assert_equal "$(skopeo_digest "docker://$PLAIN/push/chunked:1")" "$want"
}

@test "-v narrates each request; -j 1 still pushes everything" {
	run -0 oci-push -v -j 1 "$SRC:img" "$PLAIN/push/told:1"
	assert_line --partial "pushing 4 blobs and 1 manifest to $PLAIN/push/told"
	assert_line --regexp "HEAD /v2/push/told/blobs/sha256:[0-9a-f]{64} → 404"
	assert_line --partial "POST /v2/push/told/blobs/uploads/ → 202"
	assert_line --regexp "PUT /v2/push/told/blobs/uploads/.*digest=sha256:[0-9a-f]{64} → 201"
	assert_line --partial "PUT /v2/push/told/manifests/1 → 201"
}

@test "stderr says nothing when it is not a terminal and all is well" {
	run -0 --separate-stderr oci-push "$SRC:img" "$PLAIN/push/quiet:1"
	assert_equal "$stderr" ""
	run -0 jq -e .digest <<<"$output"
}

@test "DEST@DIGEST pushes by digest; a digest that is not the image's is refused before anything is sent" {
	want=$(oci-index "$SRC:img" | jq -r .digest)
	run -0 oci-push "$SRC:img" "$PLAIN/push/bydigest@$want"
	assert_equal "$(skopeo_digest "docker://$PLAIN/push/bydigest@$want")" "$want"
	push_proxy_start
	run -1 oci-push "$SRC:img" "$PROXY/push/wrong@sha256:$(printf '%064d' 0)"
	assert_output --partial "not sha256:0000"
	run -1 grep -e '^POST' -e '^PUT' "$PROXY_LOG"
}

# ---- retries

@test "fault: a 500 on an upload's PUT starts that blob over, and the push succeeds" {
	push_proxy_start 500
	run -0 oci-push "$SRC:img" "$PROXY/push/retried:1"
	assert_output --partial "trying again"
	run -0 grep -c '^PUT /v2/push/retried/blobs/uploads/.* -> 500' "$PROXY_LOG"
	assert_output 4
	assert_equal "$(skopeo_digest "docker://$PLAIN/push/retried:1")" \
		"$(oci-index "$SRC:img" | jq -r .digest)"
}

@test "fault: a registry that answers each request once with 429 Retry-After: 1 is waited for as it asks" {
	push_proxy_start 429once
	OCI_FETCH_MAX_WAIT=5 run -0 oci-push -v -j 1 "$SRC:img" "$PROXY/push/limited:1"
	assert_output --partial "→ 429: TOOMANYREQUESTS slow down"
	assert_output --partial "HTTP 429: TOOMANYREQUESTS slow down; trying again in 1.0s"
	refute_output --regexp "trying again in (0\.|[2-9])"
	assert_output --partial "rate limit: RateLimit-Limit: 100;w=21600"
	assert_equal "$(skopeo_digest "docker://$PLAIN/push/limited:1")" \
		"$(oci-index "$SRC:img" | jq -r .digest)"
	# Each request refused was asked again, and never sooner than the second the registry asked for.
	run -0 awk '$4 == "->" { k = $2 " " $3; if ($5 == 429) first[k] = $1; else if (k in first && !(k in seen)) { seen[k] = 1; n++; if ($1 - first[k] < 1) early++ } }
		END { print n + 0, early + 0 }' "$PROXY_LOG"
	assert_output --regexp '^([3-9]|[1-9][0-9]+) 0$'
}

@test "fault: a Retry-After longer than --timeout is a refusal, not a wait" {
	push_proxy_start 429once
	run -1 oci-push -j 1 --timeout 0.5 "$SRC:img" "$PROXY/push/refused:1"
	assert_output --partial "the registry asks to wait 1s (Retry-After), longer than --timeout 0.5s"
	refute_output --partial "trying again"
	run -0 grep -c . "$PROXY_LOG"
	assert_output 2	# GET /v2/ and one HEAD
}

# ---- auth and TLS

@test "Basic auth: refused without credentials; --creds and --authfile work" {
	run -1 oci-push "$SRC:img" "$BASIC/private/pushed:1"
	assert_output --partial "user name and password"
	run -1 oci-push --creds bob:wrong "$SRC:img" "$BASIC/private/pushed:1"
	run -0 oci-push --creds bob:builder "$SRC:img" "$BASIC/private/pushed:1"
	printf '{"auths":{"%s":{"auth":"%s"}}}' "$BASIC" "$(printf bob:builder | base64)" >auth.json
	run -0 oci-push --authfile auth.json "$SRC:img" "$BASIC/private/pushed:2"
	run -0 skopeo inspect --raw --creds bob:builder --tls-verify=false "docker://$BASIC/private/pushed:2"
}

@test "TLS: an untrusted certificate is an error; --cacert and --insecure work" {
	run -1 oci-push "$SRC:img" "$TLS/push/tls:1"
	assert_output --partial "--cacert FILE"
	run -0 oci-push --cacert "$TLS_CA" "$SRC:img" "$TLS/push/tls:1"
	run -0 oci-push --insecure "$SRC:img" "$TLS/push/tls:2"
	assert_equal "$(skopeo_digest --cert-dir /nonexistent "docker://$TLS/push/tls:2")" \
		"$(oci-index "$SRC:img" | jq -r .digest)"
}

@test "token auth: push scope is asked for; anonymous is refused; a mount asks for both repositories" {
	run -1 oci-push "$SRC:img" "$TOKEN/public/pushed:1"
	assert_output --partial "access denied"
	: >"$TOKEN_LOG"
	run -0 oci-push --creds alice:wonderland "$SRC:img" "$TOKEN/private/pushed:1"
	# the registry's challenge names the actions in either order
	run -0 grep -E "scope=repository:private/pushed:(pull,push|push,pull) user=alice" "$TOKEN_LOG"
	: >"$TOKEN_LOG"
	run -0 oci-push -v --creds alice:wonderland --mount-from private/pushed "$SRC:img" \
		"$TOKEN/private/mounted:1"
	assert_output --partial "mounted from private/pushed"
	# one token for both repositories (the registry lists scopes and actions in any order)
	run -0 bash -c "grep 'scope=.*repository:private/pushed:pull' '$TOKEN_LOG' |
		grep -E 'repository:private/mounted:(pull,push|push,pull)' | grep 'user=alice'"
	run -0 skopeo inspect --raw --creds alice:wonderland --tls-verify=false "docker://$TOKEN/private/mounted:1"
}

# ---- what must fail

@test "errors: an unknown tag sends nothing; a blob missing from the layout fails with exit 1" {
	push_proxy_start
	run -1 oci-push "$SRC:nope" "$PROXY/push/none:1"
	assert_output --partial "nope"
	assert_file_empty "$PROXY_LOG"
	cp -a "$SRC" broken
	layer=$(oci-manifest --layers broken:img | jq -r '.digest' | head -1)
	rm "broken/blobs/sha256/${layer#sha256:}"
	run -1 oci-push broken:img "$PROXY/push/broken:1"
	assert_output --partial "${layer:7:12}"
	run -1 grep '^PUT /v2/push/broken/manifests' "$PROXY_LOG"
	run -1 oci-push "$SRC:img" "127.0.0.1:$(free_port)/push/nobody:1"
}

@test "errors: a layout blob whose bytes were changed is refused by the registry's digest check" {
	cp -a "$SRC" bad
	layer=$(oci-manifest --layers bad:img | jq -r '.digest' | head -1)
	f="bad/blobs/sha256/${layer#sha256:}"
	chmod u+w "$f"
	printf 'X' | dd of="$f" bs=1 seek=10 conv=notrunc 2>/dev/null
	run -1 oci-push bad:img "$PLAIN/push/bad:1"
	assert_output --partial "DIGEST_INVALID"
	run -1 skopeo inspect --raw --tls-verify=false "docker://$PLAIN/push/bad:1"
}

# ---- an upload side that lies: exit 1 with what it did, never a crash or a hang

lying_registry() {
	push_proxy_start "$1"
	shift
	run timeout 120 oci-push --creds bob:s3cret "$SRC:img" "$PROXY/push/lies:1"
	[ "$status" -eq 1 ]
	refute_output --partial $'\033'
	local want
	for want in "$@"; do assert_output --partial "$want"; done
	# Nothing was tagged.
	run -1 skopeo inspect --raw --tls-verify=false "docker://$PLAIN/push/lies:1"
}

@test "an upload that answers 202 without a Location" { lying_registry nolocation "without a Location"; }
@test "an upload whose Location is file:///etc/passwd" { lying_registry filelocation "Location"; }
@test "a registry that answers 401 to every request, credentials or not" { lying_registry always401 "refused the user name or password"; }
@test "a 1 MB header line" { lying_registry hugeheader "a header line longer than libcurl accepts"; }
@test "an error body with terminal escapes is shown escaped" { lying_registry escapes "DENIED" "gone"; }
@test "a manifest PUT answered with another Docker-Content-Digest" { lying_registry baddigest "the registry says it stored sha256:0000"; }
