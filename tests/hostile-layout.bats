#!/usr/bin/env bats
# tests/hostile-layout.bats — layouts built to attack their readers and
# writers: FIFOs, devices and symlinks where files and directories should
# be, planted temporary names, control characters in what gets printed.
# Nothing may hang, crash, or read or write outside the layout; each case
# is a clear error with exit 1 (or a success that harms nothing).

bats_require_minimum_version 1.5.0
load helper

MT_MANIFEST=application/vnd.oci.image.manifest.v1+json
MT_CONFIG=application/vnd.oci.image.config.v1+json

# small_layout DIR [CONFIG]: a layout made by oci-index alone, tag latest -> a
# manifest with one config (CONFIG's text, if given) and no layers.  Sets CFG
# and MAN (digests).
small_layout() {
	local dir=$1 cfg='{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
	oci-index --init "$dir"
	echo "${2:-$cfg}" >"$T/cfg.json"
	CFG=sha256:$(sha256sum "$T/cfg.json" | cut -d' ' -f1)
	cp "$T/cfg.json" "$dir/blobs/sha256/${CFG#sha256:}"
	jq -nc --arg mt $MT_CONFIG --arg d "$CFG" --argjson s "$(stat -c %s "$T/cfg.json")" \
		'{schemaVersion: 2, mediaType: "'$MT_MANIFEST'", config: {mediaType: $mt, digest: $d, size: $s}, layers: []}' \
		| tr -d '\n' >"$T/man.json"
	MAN=sha256:$(sha256sum "$T/man.json" | cut -d' ' -f1)
	cp "$T/man.json" "$dir/blobs/sha256/${MAN#sha256:}"
	oci-digest -d -t $MT_MANIFEST "$T/man.json" | oci-index --tag latest "$dir"
}

setup() {
	T=$BATS_TEST_TMPDIR
	cd "$T" || return 1
	small_layout "$T/L"
}

# ---- FIFOs and devices where regular files should be ----

@test "a FIFO as index.json, oci-layout or a blob is refused, never waited on" {
	cp -a "$T/L" "$T/a"
	rm "$T/a/index.json" && mkfifo "$T/a/index.json"
	run -1 timeout 10 oci-index "$T/a"
	assert_output --partial "index.json: not a regular file"
	run -1 timeout 10 oci-manifest "$T/a:latest"
	cp -a "$T/L" "$T/b"
	rm "$T/b/oci-layout" && mkfifo "$T/b/oci-layout"
	run -1 timeout 10 oci-index "$T/b"
	assert_output --partial "oci-layout: not a regular file"
	cp -a "$T/L" "$T/c"
	rm "$T/c/blobs/sha256/${MAN#sha256:}" && mkfifo "$T/c/blobs/sha256/${MAN#sha256:}"
	run -1 timeout 10 oci-manifest "$T/c:latest"
	assert_output --partial "not a regular file"
	run -1 timeout 10 oci-index --tree "$T/c"
	run -1 timeout 10 oci-index -p linux/amd64 "$T/c:latest"
	rm "$T/c/blobs/sha256/${MAN#sha256:}" && mknod "$T/c/blobs/sha256/${MAN#sha256:}" c 1 5
	run -1 timeout 10 oci-manifest "$T/c:latest"
	assert_output --partial "not a regular file"
}

# ---- symlinks where directories should be ----

# The state of a directory outside the layout, to compare before and after.
outside_state() {
	find "$1" -printf '%p %y %s %T@\n' | sort
}

@test "blobs/ or blobs/sha256 as a symlink: nothing is read from outside the layout" {
	mkdir -p "$T/outside"
	cp -a "$T/L/blobs/sha256" "$T/outside/sha256"
	cp -a "$T/L" "$T/a"
	rm -r "$T/a/blobs" && ln -s ../outside "$T/a/blobs"
	run -1 oci-manifest "$T/a:latest"
	assert_output --partial "blobs is a symlink or not a directory"
	run -1 oci-index -p linux/amd64 "$T/a:latest"
	cp -a "$T/L" "$T/b"
	rm -r "$T/b/blobs/sha256" && ln -s ../../outside/sha256 "$T/b/blobs/sha256"
	run -1 oci-manifest --config "$T/b:latest"
	assert_output --partial "blobs/sha256 is a symlink or not a directory"
	LC_ALL=C run -1 oci-index --tree "$T/b"
	# the layout as it should be still reads
	run -0 oci-manifest --config "$T/L:latest"
}

