#!/usr/bin/env bats
# oci-unshare: namespaces like `unshare -mur`, and containers with --rootfs
# and --image.  Every behaviour is checked as root and as user nobody; the
# image is a real one (Debian's static busybox) made with umoci.

bats_require_minimum_version 1.5.0
load helper
load container_helper

setup_file() {
	fixtures_dir
	{
		busybox_image bb latest
		umoci config --image bb:latest --tag app --config.user app
		umoci config --image bb:latest --tag appwheel --config.user app:wheel
		umoci config --image bb:latest --tag ghost --config.user ghost
		umoci config --image bb:latest --tag entry --config.entrypoint echo --config.entrypoint entry
		umoci unpack --image bb:latest bundle
		attack_rootfs "$F/evil" "$F/bundle/rootfs"
	} >/dev/null
	chmod -R a+rX "$F"
	private_fixtures bundle evil
}

teardown() {
	# A test whose container outlived oci-unshare leaves nothing behind;
	# nor one that made a loop device or mounted an overlay.
	[ -z "${ORPHAN:-}" ] || pkill -KILL -x -- "$ORPHAN" || true
	[ -z "${LOOP:-}" ] || losetup -d "$LOOP" || true
	grep -o " $T/[^ ]*" /proc/self/mounts | xargs -r -n1 umount -l 2>/dev/null || true
}

# ---- usage ----

@test "-h prints the usage on stdout; --version; usage errors exit 2" {
	help_and_version oci-unshare "usage: oci-unshare [-mnpqruv]" "--rootfs DIR [--image IMAGE]"
	run -2 oci-unshare --no-such-option true
	run -2 oci-unshare --image "$F/bb:latest" true
	assert_output --partial "--image needs --rootfs"
	run -2 oci-unshare -e FOO true
	run -2 oci-unshare --rootfs "$P/bundle/rootfs" -e FOO true
	assert_output --partial "--env FOO: give NAME=VALUE"
	run -2 oci-unshare --rootfs "$P/bundle/rootfs" --network bridge true
	run -2 oci-unshare --rootfs "$P/bundle/rootfs" --userns auto true
	run -2 oci-unshare --rootfs "$P/bundle/rootfs" --pids-limit 0 true
	assert_output --partial "--pids-limit 0: give a number of processes, or -1 for no limit"
	run -2 oci-unshare --rootfs "$P/bundle/rootfs" --pids-limit x true
	run -2 oci-unshare --pids-limit 10 true
	assert_output --partial "--pids-limit needs --rootfs"
}

# ---- unshare -mur ----

default_ns() {
	run -0 as "$1" oci-unshare id -u
	assert_output 0
	run -0 as "$1" oci-unshare cat /proc/self/uid_map
	if [ "$1" = root ]; then
		assert_output --regexp '^ +0 +0 +4294967295$'
	else
		assert_output --regexp '^ +0 +65534 +1$'
		run -0 as "$1" oci-unshare cat /proc/self/setgroups
		assert_output deny
	fi
	# UTS is new: a hostname set inside does not reach the host.
	local host
	host=$(uname -n)
	run -0 as "$1" oci-unshare sh -c 'hostname oci-test-name && uname -n'
	assert_output oci-test-name
	[ "$(uname -n)" = "$host" ]
	# Mounts are private: a tmpfs inside is not seen outside.
	open_to_nobody "$T/mnt"
	run -0 as "$1" oci-unshare sh -c "mount -t tmpfs tmpfs '$T/mnt' && touch '$T/mnt/inside' && ls '$T/mnt'"
	assert_output inside
	[ ! -e "$T/mnt/inside" ]
}
@test "default is unshare -mur: root inside, own hostname, private mounts (root)" { default_ns root; }
@test "default is unshare -mur: root inside, own hostname, private mounts (nobody)" { default_ns nobody; }

pid_net() {
	run -0 as "$1" oci-unshare -p sh -c 'echo $$; ls /proc | grep -c "^[0-9]"'
	assert_line --index 0 1
	# sh and the ls (grep may count itself too) — never the host's processes.
	[ "${lines[1]}" -le 3 ]
	run -0 as "$1" oci-unshare -n cat /proc/net/dev
	assert_output --partial "lo:"
	refute_output --regexp '^ *(eth|en|wl)'
	[ "$(grep -c : <<<"$output")" -eq 1 ]
	# lo is up: a connection to a listening socket on 127.0.0.1 works.
	run -0 as "$1" oci-unshare -n python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
socket.create_connection(s.getsockname(), timeout=5); print("connected")'
	assert_output connected
}
@test "-p: the command is PID 1 with a fresh /proc; -n: only loopback, up (root)" { pid_net root; }
@test "-p: the command is PID 1 with a fresh /proc; -n: only loopback, up (nobody)" { pid_net nobody; }

# ---- containers ----

image_cmd() {
	local R
	R=$(fixtures_for "$1")
	run -0 as "$1" oci-unshare --rootfs "$R/bundle/rootfs" --image "$F/bb:latest"
	assert_output "hi from /home/app as 0"
	# Entrypoint + Cmd; a command replaces Cmd and keeps the Entrypoint.
	run -0 as "$1" oci-unshare --rootfs "$R/bundle/rootfs" --image "$F/bb:entry"
	assert_output --partial "entry sh -c echo"
	run -0 as "$1" oci-unshare --rootfs "$R/bundle/rootfs" --image "$F/bb:entry" -- other words
	assert_output "entry other words"
	# Env from the config only, with a default PATH; HOME from the rootfs's passwd.
	run -0 as "$1" env SECRET=host oci-unshare --rootfs "$R/bundle/rootfs" --image "$F/bb:latest" env
	assert_line GREETING=hi
	assert_line --regexp '^PATH=/usr/local/sbin:'
	assert_line HOME=/root
	refute_line --partial SECRET
}
@test "--image runs the config's Entrypoint and Cmd with its Env and WorkingDir (root)" { image_cmd root; }
@test "--image runs the config's Entrypoint and Cmd with its Env and WorkingDir (nobody)" { image_cmd nobody; }

