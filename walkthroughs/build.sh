#!/usr/bin/env bash
# walkthroughs/build.sh — a small Containerfile interpreter over oci-*.
#
#   walkthroughs/build.sh -t LAYOUT:TAG [-f Containerfile] [CONTEXT]
#
# Without -f, CONTEXT/Containerfile, or CONTEXT/Dockerfile when there is no
# Containerfile, as buildah build and podman build look for them.
# Each instruction prints every command it runs, as you could type it, and
# then what it made: a layer (its diff_id) or a config change (its history
# entry, with empty_layer).  Paste the commands in order and you get the
# same image.
#   FROM ref             oci-fetch (a new tag for the base image)
#   FROM scratch         oci-config --scratch (an image with no layers)
#   COPY src… dest       the files staged in .build/N at dest, then oci-commit
#   RUN cmd              oci-overlay + oci-unshare --rootfs + oci-commit of the upperdir
#   ENV/ENTRYPOINT/CMD/WORKDIR/USER/LABEL   oci-config
# COPY and WORKDIR follow podman build: a relative destination is under the
# working directory; a destination ending in / or ., or several sources,
# is a directory the sources go into, and a source directory's contents
# are copied, not the directory itself; files belong to root.  Unlike
# podman, a destination without a trailing / is a file even when the
# image has a directory of that name.  WORKDIR only changes the config
# (no layer), and the directory appears in the next COPY's or RUN's layer.
# A RUN needs root; as another user the whole build runs inside oci-unshare,
# as `buildah unshare` would.
set -eu
. "$(dirname "$0")/common.sh"
usage() { echo "usage: walkthroughs/build.sh -t LAYOUT:TAG [-f CONTAINERFILE] [CONTEXT]" >&2; exit 2; }
file= target=
while getopts "t:f:h" o; do
	case $o in
	t) target=$OPTARG ;;
	f) file=$OPTARG ;;
	h) echo "usage: walkthroughs/build.sh -t LAYOUT:TAG [-f CONTAINERFILE] [CONTEXT]"; exit 0 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$target" ] || usage
context=${1:-.}
if [ -z "$file" ]; then
	file=$context/Containerfile
	[ -f "$file" ] || [ ! -f "$context/Dockerfile" ] || file=$context/Dockerfile
	[ -f "$file" ] || { echo "build.sh: $context: no Containerfile or Dockerfile (or give one with -f)" >&2; exit 1; }
fi
[ -f "$file" ] || { echo "build.sh: $file: no such Containerfile" >&2; exit 1; }
case $target in *:*) ;; *) target=$target:latest ;; esac

if [ "$(id -u)" -ne 0 ]; then
	echo "# not root: the build runs in a user namespace where we are root"
	echo "    \$ oci-unshare bash $(quoted "$0" -t "$target" -f "$file" "$context")"
	exec oci-unshare bash "$0" -t "$target" -f "$file" "$context"
fi
umask 022

# A fixed time makes the same build give the same digests (oci-commit clamps to it).
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	echo "# the same build gives the same digests when the time is fixed:"
	echo "    \$ export SOURCE_DATE_EPOCH=1700000000"
	export SOURCE_DATE_EPOCH=1700000000
fi

# do CMD...: show the command as one would type it, then run it (its
# descriptor on stdout is not shown: the step says what it made).
do_cmd() {
	printf '    $ %s\n' "$(quoted "$@")"
	"$@" >/dev/null
}

# src PATH: a source of the build context, as the student names it.
src() {
	if [ "$context" = . ]; then printf '%s\n' "$1"; else printf '%s\n' "$context/${1#./}"; fi
}

# history_length: how many history entries the image has so far.
history_length() { oci-config "$target" 2>/dev/null | jq '.history // [] | length' || echo 0; }

# made layer|config: what the step left in the image (every history entry
# it added, since the history length $before).
made() {
	local config
	config=$(oci-config "$target")
	if [ "$1" = layer ]; then
		printf '    # a layer: diff_id %s\n' "$(jq -r '.rootfs.diff_ids[-1]' <<<"$config")"
	else
		jq -r --argjson n "$before" '.history[$n:][] | "    # no layer: history \(del(.created) | tojson)"' <<<"$config"
	fi
}

# words ARGS: a JSON array's strings, or shell-like words (quotes kept together).
words() {
	case $1 in
	\[*) jq -r '.[]' <<<"$1" ;;
	*) xargs printf '%s\n' <<<"$1" ;;
	esac
}

workdir=/     # where relative paths of COPY and WORKDIR start
newdirs=()    # WORKDIRs made since the last layer: podman puts them in the next one
stage=
cleanup() {
	[ -z "$stage" ] || ! mountpoint -q "$stage/merged" 2>/dev/null || oci-overlay -u "$stage/merged"
	[ -z "$stage" ] || rm -rf "$stage"
	rmdir .build 2>/dev/null || true
}
trap cleanup EXIT

