# walkthroughs/lib.sh — sourced by every walkthrough: narration, the lab
# directory, and a registry of our own to pull from.
#
# A walkthrough shows each command before it runs it, says in a few lines what
# to look at, and pauses between steps when you run it at a terminal (Enter
# goes on).  Run without a terminal (make demo, the tests) it goes straight
# through.
#
# Environment:
#   IMAGE    a registry reference to use instead of our own local registry,
#            e.g. IMAGE=docker.io/library/busybox (needs the internet)
#   OCI_LAB  where the lab directories go (default: ./oci-lab); each
#            walkthrough works in $OCI_LAB/NN and leaves its files there to
#            explore; the lab's registry keeps its images in $OCI_LAB/registry
#   OCI_FRESH=1  start $OCI_LAB/NN again even when the student has worked
#            in it since its last run (answers/ stays; see keep_work)
#   CHALLENGE  (09 only) an image to search for deleted files, exercise 4

set -eu

WALK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The walkthroughs' directory as the student named it, for the commands we tell them.
WALK_REL=$(dirname "$0")
. "$WALK_DIR/common.sh"
# Use the programs of this checkout when they are built, else those on PATH.
# (Whether the student's own shell finds them: exercises() says how if not.)
ON_STUDENT_PATH=$(command -v oci-digest || true)
if [ -x "$WALK_DIR/../bin/oci-digest" ]; then
	PATH="$(cd "$WALK_DIR/../bin" && pwd):$PATH"
fi
export PATH

# Said before a command the student types where they ran the walkthrough.
LAB_ENV=
[ -z "${OCI_LAB:-}" ] || [ "$OCI_LAB" -ef "$PWD/oci-lab" ] || LAB_ENV="OCI_LAB=$(quoted "$OCI_LAB") "
OCI_LAB=${OCI_LAB:-$PWD/oci-lab}
mkdir -p "$OCI_LAB"
OCI_LAB=$(cd "$OCI_LAB" && pwd)
touch "$OCI_LAB/.oci-lab"    # walkthroughs/check and walkthroughs/registry look for it
export OCI_LAB

if [ -t 1 ]; then
	B=$(printf '\033[1m') D=$(printf '\033[2m') C=$(printf '\033[36m') R=$(printf '\033[0m')
else
	B= D= C= R=
fi

# lab NN: make the walkthrough's own directory and go there.  An earlier
# run's files go, except answers/: the student's work.  When that earlier run
# was finished and the student has worked in it since (answers written, files
# made or changed by the exercises), it is kept unless asked: at a terminal
# the walkthrough asks; otherwise OCI_FRESH=1 says so.
lab() {
	LAB=$OCI_LAB/$1
	keep_work "$1"
	# A run that was killed may have left its mounts behind: undo them first.
	awk -v d="$LAB/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
	    while read -r m; do umount "$m" 2>/dev/null || true; done
	# overlayfs leaves workdir/work without permissions when it was mounted in
	# a user namespace: give them back so that the old lab can be removed.
	[ ! -d "$LAB" ] || chmod -R u+rwX "$LAB" 2>/dev/null || true
	find "$LAB" -mindepth 1 -maxdepth 1 ! -name answers -exec rm -rf {} + 2>/dev/null || true
	mkdir -p "$LAB"
	cd "$LAB"
	# The walkthroughs' directory as a command typed in the lab names it.
	WALK_FROM_LAB=$(realpath --relative-to=. "$WALK_DIR")
	[ "${#WALK_FROM_LAB}" -le "${#WALK_DIR}" ] || WALK_FROM_LAB=$WALK_DIR
}