inside() {
	local R
	R=$(fixtures_for "$1")
	local host
	host=$(uname -n)
	run -0 as "$1" oci-unshare --rootfs "$R/bundle/rootfs" --image "$F/bb:latest" -- \
		sh -c 'id -u; hostname; echo $$; ls /proc | grep "^[0-9]"; ls /dev; cat /etc/passwd'
	assert_line --index 0 0
	assert_line --index 1 --regexp '^[0-9a-f]{12}$'
	[ "${lines[1]}" != "$host" ]
	# PID 1 is oci-unshare's small init; the command is PID 2.
	assert_line --index 2 2
	# Only the container's processes: init (1), sh (2), ls and grep.  (Count
	# from line 3 on: the hostname can be all digits.)
	[ "${lines[3]}" = 1 ]
	[ "$(printf '%s\n' "${lines[@]:3}" | grep -c '^[0-9]*$')" -le 4 ]
	for d in null zero full random urandom pts shm; do assert_line "$d"; done
	assert_line "app:x:1000:1000:app:/home/app:/bin/sh"
	# New user, mount, PID, UTS, IPC and network namespaces; the host's network only when asked.
	run -0 as "$1" oci-unshare --rootfs "$R/bundle/rootfs" sh -c 'for n in user mnt pid uts ipc net; do readlink /proc/self/ns/$n; done; cat /proc/net/dev'
	local i=0 n
	for n in user mnt pid uts ipc net; do
		[ "${lines[$i]}" != "$(readlink /proc/self/ns/$n)" ]
		i=$((i + 1))
	done
	[ "$(printf '%s\n' "${lines[@]:6}" | grep -c :)" -eq 1 ]
	assert_output --partial "lo:"
	run -0 as "$1" oci-unshare --rootfs "$R/bundle/rootfs" --network host readlink /proc/self/ns/net
	[ "$output" = "$(readlink /proc/self/ns/net)" ]
	# Devices work, and there is a new hostname each time.
	run -0 as "$1" oci-unshare --rootfs "$R/bundle/rootfs" sh -c 'echo x >/dev/null && head -c 4 /dev/zero | od -An -tx1 && hostname'
	assert_line --index 0 " 00 00 00 00"
	[ "${lines[1]}" != "$host" ]
}
@test "inside: id -u is 0, its own hostname, PID 1, only its own processes, a small /dev (root)" { inside root; }
@test "inside: id -u is 0, its own hostname, PID 1, only its own processes, a small /dev (nobody)" { inside nobody; }

@test "User is looked up in the rootfs's /etc/passwd and /etc/group (root)" {
	run -0 oci-unshare --rootfs "$P/bundle/rootfs" --image "$F/bb:app" id
	assert_output "uid=1000(app) gid=1000(app) groups=1000(app)"
	run -0 oci-unshare --rootfs "$P/bundle/rootfs" --image "$F/bb:appwheel" id
	assert_output "uid=1000(app) gid=10(wheel) groups=10(wheel)"
	run -0 oci-unshare --rootfs "$P/bundle/rootfs" --image "$F/bb:latest" id
	assert_output "uid=0(root) gid=0(root) groups=0(root),10(wheel)"
	run -1 oci-unshare --rootfs "$P/bundle/rootfs" --image "$F/bb:ghost" id
	assert_output --partial "user ghost: not in the rootfs's /etc/passwd"
}

@test "User is looked up in the rootfs's /etc/passwd and /etc/group (nobody: only 0 is mapped)" {
	run -1 as nobody oci-unshare --rootfs "$F/bundle/rootfs" --image "$F/bb:app" id
	assert_output --partial "user app: gid 1000 is not mapped in this user namespace"
	run -1 as nobody oci-unshare --rootfs "$F/bundle/rootfs" --image "$F/bb:ghost" id
	assert_output --partial "user ghost: not in the rootfs's /etc/passwd"
}

status_signals() {
	local R
	R=$(fixtures_for "$1")
	run -3 as "$1" oci-unshare --rootfs "$R/bundle/rootfs" sh -c 'exit 3'
	run -127 as "$1" oci-unshare --rootfs "$R/bundle/rootfs" no-such-command
	assert_output --partial "exec no-such-command: No such file or directory"
	run -126 as "$1" oci-unshare --rootfs "$R/bundle/rootfs" /etc/passwd
	run -5 as "$1" oci-unshare sh -c 'exit 5'
	# SIGTERM reaches PID 1 (which, as init, must trap it to notice).
	local pre=() pid i
	[ "$1" = root ] || pre=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	"${pre[@]}" oci-unshare --rootfs "$R/bundle/rootfs" sh -c \
		'trap "echo got TERM; exit 7" TERM; echo ready; for i in $(seq 300); do sleep 0.1; done' >"$T/out" 2>&1 &
	pid=$!
	for i in $(seq 100); do grep -q ready "$T/out" && break; sleep 0.1; done
	kill -TERM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 7 ]
	run cat "$T/out"
	assert_output $'ready\ngot TERM'
}
@test "exit status is the command's; 127 and 126 when it cannot start; SIGTERM is forwarded (root)" { open_to_nobody "$T"; status_signals root; }
@test "exit status is the command's; 127 and 126 when it cannot start; SIGTERM is forwarded (nobody)" { open_to_nobody "$T"; status_signals nobody; }

