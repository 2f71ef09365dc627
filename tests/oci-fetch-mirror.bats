#!/usr/bin/env bats
# oci-fetch through a class mirror: Debian's docker-registry as a pull-through
# cache (proxy: remoteurl) of a second local registry, the origin.  The origin
# is reached through tests/fetch_proxy.py, whose log counts what it served.
# The mirror is chosen with --mirror or by registries.conf; the origin serves
# when the mirror is down or lacks the image.

load helper
load fetch_helper

setup_file() {
	local D=$BATS_FILE_TMPDIR
	: >"$D/pids"
	umoci_image "$D/src" img >/dev/null
	registry_start "$D/upstream" && fetch_pids "$REGISTRY_PID"
	skopeo copy -q --dest-tls-verify=false oci:"$D/src:img" docker://"$REGISTRY/test/img:1"
	# another image, with a layer of its own, for the class of twenty
	mkdir -p "$D/extra/class" && date +%s%N >"$D/extra/class/stamp"
	tar -C "$D/extra" -cf "$D/extra.tar" class
	umoci config --image "$D/src:img" --tag other --config.env CLASS=twenty 2>/dev/null
	umoci raw add-layer --image "$D/src:other" "$D/extra.tar"
	skopeo copy -q --dest-tls-verify=false oci:"$D/src:other" docker://"$REGISTRY/test/other:1"
	# the origin: the upstream registry behind a proxy that logs every request
	export ORIGIN_LOG=$D/origin.log
	py_serve fetch_proxy.py "$REGISTRY" none "$ORIGIN_LOG"
	fetch_pids "$SERVED_PID"
	export ORIGIN=$SERVED
	wait_http "http://$ORIGIN/v2/"
	# the class mirror: docker-registry in proxy (pull-through) mode
	registry_start "$D/mirror" "proxy:
  remoteurl: http://$ORIGIN" && fetch_pids "$REGISTRY_PID" && export MIRROR=$REGISTRY
	export MIRROR_STORE=$D/mirror/storage
	# a registry that has no image at all
	registry_start "$D/empty" && fetch_pids "$REGISTRY_PID" && export EMPTY=$REGISTRY
	skopeo copy -q --src-tls-verify=false docker://"$ORIGIN/test/img:1" oci:"$D/skopeo:1"
	export SKOPEO=$D/skopeo
}
teardown_file() { fetch_servers_stop; }
teardown() { fetch_proxy_stop; }

# A registries.conf at $T/conf/registries.conf from stdin.
conf() {
	mkdir -p "$T/conf"
	cat >"$T/conf/registries.conf"
}

# The blob GETs the origin served since its log was last emptied.
origin_blob_gets() { grep -c 'GET /v2/test/[a-z]*/blobs/' "$ORIGIN_LOG" || true; }

# mirror_holds LAYOUT REPO: wait until the mirror has stored every blob of
# LAYOUT for REPO (it stores a blob while it serves it, and links it last).
mirror_holds() {
	local r=$MIRROR_STORE/docker/registry/v2/repositories/$2 f hex i missing
	for i in $(seq 100); do
		missing=0
		for f in "$1"/blobs/sha256/*; do
			hex=${f##*/}
			[ -e "$r/_layers/sha256/$hex/link" ] || [ -e "$r/_manifests/revisions/sha256/$hex/link" ] ||
				missing=$((missing + 1))
		done
		[ "$missing" -gt 0 ] || return 0
		sleep 0.1
	done
	echo "the mirror lacks $missing blobs of $1 for $2"
	return 1
}

@test "--mirror HOST[:PORT] is in -h; a bad one is a usage error" {
	run -0 oci-fetch -h
	assert_output --partial "[--mirror HOST[:PORT]]"
	run -2 oci-fetch --mirror 'bad host' "$ORIGIN/test/img:1" out
	assert_output --partial "--mirror"
	run -2 oci-fetch --mirror 127.0.0.1:99999 "$ORIGIN/test/img:1" out
	[ ! -e out ]
}

@test "--mirror: the pull-through cache serves the image; -v says so; the layout is skopeo's" {
	run -0 oci-fetch -v --mirror "$MIRROR" "$ORIGIN/test/img:1" out
	assert_output --partial "oci-fetch: trying mirror $MIRROR/test/img (--mirror)"
	assert_output --partial "oci-fetch: served by mirror $MIRROR"
	same_as_skopeo out "$SKOPEO"
	# the mirror fetched the blobs from the origin and keeps them
	mirror_holds out test/img
}