# keep_work NN: stop before a re-run would delete what the student did in
# $LAB after the last run ended (exercises() leaves $LAB/.done behind): files
# made or changed since, answers written since.
keep_work() {
	local done=$LAB/.done work answer yes=
	[ -f "$done" ] && [ "${OCI_FRESH:-}" != 1 ] || return 0
	work=$(cd "$LAB" && find . -mindepth 1 -newer .done ! -path ./answers ! -path './answers/*' \
	    -printf '  %P\n' 2>/dev/null | head -n 4)
	answer=$(cd "$LAB" && find answers -type f -newer .done -printf '%P ' 2>/dev/null)
	[ -n "$work$answer" ] || return 0
	{
		echo "walkthrough: $LAB holds your work since its last run:"
		[ -z "$answer" ] || echo "  answers/: $answer(kept whatever you choose)"
		[ -z "$work" ] || printf '%s\n' "$work" | sed '4s/.*/  …/'
		echo "A new run starts this lab again from nothing: what the exercises made there" \
		    "goes, and answers about it may no longer be right."
	} >&2
	if [ -t 0 ] && [ -t 1 ]; then
		read -r -p "Start $1 again from nothing? [y/N] " yes || true
		case $yes in [yY]*) return 0 ;; esac
	fi
	echo "Kept. To start it again anyway, put OCI_FRESH=1 before the command" \
	    "(OCI_FRESH=1 $0), or copy $LAB somewhere first." >&2
	exit 1
}

# title TEXT: the walkthrough's name.
title() {
	printf '\n%s== %s ==%s\n' "$B" "$*" "$R"
}

# step TEXT: a numbered part of the walkthrough; pauses first at a terminal.
STEP=0
step() {
	STEP=$((STEP + 1))
	pause
	printf '\n%s-- %d. %s%s\n' "$B" "$STEP" "$*" "$R"
}

# fixed_time: what a walkthrough builds takes its times from
# SOURCE_DATE_EPOCH, so that its digests are the same on every machine; the
# export is shown, since commands pasted into a fresh shell need it too.
fixed_time() {
	say "What is built here takes its times from SOURCE_DATE_EPOCH, so that the same" \
	    "build gives the same digests on every machine. Commands you type by hand need" \
	    "it too:"
	run export SOURCE_DATE_EPOCH=1700000000
}

# say TEXT...: narration, folded to the terminal's width.
say() {
	printf '%s\n' "$*" | fold -s -w 76 | sed "s/ *\$//; s/^/   $C/; s/\$/$R/"
}

# run CMD...: show the command, then run it.  A failing command stops the
# walkthrough (set -e), except where the caller expects it (`expect_fail`).
run() {
	printf '%s$ %s%s\n' "$B" "$(quoted "$@")" "$R"
	"$@"
}

# run_sh 'pipeline': the same for a shell pipeline, shown as written.
run_sh() {
	printf '%s$ %s%s\n' "$B" "$1" "$R"
	bash -o pipefail -c "$1"
}

# write_file FILE: write stdin to FILE, shown as the here-document one would type.
write_file() {
	local text
	text=$(cat)
	printf "%s\$ cat > %s <<'EOF'\n%s\nEOF%s\n" "$B" "$(quoted "$1")" "$text" "$R"
	printf '%s\n' "$text" >"$1"
}

# expect_fail CMD...: show and run a command that is meant to fail here.
expect_fail() {
	local rc=0
	printf '%s$ %s%s\n' "$B" "$(quoted "$@")" "$R"
	"$@" || rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "walkthrough: this command was expected to fail, but it succeeded" >&2
		return 1
	fi
	printf '%s   (exit status %s, as expected)%s\n' "$D" "$rc" "$R"
}

# peer CMD...: show and run a peer tool's command, side by side with ours.  A
# peer that is missing or fails does not stop the walkthrough: 1, and a note.
peer() {
	local rc=0
	command -v "$1" >/dev/null || return 1
	printf '%s$ %s%s\n' "$B" "$(quoted "$@")" "$R"
	"$@" || rc=$?
	[ "$rc" -eq 0 ] || say "($1 failed here, exit status $rc; the walkthrough goes on without it)"
	return "$rc"
}

# peer_fails CMD...: a peer's command that is meant to fail here, to show why.
peer_fails() {
	local rc=0
	command -v "$1" >/dev/null || return 0
	printf '%s$ %s%s\n' "$B" "$(quoted "$@")" "$R"
	"$@" || rc=$?
	if [ "$rc" -eq 0 ]; then
		say "(It worked on this kernel, where it was expected to fail: the text above" \
		    "no longer holds here.)"
	else
		printf '%s   (exit status %s, as expected)%s\n' "$D" "$rc" "$R"
	fi
}

