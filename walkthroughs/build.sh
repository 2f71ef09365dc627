#!/usr/bin/env bash
# walkthroughs/build.sh — a small Containerfile interpreter over oci-*.
#
#   walkthroughs/build.sh -t LAYOUT:TAG [-f Containerfile] [CONTEXT]
#
# Each instruction prints the oci-* commands it runs, so that a build is no
# longer a black box:
#   FROM ref|scratch     oci-fetch (or nothing, for scratch)
#   ENV K=V …            oci-config --env           (an empty layer: config only)
#   COPY src… dest       oci-commit of a tree holding the files at dest
#   RUN cmd              oci-overlay + oci-unshare --rootfs + oci-commit of the upperdir
#   ENTRYPOINT/CMD/WORKDIR/USER/LABEL   oci-config
# A RUN needs root; as another user the whole build runs inside oci-unshare.
set -eu
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
file=${file:-$context/Containerfile}
[ -f "$file" ] || { echo "build.sh: $file: no such Containerfile" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
	exec oci-unshare bash "$0" -t "$target" -f "$file" "$context"
fi

# A fixed time makes the same build give the same digests (oci-commit clamps to it).
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

do_cmd() {
	printf '    $'
	printf ' %q' "$@"
	printf '\n'
	"$@"
}

# json_args '["a","b"]' or 'shell form': the arguments, one per line (shell form → sh -c).
json_args() {
	case $1 in
	\[*) jq -r '.[]' <<<"$1" ;;
	*) printf '%s\n%s\n%s\n' /bin/sh -c "$1" ;;
	esac
}

n=0
while IFS= read -r line || [ -n "$line" ]; do
	# Joined continuation lines are not supported: keep the interpreter small.
	case $line in '' | \#*) continue ;; esac
	instr=${line%%[[:space:]]*}
	args=${line#"$instr"}
	args=${args#"${args%%[![:space:]]*}"}
	n=$((n + 1))
	printf 'STEP %d: %s\n' "$n" "$line"
	case ${instr^^} in
	FROM)
		if [ "$args" = scratch ]; then
			echo "    (scratch: the first COPY or RUN starts the image)"
		else
			do_cmd oci-fetch -q "$args" "$target" >/dev/null
		fi
		;;
	ENV)
		env_args=()
		for kv in $args; do
			k=${kv%%=*} v=${kv#*=}
			v=${v#\"} v=${v%\"}
			env_args+=(--env "$k=$v")
		done
		do_cmd oci-config -q "$target" "${env_args[@]}" >/dev/null
		;;
	COPY)
		read -r -a words <<<"$args"
		dest=${words[${#words[@]} - 1]}
		stage=$(mktemp -d)
		case $dest in /*) ;; *) dest=/$dest ;; esac
		mkdir -p "$stage$dest"
		for src in "${words[@]:0:${#words[@]}-1}"; do
			cp -a "$context/$src" "$stage$dest/"
		done
		do_cmd oci-commit -q -m "COPY $args" "$stage" "$target" >/dev/null
		rm -rf "$stage"
		;;
	RUN)
		ctr=$(mktemp -d)
		do_cmd oci-overlay -q "$target" "$ctr" >/dev/null
		do_cmd oci-unshare --rootfs "$ctr/merged" --image "$target" -- /bin/sh -c "$args"
		do_cmd oci-overlay -u "$ctr/merged"
		do_cmd oci-commit -q -m "RUN /bin/sh -c $args" "$ctr/upper" "$target" >/dev/null
		rm -rf "$ctr"
		;;
	ENTRYPOINT | CMD)
		opt=--${instr,,}
		mapfile -t words < <(json_args "$args")
		cfg=()
		for w in "${words[@]}"; do cfg+=("$opt" "$w"); done
		do_cmd oci-config -q "$target" "${cfg[@]}" >/dev/null
		;;
	WORKDIR) do_cmd oci-config -q "$target" --workdir "$args" >/dev/null ;;
	USER) do_cmd oci-config -q "$target" --user "$args" >/dev/null ;;
	LABEL) do_cmd oci-config -q "$target" --label "${args//\"/}" >/dev/null ;;
	*)
		echo "build.sh: $file: $instr is not an instruction this interpreter knows" >&2
		exit 1
		;;
	esac
done <"$file"
oci-index "$target"