@test "registries.conf: \$CONTAINERS_REGISTRIES_CONF, else ~/.config/containers/registries.conf; longest prefix wins" {
	conf <<EOF
# as skopeo and podman read it
unqualified-search-registries = ["docker.io", 'quay.io']
short-name-mode = "permissive"

[[registry]]
prefix = "$ORIGIN"
location = "$ORIGIN"
insecure = true
[[registry.mirror]]
location = "127.0.0.1:1"   # never used: the longer prefix below wins

[[registry]]
prefix = "$ORIGIN/test"
location = "$ORIGIN/test"
[[registry.mirror]]
location = "$MIRROR/test"
insecure = true

[aliases]
"busybox" = "docker.io/library/busybox"
EOF
	# skopeo reads the same file (and so accepts it)
	run -0 skopeo --registries-conf "$T/conf/registries.conf" inspect --raw --tls-verify=false \
		docker://"$ORIGIN/test/img:1"
	run -0 env CONTAINERS_REGISTRIES_CONF="$T/conf/registries.conf" oci-fetch -v "$ORIGIN/test/img:1" a
	assert_output --partial "oci-fetch: $T/conf/registries.conf: 2 [[registry]] tables"
	assert_output --partial "oci-fetch: trying mirror $MIRROR/test/img (a mirror in $T/conf/registries.conf)"
	assert_output --partial "oci-fetch: served by mirror $MIRROR"
	same_as_skopeo a "$SKOPEO"
	# the user's own file when the variable is not set
	mkdir -p "$T/home/.config/containers"
	cp "$T/conf/registries.conf" "$T/home/.config/containers/"
	run -0 env -u CONTAINERS_REGISTRIES_CONF HOME="$T/home" oci-fetch -v "$ORIGIN/test/img:1" b
	assert_output --partial "trying mirror $MIRROR/test/img (a mirror in $T/home/.config/containers/registries.conf)"
	# the variable wins over the user's file
	printf '# no mirrors\n' >"$T/empty.conf"
	run -0 env CONTAINERS_REGISTRIES_CONF="$T/empty.conf" HOME="$T/home" oci-fetch -v "$ORIGIN/test/img:1" c
	run -1 grep -F "trying mirror" <<<"$output"
}

@test "20 students at once: after the first pull the origin serves no blob again" {
	# the first pull fills the cache (docker-registry 2.8 streams a blob to its
	# client and stores it with a second request of its own)
	: >"$ORIGIN_LOG"
	run -0 oci-fetch -q --mirror "$MIRROR" "$ORIGIN/test/other:1" first
	mirror_holds first test/other
	echo "the first pull: the origin served $(origin_blob_gets) blob GETs for $(ls first/blobs/sha256 | wc -l) blobs"
	for f in first/blobs/sha256/*; do
		[ "$(grep -c "GET /v2/test/other/blobs/sha256:${f##*/}" "$ORIGIN_LOG")" -le 2 ]
	done
	: >"$ORIGIN_LOG"
	for i in $(seq 20); do
		oci-fetch -q --mirror "$MIRROR" "$ORIGIN/test/other:1" "s$i" >"s$i.out" 2>&1 &
		pids+=($!)
	done
	for i in $(seq 20); do
		rc=0
		wait "${pids[$((i - 1))]}" || rc=$?
		[ "$rc" -eq 0 ] || { cat "s$i.out"; echo "student $i: exit $rc"; false; }
	done
	[ "$(origin_blob_gets)" -eq 0 ]
	for i in $(seq 20); do same_as_skopeo "s$i" first; done
}

