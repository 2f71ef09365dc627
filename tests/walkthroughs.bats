#!/usr/bin/env bats
# tests/walkthroughs.bats — every walkthrough runs unattended, as root and as
# user nobody, and leaves the artefacts it promises; walkthroughs/check
# tells right answers from wrong ones.

load helper

W=$WALK_DIR

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
		(cd "$NOBODY_LAB" && as_nobody \
			env HOME="$NOBODY_LAB" TMPDIR="$NOBODY_LAB" OCI_LAB="$NOBODY_LAB" PATH="$PATH" \
			timeout 600 bash "$w" </dev/null >"$NOBODY_LAB/$n.out" 2>&1) || rc=$?
		echo "$rc" >"$NOBODY_LAB/$n.rc"
	done
}

# A test that fails half-way leaves no registry of its own running.
teardown() {
	[ ! -d "$T/lab/registry" ] || OCI_LAB=$T/lab "$W/registry" stop
	local lab
	for lab in "$ROOT_LAB" "$NOBODY_LAB"; do
		[ ! -f "$lab/registry/pid" ] || OCI_LAB=$lab "$W/registry" stop
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

# both CHECK: CHECK LAB for each lab.  No "|| return" here: a command
# followed by || runs without errexit, and every assertion inside CHECK but
# its last would stop counting.
both() {
	local lab
	for lab in "$ROOT_LAB" "$NOBODY_LAB"; do
		"$@" "$lab"
	done
}

@test "every walkthrough runs unattended, as root and as nobody, with no leftover mounts" {
	for n in 01 02 03 04 05 06 07 08 09; do
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
	page_of "$L/busybox.html" "$1/02.out"
}

# page_of PAGE OUT: the walkthrough wrote oci-view's page PAGE, one file
# that asks for nothing, and said its file:// address.
page_of() {
	[ -s "$1" ]
	grep -q "Content-Security-Policy" "$1"
	grep -q "^   file://$1" "$2"
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
	grep -q '^STEP 4/6: RUN' "$1/05.out"
	grep -q '\$ oci-commit' "$1/05.out"
	# The layer cache step: the base layer stays, the COPY and RUN layers change.
	[ "$(oci-config "$L/built:latest" | jq -r '.rootfs.diff_ids[0]')" = \
	    "$(oci-config "$L/built2:latest" | jq -r '.rootfs.diff_ids[0]')" ]
	[ "$(oci-config "$L/built:latest" | jq -r '.rootfs.diff_ids[1]')" != \
	    "$(oci-config "$L/built2:latest" | jq -r '.rootfs.diff_ids[1]')" ]
}
@test "05 builds the Containerfile and the same image by hand, and runs it" { both check_05; }

check_06() {
	local L=$1/06
	[ "$(stat -c '%F %t:%T' "$L/ctr/upper/etc/group")" = "character special file 0:0" ]
	page_of "$L/container.html" "$1/06.out"
	grep -q student "$L/ctr/upper/etc/passwd"
	! grep -q student "$L"/ctr/layers/*/etc/passwd
	[ -f "$L/ctr/upper/root/new-file" ]
	jq -e '.Name == "overlay" and (.Data.UpperDir | endswith("/ctr/upper"))' "$L/graphdriver.json"
	grep -q '"kind":"opaque"' "$1/06.out"
	# Copy-up cost: one byte more, the whole busybox in the upper directory.
	[ "$(stat -c %s "$L/ctr/upper/bin/busybox")" -eq $(($(stat -c %s "$L"/ctr/layers/*/bin/busybox) + 1)) ]
	# The commit round trip: tar -tvzf lists the whiteouts as .wh. entries.
	grep -q ' etc/\.wh\.group$' "$1/06.out"
	grep -q ' var/spool/\.wh\.\.wh\.\.opq$' "$1/06.out"
	# The parts stay, unmounted, and the text says the command that mounts
	# them again: it works.
	[ -z "$(ls -A "$L/ctr/merged")" ]
	local again
	again=$(grep -m 1 "^   cd .*oci-overlay busybox:latest ctr" "$1/06.out")
	if [ "$1" = "$ROOT_LAB" ]; then
		run -0 in_lab "$1" "$again >/dev/null && cat ctr/merged/root/new-file; oci-overlay -u ctr/merged"
	else
		run -0 in_lab "$1" "$again <<<'cat ctr/merged/root/new-file'"
	fi
	assert_output --partial "only in the container"
	run -1 grep -F "$L/ctr/merged" /proc/self/mounts
}
@test "06 shows copy-up, a whiteout and an opaque directory in the upper layer" { both check_06; }

