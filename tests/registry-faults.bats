#!/usr/bin/env bats
# oci-fetch against a registry that lies: tests/fetch_faults.py serves a
# valid image with one fault per case, and every case is pulled three ways
# (a whole pull into a layout, --manifest, --blob).  Each run must end with
# exit 0 or 1 (never a crash: ASan exits 99, a signal 128+N; never a hang:
# each run is bounded by timeout), in bounded memory, with a message that
# names what the registry did wrong, with no escape byte reaching the
# terminal, with no credential sent to another host, and with nothing
# unverified stored under a final name.  Short limits (--timeout 1, and
# $OCI_FETCH_MAX_WAIT from fetch_helper.bash) keep the suite quick.

load helper
load fetch_helper

# Peak resident memory of one run, in KiB: the sanitizer build carries its shadow memory.
# --timeout for each run: the tests that wait for it to pass use less.
LIMIT=1

case ${OCI_BIN:-} in
*asan*) RSS_MAX=400000 ;;
*) RSS_MAX=120000 ;;
esac

teardown() { stop_pid FAULTS_PID; }

# faults_start CASE: the lying registry on a free port: F (host:port), LAYER (a blob it has), FLOG.
faults_start() {
	local i
	teardown
	FLOG=$T/faults.log
	: >"$FLOG"
	rm -f "$FLOG.ready"
	py_serve fetch_faults.py "$1" "$FLOG"
	FAULTS_PID=$SERVED_PID F=$SERVED
	for i in $(seq 100); do
		[ -s "$FLOG.ready" ] && break
		sleep 0.05
	done
	LAYER=$(cat "$FLOG.ready")
}

# must STATUS MESSAGE ARGS...: oci-fetch --timeout $LIMIT --creds bob:s3cret ARGS exits STATUS,
# within 60 s, under RSS_MAX, and says MESSAGE when it fails; no escape byte on stderr.
# Leaves stderr in $output (stdout, a manifest or a blob, is in $T/stdout).
must() {
	local want=$1 msg=$2 rss
	shift 2
	run --separate-stderr sh -c 'out=$1; shift; exec "$@" >"$out"' sh "$T/stdout" \
	    timeout 60 /usr/bin/time -f %M -o "$T/rss" oci-fetch --timeout "$LIMIT" --creds bob:s3cret "$@"
	output=$stderr
	[ "$status" -eq "$want" ] || fail "oci-fetch $*: exit $status, expected $want: $output"
	if [ "$want" -ne 0 ] && [ -n "$msg" ]; then
		assert_output --partial "$msg"
	fi
	[[ "$output" != *$'\e'* ]] || fail "an escape byte reached stderr: $output"
	rss=$(tail -n 1 "$T/rss")
	[ "$rss" -lt "$RSS_MAX" ] || fail "oci-fetch $*: peak RSS $rss KiB"
}

# Credentials and tokens go to the registry (127.0.0.1) and its token service only:
# never to the other host (localhost) where redirects lead.
no_stray_credentials() {
	run -1 grep -E '^localhost:[0-9]+ GET /(v2|storage)/.* auth=[^-]' "$FLOG"
}

# What a pull into LAYOUT left: verified blobs only, and on failure no tag.
stored_ok() {
	local layout=$1 pulled=$2
	[ -d "$layout" ] || return 0
	blobs_verified "$layout"
	if [ "$pulled" -ne 0 ]; then
		[ "$(jq '.manifests | length' "$layout/index.json")" -eq 0 ]
	fi
}

# lie CASE PULL MANIFEST BLOB MESSAGE: the three ways, with the exit status each must have.
# Leaves the pull's stderr in $output.
lie() {
	local case=$1 pull=$2 manifest=$3 blob=$4 msg=$5 said
	faults_start "$case"
	rm -rf out
	must "$pull" "$msg" "$F/img:1" out
	said=$output
	stored_ok out "$pull"
	must "$manifest" "$msg" --manifest "$F/img:1"
	must "$blob" "$msg" --blob "$LAYER" "$F/img:1"
	no_stray_credentials
	output=$said
}