total=$(grep -cv '^[[:space:]]*\(#.*\)\?$' "$file" || true)
n=0
while IFS= read -r line || [ -n "$line" ]; do
	# Joined continuation lines are not supported: keep the interpreter small.
	line=${line#"${line%%[![:space:]]*}"}
	case $line in '' | \#*) continue ;; esac
	instr=${line%%[[:space:]]*}
	args=${line#"$instr"}
	args=${args#"${args%%[![:space:]]*}"}
	n=$((n + 1))
	printf 'STEP %d/%d: %s\n' "$n" "$total" "$line"
	before=$(history_length)
	case ${instr^^} in
	FROM)
		case $args in *[[:space:]]*)
			echo "build.sh: $file: FROM $args: one image, no options or stages (AS) here" >&2
			exit 1 ;;
		esac
		workdir=/ newdirs=()
		if [ "$args" = scratch ]; then
			# A tag left by an earlier build must not become the base.
			if oci-index "$target" >/dev/null 2>&1; then
				do_cmd oci-index --untag "${target##*:}" "${target%:*}"
			fi
			do_cmd oci-config -q --scratch "$target"
			echo "    # no layers yet"
		else
			do_cmd oci-fetch -q "$args" "$target"
			workdir=$(oci-config "$target" | jq -r '.config.WorkingDir // "/" | if . == "" then "/" else . end')
			oci-config "$target" | jq -r '"    # no layer of its own: the base image'"'"'s \(.rootfs.diff_ids | length) to start from",
			    (.rootfs.diff_ids[] | "    #   base layer diff_id \(.)")'
		fi
		;;
	ENV | LABEL)
		mapfile -t kv < <(words "$args")
		opt=--${instr,,}
		cfg=()
		if [ "${instr^^}" = ENV ] && [ "${kv[0]}" = "${kv[0]%%=*}" ]; then
			cfg=(--env "${kv[0]}=${args#"${kv[0]}"*[[:space:]]}")    # the old form: ENV K V
		else
			for w in "${kv[@]}"; do cfg+=("$opt" "$w"); done
		fi
		do_cmd oci-config -q "$target" "${cfg[@]}"
		made config
		;;
	COPY)
		mapfile -t w < <(words "$args")
		case ${w[0]} in --*) echo "build.sh: $file: COPY ${w[0]} is not supported here" >&2; exit 1 ;; esac
		[ "${#w[@]}" -ge 2 ] || { echo "build.sh: $file: COPY needs a source and a destination" >&2; exit 1; }
		dest=${w[${#w[@]} - 1]}
		srcs=("${w[@]:0:${#w[@]}-1}")
		into=0
		case $dest in */ | . | */. | .. | */..) into=1 ;; esac
		[ "${#srcs[@]}" -eq 1 ] || into=1
		case $dest in /*) ;; *) dest=${workdir%/}/$dest ;; esac
		dest=$(realpath -m -s "$dest")
		stage=.build/$n
		# First the directories (new WORKDIRs too), then one cp per source.
		dirs=("${newdirs[@]/#/$stage}") cps=()
		for s in "${srcs[@]}"; do
			[ -e "$context/$s" ] || { echo "build.sh: $file: COPY $s: no such file in $context" >&2; exit 1; }
			if [ -d "$context/$s" ]; then
				dirs+=("$stage$dest") cps+=("$(src "$s")/." "$stage${dest%/}/")
			elif [ "$into" -eq 1 ]; then
				dirs+=("$stage$dest") cps+=("$(src "$s")" "$stage${dest%/}/")
			else
				dirs+=("$stage$(dirname "$dest")") cps+=("$(src "$s")" "$stage$dest")
			fi
		done
		mapfile -t dirs < <(printf '%s\n' "${dirs[@]}" | sed 's|/$||' | awk '!seen[$0]++')
		do_cmd mkdir -p "${dirs[@]}"
		for ((i = 0; i < ${#cps[@]}; i += 2)); do
			do_cmd cp -a --no-preserve=ownership "${cps[i]}" "${cps[i + 1]}"
		done
		do_cmd oci-commit -q -m "COPY $args" "$stage" "$target"
		do_cmd rm -rf "$stage"
		stage= newdirs=()
		made layer
		;;
	RUN)
		case $args in
		\[*) mapfile -t argv < <(words "$args") ;;
		*) argv=(/bin/sh -c "$args") ;;
		esac
		stage=.build/$n
		[ -d .build ] || do_cmd mkdir .build
		do_cmd oci-overlay -q "$target" "$stage"
		[ "${#newdirs[@]}" -eq 0 ] || do_cmd mkdir -p "${newdirs[@]/#/$stage/merged}"
		do_cmd oci-unshare --rootfs "$stage/merged" --image "$target" -- "${argv[@]}"
		do_cmd oci-overlay -u "$stage/merged"
		do_cmd oci-commit -q -m "RUN ${argv[*]}" "$stage/upper" "$target"
		do_cmd rm -rf "$stage"
		stage= newdirs=()
		made layer
		;;
	ENTRYPOINT | CMD)
		# The exec form is a JSON array, which oci-config takes as it is; the
		# shell form runs in /bin/sh -c, as docker and podman do.
		case $args in
		\[*) cfg=(--${instr,,} "$args") ;;
		*) cfg=(--${instr,,} /bin/sh --${instr,,} -c --${instr,,} "$args") ;;
		esac
		do_cmd oci-config -q "$target" "${cfg[@]}"
		made config
		;;
	WORKDIR)
		case $args in /*) workdir=$args ;; *) workdir=${workdir%/}/$args ;; esac
		workdir=$(realpath -m -s "$workdir")
		[ "$workdir" = / ] || newdirs+=("$workdir")
		do_cmd oci-config -q "$target" --workdir "$workdir"
		made config
		;;
	USER)
		do_cmd oci-config -q "$target" --user "$args"
		made config
		;;
	*)
		echo "build.sh: $file: $instr is not an instruction this interpreter knows" >&2
		exit 1
		;;
	esac
done <"$file"
oci-index "$target"