# peer_sh TOOL 'pipeline': the same for a pipeline that begins with TOOL.
peer_sh() {
	local rc=0
	command -v "$1" >/dev/null || return 1
	printf '%s$ %s%s\n' "$B" "$2" "$R"
	bash -o pipefail -c "$2" || rc=$?
	[ "$rc" -eq 0 ] || say "($1 failed here, exit status $rc; the walkthrough goes on without it)"
	return "$rc"
}

pause() {
	if [ -t 0 ] && [ -t 1 ] && [ "$STEP" -gt 0 ]; then
		read -r -p "   ${D}[Enter]${R} " _ || true
	fi
}

# exercises TEXT...: the lab questions at the end, each line one exercise.
exercises() {
	pause
	printf '\n%sExercises%s (answers go in %s/answers/; check them with: %s%s/check %s)\n' \
	    "$B" "$R" "$LAB" "$LAB_ENV" "$WALK_REL" "${LAB##*/}"
	mkdir -p "$LAB/answers"
	touch "$LAB/.done"    # what changes after this is the student's (keep_work)
	local n=0 line
	for line in "$@"; do
		n=$((n + 1))
		printf '%s\n' "$n. $line" | fold -s -w 76 | sed 's/ *$//; 2,$s/^/   /'
	done
	if [ -z "$ON_STUDENT_PATH" ] && [ -x "$WALK_DIR/../bin/oci-digest" ]; then
		say "The oci-* programs are in $(cd "$WALK_DIR/../bin" && pwd), which your shell" \
		    "does not search yet; before typing them, run:" \
		    "export PATH=$(quoted "$(cd "$WALK_DIR/../bin" && pwd)"):\$PATH"
	fi
	registry_note
}

# view_page FILE [FRAGMENT]: say how to open a page oci-view wrote in the lab.
view_page() {
	local url
	url="file://$(realpath "$1" | sed 's/%/%25/g; s/ /%20/g; s/#/%23/g')${2:+#$2}"
	say "Open it in a browser; it asks nothing of the network:"
	printf '   %s\n' "$url"
}

# short DIGEST: its first 12 hex digits, as people read it.
short() {
	local d=${1#*:}
	printf '%s\n' "${d:0:12}"
}

# ---- cleaning up ----------------------------------------------------------

CLEANUPS=()
at_exit() { CLEANUPS+=("$*"); }
cleanup() {
	local i
	for ((i = ${#CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUPS[$i]}" >/dev/null 2>&1 || true
	done
	CLEANUPS=()
}
trap cleanup EXIT
trap 'echo; echo "walkthrough: interrupted, cleaning up" >&2; exit 130' INT TERM

# ---- a registry of our own ------------------------------------------------

# registry_up: make SOURCE name a busybox image to pull.  Without IMAGE, the
# lab's registry (walkthroughs/registry: a docker-registry on a loopback
# port, seeded with a busybox image built from this machine's busybox);
# with IMAGE, that reference as it is.  Run unattended, the registry stops
# when the walkthrough ends; at a terminal it keeps running for the
# exercises until the student stops it.
REGISTRY=
registry_up() {
	if [ -n "${IMAGE:-}" ]; then
		SOURCE=$IMAGE
		return
	fi
	REGISTRY=$("$WALK_DIR/registry" start)
	[ -t 0 ] && [ -t 1 ] || at_exit "'$WALK_DIR/registry' stop"
	SOURCE=$REGISTRY/library/busybox:latest
}

# registry_note: how to reach the lab's registry after the walkthrough, when
# it keeps running or when the exercises need it (EXERCISES_PULL=1).
registry_note() {
	[ -n "$REGISTRY" ] || return 0
	[ -n "${EXERCISES_PULL:-}" ] || { [ -t 0 ] && [ -t 1 ]; } || return 0
	if [ -t 0 ] && [ -t 1 ]; then
		say "The lab's registry keeps running on $REGISTRY for these exercises;" \
		    "stop it with: $LAB_ENV$WALK_REL/registry stop"
	else
		say "The lab's registry on $REGISTRY stops with this walkthrough; for the" \
		    "exercises, start it again (same port, same images) with:" \
		    "$LAB_ENV$WALK_REL/registry start"
	fi
}