# ---- the valid image, and the limits themselves

@test "the fixture registry serves a valid image, pulled whole" {
	faults_start none
	must 0 "" "$F/img:1" out
	blobs_verified out
	[ "$(jq '.manifests | length' out/index.json)" -eq 1 ]
	run -0 oci-untar -C root out:1
	[ "$(cat root/hello root/world)" = "hello
world" ]
	no_stray_credentials
	# no credential is sent to a registry that does not ask for one
	run -1 grep 'auth=[^-]' "$FLOG"
}

@test "as user nobody: the same answers, and a layout nobody owns holds only verified blobs" {
	open_to_nobody "$T/nb"
	# a copy nobody can run, even when the checkout is in a private directory
	cp "$(command -v oci-fetch)" "$T/nb/oci-fetch"
	faults_start none
	run -0 as_nobody env HOME=/ \
	    "$T/nb/oci-fetch" --timeout 1 "$F/img:1" "$T/nb/out"
	blobs_verified "$T/nb/out"
	[ "$(stat -c %U "$T/nb/out/index.json")" = nobody ]
	faults_start digest-upper
	run -1 as_nobody env HOME=/ \
	    "$T/nb/oci-fetch" --timeout 1 "$F/img:1" "$T/nb/out2"
	assert_output --partial "the registry's Docker-Content-Digest header"
	blobs_verified "$T/nb/out2"
}

@test "--timeout takes seconds from 0.1 to 3600" {
	run -2 oci-fetch --timeout 0 --manifest busybox
	assert_output --partial "--timeout 0: expected seconds"
	run -2 oci-fetch --timeout 5x --manifest busybox
	run -2 oci-fetch --timeout 3601 --manifest busybox
}

# ---- Docker-Content-Digest

@test "Docker-Content-Digest in uppercase hex (on /v2/ too) is refused, not a crash" {
	lie digest-upper 1 1 0 "the registry's Docker-Content-Digest header"
	# by digest as well
	must 1 "Docker-Content-Digest header" "$F/img@sha256:$(printf '%064d' 1)" out2
}

@test "Docker-Content-Digest with control characters is refused, escaped" {
	lie digest-junk 1 1 0 "Docker-Content-Digest header"
	assert_output --partial '\x1b[31mpwned'
}

@test "Docker-Content-Digest that names other bytes is a digest mismatch" {
	lie digest-other 1 1 0 "digest mismatch"
}

# ---- many descriptors

@test "a manifest with ~27000 layers is refused with the limit, in little memory" {
	lie many-layers 1 0 0 "27229 layers, more than the 1000 that oci-fetch accepts"
	assert_output --partial "27229 layers"
}

@test "a layer listed 1000 times is fetched once" {
	lie many-duplicates 0 0 0 ""
	[ "$(grep -c "/blobs/$LAYER" "$FLOG")" -eq 2 ]	# the pull, and --blob
}

@test "100 blobs with -j 2: all stored and verified, in bounded memory" {
	faults_start many-blobs
	must 0 "" -j 2 "$F/img:1" out
	blobs_verified out
	[ "$(ls out/blobs/sha256 | wc -l)" -eq 102 ]
}

@test "a blob listed twice with two sizes is refused" {
	lie desc-twice 1 0 0 "is listed twice, with sizes"
}

# ---- replies cut off, held or dripped

@test "a reply cut off inside its headers is retried, not taken as an empty manifest" {
	lie cut-headers 1 1 0 "the reply ended inside its headers"
	faults_start cut-headers-once
	must 0 "" "$F/img:1" out
	assert_output --partial "the reply ended inside its headers; trying again"
}

@test "a loopback port silent to a TLS handshake is plain HTTP, found quickly" {
	faults_start tls-silent
	must 0 "" -v "$F/img:1" out
	assert_output --partial "does not speak TLS"
	blobs_verified out
}

@test "a registry that never answers: no reply headers within --timeout" {
	LIMIT=0.3
	lie hang 1 1 0 "no complete reply within 0.3s (--timeout)"
	faults_start hang-blob
	must 1 "no reply headers within 0.3s (--timeout)" "$F/img:1" out
	stored_ok out 1
}

@test "headers dripped a byte a second trip the deadline" {
	lie drip-headers 1 1 0 "within 1s (--timeout)"
}

@test "a manifest dripped a byte a second trips the deadline" {
	lie drip-manifest 1 1 0 "no complete reply within 1s (--timeout)"
}

@test "a blob dripped a byte a second trips the stall window" {
	LIMIT=0.3
	lie drip-blob 1 0 1 "the reply stalled: less than 1024 bytes in 0.3s (--timeout)"
}

# ---- waiting, as asked

@test "Retry-After: an hour is not waited for" {
	lie retry-after-long 1 1 0 "asks to wait 3600s (Retry-After), longer than --timeout 1s"
}

@test "Retry-After: a date in 2100 is not waited for" {
	lie retry-after-date 1 0 1 "(Retry-After), longer than --timeout 1s"
}

@test "Retry-After that is not a number: the usual backoff, within the deadline" {
	lie retry-after-junk 1 1 0 "HTTP 503"
}

@test "Retry-After: 1, again and again: the waits of one request add up to --timeout at most" {
	OCI_FETCH_MAX_WAIT=1 LIMIT=1.5 lie retry-after-1 1 0 1 "HTTP 429"
	assert_output --partial "(no time left to try again within --timeout 1.5s)"
	[ "$(grep -c '/blobs/' "$FLOG")" -le 8 ]	# two attempts for each of three blobs, two for --blob
}

# ---- headers too big

@test "a 1 MB header line is named as such, not 'out of memory'; headers that never end are cut at 256 KiB" {
	lie huge-header 1 1 0 "a header line longer than libcurl accepts (100 KiB)"
	lie endless-headers 1 1 0 "more than 256 KiB of headers in one reply"
}

# ---- bodies and descriptors that do not agree

@test "a blob shorter than its descriptor: the sizes, not 'HTTP 416'" {
	lie blob-short 1 0 1 "/blobs/"
	assert_output --regexp "the registry's reply ended after [0-9]+ bytes, but the descriptor says [0-9]+$"
	# --blob has no size to go by: the digest says it
	must 1 "digest mismatch" --blob "$LAYER" "$F/img:1"
}

@test "a blob longer than its descriptor: said at once" {
	lie blob-long 1 0 1 "/blobs/"
	assert_output --regexp "the registry sent more than the [0-9]+ bytes the descriptor says$"
	[ "$(grep -c /blobs/ "$FLOG")" -le 4 ]	# the pull's three (one of them fails) and --blob
}

@test "Content-Length that lies: longer is retried, then given up; shorter is a digest mismatch" {
	lie length-long 1 1 1 "Transferred a partial file"
	lie length-short 1 1 0 "digest mismatch"
}

@test "broken chunked encoding is named" {
	lie chunked-bad 1 0 1 "chunked"
}

@test "descriptor sizes: negative, 2^63-1, 2^63, one too many" {
	lie desc-negative 1 0 0 "size is not a non-negative integer"
	lie desc-max 1 0 0 "but the descriptor says 9223372036854775807"
	lie desc-2p63 1 0 0 "not valid JSON"
	lie desc-wrong-size 1 0 0 "but the descriptor says"
}

@test "descriptor digests: a path, and the digest of other bytes" {
	lie desc-bad-digest 1 0 0 "bad digest"
	lie desc-wrong-digest 1 0 0 "digest mismatch"
}

@test "JSON bombs: deep nesting, a 2-million-element array, a 4 MB string" {
	# A manifest is read whole (at most 4 MiB): 2 million numbers are 2 million
	# JSON values, each parse of them near 90 MB.  Bounded by the cap, not by -j.
	local RSS_MAX=$((RSS_MAX * 2))
	lie json-deep 1 0 0 "not valid JSON"
	lie json-array 0 0 0 ""
	lie json-string 0 0 0 ""
}

@test "index chains and loops: nested indexes are not followed, a loop is a digest mismatch" {
	lie index-chain 1 0 0 "nested indexes are not followed"
	lie index-loop 1 0 0 "digest mismatch"
}

# ---- encodings

@test "Accept-Encoding: identity is asked; gzip is decoded and verified, an unknown encoding named" {
	lie gzip 0 0 0 ""
	run -1 grep -v ' ae=identity$' "$FLOG"
	blobs_verified out
	lie encoding-unknown 1 0 1 "Unrecognized content encoding"
}

# ---- redirects

@test "redirect loops end after 5; redirects to file:// and ftp:// are refused" {
	lie redirect-loop 1 0 1 "the registry redirected more than 5 times"
	lie redirect-file 1 0 1 "Protocol \"file\" not supported"
	lie redirect-ftp 1 0 1 "Protocol \"ftp\" not supported"
}

@test "a redirect to another host carries no credentials, and its 401 is not answered" {
	lie redirect-elsewhere 0 0 0 ""
	grep -q '^localhost:[0-9]* GET /storage/' "$FLOG"
	lie redirect-401 1 0 1 "HTTP 401 from the host a redirect led to"
}

@test "a Location with an encoded header in it stays a path" {
	lie location-inject 1 0 1 "not found"
	run -1 grep -c 'auth=Basic' "$FLOG"
}

# ---- authentication challenges

@test "a Basic challenge gets the credentials, on the registry only" {
	lie auth-basic 0 0 0 ""
	grep -q '^127.0.0.1:[0-9]* GET /v2/img/manifests/1 auth=Basic' "$FLOG"
}

@test "challenges: another scheme, a 100-letter scheme, a huge one, unterminated, no realm" {
	lie auth-negotiate 1 1 1 "unsupported authentication scheme \"Negotiate\""
	lie auth-scheme-long 1 1 1 "unsupported authentication scheme"
	lie auth-huge 0 0 0 ""
	lie auth-unterminated 1 1 1 "unterminated quoted value"
	lie auth-no-realm 1 1 1 "Bearer challenge without an http(s) realm"
}

@test "realms: file://, plain HTTP on another machine (no password in clear text), another local host" {
	lie auth-realm-file 1 1 1 "Bearer challenge without an http(s) realm"
	lie auth-realm-plain-remote 1 1 1 "the password is not sent in clear text"
	lie auth-realm-elsewhere 0 0 0 ""
}

@test "token replies: over 1 MiB, not JSON, no token, a header injection, a redirect, too slow" {
	lie token-huge 1 1 1 "its reply is over 1024 KiB"
	lie token-not-json 1 1 1 "its reply is not a JSON object"
	lie token-missing 1 1 1 "no \"token\" or \"access_token\""
	lie token-crlf 1 1 1 "characters that an HTTP header cannot carry"
	run -1 grep -c 'Injected' "$FLOG"
	lie token-redirect 1 1 1 "HTTP 302 instead of a token (its redirects are not followed)"
	lie token-slow 1 1 1 "no complete reply within 1s (--timeout)"
}

@test "a token whose expires_in is 1e30 is a token" {
	lie token-ttl-huge 0 0 0 ""
	grep -q 'auth=Bearer' "$FLOG"
}

# ---- words meant for the terminal

@test "control characters in a registry's error message and Content-Type are escaped" {
	lie control-chars 1 1 0 "not found"
	assert_output --partial '\x1b]2;pwned\x07'
	lie content-type-ctl 1 0 0 'unsupported media type "application/vnd.oci.image.manifest.v1+json\x1b[31m"'
}
