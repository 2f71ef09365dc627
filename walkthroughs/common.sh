# walkthroughs/common.sh — sourced by lib.sh, build.sh, check and registry,
# and by tests/helper.bash for what the tests share with them: free_port,
# registry_serve and wait_http.

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

# free_port [PORT]: PORT if nothing listens there on loopback, else a free one.
free_port() {
	python3 -c 'import socket, sys
s = socket.socket()
# As the registry (Go) binds: connections of an earlier run in TIME-WAIT
# do not make the port taken; a listener does.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except (IndexError, OSError):
    s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' "$@"
}

# registry_config DIR [HOST:]PORT [YAML]: DIR/config.yml for Debian's
# docker-registry (the CNCF distribution server) on HOST:PORT (HOST 127.0.0.1
# when not given), storage in DIR/storage, errors only in its log.  YAML is
# appended after "http:" and its "addr:": top-level keys (auth:, proxy:), or
# lines indented under http: (tls:).
registry_config() {
	local addr=$2
	case $addr in *:*) ;; *) addr=127.0.0.1:$addr ;; esac
	mkdir -p "$1/storage"
	cat >"$1/config.yml" <<-YML
	version: 0.1
	log:
	  level: error
	  accesslog:
	    disabled: true
	storage:
	  filesystem:
	    rootdirectory: $1/storage
	http:
	  addr: $addr
	${3:-}
	YML
}

# registry_serve [-d] DIR [HOST:]PORT [YAML]: Debian's docker-registry on
# HOST:PORT with the configuration registry_config writes in DIR, its output
# in DIR/log; REGISTRY_PID is its process id.  -d: in a session of its own,
# so that it outlives the script that started it and the terminal's Ctrl-C.
# Returns once it answers; 1, with its log on stderr, if it does not.
registry_serve() {
	local detach=
	[ "$1" != -d ] || { detach=setsid; shift; }
	local addr=$2
	case $addr in *:*) ;; *) addr=127.0.0.1:$addr ;; esac
	registry_config "$1" "$addr" "${3:-}"
	$detach docker-registry serve "$1/config.yml" </dev/null >"$1/log" 2>&1 &
	REGISTRY_PID=$!
	wait_http "http://$addr/v2/" "$REGISTRY_PID" 2>/dev/null && return 0
	echo "registry: docker-registry did not start on $addr:" >&2
	cat "$1/log" >&2
	return 1
}

# wait_http URL [PID]: wait until URL answers (any HTTP status), at most
# ~10 s, and no longer than process PID lives.  1 (and a line on stderr) if not.
wait_http() {
	local i
	for i in $(seq 100); do
		curl -sk -m 5 -o /dev/null "$1" && return 0
		[ -z "${2:-}" ] || kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	echo "wait_http: $1 did not answer" >&2
	return 1
}

# root_or_unshare SCRIPT ARG...: for a walkthrough whose steps need root (RUN,
# mounts): as another user, run SCRIPT again, whole, inside oci-unshare (a
# user namespace in which we are root).  As root, nothing.
root_or_unshare() {
	[ "$(id -u)" -eq 0 ] || { unshared_note; exec oci-unshare bash "$@"; }
}

# unshared_note: said as a walkthrough runs again inside oci-unshare, so that a
# student who types its commands by hand knows where they work.
unshared_note() {
	echo "   You are not root: this walkthrough runs again, whole, inside oci-unshare (a"
	echo "   user namespace in which you are root). To type its commands by hand, start"
	echo "   that shell first:  oci-unshare bash"
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