fds_closed() {
	local R pid i
	R=$(fixtures_for "$1")
	# Not even oci-init, PID 1 inside, keeps what the caller had open.
	as "$1" bash -c 'exec 5<'"$F/bb/index.json"'; exec oci-unshare --rootfs '"$R/bundle/rootfs"' sleep 5' &
	for i in $(seq 50); do pid=$(pgrep -n -x oci-init) && break; sleep 0.1; done
	run -0 ls "/proc/$pid/fd"
	kill "$pid"
	wait || true
	assert_output $'0\n1\n2'
	# fd 5 is open in the caller; inside, only 0, 1, 2 and ls's own directory remain.
	run -0 as "$1" bash -c 'exec 5<'"$F/bb/index.json"'; oci-unshare --rootfs '"$R/bundle/rootfs"' ls /proc/self/fd'
	assert_output $'0\n1\n2\n3'
	run -0 as "$1" bash -c 'exec 5<'"$F/bb/index.json"'; oci-unshare ls /proc/self/fd'
	assert_output $'0\n1\n2\n3'
}
@test "no file descriptor reaches the command (root)" { fds_closed root; }
@test "no file descriptor reaches the command (nobody)" { fds_closed nobody; }

# ---- hostile rootfs and configs ----

# ---- fail closed: every mount target is the rootfs's own directory ----

# a_rootfs WHO DIR: a busybox rootfs at DIR that WHO owns, with /attack.
a_rootfs() {
	as "$1" cp -a "$(fixtures_for "$1")/evil" "$2"
}

escapes() {
	local w r out
	w=$(work_dir "$1")
	r=$w/r
	out=$(work_dir nobody)/outside
	open_to_nobody "$out"
	a_rootfs "$1" "$r"
	refused() {
		run -1 as "$1" oci-unshare --rootfs "$r" /bin/sh -c 'echo ran'
		assert_output "oci-unshare: rootfs: $2"
	}
	as "$1" rm -rf "$r/proc" "$r/dev"
	as "$1" ln -s "$out" "$r/proc"
	refused "$1" "/proc is a symlink: refused (the runtime mounts on /proc, so it must be an ordinary directory)"
	as "$1" rm -r "$r/proc" "$r/dev"	# the run made /dev before it looked at /proc
	as "$1" ln -s ../../../../../../../.."$out" "$r/dev"
	refused "$1" "/dev is a symlink: refused (the runtime mounts on /dev, so it must be an ordinary directory)"
	[ -z "$(ls -A "$out")" ]
	as "$1" rm "$r/dev"
	# Symlinks that stay inside are refused too: /proc -> dev/pts with
	# dev/pts -> ../p1 put the procfs on /p1, where no mask looked.
	as "$1" mkdir -p "$r/dev" "$r/p1"
	as "$1" ln -s ../p1 "$r/dev/pts"
	as "$1" ln -s dev/pts "$r/proc"
	refused "$1" "/proc is a symlink: refused (the runtime mounts on /proc, so it must be an ordinary directory)"
	if [ "$1" = root ]; then
		# The same chain in a layer under an overlay, as the walkthroughs run it.
		mkdir "$w/upper" "$w/work" "$w/merged"
		mount -t overlay overlay -o "lowerdir=$r,upperdir=$w/upper,workdir=$w/work" "$w/merged"
		run -1 oci-unshare --rootfs "$w/merged" /bin/sh -c 'echo ran'
		umount "$w/merged"
		assert_output "oci-unshare: rootfs: /proc is a symlink: refused (the runtime mounts on /proc, so it must be an ordinary directory)"
	fi
	as "$1" rm "$r/proc"
	as "$1" ln -s . "$r/proc"
	refused "$1" "/proc is a symlink: refused (the runtime mounts on /proc, so it must be an ordinary directory)"
	as "$1" rm "$r/proc"
	as "$1" touch "$r/proc"
	refused "$1" "/proc is not a directory: refused"
	[ -z "$(ls -A "$r/p1")" ]
	# A missing /proc and /dev are made; the image's own /dev (its dev/pts
	# symlink included) is under the runtime's tmpfs; files in the image's
	# /proc (a cap_last_cap of "0") are under the new procfs and never read.
	as "$1" rm -rf "$r/proc" "$r/dev" "$r/p1"
	as "$1" mkdir -p "$r/proc/sys/kernel"
	as "$1" sh -c "echo 0 > '$r/proc/sys/kernel/cap_last_cap'"
	run -0 as "$1" oci-unshare -v --rootfs "$r" /bin/sh -c 'echo $$; read x </dev/null; grep CapBnd /proc/self/status; ls -d /dev/pts/; echo ok'
	assert_line 2
	assert_line --regexp $'^CapBnd:\t00000000a80425fb$'
	assert_line /dev/pts/
	assert_line ok
	assert_line --partial "verified from inside: / is nodev, /proc is the procfs made for this container"
	[ -d "$r/dev" ]
	# /etc/hosts, /etc/hostname, /etc/resolv.conf: the runtime mounts nothing
	# there, so a symlink to a host file is only the image's own path.
	as "$1" rm -f "$r/etc/hosts" "$r/etc/hostname"
	as "$1" ln -s "$out/hosts" "$r/etc/hosts"
	as "$1" ln -s ../../../../../../"$out/hostname" "$r/etc/hostname"
	run -0 as "$1" oci-unshare --rootfs "$r" /bin/sh -c 'echo x > /etc/hosts; echo y > /etc/hostname; echo ok'
	assert_line ok
	[ -z "$(ls -A "$out")" ]
}
@test "/proc or /dev as a symlink (outside, inside, proc -> dev/pts -> ../p1, proc -> .) refuses the run (root)" { escapes root; }
@test "/proc or /dev as a symlink (outside, inside, proc -> dev/pts -> ../p1, proc -> .) refuses the run (nobody)" { escapes nobody; }