@test "the mirror down (or nobody there): the origin serves, with a warning; -q keeps it quiet" {
	registry_start "$T/m2" "proxy:
  remoteurl: http://$ORIGIN"
	m2=$REGISTRY
	conf <<EOF
[[registry]]
location = "$ORIGIN"
[[registry.mirror]]
location = "$m2"
EOF
	export CONTAINERS_REGISTRIES_CONF=$T/conf/registries.conf
	run -0 oci-fetch -v "$ORIGIN/test/img:1" up
	assert_output --partial "served by mirror $m2"
	registry_stop
	run -0 oci-fetch -v "$ORIGIN/test/img:1" down
	assert_output --partial "oci-fetch: mirror $m2: cannot connect"
	assert_output --partial "oci-fetch: trying the origin, $ORIGIN/test/img"
	assert_output --partial "oci-fetch: served by the origin, $ORIGIN"
	same_as_skopeo down "$SKOPEO"
	run -0 oci-fetch -q --mirror "127.0.0.1:$(free_port)" "$ORIGIN/test/img:1" quiet
	assert_output "$(jq -c '.manifests[0]' quiet/index.json)"
	run -0 oci-fetch --mirror "127.0.0.1:$(free_port)" --manifest "$ORIGIN/test/img:1"
	assert_output --partial "oci-fetch: mirror 127.0.0.1:"
}

@test "a mirror without the image (404): the origin serves it" {
	run -0 oci-fetch --mirror "$EMPTY" "$ORIGIN/test/img:1" out
	assert_output --partial "oci-fetch: mirror $EMPTY: "
	assert_output --partial "not found"
	same_as_skopeo out "$SKOPEO"
	# --blob: a blob the mirror lacks is an error there, and nothing went out
	d=$(jq -r '.layers[0].digest' "$SKOPEO/blobs/sha256/$(jq -r '.manifests[0].digest' "$SKOPEO/index.json" | cut -d: -f2)")
	run -0 oci-fetch --blob "$d" --mirror "127.0.0.1:$(free_port)" "$ORIGIN/test/img:1"
}

@test "pull-from-mirror and mirror-by-digest-only say which pulls use a mirror" {
	digest=$(jq -r '.manifests[0].digest' "$SKOPEO/index.json")
	conf <<EOF
[[registry]]
prefix = "$ORIGIN"
[[registry.mirror]]
location = "$MIRROR"
pull-from-mirror = "digest-only"
EOF
	export CONTAINERS_REGISTRIES_CONF=$T/conf/registries.conf
	run -0 oci-fetch -v --manifest "$ORIGIN/test/img:1"
	run -1 grep -F "trying mirror" <<<"$output"
	run -0 oci-fetch -v --manifest "$ORIGIN/test/img@$digest"
	assert_output --partial "served by mirror $MIRROR"
	sed -i 's/digest-only/tag-only/' "$T/conf/registries.conf"
	run -0 oci-fetch -v --manifest "$ORIGIN/test/img:1"
	assert_output --partial "served by mirror $MIRROR"
	run -0 oci-fetch -v --manifest "$ORIGIN/test/img@$digest"
	run -1 grep -F "trying mirror" <<<"$output"
	conf <<EOF
[[registry]]
prefix = "$ORIGIN"
mirror-by-digest-only = true
[[registry.mirror]]
location = "$MIRROR"
EOF
	run -0 oci-fetch -v --manifest "$ORIGIN/test/img:1"
	run -1 grep -F "trying mirror" <<<"$output"
}

@test "blocked = true refuses the pull; location rewrites where the origin is" {
	conf <<EOF
[[registry]]
prefix = "$ORIGIN/test/img"
blocked = true

[[registry]]
prefix = "example.com/class"
location = "$ORIGIN/test"
EOF
	export CONTAINERS_REGISTRIES_CONF=$T/conf/registries.conf
	run -1 oci-fetch "$ORIGIN/test/img:1" out
	assert_output --partial "blocked by $T/conf/registries.conf"
	[ -z "$(ls out/blobs/sha256 2>/dev/null)" ]
	run -1 oci-index out:1
	run -0 oci-fetch -v "example.com/class/img:1" moved
	assert_output --partial "trying the location in $T/conf/registries.conf, $ORIGIN/test/img"
	same_as_skopeo moved "$SKOPEO"
}