check_07() {
	local L=$1/07
	[ "$(cat "$L/lowerdir/base.new")" = "from the lower layer" ]
	[ "$(cat "$L/upperdir/base.new")" = "changed through merged" ]
	[ -f "$L/upperdir/created" ]
	[ "$(stat -c %F "$L/upperdir/base.old")" = "character special file" ]
	grep -q '^mount -t overlay' "$1/07.out"
	tr '\n' ' ' <"$1/07.out" | grep -q 'mount (-m), *UTS (-u) *and *user'
	[ "$(stat -c %F "$L/upper2/base.old")" = "character special file" ]
}
@test "07 mounts the article's overlay by hand and shows where each change lands" { both check_07; }

check_08() {
	local L=$1/08 id
	[ "$(cat "$L/note.out")" = "written in the container" ]
	page_of "$L/store.html" "$1/08.out"
	# Three containers on two image layers: each layer once, l/ links for all 8.
	[ "$(ls "$L/store" | grep -c '^[0-9a-f]\{64\}$')" -eq 5 ]
	[ "$(ls "$L/store/l" | wc -l)" -eq 8 ]
	jq -e '.Name == "overlay2" and (.Data.LowerDir | startswith("/"))' "$L/graphdriver.json"
	# The second container's LowerDir ends in the first one's layer directory.
	[ "$(jq -r '.Data.LowerDir' "$L/graphdriver.json" | cut -d: -f2)" = "$(jq -r '.Data.LowerDir' "$L/graphdriver2.json" | cut -d: -f2)" ]
	id=$(jq -r .Data.UpperDir "$L/graphdriver.json" | sed 's|.*/\([0-9a-f]*\)/diff$|\1|')
	grep -qx "${id:0:12}" "$1/08.out"
	grep -q 'The store grew by [0-9]* kB' "$1/08.out"
	run -1 grep -F "$L/" /proc/self/mounts
}
@test "08 chases a container through the store, shares its layers with a second, commits it and runs it" { both check_08; }

check_09() {
	local L=$1/09
	[ ! -e "$L/rootfs/secret.txt" ]
	page_of "$L/leaky.html" "$1/09.out"
	grep -q "^   file://$L/leaky.html#which=/secret.txt$" "$1/09.out"
	[ -s "$L/recovered/secret.txt" ]
	grep -qx 'layer 3: D /secret.txt' "$1/09.out"
	grep -q 'hides /secret.txt from layer 2 — its 33 B still ship in layer 2$' "$1/09.out"
	oci-diff --summary "$L/leaky:latest" | jq -s -e '.[1].wasted == 33 and .[1].files == .[1].visible + 33'
	oci-diff --summary "$L/fixed:latest" | jq -s -e 'map(.wasted) | add == 0'
}
@test "09 finds a deleted secret in the layer below, recovers it, and builds it away" { both check_09; }

@test "walkthroughs/check 9: the exercises on oci-diff are marked" {
	export OCI_LAB=$ROOT_LAB
	L=$ROOT_LAB/09
	echo 2 >"$L/answers/1"
	echo 33 >"$L/answers/2"
	# The last line of oci-diff --which, as its hint says, holds the answer.
	oci-diff --which /app.conf "$L/fixed:latest" | tail -n 1 >"$L/answers/3"
	run -0 "$W/check" 9
	assert_output --partial "3 right, 0 to go"
	echo 3 >"$L/answers/1"
	run -1 "$W/check" 09
	assert_line "exercise 1: not yet — oci-diff --which /secret.txt"
}