# ---- nothing in the rootfs opens a host device ----

devices() {
	local w r loop img
	w=$(work_dir "$1")
	r=$w/r
	a_rootfs root "$r"
	# A loop device over a file we know, as a layer's "b MAJ MIN" would name it.
	img=$(work_dir root)/disk.img
	head -c 65536 /dev/zero | tr '\0' 'A' > "$img"
	loop=$(losetup -f --show "$img")
	LOOP=$loop
	# shellcheck disable=SC2046 # major and minor, two words
	mknod -m 666 "$r/disk" b $(stat -c '%Hr %Lr' "$loop")
	mknod -m 666 "$r/kmsg" c 1 11
	mknod -m 666 "$r/mem" c 1 1
	[ "$1" = root ] || chown -R nobody "$r"
	run -0 as "$1" oci-unshare --rootfs "$r" /bin/sh -c '
		for d in disk kmsg mem; do head -c 4 /$d >/dev/null && echo "$d: read"; echo x >/$d && echo "$d: written"; done; echo checked'
	assert_line checked
	refute_output --partial ": read"
	refute_output --partial ": written"
	assert_output --partial "/disk: Permission denied"
	[ "$(head -c 4 "$img")" = AAAA ]
	# The same nodes through an overlay (as oci-overlay would mount the layer).
	if [ "$1" = root ]; then
		mkdir "$w/upper" "$w/work" "$w/merged"
		mount -t overlay overlay -o "lowerdir=$r,upperdir=$w/upper,workdir=$w/work" "$w/merged"
		run -0 oci-unshare --rootfs "$w/merged" /bin/sh -c 'head -c 4 /disk && echo read; echo x >/disk && echo written; echo checked'
		umount "$w/merged"
		assert_line checked
		refute_line read
		refute_line written
	fi
	[ "$(head -c 4 "$img")" = AAAA ]
}
@test "device nodes in the rootfs (a host loop device, kmsg, mem) open nothing, plain and overlay (root)" { devices root; }
@test "device nodes in the rootfs (a host loop device, kmsg, mem) open nothing (nobody)" { devices nobody; }

# ---- nothing a container writes raises a host user ----

@test "as root, a rootfs other host users can reach is refused; in a closed one, plants reach nobody" {
	local open closed
	open=$(work_dir nobody)
	closed=$(work_dir root)
	a_rootfs root "$open/r"
	run -1 oci-unshare --rootfs "$open/r" /attack plant
	assert_output "oci-unshare: rootfs $open/r: every host user can reach it, and what root in the container writes there is root's on the host (a setuid file, a file capability): refused; keep containers under a directory owned by root that only root can enter (chown root: and chmod 700 $open), as docker keeps them under /var/lib/docker"
	[ ! -e "$open/r/planted" ]
	# An overlay whose merged directory is closed but whose upper is not.
	mkdir "$closed/merged" "$open/upper" "$open/work"
	mount -t overlay overlay -o "lowerdir=$open/r,upperdir=$open/upper,workdir=$open/work" "$closed/merged"
	run -1 oci-unshare --rootfs "$closed/merged" /attack plant
	umount "$closed/merged"
	assert_output --partial "oci-unshare: rootfs $closed/merged: every host user can reach $open/upper, "
	[ ! -e "$open/upper/planted" ]
	# Closed: the plants are made, and no host user reaches them.
	a_rootfs root "$closed/r"
	run -0 oci-unshare --rootfs "$closed/r" /attack plant
	assert_output $'setuid copy: done\nfile capability copy: done'
	[ "$(stat -c %a "$closed/r/planted")" = 4755 ]
	run -126 as nobody "$closed/r/planted" whoami
	assert_output --partial "Permission denied"
	run -126 as nobody "$closed/r/planted-cap" whoami
	assert_output --partial "Permission denied"
}

# refused_at ROOTFS PATH: oci-unshare as root refuses ROOTFS, which host users reach at PATH.
refused_at() {
	run -1 oci-unshare --rootfs "$1" /attack plant
	assert_output --partial "oci-unshare: rootfs $1: every host user can reach $2, "
	[ ! -e "$2/planted" ]
}

@test "as root, a closed rootfs that other host users reach another way is refused: a bind mount, an overlay above it" {
	local open closed
	open=$(work_dir nobody)
	closed=$(work_dir root)
	a_rootfs root "$closed/r"
	# The same directory, bound where everyone can reach it.
	mkdir "$open/alias"
	mount --bind "$closed/r" "$open/alias"
	refused_at "$closed/r" "$open/alias"
	umount "$open/alias"
	# A directory inside an overlay whose upper directory is open.
	mkdir "$closed/m" "$open/up" "$open/wk"
	mount -t overlay overlay -o "lowerdir=$closed,upperdir=$open/up,workdir=$open/wk" "$closed/m"
	refused_at "$closed/m/r" "$open/up"
	umount "$closed/m"
	# An upper directory named relative to where the mounter stood, and not
	# beside the mount: it cannot be found for sure, so it is refused.
	mkdir -p "$open/c/up" "$open/c/wk" "$closed/m2"
	(cd "$open" && mount -t overlay overlay -o "lowerdir=$closed/r,upperdir=c/up,workdir=c/wk" "$closed/m2")
	run -1 oci-unshare --rootfs "$closed/m2" /attack plant
	umount "$closed/m2"
	assert_output "oci-unshare: rootfs $closed/m2: on the overlay mounted on $closed/m2, whose upper directory (upperdir=c/up) cannot be found for sure, so who else can reach what the container writes cannot be checked: refused (mount it with the upper directory's absolute path)"
	[ ! -e "$open/c/up/planted" ]
}

