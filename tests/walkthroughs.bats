#!/usr/bin/env bats
# tests/walkthroughs.bats — every walkthrough runs unattended, as root and as
# user nobody, and leaves the artefacts it promises; walkthroughs/check
# tells right answers from wrong ones.

load helper

W=$TESTS_DIR/../walkthroughs

# Each walkthrough runs once per user in setup_file; the tests read the labs.
setup_file() {
	export ROOT_LAB=$BATS_FILE_TMPDIR/root-lab NOBODY_LAB=$BATS_FILE_TMPDIR/nobody-lab
	mkdir -p "$ROOT_LAB"
	open_to_nobody "$NOBODY_LAB"
	local w n rc
	for w in "$W"/[0-9][0-9]-*.sh; do
		n=$(basename "$w" | cut -c1-2)
		rc=0
		(cd "$ROOT_LAB" && TMPDIR=$ROOT_LAB OCI_LAB=$ROOT_LAB timeout 600 bash "$w" </dev/null \
			>"$ROOT_LAB/$n.out" 2>&1) || rc=$?
		echo "$rc" >"$ROOT_LAB/$n.rc"
		rc=0
		(cd "$NOBODY_LAB" && setpriv --reuid=nobody --regid=nogroup --clear-groups \
			env HOME="$NOBODY_LAB" TMPDIR="$NOBODY_LAB" OCI_LAB="$NOBODY_LAB" PATH="$PATH" \
			timeout 600 bash "$w" </dev/null >"$NOBODY_LAB/$n.out" 2>&1) || rc=$?
		echo "$rc" >"$NOBODY_LAB/$n.rc"
	done
}

# ran LAB NN: the walkthrough exited 0 (else show what it printed).
ran() {
	local rc
	rc=$(cat "$1/$2.rc")
	if [ "$rc" != 0 ]; then
		tail -n 40 "$1/$2.out"
		echo "walkthrough $2 exited $rc"
		return 1
	fi
}

both() { for lab in "$ROOT_LAB" "$NOBODY_LAB"; do "$@" "$lab" || return 1; done; }

@test "every walkthrough runs unattended, as root and as nobody, with no leftover mounts" {
	for n in 01 02 03 04 05 06 07 08; do
		ran "$ROOT_LAB" $n
		ran "$NOBODY_LAB" $n
	done
	run -1 grep -F "$BATS_FILE_TMPDIR" /proc/self/mounts
	run -1 pgrep -f "docker-registry serve $BATS_FILE_TMPDIR"
}

check_01() {
	local L=$1/01
	[ -f "$L/busybox/oci-layout" ]
	run -0 oci-digest --layout "$L/busybox"
	[ "$(ls "$L/busybox/blobs/sha256" | wc -l)" -eq 3 ]
	grep -q '^\$ oci-fetch ' "$1/01.out"
	grep -q 'org.opencontainers.image.ref.name' "$1/01.out"
}
@test "01 pulls busybox into an OCI layout that checks out" { both check_01; }

check_02() {
	local L=$1/02
	run -1 oci-digest -q --layout "$L/broken"
	assert_output --regexp '^blobs/sha256/[0-9a-f]{64}$'
	grep -q 'digest mismatch' "$1/02.out"
	grep -q 'diff_ids' "$1/02.out"
	grep -q '└── ' "$1/02.out" || grep -q '`-- ' "$1/02.out"
}
@test "02 follows index → manifest → config → layer and catches a changed byte" { both check_02; }

check_03() {
	local L=$1/03
	grep -q 'GET /v2/library/busybox/manifests/latest → 200' "$L/pull.log"
	[ "$(grep -c 'GET /v2/library/busybox/blobs/' "$L/pull.log")" -eq 2 ]
	[ "$(grep -c 'GET /v2/library/busybox/blobs/' "$L/pull2.log")" -eq 0 ]
	grep -q 'already in busybox' "$L/pull2.log"
}
@test "03 shows every request of a pull, and a second pull fetches no blob" { both check_03; }

check_04() {
	local L=$1/04
	[ -x "$L/layer/bin/busybox" ]
	[ -f "$L/kept/etc/.wh.group" ] && [ -f "$L/kept/etc/group" ] && [ -f "$L/kept/tmp/.wh..wh..opq" ]
	[ ! -e "$L/applied/etc/group" ] && [ ! -e "$L/applied/etc/.wh.group" ]
	[ "$(ls -A "$L/applied/tmp")" = fresh ]
	[ -x "$L/rootfs/bin/sh" ]
}
@test "04 untars a layer with whiteouts kept and applied" { both check_04; }