@test "09 with CHALLENGE=: a teacher's image to search, marked by check 9" {
	# The teacher's image: a base layer, a file written, then deleted, and an
	# opaque directory that hides what the base had there.
	mkdir -p base/etc/conf.d add/etc del/etc/conf.d
	echo one >base/etc/conf.d/a
	echo two >base/etc/conf.d/b
	echo token >add/etc/token
	: >del/etc/.wh.token
	: >del/etc/conf.d/.wh..wh..opq
	echo new >del/etc/conf.d/c
	oci-commit -q base teacher:1
	tar -cf add.tar -C add etc
	tar -cf del.tar -C del etc
	umoci raw add-layer --image teacher:1 add.tar
	umoci raw add-layer --image teacher:1 del.tar
	oci-push -q teacher:1 "docker-archive:$T/challenge.tar:class/challenge:1"
	mkdir -p lab
	(cd lab && OCI_LAB=$T/lab CHALLENGE=docker-archive:$T/challenge.tar timeout 300 \
		bash "$W/09-secrets.sh" </dev/null >09.out 2>&1) || { tail -n 30 lab/09.out; false; }
	grep -q '^4\. Which paths of challenge:latest did a later layer delete' lab/09.out
	export OCI_LAB=$T/lab
	printf '/etc/token\n/etc/conf.d/b\n' >lab/09/answers/4
	run -1 "$W/check" 9
	assert_line "exercise 4: not yet — oci-diff challenge:latest says what each layer deleted"
	printf '/etc/conf.d/b\n/etc/token\n/etc/conf.d/a\n' >lab/09/answers/4
	run -1 "$W/check" 9
	assert_line "exercise 4: right"
}

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
	# --json: a line per exercise, for a class table.
	run -1 "$W/check" --json 1
	assert_output '{"walkthrough":"01","exercise":1,"result":"right"}
{"walkthrough":"01","exercise":2,"result":"not yet"}
{"walkthrough":"01","exercise":3,"result":"not yet"}'
	run -2 "$W/check" 11
	run -0 "$W/check" --help
}

@test "walkthroughs/check 8: an answer as jq prints it, quotes and all, is marked right" {
	export OCI_LAB=$ROOT_LAB
	L=$ROOT_LAB/08
	jq .Data.LowerDir "$L/graphdriver.json" >"$L/answers/2"
	run -1 "$W/check" 8
	assert_line "exercise 2: right"
	echo '"not/the/lowerdir"' >"$L/answers/2"
	run -1 "$W/check" 8
	assert_line "exercise 2: not yet — jq .Data.LowerDir"
	rm "$L/answers/2"
}

@test "walkthroughs/check 10: the exercises on pushing and docker save's format are marked" {
	export OCI_LAB=$ROOT_LAB
	L=$ROOT_LAB/10
	# The IMAGE ID as docker shows it: hex digits, no algorithm.
	oci-manifest "$L/mine:1" | jq -r .config.digest | cut -d: -f2 >"$L/answers/1"
	tar tf "$L/hello.tar" | grep -c '\.tar$' >"$L/answers/2"
	echo manifest.json >"$L/answers/3"
	run -0 "$W/check" 10
	assert_output --partial "3 right, 0 to go"
	echo repositories >"$L/answers/3"
	run -1 "$W/check" 10
	assert_line --partial "exercise 3: not yet"
}

@test "build.sh: usage, a missing Containerfile, an unknown instruction" {
	run -2 "$W/build.sh"
	assert_output --partial "usage:"
	run -1 "$W/build.sh" -t x:latest -f nope .
	assert_output --partial "nope: no such Containerfile"
	run -1 "$W/build.sh" -t x:latest .
	assert_output --partial "build.sh: .: no Containerfile or Dockerfile (or give one with -f)"
	# A Dockerfile when there is no Containerfile, as buildah and podman take it.
	printf 'FROM scratch\nENV FROM=dockerfile\n' >Dockerfile
	run -0 "$W/build.sh" -t "$T/df:latest" .
	[ "$(oci-config "$T/df:latest" | jq -r '.config.Env[0]')" = FROM=dockerfile ]
	rm Dockerfile
	printf 'FROM scratch\nHEALTHCHECK NONE\n' >Containerfile
	run -1 "$W/build.sh" -t "$T/img:latest" .
	assert_output --partial "HEALTHCHECK is not an instruction this interpreter knows"
	printf 'FROM busybox AS base\n' >Containerfile
	run -1 "$W/build.sh" -t "$T/img:latest" .
	assert_output --partial "no options or stages (AS) here"
	printf 'FROM scratch\nCOPY nothing-here /\n' >Containerfile
	run -1 "$W/build.sh" -t "$T/img:latest" .
	assert_output --partial "COPY nothing-here: no such file in ."
	[ ! -e .build ]
}