@test "as root, an overlay's upper directory is found as mountinfo shows it: relative (oci-overlay's short form), or with a comma and a space" {
	local closed
	closed=$(work_dir root)
	cp -a "$P/evil" "$closed/img"
	# oci-overlay's mount(2) form gives upperdir relative to the container's directory.
	OCI_OVERLAY_NO_LOWERDIR_PLUS=1 oci-overlay -q "$F/bb:latest" "$closed/c" >/dev/null
	grep -q " $closed/c/merged .* - overlay .*,upperdir=upper," /proc/self/mountinfo
	run -0 oci-unshare -v --rootfs "$closed/c/merged" /bin/sh -c 'echo x > /planted'
	assert_line "oci-unshare: rootfs $closed/c/merged: only root can reach it on the host ($closed is root's, closed to others), upper directory $closed/c/upper"
	[ -e "$closed/c/upper/planted" ]
	oci-overlay -u "$closed/c/merged"
	# overlayfs shows "\," in the option as it was given, and mountinfo escapes the rest.
	mkdir -p "$closed/u,x y" "$closed/w" "$closed/m"
	mount -t overlay overlay -o "lowerdir=$closed/img,upperdir=$closed/u\,x y,workdir=$closed/w" "$closed/m"
	run -0 oci-unshare -v --rootfs "$closed/m" /attack plant
	umount "$closed/m"
	assert_line "oci-unshare: rootfs $closed/m: only root can reach it on the host ($closed is root's, closed to others), upper directory $closed/u,x y"
	[ -e "$closed/u,x y/planted" ]
}

@test "the plants, as nobody: container root is nobody on the host, its setuid files raise no one" {
	local w
	w=$(work_dir nobody)
	a_rootfs nobody "$w/r"
	run -0 as nobody oci-unshare --rootfs "$w/r" /attack plant
	assert_line "setuid copy: done"
	[ "$(stat -c %U "$w/r/planted")" = nobody ]
	run -0 as nobody "$w/r/planted" whoami
	assert_line "uid 65534 euid 65534"
}

workdir_escape() {
	local R r
	R=$(fixtures_for "$1")
	r=$(work_dir "$1")/bundle
	as "$1" cp -a "$R/bundle/rootfs" "$r"
	as "$1" ln -s /proc/self/cwd "$r/escape"
	as "$1" ln -s /etc "$r/inside"
	cp -a "$F/bb" "$T/bb"
	umoci config --image "$T/bb:latest" --tag escape --config.workingdir /escape/proc
	umoci config --image "$T/bb:latest" --tag inside --config.workingdir /inside
	chmod -R a+rX "$T/bb"
	run -1 as "$1" oci-unshare --rootfs "$r" --image "$T/bb:escape" pwd
	assert_output "oci-unshare: working directory /escape/proc: leads through a /proc magic link: refused"
	# An absolute symlink is fine: after pivot_root, "/" is the rootfs.
	run -0 as "$1" oci-unshare --rootfs "$r" --image "$T/bb:inside" pwd
	assert_output /etc
}
@test "a WorkingDir through /proc/self/... is refused; one inside the rootfs is followed (root)" { workdir_escape root; }
@test "a WorkingDir through /proc/self/... is refused; one inside the rootfs is followed (nobody)" { workdir_escape nobody; }

@test "an image that is not there, or a rootfs that is not a directory, fails with exit 1" {
	run -1 oci-unshare --rootfs "$P/bundle/rootfs" --image "$F/bb:nope"
	assert_output --partial "oci-unshare: $F/bb:nope: "
	run -1 oci-unshare --rootfs "$F/bb/index.json" true
	assert_output --partial "not a directory"
	run -1 oci-unshare --rootfs "$F/missing" true
	assert_output --partial "No such file or directory"
}

# ---- a container contains: each attack of an untrusted image, refused ----

host_knobs() {
	local R
	R=$(fixtures_for "$1")
	# Each write puts back the value already there: were it let through,
	# the host would still be unchanged.
	run -0 as "$1" oci-unshare --rootfs "$R/evil" sh -c '
		for f in kernel/core_pattern vm/overcommit_memory; do
			cat /proc/sys/$f > /proc/sys/$f && echo "$f: written"
		done
		if [ -e /proc/sysrq-trigger ]; then echo h > /proc/sysrq-trigger && echo "sysrq: written"; fi
		chmod 666 /dev/null && echo "/dev/null: changed"
		echo fine > /dev/null && echo "/dev/null: usable"
		grep " /proc/sys " /proc/self/mountinfo'
	refute_output --partial written
	refute_output --partial changed
	assert_output --regexp "core_pattern: (Read-only file system|Permission denied)"
	assert_output --partial "chmod: /dev/null: Read-only file system"
	assert_line "/dev/null: usable"
	assert_output --regexp ' /proc/sys ro,'
}
@test "/proc/sys, /proc/sysrq-trigger and the host's device nodes cannot be changed (root)" { host_knobs root; }
@test "/proc/sys, /proc/sysrq-trigger and the host's device nodes cannot be changed (nobody)" { host_knobs nobody; }