check_05() {
	local L=$1/05
	cmp "$L/built.diff_ids" "$L/byhand.diff_ids"
	[ "$(jq length "$L/built.diff_ids")" -eq 3 ]
	grep -qx 'made by RUN as root' "$L/run.out"
	grep -qx 'IMAGE=busybox-lab' "$L/run.out"
	grep -q '^STEP 4: RUN' "$1/05.out"
	grep -q '\$ oci-commit' "$1/05.out"
}
@test "05 builds the Containerfile and the same image by hand, and runs it" { both check_05; }

check_06() {
	local L=$1/06
	[ "$(stat -c '%F %t:%T' "$L/ctr/upper/etc/group")" = "character special file 0:0" ]
	grep -q student "$L/ctr/upper/etc/passwd"
	! grep -q student "$L"/ctr/layers/*/etc/passwd
	[ -f "$L/ctr/upper/root/new-file" ]
	jq -e '.Name == "overlay" and (.Data.UpperDir | endswith("/ctr/upper"))' "$L/graphdriver.json"
	grep -q '"kind":"opaque"' "$1/06.out"
}
@test "06 shows copy-up, a whiteout and an opaque directory in the upper layer" { both check_06; }

check_07() {
	local L=$1/07
	[ "$(cat "$L/lowerdir/base.new")" = "from the lower layer" ]
	[ "$(cat "$L/upperdir/base.new")" = "changed through merged" ]
	[ -f "$L/upperdir/created" ]
	[ "$(stat -c %F "$L/upperdir/base.old")" = "character special file" ]
	grep -q '^mount -t overlay' "$1/07.out"
}
@test "07 mounts the article's overlay by hand and shows where each change lands" { both check_07; }

check_08() {
	local L=$1/08
	[ "$(cat "$L/note.out")" = "written in the container" ]
	[ "$(ls "$L/store/layers" | wc -l)" -eq 1 ]
	jq -e '.Data.LowerDir | startswith("/")' "$L/graphdriver.json"
	grep -q '^[0-9a-f]\{12\}$' "$1/08.out"
}
@test "08 stores layers once, shows the GraphDriver view, commits the container and runs it" { both check_08; }

check_10() {
	local L=$1/10
	ran "$1" 10
	grep -q 'mounted from library/busybox' "$L/push.log"
	grep -q 'PUT /v2/lab/hello/manifests/1 → 201' "$L/push.log"
	run -1 grep -e 'POST ' -e 'PUT ' "$L/push2.log"
	[ "$(oci-index "$L/mine:1" | jq -r .digest)" = "$(oci-index "$L/pulled:1" | jq -r .digest)" ]
	[ "$(tar xOf "$L/hello.tar" manifest.json | jq -r '.[0].RepoTags[0]')" = lab/hello:1 ]
	[ "$(oci-manifest --config "$L/loaded:1" | sha256sum)" = "$(oci-manifest --config "$L/mine:1" | sha256sum)" ]
	grep -qx 'echo "hello from my own image"' "$L/rootfs/usr/local/bin/hello"
}
@test "10 builds, pushes (mounting the base layer) and pulls an image, and reads docker save's format" { both check_10; }

@test "walkthroughs/check: right answers pass, wrong and missing ones do not" {
	export OCI_LAB=$ROOT_LAB
	L=$ROOT_LAB/01
	jq -r '.manifests[0].digest' "$L/busybox/index.json" >"$L/answers/1"
	ls "$L/busybox/blobs/sha256" | wc -l >"$L/answers/2"
	stat -c %s "$L"/busybox/blobs/sha256/* | sort -n | tail -n 1 >"$L/answers/3"
	run -0 "$W/check" 1
	assert_output --partial "3 right, 0 to go"
	echo 42 >"$L/answers/2"
	run -1 "$W/check" 01
	assert_line "exercise 2: not yet — count the files in blobs/sha256"
	rm "$L/answers/3"
	run -1 "$W/check" 1
	assert_line "exercise 3: no answer yet (answers/3)"
	run -2 "$W/check" 9
	run -0 "$W/check" --help
}

@test "build.sh: usage, a missing Containerfile, an unknown instruction" {
	run -2 "$W/build.sh"
	assert_output --partial "usage:"
	run -1 "$W/build.sh" -t x:latest -f nope .
	assert_output --partial "nope: no such Containerfile"
	printf 'FROM scratch\nHEALTHCHECK NONE\n' >Containerfile
	run -1 "$W/build.sh" -t "$T/img:latest" .
	assert_output --partial "HEALTHCHECK is not an instruction this interpreter knows"
}
