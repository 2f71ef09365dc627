# walkthroughs/common.sh — sourced by lib.sh, build.sh, check and registry.

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

# find_lab: set OCI_LAB to the lab directory, the walkthroughs' own, whose
# file .oci-lab marks it: $OCI_LAB if set, else the first of this directory
# and its parents that is a lab or holds one named oci-lab.  1 if none.
find_lab() {
	local d
	if [ -n "${OCI_LAB:-}" ]; then
		[ -f "$OCI_LAB/.oci-lab" ] || return 1
		OCI_LAB=$(cd "$OCI_LAB" && pwd)
		return 0
	fi
	d=$PWD
	while :; do
		if [ -f "$d/.oci-lab" ]; then OCI_LAB=$d; return 0; fi
		if [ -f "$d/oci-lab/.oci-lab" ]; then OCI_LAB=$d/oci-lab; return 0; fi
		[ "$d" != / ] || return 1
		d=$(dirname "$d")
	done
}

# platforms: HERE, this machine's platform as an image index names it, and
# OTHER, the second platform of the lab registry's two-platform index.
platforms() {
	case $(uname -m) in
	x86_64) HERE=linux/amd64 OTHER=linux/arm64/v8 ;;
	aarch64) HERE=linux/arm64/v8 OTHER=linux/amd64 ;;
	*) HERE=linux/$(uname -m) OTHER=linux/amd64 ;;
	esac
}

# as_root CMD...: run CMD as root: as it is when we are root, else inside
# oci-unshare (a user namespace in which we are root).
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		oci-unshare "$@"
	fi
}