masked() {
	local R
	R=$(fixtures_for "$1")
	run -0 as "$1" oci-unshare --rootfs "$R/evil" sh -c '
		for f in keys timer_list kallsyms kcore; do
			[ -e /proc/$f ] && echo "$f: $(cat /proc/$f 2>&1 | wc -c) bytes"
		done; true'
	assert_line "kallsyms: 0 bytes"
	assert_line "timer_list: 0 bytes"
	refute_output --regexp ': [1-9][0-9]* bytes'
}
@test "/proc/keys, /proc/kallsyms, /proc/timer_list and /proc/kcore are masked (root)" { masked root; }
@test "/proc/keys, /proc/kallsyms, /proc/timer_list and /proc/kcore are masked (nobody)" { masked nobody; }

limits() {
	local R
	R=$(fixtures_for "$1")
	run -0 as "$1" oci-unshare --rootfs "$R/evil" grep -E '^(CapBnd|CapEff|NoNewPrivs|Seccomp):' /proc/self/status
	# docker's default 14 capabilities: chown, dac_override, fowner, fsetid,
	# kill, setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot,
	# mknod, audit_write, setfcap.
	assert_line --regexp $'^CapBnd:\t00000000a80425fb$'
	assert_line --regexp $'^CapEff:\t00000000a80425fb$'
	assert_line --regexp $'^NoNewPrivs:\t1$'
	assert_line --regexp $'^Seccomp:\t2$'
	run -0 as "$1" oci-unshare --rootfs "$R/evil" /attack seccomp
	assert_output $'keyctl: Operation not permitted\nunshare user: Operation not permitted\nbpf: Operation not permitted'
}
@test "the command has docker's default capabilities, no_new_privs and a seccomp filter (root)" { limits root; }
@test "the command has docker's default capabilities, no_new_privs and a seccomp filter (nobody)" { limits nobody; }

like_docker() {
	local R
	R=$(fixtures_for "$1")
	run -0 as "$1" oci-unshare --rootfs "$R/evil" /attack vsock
	assert_output $'vsock: Operation not permitted\nvsock socketpair: Operation not permitted'
	run -0 as "$1" oci-unshare --rootfs "$R/evil" /attack alg
	assert_output 'alg: Operation not permitted'
	run -0 as "$1" oci-unshare --rootfs "$R/evil" /attack io_uring
	assert_output 'io_uring_setup: Operation not permitted'
	# Only the personalities docker allows; the query is one of them.
	run -0 as "$1" oci-unshare --rootfs "$R/evil" /attack personality
	assert_output $'personality READ_IMPLIES_EXEC: Operation not permitted\npersonality 1 << 32: Operation not permitted\npersonality query: done'
}
@test "seccomp refuses what docker's profile refuses: vsock and AF_ALG sockets, io_uring, other personalities (root)" { like_docker root; }
@test "seccomp refuses what docker's profile refuses: vsock and AF_ALG sockets, io_uring, other personalities (nobody)" { like_docker nobody; }

# ---- bounded: processes, and what the container's own cgroup holds ----

bounded() {
	local R
	R=$(fixtures_for "$1")
	run -0 as "$1" oci-unshare --rootfs "$R/evil" --pids-limit 20 /attack flood 100
	assert_output --regexp '^forked 1[0-9] of 100: Resource temporarily unavailable$'
	# The container's cgroups are "/" to it: a cgroup namespace of its own.
	run -0 as "$1" oci-unshare --rootfs "$R/evil" cat /proc/self/cgroup
	run -1 grep -v ':/$' <<<"$output"
	run -0 as "$1" oci-unshare -v --rootfs "$R/evil" true
	if [ "$1" = root ]; then
		# podman's default, in a cgroup of its own that is gone when the run is.
		local dir
		dir=$(sed -n 's/^oci-unshare: cgroup: \(\/sys\/fs\/cgroup\/[^:]*\): pids.max 2048 (read back).*/\1/p' <<<"$output")
		[ -n "$dir" ]
		[ ! -e "$dir" ]
		assert_output --partial "runc's device allow-list, every other device refused (read back)"
	else
		assert_output --partial "cgroup: none, only host root makes cgroups here; RLIMIT_NPROC 2048 (read back)"
	fi
}
@test "--pids-limit bounds a process flood; the cgroup is the container's own, and gone after (root)" { bounded root; }
@test "--pids-limit bounds a process flood with RLIMIT_NPROC; the cgroup namespace is its own (nobody)" { bounded nobody; }

environment() {
	local R
	R=$(fixtures_for "$1")
	run -0 as "$1" env SECRET=host oci-unshare --rootfs "$R/evil" -e GREETING=hello -e HOME=/tmp env
	refute_output --partial SECRET
	assert_line --regexp '^PATH=/usr/local/sbin:'
	assert_line GREETING=hello
	assert_line HOME=/tmp
}
@test "without --image the command gets a container's environment, not the host's; -e adds to it (root)" { environment root; }
@test "without --image the command gets a container's environment, not the host's; -e adds to it (nobody)" { environment nobody; }

kill_group() {
	local R
	R=$(fixtures_for "$1")
	# A bystander in oci-unshare's process group survives kill(0, SIGKILL) from inside.
	run -137 as "$1" bash -c 'sleep 300 & b=$!
		oci-unshare --rootfs "'"$R/evil"'" /attack kill0; rc=$?
		kill -0 $b && echo bystander alive; kill $b; exit $rc'
	assert_output "bystander alive"
}
@test "kill(0, SIGKILL) from inside reaches no host process (root)" { kill_group root; }
@test "kill(0, SIGKILL) from inside reaches no host process (nobody)" { kill_group nobody; }

