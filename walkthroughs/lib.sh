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
#            walkthrough works in $OCI_LAB/NN and leaves its files there to explore

set -eu

WALK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Use the programs of this checkout when they are built, else those on PATH.
if [ -x "$WALK_DIR/../bin/oci-digest" ]; then
	PATH="$(cd "$WALK_DIR/../bin" && pwd):$PATH"
fi
export PATH

OCI_LAB=${OCI_LAB:-$PWD/oci-lab}
mkdir -p "$OCI_LAB"
OCI_LAB=$(cd "$OCI_LAB" && pwd)
export OCI_LAB

if [ -t 1 ]; then
	B=$(printf '\033[1m') D=$(printf '\033[2m') C=$(printf '\033[36m') R=$(printf '\033[0m')
else
	B= D= C= R=
fi

# lab NN: make the walkthrough's own directory and go there.
lab() {
	LAB=$OCI_LAB/$1
	# A run that was killed may have left its mounts behind: undo them first.
	awk -v d="$LAB/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
	    while read -r m; do umount "$m" 2>/dev/null || true; done
	# overlayfs leaves workdir/work without permissions when it was mounted in
	# a user namespace: give them back so that the old lab can be removed.
	[ ! -d "$LAB" ] || chmod -R u+rwX "$LAB" 2>/dev/null || true
	rm -rf "$LAB"
	mkdir -p "$LAB"
	cd "$LAB"
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

# say TEXT...: narration, folded to the terminal's width.
say() {
	printf '%s\n' "$*" | fold -s -w 76 | sed "s/ *\$//; s/^/   $C/; s/\$/$R/"
}

# quoted ARG...: the arguments as one would type them (quotes only where needed).
quoted() {
	local a out=
	for a in "$@"; do
		case $a in
		'' | *[!A-Za-z0-9_./:=@%+,-]*) a="'${a//\'/\'\\\'\'}'" ;;
		esac
		out="$out${out:+ }$a"
	done
	printf '%s\n' "$out"
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

pause() {
	if [ -t 0 ] && [ -t 1 ] && [ "$STEP" -gt 0 ]; then
		read -r -p "   ${D}[Enter]${R} " _ || true
	fi
}

# exercises TEXT...: the lab questions at the end, each line one exercise.
exercises() {
	pause
	printf '\n%sExercises%s (answers go in %s/answers/; check them with: walkthroughs/check %s)\n' \
	    "$B" "$R" "$LAB" "${LAB##*/}"
	mkdir -p "$LAB/answers"
	local n=0 line
	for line in "$@"; do
		n=$((n + 1))
		printf '%s\n' "$n. $line" | fold -s -w 76 | sed 's/ *$//; 2,$s/^/   /'
	done
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

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# seed_image LAYOUT: a busybox image built from this machine's static busybox
# (Debian's busybox-static) with oci-commit and oci-config: one layer, a
# Cmd of ["sh"], like Docker Hub's busybox.
seed_image() {
	local layout=$1 root
	root=$(mktemp -d)
	mkdir -p "$root/bin" "$root/etc" "$root/root" "$root/tmp" "$root/home" \
	    "$root/proc" "$root/dev" "$root/sys" "$root/var/spool/mail"
	chmod 1777 "$root/tmp"
	cp /bin/busybox "$root/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	# Owned by root, as in any image: as another user, commit inside oci-unshare.
	as_root env SOURCE_DATE_EPOCH=1700000000 oci-commit -q -m 'ADD busybox /bin/' "$root" "$layout:latest" >/dev/null
	SOURCE_DATE_EPOCH=1700000000 oci-config -q "$layout:latest" --cmd sh >/dev/null
	rm -rf "$root"
}

# push LAYOUT:TAG REGISTRY REPO: put an image in a registry with oci-push
# (distribution-spec "push": each blob, then the manifest under the tag).
push() {
	oci-push -q "$1" "$2/$3:${1##*:}" >/dev/null
}

# registry_up: make SOURCE name a busybox image to pull.  Without IMAGE, a
# docker-registry on a free loopback port, seeded with our own busybox image;
# with IMAGE, that reference as it is.
registry_up() {
	if [ -n "${IMAGE:-}" ]; then
		SOURCE=$IMAGE
		return
	fi
	local dir port
	dir=$(mktemp -d)
	port=$(free_port)
	cat >"$dir/config.yml" <<-YML
	version: 0.1
	log: { level: error, accesslog: { disabled: true } }
	storage: { filesystem: { rootdirectory: $dir/storage } }
	http: { addr: "127.0.0.1:$port" }
	YML
	docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
	REGISTRY_PID=$!
	at_exit "kill $REGISTRY_PID; wait $REGISTRY_PID; rm -rf '$dir'"
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && break
		sleep 0.1
	done
	seed_image "$dir/seed"
	push "$dir/seed:latest" "127.0.0.1:$port" library/busybox
	SOURCE=127.0.0.1:$port/library/busybox:latest
}

# as_root CMD...: run CMD as root where it needs to be: as it is when we are
# root, else inside oci-unshare (a user namespace in which we are root).
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		oci-unshare "$@"
	fi
}