@test "blobs/sha256 as a symlink: a writer stores nothing outside the layout" {
	mkdir -p "$T/outside" "$T/tree"
	echo hello >"$T/tree/hello"
	mv "$T/L/blobs/sha256" "$T/outside/sha256"
	ln -s ../../outside/sha256 "$T/L/blobs/sha256"
	before=$(outside_state "$T/outside")
	run -1 oci-commit "$T/tree" "$T/L:latest" new
	assert_output --partial "blobs/sha256 is a symlink or not a directory"
	run -1 oci-config --env A=b "$T/L:latest"
	[ "$before" = "$(outside_state "$T/outside")" ]
}

# ---- a config with a key twice ----

@test "a config with a key twice is refused by every reader, with the same message" {
	small_layout "$T/D" '{"architecture":"amd64","os":"linux","os":"windows","rootfs":{"type":"layers","diff_ids":[]}}'
	local want="config ${CFG:0:19}: not a JSON object (duplicate object key near '\"os\"')"
	run -1 oci-config "$T/D:latest"
	assert_output --partial "$want"
	run -1 oci-untar -C "$T/r" "$T/D:latest"
	assert_output --partial "$want"
	run -1 oci-push "$T/D:latest" "docker-archive:$T/d.tar"
	assert_output --partial "$want"
	[ ! -e "$T/d.tar" ]
}

# ---- names planted in the layout ----

@test "a planted hard link at index.json's temporary name is never written through" {
	echo precious >"$T/victim"
	oci-index "$T/L:latest" >"$T/desc"
	# exec keeps the shell's PID, the one oci-index names its temporary file after
	run -0 bash -c 'ln "$1/victim" "$1/L/.tmp-index.json-$$-0"; exec oci-index --tag again "$1/L" <"$1/desc"' _ "$T"
	[ "$(cat "$T/victim")" = precious ]
	run -0 oci-index "$T/L:again"
	run -0 bash -c 'ln -s "$1/victim" "$1/L/.tmp-index.json-$$-0"; exec oci-index --untag again "$1/L"' _ "$T"
	[ "$(cat "$T/victim")" = precious ]
	run -1 oci-index "$T/L:again"
}

# ---- what reaches a terminal ----

# no_controls: $output has no escape, bell, carriage return or C1 CSI in it.
no_controls() {
	if [[ $output == *[$'\e\a\r\b']* || $output == *$'\xc2\x9b'* ]]; then
		echo "control characters in the output:"
		printf '%s' "$output" | od -c | head -20
		return 1
	fi
}

@test "control characters from index.json, a document or stdin are escaped in messages" {
	ESC=$'\e]0;pwned\a\e[2J'
	cp -a "$T/L" "$T/a"
	jq -c --arg t "x${ESC}y" '.manifests[0].annotations["org.opencontainers.image.ref.name"] = $t' \
		"$T/L/index.json" >"$T/a/index.json"
	run -1 --separate-stderr oci-index "$T/a:nope"
	output=$stderr no_controls
	[[ $stderr == *'(tags: x\x1b]0;pwned\x07\x1b[2Jy)' ]]
	jq -c --arg t "x${ESC}" '.manifests[0].mediaType = $t' "$T/L/index.json" >"$T/a/index.json"
	run -1 oci-manifest "$T/a:latest"
	no_controls
	assert_output --partial '\x1b]0;pwned\x07'
	run -1 oci-index -v -p linux/amd64 "$T/a:latest"
	no_controls
	LC_ALL=C run -0 oci-index --tree "$T/a"
	no_controls
	# a raw escape byte where JSON should be: jansson quotes it in its message
	printf '{"a":\e[2J}' >"$T/a/index.json"
	run -1 oci-index "$T/a"
	no_controls
	assert_output --partial '\x1b'
	# a descriptor on stdin
	run -1 oci-index --tag t "$T/L" <<<"{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar$(printf '\\u001b')[2J\",\"digest\":\"$CFG\",\"size\":1}"
	no_controls
	run -1 oci-manifest "$T/L" <<<"{\"mediaType\":\"a$(printf '\\u001b')[2J\",\"digest\":\"$CFG\",\"size\":1}"
	no_controls
}