outlive() {
	local R
	R=$(fixtures_for "$1")
	ORPHAN=oci-orph-$RANDOM
	open_to_nobody "$T"
	as "$1" oci-unshare --rootfs "$R/evil" /attack orphan "$ORPHAN" >"$T/out" 2>&1 &
	local job=$! i pid
	for i in $(seq 100); do grep -q "orphan ready" "$T/out" && break; sleep 0.1; done
	run -0 pgrep -x "$ORPHAN"	# it is there, ignoring its parent's death
	# The host-side oci-unshare (inside, PID 1 is "oci-init", the attack "/attack …").
	# The oldest: as root, a cgroup keeper of the same command line is its child.
	pid=$(pgrep -o -f -- "oci-unshare --rootfs $R/evil /attack orphan $ORPHAN")
	[ -n "$pid" ]
	kill -KILL "$pid"
	wait "$job" || true
	for i in $(seq 50); do pgrep -x "$ORPHAN" >/dev/null || break; sleep 0.1; done
	run -1 pgrep -x "$ORPHAN"
}
@test "no container process outlives a SIGKILL of oci-unshare (root)" { outlive root; }
@test "no container process outlives a SIGKILL of oci-unshare (nobody)" { outlive nobody; }

runtime_rewrite() {
	local R
	R=$(fixtures_for "$1")
	[ -x "$R/evil/lib64/ld-linux-x86-64.so.2" ] || skip "the loader attack is written for x86_64"
	open_to_nobody "$T"
	as "$1" mkdir "$T/rt"
	as "$1" cp "$(command -v oci-unshare)" "$T/rt/oci-unshare"
	local before
	before=$(sha256sum <"$T/rt/oci-unshare")
	# setsid: the attack signals its process group, and that must not be bats'.
	run as "$1" setsid -w "$T/rt/oci-unshare" --rootfs "$R/evil" /proc/self/exe
	assert_output --partial "open runtime for writing: "
	refute_output --partial "write runtime: done"
	sleep 0.5	# were anything left running inside, give it time to try
	[ "$(sha256sum <"$T/rt/oci-unshare")" = "$before" ]
	[ "$status" -eq 0 ]
}
@test "a container cannot rewrite the runtime through /proc/self/exe, a copy the caller owns (root)" { runtime_rewrite root; }
@test "a container cannot rewrite the runtime through /proc/self/exe, a copy the caller owns (nobody)" { runtime_rewrite nobody; }

terminal() {
	local R
	R=$(fixtures_for "$1")
	open_to_nobody "$T"
	# script(1) gives us a terminal; the container must get one of its own.
	# (The devpts instance tells the two apart: both can be pts 0.)
	run -0 as "$1" script -qec "stat -L -c 'host terminal is on %d' /dev/stdin;
		oci-unshare --rootfs '$R/evil' /attack tiocsti" /dev/null
	local host inside
	host=$(sed -n 's/.*host terminal is on \([0-9]*\).*/\1/p' <<<"$output")
	inside=$(sed -n 's/.*stdin is pts [0-9]* of the devpts on \([0-9]*\):\([0-9]*\).*/\1 \2/p' <<<"$output")
	[ -n "$host" ] && [ -n "$inside" ]
	# stat's %d is major*256+minor for these small numbers.
	[ "$host" != "$(( ${inside% *} * 256 + ${inside#* } ))" ]
	assert_output --partial "tiocsti fd 0: Operation not permitted"
	assert_output --partial "tiocsti /dev/tty: Operation not permitted"
	refute_output --regexp 'tiocsti[^:]*: done'
	# Without a terminal of its own, it gets none of the host's (pipes stand
	# in for them), and has no controlling terminal.
	run -0 as "$1" script -qec "oci-unshare --rootfs '$R/evil' /attack tiocsti </dev/null" /dev/null
	refute_output --partial "tiocsti fd"
	assert_output --partial "/dev/tty: No such device or address"
}
@test "with a terminal, the container gets its own: no TIOCSTI into the host's (root)" { terminal root; }
@test "with a terminal, the container gets its own: no TIOCSTI into the host's (nobody)" { terminal nobody; }

# ---- without a terminal of its own: never the host's ----

stdout_to_a_file() {
	local R
	R=$(fixtures_for "$1")
	open_to_nobody "$T"
	# stdin and stderr are the terminal, stdout a file.
	run -0 as "$1" script -qec "stty -g >'$T/before';
		oci-unshare --rootfs '$R/evil' /attack ttyfds >'$T/out';
		stty -g >'$T/after'" /dev/null
	run -0 cat "$T/out"
	assert_output "fd 0: not a tty
fd 1: not a tty
fd 2: not a tty
raw fd 0: Inappropriate ioctl for device
raw fd 1: Inappropriate ioctl for device
raw fd 2: Inappropriate ioctl for device"
	# The host's terminal is as it was: cooked, echoing.
	[ -s "$T/before" ]
	[ "$(cat "$T/before")" = "$(cat "$T/after")" ]
}
@test "stdout to a file at a terminal: the container gets pipes, the terminal is left as it was (root)" { stdout_to_a_file root; }
@test "stdout to a file at a terminal: the container gets pipes, the terminal is left as it was (nobody)" { stdout_to_a_file nobody; }