@test "a registries.conf that cannot be read is an error naming the file and line" {
	export CONTAINERS_REGISTRIES_CONF=$T/conf/registries.conf
	check() {
		conf
		run -1 oci-fetch --manifest "$ORIGIN/test/img:1"
		assert_output "oci-fetch: $T/conf/registries.conf$1"
	}
	printf '[[registry]]\nlocation = "unterminated\n' | check ':2: a string that does not end on its line'
	printf '[[registry]]\nlocation = {a = 1}\n' | check ':2: inline tables are not supported here'
	printf '[[registry]]\nregistry.location = "x"\n' | check ':2: dotted keys are not supported here'
	printf '[[registry]]\nlocation = "a"\nlocation = "b"\n' | check ':3: location is given twice'
	printf '[[registry]]\ninsecure = "yes"\n' | check ':2: insecure must be true or false'
	printf '[[registry.mirror]]\nlocation = "m"\n' | check ':1: [[registry.mirror]] before any [[registry]]'
	printf '[[registry]]\nlocation = "a" b\n' | check ':2: unexpected text after the value'
	printf 'x = """\nmany\n"""\n' | check ':1: multi-line strings are not supported here'
	printf '[[registry]]\nlocation = "a\\q"\n' | check ':2: an unknown escape in a string'
	printf '[[registry]]\nprefix = "a"\n[[registry.mirror]]\ninsecure = true\n' |
		check ': a [[registry.mirror]] of a has no location'
	printf '[[registry]]\nlocation = "%s"\n[[registry.mirror]]\nlocation = "Not A Host!/x"\n' "$ORIGIN" | conf
	run -1 oci-fetch --manifest "$ORIGIN/test/img:1"
	assert_output --partial "a mirror in $T/conf/registries.conf"
	printf '[[registry]]\nlocation = "%s"\n[[registry.mirror]]\nlocation = "teacher/hub"\n' "$ORIGIN" | conf
	run -1 oci-fetch --manifest "$ORIGIN/test/img:1"
	assert_output "oci-fetch: a mirror in $T/conf/registries.conf: teacher/hub: a registry host has a '.' or a ':' (teacher:5000, teacher.lan) or is localhost"
	# a file the variable names must exist
	CONTAINERS_REGISTRIES_CONF=$T/nope run -1 oci-fetch --manifest "$ORIGIN/test/img:1"
	assert_output "oci-fetch: $T/nope: No such file or directory"
}

@test "-v shows a registry's rate-limit headers as it sends them" {
	fetch_proxy_start ratelimit-always@manifests "$ORIGIN"
	run -0 oci-fetch -v --manifest "$PROXY/test/img:1"
	assert_output --partial "oci-fetch: rate limit: RateLimit-Limit: 100;w=21600"
	assert_output --partial "oci-fetch: rate limit: RateLimit-Remaining: 99;w=21600"
	assert_output --partial "oci-fetch: rate limit: Docker-RateLimit-Source: 127.0.0.1"
	run -0 oci-fetch --manifest "$PROXY/test/img:1"
	run -1 grep -F "rate limit" <<<"$output"
}

@test "--mirror on another machine's address may speak plain HTTP (as a class mirror does)" {
	ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -m1 -E '^[0-9]+(\.[0-9]+){3}$' | grep -v '^127\.' || true)
	[ -n "$ip" ] || skip "this machine has no IPv4 address but loopback"
	port=$(free_port)
	registry_serve "$T/lan" "$ip:$port" "proxy:
  remoteurl: http://$ORIGIN"
	fetch_pids "$REGISTRY_PID"
	run -0 oci-fetch -v --mirror "$ip:$port" "$ORIGIN/test/img:1" out
	assert_output --partial "oci-fetch: $ip:$port does not speak TLS: plain HTTP, as for any named mirror or insecure registry"
	assert_output --partial "oci-fetch: served by mirror $ip:$port"
	same_as_skopeo out "$SKOPEO"
	# registries.conf needs insecure = true for that
	conf <<EOF2
[[registry]]
location = "$ORIGIN"
[[registry.mirror]]
location = "$ip:$port"
EOF2
	CONTAINERS_REGISTRIES_CONF=$T/conf/registries.conf run -0 oci-fetch -v "$ORIGIN/test/img:1" strict
	assert_output --partial "oci-fetch: mirror $ip:$port: "
	assert_output --partial "served by the origin"
	printf 'insecure = true\n' >>"$T/conf/registries.conf"
	CONTAINERS_REGISTRIES_CONF=$T/conf/registries.conf run -0 oci-fetch -v "$ORIGIN/test/img:1" lax
	assert_output --partial "oci-fetch: served by mirror $ip:$port"
}