@test "control characters in an index's platforms and tags are escaped in --tree and in errors" {
	ESC=$'\e[2J'
	jq -nc --arg d "$MAN" --argjson s "$(stat -c %s "$T/man.json")" --arg os "linux$ESC" --arg v "v8$ESC" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
		  manifests: [{mediaType: "'$MT_MANIFEST'", digest: $d, size: $s,
		  platform: {os: $os, architecture: "arm64", variant: $v}}]}' | tr -d '\n' >"$T/idx.json"
	cp "$T/idx.json" "$T/L/blobs/sha256/$(sha256sum "$T/idx.json" | cut -d' ' -f1)"
	oci-digest -d -t application/vnd.oci.image.index.v1+json "$T/idx.json" | oci-index --tag idx "$T/L"
	run -1 oci-index -p linux/arm64 "$T/L:idx"
	no_controls
	assert_output --partial 'it has: linux\x1b[2J/arm64/v8\x1b[2J'
	LC_ALL=C run -0 oci-index --tree "$T/L:idx"
	no_controls
	assert_output --partial 'linux\x1b[2J/arm64/v8\x1b[2J'
	jq -c --arg t "a${ESC}" '.manifests[0].annotations["org.opencontainers.image.ref.name"] = $t' \
		"$T/L/index.json" >"$T/L/index.json.new" && mv "$T/L/index.json.new" "$T/L/index.json"
	LC_ALL=C run -0 oci-index --tree "$T/L"
	no_controls
	assert_output --partial 'tag a\x1b[2J'
}

@test "oci-digest --layout escapes a blob file name with control characters" {
	touch "$T/L/blobs/sha256/x"$'\e[2J\n'"y"
	run -1 oci-digest --layout "$T/L"
	no_controls
	assert_output --partial 'blobs/sha256/x\x1b[2J\x0ay'
}

# ---- checked and fine: these guard what already holds ----

@test "symlinks as index.json, oci-layout or a blob are refused, and a tag never writes through one" {
	echo '{"schemaVersion":2,"manifests":[]}' >"$T/elsewhere.json"
	cp -a "$T/L" "$T/a"
	ln -sf ../elsewhere.json "$T/a/index.json"
	run -1 oci-index "$T/a"
	assert_output --partial "index.json: Too many levels of symbolic links"
	run -1 oci-index --tag x "$T/a" < <(oci-index "$T/L:latest")
	[ "$(cat "$T/elsewhere.json")" = '{"schemaVersion":2,"manifests":[]}' ]
	cp -a "$T/L" "$T/b"
	ln -sf /etc/passwd "$T/b/oci-layout"
	run -1 oci-index "$T/b"
	cp -a "$T/L" "$T/c"
	mv "$T/c/blobs/sha256/${MAN#sha256:}" "$T/man.blob"
	ln -s "$T/man.blob" "$T/c/blobs/sha256/${MAN#sha256:}"
	run -1 oci-manifest "$T/c:latest"
}

@test "NUL escapes, deep nesting, duplicate keys, huge sizes and index chains are clear errors" {
	cp -a "$T/L" "$T/a"
	jq -c '.manifests[0].annotations["org.opencontainers.image.ref.name"] = "a"' "$T/L/index.json" |
		sed 's/"a"}/"a\\u0000b"}/' >"$T/a/index.json"
	run -1 oci-index "$T/a"
	assert_output --partial "JSON_ALLOW_NUL"
	python3 -c 'print("{\"schemaVersion\":2,\"manifests\":[],\"x\":" + "[" * 100000)' >"$T/a/index.json"
	run -1 oci-index "$T/a"
	assert_output --partial "maximum parsing depth"
	echo '{"schemaVersion":2,"manifests":[],"manifests":[]}' >"$T/a/index.json"
	run -1 oci-index "$T/a"
	assert_output --partial "duplicate object key"
	for size in -1 9223372036854775807 9223372036854775808 1e3; do
		run -1 oci-manifest "$T/L" <<<"{\"mediaType\":\"$MT_MANIFEST\",\"digest\":\"$MAN\",\"size\":$size}"
	done
	# a chain of nine image indexes, each with no platform: followed 8 deep, then refused
	local d=$MAN s
	s=$(stat -c %s "$T/man.json")
	for i in $(seq 9); do
		jq -nc --arg d "$d" --argjson s "$s" --arg mt "$( [ "$i" = 1 ] && echo $MT_MANIFEST || echo application/vnd.oci.image.index.v1+json)" \
			'{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [{mediaType: $mt, digest: $d, size: $s}]}' |
			tr -d '\n' >"$T/i$i.json"
		d=sha256:$(sha256sum "$T/i$i.json" | cut -d' ' -f1)
		s=$(stat -c %s "$T/i$i.json")
		cp "$T/i$i.json" "$T/L/blobs/sha256/${d#sha256:}"
	done
	run -1 oci-manifest "$T/L" <<<"{\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"digest\":\"$d\",\"size\":$s}"
	assert_output --partial "nested more than 8 deep"
}