stdin_from_null() {
	local R
	R=$(fixtures_for "$1")
	open_to_nobody "$T"
	run -0 as "$1" script -qec "oci-unshare --rootfs '$R/evil' /attack ttyfds </dev/null" /dev/null
	assert_output --partial "fd 1: not a tty"
	assert_output --partial "fd 2: not a tty"
	refute_output --partial "raw fd 1: done"
	refute_output --partial "raw fd 2: done"
	# 0 is passed as it is; 1 and 2 are pipes, and -v says why.
	run -0 as "$1" script -qec "oci-unshare -v --rootfs '$R/bundle/rootfs' ls -l /proc/self/fd </dev/null" /dev/null
	assert_output --regexp ' 0 -> /dev/null'
	assert_output --regexp ' 1 -> pipe:\['
	assert_output --regexp ' 2 -> pipe:\['
	assert_output --partial "the container gets pipes for 1 and 2"
	# What is written just before the end arrives, all of it, on stdout and on stderr.
	run -0 as "$1" script -qec "oci-unshare --rootfs '$R/bundle/rootfs' seq 20000 </dev/null" /dev/null
	[ "$(tr -d '\r' <<<"$output")" = "$(seq 20000)" ]
	run -0 as "$1" script -qec "oci-unshare --rootfs '$R/bundle/rootfs' sh -c 'seq 20000 >&2' </dev/null" /dev/null
	[ "$(tr -d '\r' <<<"$output")" = "$(seq 20000)" ]
}
@test "stdin from /dev/null, stdout a terminal: fds 1 and 2 are relayed pipes (root)" { stdin_from_null root; }
@test "stdin from /dev/null, stdout a terminal: fds 1 and 2 are relayed pipes (nobody)" { stdin_from_null nobody; }

piped_through() {
	local R
	R=$(fixtures_for "$1")
	open_to_nobody "$T"
	# script passes what it reads to the terminal, then an end of file.
	run -0 as "$1" sh -c 'echo hello | script -qec "$0" /dev/null' \
		"oci-unshare --rootfs '$R/bundle/rootfs' sh -c 'readlink /proc/self/fd/0; cat' >'$T/out'"
	run -0 cat "$T/out"
	assert_line --index 0 --regexp '^pipe:\[[0-9]+\]$'
	assert_line --index 1 hello
	[ "${#lines[@]}" -eq 2 ]
	# More input than the pipes hold, into a container that stops reading
	# it: the relay ends with the container, and its status is the
	# command's.  (script(1) reads its stdin to the end before it exits.)
	run -5 as "$1" sh -c 'seq 200000 | script -qec "$0" /dev/null' \
		"stty -echo; oci-unshare --rootfs '$R/bundle/rootfs' sh -c 'head -n 3; exit 5' >'$T/out'"
	run -0 cat "$T/out"
	assert_output $'1\n2\n3'
}
@test "input typed at the terminal reaches the container through a pipe, its output the file (root)" { piped_through root; }
@test "input typed at the terminal reaches the container through a pipe, its output the file (nobody)" { piped_through nobody; }

exit_status() {
	local R
	R=$(fixtures_for "$1")
	open_to_nobody "$T"
	run -7 as "$1" script -qec "oci-unshare --rootfs '$R/bundle/rootfs' sh -c 'echo out; echo err >&2; exit 7' >'$T/out'" /dev/null
	assert_output --partial err
	run -0 cat "$T/out"
	assert_output out
	run -143 as "$1" script -qec "oci-unshare --rootfs '$R/bundle/rootfs' sh -c 'kill -TERM \$\$' </dev/null" /dev/null
}
@test "with pipes, the exit status is still the command's (root)" { exit_status root; }
@test "with pipes, the exit status is still the command's (nobody)" { exit_status nobody; }

@test "as root, container ids are a range of their own through an idmapped rootfs; --userns host keeps host ids" {
	# Under a parent of mode 0700, as a clone in /root would be: root
	# reaches it before the switch, the remapped root never has to.
	mkdir -m 700 "$T/closed"
	cp -a "$P/bundle/rootfs" "$T/closed/r"
	cd "$T/closed"
	run -0 oci-unshare --rootfs "$T/closed/r" sh -c 'cat /proc/self/uid_map; id -u; echo made > /by-root; stat -c %u /bin/busybox'
	read -r inside outside count <<<"${lines[0]}"
	[ "$inside" -eq 0 ] && [ "$outside" -ge 524288 ] && [ "$count" -eq 65536 ]
	assert_line --index 1 0
	assert_line --index 2 0
	# Through the idmapped mount, what root wrote inside is uid 0's on disk.
	[ "$(stat -c %u:%g "$T/closed/r/by-root")" = 0:0 ]
	run -0 oci-unshare --rootfs r --userns host cat /proc/self/uid_map
	assert_output --regexp '^ +0 +0 +4294967295$'
	run -1 as nobody oci-unshare --rootfs "$F/bundle/rootfs" --userns remap true
	assert_output --partial "only root in the host's user namespace can remap ids"
}

@test "as root on a rootfs that cannot be idmapped (overlayfs), ids stay the host's and -v says why" {
	mkdir -m 700 "$T/closed"
	cd "$T/closed"
	mkdir lower upper work merged
	cp -a "$P/bundle/rootfs/." lower/
	mount -t overlay overlay -o "lowerdir=$PWD/lower,upperdir=$PWD/upper,workdir=$PWD/work" merged
	run -0 oci-unshare -v --rootfs merged cat /proc/self/uid_map
	umount merged
	assert_output --partial "idmapped mount: Invalid argument: container ids stay host ids"
	assert_line --regexp '^ +0 +0 +4294967295$'
}

@test "where a seccomp filter refuses openat2 with EPERM, --rootfs says so instead of a bare EPERM" {
	"$TESTS_DIR/sandbox/wrap.sh" "$OCI_BIN" "$T/sandbox"
	run -1 "$T/sandbox/oci-unshare" --rootfs "$P/bundle/rootfs" -- /bin/true
	assert_output --partial "openat2(2) is refused here (a seccomp profile that does not allow it"
}