# in_lab LAB CMD: run the shell command CMD as the user that owns LAB (root or
# nobody), in the directory the walkthroughs ran in, with no OCI_LAB set.
in_lab() {
	local lab=$1
	shift
	if [ "$lab" = "$ROOT_LAB" ]; then
		(cd "$lab" && env -u OCI_LAB PATH="$PATH" bash -c "$1")
	else
		(cd "$lab" && as_nobody \
			env -u OCI_LAB HOME="$lab" TMPDIR="$lab" PATH="$PATH" bash -c "$1")
	fi
}

# said LAB NN PATTERN: the first text the walkthrough printed that matches
# PATTERN (an extended regex), its folded lines joined.
said() { tr '\n' ' ' <"$1/$2.out" | sed 's/   */ /g' | grep -oE -m 1 "$3" | head -n 1; }

build_prints_commands() {
	local out=$1/05.out
	# Between "STEP n/6" lines of the build, each instruction shows at
	# least one command ("    $ …") and then what it made ("    # …").
	awk '/^STEP [0-9]+\/6: /{ if (s && !(c && m)) bad = 1; s = 1; c = m = 0; next }
	     s && /^    \$ /{ c = 1 } s && /^    # / { m = 1 }
	     s && /^\{/ { if (!(c && m)) bad = 1; s = 0 }
	     END { exit bad }' "$out"
	for i in FROM ENV COPY RUN ENTRYPOINT CMD; do
		grep -q "^STEP [0-9]/6: $i" "$out"
	done
	grep -q '^    \$ oci-fetch -q 127.0.0.1:[0-9]*/library/busybox:latest built:latest$' "$out"
	grep -q '^    \$ oci-config -q built:latest --env IMAGE=busybox-lab$' "$out"
	grep -q '^    \$ cp -a --no-preserve=ownership ./config-file .build/3/$' "$out"
	grep -q "^    \\\$ oci-unshare --rootfs .build/4/merged --image built:latest -- /bin/sh -c 'mkdir -p /srv" "$out"
	grep -q '^    # no layer: history {"created_by":"/bin/sh -c #(nop) ENV IMAGE=busybox-lab","empty_layer":true}$' "$out"
	grep -q '^    # a layer: diff_id sha256:[0-9a-f]\{64\}$' "$out"
	run -1 grep -E 'tmp\.[A-Za-z0-9]{6,}|\\ ' "$out"
}
@test "05: every build step prints the commands it runs and what it made" { both build_prints_commands; }

rerun_keeps_work() {
	local L=$1/oci-lab/07 w=$W/07-overlay-by-hand.sh
	# Nothing done since the last run: it runs again.
	run -0 in_lab "$1" "bash '$w' </dev/null >/dev/null 2>&1"
	# An answer and a file made after it: kept, and said.
	in_lab "$1" "echo mine > '$L/answers/1' && echo an exercise > '$L/upperdir/mine'"
	run -1 in_lab "$1" "bash '$w' </dev/null 2>&1 >/dev/null"
	assert_line "walkthrough: $L holds your work since its last run:"
	assert_line "  answers/: 1 (kept whatever you choose)"
	assert_line "  upperdir/mine"
	assert_output --partial "OCI_FRESH=1"
	[ -f "$L/upperdir/mine" ]
	# Asked for: the lab starts again, answers/ stays.
	run -0 in_lab "$1" "OCI_FRESH=1 bash '$w' </dev/null >/dev/null 2>&1"
	[ "$(cat "$L/answers/1")" = mine ]
	[ ! -e "$L/upperdir/mine" ]
	[ -f "$L/upperdir/created" ]
}
@test "running a walkthrough again keeps the exercises' work unless asked, and answers/ always" { both rerun_keeps_work; }

check_from_lab() {
	local L=$1/02 d
	# oci-digest's own output, "sha256:…  -", is an answer; so is a path with broken/.
	in_lab "$1" "cd '$L' && gunzip -c busybox/blobs/sha256/\$(oci-manifest --layers busybox:latest | jq -r .digest | cut -d: -f2) |
		oci-digest > answers/1 && oci-digest --layout broken | sed 's|^|broken/|' > answers/2 &&
		oci-manifest --config busybox:latest | oci-digest > answers/3"
	grep -q '^sha256:[0-9a-f]\{64\}  -$' "$L/answers/1"
	run -0 in_lab "$1" "cd '$L' && '$W/check' 2"
	assert_output --partial "3 right, 0 to go"
	run -0 in_lab "$1" "cd '$L/busybox/blobs' && '$W/check' 2"
	# From elsewhere, it says how to name the lab.
	run -1 in_lab "$1" "cd / && '$W/check' 2"
	assert_output --partial "OCI_LAB"
	run -0 in_lab "$1" "cd / && OCI_LAB='$1' '$W/check' 2"
	# Order does not matter where it does not: 06's whiteout lines, reversed.
	in_lab "$1" "cd '$1/06' && oci-whiteout ctr/upper | sort -r > answers/3"
	# 06's copy-up size, and the .wh. entries of the committed layer, found
	# with the commands its text names.
	in_lab "$1" "cd '$1/06' && ls -l ctr/upper/bin/busybox | awk '{print \$5}' > answers/4 &&
		d=\$(oci-manifest --layers busybox:committed | tail -n 1 | jq -r .digest | cut -d: -f2) &&
		tar -tvzf busybox/blobs/sha256/\$d | awk '/\\.wh\\./ {print \$NF}' | sort -r > answers/5"
	run -1 in_lab "$1" "cd '$1/06' && '$W/check' 6"
	assert_line "exercise 3: right"
	assert_line "exercise 4: right"
	assert_line "exercise 5: right"
}
@test "walkthroughs/check works from inside a lab, accepts oci-digest's output, ignores order" { both check_from_lab; }

exercises_after_exit() {
	local lab=$1 start fetch build
	# The walkthroughs ran unattended: the lab's registry stopped with them
	# (curl: 7, connection refused).
	run -7 in_lab "$lab" "curl -sf http://127.0.0.1:\$(cat '$lab/registry/port')/v2/"
	start=$(said "$lab" 03 "[^ ]*walkthroughs/registry start")
	[ -n "$start" ]
	# The exercises of 03, with the commands their text gives.
	fetch=$(said "$lab" 03 "oci-fetch [^ ]*/library/busybox:latest again2:latest")
	[ -n "$fetch" ]
	in_lab "$lab" "$start >/dev/null && cd '$lab/03' && $fetch | jq -r .digest > answers/3"
	fetch=$(said "$lab" 03 "oci-fetch -p [^ ]* [^ ]*:multiarch here:latest")
	in_lab "$lab" "cd '$lab/03' && $fetch > answers/4"
	run -1 in_lab "$lab" "cd '$lab/03' && '$W/check' 3"
	assert_line "exercise 3: right"
	assert_line "exercise 4: right"
	# Another platform's manifest is not the answer.
	in_lab "$lab" "cd '$lab/03' && oci-index other:latest | jq -r .digest > answers/3"
	run -1 in_lab "$lab" "cd '$lab/03' && '$W/check' 3"
	assert_line --partial "exercise 3: not yet"
	# 05's: a LABEL, built with the command the text gives.
	build=$(said "$lab" 05 "[^ ]*/build.sh -t labelled:latest \.")
	[ -n "$build" ]
	# An image built without the label is not the answer, whatever its digest.
	in_lab "$lab" "cd '$lab/05' && $build > labelled.out 2>&1 && tail -n 1 labelled.out > answers/2"
	run -1 in_lab "$lab" "cd '$lab/05' && '$W/check' 5"
	assert_line "exercise 2: not yet — build labelled:latest first, from the Containerfile with the LABEL line"
	in_lab "$lab" "cd '$lab/05' && echo 'LABEL course=containers' >> Containerfile &&
		$build > labelled.out 2>&1 && tail -n 1 labelled.out > answers/2 &&
		printf 'CMD\nFROM\nENV\nENTRYPOINT\n' > answers/3"
	# 4: a changed ENV changes no layer.
	in_lab "$lab" "cd '$lab/05' && sed -i 's/^ENV IMAGE=.*/ENV IMAGE=\"other\"/' Containerfile &&
		${build/labelled/env2} > env2.out 2>&1 && echo 0 > answers/4"
	run -1 in_lab "$lab" "cd '$lab/05' && '$W/check' 5"
	assert_line "check: the answers in $lab/05/answers"
	assert_line "exercise 2: right"
	assert_line "exercise 3: right"
	assert_line "exercise 4: right"
	in_lab "$lab" "'$W/registry' stop"
	run -1 pgrep -f "docker-registry serve $lab/"
}
@test "the exercises of 03 and 05 can be done after the walkthrough ends" { both exercises_after_exit; }

# A Containerfile that needs no RUN: what build.sh makes must be what podman
# build makes (as root: rootless podman needs subordinate ids nobody lacks;
# build.sh runs as both).
@test "build.sh: FROM scratch, WORKDIR and COPY give the tree podman build gives" {
	command -v podman || skip "podman is not installed (make deps installs it)"
	mkdir -p ctx/dir
	echo hi >ctx/f
	echo d >ctx/dir/x
	cat >ctx/Containerfile <<-'CF'
	FROM scratch
	WORKDIR /app
	COPY f .
	COPY f /f
	COPY f /g/
	COPY dir /dir2
	COPY dir f /multi/
	ENV A=b
	WORKDIR sub
	COPY f rel
	CF
	P=(podman --root "$T/podman" --runroot "$T/podman-run" --storage-driver vfs)
	"${P[@]}" build -q -t lab-copy ctx
	"${P[@]}" save --format oci-dir -o podman-image lab-copy
	oci-untar -C podman-root "podman-image@$(oci-index podman-image | jq -r .digest)"
	tree() { (cd "$1" && find . -printf '%p %y %m %U:%G %s\n' | sort); }
	open_to_nobody "$T/lab"
	cp -a ctx "$T/lab/"
	chmod -R a+rX "$T/lab/ctx"
	for who in root nobody; do
		rm -rf "$T/lab/img"
		if [ $who = root ]; then
			(cd "$T/lab" && "$W/build.sh" -t img:latest ctx >build.out)
		else
			(cd "$T/lab" && as_nobody \
				env HOME="$T/lab" PATH="$PATH" "$W/build.sh" -t img:latest ctx >build.out)
		fi
		rm -rf "$T/ours"
		oci-untar -C "$T/ours" "$T/lab/img:latest"
		diff <(tree podman-root) <(tree "$T/ours")
		[ "$(oci-config "$T/lab/img:latest" | jq -r .config.WorkingDir)" = /app/sub ]
		grep -q '^    \$ oci-config -q --scratch img:latest$' "$T/lab/build.out"
		[ ! -e "$T/lab/.build" ]
	done
}

@test "walkthroughs/registry: usage, no lab, and a start that comes back on the same port" {
	run -2 "$W/registry"
	run -0 "$W/registry" --help
	assert_output --partial "start|stop|status"
	run -1 env -u OCI_LAB "$W/registry" start
	assert_output --partial "no lab here"
	mkdir lab && touch lab/.oci-lab
	export OCI_LAB=$T/lab
	run -1 "$W/registry" status
	run -0 "$W/registry" start
	first=$output
	assert_output --regexp '^127\.0\.0\.1:[0-9]+$'
	run -0 oci-fetch -q -p "$(uname -s | tr A-Z a-z)/amd64" "$first/library/busybox:multiarch" here:latest
	run -0 oci-fetch --manifest "$first/library/busybox:multiarch"
	run -0 jq -r '.manifests | length' <<<"$output"
	assert_output 2
	run -0 "$W/registry" stop
	run -1 "$W/registry" status
	run -0 "$W/registry" start
	assert_output "$first"
	"$W/registry" stop
	# Something else on that port: the registry moves, and says so.
	python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(60)' "${first#*:}" &
	local squatter=$! i
	for i in $(seq 100); do
		! (exec 3<>"/dev/tcp/127.0.0.1/${first#*:}") 2>/dev/null || break
		sleep 0.1
	done
	run -0 "$W/registry" start
	kill "$squatter"
	assert_output --partial "$first is taken by something else"
	[ "$(tail -n 1 <<<"$output")" != "$first" ]
	run -0 curl -sf "http://$(tail -n 1 <<<"$output")/v2/"
	"$W/registry" stop
}
